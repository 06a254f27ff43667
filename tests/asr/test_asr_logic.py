"""Fast unit tests of the engine-independent logic: VAD windows, prompt, segment gates,
streaming stitching (the streaming tests use a fake Transcriber that 'reads' window timing)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from interviewer.asr.base import WindowedTranscriber
from interviewer.asr.prompt import MAX_PROMPT_CHARS, build_prompt
from interviewer.asr.segmenter import Segmenter, SegmenterConfig, find_windows
from interviewer.asr.streaming import StreamingTranscriber
from interviewer.errors import DataError, EngineUnavailable
from interviewer.protocols import SAMPLE_RATE, Segment, StreamingTranscription, Transcript, Word

SR = SAMPLE_RATE


# ----------------------------------------------------------------- segmenter on real speech
def test_windows_cover_speech_and_skip_silence(clip_audio: dict[str, np.ndarray]) -> None:
    from asr_data import concat_take

    clips = list(clip_audio.values())
    take, offsets = concat_take(clips, gap_s=3.0)  # a 3 s pause closes any window
    windows = find_windows(take)
    assert len(windows) == len(clips)
    for w, off, clip in zip(windows, offsets, clips, strict=True):
        assert w.start_s <= off + 0.3 and w.end_s >= off + clip.shape[0] / SR - 0.5
        assert w.end_s <= off + clip.shape[0] / SR + 0.4  # the pause after is not included
    assert find_windows(np.zeros(SR * 10, dtype=np.float32)) == []


def test_windows_are_packed_and_bounded(clip_audio: dict[str, np.ndarray]) -> None:
    from asr_data import concat_take

    # 0.8 s pauses: short windows are merged up to min_window_s; nothing exceeds max_window_s.
    take, _ = concat_take(list(clip_audio.values()) * 3, gap_s=0.8)
    cfg = SegmenterConfig()
    windows = find_windows(take, cfg)
    assert all(w.end_s - w.start_s <= cfg.max_window_s + 0.05 for w in windows)
    assert all(a.end <= b.start for a, b in zip(windows, windows[1:], strict=False))
    assert len(windows) < 3 * len(clip_audio)  # packing happened
    # Continuous speech without pauses is force-cut.
    nonstop = np.concatenate(list(clip_audio.values()) * 2)
    cut = find_windows(nonstop, SegmenterConfig(min_window_s=100, long_pause_s=100,
                                                pause_s=100))
    assert len(cut) >= 2 and all(w.end_s - w.start_s <= 28.05 for w in cut)


def test_block_size_does_not_change_cuts(clip_audio: dict[str, np.ndarray]) -> None:
    from asr_data import concat_take

    take, _ = concat_take(list(clip_audio.values()), gap_s=1.0)
    whole = find_windows(take)
    for block in (160, 1234, 4800):
        seg = Segmenter()
        got = []
        for a in range(0, take.shape[0], block):
            got.extend(seg.push(take[a : a + block]))
        got.extend(seg.flush())
        assert got == whole


# ----------------------------------------------------------------- prompt
def test_build_prompt_terms_last_deduplicated_and_bounded() -> None:
    p = build_prompt("Explain the  KL divergence.", ["KL divergence", "FSDP", "kl divergence",
                                                      "softmax", ""])
    assert p is not None
    assert p.startswith("Explain the KL divergence.")
    assert p.endswith("Terms: KL divergence, FSDP, softmax.")
    assert "um" in p.lower()  # filler style, so Whisper keeps hesitations
    assert build_prompt("", []) is None
    long = build_prompt("why " * 500, [f"term{i}" for i in range(500)])
    assert long is not None and len(long) <= MAX_PROMPT_CHARS


# ----------------------------------------------------------------- segment gates
class Scripted(WindowedTranscriber):
    """A transcriber whose decoder returns a fixed script (to test the gates, not Whisper)."""

    engine, model = "scripted", "none"

    def __init__(self, script: list[tuple[Segment, list[Word]]]) -> None:
        super().__init__()
        self.script = script

    def _decode(self, audio: np.ndarray, prompt: str | None) -> list[tuple[Segment, list[Word]]]:
        return self.script


def _seg(text: str, ns: float, lp: float, start: float = 0.0, probs: float = 0.9,
         ) -> tuple[Segment, list[Word]]:
    words = [Word(start=start + i * 0.3, end=start + i * 0.3 + 0.25, word=w, probability=probs)
             for i, w in enumerate(text.split())]
    return Segment(start=start, end=start + 0.3 * len(words), text=text, no_speech_prob=ns,
                   avg_logprob=lp), words


@pytest.mark.parametrize(("script", "kept"), [
    ([_seg("Real words here.", 0.05, -0.3)], ["Real words here."]),
    ([_seg("Thank you.", 0.61, -0.9)], []),  # the classic invention
    ([_seg("Thank you.", 0.02, -0.2)], ["Thank you."]),  # a candidate really saying it
    ([_seg("This", 0.72, -0.94)], []),  # unsure tail
    ([_seg("I'm going to the next one.", 0.85, -0.3, probs=0.2)], []),  # confident-sounding
    ([_seg("...", 0.1, -0.2)], []),  # no words
    ([_seg("Go on.", 0.3, -0.2), _seg("Go on.", 0.3, -0.2, 1.0), _seg("Done.", 0.1, -0.1, 2)],
     ["Go on.", "Done."]),  # decoding loop
])
def test_segment_gates(script: list[tuple[Segment, list[Word]]], kept: list[str]) -> None:
    segs, words = Scripted(script).decode_window(np.zeros(SR, np.float32), None)
    assert [s.text for s in segs] == kept
    assert len(words) == sum(len(t.split()) for t in kept)


def test_bad_in_memory_audio_is_a_data_error() -> None:
    tr = Scripted([])
    with pytest.raises(DataError):
        tr.transcribe(np.zeros((SR, 2), np.float32))
    with pytest.raises(DataError):
        tr.transcribe(np.array([0.0, np.nan], np.float32))


# ----------------------------------------------------------------- streaming
class WindowEcho:
    """Fake Transcriber: one segment per call naming the call's audio length; can block/fail."""

    engine, model = "echo", "fake"

    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self.fail_on = fail_on

    def transcribe(self, audio: np.ndarray, *, prompt: str | None = None) -> Transcript:
        self.gate.wait(10)
        self.calls.append(audio.shape[0])
        if self.fail_on is not None and len(self.calls) == self.fail_on:
            raise RuntimeError("engine exploded")
        dur = audio.shape[0] / SR
        return Transcript(text=f"w{len(self.calls)}", duration_s=dur, engine=self.engine,
                          model=self.model, segments=[Segment(start=0.1, end=dur - 0.1,
                                                              text=f"w{len(self.calls)}")],
                          words=[Word(start=0.1, end=0.4, word=f"w{len(self.calls)}")])

    def stream(self, *, prompt: str | None = None) -> StreamingTranscription:
        return StreamingTranscriber(self, prompt=prompt)


def _feed(st: StreamingTranscriber, audio: np.ndarray, block: int = 1600) -> None:
    for a in range(0, audio.shape[0], block):
        st.feed(audio[a : a + block])


def test_streaming_transcribes_closed_windows_in_background(
        clip_audio: dict[str, np.ndarray]) -> None:
    from asr_data import concat_take

    take, offsets = concat_take(list(clip_audio.values()), gap_s=3.0)
    take = take[: -3 * SR]  # the answer ends right after the last word
    fake = WindowEcho()
    st = StreamingTranscriber(fake)
    assert isinstance(st, StreamingTranscription)
    _feed(st, take)
    assert st.wait_idle(10)
    done_before_finish = len(fake.calls)
    tr = st.finish()
    windows = find_windows(take)
    assert done_before_finish == len(windows) - 1  # only the last window was left
    assert len(fake.calls) == len(windows)
    assert [s.text for s in tr.segments] == [f"w{i + 1}" for i in range(len(windows))]
    for seg, w in zip(tr.segments, windows, strict=True):  # offsets stitched
        assert seg.start == pytest.approx(w.start_s + 0.1)
        assert w.start_s <= offsets[windows.index(w)] + 0.3
    assert tr.duration_s == pytest.approx(take.shape[0] / SR, abs=1e-3)
    assert tr.words[-1].start == pytest.approx(windows[-1].start_s + 0.1)


def test_streaming_keeps_only_the_open_window(clip_audio: dict[str, np.ndarray]) -> None:
    from asr_data import concat_take

    take, _ = concat_take(list(clip_audio.values()) * 4, gap_s=3.0)  # ~2.5 minutes
    st = StreamingTranscriber(WindowEcho())
    biggest = 0
    for a in range(0, take.shape[0], 1600):
        st.feed(take[a : a + 1600])
        biggest = max(biggest, st._tail._len)
    st.finish()
    assert biggest < SR * 32  # one window (≤ 28 s) plus pause and block slack, not the take


def test_streaming_silence_is_no_speech() -> None:
    fake = WindowEcho()
    st = StreamingTranscriber(fake)
    _feed(st, np.zeros(SR * 5, np.float32))
    tr = st.finish()
    assert tr.no_speech and tr.text == "" and fake.calls == []


def test_streaming_engine_failure_surfaces_in_finish(clip_audio: dict[str, np.ndarray]) -> None:
    from asr_data import concat_take

    take, _ = concat_take(list(clip_audio.values()), gap_s=3.0)
    st = StreamingTranscriber(WindowEcho(fail_on=1))
    _feed(st, take)
    with pytest.raises(EngineUnavailable, match="engine exploded"):
        st.finish()
    with pytest.raises(RuntimeError):
        st.feed(take[:100])
