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
    try:
        yield
    finally:
        if enabled:
            gc.enable()
