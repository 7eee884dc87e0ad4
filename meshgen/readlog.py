"""Which input files a build looked at, with what it saw in them: the cache's key covers
exactly these (meshgen.cache), so a changed certificate or sealed secret is never
missed, whatever setting of the fleet named it."""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Read:
    path: str  # absolute, as opened
    limit: int  # how many bytes the reader asked for (-1: only whether it exists)
    digest: str  # sha256 of the bytes read, "absent", or "present"


_log: contextvars.ContextVar[list[Read] | None] = contextvars.ContextVar(
    "meshgen_reads", default=None)


@contextlib.contextmanager
def recording() -> Iterator[list[Read]]:
    """Collect the reads of the code run inside."""
    reads: list[Read] = []
    token = _log.set(reads)
    try:
        yield reads
    finally:
        _log.reset(token)


def content_digest(path: os.PathLike[str] | str, data: bytes) -> str:
    """What a read saw: the bytes and the file they came from once symlinks are followed
    (rules such as MG126 compare resolved paths, so a retargeted link can change output
    even when the bytes are the same)."""
    return f"{hashlib.sha256(data).hexdigest()}:{os.path.realpath(path)}"


def existence(path: os.PathLike[str] | str, exists: bool) -> str:
    return f"{'present' if exists else 'absent'}:{os.path.realpath(path)}"


def note_read(path: os.PathLike[str] | str, limit: int, data: bytes) -> None:
    if (reads := _log.get()) is not None:
        reads.append(Read(os.path.abspath(path), limit, content_digest(path, data)))


def note_exists(path: os.PathLike[str] | str, exists: bool) -> None:
    if (reads := _log.get()) is not None:
        reads.append(Read(os.path.abspath(path), -1, existence(path, exists)))


class Unreadable(Exception):
    """An input file cannot be read; the message says why."""


def read_capped(path: Path, limit: int) -> bytes:
    """At most limit + 1 bytes of an input file, so the caller can tell it is too large
    without reading all of a huge one. Only regular files are read: a FIFO or a device
    would block or never end. The file is opened without blocking and checked through its
    descriptor, so nothing can swap it between the check and the read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise Unreadable(getattr(exc, "strerror", None) or str(exc)) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise Unreadable(f"not a regular file ({_file_kind(mode)})")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
        note_read(path, limit, data)
        return data
    except OSError as exc:
        raise Unreadable(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"))
    return next((name for test, name in kinds if test(mode)), "not a file")
