"""Items 8, 10, 11 and 13: stored sessions that are newer, carry unknown fields, are corrupt, are
symlinks, or name questions the bank no longer has."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from interviewer.errors import DataError
from interviewer.session.store import SessionStore
from tests.hardening.helpers import MAIN, QID, Env, error_lines, write_bank
from tests.session.fakes import Q, R


def _edit(folder: Path, change: Any) -> dict[str, Any]:
    path = folder / "session.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return data


def _rejudge(henv: Env, ref: str = "last") -> Any:
    return henv.cli("rejudge", ref, "--backend", "embedded", "--out", str(henv.rec))


def test_newer_schema_is_refused_in_one_line_and_left_untouched(henv: Env, copied: Path) -> None:
    _edit(copied, lambda d: d.update(schema_version=999))
    before = (copied / "session.json").read_bytes()
    for args in (("report", copied.name, "--out", str(henv.rec)),
                 ("rejudge", "last", "--backend", "embedded", "--out", str(henv.rec))):
        r = henv.cli(*args)
        assert r.returncode == 1, r.stderr
        [line] = error_lines(r.stderr)
        assert "schema version 999 is newer" in line and "upgrade interviewer" in line
    assert (copied / "session.json").read_bytes() == before


def test_unknown_fields_survive_a_rejudge(henv: Env, copied: Path) -> None:
    def add(d: dict[str, Any]) -> None:
        d["notes"] = "asked by a friend"
        d["turns"][0]["self_rating"] = 4
        d["turns"][0]["takes"][0]["mood"] = "calm"

    _edit(copied, add)
    r = _rejudge(henv)
    assert r.returncode == 0, r.stderr
    data = json.loads((copied / "session.json").read_text())
    assert data["notes"] == "asked by a friend" and data["turns"][0]["self_rating"] == 4
    take = data["turns"][0]["takes"][0]
    assert take["mood"] == "calm" and len(take["judgements"]) == 2


def test_a_corrupt_session_is_one_line_naming_the_file(henv: Env, copied: Path) -> None:
    path = copied / "session.json"
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    r = henv.cli("report", copied.name, "--out", str(henv.rec))
    assert r.returncode == 1
    [line] = error_lines(r.stderr)
    assert str(path) in line and "corrupt session file" in line
    assert len(r.stderr.splitlines()) == 1
    data = json.loads(text)
    data["turns"] = "oops"
    path.write_text(json.dumps(data))
    r = henv.cli("replay", copied.name, "--no-audio", "--out", str(henv.rec))
    assert r.returncode == 1
    [line] = error_lines(r.stderr)
    assert str(path) in line and "turns" in line and "pydantic.dev" not in r.stderr


def test_commands_over_all_sessions_skip_a_corrupt_one(henv: Env, copied: Path) -> None:
    bad = henv.rec / "20990101-000000-abcd"
    bad.mkdir(mode=0o700)
    (bad / "session.json").write_text("{ not json")
    warning = "warning: skipping session 20990101-000000-abcd"
    r = henv.cli("progress", "--out", str(henv.rec))
    assert r.returncode == 0 and warning in r.stderr and "deep-learning" in r.stdout
    anki = henv.base / "cards.txt"
    r = henv.cli("export", "--anki", str(anki), "--out", str(henv.rec))
    assert r.returncode == 0 and warning in r.stderr and anki.read_text().count("\t") >= 1
    r = henv.cli("practice", "--drill", "--count", "1", "--text", "--no-tts", "--judge",
                 "embedded", "--max-follow-ups", "0", "--out", str(henv.rec), stdin=f"{MAIN}\n")
    assert r.returncode == 0 and warning in r.stderr, r.stderr


def test_symlinked_session_folders_are_refused(henv: Env, copied: Path) -> None:
    outside = henv.base / "elsewhere" / "20990101-000000-beef"
    shutil.copytree(copied, outside)
    data = _edit(outside, lambda d: d.update(id=outside.name))
    (henv.rec / outside.name).symlink_to(outside)
    before = (outside / "session.json").read_bytes()
    rows = json.loads(henv.cli("sessions", "--format", "json", "--out", str(henv.rec)).stdout)
    assert [row["id"] for row in rows] == [copied.name]
    r = _rejudge(henv, outside.name)
    assert r.returncode == 2
    [line] = error_lines(r.stderr)
    assert "symbolic link" in line
    assert (outside / "session.json").read_bytes() == before and data["id"] == outside.name


def _bank_without(henv: Env, qid: str) -> None:
    qs, rs = yaml.safe_load(textwrap.dedent(Q)), yaml.safe_load(textwrap.dedent(R))
    qs["questions"] = [q for q in qs["questions"] if q["id"] != qid]
    rs["rubrics"] = [r for r in rs["rubrics"] if r["question_id"] != qid]
    write_bank(henv.root, yaml.safe_dump(qs), yaml.safe_dump(rs))


def test_a_question_removed_from_the_bank_is_skipped(henv: Env, copied: Path) -> None:
    before = json.loads((copied / "session.json").read_text())
    _bank_without(henv, QID)
    r = _rejudge(henv)
    assert r.returncode == 0, r.stderr
    assert f"question {QID!r} is no longer in the bank" in r.stderr
    after = json.loads((copied / "session.json").read_text())
    assert after["turns"] == before["turns"]  # transcripts and verdicts stay as stored
    # A resumed session whose plan names a removed question skips it and finishes.
    _bank_without(henv, "l2-why")  # dropout-why is back, l2-why gone
    _edit(copied, lambda d: d.update(status="interrupted", plan=[QID, "l2-why"]))
    r = henv.cli("practice", "--resume", "last", "--out", str(henv.rec))
    assert r.returncode == 0, r.stderr
    assert "question 'l2-why' is no longer in the bank" in r.stderr
    after = json.loads((copied / "session.json").read_text())
    assert after["status"] == "completed" and after["turns"] == before["turns"]


CORRUPT = [b"", b"null", b"[]", b"\xff\xfe{", b'{"schema_version": "x"}',
           b'{"schema_version": true}', b'{"id": 5}', b'{"turns": [{"takes": "no"}]}',
           b'{"settings": 3, "id": "a"}']


@pytest.mark.parametrize("content", CORRUPT)
def test_every_kind_of_corrupt_session_is_one_line(copied: Path, content: bytes) -> None:
    path = copied / "session.json"
    path.write_bytes(content)
    with pytest.raises(DataError) as caught:
        SessionStore(copied.parent).load(copied.name)
    msg = str(caught.value)
    assert msg.startswith(f"{path}: corrupt session file") and "\n" not in msg
