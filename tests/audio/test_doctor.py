"""`interviewer doctor` machinery with stand-in sections (no devices, no engines)."""

from __future__ import annotations

import importlib.machinery
import io
import json
import sys
import types
from collections.abc import Iterator

import pytest

from interviewer.checks import CheckResult
from interviewer.cli import main
from interviewer.commands import doctor
from interviewer.env import Environment


def _section(name: str, results: list[CheckResult] | Exception) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__spec__ = importlib.machinery.ModuleSpec(name, None)

    def checks(env: Environment) -> list[CheckResult]:
        if isinstance(results, Exception):
            raise results
        return [CheckResult(r.name, r.ok, r.detail, r.hint, r.required) for r in results]

    mod.checks = checks  # type: ignore[attr-defined]
    return mod


@pytest.fixture
def sections(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, types.ModuleType]]:
    mods = {
        "fake_a": _section("fake_a", [CheckResult("thing", True, "fine"),
                                      CheckResult("optional", False, "absent", "get it",
                                                  required=False)]),
        "fake_b": _section("fake_b", [CheckResult("needed", False, "broken", "fix it"),
                                      CheckResult("n/a", None, "skipped")]),
        "fake_c": _section("fake_c", RuntimeError("boom")),
    }
    for name, mod in mods.items():
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.setattr(doctor, "SECTIONS", [("a", "fake_a"), ("b", "fake_b"),
                                             ("c", "fake_c"), ("later", "not_written_yet.x")])
    yield mods


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    env = Environment(stdout=out, stderr=io.StringIO(), stdin_isatty=False, stdout_isatty=False)
    return main(list(argv), env), out.getvalue()


def test_required_failure_fails_and_warnings_do_not(sections: object) -> None:
    status, text = run("doctor", "--section", "a")
    assert status == 0
    assert "[  ok] thing" in text and "[warn] optional" in text and "try: get it" in text
    status, text = run("doctor", "--section", "b")
    assert status == 3
    assert "[FAIL] needed" in text and "try: fix it" in text and "[skip] n/a" in text
    assert "1 required check(s) failed" in text


def test_crashing_section_is_reported_and_missing_section_skipped(sections: object) -> None:
    status, text = run("doctor", "--format", "json")
    report = json.loads(text)
    assert status == 3 and report["ok"] is False
    names = [(c["section"], c["name"]) for c in report["checks"]]
    assert names == [("a", "thing"), ("a", "optional"), ("b", "needed"), ("b", "n/a"),
                     ("c", "c checks")]
    crash = report["checks"][-1]
    assert crash["ok"] is False and "boom" in crash["detail"]


def test_unknown_section_is_a_usage_error(sections: object) -> None:
    status, _ = run("doctor", "--section", "nope")
    assert status == 2
