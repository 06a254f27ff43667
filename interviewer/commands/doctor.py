"""`interviewer doctor`: is this machine ready for a spoken session?

The report is a list of checks grouped in sections. Each section lives next to the engine it
checks, in a module exposing `checks(env) -> list[CheckResult]`, listed in `SECTIONS`; a module
not present yet is skipped, so a section is added by writing that module (and one line here).
Exit status is non-zero when any *required* check fails.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
from dataclasses import asdict, dataclass
from typing import Any

from interviewer.env import Environment
from interviewer.errors import ExitStatus, UsageError

#: (section name, module with `checks(env)`), in report order.
SECTIONS: list[tuple[str, str]] = [
    ("audio", "interviewer.audio.checks"),
    ("asr", "interviewer.asr.checks"),
    ("judge", "interviewer.judge.checks"),
]


@dataclass
class CheckResult:
    """One line of the doctor's report.

    `ok` is True (passed), False (failed) or None (not applicable / skipped). A failed check with
    `required=False` is a warning and does not change the exit status.
    """

    name: str
    ok: bool | None
    detail: str
    hint: str | None = None
    required: bool = True
    section: str = ""

    @property
    def label(self) -> str:
        if self.ok is None:
            return "skip"
        if self.ok:
            return "ok"
        return "FAIL" if self.required else "warn"


def register(sub: Any) -> None:
    p = sub.add_parser("doctor", help="check audio devices, speech engines and models")
    p.add_argument("--section", action="append", metavar="NAME",
                   help=f"only these sections ({', '.join(n for n, _ in SECTIONS)})")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_doctor)


def run_checks(env: Environment, only: list[str] | None = None) -> list[CheckResult]:
    """Run every available section (or `only` these) and return all results."""
    known = [name for name, _ in SECTIONS]
    for name in only or []:
        if name not in known:
            raise UsageError(f"unknown doctor section {name!r}", hint=f"one of {', '.join(known)}")
    results: list[CheckResult] = []
    for name, modname in SECTIONS:
        if only and name not in only:
            continue
        try:
            present = importlib.util.find_spec(modname) is not None
        except ModuleNotFoundError:  # the parent package does not exist yet
            present = False
        if not present:
            continue
        try:
            section = importlib.import_module(modname).checks(env)
        except Exception as exc:  # noqa: BLE001 - a crashing section is itself a finding
            section = [CheckResult(f"{name} checks", False, f"the check itself failed: {exc!r}")]
        for r in section:
            r.section = r.section or name
        results.extend(section)
    return results


def cmd_doctor(args: argparse.Namespace, env: Environment) -> ExitStatus:
    results = run_checks(env, args.section)
    failed = [r for r in results if r.ok is False and r.required]
    if args.format == "json":
        env.out(json.dumps({"ok": not failed, "checks": [asdict(r) for r in results]}, indent=2))
    else:
        _print_text(env, results)
        env.out("")
        env.out(f"{len(failed)} required check(s) failed" if failed else "all required checks pass")
    return ExitStatus.ENGINE_UNAVAILABLE if failed else ExitStatus.OK


def _print_text(env: Environment, results: list[CheckResult]) -> None:
    width = max((len(r.name) for r in results), default=10)
    section = None
    for r in results:
        if r.section != section:
            section = r.section
            env.out(f"{section}:")
        env.out(f"  [{r.label:>4}] {r.name:<{width}}  {r.detail}")
        if r.hint and r.ok is False:
            env.out(f"  {'':>6} {'':<{width}}  try: {r.hint}")
