"""What the istio backend resolves a mesh to: its clusters with their roles and networks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ...plan.types import CAPlan, ClusterPlan
from ...source import PathKey

Role = Literal["primary", "remote"]
ISTIO_NAME = "default"  # the `Istio` object's name unless two istio meshes share a cluster
CNI_NAMESPACE = "istio-cni"
EAST_WEST = "istio-eastwestgateway"
ISTIOD_REMOTE = "istiod-remote"
# the label meshConfig.discoverySelectors matches: the namespaces of one mesh
MESH_LABEL = "meshgen.dev/mesh"
NETWORK_LABEL = "topology.istio.io/network"
CONTROL_PLANE_CLUSTERS = "topology.istio.io/controlPlaneClusters"


@dataclass(frozen=True)
class RemoteSecretsPlan:
    """Where the store keeps each member cluster's reader token and CA ("{cluster}" open)."""

    store: str
    store_kind: str
    path: str
    refresh_interval: str

    def path_for(self, cluster: str) -> str:
        return self.path.replace("{cluster}", cluster)


@dataclass(frozen=True)
class Migration:
    """An ossm2 mesh an istio mesh is taking over on one cluster, in the SMCP's namespace
    (openshift-service-mesh/sail-operator, main: docs/ossm/ossm2-migration/multi-tenancy/
    README.md and cluster-wide/README.md)."""

    mesh: str  # the ossm2 mesh
    cluster: str
    namespace: str  # the SMCP's, shared by both control planes (one root)
    members: tuple[str, ...]  # the ServiceMeshMemberRoll's namespaces


@dataclass(frozen=True)
class IstioMember:
    """One cluster of an istio mesh."""

    cluster: ClusterPlan
    role: Role
    network: str
    platform: str
    control_plane: str | None  # a remote's primary cluster
    istiod_cluster_ip: str | None
    east_west_address: str | None
    east_west_dns: bool  # the address is the default DNS name (external-dns publishes it)
    east_west_annotations: dict[str, str]
    api_server: str | None
    origin: PathKey

    @property
    def name(self) -> str:
        return self.cluster.name

    @property
    def openshift(self) -> bool:
        return self.platform == "openshift"


@dataclass
class IstioMeshPlan:
    name: str
    namespace: str
    version: str
    channel: str
    mesh_id: str
    trust_domain: str
    update_strategy: str
    members: tuple[str, ...]
    clusters: tuple[IstioMember, ...]
    ca: CAPlan
    remote_secrets: RemoteSecretsPlan | None
    istio_values: dict[str, Any]
    origins: dict[str, PathKey] = field(default_factory=dict)
    # the `Istio` objects' name: the mesh's own when it shares a cluster with another
    # istio mesh (Istio is cluster-scoped)
    istio_name: str = ISTIO_NAME
    # primary cluster -> its SealedSecret `cacerts` (ca.secret.sealedSecret, "{cluster}"
    # filled in), included as its author sealed it for that cluster's controller
    sealed_cacerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # the ossm2 mesh this one takes over (migrateFrom), and while it is still in the
    # fleet its cluster, SMCP namespace and members
    migrate_from: str | None = None
    migration: Migration | None = None

    def migrating_on(self, cluster: str) -> Migration | None:
        return self.migration if self.migration and self.migration.cluster == cluster else None

    def origin(self, name: str) -> PathKey:
        return self.origins.get(name, self.origins["name"])

    def member(self, cluster: str) -> IstioMember | None:
        return next((m for m in self.clusters if m.name == cluster), None)

    @property
    def networks(self) -> list[str]:
        return sorted({m.network for m in self.clusters})

    @property
    def multi_network(self) -> bool:
        return len(self.networks) > 1

    @property
    def primaries(self) -> list[IstioMember]:
        return [m for m in self.clusters if m.role == "primary"]

    def remotes_of(self, primary: str) -> list[IstioMember]:
        return [m for m in self.clusters if m.control_plane == primary]

    @property
    def revision(self) -> str:
        """The IstioRevision Sail makes of the `Istio` (SO pkg/revision: InPlace keeps the
        name, RevisionBased appends the version with "." as "-")."""
        if self.update_strategy == "RevisionBased":
            return f"{self.istio_name}-{self.version.replace('.', '-')}"
        return self.istio_name

    @property
    def istiod_service(self) -> str:
        """The istiod Service: revision "default" is rendered with Helm revision "" ."""
        return "istiod" if self.revision == ISTIO_NAME else f"istiod-{self.revision}"

    @property
    def injection_label(self) -> tuple[str, str]:
        if self.revision == ISTIO_NAME:
            return "istio-injection", "enabled"
        return "istio.io/rev", self.revision

    def pilot_address(self, remote: IstioMember) -> str | None:
        """Where a remote's istiod stub points: its primary's east-west address across
        networks, the primary's fixed istiod ClusterIP on the same network."""
        primary = self.member(remote.control_plane or "")
        if primary is None:
            return None
        if primary.network != remote.network:
            return primary.east_west_address
        return primary.istiod_cluster_ip

    def serves_across_networks(self, primary: IstioMember) -> bool:
        return any(r.network != primary.network for r in self.remotes_of(primary.name))

    def reads(self, primary: IstioMember) -> list[IstioMember]:
        """The clusters whose API the primary's istiod watches: every other member."""
        return [m for m in self.clusters if m.name != primary.name] \
            if primary.role == "primary" else []

    @property
    def cluster_names(self) -> list[str]:
        return [m.name for m in self.clusters]
