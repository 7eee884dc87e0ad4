"""The pipeline in one place: load -> model -> plan -> render -> emit."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path

from .emit import emit
from .errors import Problem
from .model import Fleet, parse_fleet
from .plan import Plan, build_plan
from .render import render_plan
from .source import load

DEFAULT_FLEET = Path("fleet/fleet.yaml")
DEFAULT_OUT = Path("overlays")


@dataclass
class Build:
    fleet: Fleet
    plan: Plan
    files: dict[str, bytes]

    @property
    def warnings(self) -> list[Problem]:
        return self.plan.warnings


def source_name(fleet_path: Path, out: Path) -> str:
    """How generated files name their fleet: relative to the output's parent directory,
    so the header is the same whatever directory meshgen runs from."""
    base = out.resolve().parent
    return Path(os.path.relpath(fleet_path.resolve(), base)).as_posix()


def plan_fleet(fleet_path: Path, now: datetime.datetime | None = None) -> Plan:
    """The front end and the middle only: for commands that read the Plan, not the objects."""
    source = load(fleet_path, str(fleet_path))
    return build_plan(parse_fleet(source), source, fleet_path.resolve().parent, now)


def compile_fleet(fleet_path: Path, out: Path = DEFAULT_OUT, templates: Path | None = None,
                  now: datetime.datetime | None = None) -> Build:
    source = load(fleet_path, str(fleet_path))
    fleet = parse_fleet(source)
    plan = build_plan(fleet, source, fleet_path.resolve().parent, now)
    documents = render_plan(plan, templates)
    files = emit(documents, [c.name for c in plan.clusters], source_name(fleet_path, out))
    return Build(fleet=fleet, plan=plan, files=files)
