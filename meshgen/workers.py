"""Spreading independent per-item work (one document's YAML) over processes when a build
is large enough for it to pay; small builds stay in one process.

Children are forked, so they inherit the items and the function instead of receiving them
pickled; only the results travel back. The results are gathered in the items' order, so
the output is the same whatever the worker count."""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

WORKERS_ENV = "MESHGEN_WORKERS"
MIN_ITEMS_PER_WORKER = 5000  # below this, starting a process costs more than it saves
CHUNKS_PER_WORKER = 4  # smaller chunks even out a busy core

T = TypeVar("T")
R = TypeVar("R")

_job: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def requested_workers() -> int | None:
    """MESHGEN_WORKERS as a positive number, or None (not set or not a number: automatic)."""
    value = os.environ.get(WORKERS_ENV, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def worker_count(items: int, requested: int | None = None) -> int:
    """requested (or MESHGEN_WORKERS) as asked; otherwise one per usable core, as long as
    each has MIN_ITEMS_PER_WORKER items."""
    requested = requested or requested_workers()
    if requested is not None:
        return max(1, min(requested, items))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        (os.cpu_count() or 1)
    return max(1, min(cores, items // MIN_ITEMS_PER_WORKER))


def _run(bounds: tuple[int, int]) -> list[Any]:
    assert _job is not None
    func, items = _job
    return [func(item) for item in items[bounds[0]:bounds[1]]]


def map_in_order(func: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """[func(item) for item in items], computed by up to `workers` forked processes.
    Anything a child raises is raised again by computing in this process, where the
    exception is the one the caller expects (not a pickled copy)."""
    if workers <= 1 or len(items) < 2 or \
            "fork" not in multiprocessing.get_all_start_methods():
        return [func(item) for item in items]
    global _job
    count = min(len(items), workers * CHUNKS_PER_WORKER)
    edges = [len(items) * i // count for i in range(count + 1)]
    _job = (func, items)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) \
                as pool:
            parts = list(pool.map(_run, itertools.pairwise(edges)))
    except Exception:  # recomputed below, where it raises as it should
        parts = [[func(item) for item in items]]
    finally:
        _job = None
    return [result for part in parts for result in part]
