"""Speculative decoding of the last window while the end-of-answer rule waits (logic, fake
engine): a silence after the answer starts the decode; finish() then adopts it instead of
transcribing again; speech that resumes makes the speculation moot."""

from __future__ import annotations

import threading

import numpy as np

from interviewer.asr.segmenter import SegmenterConfig
from interviewer.asr.streaming import StreamingTranscriber
from interviewer.protocols import Segment, Transcript
from tests.audio.speech import espeak

RATE = 16_000


class CountingTranscriber:
    engine, model = "fake", "fake"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def transcribe(self, audio: np.ndarray, *, prompt: str | None = None) -> Transcript:
        self.calls.append(int(audio.shape[0]))
        text = f"window of {audio.shape[0]} samples"
        return Transcript(text=text, duration_s=audio.shape[0] / RATE, engine="fake",
                          model="fake", segments=[Segment(start=0.0, end=1.0, text=text)])

    def stream(self, *, prompt: str | None = None) -> StreamingTranscriber:
        return StreamingTranscriber(self, prompt=prompt)


def feed(st: StreamingTranscriber, audio: np.ndarray) -> None:
    for i in range(0, audio.shape[0], 800):  # 50 ms blocks, like the recorder
        st.feed(audio[i : i + 800])


def test_silence_after_answer_is_used_to_decode_the_last_window() -> None:
    speech = espeak("The gradient of the softmax cross entropy is p minus y.")
    fake = CountingTranscriber()
    st = StreamingTranscriber(fake, speculate_after_s=0.9)
    feed(st, np.concatenate([speech, np.zeros(int(1.5 * RATE), np.float32)]))
    assert st.wait_idle(30)
    assert len(fake.calls) == 1  # decoded during the silence, before finish()
    tr = st.finish()
    assert len(fake.calls) == 1 and st.speculative_hits == 1
    assert tr.text.startswith("window of")


def test_speech_after_the_pause_discards_the_speculation() -> None:
    part = espeak("Mixed precision halves activation memory.")
    fake = CountingTranscriber()
    st = StreamingTranscriber(fake, speculate_after_s=0.9)
    feed(st, np.concatenate([part, np.zeros(int(1.2 * RATE), np.float32), part,
                             np.zeros(int(0.3 * RATE), np.float32)]))
    tr = st.finish()
    assert st.speculative_hits == 0
    assert len(fake.calls) == 2  # the stale speculation plus the real, longer window
    assert fake.calls[1] > fake.calls[0]
    assert tr.text == f"window of {fake.calls[1]} samples"


class GatedTranscriber(CountingTranscriber):
    """Decodes only when the test opens the gate (to order events deterministically)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def transcribe(self, audio: np.ndarray, *, prompt: str | None = None) -> Transcript:
        assert self.gate.wait(30)
        return super().transcribe(audio, prompt=prompt)


def listening(fake: CountingTranscriber,
              ) -> tuple[StreamingTranscriber, list[tuple[str, bool]]]:
    """A stream whose windows close at a 0.6 s pause (test-sized takes: the default keeps a
    window open for 18 s), recording every `on_update(text, complete)`."""
    st = StreamingTranscriber(fake, speculate_after_s=0.9,
                              config=SegmenterConfig(min_window_s=0.5, pause_s=0.6))
    updates: list[tuple[str, bool]] = []
    st.on_update = lambda tr, complete: updates.append((tr.text, complete))
    return st, updates


def test_listener_hears_the_final_text_before_finish() -> None:
    """`on_update(…, complete=True)` carries exactly what finish() returns when no speech
    follows (the open window speculatively decoded); while speech is still open, updates are
    marked incomplete."""
    first = espeak("Batch normalisation normalises activations over the batch.")
    second = espeak("At inference it uses running averages instead.")
    fake = GatedTranscriber()
    # The first window closes at the sentence pause; the second stays open until the
    # speculation at 0.9 s of silence.
    st, updates = listening(fake)
    feed(st, np.concatenate([first, np.zeros(int(0.7 * RATE), np.float32), second]))
    fake.gate.set()  # the first window is decoded while the second is still being spoken
    assert st.wait_idle(30)
    assert updates == [(f"window of {fake.calls[0]} samples", False)]
    feed(st, np.zeros(int(0.5 * RATE), np.float32))  # not yet a 0.6 s pause: stays open
    st._seg.cfg = SegmenterConfig(min_window_s=0.5, pause_s=5.0)  # and never closes it
    feed(st, np.zeros(int(1.0 * RATE), np.float32))  # 1.5 s of silence: speculation runs
    assert st.wait_idle(30)
    tr = st.finish()
    assert updates[-1] == (tr.text, True)
    assert st.speculative_hits == 1 and len(fake.calls) == 2


def test_a_window_closed_at_a_pause_makes_the_transcript_complete() -> None:
    speech = espeak("Weight decay shrinks the weights a little at every step.")
    fake = CountingTranscriber()
    st, updates = listening(fake)
    feed(st, np.concatenate([speech, np.zeros(int(0.7 * RATE), np.float32)]))
    assert st.wait_idle(30)
    tr = st.finish()
    assert updates == [(tr.text, True)]  # closed at the pause, decoded: nothing open


def test_default_stream_decides_early_but_not_inside_fluent_speech() -> None:
    """Issue 17: the default stream speculates once the candidate has paused 0.35 s — early
    enough for a 1.5 s end-of-answer rule — but the 0.25 s gaps of fluent speech never start a
    decode that the next sentence would throw away."""
    first = espeak("Dropout zeroes random activations during training.")
    second = espeak("At test time the weights are scaled instead.")
    gap = np.zeros(int(0.25 * RATE), np.float32)
    fake = CountingTranscriber()
    st = fake.stream()
    feed(st, np.concatenate([first, gap, second, gap, first]))
    assert st.wait_idle(30)
    assert fake.calls == []  # one open window, no speculation while speech goes on
    feed(st, np.zeros(int(0.5 * RATE), np.float32))
    assert st.wait_idle(30)
    assert len(fake.calls) == 1  # decoded 0.5 s into the pause
    tr = st.finish()
    assert len(fake.calls) == 1 and st.speculative_hits == 1
    assert tr.text == f"window of {fake.calls[0]} samples"
