"""The federation graph: pairs, directed peerings, gateways, addresses and trust."""

from __future__ import annotations

import itertools
from typing import Any

from ...plan.checker import Checker, did_you_mean, dig
from ...plan.types import (
    EXTERNAL_DNS_HOSTNAME,
    FEDERATION_LABELS,
    FEDERATION_MIN_VERSION,
    GATEWAY_KINDS,
    ISTIOD_ROOT_CERT_CONFIGMAP,
    RESERVED_GATEWAYS,
    RFC1035_LABEL,
    Gateway,
    MeshPlan,
    Peering,
    gateway_for,
    ingress_address,
)
from ...source import PathKey


class FederationRules(Checker):
    # federations --------------------------------------------------------------------------

    def pairs(self, meshes: dict[str, MeshPlan]) -> dict[frozenset[str], tuple[str, PathKey]]:
        pairs: dict[frozenset[str], tuple[str, PathKey]] = {}
        for i, fed in enumerate(self.fleet.federations):
            path: PathKey = ("federations", i)
            names: list[str] = []
            for j, mesh_name in enumerate(fed.meshes):
                if mesh_name in self.unresolved:
                    continue
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
                self.unpaired.update(names)
                self.error("MG040", f'federation "{fed.name}" needs at least two distinct '
                           "meshes", (*path, "meshes"), "a federation connects meshes")
                continue
            if fed.topology == "star":
                if fed.hub is None or fed.hub not in names:
                    self.unpaired.update(names)
                if fed.hub is None:
                    self.error("MG041", f'star federation "{fed.name}" needs a `hub`', path,
                               "name the mesh every other mesh federates with")
                    continue
                if fed.hub not in fed.meshes:
                    self.error("MG041", f'hub "{fed.hub}" is not one of the meshes of '
                               f'federation "{fed.name}"', (*path, "hub"),
                               "the hub must be listed in `meshes`")
                    continue
                if fed.hub not in names:  # unknown mesh, reported above
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

    def peering(self, local: MeshPlan, peer: MeshPlan, federation: str,
                path: PathKey) -> Peering:
        ingress = gateway_for(local, "ingress", peer.name)
        same_cluster = local.cluster.name == peer.cluster.name
        annotations: dict[str, str] = {}
        service_type = "ClusterIP"
        if not same_cluster and local.cluster.ingress_type == "LoadBalancer":
            # the cluster's annotations configure its load balancers; a ClusterIP Service
            # has none, so they stay off it
            service_type = "LoadBalancer"
            annotations = dict(local.cluster.annotations)
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

    def check_clusterset(self, peering: Peering) -> None:
        """A clusterset address resolves only on a cluster that joined the clusterset."""
        local, peer = peering.local, peering.peer
        if local.cluster.name == peer.cluster.name or peer.cluster.ingress_type != "Submariner" \
                or local.cluster.clusterset:
            return
        # one problem per pair of clusters, however many meshes peer across them
        self.error("MG037", f'cluster "{local.cluster.name}" is not in the Submariner '
                   f'clusterset, but meshes there reach peers on cluster "{peer.cluster.name}" '
                   "at *.svc.clusterset.local addresses, which resolve only in the clusterset",
                   (*local.cluster.origin, "ingress"),
                   f'if cluster "{local.cluster.name}" joined the clusterset, set '
                   f'`clusterset: true` in its ingress; otherwise give cluster '
                   f'"{peer.cluster.name}" a LoadBalancer ingress')

    def check_names(self, peering: Peering) -> None:
        """Kubernetes refuses a Service whose name is no RFC 1035 label; the gateway
        Services (and ServiceExports) take the gateway names."""
        local, peer = peering.local, peering.peer
        invalid = [g.name for g in (peering.ingress, peering.egress)
                   if not RFC1035_LABEL.match(g.name)]
        if invalid:
            self.error("MG048", f'mesh "{local.name}" would name its gateway Services for peer '
                       f'"{peer.name}" ' + " and ".join(f'"{n}"' for n in invalid) +
                       ", which are no valid Service names", peer.origin("name"),
                       "Service names start with a letter (RFC 1035 label): rename the "
                       f'mesh, or set `gatewayNaming: prefix` on mesh "{local.name}"')
        if peering.root_cert_configmap == ISTIOD_ROOT_CERT_CONFIGMAP:
            self.error("MG066", f'mesh "{peer.name}" gives its peer "{local.name}" the '
                       f'ConfigMap "{ISTIOD_ROOT_CERT_CONFIGMAP}", which istiod writes in '
                       f'namespace "{local.namespace}" with its own root',
                       peer.origin("name"), "rename the mesh")

    def check_addresses(self, peerings: list[Peering]) -> None:
        """Two LoadBalancer Services with one external DNS name: external-dns points the
        name at one of them, and a peer reaches the wrong mesh."""
        owners: dict[str, Peering] = {}
        reported: set[tuple[str, str]] = set()
        for peering in peerings:
            hostname = peering.ingress.annotations.get(EXTERNAL_DNS_HOSTNAME)
            if peering.ingress.service_type != "LoadBalancer" or hostname is None:
                continue
            first = owners.setdefault(hostname, peering)
            if first is peering:
                continue
            local, other = peering.local, first.local
            if (other.name, local.name) in reported:
                continue
            reported.add((other.name, local.name))
            self.error("MG036", f'mesh "{local.name}" on cluster "{local.cluster.name}" and '
                       f'mesh "{other.name}" on cluster "{other.cluster.name}" both publish '
                       f"{hostname} for their ingress gateway", local.origin("namespace"),
                       "LoadBalancer addresses are <gateway>.<namespace>.<domain>: give the "
                       "clusters distinct ingress `domain`s or the meshes distinct "
                       "`namespace`s")

    def check_service_exports(self, peerings: list[Peering]) -> None:
        """Submariner merges same-named exports from several clusters into one clusterset
        service, so two meshes would receive each other's federation traffic."""
        exported: dict[tuple[str, str], Peering] = {}
        for peering in peerings:
            if not peering.service_export:
                continue
            key = (peering.local.namespace, peering.ingress.name)
            first = exported.setdefault(key, peering)
            if first is peering or first.local.cluster.name == peering.local.cluster.name:
                continue
            local = peering.local
            self.error("MG035", f'gateway Service "{key[1]}" in namespace "{key[0]}" is '
                       f'exported to the clusterset from cluster "{local.cluster.name}" (mesh '
                       f'"{local.name}") and from cluster "{first.local.cluster.name}" (mesh '
                       f'"{first.local.name}"); Submariner merges them into one service',
                       local.origin("namespace"),
                       "give one of the meshes another control-plane `namespace`")

    def check_gateways(self, mesh: MeshPlan, peerings: list[Peering]) -> None:
        """smcpSpec may add to the control plane, never replace what federation needs."""
        spec = mesh.smcp_spec
        protected = [(["version"], "set the mesh's `version` field instead"),
                     *([(["security", "certificateAuthority"],
                         f"ca.type {mesh.ca.type} generates it; use `type: selfSigned` to "
                         "configure the CA through smcpSpec")] if mesh.ca.plugged_in else []),
                     (["cluster", "name"], "the cluster name comes from the mesh's `cluster`"),
                     (["security", "trust", "domain"],
                      "set the mesh's `trustDomain` field instead")]
        if peerings:
            protected += [(["gateways", kind], "") for kind in GATEWAY_KINDS]
        replaced: set[tuple[str, ...]] = set()
        for keys, hint in protected:
            for depth in range(1, len(keys) + 1):
                here = keys[:depth]
                if not _present(spec, here):
                    break
                value = dig(spec, here)
                if depth == len(keys) and (hint or not isinstance(value, dict)):
                    self.smcp_error(mesh, "MG081", here, "sets {key}, which meshgen generates",
                                     hint or "add gateways of your own under it; meshgen "
                                     "generates the federation gateways there")
                elif depth < len(keys) and not isinstance(value, dict):
                    if tuple(here) not in replaced:
                        replaced.add(tuple(here))
                        self.smcp_error(mesh, "MG081", here, "sets {key} to "
                                         f"{_shown(value)}, which removes settings meshgen "
                                         f"generates under it ({'.'.join(keys)})",
                                         "leave the key out, or give it a mapping")
                    break
        generated = {p.ingress.name for p in peerings} | {p.egress.name for p in peerings}
        names: set[str] = set()
        for kind in GATEWAY_KINDS:
            extra = dig(spec, ["gateways", kind])
            for name in extra if isinstance(extra, dict) else {}:
                keys = ["gateways", kind, name]
                if name in generated:
                    self.smcp_error(mesh, "MG081", keys, "defines gateway {last}, which "
                                     "meshgen generates for federation",
                                     "federation gateways are generated per peer; rename yours")
                elif name in RESERVED_GATEWAYS:
                    self.smcp_error(mesh, "MG080", keys, "defines additional gateway {last}",
                                     "istio-ingressgateway and istio-egressgateway are reserved")
                elif name in names:
                    self.smcp_error(mesh, "MG080", keys, "defines gateway {last} twice",
                                     "gateway names must be unique across additionalIngress "
                                     "and additionalEgress")
                names.add(name)
                for label_path in _paths_to(extra[name], FEDERATION_LABELS):
                    self.smcp_error(mesh, "MG081", [*keys, *label_path],
                                     "gives gateway \"" + name + "\" the label {last}",
                                     "that label selects the pods of a federation gateway; "
                                     "your gateway's pods would receive federation traffic")


def _paths_to(data: Any, keys: tuple[str, ...], path: tuple[str, ...] = ()
              ) -> list[list[str]]:
    """Every key path inside data that ends in one of keys."""
    found: list[list[str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key in keys:
                found.append([*path, key])
            found += _paths_to(value, keys, (*path, key))
    elif isinstance(data, list):
        for item in data:
            found += _paths_to(item, keys, path)
    return found


def _shown(value: Any) -> str:
    return "null" if value is None else repr(value)


def _present(data: Any, keys: list[str]) -> bool:
    parent = dig(data, keys[:-1])
    return isinstance(parent, dict) and keys[-1] in parent
