"""The pipeline in one place: load -> model -> plan -> render -> emit."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path

from .budget import DEFAULT_BUDGET, Budget, check_federations
from .deliver import render_delivery
from .emit import emit
from .errors import FleetError, Problem, Problems, Severity
from .keyscan import private_keys
from .model import Fleet, parse_fleet
from .overrides import check_overrides
from .plan import Plan, build_plan
from .render import render_plan
from .source import load

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
    so the header is the same whatever directory meshgen runs from. A symlinked --out
    counts where the link is, so the header does not change when the link is moved."""
    base = Path(os.path.abspath(out)).parent.resolve()
    return Path(os.path.relpath(fleet_path.resolve(), base)).as_posix()


def repository_root(path: Path) -> Path | None:
    """The nearest directory at or above path holding .git (a directory or a worktree file)."""
    for candidate in (path, *path.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def delivery_path_problem(fleet: Fleet, plan: Plan, out: Path) -> Problem | None:
    """A warning when delivery.path does not name the directory the overlays are written
    to: every Application and Subscription would then look in the wrong place."""
    if plan.delivery is None:
        return None
    resolved = out.resolve()
    root = repository_root(resolved)
    if root is None:
        return None
    actual = resolved.relative_to(root).as_posix() or "."
    if actual == plan.delivery.path:
        return None
    written = fleet.delivery is not None and "path" in fleet.delivery.model_fields_set
    where = plan.source.at(("delivery", "path")) if written else \
        plan.source.key_at(("delivery",))
    return Problem("MG106", f'delivery.path is "{plan.delivery.path}" but the overlays are '
                   f'written to "{actual}" in the repository at {root}', where,
                   f'set delivery.path to "{actual}" or build with --out <repo>/'
                   f"{plan.delivery.path}", Severity.WARNING)


def _front(fleet_path: Path, now: datetime.datetime | None, certificates: bool = True,
           budget: Budget | None = None) -> tuple[Fleet, Plan]:
    source = load(fleet_path, str(fleet_path))
    fleet = parse_fleet(source)
    if budget is not None:
        check_federations(fleet, source, budget)
    return fleet, build_plan(fleet, source, fleet_path.resolve().parent, now, certificates)


def plan_fleet(fleet_path: Path, now: datetime.datetime | None = None,
               certificates: bool = True) -> Plan:
    """The front end and the middle only: for commands that read the Plan, not the objects.
    certificates=False reads no certificate file (for the commands that make them)."""
    return _front(fleet_path, now, certificates)[1]


def compile_fleet(fleet_path: Path, out: Path = DEFAULT_OUT, templates: Path | None = None,
                  now: datetime.datetime | None = None, budget: Budget = DEFAULT_BUDGET,
                  workers: int | None = None) -> Build:
    fleet, plan = _front(fleet_path, now, budget=budget)
    if templates is not None:
        check_overrides(templates)
    documents = render_plan(plan, templates, budget)
    bundles = render_delivery(plan, documents, templates)
    files = emit(documents, [c.name for c in plan.clusters], source_name(fleet_path, out),
                 bundles, workers)
    if leaks := private_keys(files, out):
        problems = Problems()
        problems.extend([*plan.warnings, *leaks])
        raise FleetError(problems)
    if warning := delivery_path_problem(fleet, plan, out):
        plan.warnings.append(warning)
    return Build(fleet=fleet, plan=plan, files=files)
