"""The small protocols the session loop depends on, and the data they exchange.

The session loop and policy code import only this module; each engine lives in one adapter module
(`audio/…`, `asr/…`, `judge/…`) built by `interviewer.factory` with lazy imports, so commands that
do not need an engine never import it (and never import torch).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal, Protocol, TypeVar, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from interviewer.bank.models import BankEntry

SAMPLE_RATE = 16_000  # every internal audio array is float32 mono at 16 kHz


class _Stored(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --------------------------------------------------------------------------- speech out
class SpeechResult(_Stored):
    """What the Speaker really did: when audio started/finished playing and where."""

    text: str
    device: str | None = None
    started_at: float | None = None  # time.monotonic() of the first sample handed to the device
    finished_at: float | None = None
    duration_s: float = 0.0
    printed_only: bool = False  # --no-tts


@runtime_checkable
class Speaker(Protocol):
    def speak(self, text: str) -> SpeechResult:
        """Say `text` and return once it has been played (or printed, without TTS)."""
        ...


class SpeakerBase:
    """A Speaker's optional abilities, declared with do-nothing defaults: a speaker subclasses
    this and overrides what it can do, so the session calls them without probing."""

    #: Engine name stored with a session ("pyttsx3", "piper", "print").
    engine: str = "speaker"
    #: Set once an utterance's first samples reach the device (engine loading waits for it so it
    #: does not delay the first question); None: this speaker never signals it.
    started: threading.Event | None = None

    def prepare(self, text: str) -> None:
        """Synthesise `text` ahead of `speak(text)`; by default there is nothing to prepare."""


@runtime_checkable
class SessionSpeaker(Speaker, Protocol):
    """A Speaker with the abilities the session uses (`SpeakerBase` gives the defaults)."""

    @property
    def engine(self) -> str:
        """Engine name stored with a session."""
        ...

    @property
    def started(self) -> threading.Event | None:
        """Set when an utterance starts playing (None: never signalled)."""
        ...

    def prepare(self, text: str) -> None:
        """Synthesise `text` ahead of speaking it."""
        ...


@runtime_checkable
class Player(Protocol):
    def play(self, path: Path, *, on_progress: Callable[[float, float], None] | None = None,
             start_s: float = 0.0) -> float:
        """Play a WAV; return seconds played (less than its length if interrupted)."""
        ...


# --------------------------------------------------------------------------- speech in
EndReason = Literal["enter", "silence", "max_length", "no_answer", "interrupted", "eof"]


class Take(_Stored):
    """One recorded answer, already on disk."""

    path: str
    duration_s: float
    ended_by: EndReason
    speech_start_s: float | None = None  # first speech (VAD), seconds into the take
    speech_end_s: float | None = None  # last speech, seconds into the take
    ended_at: float | None = None  # time.monotonic() when the take was closed

    @property
    def no_answer(self) -> bool:
        return self.ended_by == "no_answer"


ChunkCallback = Callable[[np.ndarray], None]


@runtime_checkable
class Recorder(Protocol):
    def record(self, path: Path, *, on_chunk: ChunkCallback | None = None) -> Take:
        """Record one answer to `path` (written as captured) until the end-of-answer rule fires.

        `on_chunk` receives each captured float32 16 kHz block as it arrives (streaming ASR).
        """
        ...


# --------------------------------------------------------------------------- transcription
class Word(_Stored):
    start: float
    end: float
    word: str
    probability: float | None = None


class Segment(_Stored):
    start: float
    end: float
    text: str
    no_speech_prob: float | None = None
    avg_logprob: float | None = None


class Transcript(_Stored):
    text: str
    duration_s: float
    segments: list[Segment] = Field(default_factory=list)
    words: list[Word] = Field(default_factory=list)
    engine: str
    model: str
    no_speech: bool = False  # silence/noise only: nothing to judge
    language: str = "en"
    seconds: float | None = None  # wall time spent transcribing


@runtime_checkable
class StreamingTranscription(Protocol):
    #: Called as `on_update(transcript_so_far, complete)` from the transcription worker; set it
    #: before feeding (None: nobody listens).
    on_update: Callable[[Transcript, bool], None] | None

    def feed(self, chunk: np.ndarray) -> None:
        """Hand over captured audio; finished speech segments are transcribed in the background."""
        ...

    def finish(self) -> Transcript:
        """Transcribe what remains and return the whole take's transcript."""
        ...


@runtime_checkable
class Transcriber(Protocol):
    engine: str
    model: str

    def transcribe(self, audio: np.ndarray, *, prompt: str | None = None) -> Transcript:
        """Transcribe float32 16 kHz mono audio in one pass."""
        ...

    def stream(self, *, prompt: str | None = None) -> StreamingTranscription:
        """Start a transcription that runs while the candidate is still speaking."""
        ...


# --------------------------------------------------------------------------- judging
#: A verified point's status. A backend may also say `contradicted` (the answer asserts the
#: opposite); the policy then reports the point as missing with the flag `contradicted`.
Status = Literal["covered", "partial", "missing"]
RawStatus = Literal["covered", "partial", "missing", "contradicted"]


class JudgeInfo(_Stored):
    backend: str
    model: str
    note: str | None = None  # e.g. "Ollama not reachable; using the offline embedded judge"


class RawVerdict(_Stored):
    """What a judge backend classifies for one point; code verifies and scores it."""

    point_id: str
    status: RawStatus
    evidence: str | None = None
    confidence: float | None = None
    rationale: str | None = None


class Classification(_Stored):
    """Everything one `Judge.classify` call found, returned as one value (nothing is left on the
    judge object for the caller to read afterwards)."""

    verdicts: list[RawVerdict]
    info: JudgeInfo  # who really judged this answer (a fallback says so in its note)
    probes: dict[str, str] = Field(default_factory=dict)  # point id → backend-phrased probe
    #: The backend reads negation and contradiction itself (a trained verifier); the policy then
    #: skips its lexical denial rules, which would only second-guess it.
    negation_aware: bool = False


class PointVerdict(_Stored):
    """A verified verdict: credited only if its evidence occurs in the transcript."""

    point_id: str
    point: str
    weight: float
    status: Status
    evidence: str | None = None
    evidence_span: tuple[int, int] | None = None  # character offsets in the transcript
    confidence: float | None = None
    note: str | None = None  # why a claimed credit was withdrawn, etc.
    contradicted: bool = False  # the answer asserted the opposite (`evidence` quotes it)


class Judgement(_Stored):
    question_id: str
    points: list[PointVerdict]
    score: float  # 0..1, computed in code from verdicts and weights
    follow_up: str | None = None
    follow_up_id: str | None = None
    missed_feedback: list[str] = Field(default_factory=list)
    strengths: list[str] = Field(default_factory=list)
    judge: JudgeInfo
    seconds: float | None = None
    flags: list[str] = Field(default_factory=list)  # "no_speech", "injection_suspected", …


@runtime_checkable
class Judge(Protocol):
    """A backend that classifies rubric points; `info` describes it before any answer."""

    info: JudgeInfo

    def classify(self, entry: BankEntry, transcript: str) -> Classification:
        """Classify each rubric point for this answer (the backend never scores)."""
        ...


class JudgeBase:
    """A Judge's optional abilities, declared with defaults (as llm declares `can_stream = False`):
    a backend subclasses this and overrides what it can do; the session calls them without
    probing."""

    #: Cheap enough to run again on a transcript that may still change (the session judges
    #: during the end-of-answer pause only with such a judge).
    speculative: bool = False
    #: Reviews each answer again in the background after its first verdicts (`judge/refine.py`).
    refines: bool = False

    def warm(self, entry: BankEntry, transcript: str) -> None:
        """Prepare for an answer still being given (e.g. encode its sentences); default: nothing."""

    def done(self, entry: BankEntry, transcript: str) -> bool:
        """Is nothing left to wait for on this answer's background review? Default: yes."""
        return True

    def refined(self, entry: BankEntry, transcript: str,
                timeout: float | None = None) -> Classification | None:
        """Wait up to `timeout` for the background review's classification; default: none."""
        return None

    def refine(self, judgement: Judgement, entry: BankEntry, transcript: str,
               asked_follow_ups: Iterable[str] = (), timeout: float | None = None) -> Judgement:
        """`judgement` rebuilt from the background review; default: unchanged."""
        return judgement

    def close(self, wait: bool = True) -> None:
        """Stop background work (queued reviews are dropped); default: nothing to stop."""


@runtime_checkable
class SessionJudge(Judge, Protocol):
    """A Judge with the abilities the session uses (`JudgeBase` gives the defaults)."""

    speculative: bool
    refines: bool

    def warm(self, entry: BankEntry, transcript: str) -> None:
        """Prepare for an answer still being given."""
        ...

    def done(self, entry: BankEntry, transcript: str) -> bool:
        """Is the background review of this answer finished (or never started)?"""
        ...

    def refined(self, entry: BankEntry, transcript: str,
                timeout: float | None = None) -> Classification | None:
        """Wait for the background review's classification."""
        ...

    def refine(self, judgement: Judgement, entry: BankEntry, transcript: str,
               asked_follow_ups: Iterable[str] = (), timeout: float | None = None) -> Judgement:
        """`judgement` rebuilt from the background review."""
        ...

    def close(self, wait: bool = True) -> None:
        """Stop background work."""
        ...


# --------------------------------------------------------------------------- engines loading
T_co = TypeVar("T_co", covariant=True)


class Lazy(Protocol[T_co]):
    """An engine that may still be loading: `ready()` says whether calling it would wait."""

    def __call__(self) -> T_co:
        """The engine (waits while it loads)."""
        ...

    def ready(self) -> bool:
        """True once calling returns at once."""
        ...
