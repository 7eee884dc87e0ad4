"""What the plan resolved for one mesh, each fact with the fleet.yaml position it came from.

Settings a mesh does not set anywhere (defaults of meshgen, not of the fleet's `defaults`)
have no position and say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .backends.istio.explain import explain_istio
from .backends.istio.traffic import CLUSTER_LABEL
from .errors import Location
from .plan import ImportRule, MeshPlan, Peering, Plan, shared_trust
from .plan.traffic import Destination, TrafficPlan
from .source import PathKey

FORMATS = ("text", "json")
_BUILTIN = {"namespace": "the mesh name", "controlPlaneName": "the mesh name",
            "version": "meshgen's default", "profiles": "meshgen's default",
            "trustDomain": "<mesh>.local", "members": "none", "addons": "operator defaults",
            "rootCert": "none", "gatewayNaming": "suffix", "dnsCapture": "off"}

_CHILD_VALUE = {"exports": "source", "imports": "hostname", "remote secrets": "source",
                "traffic": "routes"}


@dataclass(frozen=True)
class Fact:
    label: str
    value: Any
    origin: Location | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        where = self.origin
        return {"value": self.value, "line": where.line if where else None,
                "column": where.column if where else None, "note": self.note or None}


@dataclass
class Section:
    kind: str  # mesh | peer
    name: str
    origin: Location | None
    facts: list[Fact] = field(default_factory=list)
    children: dict[str, list[Fact]] = field(default_factory=dict)


@dataclass
class Explanation:
    fleet: str
    mesh: str
    sections: list[Section]

    def as_dict(self) -> dict[str, Any]:
        def key(label: str) -> str:
            first, *rest = label.split()
            return first + "".join(w.capitalize() for w in rest)

        def section(s: Section) -> dict[str, Any]:
            data: dict[str, Any] = {"line": s.origin.line if s.origin else None}
            data.update({key(f.label): f.as_dict() for f in s.facts})
            for name, facts in s.children.items():
                data[name] = [{"service": f.label, _CHILD_VALUE[name]: f.value,
                               **{k: v for k, v in f.as_dict().items() if k != "value"}}
                              for f in facts]
            return data

        mesh, *others = self.sections
        result = {"fleet": self.fleet, "mesh": self.mesh, "settings": section(mesh),
                  "peers": {p.name: section(p) for p in others if p.kind == "peer"}}
        if clusters := [s for s in others if s.kind == "cluster"]:  # an istio mesh's
            result["clusters"] = {c.name: section(c) for c in clusters}
        return result


def explain(plan: Plan, name: str) -> Explanation:
    istio = next((m for m in plan.istio if m.name == name), None)
    if istio is not None:
        return explain_istio(plan, istio)
    mesh = plan.named(name)
    sections = [_mesh_section(plan, mesh)]
    sections += [_peer_section(plan, p) for p in plan.peerings_of(mesh)]
    return Explanation(fleet=plan.source.name, mesh=name, sections=sections)


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
    if traffic := traffic_facts(plan, mesh.name):
        section.children["traffic"] = traffic
    return section


def traffic_facts(plan: Plan, mesh: str) -> list[Fact]:
    """A mesh's `traffic` entries, each with its resolved routes (either backend)."""
    return [Fact(f"{t.namespace}/{t.name}", _routes(t), plan.source.at(t.origin))
            for t in plan.traffic if t.mesh == mesh]


def _routes(traffic: TrafficPlan) -> list[str]:
    """A traffic entry's destinations with their resolved hosts."""
    routes = [f"route {d.weight}% -> {_destination(d)}" for d in traffic.route]
    if traffic.mirror is not None:
        routes.append(f"mirror {traffic.mirror_percent:g}% -> {_destination(traffic.mirror)}")
    if traffic.failover is not None:
        routes.append(traffic.failover.describe())
    return routes


def _destination(d: Destination) -> str:
    where = f" ({CLUSTER_LABEL}={d.cluster})" if d.cluster else ""
    return d.host + (f" subset {d.subset}" if d.subset else "") + where


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


def format_text(explanation: Explanation) -> str:
    def where(location: Location | None, note: str = "") -> str:
        text = f"{location.line}:{location.column}" if location else ""
        return "  ".join(x for x in (f"line {text}" if text else "", f"({note})" if note else "")
                         if x)

    def shown(value: Any) -> str:
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, list):
            return ", ".join(map(str, value)) or "(none)"
        return "(none)" if value is None else str(value)

    lines = [f"{explanation.fleet}: mesh {explanation.mesh}"]
    for section in explanation.sections:
        lines += ["", f"{section.kind} {section.name}  {where(section.origin)}"]
        width = max(len(f.label) for f in section.facts)
        values = max(len(shown(f.value)) for f in section.facts)
        lines += [f"  {f.label:<{width}}  {shown(f.value):<{values}}  "
                  f"{where(f.origin, f.note)}".rstrip() for f in section.facts]
        for name, facts in section.children.items():
            if not facts:
                lines.append(f"  {name:<{width}}  (none)")
                continue
            lines.append(f"  {name}")
            for f in facts:
                if isinstance(f.value, list):  # a traffic entry: one line per destination
                    lines.append(f"    {f.label}  {where(f.origin, f.note)}".rstrip())
                    lines += [f"      {item}" for item in f.value]
                    continue
                lines.append(f"    {f.label} -> {f.value}  {where(f.origin, f.note)}".rstrip())
    return "\n".join(lines) + "\n"
