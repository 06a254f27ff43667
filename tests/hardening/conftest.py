"""Fixtures for the hardening tests (issue 19): a test's own CLI environment and a finished
session (made once by the real CLI) to copy."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hardening.helpers import FOLLOW, MAIN, PRACTICE, Env


@pytest.fixture
def henv(tmp_path: Path) -> Env:
    return Env(tmp_path)


@pytest.fixture(scope="session")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A completed session (main answer + judged follow-up) made by the real CLI, to copy."""
    env = Env(tmp_path_factory.mktemp("finished"))
    r = env.cli(*PRACTICE, "--out", str(env.rec), stdin=f"{MAIN}\n{FOLLOW}\n")
    assert r.returncode == 0, r.stderr
    folder, data = env.only_session()
    assert data["status"] == "completed" and len(data["turns"]) == 2
    return folder


@pytest.fixture
def copied(henv: Env, finished: Path) -> Iterator[Path]:
    """A copy of the finished session in this test's recordings root; yields its folder."""
    henv.rec.mkdir(mode=0o700)
    dst = henv.rec / finished.name
    shutil.copytree(finished, dst)
    yield dst
