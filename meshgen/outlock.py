"""One build at a time per output directory: an exclusive flock on a lock file beside it.

The lock file sits next to --out (not in it, so it is never part of the tree that is
swapped or committed) and exists only while a build holds it. flock locks die with their
process, so a build killed with SIGKILL leaves at most a file without a lock, which the
next build takes over: stale locks need no clean-up by hand.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from .outerrors import EXIT_ENVIRONMENT, OutputError

LOCK_SUFFIX = ".meshgen-lock"
_held: dict[Path, int] = {}


def close_inherited() -> None:
    """In a forked child: close the lock files inherited from the parent, so that the
    child never keeps a lock alive (the parent's lock stays held through its own fd)."""
    for fd in _held.values():
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


def lock_path(out: Path) -> Path:
    """The lock file of an output directory (out already resolved)."""
    return out.parent / f".{out.name}{LOCK_SUFFIX}"


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold the build lock of out; re-entrant within one process."""
    out = resolved(out)
    if out in _held:
        yield
        return
    path = lock_path(out)
    fd = _acquire(path, out)
    _held[out] = fd
    try:
        yield
    finally:
        del _held[out]
        with contextlib.suppress(OSError):
            os.unlink(path)  # while still locked: whoever opens it next makes a new one
        os.close(fd)


def resolved(out: Path) -> Path:
    """out with its symlinks resolved: a symlinked --out is allowed and means its target."""
    return Path(os.path.realpath(out))


def _acquire(path: Path, out: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output's parent directory: {exc.strerror}",
                          code="MG140", exit=EXIT_ENVIRONMENT, where=str(path.parent)) from None
    for _ in range(100):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise OutputError(f"cannot create the build lock: {exc.strerror}",
                              code="MG140", exit=EXIT_ENVIRONMENT, where=str(path),
                              hint="meshgen needs to write in the directory that holds "
                                   "--out") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _holder(fd)
            os.close(fd)
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise OutputError(f"cannot lock: {exc.strerror}", code="MG098",
                                  exit=EXIT_ENVIRONMENT, where=str(path)) from None
            raise OutputError(
                f"another meshgen build{holder} is writing this output directory "
                f"(it holds {path})", where=str(out), code="MG098", exit=EXIT_ENVIRONMENT,
                hint="wait for it to finish and build again") from None
        # the holder before us may have unlinked the file between our open and our lock:
        # then we locked an orphan, and must lock the file that is there now instead
        try:
            current = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            os.close(fd)
            continue
        mine = os.fstat(fd)
        if (current.st_dev, current.st_ino) != (mine.st_dev, mine.st_ino):
            os.close(fd)
            continue
        with contextlib.suppress(OSError):  # the pid only informs; a full disk may refuse it
            pid = f"{os.getpid()}\n".encode()
            os.pwrite(fd, pid, 0)  # written before the truncation: never an empty window
            os.ftruncate(fd, len(pid))
        return fd
    raise OutputError("cannot take the build lock", code="MG098",
                      exit=EXIT_ENVIRONMENT, where=str(path))


def _holder(fd: int) -> str:
    """The holder's pid as a phrase, or "" when it cannot be read.

    A holder that has just taken the lock writes its pid a moment later, so an empty or
    partial file is read again for up to 0.2 s before giving up."""
    for attempt in range(40):
        try:
            text = os.pread(fd, 32, 0).decode("ascii")
        except (OSError, UnicodeDecodeError):
            return ""
        if text.endswith("\n") and text.strip().isdigit():
            return f" (pid {text.strip()})"
        if attempt < 39:
            time.sleep(0.005)
    return ""
