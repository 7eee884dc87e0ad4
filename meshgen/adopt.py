"""Reconstruct a fleet from running OSSM 2 meshes (`meshgen import ossm`).

From each cluster's dump (dumps.py): every ServiceMeshControlPlane is a mesh (its
namespace, name, version, trust domain; members from the ServiceMeshMemberRoll), every
ServiceMeshPeer whose mirror exists on the other mesh makes a federated pair, the service
sets give exports and imports, and the peer root ConfigMaps give the roots. What does not
fit meshgen's model is reported with the object it came from, never guessed:
- a peer whose remote mesh is not in the dumps, or has no peer back (asymmetric);
- meshes called by different names by their peers;
- a clientID that is not the other side's egress gateway;
- addresses that fit no pattern meshgen generates, or give one cluster two domains;
- two different roots for one mesh.
The naming rules are meshgen's own (plan/types.py: gateway_for, ingress_address).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML

from .certimport import read_input
from .dumps import Dump, DumpedObject
from .errors import FleetError, Problem, Severity
from .plan.meshes import deep_merge
from .plan.types import CACERTS_DIR

FLEET_HEADER = ("# yaml-language-server: $schema=../schema/fleet.schema.json\n"
                "# Written by `meshgen import ossm` from the clusters' dumps: review it, then\n"
                "# compare what meshgen would change (`meshgen diff`) before syncing.\n")
# a key of _domains' result: the cluster reaches peers at clusterset addresses
CLUSTERSET_MEMBER = "clusterset member: "
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_CLIENT_ID = re.compile(r"^(?P<domain>[^/]+)/ns/(?P<ns>[^/]+)/sa/(?P<sa>[^/]+)$")


@dataclass
class AdoptedMesh:
    smcp: DumpedObject
    name: str
    members: list[str] = field(default_factory=list)
    root: str | None = None  # PEM
    gateway_naming: str = "suffix"
    plugged_in: bool = False  # istiod signs with the `cacerts` Secret (ca.type plugin)

    @property
    def cluster(self) -> str:
        return self.smcp.cluster

    @property
    def namespace(self) -> str:
        return self.smcp.namespace

    @property
    def trust_domain(self) -> str:
        return _text(self.smcp.data, "spec", "security", "trust", "domain") or "cluster.local"


@dataclass
class Adoption:
    fleet: dict[str, Any]
    roots: dict[str, str]  # mesh -> PEM, written to certs/<mesh>.pem
    problems: list[Problem]
    header: str = FLEET_HEADER
    discovered: list[str] = field(default_factory=list)  # meshes found, not deployed


def _note(obj: DumpedObject, message: str, hint: str, code: str = "MG184") -> Problem:
    return Problem(code, f"{obj.kind} {obj.namespace}/{obj.name} on {obj.cluster}: {message}",
                   obj.location, hint, Severity.WARNING)


def _at(data: Any, *keys: str) -> Any:
    """The value under keys, or None where the dump has another shape than upstream's."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _text(data: Any, *keys: str) -> str:
    value = _at(data, *keys)
    return value if isinstance(value, str) else ""


def _items(data: Any, *keys: str) -> list[Any]:
    value = _at(data, *keys)
    return value if isinstance(value, list) else []


def _mapping(data: Any, *keys: str) -> dict[str, Any]:
    value = _at(data, *keys)
    return value if isinstance(value, dict) else {}


def adopt(dumps: list[Dump], name: str) -> Adoption:
    problems: list[Problem] = []
    objects = [o for d in dumps for o in d.objects]
    meshes = {(o.cluster, o.namespace): AdoptedMesh(o, o.name) for o in objects
              if o.kind == "ServiceMeshControlPlane"}
    peers = [o for o in objects if o.kind == "ServiceMeshPeer"
             and (o.cluster, o.namespace) in meshes]
    targets = {p: _target(p, meshes, problems) for p in peers}
    _name_meshes(meshes, peers, targets, problems)
    for mesh in meshes.values():
        smmr = next((o for o in objects if o.kind == "ServiceMeshMemberRoll"
                     and (o.cluster, o.namespace) == (mesh.cluster, mesh.namespace)), None)
        if smmr is not None:
            mesh.members = [m for m in _items(smmr.data, "spec", "members")
                            if isinstance(m, str)]
    pairs = _pairs(peers, targets, meshes, problems)
    _roots(objects, peers, targets, problems)
    for mesh in meshes.values():
        mesh.plugged_in = _plugged_in(mesh, problems)
    domains = _domains(peers, targets, problems)
    by_name = {m.name: m for m in meshes.values()}
    shared = {pair: root for pair in pairs if (root := _shared_root(by_name, *pair))}
    # a mesh whose every federation shares a root has none of its own to write
    only_shared = {m for pair in shared for m in pair} - \
        {m for pair in pairs if pair not in shared for m in pair}
    fleet: dict[str, Any] = {
        "apiVersion": "meshgen.dev/v1alpha1", "kind": "Fleet", "metadata": {"name": name},
        "clusters": [_cluster(d.cluster, domains) for d in dumps],
        "meshes": [_mesh(m, own_root=m.name not in only_shared)
                   for m in sorted(meshes.values(), key=lambda m: m.name)],
    }
    if pairs:
        fleet["federations"] = [_federation(a, b, (a, b) in shared) for a, b in pairs]
    exports, imports = _service_sets(objects, meshes, targets, peers, set(pairs))
    if exports:
        fleet["exports"] = exports
    if imports:
        fleet["imports"] = imports
    # a name from a dump becomes a file name: only DNS labels, as Kubernetes names are
    roots = {m.name: m.root for m in meshes.values() if m.root and _DNS_LABEL.match(m.name)
             and m.name not in only_shared}
    roots.update({f"{a}-{b}": root for (a, b), root in shared.items()})
    return Adoption(fleet, roots, problems)


def _plugged_in(mesh: AdoptedMesh, problems: list[Problem]) -> bool:
    """Whether istiod signs with a plugged-in CA (the `cacerts` Secret), as meshgen's
    plugin and certManager CAs make it (maistra/api, maistra-2.6: core/v2/security.go,
    CertificateAuthorityConfig). Any other CA is kept as the SMCP has it (smcpSpec)."""
    ca = _mapping(mesh.smcp.data, "spec", "security", "certificateAuthority")
    kind, signer = _text(ca, "type") or "Istiod", _text(ca, "istiod", "type") or "SelfSigned"
    if kind == "Istiod" and signer == "SelfSigned":
        return False
    if kind == "Istiod" and signer == "PrivateKey":
        directory = _text(ca, "istiod", "privateKey", "rootCADir")
        if directory not in ("", CACERTS_DIR):
            problems.append(_note(mesh.smcp, f"istiod reads its CA from {directory}; meshgen "
                                  f"mounts `cacerts` at {CACERTS_DIR}",
                                  "the diff shows the change"))
        return True
    problems.append(_note(mesh.smcp, f"certificate authority {kind}"
                          + (f"/{signer}" if kind == "Istiod" else "") + " is no CA meshgen "
                          "writes; kept in smcpSpec as it is",
                          "meshgen's CAs: istiod's own, or a plugged-in `cacerts`"))
    return False


def _shared_root(meshes: dict[str, AdoptedMesh], a: str, b: str) -> str | None:
    """The root two plugged-in meshes both chain to, if one: their trust is shared."""
    one, other = meshes[a], meshes[b]
    if one.plugged_in and other.plugged_in and one.root and other.root and \
            one.root.strip() == other.root.strip() and _DNS_LABEL.match(f"{a}-{b}"):
        return one.root
    return None


def _federation(a: str, b: str, shared: bool) -> dict[str, Any]:
    federation: dict[str, Any] = {"name": f"{a}-{b}", "meshes": [a, b]}
    if shared:
        federation["trust"] = {"type": "shared", "rootCert": f"certs/{a}-{b}.pem"}
    return federation


def _target(peer: DumpedObject, meshes: dict[tuple[str, str], AdoptedMesh],
            problems: list[Problem]) -> AdoptedMesh | None:
    """The mesh a peer points at: by its trust domain and the namespace of its clientID."""
    client_id = _text(peer.data, "spec", "security", "clientID")
    trust_domain = _text(peer.data, "spec", "security", "trustDomain")
    match = _CLIENT_ID.match(client_id)
    if match is None:
        problems.append(_note(peer, f"clientID {client_id!r} is not "
                              "<trust domain>/ns/<namespace>/sa/<service account>",
                              "meshgen sets it to the other mesh's egress gateway account"))
        return None
    found = [m for m in meshes.values() if m.namespace == match["ns"]
             and m.trust_domain == trust_domain]
    if len(found) != 1:
        problems.append(_note(peer, f"{'no' if not found else 'more than one'} mesh in the "
                              f"dumps has namespace {match['ns']} and trust domain "
                              f"{trust_domain}",
                              "dump every cluster of the federation (CLUSTER=FILE)"))
        return None
    return found[0]


def _name_meshes(meshes: dict[tuple[str, str], AdoptedMesh], peers: list[DumpedObject],
                 targets: dict[DumpedObject, AdoptedMesh | None],
                 problems: list[Problem]) -> None:
    """A mesh is named what its peers call it (the ServiceMeshPeer name), when they agree."""
    for mesh in meshes.values():
        called = sorted({p.name for p in peers if targets[p] is mesh})
        if len(called) == 1:
            mesh.name = called[0]
        elif len(called) > 1:
            problems.append(_note(mesh.smcp, f"its peers call it {', '.join(called)}; "
                                  f"named {mesh.name} here",
                                  "meshgen names every peer of a mesh the same"))
        own = [p for p in peers if (p.cluster, p.namespace) == (mesh.cluster, mesh.namespace)]
        for p in own:
            ingress = _text(p.data, "spec", "gateways", "ingress", "name")
            if ingress == f"ingress-{p.name}":
                mesh.gateway_naming = "prefix"


def _pairs(peers: list[DumpedObject], targets: dict[DumpedObject, AdoptedMesh | None],
           meshes: dict[tuple[str, str], AdoptedMesh],
           problems: list[Problem]) -> list[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for peer in peers:
        local, remote = meshes[(peer.cluster, peer.namespace)], targets[peer]
        if remote is None:
            continue
        mirror = next((p for p in peers if (p.cluster, p.namespace) ==
                       (remote.cluster, remote.namespace) and targets[p] is local), None)
        if mirror is None:
            problems.append(_note(peer, f"{remote.name} has no ServiceMeshPeer back to "
                                  f"{local.name}", "federate both ways, or delete the peer"))
            continue
        client = _CLIENT_ID.match(_text(peer.data, "spec", "security", "clientID"))
        egress = _text(mirror.data, "spec", "gateways", "egress", "name")
        if client and egress and client["sa"] != f"{egress}-service-account":
            problems.append(_note(peer, f"clientID names service account {client['sa']}, but "
                                  f"{remote.name} leaves through egress gateway {egress}",
                                  "meshgen writes <egress gateway>-service-account"))
        pairs.add(tuple(sorted((local.name, remote.name))))  # type: ignore[arg-type]
    return sorted(pairs)


def _roots(objects: list[DumpedObject], peers: list[DumpedObject],
           targets: dict[DumpedObject, AdoptedMesh | None], problems: list[Problem]) -> None:
    configmaps = {(o.cluster, o.namespace, o.name): o for o in objects if o.kind == "ConfigMap"}
    for peer in peers:
        remote = targets[peer]
        name = _text(peer.data, "spec", "security", "certificateChain", "name") \
            or f"{peer.name}-ca-root-cert"
        configmap = configmaps.get((peer.cluster, peer.namespace, name))
        if remote is None or configmap is None:
            continue
        pem = _text(configmap.data, "data", "root-cert.pem")
        if not pem:
            continue
        try:  # the checks `meshgen certs import` makes: a CA that may sign, not expired
            read_input(pem.encode(), "root-cert.pem")
        except FleetError as exc:
            why = next(iter(exc.problems)).message.removeprefix("root-cert.pem: ")
            problems.append(_note(configmap, f"root-cert.pem is no usable root: {why}",
                                  f"import {remote.name}'s root with `meshgen certs import`"))
            continue
        if remote.root is not None and remote.root.strip() != pem.strip():
            problems.append(_note(configmap, f"holds another root for {remote.name} than its "
                                  "other peers do", "give every peer the same root"))
            continue
        remote.root = pem


def _domains(peers: list[DumpedObject], targets: dict[DumpedObject, AdoptedMesh | None],
             problems: list[Problem]) -> dict[str, str]:
    """Each cluster's ingress domain: `<gateway>.<namespace>.<domain>` minus the prefix
    (`svc.clusterset.local` for a Submariner cluster; plan/types.py ingress_address)."""
    domains: dict[str, str] = {}
    for peer in peers:
        remote = targets[peer]
        if remote is None:
            continue
        for address in _items(peer.data, "spec", "remote", "addresses"):
            _, _, rest = str(address).partition(".")
            namespace, _, domain = rest.partition(".")
            if namespace != remote.namespace or domain == "svc.cluster.local":
                if namespace != remote.namespace:
                    problems.append(_note(peer, f"address {address} is not "
                                          f"<gateway>.{remote.namespace}.<domain>",
                                          "meshgen derives addresses from the cluster's "
                                          "ingress domain"))
                continue
            if domain == "svc.clusterset.local":  # so peer's cluster joined the clusterset
                domains.setdefault(CLUSTERSET_MEMBER + peer.cluster, domain)
            known = domains.setdefault(remote.cluster, domain)
            if known != domain:
                problems.append(_note(peer, f"address {address} puts cluster {remote.cluster} "
                                      f"under {domain}, other peers under {known}",
                                      "one ingress domain per cluster"))
            break
    return domains


def _cluster(name: str, domains: dict[str, str]) -> dict[str, Any]:
    cluster: dict[str, Any] = {"name": name}
    domain = domains.get(name)
    if domain == "svc.clusterset.local":  # reached through the Submariner clusterset
        cluster["ingress"] = {"type": "Submariner"}
    elif domain:
        cluster["ingress"] = {"type": "LoadBalancer", "domain": domain}
        if CLUSTERSET_MEMBER + name in domains:
            cluster["ingress"]["clusterset"] = True
    return cluster


def _mesh(mesh: AdoptedMesh, own_root: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"name": mesh.name, "cluster": mesh.cluster}
    if mesh.namespace != mesh.name:
        data["namespace"] = mesh.namespace
    if mesh.smcp.name != mesh.name:
        data["controlPlaneName"] = mesh.smcp.name
    version = _text(mesh.smcp.data, "spec", "version")
    if version:
        data["version"] = str(version)
    if mesh.trust_domain != f"{mesh.name}.local":
        data["trustDomain"] = mesh.trust_domain
    if mesh.members:
        data["members"] = mesh.members
    if mesh.gateway_naming != "suffix":
        data["gatewayNaming"] = mesh.gateway_naming
    if mesh.plugged_in:  # the Secret is on the cluster; how it arrives is not in the dump
        data["ca"] = {"type": "plugin", "secret": {"none": {}}}
    if mesh.root and own_root:
        data["rootCert"] = f"certs/{mesh.name}.pem"
    return data


def _service_sets(objects: list[DumpedObject], meshes: dict[tuple[str, str], AdoptedMesh],
                  targets: dict[DumpedObject, AdoptedMesh | None],
                  peers: list[DumpedObject],
                  pairs: set[tuple[str, str]]) -> tuple[list[Any], list[Any]]:
    """The service sets of federated pairs (a peer without its mirror federates nothing)."""
    exports: list[Any] = []
    imports: list[Any] = []
    for obj in objects:
        if obj.kind not in ("ExportedServiceSet", "ImportedServiceSet"):
            continue
        local = meshes.get((obj.cluster, obj.namespace))
        peer = next((p for p in peers if (p.cluster, p.namespace, p.name) ==
                     (obj.cluster, obj.namespace, obj.name)), None)
        remote = targets.get(peer) if peer is not None else None
        if local is None or remote is None or \
                tuple(sorted((local.name, remote.name))) not in pairs:
            continue
        if obj.kind == "ExportedServiceSet":
            services = [_export(r) for r in _items(obj.data, "spec", "exportRules")
                        if isinstance(r, dict)]
            exports.append({"mesh": local.name, "to": [remote.name],
                            "services": [s for s in services if s]})
        else:
            services = [_import(r) for r in _items(obj.data, "spec", "importRules")
                        if isinstance(r, dict)]
            imports.append({"mesh": local.name, "from": remote.name,
                            "services": [s for s in services if s]})
    return exports, imports


def _alias(selector: dict[str, Any]) -> dict[str, str]:
    return {k: _text(selector, "alias", k) for k in ("name", "namespace")
            if _text(selector, "alias", k) not in ("", "*")}


def _export(rule: dict[str, Any]) -> dict[str, Any] | None:
    if rule.get("type") == "NameSelector":
        selector = _mapping(rule, "nameSelector")
        service: dict[str, Any] = {"namespace": _text(selector, "namespace"),
                                   "name": _text(selector, "name")}
    elif rule.get("type") == "LabelSelector":
        selector = _mapping(rule, "labelSelector")
        service = {"namespace": _text(selector, "namespace"),
                   "selector": _mapping(selector, "selector", "matchLabels")}
        aliases = _items(selector, "aliases")
        selector = aliases[0] if aliases and isinstance(aliases[0], dict) else {}
    else:
        return None
    if alias := _alias(selector):
        service["alias"] = alias
    return service


def _import(rule: dict[str, Any]) -> dict[str, Any] | None:
    if rule.get("type") != "NameSelector":
        return None
    selector = _mapping(rule, "nameSelector")
    service: dict[str, Any] = {"namespace": _text(selector, "namespace"),
                               "name": _text(selector, "name")}
    if alias := _alias(selector):
        service["alias"] = alias
    if rule.get("importAsLocal") is True:
        service["asLocal"] = True
    return service


__all__ = ["Adoption", "adopt"]


def yaml_text(fleet: dict[str, Any]) -> str:
    """The fleet as block YAML, keys in the order written (deterministic)."""
    stream = io.StringIO()
    writer = YAML()
    writer.default_flow_style = False
    writer.indent(mapping=2, sequence=4, offset=2)
    writer.dump(fleet, stream)
    return stream.getvalue()


def add_smcp_spec(fleet: dict[str, Any], extras: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Put the settings meshgen does not model into the smcpSpec of their mesh."""
    for mesh in fleet["meshes"]:
        extra = extras.get((mesh["cluster"], mesh.get("namespace", mesh["name"])))
        if extra:
            mesh["smcpSpec"] = deep_merge(mesh.get("smcpSpec") or {}, extra)
