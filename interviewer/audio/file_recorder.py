"""`--answers-from DIR`: WAV files stand in for the microphone, one per take, in name order."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from interviewer.errors import DataError, UsageError
from interviewer.fsutil import copy_private, open_private
from interviewer.protocols import ChunkCallback, Take

BLOCK = 16_000 // 10  # 100 ms blocks, like a live recorder's callback


class FileRecorder:
    """A Recorder that 'records' the next prepared answer file.

    The file is copied into the session folder (so the session keeps its own audio) and fed to
    `on_chunk` in 100 ms blocks, exercising the same streaming path as the microphone.
    """

    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise UsageError(f"--answers-from {folder}: not a directory")
        self.files = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".wav", ".flac"})
        if not self.files:
            raise UsageError(f"--answers-from {folder}: no .wav/.flac files in it")
        self._next = 0

    def record(self, path: Path, *, on_chunk: ChunkCallback | None = None) -> Take:
        from interviewer.asr.audio_io import load_audio  # lazy: scipy/soundfile

        if self._next >= len(self.files):
            return Take(path=str(path), duration_s=0.0, ended_by="no_answer")
        src = self.files[self._next]
        self._next += 1
        audio = load_audio(src)
        if audio.size == 0:
            raise DataError(f"{src}: empty audio file")
        if src.suffix.lower() == ".wav":
            copy_private(src, path)  # 0600 like every take (see fsutil)
        else:
            import soundfile as sf

            with open(open_private(path), "wb") as f:
                sf.write(f, audio, 16_000, format="WAV", subtype="PCM_16")
        if on_chunk is not None:
            for i in range(0, audio.shape[0], BLOCK):
                on_chunk(np.ascontiguousarray(audio[i : i + BLOCK]))
        return Take(path=str(path), duration_s=audio.shape[0] / 16_000, ended_by="eof")
