"""Which input files a build looked at, with what it saw in them: the cache's key covers
exactly these (meshgen.cache), so a changed certificate or sealed secret is never
missed, whatever setting of the fleet named it."""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass


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


def note_read(path: os.PathLike[str] | str, limit: int, data: bytes) -> None:
    if (reads := _log.get()) is not None:
        reads.append(Read(os.path.abspath(path), limit, hashlib.sha256(data).hexdigest()))


def note_exists(path: os.PathLike[str] | str, exists: bool) -> None:
    if (reads := _log.get()) is not None:
        reads.append(Read(os.path.abspath(path), -1, "present" if exists else "absent"))
