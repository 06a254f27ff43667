"""The trained rubric-point verifier: the offline default judge.

A cross-encoder fine-tuned from all-MiniLM-L6-v2 (see `training/train_verifier.py` and the model
card beside the weights) reads one rubric point (its text, plus its description when the rubric
has one) together with the answer, and gives P(stated), P(contradicted), P(not stated) for the
point, plus a per-token evidence score. The evidence quote is the answer sentence (or clause) whose
tokens score highest, so it is always a verbatim slice of the transcript; the policy checks it
again anyway.

It runs an int8 ONNX export with onnxruntime (no torch), one intra-op thread, so it coexists with
recording and transcription. An answer longer than the model's window is read in overlapping
sentence-aligned chunks; a point's verdict comes from the chunk that states (or contradicts) it
most clearly.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from interviewer.bank.models import BankEntry, ExpectedPoint
from interviewer.errors import ModelNotInstalled
from interviewer.judge.text import split_sentences
from interviewer.protocols import Classification, JudgeBase, JudgeInfo, RawStatus, RawVerdict

BACKEND = "verifier"
LABELS = ("stated", "contradicted", "not_stated")  # the model's output order
MAX_LEN = 256  # tokens per (point, answer chunk) pair
_EVIDENCE_MAX_WORDS = 40
_STATEMENT_WORDS = 5  # an alias this long is an alternative phrasing of the point


def model_dir() -> Path:
    """Where the shipped model lives (inside the package: installing never trains)."""
    return Path(str(resources.files("interviewer.judge") / "models" / "verifier"))


def available() -> bool:
    """True when the exported model and its tokenizer ship with this installation."""
    d = model_dir()
    return all((d / f).is_file() for f in ("model.int8.onnx", "tokenizer.json", "config.json"))


def point_input(point: ExpectedPoint, *, with_description: bool = True) -> str:
    """The text the model reads for a point: the same format in training and at run time."""
    text = " ".join(point.text.split())
    if with_description and point.description:
        return f"{text} ({' '.join(point.description.split())})"
    return text


def encode_pair(point_ids: list[int], answer_ids: list[int],
                answer_offsets: list[tuple[int, int]], cls: int, sep: int, *,
                shift: int = 0) -> dict[str, Any]:
    """The model's input for one (point, answer chunk) pair — the one format training and
    judging share: `[CLS] point [SEP] answer [SEP]`, the point cut to 64 tokens and the answer to
    what fits in MAX_LEN. Returns ids, token types, each token's character span in the answer
    (shifted by `shift`; (0, 0) outside it) and the mask of answer tokens."""
    p_ids = list(point_ids[:64])
    a_ids = list(answer_ids[: MAX_LEN - len(p_ids) - 3])
    head = len(p_ids) + 2
    return {
        "ids": [cls, *p_ids, sep, *a_ids, sep],
        "types": [0] * head + [1] * (len(a_ids) + 1),
        "offsets": [(0, 0)] * head + [(shift + s, shift + e)
                                      for s, e in answer_offsets[: len(a_ids)]] + [(0, 0)],
        "answer_mask": [0] * head + [1] * len(a_ids) + [0],
    }


@dataclass(frozen=True)
class Chunk:
    """A sentence-aligned slice of the answer, in character offsets."""

    start: int
    end: int


def chunk_answer(answer: str, n_tokens: Any, budget: int) -> list[Chunk]:
    """Sentence-aligned chunks of at most `budget` tokens (by `n_tokens(text)`), each starting
    one sentence before the previous chunk ended so no statement is cut in two."""
    sents = split_sentences(answer, max_words=60) or [(0, len(answer))]
    if n_tokens(answer) <= budget:
        return [Chunk(sents[0][0], sents[-1][1])]
    chunks: list[Chunk] = []
    i = 0
    while i < len(sents):
        j = i
        while j + 1 < len(sents) and n_tokens(answer[sents[i][0]:sents[j + 1][1]]) <= budget:
            j += 1
        chunks.append(Chunk(sents[i][0], sents[j][1]))
        if j + 1 >= len(sents):
            break
        i = j if j > i else j + 1  # overlap one sentence unless it alone fills the chunk
    return chunks


class VerifierJudge(JudgeBase):
    """The `Judge` backed by the trained verifier (thread-safe; the session may judge a
    speculative transcript on another thread)."""

    speculative = True  # cheap enough to judge partial transcripts during the pause

    def __init__(self, directory: Path | None = None, *, lexical_denials: bool = False) -> None:
        # `lexical_denials` re-enables the policy's hand-written denial rules on top of the
        # model (an ablation knob: benchmarks/judge.py measures both).
        self.lexical_denials = lexical_denials
        self.directory = directory or model_dir()
        cfg_path = self.directory / "config.json"
        if not cfg_path.is_file():
            raise ModelNotInstalled(f"{self.directory}: verifier model not found",
                                    hint="reinstall the package (the model ships inside it)")
        self.config: dict[str, Any] = json.loads(cfg_path.read_text(encoding="utf-8"))
        self.info = JudgeInfo(backend=BACKEND, model=str(self.config.get("name", "verifier")))
        self._lock = threading.Lock()
        self._session: Any = None
        self._tok: Any = None

    # ------------------------------------------------------------------ loading
    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            # onnxruntime writes telemetry/device files under the home directory unless told not.
            os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
            import onnxruntime as ort
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(self.directory / "tokenizer.json"))
            tok.no_padding()
            tok.no_truncation()
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            self._session = ort.InferenceSession(str(self.directory / "model.int8.onnx"), opts,
                                                 providers=["CPUExecutionProvider"])
            self._tok = tok

    def load(self) -> None:
        """Load the model and run it once, so the first real answer pays no start-up cost."""
        if self._session is None:
            self._load()
            self.scores(["warm up"], "warm up the model")

    def warm(self, entry: BankEntry, transcript: str) -> None:
        """The session calls this while the answer is still being given: have the model ready."""
        self.load()

    # ------------------------------------------------------------------ scoring
    def _n_tokens(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False).ids)

    def scores(self, points: list[str], answer: str) -> list[PointScore]:
        """Per point: class probabilities and the best evidence span, over all chunks."""
        self._load()
        p_ids = [self._tok.encode(p, add_special_tokens=False) for p in points]
        longest = max(len(e.ids) for e in p_ids)
        budget = max(32, MAX_LEN - min(longest, 64) - 3)
        chunks = chunk_answer(answer, self._n_tokens, budget)
        rows: list[tuple[int, Chunk, Any]] = []
        for pi, pe in enumerate(p_ids):
            for ch in chunks:
                rows.append((pi, ch, self._pair(pe, answer, ch)))
        probs, ev = self._run([r[2] for r in rows])
        best: dict[int, PointScore] = {}
        for k, (pi, ch, enc) in enumerate(rows):
            cand = PointScore(probs=probs[k], chunk=ch, token_scores=ev[k],
                              offsets=enc["offsets"], answer_mask=enc["answer_mask"])
            if pi not in best or cand.key() > best[pi].key():
                best[pi] = cand
        return [best[i] for i in range(len(points))]

    def _pair(self, point_enc: Any, answer: str, ch: Chunk) -> dict[str, Any]:
        a = self._tok.encode(answer[ch.start:ch.end], add_special_tokens=False)
        return encode_pair(point_enc.ids, a.ids, a.offsets, self.config["cls_id"],
                           self.config["sep_id"], shift=ch.start)

    def _run(self, encs: list[dict[str, Any]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Class probabilities and per-token evidence scores for every encoded pair.

        One pair per call: the int8 model quantizes activations with a scale taken over the
        whole input, padding included, so batching pairs would make a point's verdict depend
        on the other points' lengths (measured: up to 0.07 in P(stated)). Unpadded single
        pairs are also no slower on one thread."""
        probs = np.zeros((len(encs), 3), np.float32)
        ev: list[np.ndarray] = []
        for i, enc in enumerate(encs):
            probs[i], token_ev = self._run_one(enc)
            ev.append(token_ev)
        return probs, ev

    def _run_one(self, enc: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """P(stated, contradicted, not stated) and per-token evidence scores for one pair."""
        feed = {"input_ids": np.array([enc["ids"]], np.int64),
                "attention_mask": np.ones((1, len(enc["ids"])), np.int64),
                "token_type_ids": np.array([enc["types"]], np.int64)}
        logits, evidence = self._session.run(None, feed)
        z = logits[0] - logits[0].max()
        return np.exp(z) / np.exp(z).sum(), 1.0 / (1.0 + np.exp(-evidence[0]))

    # ------------------------------------------------------------------ the Judge protocol
    def classify(self, entry: BankEntry, transcript: str) -> Classification:
        """Classify each rubric point of `entry` for this answer."""
        points = entry.rubric.points
        # An alias that is a whole statement (a rubric's alternative reference answers) is
        # another way to state the point: the point counts as stated by its best phrasing.
        # Short aliases ("Bernoulli") are keywords, not statements, and are not read.
        texts = [(i, self.point_text(p)) for i, p in enumerate(points)]
        texts += [(i, a) for i, p in enumerate(points) for a in p.aliases
                  if len(a.split()) >= _STATEMENT_WORDS]
        scored = self.scores([t for _, t in texts], transcript)
        best: dict[int, PointScore] = {}
        for (i, _), sc in zip(texts, scored, strict=True):
            if i not in best or sc.key() > best[i].key():
                best[i] = sc
        verdicts = [self._verdict(p, best[i], transcript) for i, p in enumerate(points)]
        return Classification(verdicts=verdicts, info=self.info.model_copy(),
                              negation_aware=not self.lexical_denials)

    def point_text(self, point: ExpectedPoint) -> str:
        """The point as this model reads it (with or without its description, per its config)."""
        return point_input(point, with_description=bool(self.config.get("use_descriptions")))

    def _verdict(self, p: ExpectedPoint, s: PointScore, answer: str) -> RawVerdict:
        status = decide(s.probs, self.config["thresholds"])
        evidence = s.evidence(answer) if status != "missing" else None
        return RawVerdict(point_id=p.id, status=status, evidence=evidence,
                          confidence=round(float(s.probs[0]), 4),
                          rationale=f"P(stated)={s.probs[0]:.2f} "
                                    f"P(contradicted)={s.probs[1]:.2f}")


def decide(probs: np.ndarray, thresholds: dict[str, float]) -> RawStatus:
    """The status code decides from the model's probabilities and the fitted thresholds.

    `doubt` (optional, fitted on dev): a point whose P(contradicted) reaches it earns no credit
    even when P(stated) is high: the model's split vote is how a fluent wrong answer looks,
    and praise for a wrong answer teaches the wrong answer. It stays a gap (the follow-up
    asks about it), not a contradiction."""
    stated, contra = float(probs[0]), float(probs[1])
    if contra >= thresholds["contradicted"] and contra > stated:
        return "contradicted"
    if contra >= thresholds.get("doubt", 1.0):
        return "missing"
    if stated >= thresholds["covered"]:
        return "covered"
    if stated >= thresholds["partial"]:
        return "partial"
    return "missing"


@dataclass
class PointScore:
    """One point's best chunk: probabilities and per-token evidence scores."""

    probs: np.ndarray
    chunk: Chunk
    token_scores: np.ndarray
    offsets: list[tuple[int, int]]
    answer_mask: list[int]

    def key(self) -> float:
        return float(max(self.probs[0], self.probs[1]))

    def evidence(self, answer: str) -> str | None:
        """The sentence (or, for a long run-on sentence, the word window) whose answer tokens
        carry the most evidence score: always a verbatim slice of `answer`."""
        tok = [(self.offsets[i], float(self.token_scores[i]))
               for i in range(len(self.offsets)) if self.answer_mask[i]]
        if not tok:
            return None
        best, best_score = None, -1.0
        for s, e in split_sentences(answer[self.chunk.start:self.chunk.end],
                                    max_words=_EVIDENCE_MAX_WORDS):
            s, e = s + self.chunk.start, e + self.chunk.start
            inside = sorted((sc for (a, b), sc in tok if a >= s and b <= e), reverse=True)
            if not inside:
                continue
            score = float(np.mean(inside[:4]))
            if score > best_score:
                best, best_score = (s, e), score
        return answer[best[0]:best[1]].strip() if best else None
