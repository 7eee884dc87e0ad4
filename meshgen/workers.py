"""Spreading independent per-item work (one document's YAML) over processes, when asked.

Children are forked, so they inherit the items and the function instead of receiving them
pickled; only the results travel back. The results are gathered in the items' order, so
the output is the same whatever the worker count."""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

WORKERS_ENV = "MESHGEN_WORKERS"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
CHUNKS_PER_WORKER = 4  # smaller chunks even out a busy core

T = TypeVar("T")
R = TypeVar("R")

_job: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def requested_workers() -> int | None:
    """MESHGEN_WORKERS as a positive number, or None (not set or not a number: automatic)."""
    value = os.environ.get(WORKERS_ENV, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def worker_count(items: int, requested: int | None = None) -> int:
    """requested (or MESHGEN_WORKERS), at most one per item; one when neither is given:
    on the shared 2-core machine of issue 15 a second process did not shorten a cold
    1000-mesh build (forking the large parent and merging cost what the share saved)."""
    requested = requested or requested_workers()
    return max(1, min(requested or 1, items))


AUTOMATIC_FROM = 16  # clusters: below, forking costs more than a second core saves
AUTOMATIC_MAX = 4


def cluster_workers(clusters: int, requested: int | None = None) -> int:
    """Processes that render and write whole clusters: requested (or MESHGEN_WORKERS), else
    one per available core (at most AUTOMATIC_MAX) from AUTOMATIC_FROM clusters on. Unlike
    per-document work, a cluster is big enough to pay for the fork: on the 2-core machine
    of issue 15 two processes cut the in-process compile of the 1000-mesh fleet (200
    clusters) from about 10 s to 7.5 s (bench/README.md)."""
    requested = requested or requested_workers()
    if requested is None and clusters >= AUTOMATIC_FROM:
        requested = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                        else os.cpu_count() or 1, AUTOMATIC_MAX)
    return max(1, min(requested or 1, clusters))


def die_with_parent(parent: int) -> None:
    """In a forked worker: die when the parent dies (Linux PR_SET_PDEATHSIG; a worker left
    blocked on its result pipe would otherwise keep the output lock's inherited file open,
    and every later build would wait for a dead build), and close the inherited lock files
    (the parent's flock stays: it is held by the shared open file description)."""
    from .outlock import close_inherited

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # died before the call above
        os._exit(1)
    close_inherited()


def _run(bounds: tuple[int, int]) -> list[Any]:
    assert _job is not None
    func, items = _job
    return [func(item) for item in items[bounds[0]:bounds[1]]]


def map_in_order(func: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """[func(item) for item in items], computed by this process and `workers - 1` forked
    ones, each taking a share. Anything a child raises is raised again by computing in
    this process, where the exception is the one the caller expects (not a pickled copy)."""
    if workers <= 1 or len(items) < 2 or \
            "fork" not in multiprocessing.get_all_start_methods():
        return [func(item) for item in items]
    global _job
    count = min(len(items), workers * CHUNKS_PER_WORKER)
    edges = [len(items) * i // count for i in range(count + 1)]
    chunks = list(itertools.pairwise(edges))
    own = chunks[:CHUNKS_PER_WORKER]  # this process's share, done while the others work
    _job = (func, items)
    try:
        with ProcessPoolExecutor(workers - 1, mp_context=multiprocessing.get_context("fork"),
                                 initializer=die_with_parent,
                                 initargs=(os.getpid(),)) as pool:
            theirs = pool.map(_run, chunks[len(own):])
            parts = [_run(bounds) for bounds in own]
            parts += list(theirs)
    except Exception:  # recomputed below, where it raises as it should
        parts = [[func(item) for item in items]]
    finally:
        _job = None
    return [result for part in parts for result in part]
