"""openai-whisper adapter (the default engine): fp32 on CPU, greedy decoding, word timestamps.

Weights come from the offline registry (`interviewer.provision`): a checkpoint converted from the
CTranslate2 model a package ships. Whisper's own download-by-name is used only when the user opts
in with INTERVIEWER_ASR_DOWNLOAD=1 (it needs the model hub; it shows a progress bar).
"""

from __future__ import annotations

import base64
import gzip
import os
from pathlib import Path
from typing import Any

import numpy as np

from interviewer.asr.base import Decoded, WindowedTranscriber
from interviewer.errors import DataError, EngineUnavailable, InterviewerError
from interviewer.protocols import Segment, Word

DOWNLOAD_ENV = "INTERVIEWER_ASR_DOWNLOAD"


def _alignment_dump(heads: list[list[int]], n_layer: int, n_head: int) -> bytes:
    """Whisper's `set_alignment_heads` format: base85(gzip(bool mask [layer, head]))."""
    mask = np.zeros((n_layer, n_head), dtype=bool)
    for layer, head in heads:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes()))


def load_checkpoint(path: Path) -> Any:
    """Load a converted checkpoint as a `whisper.model.Whisper`, alignment heads applied."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    try:
        ckpt = torch.load(str(path), map_location="cpu", weights_only=True)
        dims = ModelDimensions(**ckpt["dims"])
        model = Whisper(dims)
        model.load_state_dict(ckpt["model_state_dict"])
    except (OSError, RuntimeError, KeyError, TypeError, EOFError) as exc:
        raise DataError(f"{path}: not a usable Whisper checkpoint ({exc}); "
                        "reinstall it with `interviewer models install`") from exc
    heads = ckpt.get("alignment_heads")
    if heads:
        model.set_alignment_heads(_alignment_dump(heads, dims.n_text_layer, dims.n_text_head))
    return model.eval()


class _EncoderMemo:
    """Reuse the audio encoder's output for the word-alignment pass.

    `whisper.transcribe` with word timestamps runs the encoder twice on the same 30 s mel: once
    to decode, once more (inside `find_alignment`) for the cross-attention alignment. The encoder
    is ~60 % of tiny.en's CPU time per window, so the second pass is pure waste. The memo keeps
    the last input tensor alive, so a tensor with the same data pointer, shape, strides and
    version counter is the very same data (memory that is still referenced cannot be reused).
    """

    def __init__(self, encoder: Any) -> None:
        self._forward = encoder.forward
        self._key: tuple[Any, ...] | None = None
        self._mel: Any = None
        self._out: Any = None
        self.hits = 0

    def __call__(self, mel: Any) -> Any:
        try:
            version = mel._version
        except RuntimeError:  # inference-mode tensors have no version counter (and whisper
            version = None  # never writes into the mel it decodes)
        key = (mel.data_ptr(), tuple(mel.shape), tuple(mel.stride()), version, mel.dtype)
        if self._mel is not None and key == self._key:
            self.hits += 1
            return self._out
        out = self._forward(mel)
        self._key, self._mel, self._out = key, mel, out
        return out

    def clear(self) -> None:
        self._key = self._mel = self._out = None


class OpenAIWhisperTranscriber(WindowedTranscriber):
    """`Transcriber` over openai-whisper. torch's intra-op pool is the process's: `threads` is
    the count the session or command set with `interviewer.runtime.set_engine_threads`."""

    engine = "openai-whisper"

    def __init__(self, model: str = "tiny.en", *, models_dir: Path, threads: int = 1,
                 beam_size: int = 1, progress: Any = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.model = model
        self.threads = max(1, int(threads))
        self.beam_size = beam_size
        self._model = self._load(model, models_dir, progress)
        self.english_only = not self._model.is_multilingual
        self._memo = _EncoderMemo(self._model.encoder)
        self._model.encoder.forward = self._memo

    @staticmethod
    def _load(model: str, models_dir: Path, progress: Any) -> Any:
        from interviewer import provision

        try:
            entry = provision.whisper_entry(model)
        except InterviewerError:
            if os.environ.get(DOWNLOAD_ENV) != "1":
                raise
            import whisper

            try:  # opt-in hub download; whisper prints its own progress bar
                return whisper.load_model(model, device="cpu",
                                          download_root=str(models_dir / "whisper" / "hub"))
            except Exception as exc:  # network, unknown name: engine-specific errors
                raise EngineUnavailable(f"openai-whisper could not download {model!r}: {exc}"
                                        ) from exc
        path = entry.ensure(models_dir, progress=progress or (lambda _m: None))
        return load_checkpoint(path)

    def _decode(self, audio: np.ndarray, prompt: str | None) -> list[Decoded]:
        import torch
        import whisper

        greedy = self.beam_size <= 1
        with torch.inference_mode():
            try:
                result = whisper.transcribe(
                    self._model, audio, language="en", task="transcribe", verbose=None,
                    temperature=0.0,  # deterministic; windows are short, no fallback needed
                    beam_size=None if greedy else self.beam_size, best_of=None, fp16=False,
                    condition_on_previous_text=False, initial_prompt=prompt,
                    carry_initial_prompt=prompt is not None, word_timestamps=True,
                    no_speech_threshold=self.no_speech_threshold,
                    logprob_threshold=self.logprob_threshold, compression_ratio_threshold=2.4,
                )
            finally:
                self._memo.clear()  # frees the window's activations
        out: list[Decoded] = []
        for s in result["segments"]:
            seg = Segment(start=float(s["start"]), end=float(s["end"]), text=s["text"].strip(),
                          no_speech_prob=float(s["no_speech_prob"]),
                          avg_logprob=float(s["avg_logprob"]))
            words = [Word(start=float(w["start"]), end=float(w["end"]), word=w["word"].strip(),
                          probability=float(w["probability"])) for w in s.get("words", [])]
            out.append((seg, words))
        return out
