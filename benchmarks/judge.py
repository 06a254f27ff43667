"""Seconds per answer and F1 per judge backend on the project dev set and SemEval-2013.

    python benchmarks/judge.py [--quick] [--backends embedded,ollama] [--model M]
                               [--json PATH] [--semeval-dir DIR]

Protocol (nothing reported is fitted on what it is reported on):
- Dev set (benchmarks/data/judge_devset.yaml), held-out `dev` questions, through `policy.assess`
  exactly as in a session. The embedded judge uses its shipped calibration, fitted on the `train`
  questions; an LLM backend needs none.
- SemEval-2013 2-way, test unseen answers: the embedded judge's weights and thresholds are refitted
  for macro-F1 on SemEval's training answers only, then the test answers are judged.
- Guard results: credited points on the dev set's negated, wrong, off-topic and injection answers.
- Seconds per answer with the model already loaded (model load time reported separately).
`--quick` judges a sample (every 5th SemEval test answer, every 6th training answer) so it runs in
a few minutes. Writes JSON (default benchmarks/results/judge.json) and prints a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from interviewer.errors import EngineUnavailable  # noqa: E402
from interviewer.judge import make_judge  # noqa: E402
from interviewer.judge.dataset import load_devset, load_semeval  # noqa: E402
from interviewer.judge.evaluate import (  # noqa: E402
    DEVSET_PATH,
    feature_rows,
    fit_calibration,
    metrics,
    run,
)

GUARD_STYLES = ("negated", "wrong", "offtopic", "injection")


def _summary(m: dict[str, Any]) -> dict[str, Any]:
    keys = ("n_answers", "n_points", "precision", "recall", "f1", "accuracy", "macro_f1",
            "exact_accuracy", "tp", "fp", "fn", "tn", "seconds_per_answer", "confusion")
    return {k: m[k] for k in keys}


def bench_backend(name: str, model: str | None, semeval_dir: Path, quick: bool) -> dict[str, Any]:
    """All numbers for one backend (raises EngineUnavailable if it cannot run here)."""
    t0 = time.perf_counter()
    judge: Any = make_judge(name, model)
    if hasattr(judge, "load"):
        judge.load()
    out: dict[str, Any] = {"backend": judge.info.backend, "model": judge.info.model,
                           "load_seconds": round(time.perf_counter() - t0, 2)}
    dev = [it for it in load_devset(DEVSET_PATH) if it.split == "dev"]
    preds, secs = run(judge, dev)
    m = metrics(preds, secs)
    out["devset"] = _summary(m)
    out["devset"]["by_style"] = m["by_style"]
    out["guards"] = {s: m["by_style"].get(s, {}).get("credited") for s in GUARD_STYLES}

    test = load_semeval(semeval_dir, "test")
    if quick:
        test = test[::5]
    if judge.info.backend == "embedded":
        train = load_semeval(semeval_dir, "train")
        if quick:
            train = train[::6]
        t1 = time.perf_counter()
        cal = fit_calibration(feature_rows(judge, train), objective="macro_f1",
                              source=f"SemEval training ({len(train)} answers)")
        judge = dataclasses.replace(judge, calibration=cal)
        out["semeval_calibration"] = dataclasses.asdict(cal)
        out["semeval_fit_seconds"] = round(time.perf_counter() - t1, 1)
    preds, secs = run(judge, test)
    sm = metrics(preds, secs)
    out["semeval"] = _summary(sm)
    for part in ("beetle", "sciEntsBank"):
        sub = [p for p in preds if p.group == part]
        pm = metrics(sub)
        out["semeval"][part] = {"accuracy": pm["accuracy"], "macro_f1": pm["macro_f1"],
                                "n": pm["n_points"]}
    return out


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| backend | dev-set F1 (held-out) | P / R | SemEval acc | SemEval macro-F1 | "
             "s/answer dev | s/answer SemEval | guard credits (neg/wrong/off/inj) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['backend']} | unavailable: {r['error']} | | | | | | |")
            continue
        d, s, g = r["devset"], r["semeval"], r["guards"]
        lines.append(
            f"| {r['backend']} {r['model']} | {d['f1']:.3f} | {d['precision']:.2f} / "
            f"{d['recall']:.2f} | {s['accuracy']:.3f} | {s['macro_f1']:.3f} | "
            f"{d['seconds_per_answer']:.3f} | {s['seconds_per_answer']:.3f} | "
            f"{'/'.join(str(g[k]) for k in GUARD_STYLES)} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="judge samples of SemEval")
    ap.add_argument("--backends", default="embedded,ollama")
    ap.add_argument("--model", help="Ollama model")
    ap.add_argument("--semeval-dir", type=Path,
                    default=ROOT.parent / "shared" / "datasets" / "semeval2013-2way")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "judge.json")
    args = ap.parse_args()
    results: list[dict[str, Any]] = []
    for name in args.backends.split(","):
        try:
            results.append(bench_backend(name.strip(), args.model, args.semeval_dir, args.quick))
        except EngineUnavailable as exc:
            results.append({"backend": name, "error": str(exc)})
        print(table(results[-1:]), file=sys.stderr)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"quick": args.quick, "results": results}, indent=1))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
