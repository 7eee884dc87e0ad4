"""`meshgen explain` for an ossm2 mesh: its settings (each with the fleet.yaml position it
came from) and, per peer, the federation, address, gateways, root and services."""

from __future__ import annotations

from typing import Any

from ...errors import Location
from ...explain import Explanation, Fact, Section
from ...plan import ImportRule, MeshPlan, Peering, Plan, shared_trust
from ...source import PathKey

_BUILTIN = {"namespace": "the mesh name", "controlPlaneName": "the mesh name",
            "version": "meshgen's default", "profiles": "meshgen's default",
            "trustDomain": "<mesh>.local", "members": "none", "addons": "operator defaults",
            "rootCert": "none", "gatewayNaming": "suffix", "dnsCapture": "off"}


def explain_mesh(plan: Plan, mesh: MeshPlan) -> Explanation:
    """The mesh's settings, then one section per peer (its traffic: meshgen/explain.py)."""
    sections = [_mesh_section(plan, mesh)]
    sections += [_peer_section(plan, p) for p in plan.peerings_of(mesh)]
    return Explanation(fleet=plan.source.name, mesh=mesh.name, sections=sections)


def _setting(plan: Plan, mesh: MeshPlan, label: str, alias: str, value: Any) -> Fact:
    if alias in mesh.origins:
        return Fact(label, value, plan.source.at(mesh.origins[alias]))
    return Fact(label, value, None, f"default: {_BUILTIN[alias]}")


def _cluster_origin(plan: Plan, mesh: MeshPlan) -> Location:
    """Where the mesh's cluster is chosen: its `cluster` key, or its template's selection."""
    base: PathKey = mesh.origin("name")[:-1]
    for key in ("cluster", "clusters", "clusterSelector"):
        if (*base, key) in plan.source.values:
            return plan.source.at((*base, key))
    return plan.source.at(base)


def _mesh_section(plan: Plan, mesh: MeshPlan) -> Section:
    at = plan.source.at
    section = Section("mesh", mesh.name, at(mesh.origin("name")))
    section.facts = [
        Fact("cluster", mesh.cluster.name, _cluster_origin(plan, mesh)),
        _setting(plan, mesh, "namespace", "namespace", mesh.namespace),
        _setting(plan, mesh, "control plane", "controlPlaneName", mesh.control_plane_name),
        _setting(plan, mesh, "version", "version", mesh.version),
        _setting(plan, mesh, "trust domain", "trustDomain", mesh.trust_domain),
        _setting(plan, mesh, "members", "members", list(mesh.members)),
        _setting(plan, mesh, "root cert", "rootCert", mesh.root_cert_path),
        _ca_fact(plan, mesh),
        *_trust_facts(plan, mesh),
        _setting(plan, mesh, "gateway naming", "gatewayNaming", mesh.gateway_naming),
        _setting(plan, mesh, "dns capture", "dnsCapture", mesh.dns_capture),
    ]
    return section


def _reachability(plan: Plan, peering: Peering, rule: ImportRule) -> str:
    """How a client reaches what rule imports: an asLocal import is a local Service name;
    a `*-imports.local` name resolves in no DNS server, only in a sidecar that captures DNS
    or through a VirtualService that routes a resolvable name to it."""
    if rule.as_local:
        return "merged into the local service"
    if peering.local.dns_capture:
        return "reachable by name (dnsCapture)"
    routed = sorted({f"{t.namespace}/{t.name}" for t in plan.traffic
                     if t.mesh == peering.local.name
                     for d in t.destinations() if d.rule == rule})
    if routed:
        return "reachable only through VirtualService " + ", ".join(routed)
    return "no client can resolve it: route to it with `traffic`, or set dnsCapture"


def _ca_fact(plan: Plan, mesh: MeshPlan) -> Fact:
    """How istiod gets its CA, and how a plugged-in one reaches the cluster."""
    ca = mesh.ca
    at = plan.source.at
    origin = at(mesh.origins["ca.type"]) if "ca.type" in mesh.origins else None
    if ca.type == "selfSigned":
        return Fact("ca", "selfSigned", origin, "istiod makes its own root" if origin else
                    "default: istiod makes its own root")
    if ca.external_secret is not None:
        source = ca.external_secret
        how = f"ExternalSecret from {source.store_kind} {source.store}, key {source.path}"
    elif ca.sealed_secret_path is not None:
        how = f"SealedSecret {ca.sealed_secret_path}"
    elif ca.type == "certManager":
        how = f"Certificate from {ca.issuer_kind} {ca.issuer_name}"
    else:
        how = "created out of band"
    return Fact("ca", f"{ca.type}: cacerts via {how}", origin)


def _trust_facts(plan: Plan, mesh: MeshPlan) -> list[Fact]:
    shared = shared_trust(mesh, plan.trust)
    if shared is None:
        return []
    subject = ", ".join(shared.root.subjects) if shared.root else shared.root_cert_path
    return [Fact("trust", f"shared root of federation {shared.federation}: {subject}",
                 _root_origin(plan, mesh))]


def _peer_section(plan: Plan, peering: Peering) -> Section:
    at = plan.source.at
    local, peer = peering.local, peering.peer
    federation = at(peering.origin)
    naming = at(local.origins["gatewayNaming"]) if "gatewayNaming" in local.origins \
        else federation
    if peer.cluster.name == local.cluster.name:
        address_from, how = federation, "same cluster"
    else:
        # the setting that makes the address: a LoadBalancer's domain, or Submariner
        setting = "domain" if peer.cluster.ingress_type == "LoadBalancer" else "type"
        address_from = at((*peer.cluster.origin, "ingress", setting))
        how = f"cluster {peer.cluster.name} ingress {peer.cluster.ingress_type}"
    section = Section("peer", peer.name, federation)
    section.facts = [
        Fact("federation", peering.federation, federation),
        Fact("cluster", peer.cluster.name, _cluster_origin(plan, peer)),
        _setting(plan, peer, "trust domain", "trustDomain", peer.trust_domain),
        Fact("address", peering.address, address_from, how),
        Fact("ingress gateway", peering.ingress.name, naming,
             f"Service {peering.ingress.service_type}"),
        Fact("egress gateway", peering.egress.name, naming),
        Fact("client ID", peering.client_id, federation,
             f"{peer.name}'s egress gateway for {local.name}"),
        Fact("root cert", f"ConfigMap {peering.root_cert_configmap}", _root_origin(plan, peer),
             f"shared root of federation {peer.ca.shared_by}" if peer.ca.shared_by else ""),
    ]
    section.children["exports"] = [
        Fact("/".join(rule.exported_as), _export_source(rule.namespace, rule.name, rule.selector),
             at(rule.origin)) for rule in peering.exports]
    section.children["imports"] = [
        Fact(f"{rule.namespace}/{rule.name}",
             peering.imported_hostname(rule, rule.name, rule.namespace), at(rule.origin),
             "; ".join(x for x in ("pattern" if "*" in (rule.name, rule.namespace) else "",
                                   _reachability(plan, peering, rule)) if x))
        for rule in peering.imports]
    return section


def _root_origin(plan: Plan, mesh: MeshPlan) -> Location | None:
    """Where the root mesh's peers trust comes from: a shared federation root, or its own."""
    shared = shared_trust(mesh, plan.trust)
    if shared is not None:
        return plan.source.at((*shared.origin, "rootCert"))
    return plan.source.at(mesh.origins["rootCert"]) if "rootCert" in mesh.origins else None


def _export_source(namespace: str, name: str | None, selector: dict[str, str] | None) -> str:
    if selector is not None:
        labels = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        return f"services of {namespace} with labels {labels}"
    return f"{namespace}/{name}"
