"""What a plan is made of: resolved clusters, meshes, gateways and directed peerings."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..certs import RootCertificate
from ..errors import FleetError, Problem
from ..source import PathKey, SourceFile

if TYPE_CHECKING:
    from ..backends.istio.types import IstioMeshPlan
    from .delivery import DeliveryPlan, OperatorSubscription
    from .traffic import TrafficPlan

DEFAULT_VERSION = "v2.6"
FEDERATION_MIN_VERSION = (2, 1)
MAX_MESH_NAME = 55  # "<mesh>-ingress" must stay a 63-character DNS label
# the Service selector labels of the federation gateways; each must select one gateway
FEDERATION_LABELS = ("federation.maistra.io/ingress-for", "federation.maistra.io/egress-for")
GATEWAY_KINDS = ("additionalIngress", "additionalEgress")
RESERVED_GATEWAYS = ("istio-ingressgateway", "istio-egressgateway")
RESERVED_NAMESPACES = ("default", "kube", "openshift")
RESERVED_NAMESPACE_PREFIXES = ("kube-", "openshift-", "ibm-")
EXTERNAL_DNS_HOSTNAME = "external-dns.alpha.kubernetes.io/hostname"
# what Kubernetes requires of a Service name
RFC1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
# the ConfigMap istiod writes into every namespace it watches (istio/istio, master:
# pilot/pkg/serviceregistry/kube/controller/namespacecontroller.go, CACertNamespaceConfigMap);
# a peer's root ConfigMap must have another name
ISTIOD_ROOT_CERT_CONFIGMAP = "istio-ca-root-cert"

Direction = Literal["ingress", "egress"]


@dataclass(frozen=True)
class ClusterPlan:
    name: str
    labels: dict[str, str]
    ingress_type: str | None
    domain: str | None
    annotations: dict[str, str]
    origin: PathKey
    # joined the Submariner clusterset, so *.svc.clusterset.local resolves here
    clusterset: bool = False


CAType = Literal["selfSigned", "plugin", "certManager"]
# where istiod reads a plugged-in CA (the `cacerts` Secret, mounted optionally)
CACERTS = "cacerts"
CACERTS_DIR = "/etc/cacerts"
CACERTS_KEYS = ("ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem")


@dataclass(frozen=True)
class ExternalSecretPlan:
    store: str
    store_kind: str
    path: str
    refresh_interval: str


@dataclass
class CAPlan:
    """How a mesh's istiod gets its signing CA, and what its peers trust."""

    type: CAType = "selfSigned"
    cert_chain_path: str | None = None
    external_secret: ExternalSecretPlan | None = None
    sealed_secret_path: str | None = None
    out_of_band: bool = False
    issuer_name: str | None = None
    issuer_kind: str | None = None
    # the federation whose shared root this mesh's intermediate chains to
    shared_by: str | None = None
    # a SealedSecret read from sealed_secret_path, included in the overlay as is
    sealed_secret: dict[str, Any] | None = None

    @property
    def plugged_in(self) -> bool:
        return self.type != "selfSigned"

    @property
    def secret_source(self) -> str | None:
        if self.external_secret:
            return "externalSecret"
        if self.sealed_secret_path:
            return "sealedSecret"
        if self.out_of_band:
            return "none"
        return "certManager" if self.type == "certManager" else None


@dataclass
class TrustPlan:
    """A federation's trust model; with shared trust, the root every member chains to."""

    federation: str
    type: Literal["limited", "shared"]
    meshes: tuple[str, ...]
    root_cert_path: str | None
    origin: PathKey
    root: RootCertificate | None = None


@dataclass
class MeshPlan:
    name: str
    cluster: ClusterPlan
    namespace: str
    control_plane_name: str
    version: str
    profiles: tuple[str, ...]
    trust_domain: str
    members: tuple[str, ...]
    addons: dict[str, bool]
    root_cert_path: str | None
    smcp_spec: dict[str, Any]
    gateway_naming: str
    origins: dict[str, PathKey]
    # where each layer (defaults, template, mesh) that sets smcpSpec has it, last wins
    smcp_layers: tuple[PathKey, ...] = ()
    # the root certificate the mesh's peers trust for it (its own, or a shared root)
    root: RootCertificate | None = None
    peers: list[str] = field(default_factory=list)
    ca: CAPlan = field(default_factory=CAPlan)
    # sidecars answer DNS for mesh hostnames (proxy metadata ISTIO_META_DNS_CAPTURE)
    dns_capture: bool = False

    @property
    def federated(self) -> bool:
        return bool(self.peers)

    @property
    def version_tuple(self) -> tuple[int, int]:
        major, minor = self.version[1:].split(".")[:2]  # a Sail v1.N.P is refused (MG202)
        return int(major), int(minor)

    def origin(self, name: str) -> PathKey:
        return self.origins.get(name, self.origins["name"])


def shared_trust(mesh: MeshPlan, trust: Iterable[TrustPlan]) -> TrustPlan | None:
    """The shared-trust federation whose root mesh's CA chains to, if any."""
    return next((t for t in trust if t.federation == mesh.ca.shared_by), None)


def gateway_for(mesh: MeshPlan, direction: Direction, peer: str) -> str:
    """Name of mesh's dedicated ingress or egress gateway for peer."""
    if mesh.gateway_naming == "prefix":
        return f"{direction}-{peer}"
    return f"{peer}-{direction}"


def ingress_address(owner: MeshPlan, viewer: MeshPlan) -> str:
    """The address viewer's ServiceMeshPeer uses to reach owner's ingress gateway for it."""
    gateway = gateway_for(owner, "ingress", viewer.name)
    if owner.cluster.name == viewer.cluster.name:
        return f"{gateway}.{owner.namespace}.svc.cluster.local"
    if owner.cluster.ingress_type == "Submariner":
        return f"{gateway}.{owner.namespace}.svc.clusterset.local"
    return f"{gateway}.{owner.namespace}.{owner.cluster.domain}"


@dataclass(frozen=True)
class Gateway:
    name: str
    direction: Direction
    peer: str
    service_type: str
    annotations: dict[str, str]
    router_mode: str | None = None


@dataclass(frozen=True)
class ExportRule:
    namespace: str
    name: str | None
    selector: dict[str, str] | None
    alias_namespace: str | None
    alias_name: str | None
    origin: PathKey

    @property
    def exported_as(self) -> tuple[str, str]:
        """(namespace, name) the peer sees; "*" where any may match."""
        namespace = self.alias_namespace or self.namespace
        name = (self.alias_name or self.name) if self.selector is None else "*"
        return namespace, name or "*"


@dataclass(frozen=True)
class ImportRule:
    namespace: str
    name: str
    alias_namespace: str | None
    alias_name: str | None
    as_local: bool
    origin: PathKey


@dataclass
class Peering:
    """One direction of a federated pair: what `local` needs to talk to `peer`."""

    local: MeshPlan
    peer: MeshPlan
    federation: str
    origin: PathKey
    ingress: Gateway
    egress: Gateway
    address: str
    client_id: str
    service_export: bool
    exports: list[ExportRule] = field(default_factory=list)
    imports: list[ImportRule] = field(default_factory=list)
    # the ImportedServiceSet's spec.locality (region, zone, subzone), if the fleet sets one
    locality: dict[str, str] | None = None

    @property
    def root_cert_configmap(self) -> str:
        return f"{self.peer.name}-ca-root-cert"

    def imported_hostname(self, rule: ImportRule, name: str, namespace: str) -> str:
        local_ns = rule.alias_namespace or namespace
        local_name = rule.alias_name or name
        suffix = "svc.cluster.local" if rule.as_local else f"svc.{self.peer.name}-imports.local"
        return f"{local_name}.{local_ns}.{suffix}"


def peerings_by_local(peerings: Iterable[Peering]) -> dict[str, list[Peering]]:
    """Each mesh's outgoing peerings (the ones it holds the objects for), in given order."""
    grouped: dict[str, list[Peering]] = {}
    for peering in peerings:
        grouped.setdefault(peering.local.name, []).append(peering)
    return grouped


@dataclass
class Plan:
    fleet_name: str
    source: SourceFile
    clusters: list[ClusterPlan]
    meshes: list[MeshPlan]
    peerings: list[Peering]
    warnings: list[Problem] = field(default_factory=list)
    delivery: DeliveryPlan | None = None
    trust: list[TrustPlan] = field(default_factory=list)
    # cluster -> the operator Subscriptions its overlay installs first
    operators: dict[str, list[OperatorSubscription]] = field(default_factory=dict)
    # the meshes of the istio backend (meshgen/backends/istio), each spanning clusters
    istio: list[IstioMeshPlan] = field(default_factory=list)
    # `traffic` entries, by (mesh, namespace, name)
    traffic: list[TrafficPlan] = field(default_factory=list)
    _by_cluster: dict[str, list[MeshPlan]] = field(default_factory=dict, init=False, repr=False)
    _by_local: dict[str, list[Peering]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for mesh in self.meshes:
            self._by_cluster.setdefault(mesh.cluster.name, []).append(mesh)
        self._by_local.update(peerings_by_local(self.peerings))

    def meshes_on(self, cluster: str) -> list[MeshPlan]:
        return list(self._by_cluster.get(cluster, []))

    def peerings_of(self, mesh: MeshPlan) -> list[Peering]:
        return list(self._by_local.get(mesh.name, []))

    def member_namespaces(self, cluster: str) -> set[str]:
        istio = {ns for mesh in self.istio if mesh.member(cluster) for ns in mesh.members}
        return {ns for mesh in self._by_cluster.get(cluster, []) for ns in mesh.members} | istio

    def mesh(self, name: str) -> MeshPlan:
        return next(m for m in self.meshes if m.name == name)

    def named(self, name: str) -> MeshPlan:
        """The mesh a user named on the command line, or a located MG031."""
        known = sorted(m.name for m in self.meshes)
        if name not in known:
            source = self.source
            where = source.key_at(("meshes",)) if ("meshes",) in source.keys else source.at(())
            close = difflib.get_close_matches(name, known, n=1)
            hint = (f'did you mean "{close[0]}"? ' if close else "") + \
                "known meshes: " + ", ".join(known)
            raise FleetError(Problem("MG031", f'no mesh "{name}" in the fleet', where, hint))
        return self.mesh(name)
