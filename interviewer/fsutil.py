"""Private files and folders: the one place the program writes the user's data.

Every file written under the user's data (session.json, llm_calls.jsonl, WAV takes, reports,
Anki exports, the bank parse cache, imported drafts) goes through `write_private`,
`append_private`, `copy_private` or `open_private`, so it is 0600 whatever the umask. Folders
the program creates are 0700; folders that already exist are never chmod-ed (`--out /tmp` must
not break `/tmp` for everyone). OS errors become one-line `DataError`s naming the folder
(disk full, read-only file system, not a folder), and a failed atomic write leaves the previous
file intact and no temp file behind. `folder_lock` is the one OS lock (flock) on a folder.
"""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from interviewer.errors import DataError, LockedError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700

_REASONS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOTDIR: "not a folder",
    errno.EEXIST: "exists and is not a folder",
    errno.ELOOP: "is a symbolic link (refused)",
}


def os_error(exc: OSError, path: Path, doing: str) -> DataError:
    """One line for an OS error: what was being done, on which path, and why."""
    reason = _REASONS.get(exc.errno or 0) or exc.strerror or str(exc)
    hint = "free some space and run the command again" if exc.errno in (
        errno.ENOSPC, errno.EDQUOT) else None
    return DataError(f"cannot {doing} {path}: {reason}", hint=hint)


def ensure_private_dir(path: Path) -> bool:
    """Create `path` and any missing parents as 0700; return True if `path` was created.

    Existing folders (the path or any parent) keep their permissions.
    """
    missing: list[Path] = []
    p = path
    while not p.exists() and not p.is_symlink():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    try:
        if not missing and not path.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(path))
        for d in reversed(missing):
            os.mkdir(d, PRIVATE_DIR)
            os.chmod(d, PRIVATE_DIR)  # a umask can only narrow mkdir's mode; be exact anyway
    except OSError as exc:
        raise os_error(exc, path, "create the folder") from exc
    return bool(missing)


def readable_by_others(path: Path) -> bool:
    """True when users other than the owner may list or read `path`."""
    try:
        return bool(path.stat().st_mode & 0o044)
    except OSError:
        return False


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_TRUNC) -> int:
    """`os.open` creating `path` as 0600 (and making an existing file 0600); refuses symlinks."""
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE_FILE)
    except OSError as exc:
        raise os_error(exc, path, "write") from exc
    try:
        os.fchmod(fd, PRIVATE_FILE)  # O_CREAT's mode does not apply to an existing file
    except OSError as exc:
        os.close(fd)
        raise os_error(exc, path, "write") from exc
    return fd


def _write_fd(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_private(path: Path, data: str | bytes) -> None:
    """Replace `path` atomically (temp file, fsync, rename) with a 0600 file.

    On any failure (disk full, a signal) the temp file is removed and the old file is intact.
    A target that exists but is not a regular file (`-o /dev/stdout`) is written in place.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if path.exists() and not path.is_file():
        try:
            with open(path, "wb") as f:
                f.write(raw)
        except OSError as exc:
            raise os_error(exc, path, "write") from exc
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE)
    except OSError as exc:
        raise os_error(exc, path, "write") from exc
    try:
        try:
            os.fchmod(fd, PRIVATE_FILE)
            _write_fd(fd, raw)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as exc:  # includes KeyboardInterrupt: never leave the temp file
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise os_error(exc, path, "write") from exc
        raise


def append_private(path: Path, text: str) -> None:
    """Append `text` to a 0600 file (created if missing)."""
    fd = open_private(path, os.O_WRONLY | os.O_APPEND)
    try:
        _write_fd(fd, text.encode("utf-8"))
    except OSError as exc:
        raise os_error(exc, path, "write") from exc
    finally:
        os.close(fd)


def copy_private(src: Path, dst: Path) -> None:
    """Copy `src` to a 0600 `dst` (bytes as they are)."""
    fd = open_private(dst)
    try:
        with open(src, "rb") as fin, os.fdopen(fd, "wb", closefd=False) as fout:
            shutil.copyfileobj(fin, fout)
    except OSError as exc:
        raise os_error(exc, dst, "write") from exc
    finally:
        os.close(fd)


def is_real_dir(path: Path) -> bool:
    """A folder that is not a symbolic link (a link could lead anywhere)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


@contextmanager
def folder_lock(path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive OS lock (flock) on folder `path` for the `with` block.

    Refuses at once with a one-line `LockedError` when another process holds it; the kernel
    drops the lock when the holder exits, even on `kill -9`, so a lock is never stale.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise os_error(exc, path, "open") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(f"{what} is in use by another interviewer process",
                              hint="wait until it ends, then run this again") from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
