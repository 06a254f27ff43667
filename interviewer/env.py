"""The Environment a command runs in: streams, terminal-ness and paths (swappable in tests)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from interviewer.bank.loader import Bank

PACKAGE_DIR = Path(__file__).resolve().parent


def _find_project_root() -> Path:
    """The folder holding `question_bank/`: `$INTERVIEWER_ROOT`, else cwd or a parent, else the
    source checkout. Only a default: a `project_root` passed explicitly always wins."""
    root = os.environ.get("INTERVIEWER_ROOT")
    if root:
        return Path(root).expanduser().resolve()
    here = Path.cwd().resolve()
    for d in (here, *here.parents):
        if (d / "question_bank").is_dir() and (d / "rubrics").is_dir():
            return d
    return PACKAGE_DIR.parent


def default_home() -> Path:
    """Where caches and provisioned models live: `$INTERVIEWER_HOME`, else ~/.cache/interviewer."""
    h = os.environ.get("INTERVIEWER_HOME")
    return Path(h).expanduser() if h else Path.home() / ".cache" / "interviewer"


def default_models_dir() -> Path:
    """`Environment.models_dir` of a default Environment, for library callers given none."""
    return default_home() / "models"


@dataclass
class Environment:
    """Everything a command touches outside itself. Tests build one with their own values."""

    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin_isatty: bool = field(default_factory=lambda: sys.stdin.isatty())
    stdout_isatty: bool = field(default_factory=lambda: sys.stdout.isatty())
    project_root: Path = field(default_factory=_find_project_root)
    recordings_root: Path | None = None
    home: Path | None = None
    show_traceback: bool = False

    def __post_init__(self) -> None:
        if self.recordings_root is None:
            rec = os.environ.get("INTERVIEWER_RECORDINGS")
            self.recordings_root = (
                Path(rec).expanduser() if rec else self.project_root / "recordings"
            )
        if self.home is None:
            self.home = default_home()

    @property
    def questions_dir(self) -> Path:
        return self.project_root / "question_bank"

    @property
    def rubrics_dir(self) -> Path:
        return self.project_root / "rubrics"

    @property
    def models_dir(self) -> Path:
        """Where provisioned model weights live (converted Whisper checkpoints, GGUFs)."""
        assert self.home is not None
        return self.home / "models"

    @property
    def recordings(self) -> Path:
        assert self.recordings_root is not None
        return self.recordings_root

    def out(self, text: str = "") -> None:
        print(text, file=self.stdout)

    def err(self, text: str) -> None:
        print(text, file=self.stderr)

    def load_bank(self) -> Bank:
        """The question bank of this project (lazy import keeps `env` light)."""
        from interviewer.bank.loader import load_bank

        assert self.home is not None
        return load_bank(self.questions_dir, self.rubrics_dir,
                         cache_file=self.home / "bank-parse-cache.json")
