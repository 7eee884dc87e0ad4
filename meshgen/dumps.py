"""Read what `oc get … -o yaml|json` printed for a cluster: the mesh objects, located.

A dump is a `kind: List` with `items`, a stream of documents, or one object (YAML or JSON,
which YAML reads too). It goes through the fleet file's loader (source.py): no anchors or
aliases are expanded, nesting and size are bounded, every object keeps its file:line:col.
Objects of other kinds (ConfigMaps, Pods, …) are skipped; a mesh kind under an API
version meshgen does not know is refused, since its status may not mean what we read.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import DocumentStartEvent

from .errors import FleetError, Location, Problem, Problems
from .readlog import Unreadable, read_capped
from .source import SourceFile, _Builder

MAX_DUMP_BYTES = 32 * 1024 * 1024
DUMP_KINDS = "smcp,smmr,servicemeshpeers,exportedservicesets,importedservicesets"
DUMP_COMMAND = f"oc get {DUMP_KINDS} -A -o yaml"
# add to it to tell entries of istiod pods that are gone: oc get pods -A -l app=istiod

# kind -> the API versions whose status shapes status.py reads (maistra/api, maistra-2.6:
# federation/v1/*_types.go, core/v1/memberroll_types.go, core/v2/controlplane_types.go)
KNOWN_KINDS: dict[str, tuple[str, ...]] = {
    "ServiceMeshPeer": ("federation.maistra.io/v1",),
    "ExportedServiceSet": ("federation.maistra.io/v1",),
    "ImportedServiceSet": ("federation.maistra.io/v1",),
    "ServiceMeshControlPlane": ("maistra.io/v1", "maistra.io/v2"),
    "ServiceMeshMemberRoll": ("maistra.io/v1",),
    # optional: with the istiod pods in the dump, entries of pods gone are told apart
    "Pod": ("v1",),
    # `meshgen import ossm`: the peers' root ConfigMaps
    "ConfigMap": ("v1",),
}


@dataclass(frozen=True)
class DumpKinds:
    """What a kind of dump holds: kind -> the API versions read, and whether objects of
    other kinds are skipped (a cluster dump may hold Pods, ConfigMaps, …) or refused."""

    versions: dict[str, tuple[str, ...]]
    others_refused: bool = False
    command: str = DUMP_COMMAND


    @property
    def redump(self) -> str:
        return f"dump again: {self.command} > FILE"


CLUSTER_DUMP = DumpKinds(KNOWN_KINDS)


@dataclass(frozen=True, eq=False)  # known by identity: two dumps may hold equal objects
class DumpedObject:
    cluster: str
    kind: str
    api_version: str
    namespace: str
    name: str
    data: dict[str, Any]
    location: Location

    @property
    def key(self) -> tuple[str, str, str]:
        return self.kind, self.namespace, self.name

    @property
    def status(self) -> dict[str, Any]:
        status = self.data.get("status")
        return status if isinstance(status, dict) else {}


@dataclass
class Dump:
    cluster: str
    path: Path
    objects: list[DumpedObject]

    def find(self, kind: str, namespace: str, name: str) -> DumpedObject | None:
        return next((o for o in self.objects if o.key == (kind, namespace, name)), None)


def load_dump(cluster: str, path: Path, problems: Problems, name: str | None = None,
              kinds: DumpKinds = CLUSTER_DUMP) -> Dump:
    """The mesh objects of one dump; what is wrong with it goes to problems. name: how
    its positions are shown (default: the path)."""
    name = name or str(path)
    dump = Dump(cluster, path, [])
    try:
        raw = read_capped(path, MAX_DUMP_BYTES)
    except Unreadable as exc:
        problems.add(Problem("MG180", f"cannot read dump of cluster {cluster}: {exc}",
                             Location(name, 1, 1), "check the path"
                             + (f" after {cluster}=" if kinds is CLUSTER_DUMP else "")))
        return dump
    if len(raw) > MAX_DUMP_BYTES:
        problems.add(Problem("MG180", f"dump is larger than the {MAX_DUMP_BYTES} bytes allowed",
                             Location(name, 1, 1), "dump only the mesh kinds: " + kinds.command))
        return dump
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.add(Problem("MG180", f"dump is not UTF-8 text: {exc.reason}",
                             Location(name, line, 1), kinds.redump))
        return dump
    for source in _documents(text, name, path, problems, kinds.redump):
        _collect(dump, source, problems, kinds)
    return dump


def _documents(text: str, name: str, path: Path, problems: Problems,
               redump: str) -> list[SourceFile]:
    """Each document of the stream as a located SourceFile (source.py builds each)."""
    sources: list[SourceFile] = []
    builders: list[_Builder] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for event in YAML(typ="safe").parse(text):
                if isinstance(event, DocumentStartEvent):
                    source = SourceFile(name=name, path=path, data=None)
                    sources.append(source)
                    builders.append(_Builder(source))
                elif builders and () not in sources[-1].values:  # the document's root node
                    sources[-1].values[()] = _at(name, event)
                if builders:
                    builders[-1].feed(event)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(p.strip() for p in (exc.context, exc.problem) if p) or "invalid YAML"
        where = Location(name, mark.line + 1, mark.column + 1) if mark else Location(name)
        problems.add(Problem("MG180", f"dump is not valid YAML or JSON: {message}", where,
                             redump))
        return []
    except (YAMLError, ValueError, IndexError) as exc:
        problems.add(Problem("MG180", f"dump is not valid YAML or JSON: {exc}",
                             Location(name), redump))
        return []
    for builder in builders:
        # anchors, duplicate keys, runaway nesting: no oc prints them, so the file was edited
        problems.extend(Problem("MG180", f"dump refused: {p.message}", p.location, redump)
                        for p in builder.problems.errors)
    if any(b.problems.errors for b in builders):
        return []
    return [s for s in sources if s.data is not None]


def _at(name: str, event: Any) -> Location:
    return Location(name, event.start_mark.line + 1, event.start_mark.column + 1)


def _collect(dump: Dump, source: SourceFile, problems: Problems, kinds: DumpKinds) -> None:
    data = source.data
    if isinstance(data, dict) and data.get("kind") == "List" and "items" in data:
        items = data["items"]
        if not isinstance(items, list):
            problems.add(Problem("MG181", "the List's items are not a list",
                                 source.at(("items",)), kinds.redump))
            return
        for index, item in enumerate(items):
            _object(dump, source, ("items", index), item, problems, kinds)
    else:
        _object(dump, source, (), data, problems, kinds)


def _object(dump: Dump, source: SourceFile, path: tuple[str | int, ...], item: Any,
            problems: Problems, kinds: DumpKinds) -> None:
    where = source.at(path)
    if not isinstance(item, dict) or not isinstance(item.get("kind"), str):
        problems.add(Problem("MG181", "not a Kubernetes object (a mapping with a kind)",
                             where, kinds.redump))
        return
    kind, version = item["kind"], item.get("apiVersion")
    known = kinds.versions.get(kind)
    if known is None and kinds.others_refused:
        problems.add(Problem("MG187", f"{kind} is not a kind this dump holds: meshgen reads "
                             + ", ".join(kinds.versions), source.at((*path, "kind")),
                             "dump only those kinds: " + kinds.command))
        return
    if known is None:
        return  # a kind status does not read (ConfigMap, Pod, …)
    if version not in known:
        problems.add(Problem(
            "MG181", f"{kind} of API version {version!r}: meshgen reads {', '.join(known)}",
            source.at((*path, "apiVersion")),
            "dump the object in a known version: oc get " + kind.lower() + "s."
            + known[-1].split("/")[0] + " -A -o yaml"))
        return
    metadata = item.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    if not isinstance(name, str) or not isinstance(namespace, str) or not name or not namespace:
        problems.add(Problem("MG181", f"{kind} without metadata.name and metadata.namespace",
                             where, kinds.redump))
        return
    dump.objects.append(DumpedObject(dump.cluster, kind, version, namespace, name, item,
                                     where))


def load_dumps(arguments: dict[str, Path]) -> list[Dump]:
    """Every dump, or a FleetError with all that is wrong with any of them."""
    problems = Problems()
    dumps = [load_dump(cluster, path, problems) for cluster, path in arguments.items()]
    problems.raise_if_errors()
    return dumps


__all__ = ["CLUSTER_DUMP", "DUMP_COMMAND", "DUMP_KINDS", "Dump", "DumpKinds", "DumpedObject",
           "FleetError", "load_dumps"]
