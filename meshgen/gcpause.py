"""Pausing Python's cyclic garbage collector around a phase that builds many objects and
frees few (a large fleet's data, its plan): every collection of the oldest generation
walks all live objects, so a phase that creates 100,000 of them otherwise spends a good
part of its time re-scanning what it has just built. Reference counting still frees
everything; cyclic garbage made during the pause waits for the next collection."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_process_ends = False


def command_line() -> None:
    """Called by the `meshgen` command (never by library or in-process test use): the
    process ends soon after its last pause, see collector_paused."""
    global _process_ends
    _process_ends = True


@contextmanager
def collector_paused(last: bool = False) -> Iterator[None]:
    """last: the pause of the command's main work. In the `meshgen` command the objects it
    made are then frozen (gc.freeze) when it ends: they overflowed every generation's
    count, so the first allocation after gc.enable() would walk all of them (a third of a
    second at 1000 meshes), and so would the interpreter's exit. Frozen objects are never
    collected, so this is only done where the process is about to end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if last and _process_ends:
                gc.freeze()
            gc.enable()
