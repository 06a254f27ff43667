"""`interviewer judge` (grade one answer, or many with `--batch`) and `interviewer eval judge`
(measure the judge).

Both import the judge engines inside the command function only, so building the CLI parser
never loads torch or contacts a server.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from interviewer.env import Environment
from interviewer.errors import DataError, ExitStatus, InterviewerError, UsageError
from interviewer.judge import BACKENDS, JUDGE_HELP  # names only: no engine is imported


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `judge` and `eval judge` to the CLI."""
    p = sub.add_parser("judge", help="grade one answer (or many) against a rubric",
                       description="Grade one answer point by point. Reads a JSON object "
                       '{"question", "expected_points", "answer"} from stdin, or use '
                       "--question-id with --answer-file for a banked question. With --batch, "
                       "reads one such object per line (JSON Lines) and writes one JSON result "
                       "per line in the same order; a bad line gives "
                       '{"line": N, "error": "..."} and the run goes on (exit 1 at the end).')
    _backend_args(p)
    p.add_argument("--format", choices=("json", "text"), default="text")
    p.add_argument("--batch", action="store_true",
                   help="JSON Lines in, JSON Lines out (engines loaded once)")
    p.add_argument("--llm-log", metavar="FILE", type=Path,
                   help="append every LLM request and reply to FILE (JSON Lines, 0600)")
    p.add_argument("--question-id", metavar="ID", help="a question id from the bank")
    p.add_argument("--answer-file", metavar="FILE", help="the answer text ('-' for stdin)")
    p.set_defaults(func=run_judge)

    ev = _eval_subparsers(sub)
    e = ev.add_parser("judge", help="measure the judge on a labelled dataset",
                      description="Precision/recall/F1 per point and overall, confusion counts "
                      "and seconds per answer on the project's dev set or SemEval-2013.")
    _backend_args(e)
    e.add_argument("--dataset", required=True, metavar="FILE|semeval",
                   help="a dev-set YAML file, or 'semeval' (2-way, test unseen answers)")
    e.add_argument("--split", choices=("dev", "train", "all"), default="dev",
                   help="dev-set split to report (default: dev, the held-out questions)")
    e.add_argument("--semeval-dir", metavar="DIR", help="SemEval-2013 2-way folder "
                   "(default: ../shared/datasets/semeval2013-2way beside the project)")
    e.add_argument("--limit", type=int, metavar="N", help="judge only the first N answers")
    e.add_argument("--train-limit", type=int, metavar="N",
                   help="SemEval: fit the embedded judge on an even sample of N training answers "
                   "(all 8910 take several minutes)")
    e.add_argument("--format", choices=("json", "table"), default="table")
    e.set_defaults(func=run_eval)


def _eval_subparsers(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    """The `eval` group's subparsers, created here or reused if another module made it."""
    existing = sub.choices.get("eval")
    if existing is not None:
        for action in existing._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action
    ev: argparse.ArgumentParser = sub.add_parser("eval", help="measure a component on labelled "
                                                 "data")
    return ev.add_subparsers(dest="eval_command", metavar="WHAT", parser_class=type(ev))


def _backend_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=BACKENDS, default="auto", help=JUDGE_HELP)
    p.add_argument("--model", metavar="M", help="LLM model: Ollama (default "
                   "qwen2.5:7b-instruct), the OpenAI-compatible server's (default: the one it "
                   "serves) or a GGUF file for llama-cpp/fused")


# ----------------------------------------------------------------------------- judge
def _read_request(args: argparse.Namespace, env: Environment) -> tuple[Any, str]:

    if args.question_id:
        if not args.answer_file:
            raise UsageError("--question-id needs --answer-file")
        entry = env.load_bank().get(args.question_id)
        if args.answer_file == "-":
            return entry, env.stdin.read()
        try:
            return entry, Path(args.answer_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise DataError(f"{args.answer_file}: cannot read answer: {exc.strerror}") from exc
    if args.answer_file:
        raise UsageError("--answer-file needs --question-id (or send JSON on stdin)")
    if env.stdin_isatty:
        raise UsageError('send {"question", "expected_points", "answer"} as JSON on stdin',
                         hint="or use --question-id ID --answer-file FILE")
    return parse_request(env.stdin.read(), "stdin")


class JudgeRequest(BaseModel):
    """One answer to grade: the stdin contract of `interviewer judge` (one line of `--batch`)."""

    model_config = ConfigDict(extra="ignore")

    question: str
    expected_points: list[str]
    answer: str

    @field_validator("question")
    @classmethod
    def _question(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must be a non-empty string")
        return v

    @field_validator("expected_points")
    @classmethod
    def _points(cls, v: list[str]) -> list[str]:
        if not v or not all(x.strip() for x in v):
            raise ValueError("must be a non-empty list of non-empty strings")
        return [x.strip() for x in v]


def parse_request(text: str, where: str) -> tuple[Any, str]:
    """(entry, answer) from one JSON request; DataError naming `where` and the field."""
    from interviewer.judge.dataset import adhoc_entry

    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: invalid JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(raw, dict):
        raise DataError(f"{where}: expected a JSON object")
    try:
        req = JudgeRequest.model_validate(raw, strict=True)
    except ValidationError as exc:
        e = exc.errors()[0]
        field = ".".join(str(x) for x in e["loc"]) or "<object>"
        msg = e["msg"].removeprefix("Value error, ")
        raise DataError(f"{where}: field {field!r}: {msg}") from exc
    return adhoc_entry(req.question, req.expected_points, templated_follow_ups=True), req.answer


def judgement_json(j: Any) -> dict[str, Any]:
    """The stable `interviewer judge --format json` contract (plus feedback and flags)."""
    return {
        "points": [{"point": v.point, "status": v.status, "evidence": v.evidence}
                   for v in j.points],
        "score": j.score,
        "follow_up": j.follow_up,
        "judge": {"backend": j.judge.backend, "model": j.judge.model, "note": j.judge.note},
        "flags": list(j.flags),
        "feedback": {"missed": list(j.missed_feedback), "strengths": list(j.strengths)},
    }


def run_judge(args: argparse.Namespace, env: Environment) -> ExitStatus:
    """Grade one answer (or, with --batch, one per input line) and print the verdicts."""
    if args.batch:
        return run_batch(args, env)
    entry, answer = _read_request(args, env)
    from interviewer.judge.policy import assess

    j = assess(_make_judge(args, env), entry, answer)
    if args.format == "json":
        env.out(json.dumps(judgement_json(j), ensure_ascii=False))
        return ExitStatus.OK
    env.out(f"score {j.score:.2f}  (judge: {j.judge.backend} {j.judge.model})")
    if j.judge.note:
        env.out(f"note: {j.judge.note}")
    if j.flags:
        env.out(f"flags: {', '.join(j.flags)}")
    for v in j.points:
        ev = f'  "{v.evidence}"' if v.evidence else ""
        env.out(f"  [{v.status:8}] {v.point}{ev}")
    for line in j.missed_feedback:
        env.out(f"  - {line}")
    if j.follow_up:
        env.out(f"follow-up: {j.follow_up}")
    return ExitStatus.OK


def _make_judge(args: argparse.Namespace, env: Environment) -> Any:
    """The judge the flags ask for, logging its LLM exchanges to --llm-log when given."""
    from interviewer.judge import make_judge
    from interviewer.judge.llm_log import NULL_SINK, JsonlSink

    return make_judge(args.backend, args.model, models_dir=env.models_dir,
                      log=JsonlSink(args.llm_log) if args.llm_log else NULL_SINK)


def run_batch(args: argparse.Namespace, env: Environment) -> ExitStatus:
    """JSON Lines in, one JSON result per line out, same order; the judge is built once.

    Blank lines are skipped. A bad line (invalid JSON, a missing field, a judge error) yields
    `{"line": N, "error": "..."}` on its output line and the run goes on; exit 1 at the end if
    any line failed.
    """
    if args.question_id or args.answer_file:
        raise UsageError("--batch reads JSON Lines on stdin; drop --question-id/--answer-file")
    if env.stdin_isatty:
        raise UsageError("--batch reads one JSON request per line on stdin")
    from interviewer.judge.policy import assess

    judge = _make_judge(args, env)
    failed = 0
    for n, line in enumerate(env.stdin, 1):
        if not line.strip():
            continue
        try:
            entry, answer = parse_request(line, f"line {n}")
            out = judgement_json(assess(judge, entry, answer))
        except InterviewerError as exc:
            failed += 1
            out = {"line": n, "error": str(exc)}
        env.out(json.dumps(out, ensure_ascii=False))
    if failed:
        env.err(f"{failed} line(s) failed")
    return ExitStatus.ERROR if failed else ExitStatus.OK


# ----------------------------------------------------------------------------- eval judge
def run_eval(args: argparse.Namespace, env: Environment) -> ExitStatus:
    """Evaluate a backend on the dev set (held-out split) or SemEval (unseen answers)."""
    from interviewer.judge import make_judge
    from interviewer.judge.dataset import load_devset, load_semeval
    from interviewer.judge.evaluate import feature_rows, fit_calibration, metrics, run

    judge: Any = make_judge(args.backend, args.model, models_dir=env.models_dir)
    calibration = None
    if args.dataset == "semeval":
        root = Path(args.semeval_dir) if args.semeval_dir else (
            env.project_root.parent / "shared" / "datasets" / "semeval2013-2way")
        items = load_semeval(root, "test")
        if judge.info.backend == "embedded":
            # Thresholds and weights come from SemEval's training answers only.
            train = load_semeval(root, "train")
            if args.train_limit:
                train = train[:: max(1, len(train) // args.train_limit)][: args.train_limit]
            cal = fit_calibration(feature_rows(judge, train), objective="macro_f1",
                                  source=f"SemEval training ({len(train)} answers)")
            judge.calibration = calibration = cal
        name = "semeval2013-2way test-unseen-answers"
    else:
        path = Path(args.dataset)
        if not path.is_file():
            raise UsageError(f"{path}: dataset file not found", hint="or use --dataset semeval")
        items = [it for it in load_devset(path) if args.split == "all" or it.split == args.split]
        name = f"{path.name} split={args.split}"
    if args.limit:
        items = items[: args.limit]
    if not items:
        raise DataError(f"{args.dataset}: no answers to evaluate")
    progress = None
    if env.stderr.isatty():
        def progress(i: int, n: int) -> None:
            if i % 25 == 0 or i == n:
                print(f"\r{i}/{n}", end="" if i < n else "\n", file=env.stderr)
    preds, seconds = run(judge, items, progress)
    m = metrics(preds, seconds)
    report = {"dataset": name, "judge": judge.info.model_dump(), **m}
    if calibration is not None:
        report["calibration"] = dataclasses.asdict(calibration)
    if args.format == "json":
        env.out(json.dumps(report, ensure_ascii=False))
    else:
        env.out(format_table(report))
    return ExitStatus.OK


def format_table(r: dict[str, Any]) -> str:
    """A plain-text report of `metrics` output."""
    lines = [f"dataset: {r['dataset']}",
             f"judge:   {r['judge']['backend']} {r['judge']['model']}",
             f"answers: {r['n_answers']}   points: {r['n_points']}   "
             f"s/answer: {r['seconds_per_answer']}",
             f"credited-vs-missing  P {r['precision']:.3f}  R {r['recall']:.3f}  "
             f"F1 {r['f1']:.3f}  acc {r['accuracy']:.3f}  macro-F1 {r['macro_f1']:.3f}  "
             f"3-way acc {r['exact_accuracy']:.3f}",
             f"tp {r['tp']}  fp {r['fp']}  fn {r['fn']}  tn {r['tn']}",
             "confusion (rows gold, columns predicted):",
             f"  {'':9}{'covered':>9}{'partial':>9}{'missing':>9}"]
    for g, row in r["confusion"].items():
        lines.append(f"  {g:9}" + "".join(f"{row[p]:>9}" for p in ("covered", "partial",
                                                                   "missing")))
    pp = r["per_point"]
    if len(pp) <= 80:
        lines.append(f"  {'point':48}{'P':>7}{'R':>7}{'F1':>7}{'n':>5}")
        for k, v in pp.items():
            lines.append(f"  {k[:48]:48}{v['precision']:>7.2f}{v['recall']:>7.2f}"
                         f"{v['f1']:>7.2f}{v['n']:>5}")
    return "\n".join(lines)

