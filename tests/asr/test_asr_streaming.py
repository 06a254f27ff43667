"""Streaming with the real engines: equals one pass, work done while 'speaking', long takes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from asr_data import normalise, wer

from interviewer.protocols import SAMPLE_RATE, Transcript

pytestmark = pytest.mark.slow

SR = SAMPLE_RATE
STREAM_VS_ONEPASS_WER = 0.05  # same windows, same decoder: differences are decoding noise only


def test_streaming_equals_one_pass(transcriber: Any,
                                   speech_take: tuple[np.ndarray, list[float], str],
                                   onepass: Callable[[Any], Transcript]) -> None:
    take, _, reference = speech_take
    take = take[: -int(1.5 * SR)]  # the answer ends after the last word (no trailing pause)
    one = onepass(transcriber)
    stream = transcriber.stream()
    block = SR // 10
    # Feed like a recorder, pausing at each block boundary while the worker catches up now
    # and then, as real time would allow.
    for i, a in enumerate(range(0, take.shape[0], block)):
        stream.feed(take[a : a + block])
        if i % 100 == 99:
            stream.wait_idle(60)
    t0 = time.monotonic()
    streamed = stream.finish()
    assert streamed.seconds is not None and streamed.seconds <= time.monotonic() - t0 + 0.01
    assert stream.windows_in_background >= 1  # work happened while the candidate 'spoke'
    assert wer(one.text, streamed.text) <= STREAM_VS_ONEPASS_WER, (one.text, streamed.text)
    assert wer(reference, streamed.text) < 0.05
    # Word times are take-relative in both.
    one_words = {(normalise(w.word), round(w.start)) for w in one.words}
    st_words = {(normalise(w.word), round(w.start)) for w in streamed.words}
    assert len(one_words & st_words) >= 0.9 * len(one_words)


def test_long_take_offsets(fw: Any, clips: list[Any], clip_audio: dict[str, np.ndarray]) -> None:
    """Ten minutes of room tone with the speech clips at known places: each clip's words come
    back with their own timing (offsets stitched over many windows)."""
    rng = np.random.default_rng(11)
    take = (0.001 * rng.standard_normal(SR * 600)).astype(np.float32)
    places = {}
    for i, c in enumerate(clips):
        at = 40 + i * 95  # seconds
        a = clip_audio[c.name]
        take[at * SR : at * SR + a.shape[0]] += a
        places[c.name] = (at, at + a.shape[0] / SR)
    tr = fw.transcribe(take)
    assert tr.duration_s == pytest.approx(600, abs=0.01)
    for c in clips:
        lo, hi = places[c.name]
        inside = " ".join(w.word for w in tr.words if lo - 0.5 <= w.start <= hi + 0.5)
        assert wer(c.reference, inside) < 0.3, (c.name, inside)
    assert all(any(lo - 0.5 <= w.start <= hi + 0.5 for lo, hi in places.values())
               for w in tr.words), "words in the silence"
