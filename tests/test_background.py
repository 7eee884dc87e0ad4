"""The forked proof of the output tree (meshgen.background): the value comes from a
child; anything that goes wrong there is answered by computing in this process; a child
nobody waits for is killed and reaped; a build that fails leaves no child behind."""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import EXAMPLE_FLEET
from meshgen.background import Background
from meshgen.cli import main


def children() -> set[int]:
    """This process's children, zombies included (from /proc: whatever other tests left
    running does not count, each test compares before and after)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                found.add(int(entry.name))
    return found


@pytest.fixture(autouse=True)
def no_children_left() -> Iterator[None]:
    before = children()
    yield
    assert children() <= before


def test_the_value_is_computed_by_a_child() -> None:
    parent = os.getpid()
    with Background(lambda: (os.getpid(), os.getppid(), "x" * 200_000)) as job:
        pid, ppid, text = job.result()
    assert pid != parent and ppid == parent and len(text) == 200_000


def test_an_exception_in_the_child_is_raised_again_by_this_process() -> None:
    parent = os.getpid()

    def fails() -> int:
        raise ValueError(f"raised in {'the parent' if os.getpid() == parent else 'a child'}")

    with Background(fails) as job, pytest.raises(ValueError, match="raised in the parent"):
        job.result()


def test_a_child_that_dies_or_cannot_send_its_value_is_replaced_by_this_process() -> None:
    parent = os.getpid()

    def dies() -> int:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return 7

    with Background(dies) as job:
        assert job.result() == 7
    unpicklable = Background(lambda: (os.getpid(), lambda: None))
    with unpicklable:
        pid, _ = unpicklable.result()
    assert pid == parent
    with pytest.raises((pickle.PicklingError, AttributeError)):  # why the child could not
        pickle.dumps(lambda: None)


def test_a_child_whose_value_is_not_wanted_is_killed_and_reaped() -> None:
    started = time.monotonic()
    with Background(lambda: time.sleep(60)):
        pass
    assert time.monotonic() - started < 10


def test_a_build_that_fails_after_the_proof_started_leaves_no_child(tmp_path: Path) -> None:
    """The fleet changed (so the tree's proof runs in a child) and is broken: the build
    fails with its located error, and the child is gone."""
    shutil.copytree(EXAMPLE_FLEET.parent, tmp_path / "fleet")
    fleet, out = tmp_path / "fleet" / "fleet.yaml", tmp_path / "overlays"
    runner = CliRunner()
    assert runner.invoke(main, ["build", str(fleet), "--out", str(out)]).exit_code == 0
    fleet.write_text(fleet.read_text().replace("clusters:", "clusters: [", 1))
    result = runner.invoke(main, ["build", str(fleet), "--out", str(out)])
    assert result.exit_code == 2 and "error[MG001]" in result.output
