"""Measure the LLM judges side by side: embedded, llama-cpp, fused (z-mean, logistic, veto), and
the JSON-prompt judge over HTTP (`openai` backend against a real llama.cpp server with the same
shipped 1.5B GGUF).

    python benchmarks/judge_llm.py [--quick] [--semeval-n N] [--semeval-train-n N]
                                   [--threads N] [--json PATH] [--no-http] [--http-semeval-n N]

Protocol (nothing reported is fitted on what it is reported on):
- Dev set (benchmarks/data/judge_devset.yaml): thresholds of the LLM and the fusion are fitted on
  the `train` questions; everything is reported on the held-out `dev` questions, through
  `policy.assess` exactly as in a session (guards, evidence verification). The embedded judge
  keeps its shipped calibration (itself fitted on the train questions).
- SemEval-2013 2-way, unseen answers: every backend's calibration (the embedded one too) is
  refitted for macro-F1 on a sample of the SemEval training split, then the test split is judged.
- Credited points on the dev split's negated, wrong and injection answers (gold: none or few).
- The HTTP judge (`openai-http`): `python -m llama_cpp.server` is started on a loopback port with
  the shipped GGUF (`--threads` threads); the `openai` backend judges the dev split once (quality,
  follow-up targeting and answers that fell back to the offline judge all come from that pass),
  SemEval only with `--http-semeval-n` (~10 s per answer on 2 cores). It has no thresholds to
  fit: the model states covered/partial/missing itself. Its s/answer is the mean over the dev
  answers that reached the model; the server's peak RSS is read from /proc before it stops.
- Seconds per answer on a few dev answers of different styles (model loaded, nothing cached; the
  quality runs share LLM scores between llama-cpp and the fusions), peak RSS of
  each backend in a fresh process (`--memory-probe`), and follow-up targeting: how often the
  follow-up chosen from a backend's verdicts aims at a point the gold labels say is not covered
  (the cost of choosing the follow-up from the fast embedded pass instead of the LLM).

Writes JSON (default benchmarks/results/judge_llm.json) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from interviewer.env import Environment  # noqa: E402
from interviewer.judge.calibration import Objective  # noqa: E402
from interviewer.judge.dataset import Item, load_devset, load_semeval  # noqa: E402
from interviewer.judge.evaluate import (  # noqa: E402
    DEVSET_PATH,
    SEMEVAL_PATH,
    Prediction,
    feature_rows,
    fit_calibration,
    metrics,
    run,
)
from interviewer.judge.guards import screen  # noqa: E402
from interviewer.judge.policy import assess, rubric_words  # noqa: E402
from interviewer.protocols import Classification, Judge, Judgement  # noqa: E402
from interviewer.runtime import set_engine_threads  # noqa: E402

ADVERSARIAL = ("negated", "wrong", "injection")


# ----------------------------------------------------------------------------- data
def sample(items: list[Item], n: int, seed: int = 13) -> list[Item]:
    """`n` items (0: all), the same number from each SemEval part, reproducibly."""
    if n <= 0 or n >= len(items):
        return items
    groups = sorted({it.group for it in items})
    rng = random.Random(seed)
    out: list[Item] = []
    for k, g in enumerate(groups):
        pool = [it for it in items if it.group == g]
        take = n // len(groups) + (1 if k < n % len(groups) else 0)
        out += rng.sample(pool, min(take, len(pool)))
    return out


def unblocked(items: Sequence[Item]) -> list[Item]:
    """Answers the guards let through (blocked ones never reach a backend)."""
    return [it for it in items
            if not screen(it.answer, it.entry.question.text, rubric_words(it.entry))]


def train_rows(emb: Any, llm: Any, items: Sequence[Item]) -> dict[str, list[Any]]:
    """Per point of every unblocked training answer: embedded prob, LLM P(yes), gold."""
    pe, pl, gold = [], [], []
    for it in unblocked(items):
        scores = emb.score(it.entry, it.answer)
        probs = llm.score(it.entry, it.answer)
        for ps, p in zip(scores, probs, strict=True):
            pe.append(0.0 if ps.denied else emb.calibration.probability(ps.features))
            pl.append(p)
            gold.append(it.gold[ps.point_id])
    return {"pe": pe, "pl": pl, "gold": gold}


# ----------------------------------------------------------------------------- calibration
def calibrate(emb: Any, llm: Any, items: Sequence[Item], objective: Objective,
              source: str) -> dict[str, Any]:
    """LLM thresholds and both fusions, fitted on `items` (training data only)."""
    from interviewer.judge.calibration import best_threshold, covered_threshold, fit_fusion
    from interviewer.judge.llama_cpp_backend import LlamaCalibration

    rows = train_rows(emb, llm, items)
    pl = np.array(rows["pl"])
    y = np.array([g != "missing" for g in rows["gold"]])
    t_p = best_threshold(pl, y, objective)
    t_c = covered_threshold(pl, rows["gold"], t_p)
    return {
        "llama": LlamaCalibration(round(t_p, 4), round(t_c, 4), source),
        "zmean": fit_fusion(rows["pe"], rows["pl"], rows["gold"], "zmean", source, objective),
        "logistic": fit_fusion(rows["pe"], rows["pl"], rows["gold"], "logistic", source,
                               objective),
        "veto": fit_fusion(rows["pe"], rows["pl"], rows["gold"], "veto", source, objective),
        "n_rows": len(rows["gold"]),
    }


# ----------------------------------------------------------------------------- evaluation
def follow_up_targeting(judge: Judge, items: Sequence[Item],
                        judgements: Sequence[Judgement] | None = None) -> dict[str, float]:
    """Share of answers whose follow-up aims at a point gold says is not covered (from
    `judgements` of `items` when given, else judging them again)."""
    aimed = untargeted = 0
    for k, it in enumerate(items):
        j = judgements[k] if judgements is not None else assess(judge, it.entry, it.answer)
        fid = j.follow_up_id or ""
        if fid.startswith(("point:", "probe:")):
            targets = [fid.split(":", 1)[1]]
        else:
            targets = [t for f in it.entry.rubric.follow_ups if f.id == fid for t in f.targets]
        if not targets:
            untargeted += 1
        elif any(it.gold.get(t) != "covered" for t in targets):
            aimed += 1
    n = max(1, len(items))
    return {"aimed_at_gap": round(aimed / n, 3), "untargeted": round(untargeted / n, 3)}


def evaluate(judge: Judge, items: Sequence[Item]) -> dict[str, Any]:
    preds, secs = run(judge, items)
    m = metrics(preds, secs)
    keep = ("n_points", "n_answers", "precision", "recall", "f1", "accuracy", "macro_f1",
            "exact_accuracy", "seconds_per_answer", "tp", "fp", "fn", "tn")
    out = {k: m[k] for k in keep}
    out["adversarial"] = {s: m["by_style"].get(s, {}) for s in ADVERSARIAL}
    out["adversarial_credited"] = sum(m["by_style"].get(s, {}).get("credited", 0)
                                      for s in ADVERSARIAL)
    out["adversarial_points"] = sum(m["by_style"].get(s, {}).get("points", 0)
                                    for s in ADVERSARIAL)
    return out


def load_cache(llm: Any, path: Path) -> None:
    """Preload LLM P(yes) values computed by an earlier run (keys include the prompt version)."""
    if path.is_file():
        for k, v in json.loads(path.read_text(encoding="utf-8")).items():
            llm._memo[tuple(k.split("\x1f"))] = v


def save_cache(llm: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"\x1f".join(k): v for k, v in llm._memo.items()}
    path.write_text(json.dumps(data), encoding="utf-8")


def timing_items(items: Sequence[Item], n: int) -> list[Item]:
    """`n` answers, one per style where possible, each from a different question if possible."""
    out: list[Item] = []
    groups = sorted({it.group for it in items})
    for k, style in enumerate(sorted({it.style for it in items})):
        pool = [it for it in items if it.style == style]
        pref = [it for it in pool if it.group == groups[k % len(groups)]]
        out.append((pref or pool)[0])
    return out[:n]


def peak_rss_mb(backend: str, threads: int) -> float | None:
    """Peak RSS of a fresh process that loads `backend` and judges one dev answer."""
    cmd = [sys.executable, __file__, "--memory-probe", backend, "--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    try:
        return float(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        print(f"memory probe {backend} failed: {proc.stderr.strip()[-500:]}", file=sys.stderr)
        return None


def memory_probe(backend: str, threads: int) -> None:
    judge = build(backend, threads)[backend]
    for it in [it for it in load_devset(DEVSET_PATH) if it.split == "dev"][:1]:
        assess(judge, it.entry, it.answer)
    with open("/proc/self/status", encoding="ascii") as f:
        hwm = next(line for line in f if line.startswith("VmHWM"))
    print(round(int(hwm.split()[1]) / 1024, 1))


def build(which: str, threads: int) -> dict[str, Any]:
    from interviewer.judge.embedded import EmbeddedJudge
    from interviewer.judge.fused import FusedJudge
    from interviewer.judge.llama_cpp_backend import LlamaCppJudge

    out: dict[str, Any] = {}
    set_engine_threads(threads)  # torch's pool (the embedded judge) is process-wide
    emb = EmbeddedJudge()
    if which in ("embedded", "fused", "all"):
        emb.load()
        out["embedded"] = emb
    if which in ("llama-cpp", "fused", "all"):
        llm = LlamaCppJudge(Environment().models_dir, threads=threads, memo_size=100_000)
        llm.load()
        out["llama-cpp"] = llm
    if which in ("fused", "all"):
        out["fused"] = FusedJudge(emb, out["llama-cpp"])
    return out


# ----------------------------------------------------------------------------- over HTTP
class _Counting:
    """Wraps a judge; counts the answers that another judge (a fallback) classified."""

    def __init__(self, judge: Any) -> None:
        self.judge, self.info, self.fallbacks = judge, judge.info, 0

    def classify(self, entry: Any, transcript: str) -> Classification:
        out: Classification = self.judge.classify(entry, transcript)
        self.fallbacks += out.info.backend != self.info.backend
        return out


def judge_once(judge: Judge, items: Sequence[Item],
               ) -> tuple[list[Prediction], list[float], list[Judgement]]:
    """Every item through the policy once: predictions, seconds and the judgements."""
    preds: list[Prediction] = []
    secs: list[float] = []
    out: list[Judgement] = []
    for it in items:
        t0 = time.perf_counter()
        j = assess(judge, it.entry, it.answer)
        secs.append(time.perf_counter() - t0)
        out.append(j)
        preds += [Prediction(it.item_id, v.point_id, it.gold[v.point_id], v.status, it.group,
                             it.style) for v in j.points]
    return preds, secs, out


def summarise(preds: list[Prediction], secs: list[float]) -> dict[str, Any]:
    """The same numbers `evaluate` reports, from predictions already made."""
    m = metrics(preds, secs)
    keep = ("n_points", "n_answers", "precision", "recall", "f1", "accuracy", "macro_f1",
            "exact_accuracy", "seconds_per_answer", "tp", "fp", "fn", "tn")
    out = {k: m[k] for k in keep}
    out["adversarial"] = {s: m["by_style"].get(s, {}) for s in ADVERSARIAL}
    return out


def peak_rss_of(pid: int) -> float | None:
    """VmHWM of a running process in MB (None if it cannot be read)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            hwm = next(line for line in f if line.startswith("VmHWM"))
    except (OSError, StopIteration):
        return None
    return round(int(hwm.split()[1]) / 1024, 1)


def http_judge(emb: Any, dev: Sequence[Item], sem_test: Sequence[Item],
               threads: int) -> dict[str, Any]:
    """The `openai` backend against a real llama.cpp server with the shipped GGUF."""
    import tempfile

    from interviewer.judge.llama_model import model_path
    from interviewer.judge.llm_log import MemorySink
    from interviewer.judge.llm_server import llama_server
    from interviewer.judge.openai_backend import OpenAIJudge

    log = Path(tempfile.mkdtemp(prefix="judge-http-")) / "server.log"
    with llama_server(model_path(Environment().models_dir), log, threads=threads) as server:
        sink = MemorySink()
        judge = _Counting(OpenAIJudge(server.model, url=server.url, fallback=emb, log=sink))
        preds, secs, judgements = judge_once(judge, dev)
        r: dict[str, Any] = {"dev": summarise(preds, secs),
                             "follow_up": follow_up_targeting(judge, dev, judgements),
                             "fallbacks_dev": judge.fallbacks}
        # Every dev answer that reached the model is a timed, uncached judgement (the server
        # keeps only the previous prompt's KV cache: the shared system prompt is reused).
        asked = [t for t, it in zip(secs, dev, strict=True) if unblocked([it])]
        r["seconds_per_answer"] = round(float(np.mean(asked or [0.0])), 2)
        r["seconds_max"] = round(float(np.max(asked or [0.0])), 2)
        r["n_timed"] = len(asked)
        if sem_test:
            preds, secs, _ = judge_once(judge, sem_test)
            r["semeval"] = summarise(preds, secs)
        r["peak_rss_mb"] = peak_rss_of(server.pid)
        r["exchanges"] = len(sink.records())
        r["invalid_replies"] = sum(bool(x.error) for x in sink.records())
    return r


def http_only(a: argparse.Namespace, dev: list[Item], sem_test: list[Item]) -> int:
    """`--http-only`: the embedded judge (also the HTTP judge's fallback) and the HTTP judge."""
    from interviewer.judge.embedded import EmbeddedJudge

    set_engine_threads(a.threads)  # torch's pool (the embedded judge) is process-wide
    emb = EmbeddedJudge()
    emb.load()
    results: dict[str, Any] = {"threads": a.threads, "quick": a.quick, "http_only": True,
                               "loadavg": os.getloadavg(), "n_dev": len(dev), "backends": {}}
    preds, secs, js = judge_once(emb, dev)
    results["backends"]["embedded"] = {"dev": summarise(preds, secs),
                                       "follow_up": follow_up_targeting(emb, dev, js),
                                       "seconds_per_answer": round(float(np.mean(secs)), 2)}
    print("dev: openai-http (llama.cpp server) …", file=sys.stderr, flush=True)
    sem = sample(sem_test, a.http_semeval_n) if a.http_semeval_n else []
    results["backends"]["openai-http"] = http_judge(emb, dev, sem, a.threads)
    return finish(results, a)


# ----------------------------------------------------------------------------- report
def table(results: dict[str, Any]) -> str:
    rows = ["| judge | dev F1 (P / R) | credited on negated / wrong / injected | SemEval unseen "
            "macro-F1 (acc) | s per answer | peak RSS MB | follow-up aimed at a gap |",
            "|---|---|---|---|---|---|---|"]
    for name, r in results["backends"].items():
        d, s = r["dev"], r.get("semeval") or {}
        adv = " / ".join(f"{d['adversarial'][k].get('credited', 0)}"
                         f"/{d['adversarial'][k].get('points', 0)}" for k in ADVERSARIAL)
        sem = f"{s['macro_f1']:.3f} ({s['accuracy']:.3f})" if s else "-"
        rss = f"{r['peak_rss_mb']:.0f}" if r.get("peak_rss_mb") else "-"
        rows.append(f"| {name} | {d['f1']:.3f} ({d['precision']:.2f} / {d['recall']:.2f}) | "
                    f"{adv} | {sem} | {r['seconds_per_answer']:.2f} | {rss} | "
                    f"{r['follow_up']['aimed_at_gap']:.2f} |")
    return "\n".join(rows)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a few answers only (smoke run)")
    ap.add_argument("--semeval-n", type=int, default=200, help="test answers (0: all 979)")
    ap.add_argument("--semeval-train-n", type=int, default=120)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" /
                    "judge_llm.json")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-RSS probes")
    ap.add_argument("--timing-n", type=int, default=6, help="answers timed per backend")
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks" / "results" /
                    "judge_llm_cache.json", help="LLM P(yes) values kept between runs")
    ap.add_argument("--no-http", action="store_true",
                    help="skip the JSON-prompt judge over HTTP (llama.cpp server)")
    ap.add_argument("--http-only", action="store_true",
                    help="only the embedded judge and the HTTP judge (no in-process LLM)")
    ap.add_argument("--http-semeval-n", type=int, default=0,
                    help="SemEval test answers for the HTTP judge (default 0: skipped)")
    ap.add_argument("--memory-probe", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


Splits = tuple[list[Item], list[Item], list[Item], list[Item]]


def load_items(a: argparse.Namespace) -> Splits:
    """(dev train, dev held-out, SemEval train sample, SemEval test sample); `--quick` trims."""
    dev_all = load_devset(DEVSET_PATH)
    train = [it for it in dev_all if it.split == "train"]
    dev = [it for it in dev_all if it.split == "dev"]
    sem_train = sample(load_semeval(SEMEVAL_PATH, "train"), a.semeval_train_n)
    sem_test = sample(load_semeval(SEMEVAL_PATH, "test"), a.semeval_n)
    if a.quick:  # a smoke run: a few answers of each kind, no memory probes
        train, dev = train[:3], [it for it in dev if it.group == dev[0].group][:4]
        sem_train, sem_test = sample(sem_train, 4), sample(sem_test, 4)
        a.no_memory, a.timing_n = True, 1
    return train, dev, sem_train, sem_test


def fitted_variants(a: argparse.Namespace, splits: Splits,
                    ) -> tuple[dict[str, Judge], dict[str, Judge], dict[str, Any]]:
    """Load the offline judges once, fit every calibration on training data only, and return
    (dev variants, SemEval variants, run facts)."""
    from interviewer.judge.fused import FusedJudge

    train, _, sem_train, _ = splits
    t0 = time.perf_counter()
    judges = build("all", a.threads)
    emb, llm = judges["embedded"], judges["llama-cpp"]
    load_s = time.perf_counter() - t0
    load_cache(llm, a.cache)
    print(f"loaded in {load_s:.1f} s; calibrating on {len(train)} dev-train answers and "
          f"{len(sem_train)} SemEval-train answers …", file=sys.stderr)
    cal_dev = calibrate(emb, llm, train, "f1", "judge_devset.yaml train split")
    save_cache(llm, a.cache)
    emb_sem = dataclasses.replace(emb, calibration=fit_calibration(
        feature_rows(emb, sem_train), objective="macro_f1", source="SemEval train sample"))
    cal_sem = calibrate(emb_sem, llm, sem_train, "macro_f1", "SemEval train sample")
    save_cache(llm, a.cache)

    def variants(e: Any, cal: dict[str, Any]) -> dict[str, Judge]:
        lj = dataclasses.replace(llm, calibration=cal["llama"])
        return {"embedded": e, "llama-cpp": lj,
                "fused-zmean": FusedJudge(e, lj, cal["zmean"]),
                "fused-logistic": FusedJudge(e, lj, cal["logistic"]),
                "fused-veto": FusedJudge(e, lj, cal["veto"])}

    facts = {"load_seconds": round(load_s, 1), "llm": llm, "embedded": emb,
             "calibration": {k: {m: repr(c) for m, c in v.items()}
                             for k, v in (("dev", cal_dev), ("semeval", cal_sem))}}
    return variants(emb, cal_dev), variants(emb_sem, cal_sem), facts


def measure_offline(a: argparse.Namespace, splits: Splits, dev_judges: dict[str, Judge],
                    sem_judges: dict[str, Judge], llm: Any) -> dict[str, Any]:
    """Quality on dev and SemEval, follow-up targeting and uncached speed of every variant."""
    _, dev, _, sem_test = splits
    timing = timing_items(dev, a.timing_n)
    out: dict[str, Any] = {}
    for name, judge in dev_judges.items():
        print(f"dev: {name} …", file=sys.stderr, flush=True)
        # Quality: LLM P(yes) values are computed once and shared by llama-cpp and the fusions.
        r: dict[str, Any] = {"dev": evaluate(judge, dev),
                             "follow_up": follow_up_targeting(judge, dev)}
        print(f"semeval: {name} …", file=sys.stderr, flush=True)
        r["semeval"] = evaluate(sem_judges[name], sem_test)
        save_cache(llm, a.cache)
        # Speed: a fixed subset judged with nothing cached (a smoke run only checks it runs,
        # once: CI keeps --quick short).
        kept = dict(llm._memo)
        llm._memo.clear()
        secs = run(judge, timing)[1] if not a.quick or name == "llama-cpp" else [0.0]
        llm._memo.update(kept)
        r["seconds_per_answer"] = round(float(np.mean(secs)), 2)
        r["seconds_max"] = round(float(np.max(secs)), 2)
        out[name] = r
    if not a.no_memory:
        for name in out:
            backend = "fused" if name.startswith("fused") else name
            out[name]["peak_rss_mb"] = peak_rss_mb(backend, a.threads)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    a = parse_args(argv)
    if a.memory_probe:
        memory_probe(a.memory_probe, a.threads)
        return 0
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    splits = load_items(a)
    _, dev, sem_train, sem_test = splits
    if a.http_only:
        return http_only(a, dev, sem_test)
    results: dict[str, Any] = {
        "threads": a.threads, "quick": a.quick, "loadavg": os.getloadavg(), "n_dev": len(dev),
        "n_semeval_test": len(sem_test), "n_semeval_train": len(sem_train),
        "n_timed": len(timing_items(dev, a.timing_n))}
    dev_judges, sem_judges, facts = fitted_variants(a, splits)
    results["load_seconds"], results["calibration"] = facts["load_seconds"], facts["calibration"]
    results["backends"] = measure_offline(a, splits, dev_judges, sem_judges, facts["llm"])
    if not a.no_http:
        print("dev: openai-http (llama.cpp server) …", file=sys.stderr, flush=True)
        results["backends"]["openai-http"] = http_judge(
            facts["embedded"], dev[:1] if a.quick else dev,
            sample(sem_test, a.http_semeval_n) if a.http_semeval_n else [], a.threads)
    return finish(results, a)

def finish(results: dict[str, Any], a: argparse.Namespace) -> int:
    """Record the closing load, write the JSON, print the table (every mode ends here)."""
    results["loadavg_end"] = os.getloadavg()
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    print(table(results))
    print(f"\nJSON: {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
