"""Fakes for fast session-logic tests (the real engines are exercised in test_e2e_*.py)."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from interviewer.bank.loader import Bank, load_bank
from interviewer.protocols import SpeakerBase, SpeechResult, Take, Transcript, Word

Q = """
questions:
  - id: dropout-why
    text: Why does dropout reduce overfitting?
    topic: deep-learning
    sources: ["000_0d8d2ba9cc4df753.txt#Q30"]
    reference_answer: >-
      Dropout randomly zeroes units during training, which stops co-adaptation; it behaves like
      an ensemble of thinned networks, and activations are rescaled so inference needs no change.
  - id: l2-why
    text: What does L2 regularization do?
    topic: classical-ml
    sources: ["000_0d8d2ba9cc4df753.txt#Q31"]
    reference_answer: >-
      L2 adds the squared weights to the loss, shrinking weights toward zero smoothly; it reduces
      variance, and for linear models it equals a Gaussian prior on the weights.
"""
R = """
rubrics:
  - question_id: dropout-why
    points:
      - {id: random-zeroing, text: Randomly zeroes units during training, weight: 2,
         follow_up: "What exactly is dropped, and how often?"}
      - {id: co-adaptation, text: Prevents co-adaptation of units}
      - {id: ensemble, text: Acts like an ensemble of thinned networks}
    follow_ups:
      - {id: inference, text: "What changes at inference time?"}
      - {id: small-models, text: "When can dropout hurt?"}
  - question_id: l2-why
    points:
      - {id: squared-weights, text: Adds squared weights to the loss}
      - {id: shrinks, text: Shrinks weights toward zero}
      - {id: gaussian-prior, text: Equals a Gaussian prior on the weights}
    follow_ups:
      - {id: vs-l1, text: "How does it differ from L1?"}
      - {id: scale, text: "Why must features be scaled first?"}
"""


@pytest.fixture
def mini_root(tmp_path: Path) -> Path:
    for sub, text in (("question_bank", Q), ("rubrics", R)):
        (tmp_path / sub / "t").mkdir(parents=True)
        (tmp_path / sub / "t" / "a.yaml").write_text(textwrap.dedent(text))
    return tmp_path


@pytest.fixture
def mini_bank(mini_root: Path) -> Bank:
    return load_bank(mini_root / "question_bank", mini_root / "rubrics")


class FakeSpeaker(SpeakerBase):
    engine = "fake"

    def __init__(self) -> None:
        self.said: list[str] = []
        self.prepared: list[str] = []

    def prepare(self, text: str) -> None:
        self.prepared.append(text)

    def speak(self, text: str) -> SpeechResult:
        self.said.append(text)
        return SpeechResult(text=text, printed_only=True)


class FakeRecorder:
    """Writes a short tone per take and feeds it as chunks; answers come from a list."""

    def __init__(self, answers: list[str | None]) -> None:
        self.answers = answers
        self.calls = 0

    def record(self, path: Path, *, on_chunk=None) -> Take:  # type: ignore[no-untyped-def]
        import soundfile as sf

        text = self.answers[self.calls] if self.calls < len(self.answers) else None
        self.calls += 1
        if text is None:
            return Take(path=str(path), duration_s=3.0, ended_by="no_answer")
        audio = (0.1 * np.sin(np.arange(16000) / 5.0)).astype(np.float32)
        sf.write(str(path), audio, 16000)
        if on_chunk:
            on_chunk(audio)
            on_chunk(np.array([len(text)], dtype=np.float32))  # smuggle the answer index
        return Take(path=str(path), duration_s=1.0, ended_by="silence", speech_start_s=0.2)


def fake_transcript(text: str) -> Transcript:
    words = [Word(start=0.5 + 0.4 * i, end=0.8 + 0.4 * i, word=w)
             for i, w in enumerate(text.split())]
    return Transcript(text=text, duration_s=1.0, words=words, engine="fake", model="fake")


class FakeStream:
    """Returns the next scripted text. With `owner.speculate` set to a list, each take first
    reports that text through `on_update(…, complete=True)` while audio is fed, as the real
    streaming transcriber does during the end-of-answer pause."""

    def __init__(self, owner: FakeTranscriber) -> None:
        self.owner = owner
        self.on_update: Callable[[Transcript, bool], None] | None = None

    def feed(self, chunk: np.ndarray) -> None:
        self.owner.fed += chunk.shape[0]
        if self.owner.speculate and self.on_update is not None and chunk.shape[0] == 1:
            self.on_update(fake_transcript(self.owner.speculate.pop(0)), True)

    def finish(self) -> Transcript:
        return fake_transcript(self.owner.texts.pop(0))


class FakeTranscriber:
    engine = "fake"
    model = "fake"

    def __init__(self, texts: list[str]) -> None:
        self.texts = list(texts)
        self.fed = 0
        self.speculate: list[str] = []

    def transcribe(self, audio: np.ndarray, *, prompt: str | None = None) -> Transcript:
        raise AssertionError("the session must stream, not transcribe in one pass")

    def stream(self, *, prompt: str | None = None) -> FakeStream:
        return FakeStream(self)


def streams() -> tuple[io.StringIO, io.StringIO, io.StringIO]:
    return io.StringIO(), io.StringIO(), io.StringIO()
