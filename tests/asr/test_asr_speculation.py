"""Speculative decoding of the last window while the end-of-answer rule waits (logic, fake
engine): a silence after the answer starts the decode; finish() then adopts it instead of
transcribing again; speech that resumes makes the speculation moot."""

from __future__ import annotations

import numpy as np

from interviewer.asr.streaming import StreamingTranscriber
from interviewer.protocols import Segment, StreamingTranscription, Transcript
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

    def stream(self, *, prompt: str | None = None) -> StreamingTranscription:
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
