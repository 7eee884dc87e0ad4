"""Pausing Python's cyclic garbage collector around a phase that builds many objects and
frees few (a large fleet's data, its plan): every collection of the oldest generation
walks all live objects, so a phase that creates 100,000 of them otherwise spends a good
part of its time re-scanning what it has just built. Reference counting still frees
everything; cyclic garbage made during the pause waits for the next collection."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    gc.unfreeze()  # what an earlier pause froze may be collected again from here on
    try:
        yield
    finally:
        if enabled:
            # the objects made during the pause overflowed every generation's count: the
            # first allocation after gc.enable() would walk all of them (a third of a
            # second at 1000 meshes) and so would the interpreter's exit; frozen, they are
            # left to reference counting (cyclic garbage among them waits for the next
            # pause's unfreeze)
            gc.freeze()
            gc.enable()
