"""The pipeline in one place: load -> model -> plan -> render -> emit.

The stages are imported where they run, not at the top: a build the cache proves up to
date (up_to_date) then never loads the model, the planner, jinja2 or cryptography, which
would take most of its time (README: "The build cache")."""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import cache
from .budget import DEFAULT_BUDGET, Budget, check_budget, check_federations
from .cache import Entry
from .defaults import DEFAULT_OUT
from .errors import FleetError, Problem, Problems, Severity
from .outlock import locked, resolved
from .progress import NO_PROGRESS, Progress
from .readlog import Read, recording

if TYPE_CHECKING:
    from .model import Fleet
    from .output import TreeDiff
    from .plan import Plan



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
    from .model import parse_fleet
    from .plan import build_plan
    from .source import load

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
                  workers: int | None = None, progress: Progress = NO_PROGRESS) -> Build:
    from .deliver import ObjectKinds, render_delivery
    from .emit import emit_bundle, emit_cluster
    from .keyscan import private_keys
    from .overrides import check_overrides
    from .render import Renderer, render_cluster
    from .yamlwriter import YamlWriter

    progress.stage("loading")
    fleet, plan = _front(fleet_path, now, budget=budget)
    if templates is not None:
        check_overrides(templates)
    check_budget(plan, budget)  # before anything is rendered
    name = source_name(fleet_path, out)
    renderer, writer = Renderer(plan.fleet_name, templates), YamlWriter()
    kinds = ObjectKinds()
    files: dict[str, bytes] = {}
    # one cluster at a time: its objects are dropped once written as text, so the
    # documents of the whole fleet are never alive together
    progress.stage(f"rendering {len(plan.clusters)} clusters")
    for cluster in plan.clusters:
        documents = render_cluster(renderer, plan, cluster.name)
        kinds.add(documents)
        files.update(emit_cluster(cluster.name, documents, name, writer, workers))
        del documents
    for bundle in render_delivery(plan, kinds, templates):
        files.update(emit_bundle(bundle, name, writer))
    files = dict(sorted(files.items()))
    if leaks := private_keys(files, out):
        problems = Problems()
        problems.extend([*plan.warnings, *leaks])
        raise FleetError(problems)
    if warning := delivery_path_problem(fleet, plan, out):
        plan.warnings.append(warning)
    return Build(fleet=fleet, plan=plan, files=files)


@dataclass
class Written:
    """What `meshgen build` did: the build's warnings and counts, and the changes it made
    (None when the cache proved the tree up to date and nothing was compiled)."""

    warnings: list[Problem]
    files: int
    clusters: int
    diff: TreeDiff | None


def _read_order(read: Read) -> tuple[str, int, str]:
    return read.path, read.limit, read.digest


def _options(budget: Budget) -> dict[str, int]:
    return {"max_objects": budget.max_objects, "max_bytes": budget.max_bytes}


def up_to_date(fleet_path: Path, out: Path, templates: Path | None,
               budget: Budget = DEFAULT_BUDGET) -> Entry | None:
    """The cache entry of the last build when it proves that a build now would write
    exactly the tree on disk: the same inputs (meshgen, templates, options, the fleet and
    every file it read), the same certificate verdicts at this moment, and every file
    under out with the inode, size, mtime and ctime recorded after that build's write (a
    file edited, added, removed or replaced since differs). None: build for real."""
    entry = cache.load_entry(cache.entry_path(fleet_path, out))
    if entry is None:
        return None
    moment = datetime.datetime.now(datetime.timezone.utc).timestamp()
    if not entry.valid_from <= moment < entry.valid_until:
        return None
    static = cache.static_key(fleet_path, out, templates, _options(budget))
    if cache.full_key(static, cache.reread(entry.reads)) != entry.key:
        return None
    if cache.tree_digest(resolved(out)) != entry.tree:
        return None
    return entry


def build_and_write(fleet_path: Path, out: Path, templates: Path | None, budget: Budget,
                    use_cache: bool, warn: Callable[[list[Problem]], None],
                    progress: Progress = NO_PROGRESS) -> Written:
    """Compile the fleet and bring out up to date, under out's lock; with use_cache, skip
    both when the cache proves out up to date, and record the result for next time."""
    with locked(out):
        if use_cache:
            progress.stage("checking the cache")
            if entry := up_to_date(fleet_path, out, templates, budget):
                progress.done()
                warn(entry.problems())
                return Written(entry.problems(), entry.files, entry.clusters, None)
        from .output import write_tree  # only now: the cached path above does not need it

        static = cache.static_key(fleet_path, out, templates, _options(budget)) \
            if use_cache else ""
        now = datetime.datetime.now(datetime.timezone.utc)
        with recording() as reads:
            result = compile_fleet(fleet_path, out, templates, now, budget, progress=progress)
        progress.done()
        warn(result.warnings)
        path = cache.entry_path(fleet_path, out)
        if use_cache:
            cache.forget(path)  # the tree is about to change: the entry would lie
        progress.stage(f"writing {len(result.files)} files")
        diff = write_tree(out, result.files)
        tree = cache.tree_digest(resolved(out)) if use_cache else None
        if tree is not None and cache.holds(resolved(out), result.files):
            unique = sorted(set(reads), key=_read_order)
            valid_from, valid_until = cache.window(unique, now)
            cache.store_entry(path, cache.Entry(
                key=cache.full_key(static, reads), valid_from=valid_from,
                valid_until=valid_until, reads=unique,
                warnings=cache.warnings_of(result.warnings), files=len(result.files),
                clusters=len(result.plan.clusters), tree=tree))
        return Written(result.warnings, len(result.files), len(result.plan.clusters), diff)
