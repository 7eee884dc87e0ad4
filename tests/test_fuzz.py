"""A bounded run of bench/fuzz.py: mutated fleets end in a build or in located problems
with hints, never in a traceback or a hang."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from fuzz import fuzz  # bench/ is no package

COUNT = 200


def test_mutated_fleets_never_crash_or_hang(tmp_path: Path) -> None:
    outcome = fuzz(COUNT, seed=12, directory=tmp_path, limit=10.0)
    assert outcome.tried == COUNT
    assert outcome.crashes == [], outcome.crashes[0][1]
    assert outcome.hangs == []
    assert outcome.without_hint == []
    assert outcome.built > 0 and outcome.refused > 0
