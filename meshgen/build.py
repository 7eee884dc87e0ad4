"""The pipeline in one place: load -> model -> plan -> render -> emit.

The stages are imported where they run, not at the top: a build the cache proves up to
date (up_to_date) then never loads the model, the planner, jinja2 or cryptography, which
would take most of its time (README: "The build cache")."""

from __future__ import annotations

import datetime
import functools
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import cache
from .background import Background
from .budget import DEFAULT_BUDGET, Budget, check_budget, check_federations
from .cache import Entry
from .cachedetail import ClusterRecord, Detail
from .defaults import DEFAULT_OUT
from .errors import FleetError, Problem, Problems, Severity
from .gcpause import collector_paused
from .outlock import locked, resolved
from .progress import NO_PROGRESS, Progress
from .readlog import Read, recording

if TYPE_CHECKING:
    from .model import Fleet
    from .output import TreeDiff
    from .outtree import Stat
    from .plan import Plan



# the clusters a build may reuse, or a function that gives them once the fleet is planned
Reuse = dict[str, ClusterRecord] | Callable[[], dict[str, ClusterRecord]]


@dataclass
class Build:
    fleet: Fleet
    plan: Plan
    # every file of the tree; with reuse, those of the clusters that were rendered
    files: dict[str, bytes]
    # with reuse: the files of the clusters that were not rendered (left as on disk)
    reused: list[str] = field(default_factory=list)
    # with reuse: what the cache records of each cluster of this build
    records: dict[str, ClusterRecord] = field(default_factory=dict)
    # with reuse: the clusters that were not rendered
    kept: list[str] = field(default_factory=list)

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
                  workers: int | None = None, progress: Progress = NO_PROGRESS,
                  reuse: Reuse | None = None) -> Build:
    """The whole pipeline. reuse: the clusters of the last build of this fleet into out
    whose files are on disk as that build wrote them (under the same static key), or a
    function that gives them, called once the fleet is planned; a cluster whose
    fingerprint is the one recorded there is not rendered, its files are listed in
    Build.reused. With reuse (even empty) every cluster's record is kept."""
    from .deliver import ObjectKinds, render_delivery
    from .emit import emit_bundle, emit_cluster
    from .keyscan import private_keys
    from .overrides import check_overrides
    from .render import Renderer, render_cluster
    from .reuse import fingerprint
    from .workers import cluster_workers, map_in_order
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
    build = Build(fleet=fleet, plan=plan, files=files)
    prints = {c.name: fingerprint(plan, c.name, name, templates is not None)
              for c in plan.clusters} \
        if reuse is not None else {}
    previous = (reuse() if callable(reuse) else reuse) or {}
    kept = {c: previous[c] for c, print_ in prints.items()
            if print_ is not None and c in previous and previous[c].fingerprint == print_}
    progress.stage(f"rendering {len(plan.clusters) - len(kept)} of {len(plan.clusters)} "
                   f"clusters ({len(kept)} reused)" if kept else
                   f"rendering {len(plan.clusters)} clusters")

    def render_and_emit(cluster: str) -> tuple[dict[str, bytes], ObjectKinds]:
        # one cluster at a time: its objects are dropped once written as text, so the
        # documents of the whole fleet are never alive together
        documents = render_cluster(renderer, plan, cluster)
        own = ObjectKinds()
        own.add(documents)
        return emit_cluster(cluster, documents, name, writer, 1), own

    todo = [c.name for c in plan.clusters if c.name not in kept]
    # forked workers take whole clusters (they inherit the plan; only the bytes come back)
    done = dict(zip(todo, map_in_order(render_and_emit, todo,
                                       cluster_workers(len(todo), workers)), strict=True))
    for cluster in plan.clusters:
        if (record := kept.get(cluster.name)) is not None:
            build.kept.append(cluster.name)
            kinds.namespaced.update(record.namespaced)
            kinds.cluster_scoped.update(record.cluster_scoped)
            build.reused.extend(record.files)
        else:
            emitted, own = done.pop(cluster.name)
            kinds.update(own)
            files.update(emitted)
            record = ClusterRecord(prints.get(cluster.name), tuple(sorted(emitted)),
                                   tuple(sorted(own.namespaced)),
                                   tuple(sorted(own.cluster_scoped)))
        if reuse is not None:
            build.records[cluster.name] = record
    for bundle in render_delivery(plan, kinds, templates):
        files.update(emit_bundle(bundle, name, writer))
    build.files = dict(sorted(files.items()))
    build.reused.sort()
    if leaks := private_keys(build.files, out):  # the reused were scanned when emitted
        problems = Problems()
        problems.extend([*plan.warnings, *leaks])
        raise FleetError(problems)
    if warning := delivery_path_problem(fleet, plan, out):
        plan.warnings.append(warning)
    return build


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


@dataclass
class CacheState:
    """What the cache says about the next build of a fleet into out."""

    static: str  # the static key now
    entry: Entry | None = None  # it proves the tree up to date: nothing to compile
    # the tree is exactly the last build's output, under the same static key: the
    # clusters whose fingerprint did not change need not be rendered again
    reusable: Detail | None = None
    # the records of the tree, taken when it proved to be the last build's output
    records: cache.TreeRecords | None = None
    # that proof, still being made by a forked child (cache_state's background)
    pending: Background[tuple[Detail | None, cache.TreeRecords | None]] | None = None

    def proven(self) -> CacheState:
        """The state once the pending proof is in (at once when there is none)."""
        if self.pending is not None:
            pending, self.pending = self.pending, None
            with pending:
                self.reusable, self.records = pending.result()
        return self

    def close(self) -> None:
        """Drop a proof nobody will wait for (its child is killed)."""
        if self.pending is not None:
            self.pending.close()
            self.pending = None


class ProvenStats(Mapping[str, "Stat | None"]):
    """The stat record of each reused file as the cache's walk proved it, read from the
    tree's records when the writer asks (it does not ask for files in settled
    directories, whose records are then never unpickled)."""

    def __init__(self, reused: list[str], tree: cache.TreeRecords | None) -> None:
        self._reused = reused
        self._known = frozenset(reused)
        self._tree = tree

    def __getitem__(self, rel: str) -> Stat | None:
        if rel not in self._known:
            raise KeyError(rel)
        return self._tree.stat(rel) if self._tree is not None else None

    def __iter__(self) -> Iterator[str]:
        return iter(self._reused)

    def __len__(self) -> int:
        return len(self._reused)


def cache_state(fleet_path: Path, out: Path, templates: Path | None,
                budget: Budget = DEFAULT_BUDGET, reuse: bool = True) -> CacheState:
    """The entry when the inputs are those of the last build and the tree is its output;
    else, with reuse, when only the inputs changed, the proof of what may be reused (the
    last build's detail and the tree's records), made by a forked child while the caller
    loads and plans (CacheState.proven() waits for it): the walk of a large tree costs as
    much as planning it. reuse=False: only whether the tree is up to date (what `build
    --check` asks)."""
    entry_file = cache.entry_path(fleet_path, out)
    entry = cache.load_entry(entry_file)
    static = cache.static_key(fleet_path, out, templates, _options(budget))
    if entry is None or entry.static != static:
        return CacheState(static)
    moment = datetime.datetime.now(datetime.timezone.utc).timestamp()
    if entry.valid_from <= moment < entry.valid_until and \
            cache.full_key(static, cache.reread(entry.reads)) == entry.key:
        tree = cache.walk_tree(resolved(out))
        same = tree is not None and tree.digest() == entry.tree
        return CacheState(static, entry=entry if same else None)
    if not reuse:
        return CacheState(static)
    from .cachedetail import detail_path

    return CacheState(static, pending=Background(functools.partial(
        _reusable_tree, resolved(out), entry, detail_path(entry_file))))


def _reusable_tree(root: Path, entry: Entry, path: Path
                   ) -> tuple[Detail | None, cache.TreeRecords | None]:
    """The last build's detail and the tree's records, when the tree is that build's
    output (its records have the digest the entry holds); else (None, None)."""
    from .cachedetail import load_detail

    tree = cache.walk_tree(root)
    if tree is None or tree.digest() != entry.tree:
        return None, None
    return load_detail(path, entry.detail), tree


def up_to_date(fleet_path: Path, out: Path, templates: Path | None,
               budget: Budget = DEFAULT_BUDGET) -> Entry | None:
    """The cache entry of the last build when it proves that a build now would write
    exactly the tree on disk: the same inputs (meshgen, templates, options, the fleet and
    every file it read), the same certificate verdicts at this moment, and every file
    under out with the inode, size, mtime and ctime recorded after that build's write (a
    file edited, added, removed or replaced since differs). None: build for real."""
    return cache_state(fleet_path, out, templates, budget, reuse=False).entry


def build_and_write(fleet_path: Path, out: Path, templates: Path | None, budget: Budget,
                    use_cache: bool, warn: Callable[[list[Problem]], None],
                    progress: Progress = NO_PROGRESS) -> Written:
    """Compile the fleet and bring out up to date, under out's lock; with use_cache, skip
    both when the cache proves out up to date, render only the clusters that changed when
    it proves the tree is the last build's output, and record the result for next time."""
    # tens of thousands of records and paths are made and kept: the cyclic collector
    # would walk them again and again for nothing
    with locked(out), collector_paused(last=True):
        state = CacheState("")
        if use_cache:
            progress.stage("checking the cache")
            state = cache_state(fleet_path, out, templates, budget)
            if (entry := state.entry) is not None:
                progress.done()
                warn(entry.problems())
                return Written(entry.problems(), entry.files, entry.clusters, None)
        try:
            return _compile_and_write(fleet_path, out, templates, budget, use_cache, warn,
                                      progress, state)
        finally:
            state.close()


def _compile_and_write(fleet_path: Path, out: Path, templates: Path | None, budget: Budget,
                       use_cache: bool, warn: Callable[[list[Problem]], None],
                       progress: Progress, state: CacheState) -> Written:
    # only now: the cached path does not need them
    from .cachedetail import settled_tops
    from .output import ReusedChanged, write_tree

    def reusable() -> dict[str, ClusterRecord]:
        detail = state.proven().reusable
        return detail.clusters if detail is not None else {}

    now = datetime.datetime.now(datetime.timezone.utc)
    with recording() as reads:
        result = compile_fleet(fleet_path, out, templates, now, budget, progress=progress,
                               reuse=reusable if use_cache else None)
    progress.done()
    warn(result.warnings)
    path = cache.entry_path(fleet_path, out)
    if use_cache:
        cache.forget(path)  # the tree is about to change: the entry would lie
    total = len(result.files) + len(result.reused)
    progress.stage(f"writing {total} files")
    tree, previous = state.proven().records, state.reusable
    settled = settled_tops(previous, result.files, result.kept) \
        if tree is not None and previous is not None else set()
    try:
        diff = write_tree(out, result.files, reused=ProvenStats(result.reused, tree),
                          settled=settled)
    except ReusedChanged:  # the tree changed during the build: no reuse, build again
        progress.stage("the output changed during the build: building it whole")
        result = compile_fleet(fleet_path, out, templates, now, budget, progress=progress)
        total = len(result.files)
        diff = write_tree(out, result.files)
        use_cache = False  # the reads recorded were the first compile's: store nothing
    if use_cache:
        _remember(out, path, result, state, reads, now, diff.staged, settled)
    return Written(result.warnings, total, len(result.plan.clusters), diff)


def _remember(out: Path, path: Path, result: Build, state: CacheState, reads: list[Read],
              now: datetime.datetime, staged: str | None, settled: set[str]) -> None:
    """Store the entry of this build, once every file it wrote or kept is proven to hold
    its bytes after the stats the entry records were taken (an edit during the build is
    not recorded as up to date; a kept file whose stats changed is read again)."""
    from .cachedetail import Detail, detail_path, store_detail, verified_chunks

    root = resolved(out)
    # only what the write exchanged is walked again (the rest kept its earlier records)
    tree = cache.rewalked(root, state.records, staged)
    if tree is None:
        return
    # the top-level entries walked again just now (None: all of them)
    again = None if state.records is None or staged == "" else \
        [] if staged is None else [cache.top_of(staged)]
    chunks = verified_chunks(root, result.files, result.reused, result.records, result.kept,
                             tree, state.reusable, settled, again)
    if chunks is None:
        return
    detail = store_detail(detail_path(path), Detail(result.records, chunks))
    if detail is None:
        return
    unique = sorted(set(reads), key=_read_order)
    valid_from, valid_until = cache.window(unique, now)
    cache.store_entry(path, cache.Entry(
        key=cache.full_key(state.static, reads), valid_from=valid_from,
        valid_until=valid_until, reads=unique, warnings=cache.warnings_of(result.warnings),
        files=len(result.files) + len(result.reused), clusters=len(result.plan.clusters),
        tree=tree.digest(), static=state.static, detail=detail))
