"""`interviewer doctor`: is this machine ready for a spoken session?

The report is a list of checks grouped in sections. Each section lives next to the engine it
checks, in a module exposing `checks(env) -> list[CheckResult]` (or `module:function`), listed in
`SECTIONS`; a module not present yet is skipped, so a section is added by writing that module
(and one line here). The judge section is below: it only asks the judge package.
Exit status is non-zero when any *required* check fails.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
from dataclasses import asdict
from typing import Any

from interviewer.checks import CheckResult
from interviewer.env import Environment
from interviewer.errors import ExitStatus, UsageError

#: (section name, module with `checks(env)`), in report order.
SECTIONS: list[tuple[str, str]] = [
    ("audio", "interviewer.audio.checks"),
    ("voice", "interviewer.commands.audio"),  # the default TTS: Piper voice or pyttsx3
    ("asr", "interviewer.asr.checks"),
    ("judge", "interviewer.commands.doctor:judge_checks"),
]


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
        modname, _, func = modname.partition(":")
        try:
            present = importlib.util.find_spec(modname) is not None
        except ModuleNotFoundError:  # the parent package does not exist yet
            present = False
        if not present:
            continue
        try:
            section = getattr(importlib.import_module(modname), func or "checks")(env)
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


# ----------------------------------------------------------------------------- the judge
_SMOKE_QUESTION = "How would you fit a large language model that runs out of GPU memory?"
_SMOKE_POINTS = ["Use gradient accumulation with a smaller micro-batch",
                 "Train in mixed precision such as bf16"]
_SMOKE_ANSWER = ("I would shrink the micro-batch and use gradient accumulation. I would also "
                 "train in bf16 mixed precision.")


def judge_checks(env: Environment) -> list[CheckResult]:
    """Which judge `auto` picks and why, the offline models, the LLM servers, a smoke test."""
    from interviewer.judge import choose_auto

    choice = choose_auto(models_dir=env.models_dir)
    out = [CheckResult("judge auto choice", True, f"{choice.backend}: {choice.reason}")]
    out += _offline_judge_checks(env)
    out += _server_checks()
    out.append(_judge_smoke(choice.backend, env))
    return out


def _offline_judge_checks(env: Environment) -> list[CheckResult]:
    from interviewer.errors import InterviewerError
    from interviewer.judge import verifier_available
    from interviewer.judge.embedded import model_dir
    from interviewer.judge.llama_cpp_backend import available
    from interviewer.judge.llama_model import configured_model_path

    out = [CheckResult("verifier model", True if verifier_available() else None,
                       "shipped with the package" if verifier_available() else "not shipped "
                       "in this installation", required=False)]
    try:
        out.append(CheckResult("embedding model", True, str(model_dir())))
    except InterviewerError as exc:
        out.append(CheckResult("embedding model", False, exc.message, exc.hint))
    gguf = configured_model_path(env.models_dir)
    out.append(CheckResult(
        "offline LLM (llama-cpp/fused)", True if available(env.models_dir) else None,
        str(gguf) if available(env.models_dir) else "not installed (optional)",
        "interviewer models install judge", required=False))
    return out


def _server_checks() -> list[CheckResult]:
    import os

    from interviewer.errors import EngineUnavailable, UsageError
    from interviewer.judge import AUTO_PROBE_TIMEOUT_S, ENV_OPENAI_BASE_URL
    from interviewer.judge.ollama_backend import DEFAULT_MODEL, OllamaJudge

    ollama = OllamaJudge(DEFAULT_MODEL, timeout=AUTO_PROBE_TIMEOUT_S)
    try:
        ollama.check()
        out = [CheckResult("Ollama server", True, f"{ollama.host} has {DEFAULT_MODEL}")]
    except EngineUnavailable as exc:
        out = [CheckResult("Ollama server", None, f"{exc.message} (optional)", exc.hint,
                           required=False)]
    if not os.environ.get(ENV_OPENAI_BASE_URL):
        out.append(CheckResult("OpenAI-compatible server", None,
                               f"${ENV_OPENAI_BASE_URL} not set (optional)", required=False))
        return out
    from interviewer.judge.openai_backend import OpenAIJudge

    try:
        server = OpenAIJudge(timeout=AUTO_PROBE_TIMEOUT_S)
        served = server.transport.models()
        server.check()
        out.append(CheckResult("OpenAI-compatible server", True,
                               f"{server.url} serves {', '.join(served[:4])}; using "
                               f"{server.model}"))
    except (EngineUnavailable, UsageError) as exc:
        out.append(CheckResult("OpenAI-compatible server", False, exc.message, exc.hint,
                               required=False))
    return out


def _judge_smoke(backend: str, env: Environment) -> CheckResult:
    import time

    from interviewer.errors import InterviewerError
    from interviewer.judge import make_judge
    from interviewer.judge.dataset import adhoc_entry
    from interviewer.judge.policy import assess

    entry = adhoc_entry(_SMOKE_QUESTION, _SMOKE_POINTS, templated_follow_ups=True)
    t0 = time.perf_counter()
    try:
        j = assess(make_judge(backend, models_dir=env.models_dir), entry, _SMOKE_ANSWER)
    except InterviewerError as exc:
        return CheckResult("judge smoke test", False, f"{backend}: {exc.message}", exc.hint)
    secs = time.perf_counter() - t0
    credited = sum(v.status != "missing" for v in j.points)
    # A fallback that judged instead of the chosen backend is a failure of that backend.
    return CheckResult("judge smoke test", credited > 0 and j.judge.backend == backend,
                       f"{j.judge.backend} ({j.judge.model}) credited {credited} of "
                       f"{len(j.points)} points of a strong answer in {secs:.1f} s (model "
                       "loading included)" + (f"; {j.judge.note}" if j.judge.note else ""))
