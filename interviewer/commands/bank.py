"""`interviewer bank list|show|check|schema|stats|import`: the question bank tooling.

Never imports engines: `bank` commands start in well under a second.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from interviewer.env import Environment
from interviewer.errors import ExitStatus, UsageError
from interviewer.fsutil import ensure_private_dir, write_private


def register(sub: Any) -> None:
    p = sub.add_parser("bank", help="list, show, check and import bank questions")
    bsub = p.add_subparsers(dest="bank_command", metavar="ACTION", required=True)

    ls = bsub.add_parser("list", help="list questions")
    ls.add_argument("--topic", help="only this topic")
    ls.add_argument("--format", choices=["table", "json"], default="table")
    ls.set_defaults(func=cmd_list)

    show = bsub.add_parser("show", help="show one question with its rubric")
    show.add_argument("id")
    show.add_argument("--format", choices=["text", "json", "yaml"], default="text")
    show.set_defaults(func=cmd_show)

    check = bsub.add_parser("check", help="validate every bank and rubric file")
    check.add_argument("--format", choices=["text", "json"], default="text")
    check.set_defaults(func=cmd_check)

    schema = bsub.add_parser("schema", help="print the JSON Schema of bank/rubric files")
    schema.add_argument("which", nargs="?", choices=["questions", "rubrics", "both"],
                        default="both")
    schema.set_defaults(func=cmd_schema)

    stats = bsub.add_parser("stats", help="counts per topic, source document and difficulty")
    stats.add_argument("--format", choices=["table", "json"], default="table")
    stats.set_defaults(func=cmd_stats)

    imp = bsub.add_parser("import", help="draft bank files from your own question document")
    imp.add_argument("files", nargs="+", type=Path)
    imp.add_argument("--out", type=Path, default=Path("drafts"),
                     help="folder for the drafts (question_bank/ and rubrics/ inside)")
    imp.add_argument("--topic", default="imported", help="topic when the document has none")
    imp.add_argument("--force", action="store_true",
                     help="overwrite drafts an earlier import wrote (refused otherwise)")
    imp.set_defaults(func=cmd_import)


def cmd_list(args: argparse.Namespace, env: Environment) -> ExitStatus:
    bank = env.load_bank()
    entries = [e for e in bank if not args.topic or e.question.topic == args.topic]
    if args.topic and not entries:
        raise UsageError(f"no questions with topic {args.topic!r}",
                         hint=f"topics: {', '.join(bank.topics())}")
    if args.format == "json":
        env.out(json.dumps([e.listing() for e in entries], indent=2, ensure_ascii=False))
        return ExitStatus.OK
    width = max((len(e.id) for e in entries), default=10)
    for e in entries:
        q = e.question
        text = q.text if len(q.text) <= 90 else q.text[:87] + "..."
        env.out(f"{e.id:<{width}}  {q.topic:<22} {q.difficulty.value:<6}  {text}")
    env.err(f"{len(entries)} question(s)")
    return ExitStatus.OK


def cmd_show(args: argparse.Namespace, env: Environment) -> ExitStatus:
    e = env.load_bank().get(args.id)
    data = {"question": e.question.model_dump(mode="json"),
            "rubric": e.rubric.model_dump(mode="json", exclude_defaults=True)}
    if args.format == "json":
        env.out(json.dumps(data, indent=2, ensure_ascii=False))
    elif args.format == "yaml":
        env.out(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))
    else:
        q, r = e.question, e.rubric
        env.out(f"{q.id}  [{q.topic}, {q.difficulty.value}, {q.kind.value}]")
        env.out(f"Q: {q.text}")
        env.out(f"sources: {', '.join(q.sources)}")
        env.out("expected points:")
        for p in r.points:
            env.out(f"  - ({p.weight:g}) {p.text}" + (f"  [aka {', '.join(p.aliases)}]"
                                                       if p.aliases else ""))
        env.out("follow-ups:")
        for f in r.all_follow_ups():
            env.out(f"  - {f}")
        if r.red_flags:
            env.out("red flags:")
            for f in r.red_flags:
                env.out(f"  - {f}")
        env.out(f"reference answer:\n  {q.reference_answer}")
    return ExitStatus.OK


def cmd_check(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from interviewer.bank.check import check_bank
    from interviewer.bank.loader import load_bank

    bank = load_bank(env.questions_dir, env.rubrics_dir, strict=False)
    findings = check_bank(bank)
    if args.format == "json":
        env.out(json.dumps({"entries": len(bank), "problems": findings}, indent=2))
    else:
        for f in findings:
            env.out(f)
        status = f"{len(findings)} problem(s)" if findings else "ok"
        env.err(f"bank check: {len(bank)} entries, {status}")
    return ExitStatus.ERROR if findings else ExitStatus.OK


def cmd_schema(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from interviewer.bank.models import QuestionFile, RubricFile

    schemas = {"questions": QuestionFile.model_json_schema(),
               "rubrics": RubricFile.model_json_schema()}
    out = schemas if args.which == "both" else schemas[args.which]
    env.out(json.dumps(out, indent=2))
    return ExitStatus.OK


def cmd_stats(args: argparse.Namespace, env: Environment) -> ExitStatus:
    bank = env.load_bank()
    topic = Counter(e.question.topic for e in bank)
    diff = Counter(e.question.difficulty.value for e in bank)
    kind = Counter(e.question.kind.value for e in bank)
    docs = Counter(s.split("#")[0] for e in bank for s in e.question.sources)
    stats = {"entries": len(bank), "topic": dict(sorted(topic.items())),
             "source_document": dict(sorted(docs.items())), "difficulty": dict(diff),
             "kind": dict(kind), "points": sum(len(e.rubric.points) for e in bank)}
    if args.format == "json":
        env.out(json.dumps(stats, indent=2))
        return ExitStatus.OK
    env.out(f"{len(bank)} questions, {stats['points']} expected points")
    for name in ("topic", "source_document", "difficulty", "kind"):
        env.out(f"\n{name}:")
        for k, v in stats[name].items():  # type: ignore[attr-defined]
            env.out(f"  {k:<32} {v:>4}")
    return ExitStatus.OK


def cmd_import(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from interviewer.bank.importer import parse_document, to_bank_files

    drafts = []
    for f in args.files:
        drafts.extend(parse_document(f, args.topic))
    files = to_bank_files(drafts)
    outputs = {args.out / sub / topic / "imported.yaml": data
               for topic, (qf, rf) in files.items()
               for sub, data in (("question_bank", qf), ("rubrics", rf))}
    existing = [p for p in outputs if p.exists()]
    if existing and not args.force:  # checked before writing anything: all or nothing
        raise UsageError(f"{existing[0]} exists (an earlier import?); not overwritten"
                         + (f" (+{len(existing) - 1} more)" if len(existing) > 1 else ""),
                         hint="choose another --out, or --force to overwrite")
    for path, data in outputs.items():
        ensure_private_dir(path.parent)
        write_private(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True,
                                           width=100))
    short = sum(1 for d in drafts if len(d.points) < 3)
    env.out(f"drafted {len(drafts)} question(s) in {len(files)} topic(s) under {args.out}/")
    if short:
        env.out(f"{short} draft(s) have fewer than 3 points: write them before moving the "
                "files into the bank (then run `interviewer bank check`).")
    return ExitStatus.OK
