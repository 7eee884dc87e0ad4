"""The istio backend's rules (shared/design/istio-backend.md, "Rules"), each a located
coded error with a hint; tests/broken/mg2* holds a broken fleet per rule."""

from __future__ import annotations

from typing import Any

from ... import model
from ...errors import FleetError, Problem
from ...plan.delivery import CONTROLLER_WRITTEN, DeliveryPlan
from ...plan.meshes import backend_of
from ...plan.types import (
    CACERTS,
    RESERVED_NAMESPACE_PREFIXES,
    RESERVED_NAMESPACES,
    MeshPlan,
)
from ...source import PathKey, load
from ..ossm2.trust import sealed_secret_problem
from .resolve import MeshResolver
from .types import CNI_NAMESPACE, IstioMeshPlan
from .versions import CHANNELS, versions_of

OSSM2_ONLY = ("controlPlaneName", "profiles", "addons", "smcpSpec", "gatewayNaming",
              "dnsCapture")
ISTIO_ONLY = ("clusters", "meshID", "updateStrategy", "discovery", "istioValues",
              "migrateFrom")
# Istio spec.values meshgen writes itself; istioValues may not replace them (as smcpSpec)
GENERATED_VALUES = (
    ("global", "meshID"), ("global", "multiCluster", "clusterName"), ("global", "network"),
    ("global", "remotePilotAddress"), ("global", "externalIstiod"),
    ("meshConfig", "trustDomain"), ("meshConfig", "discoverySelectors"), ("istiodRemote",),
)


class MeshChecks(MeshResolver):
    """The rules of one resolved istio mesh, and those across the fleet's meshes."""

    # one mesh ---------------------------------------------------------------------------

    def check_mesh(self, mesh: IstioMeshPlan) -> None:
        self.check_members(mesh)
        self.resolve_addresses(mesh)
        self.check_version(mesh)
        self.check_roles(mesh)
        self.check_networks(mesh)
        self.check_trust_and_discovery(mesh)
        self.check_values(mesh)

    def check_members(self, mesh: IstioMeshPlan) -> None:
        """The member-namespace rules ossm2 meshes follow too (backends/ossm2/meshes.py)."""
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
        sources = [s for s in (mesh.ca.external_secret, mesh.ca.sealed_secret_path,
                               mesh.ca.out_of_band) if s]
        if mesh.ca.type == "plugin" and len(sources) != 1:
            self.error("MG057", f'mesh "{mesh.name}": a plugin CA needs exactly one way for '
                       "each primary's `cacerts` Secret to arrive",
                       mesh.origins.get("ca", mesh.origin("name")),
                       'set ca.secret to externalSecret: {store, path: "pki/{mesh}/{cluster}"}, '
                       'sealedSecret: "certs/{mesh}-{cluster}-cacerts.yaml" or none: {}')
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
        self.read_sealed_cacerts(mesh)
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
        sealed = mesh.ca.sealed_secret_path
        if sealed is not None and len(mesh.primaries) > 1 and "{cluster}" not in sealed:
            self.error("MG221", f'mesh "{mesh.name}": ca.secret.sealedSecret names one '
                       f"`cacerts` file for its {len(mesh.primaries)} primaries",
                       (*mesh.origin("ca"), "secret", "sealedSecret"),
                       "one intermediate CA per cluster, each sealed for that cluster's "
                       'controller: put "{cluster}" in the file name, e.g. '
                       '"certs/{mesh}-{cluster}-cacerts.yaml"')

    def read_sealed_cacerts(self, mesh: IstioMeshPlan) -> None:
        """Each primary's SealedSecret file (ca.secret.sealedSecret with "{cluster}" filled
        in), checked to unseal into `cacerts` in the mesh namespace, as for ossm2 meshes
        (plan/trust.py). Sealed with one cluster's controller key, a file unseals only
        there: the controller decrypts with its own private key, and the strict scope binds
        the ciphertext to `<namespace>/cacerts` (bitnami-labs/sealed-secrets, main:
        pkg/crypto/crypto.go HybridEncrypt, pkg/apis/sealedsecrets/v1alpha1/
        sealedsecret_expansion.go EncryptionLabel)."""
        pattern = mesh.ca.sealed_secret_path
        if pattern is None or not self.read_certificates:
            return
        if len(mesh.primaries) > 1 and "{cluster}" not in pattern:
            return  # one file for several primaries: MG221
        at: PathKey = (*mesh.origin("ca"), "secret", "sealedSecret")
        for primary in mesh.primaries:
            data = self.sealed_file(pattern.replace("{cluster}", primary.name), at,
                                    mesh.namespace, f"{mesh.name} --cluster {primary.name}")
            if data is not None:
                mesh.sealed_cacerts[primary.name] = data

    def sealed_file(self, rel: str, at: PathKey, namespace: str,
                    secret_args: str) -> dict[str, Any] | None:
        hint = (f"seal the `{CACERTS}` Secret of namespace {namespace} with that cluster's "
                f"controller certificate: meshgen ca secret {secret_args} | kubeseal "
                f"--cert <controller.pem> -o yaml > {rel}")
        try:
            data = load(self.checker.base_dir / rel, rel).data
        except FleetError as exc:
            first = next(iter(exc.problems))
            self.error("MG120", f"sealed secret {first.location}: {first.message}", at, hint)
            return None
        wrong = sealed_secret_problem(data, namespace)
        if wrong:
            self.error("MG120", f"sealed secret {rel} {wrong}", at, hint)
            return None
        assert isinstance(data, dict)
        return data

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

    # the fleet ----------------------------------------------------------------------------

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
                migration = mesh.migrating_on(member.name)
                # the ossm2 mesh it takes over shares its namespaces on purpose
                allowed = {f'istio mesh "{mesh.name}"',
                           *([f'mesh "{migration.mesh}"'] if migration else [])}
                for ns in (mesh.namespace, *mesh.members):
                    other = claims.setdefault((member.name, ns), f'istio mesh "{mesh.name}"')
                    if other not in allowed:
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

    def check_acm_delivery(self, meshes: list[IstioMeshPlan],
                           delivery: DeliveryPlan | None) -> None:
        """ACM Subscriptions apply an overlay in one pass and wait for nothing
        (stolostron/multicloud-operators-subscription, main:
        pkg/synchronizer/kubernetes/synchronizer.go ProcessSubResources; the git subscriber
        only applies CRDs and Namespaces, then RBAC, then the rest, pkg/subscriber/git/
        git_subscriber_item.go; SubscriptionSpec, pkg/apis/apps/v1/subscription_types.go,
        has no dependencies), so a `cacerts` a controller writes may come after istiod has
        started on its own root: the rule ossm2 meshes follow (MG107, plan/delivery.py),
        once per istio mesh. Remotes before their primary need no order: a remote `Istio`
        stays RemoteIstiodNotReady until the primary's istiod patches its webhook, and
        what its webhook refuses meanwhile ACM applies again on its next reconcile."""
        if delivery is None or delivery.acm is None or not delivery.acm.subscriptions:
            return
        for mesh in meshes:
            source = mesh.ca.secret_source
            if source not in CONTROLLER_WRITTEN or not mesh.primaries:
                continue
            where = (*mesh.origin("ca"), "type" if source == "certManager" else "secret")
            first = mesh.primaries[0].name
            self.error("MG107", f'istio mesh "{mesh.name}": ACM Subscriptions cannot apply the '
                       f"{CONTROLLER_WRITTEN[source]} that writes each primary's `cacerts` "
                       "before istiod starts", where,
                       "let Argo CD sync (its waves wait for the Secret): `delivery.argocd` "
                       "with `acm.subscriptions: false`; or create `cacerts` on each primary "
                       f"first (meshgen ca secret {mesh.name} --cluster {first} | oc apply "
                       "-f -) and declare `secret: {none: {}}` (README, Delivering with ACM)")

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
