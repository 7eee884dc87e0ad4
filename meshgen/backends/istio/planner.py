"""Fleet -> istio mesh plans: fields resolved over the defaults, clusters with roles and
networks, and the istio backend's rules (shared/design/istio-backend.md, "Rules")."""

from __future__ import annotations

from typing import Any

from ... import model
from ...errors import Problem
from ...plan.checker import Checker, did_you_mean
from ...plan.delivery import OperatorSubscription
from ...plan.meshes import backend_of, ca_plan, deep_merge, substitute
from ...plan.types import (
    RESERVED_NAMESPACE_PREFIXES,
    RESERVED_NAMESPACES,
    CAPlan,
    ClusterPlan,
    MeshPlan,
)
from ...source import PathKey
from .types import CNI_NAMESPACE, EAST_WEST, IstioMember, IstioMeshPlan, RemoteSecretsPlan
from .versions import CHANNELS, DEFAULT_CHANNEL, DEFAULT_SOURCE, OPERATOR_PACKAGE, versions_of

OSSM2_ONLY = ("controlPlaneName", "profiles", "addons", "smcpSpec", "gatewayNaming")
ISTIO_ONLY = ("clusters", "meshID", "updateStrategy", "discovery", "istioValues")
# Istio spec.values meshgen writes itself; istioValues may not replace them (as smcpSpec)
GENERATED_VALUES = (
    ("global", "meshID"), ("global", "multiCluster", "clusterName"), ("global", "network"),
    ("global", "remotePilotAddress"), ("global", "externalIstiod"),
    ("meshConfig", "trustDomain"), ("meshConfig", "discoverySelectors"), ("istiodRemote",),
)
SUBMARINER_NETWORK = "clusterset"


class IstioRules:
    """The istio backend's planning; shares the planner's fleet, source and problems."""

    def __init__(self, checker: Checker) -> None:
        self.checker = checker
        self.fleet = checker.fleet
        self.source = checker.source
        # where a federation, export or import names an istio mesh (refused with MG215)
        self.refused: set[PathKey] = set()

    def error(self, code: str, message: str, path: PathKey, hint: str = "") -> None:
        self.checker.error(code, message, path, hint)

    # the whole backend ------------------------------------------------------------------

    def plan(self, clusters: dict[str, ClusterPlan],
             ossm2: list[MeshPlan]) -> list[IstioMeshPlan]:
        self.check_backend_fields()
        meshes: list[IstioMeshPlan] = []
        taken = {m.name for m in ossm2}
        for i, spec in enumerate(self.fleet.meshes):
            if backend_of(spec, self.fleet.defaults) == "istio":
                if spec.name in taken:
                    self.error("MG023", f'mesh "{spec.name}" is defined twice',
                               ("meshes", i, "name"), "mesh names must be unique in the fleet, "
                               "whatever their backend")
                    continue
                taken.add(spec.name)
                mesh = self.mesh(spec, ("meshes", i), clusters)
                if mesh is not None:
                    self.check_mesh(mesh)
                    meshes.append(mesh)
        if meshes:
            self.check_channel()
        self.check_shared_clusters(meshes, ossm2)
        self.check_cross_mesh(meshes)
        return sorted(meshes, key=lambda m: m.name)

    def check_channel(self) -> None:
        operators = self.fleet.operators.istio
        if operators is not None and versions_of(operators.channel) is None:
            self.error("MG204", f'servicemeshoperator3 has no channel "{operators.channel}" '
                       "meshgen knows", ("operators", "istio", "channel"),
                       "known: " + ", ".join(sorted(CHANNELS)))

    def check_backend_fields(self) -> None:
        defaults = self.fleet.defaults
        layers: list[tuple[model.MeshSettings, PathKey]] = [
            (spec, ("meshes", i)) for i, spec in enumerate(self.fleet.meshes)]
        for i, template in enumerate(self.fleet.mesh_templates):
            path: PathKey = ("meshTemplates", i)
            layers.append((template.template, (*path, "template")))
            if backend_of(template.template, defaults) == "istio":
                self.error("MG218", f'meshTemplate "{template.name}" makes istio meshes',
                           (*path, "name"), "a meshTemplate makes one mesh per cluster; an "
                           "istio mesh spans clusters: write it under `meshes` with `clusters`")
        for settings, path in layers:
            backend = backend_of(settings, defaults)
            foreign = OSSM2_ONLY if backend == "istio" else ISTIO_ONLY
            written = {model.MeshSpec.model_fields[f].alias or f
                       for f in settings.model_fields_set if f in model.MeshSpec.model_fields}
            for alias in foreign:
                if alias in written:
                    self.checker.problems.add(Problem(
                        "MG201", f"`{alias}` is a field of {_other(backend)} meshes, this is "
                        f"an {backend} mesh", self.source.key_at((*path, alias)),
                        f"remove it, or set `backend: {_other(backend)}`"))
            if backend == "ossm2":
                self.check_ossm2_version(settings, path)

    def check_ossm2_version(self, settings: model.MeshSettings, path: PathKey) -> None:
        """A Sail version where a Maistra control-plane version belongs."""
        own = settings.version is not None
        version = settings.version if own else self.fleet.defaults.version
        if version is not None and model.SAIL_VERSION.match(version):
            self.error("MG202", f'version "{version}" is a Sail version, this is an ossm2 mesh',
                       (*path, "version") if own else ("defaults", "version"),
                       'ossm2 meshes name a control plane such as "v2.6"; istio meshes pin a '
                       'Sail version such as "v1.26.3" (set `backend: istio`)')

    # one mesh ---------------------------------------------------------------------------

    def mesh(self, spec: model.MeshSpec, path: PathKey,
             clusters: dict[str, ClusterPlan]) -> IstioMeshPlan | None:
        defaults = self.fleet.defaults
        values: dict[str, Any] = {}
        origins: dict[str, PathKey] = {"name": (*path, "name")}
        ca: dict[str, Any] = {}
        variables = {"mesh": spec.name}
        for settings, at in ((defaults, ("defaults",)), (spec, path)):
            for attr in sorted(settings.model_fields_set & set(model.MeshSettings.model_fields)):
                value = getattr(settings, attr)
                if value is None:
                    continue
                alias = model.MeshSettings.model_fields[attr].alias or attr
                if isinstance(value, model.Spec):
                    value = value.model_dump(by_alias=True, exclude_unset=True)
                if attr == "ca":
                    ca.update(value)
                    origins["ca"] = (*at, "ca")
                    continue
                if attr == "root_cert":
                    ca["rootCert"] = value
                    continue
                value = substitute(value, variables)
                if attr == "istio_values" and "istio_values" in values:
                    value = deep_merge(values[attr], value)  # as smcpSpec: layers merge
                values[attr] = value
                origins[alias] = (*at, alias)
        if spec.cluster is not None and spec.clusters is not None:
            self.error("MG205", f'mesh "{spec.name}" sets both `cluster` and `clusters`',
                       (*path, "clusters"), "an istio mesh lists its clusters under `clusters`")
            return None
        if spec.cluster is None and not spec.clusters:
            self.error("MG011", f'missing required field "clusters" in {_dotted(path)}', path,
                       'add "clusters: [{cluster: <name>, role: primary}]"')
            return None
        entries = spec.clusters or [model.MeshCluster(cluster=spec.cluster or "")]
        entries_path: PathKey = (*path, "clusters") if spec.clusters else (*path, "cluster")
        members = self.members(spec.name, entries, entries_path, bool(spec.clusters), clusters)
        if members is None:
            return None
        discovery = values.get("discovery", {})
        secrets = discovery.get("externalSecret")
        operators = self.fleet.operators.istio
        namespace = values.get("namespace", "istio-system")
        return IstioMeshPlan(
            name=spec.name, namespace=namespace,
            version=values.get("version", ""),
            channel=operators.channel if operators else DEFAULT_CHANNEL,
            mesh_id=values.get("mesh_id", spec.name),
            trust_domain=values.get("trust_domain", f"{spec.name}.local"),
            update_strategy=values.get("update_strategy", "InPlace"),
            members=tuple(values.get("members", [])),
            clusters=members,
            ca=self.ca(substitute(ca, variables)),
            remote_secrets=RemoteSecretsPlan(
                secrets["store"], secrets.get("storeKind", "SecretStore"), secrets["path"],
                secrets.get("refreshInterval", "1h"))
            if secrets else None,
            istio_values=values.get("istio_values", {}),
            origins=origins,
        )

    def ca(self, ca: dict[str, Any]) -> CAPlan:
        return ca_plan(model.CA.model_validate(ca))

    def members(self, mesh: str, entries: list[model.MeshCluster], path: PathKey,
                listed: bool, clusters: dict[str, ClusterPlan]) -> tuple[IstioMember, ...] | None:
        seen: set[str] = set()
        result: list[IstioMember] = []
        ok = True
        for j, entry in enumerate(entries):
            at: PathKey = (*path, j) if listed else path
            name_at: PathKey = (*at, "cluster") if listed else at
            cluster = clusters.get(entry.cluster)
            if cluster is None:
                self.error("MG030", f'mesh "{mesh}" names unknown cluster "{entry.cluster}"',
                           name_at, did_you_mean(entry.cluster, clusters))
                ok = False
                continue
            if entry.cluster in seen:
                self.error("MG206", f'mesh "{mesh}" lists cluster "{entry.cluster}" twice',
                           name_at, "name each member cluster once")
                ok = False
                continue
            seen.add(entry.cluster)
            result.append(self.member(cluster, entry, at))
        return tuple(result) if ok else None

    def member(self, cluster: ClusterPlan, entry: model.MeshCluster,
               at: PathKey) -> IstioMember:
        spec = self.fleet.clusters[int(cluster.origin[1])]
        submariner = cluster.ingress_type == "Submariner"
        network = spec.network or (SUBMARINER_NETWORK if submariner else cluster.name)
        east_west = spec.east_west
        address = east_west.address if east_west else None
        dns = False
        if address is None and cluster.ingress_type == "LoadBalancer" and cluster.domain:
            dns = True  # placeholder; the namespace is known once the mesh is
        return IstioMember(
            cluster=cluster, role=entry.role, network=network,
            platform=spec.platform or "openshift",
            control_plane=entry.control_plane, istiod_cluster_ip=entry.istiod_cluster_ip,
            east_west_address=address, east_west_dns=dns,
            east_west_annotations=dict(east_west.annotations) if east_west else {},
            api_server=spec.api_server, origin=at,
        )

    # the mesh's rules -------------------------------------------------------------------

    def check_mesh(self, mesh: IstioMeshPlan) -> None:
        self.check_members(mesh)
        self.resolve_addresses(mesh)
        self.check_version(mesh)
        self.check_roles(mesh)
        self.check_networks(mesh)
        self.check_trust_and_discovery(mesh)
        self.check_values(mesh)

    def check_members(self, mesh: IstioMeshPlan) -> None:
        """The member-namespace rules ossm2 meshes follow too (plan/meshes.py)."""
        seen: set[str] = set()
        for j, member in enumerate(mesh.members):
            at: PathKey = (*mesh.origin("members"), j)
            if member in seen:
                self.error("MG063", f'mesh "{mesh.name}" lists member "{member}" twice', at,
                           "remove the duplicate")
            seen.add(member)
            if member in (mesh.namespace, CNI_NAMESPACE):
                self.error("MG061", f'namespace "{member}" is a control-plane namespace of '
                           f'mesh "{mesh.name}" and cannot also be its member', at,
                           "workloads go into member namespaces of their own")
            if member in RESERVED_NAMESPACES or member.startswith(RESERVED_NAMESPACE_PREFIXES):
                self.error("MG062", f'namespace "{member}" can never be a mesh member', at,
                           "default, kube, openshift and kube-*, openshift-*, ibm-* namespaces "
                           "are never injected")

    def resolve_addresses(self, mesh: IstioMeshPlan) -> None:
        """The default east-west address of a LoadBalancer cluster (published by
        external-dns): istio-eastwestgateway.<mesh namespace>.<domain>."""
        resolved = []
        for member in mesh.clusters:
            if member.east_west_dns:
                member = _with_address(
                    member, f"{EAST_WEST}.{mesh.namespace}.{member.cluster.domain}")
            resolved.append(member)
        mesh.clusters = tuple(resolved)

    def check_version(self, mesh: IstioMeshPlan) -> None:
        at = mesh.origin("version")
        if not mesh.version:
            self.error("MG011", f'mesh "{mesh.name}": an istio mesh pins its `version`',
                       mesh.origin("name"), 'add e.g. "version: v1.26.3"')
            return
        if not model.SAIL_VERSION.match(mesh.version):
            self.error("MG202", f'version "{mesh.version}" is a Maistra version, mesh '
                       f'"{mesh.name}" is an istio mesh', at,
                       'istio meshes pin a Sail version such as "v1.26.3"')
            return
        known = versions_of(mesh.channel)
        if known is None:
            return  # MG204 reports the channel once
        if mesh.version not in known:
            self.error("MG203", f'Sail version "{mesh.version}" is not shipped by the '
                       f'servicemeshoperator3 channel "{mesh.channel}"', at,
                       f"known: {', '.join(known)}")

    def check_roles(self, mesh: IstioMeshPlan) -> None:
        if not mesh.primaries:
            self.error("MG207", f'mesh "{mesh.name}" has no primary cluster',
                       mesh.origin("name"), "at least one member runs istiod: role: primary")
        primaries = {m.name for m in mesh.primaries}
        for member in mesh.clusters:
            if member.role == "remote":
                if member.control_plane not in primaries:
                    where = (*member.origin, "controlPlane") if member.control_plane \
                        else member.origin
                    self.error("MG208", f'remote cluster "{member.name}" of mesh "{mesh.name}" '
                               "names no primary of the mesh as its `controlPlane`", where,
                               "set controlPlane to one of: " + (", ".join(sorted(primaries))
                                                                 or "(no primary yet)"))
                    continue
                if mesh.pilot_address(member) is None:
                    primary = mesh.member(member.control_plane or "")
                    assert primary is not None
                    if primary.network != member.network:
                        self.error("MG209", f'remote cluster "{member.name}" reaches istiod on '
                                   f'"{primary.name}" across networks, but "{primary.name}" '
                                   "has no east-west address", member.origin,
                                   f'set clusters[{primary.name}].eastWest.address, or give it '
                                   "a LoadBalancer ingress with a domain")
                    else:
                        self.error("MG210", f'remote cluster "{member.name}" shares network '
                                   f'"{member.network}" with its primary "{primary.name}", '
                                   "which has no `istiodClusterIP`", primary.origin,
                                   "give the primary a free ClusterIP of its cluster: "
                                   "istiodClusterIP: 172.30.200.12 (exported over Submariner)")
            else:
                if member.control_plane is not None:
                    self.error("MG208", f'primary cluster "{member.name}" names a '
                               "`controlPlane`", (*member.origin, "controlPlane"),
                               "only a remote names the primary that serves it")
            if member.istiod_cluster_ip is not None and member.role == "remote":
                self.error("MG211", f'remote cluster "{member.name}" runs no istiod but sets '
                           "`istiodClusterIP`", (*member.origin, "istiodClusterIP"),
                           "istiodClusterIP belongs on the primary that serves remotes")

    def check_networks(self, mesh: IstioMeshPlan) -> None:
        if not mesh.multi_network:
            return
        for member in mesh.clusters:
            if member.east_west_address is None:
                self.error("MG209", f'cluster "{member.name}" of multi-network mesh '
                           f'"{mesh.name}" has no east-west address', member.origin,
                           f'set clusters[{member.name}].eastWest.address, or give the '
                           "cluster a LoadBalancer ingress with a domain")

    def check_trust_and_discovery(self, mesh: IstioMeshPlan) -> None:
        if len(mesh.clusters) > 1 and not mesh.ca.plugged_in:
            self.error("MG213", f'mesh "{mesh.name}" spans {len(mesh.clusters)} clusters and '
                       "needs one root CA", mesh.origins.get("ca", mesh.origin("name")),
                       "set ca.type to certManager (a Certificate per cluster from one root "
                       "issuer) or plugin (a `cacerts` per cluster, \"{cluster}\" in its path)")
        if mesh.ca.sealed_secret_path is not None:
            self.error("MG219", f'mesh "{mesh.name}": a sealed `cacerts` is not supported for '
                       "istio meshes yet", mesh.origins.get("ca", mesh.origin("name")),
                       "use ca.secret.externalSecret with \"{cluster}\" in its path, or "
                       "certManager")
        sources = [s for s in (mesh.ca.external_secret, mesh.ca.sealed_secret_path,
                               mesh.ca.out_of_band) if s]
        if mesh.ca.type == "plugin" and len(sources) != 1:
            self.error("MG057", f'mesh "{mesh.name}": a plugin CA needs exactly one way for '
                       "each primary's `cacerts` Secret to arrive",
                       mesh.origins.get("ca", mesh.origin("name")),
                       'set ca.secret to externalSecret: {store, path: "pki/{mesh}/{cluster}"} '
                       "or none: {}")
        if mesh.ca.type == "certManager" and mesh.ca.issuer_name is None:
            self.error("MG057", f'mesh "{mesh.name}": a certManager CA needs an `issuer`',
                       mesh.origins.get("ca", mesh.origin("name")),
                       "issuer: {name: mesh-root, kind: ClusterIssuer}")
        reads = len(mesh.primaries) > 1 or any(m.role == "remote" for m in mesh.clusters)
        if reads and "discovery" not in mesh.origins:
            self.error("MG214", f'mesh "{mesh.name}": istiod on its primaries reads the other '
                       "clusters and needs `discovery`", mesh.origin("name"),
                       "discovery: {externalSecret: {store: vault, path: "
                       "\"istio/{mesh}/{cluster}\"}}, or none: {} to create them yourself")
        self.check_per_cluster_paths(mesh)
        if mesh.remote_secrets is None or not reads:
            return
        for primary in mesh.primaries:
            for member in mesh.reads(primary):
                if member.api_server is None:
                    spec_at = member.cluster.origin
                    self.error("MG212", f'cluster "{member.name}" has no `apiServer`, which '
                               f'istiod on "{primary.name}" (mesh "{mesh.name}") must reach',
                               (*spec_at, "name"), "apiServer: https://api.<cluster>."
                               "example.com:6443 (the remote-secret kubeconfig's server)")

    def check_per_cluster_paths(self, mesh: IstioMeshPlan) -> None:
        """Each watched cluster has its own reader token, each primary its own
        intermediate CA: a store key shared by several clusters is a mistake."""
        watched = {w.name for p in mesh.primaries for w in mesh.reads(p)}
        secrets = mesh.remote_secrets
        if secrets is not None and len(watched) > 1 and not _per_cluster(secrets.store,
                                                                         secrets.path):
            self.error("MG221", f'mesh "{mesh.name}": discovery.externalSecret.path names one '
                       f"key for the {len(watched)} clusters istiod reads",
                       (*mesh.origin("discovery"), "externalSecret", "path"),
                       'put "{cluster}" in the path, e.g. "istio/{mesh}/{cluster}"')
        source = mesh.ca.external_secret
        if source is not None and len(mesh.primaries) > 1 and not _per_cluster(source.store,
                                                                               source.path):
            self.error("MG221", f'mesh "{mesh.name}": ca.secret.externalSecret.path names one '
                       f"`cacerts` for its {len(mesh.primaries)} primaries",
                       (*mesh.origin("ca"), "secret", "externalSecret", "path"),
                       'one intermediate CA per cluster: put "{cluster}" in the path, e.g. '
                       '"pki/{mesh}/{cluster}"')

    def check_values(self, mesh: IstioMeshPlan) -> None:
        for keys in GENERATED_VALUES:
            data: Any = mesh.istio_values
            for key in keys:
                data = data.get(key) if isinstance(data, dict) else None
            if data is not None:
                self.error("MG217", f'istioValues.{".".join(keys)} replaces what meshgen '
                           "generates", mesh.origin("istioValues"),
                           "meshgen derives it from the mesh and its clusters; set those "
                           "instead")

    # across meshes ----------------------------------------------------------------------

    def check_shared_clusters(self, meshes: list[IstioMeshPlan],
                              ossm2: list[MeshPlan]) -> None:
        """Control planes side by side on one cluster: an ossm2 and an istio mesh (while
        migrating) or two istio meshes, each with namespaces of its own."""
        on_cluster: dict[str, list[IstioMeshPlan]] = {}
        for mesh in meshes:
            for member in mesh.clusters:
                on_cluster.setdefault(member.name, []).append(mesh)
        for sharing in on_cluster.values():
            if len(sharing) > 1:
                for mesh in sharing:
                    mesh.istio_name = mesh.name
        claims: dict[tuple[str, str], str] = {}
        for mesh2 in ossm2:
            for ns in (mesh2.namespace, *mesh2.members):
                claims[(mesh2.cluster.name, ns)] = f'mesh "{mesh2.name}"'
        for mesh in meshes:
            for member in mesh.clusters:
                for ns in (mesh.namespace, *mesh.members):
                    other = claims.setdefault((member.name, ns), f'istio mesh "{mesh.name}"')
                    if other != f'istio mesh "{mesh.name}"':
                        self.error("MG216", f'namespace "{ns}" on cluster "{member.name}" '
                                   f'belongs to {other} and to istio mesh "{mesh.name}"',
                                   member.origin, "a namespace belongs to one mesh of any "
                                   "backend; give the meshes distinct `namespace` and "
                                   "`members`")
        for cluster, sharing in sorted(on_cluster.items()):
            minors = sorted({_minor(m.version) for m in sharing if _minor(m.version)})
            if minors and minors[-1] - minors[0] > 1:
                mesh = sharing[-1]
                self.error("MG220", f'istio meshes on cluster "{cluster}" are more than one '
                           "minor version apart", mesh.origin("version"),
                           "the cluster has one IstioCNI, which must be within one minor "
                           "version of every Istio")

    def check_cross_mesh(self, meshes: list[IstioMeshPlan]) -> None:
        names = {m.name for m in meshes}
        hint = ("istio meshes are not federated yet (planned: ServiceEntry/WorkloadEntry, "
                "shared/research/istio-multicluster.md §5.2); join the clusters in one "
                "istio mesh instead")
        refs: list[tuple[str, PathKey]] = []
        for i, fed in enumerate(self.fleet.federations):
            refs += [(n, ("federations", i, "meshes", j)) for j, n in enumerate(fed.meshes)]
        for i, export in enumerate(self.fleet.exports):
            refs.append((export.mesh, ("exports", i, "mesh")))
            refs += [(n, ("exports", i, "to", j)) for j, n in enumerate(export.to or [])]
        for i, imp in enumerate(self.fleet.imports):
            refs += [(imp.mesh, ("imports", i, "mesh")), (imp.from_, ("imports", i, "from"))]
        for name, at in refs:
            if name in names:
                self.error("MG215", f'istio mesh "{name}" cannot be federated, exported '
                           "from or imported into", at, hint)
                self.refused.add(at)

    def add_operators(self, meshes: list[IstioMeshPlan],
                      operators: dict[str, list[OperatorSubscription]]) -> None:
        """servicemeshoperator3 on every cluster of an istio mesh, when operators install."""
        settings = self.fleet.operators
        if not settings.install:
            return
        istio = settings.istio
        subscription = OperatorSubscription(
            package=OPERATOR_PACKAGE, channel=istio.channel if istio else DEFAULT_CHANNEL,
            source=istio.source if istio else DEFAULT_SOURCE,
            source_namespace=settings.source_namespace, approval=settings.approval)
        for cluster in sorted({m.name for mesh in meshes for m in mesh.clusters}):
            listed = operators.setdefault(cluster, [])
            listed.append(subscription)
            listed.sort(key=lambda s: s.package)

    def withdraw_unknown_mesh(self) -> None:
        """The ossm2 rules call a refused istio mesh unknown (MG031): MG215 says why."""
        where = {self.source.at(at) for at in self.refused}
        items = self.checker.problems.items
        items[:] = [p for p in items if not (p.code == "MG031" and p.location in where)]


def _per_cluster(store: str, path: str) -> bool:
    return "{cluster}" in store or "{cluster}" in path


def _minor(version: str) -> int:
    match = model.SAIL_VERSION.match(version)
    return int(match.group(1)) if match else 0


def _other(backend: str) -> str:
    return "ossm2" if backend == "istio" else "istio"


def _dotted(path: PathKey) -> str:
    return ".".join(str(p) for p in path)


def _with_address(member: IstioMember, address: str) -> IstioMember:
    from dataclasses import replace
    return replace(member, east_west_address=address)
