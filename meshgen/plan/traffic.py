"""Traffic across meshes: every `traffic` entry checked, its imports resolved to the exact
hostname the mesh's ImportedServiceSet produces (README "Traffic across meshes")."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from .. import model
from ..backends.ossm2.services import _provides
from ..source import PathKey
from .checker import Checker, did_you_mean
from .types import ExportRule, ImportRule, MeshPlan, Peering

# the node label istiod takes an endpoint's region from (the well-known Kubernetes label)
REGION_LABEL = "topology.kubernetes.io/region"
LOCAL_SUFFIX = "svc.cluster.local"
# what makes Envoy eject an endpoint that keeps failing, so locality failover moves on;
# localityLbSetting has no effect without outlierDetection (OSSM 2.x docs, failover across
# meshes; openshift-docs modules/ossm-federation-config-import.adoc). maxEjectionPercent:
# Envoy ejects at most 10% of a pool's hosts when it is unset (envoy api/envoy/config/
# cluster/v3/outlier_detection.proto, max_ejection_percent; Istio passes it only when set:
# istio pilot/pkg/networking/core/cluster_traffic_policy.go), so a failing locality with
# more than one endpoint would keep most of its traffic and never fail over.
OUTLIER_DETECTION = {"consecutive5xxErrors": 1, "interval": "1s", "baseEjectionTime": "1m",
                     "maxEjectionPercent": 100}


@dataclass(frozen=True)
class Destination:
    host: str
    subset: str | None = None
    weight: int | None = None
    # the peer mesh an imported destination comes from and the import rule that makes its
    # host; None: the local service
    peer: str | None = None
    rule: ImportRule | None = None
    # istio: the cluster of the mesh whose endpoints of the host this is (subset `cluster`)
    cluster: str | None = None


@dataclass(frozen=True)
class FailoverPlan:
    """Locality failover (DestinationRule localityLbSetting): from a caller's region to
    another; ossm2 to a peer's asLocal endpoints, istio to one cluster's endpoints after
    the caller's own cluster (`priority`: failoverPriority labels)."""

    pairs: tuple[tuple[str, str], ...]
    peer: str | None = None
    cluster: str | None = None
    priority: tuple[str, ...] = ()

    # the first pair, for template overrides written before failover had several
    @property
    def from_region(self) -> str | None:
        return self.pairs[0][0] if self.pairs else None

    @property
    def to_region(self) -> str | None:
        return self.pairs[0][1] if self.pairs else None

    def describe(self) -> str:
        regions = ", ".join(f"{a} -> {b}" for a, b in self.pairs)
        if self.cluster is not None:
            return f"failover to cluster {self.cluster} after the caller's own cluster" + \
                (f" ({regions})" if regions else "")
        return f"failover {regions} ({self.peer}, asLocal)"


@dataclass
class TrafficPlan:
    """One `traffic` entry: a VirtualService and/or a DestinationRule on `host`."""

    mesh: str
    namespace: str
    name: str
    subsets: dict[str, dict[str, str]]
    route: list[Destination]
    origin: PathKey
    mirror: Destination | None = None
    mirror_percent: float = 100
    failover: FailoverPlan | None = None
    outlier_detection: dict[str, object] = field(default_factory=dict)
    # istio: the clusters that hold the objects (the mesh's primaries); ossm2: the mesh's
    clusters: tuple[str, ...] = ()

    @property
    def host(self) -> str:
        return f"{self.name}.{self.namespace}.{LOCAL_SUFFIX}"

    @property
    def virtual_service(self) -> bool:
        return bool(self.route) or self.mirror is not None

    @property
    def destination_rule(self) -> bool:
        return bool(self.subsets) or self.failover is not None

    def destinations(self) -> list[Destination]:
        return [*self.route, *([self.mirror] if self.mirror else [])]

    def reached(self, by: Literal["peer", "cluster"]) -> dict[str, list[str]]:
        """What of this entry's traffic reaches each peer mesh (ossm2) or cluster (istio):
        route weights, the mirror's percent, failover."""
        reached: dict[str, list[str]] = {}
        for d in self.route:
            if (target := getattr(d, by)) is not None:
                reached.setdefault(target, []).append(f"{d.weight}%")
        if self.mirror is not None and (target := getattr(self.mirror, by)) is not None:
            reached.setdefault(target, []).append(f"mirror {self.mirror_percent:g}%")
        if self.failover is not None and (target := getattr(self.failover, by)) is not None:
            reached.setdefault(target, []).append("failover")
        return reached


def _local_name(rule: ImportRule) -> tuple[str, str]:
    """(namespace, name) the importing mesh sees for what rule imports; "*" where any."""
    namespace = rule.alias_namespace if rule.alias_namespace not in (None, "*") else \
        rule.namespace
    name = rule.alias_name if rule.alias_name not in (None, "*") else rule.name
    return namespace or "*", name or "*"


def _exported_name(rule: ImportRule, wanted: tuple[str, str]) -> tuple[str, str]:
    """The name as exported of what rule imports as wanted ("*" where an alias hides it)."""
    local = _local_name(rule)
    namespace = rule.namespace if rule.namespace != "*" or local[0] != rule.namespace \
        else wanted[0]
    name = rule.name if rule.name != "*" or local[1] != rule.name else wanted[1]
    return namespace, name


def _meets(pattern: tuple[str, str], wanted: tuple[str, str]) -> bool:
    return all(p in ("*", w) for p, w in zip(pattern, wanted, strict=True))


def _catches(rule: ImportRule, exported: tuple[str, str]) -> bool:
    """Whether rule surely matches a service exported as `exported` (the ISS's first
    matching rule wins: maistra/istio, maistra-2.5, pkg/servicemesh/federation/common/
    imports.go)."""
    return "*" not in exported and _meets((rule.namespace, rule.name), exported)


@dataclass(frozen=True)
class Resolved:
    rule: ImportRule
    hostname: str


def resolve_import(peering: Peering, offered: list[ExportRule],
                   wanted: tuple[str, str]) -> Resolved | str:
    """The ImportedServiceSet rule that gives wanted (namespace, name) in the importing
    mesh and the hostname it produces, or why none does; offered: the peer's export
    rules towards the mesh, in order."""
    for k, rule in enumerate(peering.imports):
        if not _meets(_local_name(rule), wanted):
            continue
        exported = _exported_name(rule, wanted)
        shadow = next((r for r in peering.imports[:k] if _catches(r, exported)), None)
        if shadow is not None:
            return (f"the import rule for {'/'.join(exported)} that comes first names it "
                    f"{'/'.join(_local_name(shadow))}")
        if not any(_provides(offered, j, exported) for j in range(len(offered))):
            return (f'"{peering.peer.name}" exports nothing to "{peering.local.name}" '
                    f"that is imported as {'/'.join(wanted)}")
        bare = dataclasses.replace(rule, alias_namespace=None, alias_name=None)
        return Resolved(rule, peering.imported_hostname(bare, wanted[1], wanted[0]))
    names = ", ".join(sorted("/".join(_local_name(r)) for r in peering.imports)) or "none"
    return f'imports of mesh "{peering.local.name}" from "{peering.peer.name}": {names}'


class BackendTraffic(Protocol):
    """A backend that plans `traffic` entries of its own meshes (backends/istio/traffic.py)."""

    def owns(self, mesh: str) -> bool: ...

    def entry(self, entry: model.Traffic, path: PathKey) -> TrafficPlan | None: ...


class TrafficRules(Checker):
    def localities(self, meshes: dict[str, MeshPlan],
                   by_pair: dict[tuple[str, str], Peering]) -> None:
        """Each ImportedServiceSet's locality; one per set, so import entries agree."""
        set_at: dict[tuple[str, str], PathKey] = {}
        for i, imp in enumerate(self.fleet.imports):
            peering = by_pair.get((imp.mesh, imp.from_))
            if imp.locality is None or peering is None:
                continue
            locality = imp.locality.model_dump(exclude_none=True)
            path: PathKey = ("imports", i, "locality")
            first = set_at.setdefault((imp.mesh, imp.from_), path)
            if first != path and peering.locality != locality:
                self.error("MG173", f'imports of mesh "{imp.mesh}" from "{imp.from_}" give '
                           "their ImportedServiceSet two localities (the other at line "
                           f"{self.source.at(first).line})", path,
                           "one ImportedServiceSet has one locality: set it on one entry "
                           "or make them equal")
                continue
            peering.locality = locality

    def traffic(self, meshes: dict[str, MeshPlan], by_pair: dict[tuple[str, str], Peering],
                istio: BackendTraffic) -> list[TrafficPlan]:
        plans: list[TrafficPlan] = []
        seen: dict[tuple[str, str, str], PathKey] = {}
        for i, entry in enumerate(self.fleet.traffic):
            path: PathKey = ("traffic", i)
            mesh = meshes.get(entry.mesh)
            if mesh is None and not istio.owns(entry.mesh):
                if entry.mesh not in self.unresolved:
                    self.error("MG031", f'traffic names unknown mesh "{entry.mesh}"',
                               (*path, "mesh"), did_you_mean(entry.mesh, meshes))
                continue
            key = (entry.mesh, entry.host.namespace, entry.host.name)
            if key in seen:
                self.error("MG164", f"a second traffic entry for {entry.host.namespace}/"
                           f'{entry.host.name} in mesh "{entry.mesh}" (the first at line '
                           f"{self.source.at(seen[key]).line})", (*path, "host"),
                           "one entry per host: merge its route, mirror and failover")
                continue
            seen[key] = path
            plan = istio.entry(entry, path) if mesh is None else \
                self.traffic_entry(mesh, entry, by_pair, path)
            if plan is not None:
                plans.append(plan)
        return sorted(plans, key=lambda p: (p.mesh, p.namespace, p.name))

    def traffic_entry(self, mesh: MeshPlan, entry: model.Traffic,
                      by_pair: dict[tuple[str, str], Peering],
                      path: PathKey) -> TrafficPlan | None:
        errors = len(self.problems.errors)
        host = entry.host
        self.check_entry(mesh.name, mesh.members, entry, path)
        route = [d for j, dest in enumerate(entry.route or [])
                 if (d := self.route_destination(mesh, entry, dest, by_pair,
                                                 (*path, "route", j))) is not None]
        self.refuse_cluster_fields(mesh, entry, path)
        mirror = None
        if entry.mirror is not None and entry.mirror.import_ is not None:
            mirror = self.imported(mesh, entry.mirror.import_, by_pair,
                                   (*path, "mirror", "import"))
            live = [d for d in entry.route or [] if d.weight > 0]
            if mirror is not None and len(live) == 1 and live[0].import_ is not None and \
                    live[0].import_ == entry.mirror.import_:
                self.error("MG165", f"{host.namespace}/{host.name} mirrors to the service "
                           "that gets all of its traffic", (*path, "mirror"),
                           "a mirror copies traffic to a second service: route to another "
                           "destination or drop the mirror")
        failover = None
        if entry.failover is not None and entry.failover.from_ is not None:
            failover = self.failover(mesh, entry, by_pair, (*path, "failover"))
        if len(self.problems.errors) > errors:
            return None
        return TrafficPlan(
            mesh=mesh.name, namespace=host.namespace, name=host.name,
            subsets={k: dict(sorted(v.items())) for k, v in sorted(entry.subsets.items())},
            route=route, origin=path, mirror=mirror,
            mirror_percent=entry.mirror.percent if entry.mirror else 100,
            failover=failover,
            outlier_detection=dict(OUTLIER_DETECTION) if failover else {},
            clusters=(mesh.cluster.name,),
        )

    def check_entry(self, mesh: str, members: Iterable[str], entry: model.Traffic,
                    path: PathKey) -> None:
        """What holds for an entry on a mesh of any backend: a member host, something to
        do, weights summing to 100."""
        host = entry.host
        if host.namespace not in members:
            self.error("MG160", f'namespace "{host.namespace}" is not a member of mesh '
                       f'"{mesh}"', (*path, "host", "namespace"),
                       "the host is a Service of the mesh's clients; members: "
                       + (", ".join(members) or "none"))
        if entry.route is None and entry.mirror is None and entry.failover is None:
            self.error("MG171", f"the traffic entry for {host.namespace}/{host.name} has no "
                       "route, mirror or failover", path,
                       "add a `route`, a `mirror` or a `failover`, or remove the entry")
        if entry.route is not None:
            total = sum(d.weight for d in entry.route)
            if total != 100:
                self.error("MG162", f"route weights of {host.namespace}/{host.name} sum to "
                           f"{total}, not 100", (*path, "route"),
                           "give every destination an integer weight; together 100")

    def refuse_cluster_fields(self, mesh: MeshPlan, entry: model.Traffic,
                              path: PathKey) -> None:
        """`cluster` destinations are the istio backend's; ossm2 names imports (MG175),
        and a mirror or failover must name its target (MG179)."""
        backend = f'ossm2 mesh "{mesh.name}" routes to imports of its peers, not to clusters'
        hint = "name an `import: {from, namespace, name}` instead; `cluster` is for istio meshes"
        for j, dest in enumerate(entry.route or []):
            if dest.cluster is not None:
                self.error("MG175", backend, (*path, "route", j, "cluster"), hint)
        if entry.mirror is not None:
            if entry.mirror.cluster is not None:
                self.error("MG175", backend, (*path, "mirror", "cluster"), hint)
            elif entry.mirror.import_ is None:
                self.error("MG179", f"the mirror of {entry.host.namespace}/{entry.host.name} "
                           "names no `import`", (*path, "mirror"),
                           "add import: {from, namespace, name} of the service to copy to")
        if entry.failover is not None:
            if entry.failover.cluster is not None:
                self.error("MG175", backend, (*path, "failover", "cluster"),
                           "fail over to a peer with `from: <peer mesh>`; `cluster` is for "
                           "istio meshes")
            elif entry.failover.from_ is None:
                self.error("MG179", f"the failover of {entry.host.namespace}/"
                           f"{entry.host.name} names no peer", (*path, "failover"),
                           "add from: <peer mesh> whose asLocal import of the host takes "
                           "over")

    def route_destination(self, mesh: MeshPlan, entry: model.Traffic,
                          dest: model.RouteDestination,
                          by_pair: dict[tuple[str, str], Peering],
                          path: PathKey) -> Destination | None:
        if dest.cluster is not None:
            return None  # refused: refuse_cluster_fields
        if dest.import_ is not None:
            if dest.subset is not None:
                self.error("MG172", "a route destination names a subset of the local "
                           "service or an import, not both", (*path, "subset"),
                           "subsets belong to the local service; drop `subset` here")
                return None
            imported = self.imported(mesh, dest.import_, by_pair, (*path, "import"))
            return dataclasses.replace(imported, weight=dest.weight) if imported else None
        return self.local_destination(entry, dest, path)

    def local_destination(self, entry: model.Traffic, dest: model.RouteDestination,
                          path: PathKey) -> Destination | None:
        """The host itself, or one of its declared subsets."""
        if dest.subset is not None and dest.subset not in entry.subsets:
            self.error("MG163", f'subset "{dest.subset}" is not declared', (*path, "subset"),
                       "declared subsets: " + (", ".join(sorted(entry.subsets)) or "none")
                       + "; add it under `subsets`")
            return None
        return Destination(f"{entry.host.name}.{entry.host.namespace}.{LOCAL_SUFFIX}",
                           dest.subset, dest.weight)

    def peering_for(self, mesh: MeshPlan, peer: str,
                    by_pair: dict[tuple[str, str], Peering], path: PathKey) -> Peering | None:
        peering = by_pair.get((mesh.name, peer))
        if peering is None and not self.reported(mesh.name, peer):
            self.error("MG168", f'mesh "{mesh.name}" is not federated with "{peer}"', path,
                       "peers of this mesh: " + (", ".join(mesh.peers) or "none"))
        return peering

    def imported(self, mesh: MeshPlan, ref: model.ImportRef,
                 by_pair: dict[tuple[str, str], Peering], path: PathKey) -> Destination | None:
        peering = self.peering_for(mesh, ref.from_, by_pair, (*path, "from"))
        if peering is None:
            return None
        found = resolve_import(peering, by_pair[(ref.from_, mesh.name)].exports,
                               (ref.namespace, ref.name))
        if isinstance(found, str):
            self.error("MG161", f'mesh "{mesh.name}" imports no {ref.namespace}/{ref.name} '
                       f'from "{ref.from_}"', path,
                       f"{found}; names here are as imported (after the import alias)")
            return None
        return Destination(found.hostname, peer=ref.from_, rule=found.rule)

    def failover(self, mesh: MeshPlan, entry: model.Traffic,
                 by_pair: dict[tuple[str, str], Peering], path: PathKey) -> FailoverPlan | None:
        assert entry.failover is not None and entry.failover.from_ is not None
        peer = entry.failover.from_
        peering = self.peering_for(mesh, peer, by_pair, (*path, "from"))
        if peering is None:
            return None
        host = entry.host
        found = resolve_import(peering, by_pair[(peer, mesh.name)].exports,
                               (host.namespace, host.name))
        if isinstance(found, str) or not found.rule.as_local:
            self.error("MG166", f"failover of {host.namespace}/{host.name} needs an "
                       f'`asLocal` import of it from "{peer}"', (*path, "from"),
                       f'import the service from "{peer}" with asLocal: true and '
                       f"alias {{namespace: {host.namespace}, name: {host.name}}}, so its "
                       "endpoints join the local service")
            return None
        if peering.locality is None:
            self.error("MG167", f'failover to "{peer}" needs a `locality` on the import of '
                       f'mesh "{mesh.name}" from "{peer}"', (*path, "from"),
                       "add locality: {region: <peer's region>} to that imports entry")
            return None
        local = entry.failover.local_region or mesh.cluster.labels.get(REGION_LABEL)
        remote = peering.locality["region"]
        if local is None or local == remote:
            why = (f'cluster "{mesh.cluster.name}" has no {REGION_LABEL} label' if local is None
                   else f'it equals the region "{remote}" of the imported endpoints')
            self.error("MG170", f"no region to fail over from: {why}", path,
                       "set failover.localRegion to the region of the mesh's own "
                       "endpoints, other than the import's locality")
            return None
        return FailoverPlan(((local, remote),), peer=peer)
