"""An istio mesh taking over an ossm2 mesh on its cluster (`migrateFrom`), the way Red Hat's
migration guides do it (openshift-service-mesh/sail-operator, main:
docs/ossm/ossm2-migration/README.md "Pre-migration Checklist",
multi-tenancy/README.md, cluster-wide/README.md): the `Istio` in the SMCP's namespace, so
both istiods sign from one root; OSSM 3 discovering every namespace of the 2.6 mesh; a
namespace being moved stays in the member roll, labelled with the OSSM 3 revision and
`maistra.io/ignore-namespace: "true"`, so mTLS holds between moved and unmoved workloads."""

from __future__ import annotations

from ...plan.checker import dig
from ...plan.types import MeshPlan
from ...source import PathKey
from .resolve import MeshResolver
from .types import IstioMeshPlan, Migration

GUIDE = "Red Hat's OSSM 2 to 3 migration guide"
# OSSM 2.6's injector skips a namespace with this label (multi-tenancy/README.md)
IGNORE_NAMESPACE = "maistra.io/ignore-namespace"
MIN_OSSM2_VERSION = (2, 6)


class MigrationRules(MeshResolver):
    def check_migration(self, mesh: IstioMeshPlan, ossm2: dict[str, MeshPlan],
                        istio: set[str]) -> None:
        name = mesh.migrate_from
        if name is None:
            return
        # the `Istio` keeps the mesh's name (and so its revision label) before, during and
        # after the move: the guides never name it `default` while 2.6 runs beside it
        mesh.istio_name = mesh.name
        at = mesh.origin("migrateFrom")
        if name == mesh.name or name in istio:
            self.error("MG222", f'istio mesh "{mesh.name}" migrates from istio mesh "{name}"',
                       at, "migrateFrom names the ossm2 mesh (OSSM 2.6) this mesh takes over")
            return
        source = ossm2.get(name)
        if source is None:
            # the ossm2 mesh is gone from the fleet: the migration is over (a mesh that
            # failed to plan has its own error already)
            return
        cluster = source.cluster.name
        member = mesh.member(cluster)
        if member is None or member.role != "primary":
            self.error("MG224", f'ossm2 mesh "{name}" runs on cluster "{cluster}", which is '
                       f'not a primary cluster of istio mesh "{mesh.name}"', at,
                       f"the OSSM 3 control plane runs beside the SMCP: add {{cluster: "
                       f"{cluster}, role: primary}} to clusters")
            return
        # planned as the migration it means, so the namespaces it shares are not MG216 too
        mesh.migration = Migration(name, cluster, source.namespace, source.members)
        own: PathKey | None = mesh.origins.get("namespace.own")
        if own is None or mesh.namespace != source.namespace:
            self.error("MG223", f'istio mesh "{mesh.name}" takes over ossm2 mesh "{name}" '
                       f'but not in its control-plane namespace "{source.namespace}"',
                       own or at, f"namespace: {source.namespace} (written out: an Istio's "
                       "namespace never changes); in the SMCP's namespace both istiods "
                       f"sign from one root, so mTLS holds during the move ({GUIDE})")
        if mesh.trust_domain != source.trust_domain:
            self.error("MG229", f'istio mesh "{mesh.name}" has trust domain '
                       f'"{mesh.trust_domain}", the ossm2 mesh "{name}" it takes over '
                       f'"{source.trust_domain}"', mesh.origins.get("trustDomain", at),
                       f"trustDomain: {source.trust_domain} (written out): a moved workload "
                       "checks its unmoved peers' SPIFFE identities, and the reverse")
        if mesh.ca.type != source.ca.type:
            self.error("MG227", f'istio mesh "{mesh.name}" has ca.type {mesh.ca.type}, the '
                       f'ossm2 mesh "{name}" it takes over {source.ca.type}',
                       mesh.origins.get("ca", at), "both control planes read the CA of the "
                       f"shared namespace: give the istio mesh the same ca as \"{name}\"")
        self.check_source_ready(source, at)
        for j, namespace in enumerate(mesh.members):
            if namespace not in source.members:
                self.checker.warn(
                    "MG228", f'namespace "{namespace}" joins istio mesh "{mesh.name}" '
                    f'while it takes over ossm2 mesh "{name}", whose member it is not',
                    (*mesh.origin("members"), j),
                    f'keep a namespace that moves in "{name}"\'s members until the end of '
                    "the migration (it then gets maistra.io/ignore-namespace); a namespace "
                    "outside the 2.6 mesh may get no istio-ca-root-cert and its calls to "
                    f"unmoved namespaces leave mTLS ({GUIDE}, multi-tenancy)")

    def check_source_ready(self, source: MeshPlan, at: PathKey) -> None:
        """The pre-migration checklist items that a fleet file decides."""
        if source.version_tuple < MIN_OSSM2_VERSION:
            self.error("MG225", f'ossm2 mesh "{source.name}" runs {source.version}; the '
                       "migration to OSSM 3 starts from 2.6", source.origin("version"),
                       "upgrade it first: version: v2.6")
        if dig(source.smcp_spec, ["security", "manageNetworkPolicy"]) is not False:
            self.error("MG225", f'the ServiceMeshControlPlane of ossm2 mesh "{source.name}" '
                       "manages NetworkPolicies, which block the OSSM 3 istiod beside it",
                       source.origin("smcpSpec"), "smcpSpec: {security: "
                       "{manageNetworkPolicy: false}} (pre-migration checklist; recreate "
                       "the policies you need, allowing both control planes)")
        if unsupported := still_on(source):
            where = source.origins.get("addons") or source.origins.get("smcpSpec") or \
                source.origin("name")
            self.error("MG225", f'the ServiceMeshControlPlane of ossm2 mesh "{source.name}" '
                       f"still runs what OSSM 3 does not support: {', '.join(unsupported)}",
                       where, "disable them before the migration (pre-migration checklist, "
                       "docs/ossm/ossm2-migration/README.md): addons: {prometheus: false, "
                       "kiali: false, grafana: false, jaeger: false} and smcpSpec: "
                       "{gateways: {ingress: {enabled: false}, egress: {enabled: false}, "
                       "openshiftRoute: {enabled: false}}}")
        if source.federated:
            self.error("MG226", f'ossm2 mesh "{source.name}" is federated; meshgen does not '
                       "write the federation migration", at,
                       "Red Hat's federation guide (docs/ossm/ossm2-migration/federation) "
                       "replaces the peers with ServiceEntries, which istio meshes cannot "
                       "have yet (MG215): remove its federations first")


def still_on(source: MeshPlan) -> list[str]:
    """What the 2.6 SMCP still runs that the pre-migration checklist of
    openshift-service-mesh/sail-operator docs/ossm/ossm2-migration/README.md wants off
    (the Prometheus, Kiali and Grafana addons, tracing, IOR, the default gateways). The
    v2.6 default profile turns each on (maistra/istio-operator resources/smcp-templates/
    v2.6/base), so each must be off in the fleet: in `addons` or in `smcpSpec`, which
    wins as it is merged over the rendered spec."""
    spec = source.smcp_spec
    found = []
    for addon in ("prometheus", "kiali", "grafana"):
        enabled = dig(spec, ["addons", addon, "enabled"])
        if (enabled if enabled is not None else source.addons.get(addon, True)) is not False:
            found.append(f"addons.{addon}")
    tracing = dig(spec, ["tracing", "type"])
    if tracing is None and "jaeger" in source.addons:
        tracing = "Jaeger" if source.addons["jaeger"] else "None"
    if tracing != "None":
        found.append("tracing")
    for gateway, name in (("openshiftRoute", "IOR (gateways.openshiftRoute)"),
                          ("ingress", "the default ingress gateway"),
                          ("egress", "the default egress gateway")):
        if dig(spec, ["gateways", gateway, "enabled"]) is not False:
            found.append(name)
    return found


def taken_over(meshes: list[IstioMeshPlan], cluster: str) -> set[str]:
    """The namespaces of ossm2 meshes that istio meshes are taking over on cluster: the
    istio backend writes their Namespace objects (with its labels), the ossm2 side not."""
    names: set[str] = set()
    for mesh in meshes:
        if (migration := mesh.migrating_on(cluster)) is not None:
            names |= {migration.namespace, *migration.members}
    return names
