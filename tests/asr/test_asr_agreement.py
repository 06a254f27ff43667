"""LocalAgreement commit logic (`asr/agreement.py`) with deterministic fakes, and the streaming
module's layering (issue 17)."""

from __future__ import annotations

import ast
import threading
import time
from pathlib import Path

import numpy as np

from interviewer.asr.agreement import Agreement, AgreementTranscriber, agreed_prefix, sentences
from interviewer.protocols import Segment, Transcript, Word

SR = 16_000
ROOT = Path(__file__).resolve().parents[2]


def words(text: str, start: float = 0.0, step: float = 0.5) -> list[Word]:
    return [Word(start=start + i * step, end=start + (i + 1) * step - 0.05, word=w)
            for i, w in enumerate(text.split())]


def test_agreed_prefix_ignores_case_and_punctuation_and_stops_at_the_first_difference() -> None:
    a = words("the Gradient, is p minus")
    b = words("The gradient is q minus y.")
    assert [w.word for w in agreed_prefix(a, b)] == ["The", "gradient", "is"]
    assert agreed_prefix([], b) == []
    assert agreed_prefix(b, []) == []


def test_a_word_is_committed_only_once_two_decodes_agree_and_never_changes() -> None:
    ag = Agreement()
    assert ag.insert(words("mixed precision halves")) == []  # one decode: nothing agreed yet
    assert [w.word for w in ag.insert(words("mixed precision halves the"))] == [
        "mixed", "precision", "halves"]
    assert [w.word for w in ag.pending] == ["the"]
    # A third decode that rewrites committed words cannot change them: only the new tail counts.
    ag.insert(words("mixed precisions halve the memory"))
    assert [w.word for w in ag.committed] == ["mixed", "precision", "halves", "the"]
    assert [w.word for w in ag.pending] == ["memory"]


def test_a_decode_of_a_trimmed_buffer_repeating_the_committed_tail_is_not_committed_twice() -> None:
    ag = Agreement()
    ag.insert(words("adam keeps two moments"))
    ag.insert(words("adam keeps two moments per"))
    committed_end = ag.committed_end
    # The next buffer starts just before the committed end (times overlap by a little) and
    # repeats the last committed words.
    again = words("two moments per parameter", start=committed_end - 1.0)
    assert [w.word for w in ag.new_part(again)] == ["per", "parameter"]


def test_commit_all_takes_the_final_decode_and_sentence_ends_bound_the_trim() -> None:
    ag = Agreement()
    ag.insert(words("Bias is error. Variance is"))
    ag.insert(words("Bias is error. Variance is noise"))
    assert ag.sentence_end(0.0) == words("Bias is error.")[-1].end
    assert ag.sentence_end(5.0) is None  # nothing committed after 5 s
    ag.commit_all(words("Bias is error. Variance is noise.", step=0.5))
    assert " ".join(w.word for w in ag.committed) == "Bias is error. Variance is noise."
    assert [s.text for s in sentences(ag.committed)] == ["Bias is error.", "Variance is noise."]


class ScriptDecoder:
    """Decodes a window to the first words of a script, one word per 0.5 s of audio, with the
    last word garbled (as Whisper garbles a word cut by the window's end) — deterministic."""

    engine, model = "fake", "fake"

    def __init__(self, script: str) -> None:
        self.script = script.split()
        self.calls: list[tuple[int, str | None]] = []
        self.lock = threading.Lock()

    def decode_window(self, audio: np.ndarray, prompt: str | None,
                      ) -> tuple[list[Segment], list[Word]]:
        with self.lock:
            self.calls.append((audio.shape[0], prompt))
        n = min(len(self.script), audio.shape[0] // (SR // 2))
        ws = words(" ".join(self.script[:n]))
        if ws and audio.shape[0] % (SR // 2) > 0:
            ws[-1] = ws[-1].model_copy(update={"word": ws[-1].word + "zz"})
        return [], ws

    def transcribe(self, audio: np.ndarray, *, prompt: str | None = None) -> Transcript:
        raise AssertionError("the agreement streamer decodes windows itself")


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    # A voiced-like signal webrtcvad calls speech: a 150 Hz buzz with harmonics.
    sig = sum((np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 8)), np.zeros_like(t))
    return (0.2 * sig).astype(np.float32)


def test_streamer_commits_while_speech_goes_on_and_finish_returns_the_whole_script() -> None:
    script = " ".join(f"w{i}" for i in range(40))
    dec = ScriptDecoder(script)
    st = AgreementTranscriber(dec, step_s=1.0, trim_s=100.0, speculate_after_s=0.35)
    seen: list[tuple[str, bool]] = []
    st.on_update = lambda tr, complete: seen.append((tr.text, complete))
    audio = tone(6.0)
    for second in range(6):
        before = st.decodes
        for i in range(second * SR, (second + 1) * SR, 800):
            st.feed(audio[i : i + 800])
        # As in real time, the worker decodes about once per second of new speech.
        deadline = time.monotonic() + 5
        while second > 0 and st.decodes == before and time.monotonic() < deadline:
            time.sleep(0.01)
    tr = st.finish()
    assert st.decodes >= 2
    assert tr.text.split() == dec.script[: len(tr.text.split())] and len(tr.text.split()) >= 10
    assert not any(w.endswith("zz") for w in tr.text.split())  # garbled tails never committed
    assert all(not complete for _, complete in seen)  # no pause: nothing offered as final


def test_layers_streaming_and_base_do_not_import_each_other_and_asr_stays_below_session() -> None:
    asr = ROOT / "interviewer" / "asr"
    # The transcription modules (asr/checks.py, doctor's checks, still imports commands/).
    names = ("base", "streaming", "segmenter", "agreement", "faster_whisper", "openai_whisper")
    for path in (asr / f"{n}.py" for n in names):
        tree = ast.parse(path.read_text())
        mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        mods |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not any(m.startswith(("interviewer.session", "interviewer.commands"))
                       for m in mods), path
        if path.name == "streaming.py":
            assert "interviewer.asr.base" not in mods
