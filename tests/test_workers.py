"""Parallel YAML writing: real forked processes, and the same bytes whatever their number
and whatever the hash seed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from meshgen.workers import (
    AUTOMATIC_FROM,
    WORKERS_ENV,
    cluster_workers,
    map_in_order,
    worker_count,
)

REPO = Path(__file__).resolve().parent.parent
ISTIO_FLEETS = sorted((REPO / "tests" / "istio").glob("*/fleet.yaml"))


def test_work_is_done_by_other_processes_in_order() -> None:
    results = map_in_order(lambda n: (n * n, os.getpid()), list(range(50)), 3)
    assert [square for square, _ in results] == [n * n for n in range(50)]
    pids = [pid for _, pid in results]
    assert pids[0] == os.getpid()  # this process takes the first share
    assert len(set(pids)) > 1


def test_what_a_child_raises_is_raised_here_as_itself() -> None:
    class Refused(Exception):
        def __init__(self, what: str, why: str) -> None:  # not picklable as is
            super().__init__(what)
            self.why = why

    def refuse(n: int) -> int:
        if n == 7:
            raise Refused("seven", "odd")
        return n

    with pytest.raises(Refused) as exc:
        map_in_order(refuse, list(range(20)), 2)
    assert exc.value.why == "odd"


def test_one_process_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    assert worker_count(100_000) == 1
    assert worker_count(100, 3) == 3
    assert worker_count(2, 3) == 2
    monkeypatch.setenv(WORKERS_ENV, "2")
    assert worker_count(100) == 2
    monkeypatch.setenv(WORKERS_ENV, "lots")
    assert worker_count(100) == 1


def test_whole_clusters_use_the_cores_from_sixteen_clusters_on(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    cores = len(os.sched_getaffinity(0))
    assert cluster_workers(AUTOMATIC_FROM - 1) == 1
    assert cluster_workers(200) == min(cores, 4)
    assert cluster_workers(200, 1) == 1
    monkeypatch.setenv(WORKERS_ENV, "1")
    assert cluster_workers(200) == 1


def _build(fleet: Path, out: Path, workers: int, seed: int) -> dict[str, bytes]:
    env = {**os.environ, WORKERS_ENV: str(workers), "PYTHONHASHSEED": str(seed)}
    subprocess.run([sys.executable, "-m", "meshgen", "build", str(fleet), "--out", str(out)],
                   check=True, env=env, capture_output=True)
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fleet", [REPO / "fleet" / "fleet.yaml", ISTIO_FLEETS[0]],
                         ids=["example", "istio"])
def test_the_same_bytes_whatever_the_worker_count_and_hash_seed(fleet: Path,
                                                                tmp_path: Path) -> None:
    one = _build(fleet, tmp_path / "one" / "overlays", 1, 0)
    two = _build(fleet, tmp_path / "two" / "overlays", 2, 4242)
    three = _build(fleet, tmp_path / "three" / "overlays", 3, 17)
    assert len(one) > 10
    assert one == two == three


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_workers_die_with_a_killed_build_and_free_the_lock(tmp_path: Path) -> None:
    """A build killed while its forked workers render: they die with it (a worker left
    blocked on its result pipe kept the inherited lock file open, and every later build
    into that --out was refused with MG098)."""
    from test_bench import bench_module

    from meshgen.ca import certificate_pem, make_certificate

    bench = bench_module()
    fleet = bench.write_fleet(bench.synthetic_fleet(100), tmp_path,
                              certificate_pem(make_certificate("workers root")[0]))
    env = {**os.environ, WORKERS_ENV: "2"}
    command = [sys.executable, "-m", "meshgen", "build", str(fleet), "--no-cache"]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while not workers and process.poll() is None and time.monotonic() < deadline:
        workers = _children(process.pid)
        time.sleep(0.005)
    assert workers, "the build ended before it forked a worker"
    process.kill()
    process.wait()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{w}").exists() and "Z" not in _state(w) for w in workers) \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [w for w in workers if Path(f"/proc/{w}").exists() and "Z" not in _state(w)]
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
