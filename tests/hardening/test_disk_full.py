"""Items 6 and 9: a full disk or an unusable `--out` is one line naming the folder; the last good
session.json stays, no temp file is left, and `--resume` carries on correctly."""

from __future__ import annotations

import errno
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from interviewer.errors import DataError
from interviewer.fsutil import write_private
from tests.hardening.helpers import FOLLOW, MAIN, PRACTICE, Env, error_lines


def _mount_tmpfs(where: Path, options: str) -> Iterator[Path]:
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}); "
                    "test_atomic_write_on_a_full_disk covers the write itself")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    yield from _mount_tmpfs(tmp_path / "tiny", "size=512k,mode=0755")


def _fill(disk: Path) -> Path:
    """Fill `disk` to the last byte; return the filler file."""
    filler = disk / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_full_disk_mid_session_is_one_line_and_resume_is_correct(henv: Env,
                                                                  tiny_disk: Path) -> None:
    rec = tiny_disk / "rec"
    live = henv.live(*PRACTICE, "--out", str(rec))
    try:
        live.wait_for("Question:")
        live.send(MAIN)
        live.wait_for("Follow-up:")
        filler = _fill(tiny_disk)
        live.send(FOLLOW)
        assert live.finish() == 1
    finally:
        live.kill()
    [folder] = henv.session_dirs(rec)
    [line] = error_lines(live.stderr)
    assert str(folder) in line and "no space left on device" in line
    assert sorted(p.name for p in folder.iterdir()) == ["session.json"], "temp file left"
    data = json.loads((folder / "session.json").read_text())  # the last good save
    assert data["turns"][0]["takes"][0]["judgements"]
    assert not any(t.get("judgements") for t in data["turns"][1]["takes"])
    filler.unlink()
    r = henv.cli("practice", "--resume", "last", "--out", str(rec), stdin=f"{FOLLOW}\n")
    assert r.returncode == 0, r.stderr
    data = json.loads((folder / "session.json").read_text())
    assert data["status"] == "completed" and len(data["turns"]) == 2
    assert data["turns"][1]["takes"][-1]["judgements"], "the follow-up must be judged"


def test_atomic_write_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC at the write boundary: old file intact, temp file removed, one line."""
    target = tmp_path / "session.json"
    target.write_text('{"old": true}')

    def full(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("interviewer.fsutil._write_fd", full)
    with pytest.raises(DataError) as caught:
        write_private(target, '{"new": true}')
    msg = str(caught.value)
    assert "\n" not in msg and str(tmp_path) in msg and "no space left on device" in msg
    assert target.read_text() == '{"old": true}'
    assert [p.name for p in tmp_path.iterdir()] == ["session.json"]


def test_out_that_is_a_file_is_one_line(henv: Env) -> None:
    path = henv.base / "afile"
    path.write_text("not a folder")
    r = henv.cli(*PRACTICE, "--out", str(path), stdin=f"{MAIN}\n")
    assert r.returncode == 1
    [line] = error_lines(r.stderr)
    assert str(path) in line and "not a folder" in line
    assert path.read_text() == "not a folder"


def test_out_on_a_read_only_mount_is_one_line(henv: Env, tmp_path: Path) -> None:
    for ro in _mount_tmpfs(tmp_path / "ro", "ro,size=64k"):
        r = henv.cli(*PRACTICE, "--out", str(ro / "rec"), stdin=f"{MAIN}\n")
        assert r.returncode == 1
        [line] = error_lines(r.stderr)
        assert str(ro / "rec") in line and "read-only file system" in line


def test_a_temp_file_left_by_a_killed_save_is_removed(henv: Env, copied: Path) -> None:
    stale = copied / ".session.json.4242.abcdef.tmp"
    stale.write_text('{"half": ')
    r = henv.cli("rejudge", "last", "--backend", "embedded", "--out", str(henv.rec))
    assert r.returncode == 0, r.stderr
    assert not stale.exists()
