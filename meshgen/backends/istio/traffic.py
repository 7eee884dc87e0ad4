"""`traffic` on an istio mesh: routes, mirrors and failover between the clusters of the
mesh (README "Traffic across meshes", istio meshes).

One mesh spans several clusters and merges a Service's endpoints from all of them, each
endpoint labelled with the ID of the cluster it runs in — `topology.istio.io/cluster`, which
istiod adds to every endpoint and every proxy (istio/istio, master:
pilot/pkg/serviceregistry/util/label/label.go AugmentLabels, called for endpoints in
pilot/pkg/serviceregistry/kube/controller/endpoint_builder.go and for proxies in
pilot/pkg/xds/ads.go). The cluster ID is the member's `multiCluster.clusterName`, which
meshgen sets to the cluster's name (objects.py), so a subset per cluster selects that
cluster's endpoints. A route or mirror to a `cluster` becomes a DestinationRule subset named
after the cluster.

Failover keeps calls in the caller's own cluster and moves them on when its endpoints are
ejected: `localityLbSetting.failoverPriority: [topology.istio.io/cluster]` ranks endpoints
by whether their cluster label equals the caller's (pilot/pkg/networking/core/loadbalancer/
loadbalancer.go, applyFailoverPriorityPerLocality). In a mesh of more than two clusters the
next one is chosen by region: `failover: [{from: <caller's region>, to: <target's region>}]`,
which Istio applies after the priority labels (ApplyLocalityLoadBalancer) and allows beside
a non-region failoverPriority label (pkg/config/validation/agent/validation.go,
ValidateLocalityLbSetting). Either needs outlier detection, or nothing is ever ejected.

Every primary's istiod reads Istio config only from its own cluster, so the objects go to
every primary; a remote holds none (its primary's istiod configures its proxies).
"""

from __future__ import annotations

from dataclasses import dataclass

from ... import model
from ...plan.checker import did_you_mean
from ...plan.traffic import (
    LOCAL_SUFFIX,
    OUTLIER_DETECTION,
    REGION_LABEL,
    Destination,
    FailoverPlan,
    TrafficPlan,
    TrafficRules,
)
from ...source import PathKey
from .graph import node_id
from .types import IstioMeshPlan

CLUSTER_LABEL = "topology.istio.io/cluster"


class IstioTraffic:
    """Plans the `traffic` entries of istio meshes; the shared rules (host, weights,
    subsets) are TrafficRules', whose problems it reports into."""

    def __init__(self, rules: TrafficRules, meshes: list[IstioMeshPlan],
                 names: set[str]) -> None:
        self.rules = rules
        self.meshes = {m.name: m for m in meshes}
        self.names = names  # every istio mesh of the fleet, planned or not

    def owns(self, mesh: str) -> bool:
        return mesh in self.names

    def entry(self, entry: model.Traffic, path: PathKey) -> TrafficPlan | None:
        mesh = self.meshes.get(entry.mesh)
        if mesh is None:
            return None  # the mesh's own errors are reported
        rules = self.rules
        errors = len(rules.problems.errors)
        rules.check_entry(entry.mesh, mesh.members, entry, path)
        self.refuse_import_fields(mesh, entry, path)
        subsets = {k: dict(sorted(v.items())) for k, v in entry.subsets.items()}
        route = [d for j, dest in enumerate(entry.route or [])
                 if (d := self.destination(mesh, entry, dest, (*path, "route", j)))]
        mirror = self.mirror(mesh, entry, (*path, "mirror"))
        failover = None
        if entry.failover is not None and entry.failover.cluster is not None:
            failover = self.failover(mesh, entry.failover.cluster, (*path, "failover"))
        elif entry.failover is not None and entry.failover.from_ is None:
            rules.error("MG179", f"the failover of {entry.host.namespace}/{entry.host.name} "
                        "names no cluster", (*path, "failover"),
                        "add cluster: <member cluster> whose endpoints take over")
        for d in [*route, *([mirror] if mirror else [])]:
            if d.cluster is None:
                continue
            declared = entry.subsets.get(d.cluster)
            if declared is not None and declared != {CLUSTER_LABEL: d.cluster}:
                rules.error("MG177", f'subset "{d.cluster}" is declared with other labels '
                            f'than the cluster "{d.cluster}" it shares its name with',
                            (*path, "subsets", d.cluster),
                            "a route or mirror to a cluster makes the subset named after it "
                            f"({CLUSTER_LABEL}: {d.cluster}); rename the declared subset")
            subsets.setdefault(d.cluster, {CLUSTER_LABEL: d.cluster})
        if len(rules.problems.errors) > errors:
            return None
        return TrafficPlan(
            mesh=mesh.name, namespace=entry.host.namespace, name=entry.host.name,
            subsets=dict(sorted(subsets.items())), route=route, origin=path, mirror=mirror,
            mirror_percent=entry.mirror.percent if entry.mirror else 100,
            failover=failover,
            outlier_detection=dict(OUTLIER_DETECTION) if failover else {},
            clusters=tuple(p.name for p in mesh.primaries),
        )

    def refuse_import_fields(self, mesh: IstioMeshPlan, entry: model.Traffic,
                             path: PathKey) -> None:
        """Imports and peer failover are ossm2 federation's; an istio mesh has neither."""
        message = f'istio mesh "{mesh.name}" routes between its clusters, not to imports'
        hint = "name a `cluster: <member cluster>` instead; `import` and `from` are for " \
               "ossm2 meshes"
        for j, dest in enumerate(entry.route or []):
            if dest.import_ is not None:
                self.rules.error("MG175", message, (*path, "route", j, "import"), hint)
        if entry.mirror is not None and entry.mirror.import_ is not None:
            self.rules.error("MG175", message, (*path, "mirror", "import"), hint)
        if entry.failover is not None:
            if entry.failover.from_ is not None:
                self.rules.error("MG175", message, (*path, "failover", "from"), hint)
            if entry.failover.local_region is not None:
                self.rules.error("MG175", f'istio mesh "{mesh.name}" takes each cluster\'s '
                                 f"region from its {REGION_LABEL} label",
                                 (*path, "failover", "localRegion"),
                                 "remove localRegion; label the clusters instead")

    def member(self, mesh: IstioMeshPlan, name: str, path: PathKey) -> str | None:
        known = [c.name for c in self.rules.fleet.clusters]
        if name not in known:
            self.rules.error("MG030", f'traffic names unknown cluster "{name}"', path,
                             did_you_mean(name, known))
            return None
        if mesh.member(name) is None:
            self.rules.error("MG174", f'cluster "{name}" is not a member of istio mesh '
                             f'"{mesh.name}"', path,
                             "traffic routes between the clusters the mesh spans: "
                             + ", ".join(mesh.cluster_names))
            return None
        return name

    def destination(self, mesh: IstioMeshPlan, entry: model.Traffic,
                    dest: model.RouteDestination, path: PathKey) -> Destination | None:
        if dest.import_ is not None:
            return None  # refused: refuse_import_fields
        if dest.cluster is None:
            return self.rules.local_destination(entry, dest, path)
        if dest.subset is not None:
            self.rules.error("MG176", "a route destination names a subset and a cluster, "
                             "not both", (*path, "subset"),
                             f"declare a subset whose labels include {CLUSTER_LABEL}: "
                             f"{dest.cluster} and route to that subset")
            return None
        cluster = self.member(mesh, dest.cluster, (*path, "cluster"))
        return self.at_cluster(entry, cluster, dest.weight) if cluster else None

    def mirror(self, mesh: IstioMeshPlan, entry: model.Traffic,
               path: PathKey) -> Destination | None:
        if entry.mirror is None or entry.mirror.import_ is not None:
            return None
        if entry.mirror.cluster is None:
            self.rules.error("MG179", f"the mirror of {entry.host.namespace}/"
                             f"{entry.host.name} names no cluster", path,
                             "add cluster: <member cluster> whose endpoints get the copies")
            return None
        cluster = self.member(mesh, entry.mirror.cluster, (*path, "cluster"))
        if cluster is None:
            return None
        live = [d for d in entry.route or [] if d.weight > 0]
        if len(live) == 1 and live[0].cluster == cluster:
            self.rules.error("MG165", f"{entry.host.namespace}/{entry.host.name} mirrors to "
                             "the cluster that gets all of its traffic", path,
                             "a mirror copies traffic to a second destination: route to "
                             "another cluster or drop the mirror")
            return None
        return self.at_cluster(entry, cluster)

    @staticmethod
    def at_cluster(entry: model.Traffic, cluster: str,
                   weight: int | None = None) -> Destination:
        host = f"{entry.host.name}.{entry.host.namespace}.{LOCAL_SUFFIX}"
        return Destination(host, subset=cluster, weight=weight, cluster=cluster)

    def failover(self, mesh: IstioMeshPlan, target: str, path: PathKey) -> FailoverPlan | None:
        if self.member(mesh, target, (*path, "cluster")) is None:
            return None
        others = [m for m in mesh.clusters if m.name != target]
        if not others:
            self.rules.error("MG178", f'istio mesh "{mesh.name}" has only cluster "{target}": '
                             "no caller elsewhere fails over to it", (*path, "cluster"),
                             "failover moves calls between the clusters of a mesh; add a "
                             "cluster to the mesh or drop the failover")
            return None
        pairs: tuple[tuple[str, str], ...] = ()
        if len(others) > 1:  # the next cluster after the caller's own is chosen by region
            regions = {m.name: m.cluster.labels.get(REGION_LABEL) for m in mesh.clusters}
            unlabelled = [name for name, region in regions.items() if region is None]
            by_region: dict[str, list[str]] = {}
            for name, region in regions.items():
                by_region.setdefault(region or "", []).append(name)
            shared = [names for region, names in by_region.items() if region and len(names) > 1]
            if unlabelled or shared:
                why = (f"{', '.join(unlabelled)} without a {REGION_LABEL} label" if unlabelled
                       else f"{' and '.join(shared[0])} in one region")
                self.rules.error("MG178", f'failover to cluster "{target}" of a mesh of more '
                                 f"than two clusters steers by region: {why}",
                                 (*path, "cluster"),
                                 f"give every cluster of the mesh its own {REGION_LABEL} label "
                                 "(clusters[].labels; the value its nodes carry), or fail "
                                 "over in a two-cluster mesh")
                return None
            pairs = tuple(sorted((str(regions[m.name]), str(regions[target])) for m in others))
        return FailoverPlan(pairs, cluster=target, priority=(CLUSTER_LABEL,))


def on_cluster(traffic: list[TrafficPlan], meshes: list[IstioMeshPlan],
               cluster: str) -> list[TrafficPlan]:
    """The istio meshes' traffic entries whose objects this cluster holds."""
    names = {m.name for m in meshes}
    return [t for t in traffic if t.mesh in names and cluster in t.clusters]


@dataclass(frozen=True)
class ClusterTrafficEdge:
    source: str  # the graph node of a cluster whose clients call
    target: str  # the node of the cluster whose endpoints get the traffic
    lines: tuple[str, ...]


def edges(traffic: list[TrafficPlan], meshes: list[IstioMeshPlan]) -> list[ClusterTrafficEdge]:
    """Per (calling cluster, reached cluster) of an istio mesh: one line per host with what
    of its traffic reaches that cluster's endpoints."""
    by_name = {m.name: m for m in meshes}
    lines: dict[tuple[str, str], list[str]] = {}
    for t in traffic:
        mesh = by_name.get(t.mesh)
        if mesh is None:
            continue
        for target, parts in t.reached("cluster").items():
            for caller in mesh.cluster_names:
                if caller != target:
                    lines.setdefault((node_id(mesh.name, caller), node_id(mesh.name, target)),
                                     []).append(f"{t.namespace}/{t.name}: " + ", ".join(parts))
    return [ClusterTrafficEdge(a, b, ("traffic", *lines[(a, b)])) for a, b in sorted(lines)]
