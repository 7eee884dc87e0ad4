"""The federation graph: pairs, directed peerings, gateways, addresses and trust."""

from __future__ import annotations

import itertools

from ..certs import EXPIRY_WARNING, CertificateProblem, read_root
from ..source import PathKey
from .checker import Checker, did_you_mean, dig
from .types import (
    EXTERNAL_DNS_HOSTNAME,
    FEDERATION_MIN_VERSION,
    RESERVED_GATEWAYS,
    Gateway,
    MeshPlan,
    Peering,
    gateway_for,
    ingress_address,
)


class FederationRules(Checker):
    # federations --------------------------------------------------------------------------

    def pairs(self, meshes: dict[str, MeshPlan]) -> dict[frozenset[str], tuple[str, PathKey]]:
        pairs: dict[frozenset[str], tuple[str, PathKey]] = {}
        for i, fed in enumerate(self.fleet.federations):
            path: PathKey = ("federations", i)
            names: list[str] = []
            for j, mesh_name in enumerate(fed.meshes):
                if mesh_name not in meshes:
                    self.error("MG031", f'federation "{fed.name}" names unknown mesh '
                               f'"{mesh_name}"', (*path, "meshes", j),
                               did_you_mean(mesh_name, meshes))
                elif mesh_name in names:
                    self.error("MG040", f'federation "{fed.name}" lists mesh "{mesh_name}" '
                               "twice", (*path, "meshes", j), "list each mesh once")
                else:
                    names.append(mesh_name)
            if len(set(fed.meshes)) < 2:
                self.error("MG040", f'federation "{fed.name}" needs at least two distinct '
                           "meshes", (*path, "meshes"), "a federation connects meshes")
                continue
            if fed.topology == "star":
                if fed.hub is None:
                    self.error("MG041", f'star federation "{fed.name}" needs a `hub`', path,
                               "name the mesh every other mesh federates with")
                    continue
                if fed.hub not in fed.meshes:
                    self.error("MG041", f'hub "{fed.hub}" is not one of the meshes of '
                               f'federation "{fed.name}"', (*path, "hub"),
                               "the hub must be listed in `meshes`")
                    continue
                edges = [(fed.hub, m) for m in names if m != fed.hub]
            else:
                if fed.hub is not None:
                    self.error("MG041", f'federation "{fed.name}": `hub` is only for '
                               "topology star", (*path, "hub"),
                               "set `topology: star` or remove `hub`")
                edges = list(itertools.combinations(names, 2))
            for a, b in edges:
                pair = frozenset((a, b))
                if pair in pairs:
                    self.error("MG042", f'meshes "{a}" and "{b}" are already paired by '
                               f'federation "{pairs[pair][0]}"', path,
                               "each pair of meshes may be federated once")
                    continue
                pairs[pair] = (fed.name, path)
        return pairs

    def check_federated(self, mesh: MeshPlan, trust_domains: dict[str, MeshPlan]) -> None:
        if mesh.version_tuple < FEDERATION_MIN_VERSION:
            self.error("MG045", f'mesh "{mesh.name}" is federated but has version '
                       f"{mesh.version}", mesh.origin("version"),
                       "federation needs ServiceMeshControlPlane version v2.1 or later")
        other = trust_domains.setdefault(mesh.trust_domain, mesh)
        if other is not mesh:
            self.error("MG044", f'trust domain "{mesh.trust_domain}" of mesh "{mesh.name}" is '
                       f'also the trust domain of federated mesh "{other.name}"',
                       mesh.origin("trustDomain"),
                       "every federated mesh needs its own trust domain, e.g. <mesh>.local")
        if mesh.root_cert_path is None:
            self.error("MG050", f'mesh "{mesh.name}" is federated but has no `rootCert`',
                       mesh.origin("name"),
                       "set rootCert to the PEM file of the mesh's public root CA")
            return
        try:
            mesh.root = read_root(self.base_dir / mesh.root_cert_path, self.now)
        except CertificateProblem as exc:
            self.error(exc.code, exc.message, mesh.origin("rootCert"), exc.hint)
            return
        if mesh.root.expires_within(self.now, EXPIRY_WARNING):
            self.warn("MG054", f'root certificate of mesh "{mesh.name}" expires on '
                      f"{mesh.root.not_after:%Y-%m-%d}", mesh.origin("rootCert"),
                      "rotate the root CA before it expires; federation stops at expiry")

    def peering(self, local: MeshPlan, peer: MeshPlan, federation: str,
                path: PathKey) -> Peering:
        ingress = gateway_for(local, "ingress", peer.name)
        same_cluster = local.cluster.name == peer.cluster.name
        annotations = dict(local.cluster.annotations)
        service_type = "ClusterIP"
        if not same_cluster and local.cluster.ingress_type == "LoadBalancer":
            service_type = "LoadBalancer"
            annotations[EXTERNAL_DNS_HOSTNAME] = ingress_address(local, peer)
        return Peering(
            local=local, peer=peer, federation=federation, origin=path,
            ingress=Gateway(ingress, "ingress", peer.name, service_type, annotations),
            egress=Gateway(gateway_for(local, "egress", peer.name), "egress", peer.name,
                           "ClusterIP", {},
                           "sni-dnat" if local.version_tuple == (2, 1) else None),
            address=ingress_address(peer, local),
            client_id=f"{peer.trust_domain}/ns/{peer.namespace}/sa/"
                      f"{gateway_for(peer, 'egress', local.name)}-service-account",
            service_export=not same_cluster and local.cluster.ingress_type == "Submariner",
        )

    def check_peering(self, peering: Peering) -> None:
        local, peer = peering.local, peering.peer
        if peer.name == local.cluster.name:
            self.error("MG043", f'mesh "{peer.name}" has the name of cluster '
                       f'"{local.cluster.name}", where its peer "{local.name}" runs',
                       peer.origin("name"),
                       "Maistra refuses a ServiceMeshPeer named like the local cluster; "
                       "rename the mesh or the cluster")
        if peer.cluster.name != local.cluster.name and peer.cluster.ingress_type is None:
            self.error("MG032", f'cluster "{peer.cluster.name}" has no `ingress`, but mesh '
                       f'"{peer.name}" there federates with "{local.name}" on cluster '
                       f'"{local.cluster.name}"', peer.cluster.origin,
                       "add `ingress: {type: LoadBalancer, domain: ...}` or "
                       "`ingress: {type: Submariner}` to the cluster")

    def check_gateways(self, mesh: MeshPlan, peerings: list[Peering]) -> None:
        generated = {p.ingress.name for p in peerings} | {p.egress.name for p in peerings}
        spec = mesh.smcp_spec
        spec_path = mesh.origin("smcpSpec")
        overrides = [("version", "version", "set the mesh's `version` field instead"),
                     ("security.trust.domain", "trustDomain",
                      "set the mesh's `trustDomain` field instead"),
                     ("cluster.name", "cluster",
                      "the cluster name comes from the mesh's `cluster`")]
        for dotted, _field, hint in overrides:
            if dig(spec, dotted.split(".")) is not None:
                self.error("MG081", f'smcpSpec of mesh "{mesh.name}" sets {dotted}, which '
                           "meshgen generates", spec_path, hint)
        names: set[str] = set()
        for kind in ("additionalIngress", "additionalEgress"):
            extra = dig(spec, ["gateways", kind])
            extra = extra if isinstance(extra, dict) else {}
            for name in sorted(extra):
                if name in generated:
                    self.error("MG081", f'smcpSpec of mesh "{mesh.name}" defines gateway '
                               f'"{name}", which meshgen generates for federation', spec_path,
                               "federation gateways are generated per peer; rename yours")
                elif name in RESERVED_GATEWAYS:
                    self.error("MG080", f'smcpSpec of mesh "{mesh.name}" defines additional '
                               f'gateway "{name}"', spec_path,
                               "istio-ingressgateway and istio-egressgateway are reserved")
                elif name in names:
                    self.error("MG080", f'smcpSpec of mesh "{mesh.name}" defines gateway '
                               f'"{name}" twice', spec_path, "gateway names must be unique")
                names.add(name)
        for name in sorted(generated & set(RESERVED_GATEWAYS)):
            self.error("MG080", f'mesh "{mesh.name}" would generate reserved gateway "{name}"',
                       mesh.origin("name"), "rename the peer mesh")
