"""The offline judges side by side: quality on questions they never saw, speed, memory.

    python benchmarks/judge.py [--quick] [--backends verifier,embedded] [--split test]
                               [--json PATH] [--semeval-dir DIR]

Protocol (nothing reported is fitted or chosen on what it is reported on):
- Authored corpus (`training/data`), split by *question*: the verifier trained on `train`
  questions, its thresholds were chosen on `dev` questions; the figures below are on `--split`
  (default `test`: questions used for nothing else). Twice: with the bank's rubrics (points with
  descriptions) and with points only (as someone else's rubric would be). Through `policy.assess`
  exactly as in a session (guards included).
- Zero-credit answers: the share of point judgements credited on answers whose points deserve no
  credit by style (denied, wrong, swapped, injection, off-topic, vague), and the share of answers
  whose gold is all-missing that earned any credit.
- The team's own dev set (benchmarks/data/judge_devset.yaml), its held-out `dev` questions.
- SemEval-2013 2-way, test unseen answers (the verifier was trained on SemEval's training
  answers; the embedded judge is refitted on them, as before); macro-F1 with SemEval's own
  definition (`correct` = complete: a partial verdict is `incorrect`), and with partial counted
  as correct beside it.
- Seconds per answer on one thread for 60 s answers (the corpus's strong/rambling answers of
  150+ words), median and p90; peak RSS of a fresh process that only loads the backend and judges.
- `--ablation` (dev split only): the verifier with and without the hand-written denial rules.
The embedded judge (the previous default, sentence-embedding similarity) is the baseline measured
in the same run. `--quick` judges samples so CI can run it in a minute or two.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from interviewer.bank.loader import load_bank  # noqa: E402
from interviewer.judge import make_judge  # noqa: E402
from interviewer.judge.dataset import Item, load_corpus, load_devset, load_semeval  # noqa: E402
from interviewer.judge.evaluate import DEVSET_PATH, metrics, run  # noqa: E402
from interviewer.protocols import Judge  # noqa: E402

ZERO_STYLES = ("denied", "wrong", "swapped", "injection", "offtopic", "vague")
RSS_SCRIPT = """
import resource, sys, time
from interviewer.judge import make_judge
from interviewer.judge.dataset import adhoc_entry
from interviewer.judge.policy import assess
j = make_judge(sys.argv[1])
e = adhoc_entry("What does dropout do?", ["It zeroes random activations during training",
                "It acts as a regulariser", "It is turned off at inference"])
assess(j, e, "Dropout randomly zeroes activations while training, which regularises the net.")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, "torch" in sys.modules)
"""


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


def quality(judge: Judge, items: list[Item]) -> dict[str, Any]:
    """F1 and zero-credit shares for one set of items."""
    preds, secs = run(judge, items)
    m = metrics(preds, secs)
    zero = [p for p in preds if p.style in ZERO_STYLES and p.gold == "missing"]
    credited_answers: dict[str, bool] = {}
    for p in preds:
        credited_answers[p.item_id] = credited_answers.get(p.item_id, False) or p.pred != "missing"
    nothing_due = {it.item_id for it in items if all(g == "missing" for g in it.gold.values())}
    return {
        "answers": m["n_answers"], "points": m["n_points"], "f1": m["f1"],
        "precision": m["precision"], "recall": m["recall"], "macro_f1": m["macro_f1"],
        "zero_style_points": len(zero),
        "zero_style_credited": sum(p.pred != "missing" for p in zero),
        "zero_style_credited_share": round(sum(p.pred != "missing" for p in zero)
                                           / max(1, len(zero)), 4),
        "by_style": {s: m["by_style"].get(s) for s in sorted(m["by_style"])},
        "nothing_due_answers": len(nothing_due),
        "nothing_due_credited": sum(credited_answers.get(i, False) for i in nothing_due),
        "seconds_per_answer": m["seconds_per_answer"],
    }


def speed(judge: Judge, items: list[Item]) -> dict[str, Any]:
    """Seconds per 60 s answer (150+ words), model already loaded, one thread."""
    from interviewer.judge.policy import assess

    long = [it for it in items if len(it.answer.split()) >= 150][:40]
    assess(judge, long[0].entry, long[0].answer)  # warm
    secs = []
    for it in long:
        t0 = time.perf_counter()
        assess(judge, it.entry, it.answer)
        secs.append(time.perf_counter() - t0)
    return {"answers": len(secs), "words_median": statistics.median(
        len(it.answer.split()) for it in long), "p50_s": round(_pct(secs, 0.5), 4),
        "p90_s": round(_pct(secs, 0.9), 4)}


def peak_rss(backend: str) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", RSS_SCRIPT, backend], capture_output=True,
                         text=True, cwd=ROOT, env=env, timeout=600)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1:]}
    mb, torch_loaded = out.stdout.split()
    return {"peak_rss_mb": int(mb), "imports_torch": torch_loaded == "True"}


def bench(name: str, args: argparse.Namespace, bank: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    judge = make_judge(name)
    out: dict[str, Any] = {"backend": judge.info.backend, "model": judge.info.model}
    corpus = load_corpus(bank, args.split)
    bare = load_corpus(bank, args.split, points_only=True)
    if args.quick:
        corpus, bare = corpus[::8], bare[::8]
    out["corpus"] = quality(judge, corpus)
    out["load_plus_corpus_s"] = round(time.perf_counter() - t0, 1)
    out["corpus_points_only"] = quality(judge, bare)
    dev = [it for it in load_devset(DEVSET_PATH) if it.split == "dev"]
    out["team_devset"] = quality(judge, dev[::3] if args.quick else dev)
    out["speed_60s"] = speed(judge, corpus if not args.quick else load_corpus(bank, args.split))
    if not args.quick:
        out["semeval"] = semeval(judge, args.semeval_dir)
        out["memory"] = peak_rss(name)
    return out


def semeval(judge: Judge, root: Path) -> dict[str, Any]:
    """SemEval-2013 2-way unseen answers. Its `correct` means a complete and correct answer
    (a partially correct one is `incorrect`), so a `partial` verdict counts as incorrect; the
    figure with partial counted as credit is reported beside it."""
    preds, secs = run(judge, load_semeval(root, "test"))
    strict = [dataclasses.replace(p, pred="missing" if p.pred == "partial" else p.pred)
              for p in preds]
    m, loose = metrics(strict, secs), metrics(preds)
    out = {"answers": m["n_answers"], "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
           "macro_f1_partial_as_correct": loose["macro_f1"]}
    for part in ("beetle", "sciEntsBank"):
        pm = metrics([p for p in strict if p.group == part])
        out[part] = {"accuracy": pm["accuracy"], "macro_f1": pm["macro_f1"]}
    return out


def ablation(bank: Any) -> dict[str, Any]:
    """The verifier with and without the lexical denial rules, on the dev questions."""
    from interviewer.judge.verifier import VerifierJudge

    dev = load_corpus(bank, "dev")
    return {"dev_questions": {
        "model_only": quality(VerifierJudge(), dev),
        "with_denial_rules": quality(VerifierJudge(lexical_denials=True), dev)}}


def table(results: list[dict[str, Any]], split: str) -> str:
    lines = [f"| judge | F1 {split} (P / R) | points only F1 | zero-credit styles credited | "
             "answers due nothing credited | team dev F1 | SemEval macro-F1 | "
             "s / 60 s answer p50 (p90) | peak RSS |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        c, b, d = r["corpus"], r["corpus_points_only"], r["team_devset"]
        sem = r.get("semeval", {}).get("macro_f1", "–")
        mem = r.get("memory", {}).get("peak_rss_mb", "–")
        sp = r["speed_60s"]
        lines.append(
            f"| {r['backend']} | {c['f1']:.3f} ({c['precision']:.2f} / {c['recall']:.2f}) | "
            f"{b['f1']:.3f} | {c['zero_style_credited']}/{c['zero_style_points']} "
            f"({100 * c['zero_style_credited_share']:.1f} %); points only "
            f"{100 * b['zero_style_credited_share']:.1f} % | "
            f"{c['nothing_due_credited']}/{c['nothing_due_answers']} | {d['f1']:.3f} | {sem} | "
            f"{sp['p50_s']:.3f} ({sp['p90_s']:.3f}) | {mem} MB |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="judge samples (CI smoke run)")
    ap.add_argument("--backends", default="verifier,embedded")
    ap.add_argument("--split", default="test", choices=("dev", "test"))
    ap.add_argument("--ablation", action="store_true")
    ap.add_argument("--semeval-dir", type=Path,
                    default=ROOT.parent / "shared" / "datasets" / "semeval2013-2way")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "judge.json")
    args = ap.parse_args()
    bank = load_bank(ROOT / "question_bank", ROOT / "rubrics")
    results = [bench(n.strip(), args, bank) for n in args.backends.split(",")]
    report: dict[str, Any] = {"quick": args.quick, "split": args.split, "results": results,
                              "load_average": os.getloadavg()}
    if args.ablation:
        report["ablation"] = ablation(bank)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1))
    print(table(results, args.split))
    if args.ablation:
        a = report["ablation"]["dev_questions"]
        print({k: (v["f1"], v["zero_style_credited_share"]) for k, v in a.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
