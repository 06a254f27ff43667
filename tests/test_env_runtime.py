"""The environment is passed in, env vars are defaults only, engine threads are set in one place."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from interviewer import runtime
from interviewer.env import Environment, default_models_dir


def test_interviewer_root_is_only_a_default(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERVIEWER_ROOT", str(tmp_path / "from-env"))
    assert Environment().project_root == (tmp_path / "from-env").resolve()
    explicit = Environment(project_root=tmp_path / "explicit")
    assert explicit.project_root == tmp_path / "explicit"
    assert explicit.recordings == tmp_path / "explicit" / "recordings"


def test_default_models_dir_follows_interviewer_home(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERVIEWER_HOME", str(tmp_path))
    assert default_models_dir() == tmp_path / "models" == Environment().models_dir
    assert Environment(home=tmp_path / "h").models_dir == tmp_path / "h" / "models"


def test_engine_threads_set_in_one_place(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, os.environ.get(var, ""))  # restored after the test
    monkeypatch.setattr(runtime, "_threads", None)
    assert runtime.engine_threads() == runtime.ENGINE_THREADS
    assert runtime.set_engine_threads(0) == 1  # at least one
    assert runtime.set_engine_threads(2) == 2 == runtime.engine_threads()
    assert os.environ["OMP_NUM_THREADS"] == "2"
    if "torch" in sys.modules:  # already loaded: its pool follows
        assert sys.modules["torch"].get_num_threads() == 2
    runtime.set_engine_threads(runtime.ENGINE_THREADS)
