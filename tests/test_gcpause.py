"""The collector pause (meshgen.gcpause): cycles made during a pause are collected after
it, in-process use never freezes anything, and only the `meshgen` command's main pause
freezes what it made (the process ends right after)."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from conftest import EXAMPLE_FLEET
from meshgen import gcpause
from meshgen.cli import main


class Node:
    partner: Node | None = None


def cycle() -> weakref.ref[Node]:
    first, second = Node(), Node()
    first.partner, second.partner = second, first
    return weakref.ref(first)


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()


@pytest.mark.parametrize("last", [False, True])
def test_cycles_made_during_pauses_are_collected_in_process_use(last: bool) -> None:
    for _ in range(3):
        with gcpause.collector_paused(last=last), gcpause.collector_paused():
            made = cycle()
        gc.collect()
        assert made() is None
    assert gc.get_freeze_count() == 0


def test_an_in_process_build_freezes_nothing(tmp_path: object) -> None:
    result = CliRunner().invoke(main, ["build", str(EXAMPLE_FLEET), "--out",
                                       f"{tmp_path}/out", "--no-cache"])
    assert result.exit_code == 0, result.output
    assert gc.get_freeze_count() == 0


def test_the_command_freezes_what_its_build_made() -> None:
    """In the `meshgen` process the build's pause ends frozen; its other pauses do not."""
    script = """
import gc
from meshgen import gcpause
gcpause.command_line()
with gcpause.collector_paused():
    x = [object() for _ in range(1000)]
print(gc.get_freeze_count())
with gcpause.collector_paused(last=True):
    y = [object() for _ in range(1000)]
print(gc.get_freeze_count() >= 1000)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["0", "True"]
