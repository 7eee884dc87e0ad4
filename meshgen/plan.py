"""Fleet -> Plan: the resolved federation graph, with every cross-object rule checked."""

from __future__ import annotations

import copy
import datetime
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from . import model
from .certs import EXPIRY_WARNING, CertificateProblem, RootCertificate, read_root
from .errors import Location, Problem, Problems, Severity
from .source import PathKey, SourceFile

DEFAULT_VERSION = "v2.6"
FEDERATION_MIN_VERSION = (2, 1)
MAX_MESH_NAME = 55  # "<mesh>-ingress" must stay a 63-character DNS label
DISCOVERY_PORT = 8188
SERVICE_PORT = 15443
RESERVED_GATEWAYS = ("istio-ingressgateway", "istio-egressgateway")
RESERVED_NAMESPACES = ("default", "kube", "openshift")
RESERVED_NAMESPACE_PREFIXES = ("kube-", "openshift-", "ibm-")
EXTERNAL_DNS_HOSTNAME = "external-dns.alpha.kubernetes.io/hostname"
INGRESS_FOR = "federation.maistra.io/ingress-for"
EGRESS_FOR = "federation.maistra.io/egress-for"

Direction = Literal["ingress", "egress"]


@dataclass(frozen=True)
class ClusterPlan:
    name: str
    labels: dict[str, str]
    ingress_type: str | None
    domain: str | None
    annotations: dict[str, str]
    origin: PathKey


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
    root: RootCertificate | None = None
    peers: list[str] = field(default_factory=list)

    @property
    def federated(self) -> bool:
        return bool(self.peers)

    @property
    def version_tuple(self) -> tuple[int, int]:
        major, minor = self.version[1:].split(".")
        return int(major), int(minor)

    def origin(self, name: str) -> PathKey:
        return self.origins.get(name, self.origins["name"])


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

    @property
    def root_cert_configmap(self) -> str:
        return f"{self.peer.name}-ca-root-cert"

    def imported_hostname(self, rule: ImportRule, name: str, namespace: str) -> str:
        local_ns = rule.alias_namespace or namespace
        local_name = rule.alias_name or name
        suffix = "svc.cluster.local" if rule.as_local else f"svc.{self.peer.name}-imports.local"
        return f"{local_name}.{local_ns}.{suffix}"


@dataclass
class Plan:
    fleet_name: str
    source: SourceFile
    clusters: list[ClusterPlan]
    meshes: list[MeshPlan]
    peerings: list[Peering]
    warnings: list[Problem] = field(default_factory=list)

    def meshes_on(self, cluster: str) -> list[MeshPlan]:
        return [m for m in self.meshes if m.cluster.name == cluster]

    def peerings_of(self, mesh: MeshPlan) -> list[Peering]:
        return [p for p in self.peerings if p.local.name == mesh.name]

    def mesh(self, name: str) -> MeshPlan:
        return next(m for m in self.meshes if m.name == name)


# --- building the plan --------------------------------------------------------------------


def substitute(value: Any, variables: dict[str, str]) -> Any:
    """Replace "{mesh}" and "{cluster}" in every string of a template value."""
    if isinstance(value, str):
        for key, replacement in variables.items():
            value = value.replace("{" + key + "}", replacement)
        return value
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, variables) for k, v in value.items()}
    return value


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _selector_matches(selector: model.ClusterSelector, labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.match_labels.items()):
        return False
    for req in selector.match_expressions:
        present = req.key in labels
        if req.operator == "In" and labels.get(req.key) not in req.values:
            return False
        if req.operator == "NotIn" and present and labels[req.key] in req.values:
            return False
        if req.operator == "Exists" and not present:
            return False
        if req.operator == "DoesNotExist" and present:
            return False
    return True


_SETTINGS = [name for name in model.MeshSettings.model_fields]


@dataclass
class _Layer:
    settings: model.MeshSettings
    path: PathKey
    variables: dict[str, str]


class Planner:
    def __init__(self, fleet: model.Fleet, source: SourceFile, base_dir: Path,
                 now: datetime.datetime | None = None) -> None:
        self.fleet = fleet
        self.source = source
        self.base_dir = base_dir
        self.now = now or datetime.datetime.now(datetime.timezone.utc)
        self.problems = Problems()

    def error(self, code: str, message: str, path: PathKey, hint: str = "",
              key: bool = False) -> None:
        where = self.source.key_at(path) if key else self.source.at(path)
        self.problems.add(Problem(code, message, where, hint))

    def warn(self, code: str, message: str, path: PathKey, hint: str = "") -> None:
        self.problems.add(Problem(code, message, self.source.at(path), hint, Severity.WARNING))

    def at(self, path: PathKey) -> Location:
        return self.source.at(path)

    # clusters ---------------------------------------------------------------------------

    def clusters(self) -> dict[str, ClusterPlan]:
        result: dict[str, ClusterPlan] = {}
        for i, cluster in enumerate(self.fleet.clusters):
            path: PathKey = ("clusters", i)
            if cluster.name in result:
                self.error("MG022", f'cluster "{cluster.name}" is defined twice',
                           (*path, "name"), "cluster names must be unique")
                continue
            ingress = cluster.ingress
            if ingress and ingress.type == "LoadBalancer" and not ingress.domain:
                self.error("MG032", f'cluster "{cluster.name}": a LoadBalancer ingress needs '
                           "a `domain`", (*path, "ingress"),
                           "peers reach gateways here at <gateway>.<namespace>.<domain>")
            if ingress and ingress.type == "Submariner" and ingress.domain:
                self.error("MG032", f'cluster "{cluster.name}": `domain` is only for '
                           "LoadBalancer ingress", (*path, "ingress", "domain"),
                           "Submariner peers use <gateway>.<namespace>.svc.clusterset.local")
            result[cluster.name] = ClusterPlan(
                name=cluster.name, labels=dict(cluster.labels),
                ingress_type=ingress.type if ingress else None,
                domain=ingress.domain if ingress else None,
                annotations=dict(ingress.annotations) if ingress else {}, origin=path,
            )
        return result

    # meshes -----------------------------------------------------------------------------

    def meshes(self, clusters: dict[str, ClusterPlan]) -> dict[str, MeshPlan]:
        defaults = _Layer(self.fleet.defaults, ("defaults",), {})
        candidates: list[tuple[str, str, PathKey, list[_Layer]]] = []
        for i, spec in enumerate(self.fleet.meshes):
            path: PathKey = ("meshes", i)
            candidates.append((spec.name, spec.cluster, path,
                               [defaults, _Layer(spec, path, {})]))
        for i, template in enumerate(self.fleet.mesh_templates):
            path = ("meshTemplates", i)
            for cluster_name in self.template_clusters(template, path, clusters):
                name = f"{cluster_name}-{template.name}"
                variables = {"mesh": name, "cluster": cluster_name}
                candidates.append((name, cluster_name, (*path, "name"), [
                    defaults, _Layer(template.template, (*path, "template"), variables)]))

        meshes: dict[str, MeshPlan] = {}
        for name, cluster_name, path, layers in candidates:
            if name in meshes:
                self.error("MG023", f'mesh "{name}" is defined twice', path,
                           "mesh names must be unique in the fleet, after template expansion")
                continue
            if len(name) > MAX_MESH_NAME:
                self.error("MG021", f'mesh name "{name}" is {len(name)} characters, more than '
                           f"{MAX_MESH_NAME}", path,
                           'gateway Services are named "<mesh>-ingress" and must fit 63')
            cluster_path = (*path, "cluster") if path[0] == "meshes" else path
            cluster = clusters.get(cluster_name)
            if cluster is None:
                self.error("MG030", f'mesh "{name}" names unknown cluster "{cluster_name}"',
                           cluster_path, _did_you_mean(cluster_name, clusters))
                continue
            meshes[name] = self.resolve_mesh(name, cluster, path, layers)
        return meshes

    def template_clusters(self, template: model.MeshTemplate, path: PathKey,
                          clusters: dict[str, ClusterPlan]) -> list[str]:
        if (template.clusters is None) == (template.cluster_selector is None):
            self.error("MG033", f'meshTemplate "{template.name}" needs exactly one of '
                       "`clusters` or `clusterSelector`", path,
                       "list the clusters, or select them by label")
            return []
        if template.clusters is not None:
            names: list[str] = []
            for j, cluster_name in enumerate(template.clusters):
                if cluster_name not in clusters:
                    self.error("MG030", f'meshTemplate "{template.name}" names unknown '
                               f'cluster "{cluster_name}"', (*path, "clusters", j),
                               _did_you_mean(cluster_name, clusters))
                elif cluster_name not in names:
                    names.append(cluster_name)
            return names
        assert template.cluster_selector is not None
        selected = [c.name for c in clusters.values()
                    if _selector_matches(template.cluster_selector, c.labels)]
        if not selected:
            self.warn("MG034", f'meshTemplate "{template.name}": clusterSelector matches no '
                      "cluster", (*path, "clusterSelector"), "check the cluster labels")
        return selected

    def resolve_mesh(self, name: str, cluster: ClusterPlan, path: PathKey,
                     layers: list[_Layer]) -> MeshPlan:
        values: dict[str, Any] = {}
        origins: dict[str, PathKey] = {"name": path}
        for layer in layers:
            variables = layer.variables or {"mesh": name, "cluster": cluster.name}
            for attr in layer.settings.model_fields_set & set(_SETTINGS):
                value = getattr(layer.settings, attr)
                if value is None:
                    continue
                if isinstance(value, model.Addons):
                    value = value.model_dump(exclude_none=True)
                alias = model.MeshSettings.model_fields[attr].alias or attr
                substituted = substitute(value, variables)
                if substituted != value:
                    self.recheck(alias, substituted, layer.path)
                value = substituted
                if isinstance(value, dict) and isinstance(values.get(attr), dict):
                    value = deep_merge(values[attr], value)
                values[attr] = value
                origins[alias] = (*layer.path, alias)
        return MeshPlan(
            name=name, cluster=cluster,
            namespace=values.get("namespace", name),
            control_plane_name=values.get("control_plane_name", name),
            version=values.get("version", DEFAULT_VERSION),
            profiles=tuple(values.get("profiles", ["default"])),
            trust_domain=values.get("trust_domain", f"{name}.local"),
            members=tuple(values.get("members", [])),
            addons=values.get("addons", {}),
            root_cert_path=values.get("root_cert"),
            smcp_spec=values.get("smcp_spec", {}),
            gateway_naming=values.get("gateway_naming", "suffix"),
            origins=origins,
        )

    def recheck(self, alias: str, value: Any, path: PathKey) -> None:
        """Validate a setting again once "{mesh}"/"{cluster}" are substituted."""
        try:
            model.MeshSettings.model_validate({alias: value})
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                self.problems.add(model.pydantic_problem(error, self.source, path))

    def check_mesh(self, mesh: MeshPlan) -> None:
        seen: set[str] = set()
        for j, member in enumerate(mesh.members):
            member_path = (*mesh.origin("members"), j)
            if member in seen:
                self.error("MG063", f'mesh "{mesh.name}" lists member "{member}" twice',
                           member_path, "remove the duplicate")
            seen.add(member)
            if member == mesh.namespace:
                self.error("MG061", f'namespace "{member}" is the control-plane namespace of '
                           f'mesh "{mesh.name}" and cannot also be its member', member_path,
                           "workloads go into member namespaces of their own")
            if member in RESERVED_NAMESPACES or member.startswith(RESERVED_NAMESPACE_PREFIXES):
                self.error("MG062", f'namespace "{member}" can never be a mesh member',
                           member_path, "the operator always excludes default, kube, "
                           "openshift and kube-*, openshift-*, ibm-* namespaces")
        if mesh.addons.get("kiali") and mesh.addons.get("prometheus") is False:
            self.error("MG047", f'mesh "{mesh.name}": Kiali needs Prometheus',
                       mesh.origin("addons"), "enable addons.prometheus or disable kiali")

    def check_namespaces(self, meshes: Iterable[MeshPlan]) -> None:
        owners: dict[tuple[str, str], tuple[MeshPlan, str]] = {}
        for mesh in meshes:
            claims = [(mesh.namespace, "control plane", mesh.origin("namespace"))]
            claims += [(m, "member", (*mesh.origin("members"), j))
                       for j, m in enumerate(mesh.members)]
            for namespace, role, path in claims:
                key = (mesh.cluster.name, namespace)
                if key not in owners:
                    owners[key] = (mesh, role)
                    continue
                other, other_role = owners[key]
                if other is mesh:
                    continue
                code = "MG061" if "control plane" in (role, other_role) and role != other_role \
                    else "MG060"
                self.error(code, f'namespace "{namespace}" on cluster "{mesh.cluster.name}" is '
                           f'the {role} namespace of mesh "{mesh.name}" and already the '
                           f'{other_role} namespace of mesh "{other.name}"', path,
                           "a namespace belongs to at most one mesh per cluster")

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
                               _did_you_mean(mesh_name, meshes))
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
            if _dig(spec, dotted.split(".")) is not None:
                self.error("MG081", f'smcpSpec of mesh "{mesh.name}" sets {dotted}, which '
                           "meshgen generates", spec_path, hint)
        names: set[str] = set()
        for kind in ("additionalIngress", "additionalEgress"):
            extra = _dig(spec, ["gateways", kind])
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

    # exports and imports -----------------------------------------------------------------------

    def exports(self, meshes: dict[str, MeshPlan],
                by_pair: dict[tuple[str, str], Peering]) -> None:
        for i, export in enumerate(self.fleet.exports):
            path: PathKey = ("exports", i)
            mesh = meshes.get(export.mesh)
            if mesh is None:
                self.error("MG031", f'export names unknown mesh "{export.mesh}"',
                           (*path, "mesh"), _did_you_mean(export.mesh, meshes))
                continue
            if not mesh.peers:
                self.error("MG070", f'mesh "{mesh.name}" exports services but is not federated',
                           (*path, "mesh"), "add the mesh to a federation first")
                continue
            targets = mesh.peers
            if export.to is not None:
                targets = []
                for j, peer in enumerate(export.to):
                    if peer not in mesh.peers:
                        self.error("MG070", f'mesh "{mesh.name}" exports to "{peer}", which is '
                                   "not one of its peers", (*path, "to", j),
                                   "peers of this mesh: " + ", ".join(sorted(mesh.peers)))
                    elif peer not in targets:
                        targets.append(peer)
            rules = [r for j, svc in enumerate(export.services)
                     if (r := self.export_rule(mesh, svc, (*path, "services", j))) is not None]
            for peer in targets:
                by_pair[(mesh.name, peer)].exports.extend(rules)

    def export_rule(self, mesh: MeshPlan, svc: model.ExportedService,
                    path: PathKey) -> ExportRule | None:
        if (svc.name is None) == (svc.selector is None):
            self.error("MG072", "an exported service needs exactly one of `name` or "
                       "`selector`", path,
                       'use name: <service> (or "*"), or selector: {label: value}')
            return None
        if svc.namespace != "*" and svc.namespace not in mesh.members:
            self.error("MG071", f'namespace "{svc.namespace}" is not a member of mesh '
                       f'"{mesh.name}"', (*path, "namespace"),
                       "only services of member namespaces can be exported; members: "
                       + (", ".join(mesh.members) or "none"))
        alias = svc.alias
        if svc.selector is not None and alias and alias.name not in (None, "*"):
            self.error("MG072", "a selector rule cannot rename services to one `alias.name`",
                       (*path, "alias", "name"), "alias only the namespace, or export by name")
        return ExportRule(
            namespace=svc.namespace, name=svc.name,
            selector=dict(svc.selector) if svc.selector is not None else None,
            alias_namespace=alias.namespace if alias else None,
            alias_name=alias.name if alias else None, origin=path,
        )

    def imports(self, meshes: dict[str, MeshPlan],
                by_pair: dict[tuple[str, str], Peering]) -> None:
        for i, imp in enumerate(self.fleet.imports):
            path: PathKey = ("imports", i)
            mesh = meshes.get(imp.mesh)
            if mesh is None:
                self.error("MG031", f'import names unknown mesh "{imp.mesh}"',
                           (*path, "mesh"), _did_you_mean(imp.mesh, meshes))
                continue
            if imp.from_ not in mesh.peers:
                self.error("MG073", f'mesh "{mesh.name}" imports from "{imp.from_}", which is '
                           "not one of its peers", (*path, "from"),
                           "peers of this mesh: " + (", ".join(sorted(mesh.peers)) or "none"))
                continue
            peering = by_pair[(mesh.name, imp.from_)]
            offered = by_pair[(imp.from_, mesh.name)].exports
            for j, svc in enumerate(imp.services):
                rule_path: PathKey = (*path, "services", j)
                alias = svc.alias
                if svc.as_local and (alias is None or alias.namespace in (None, "*")):
                    self.error("MG075", "`asLocal: true` needs a fixed `alias.namespace`",
                               (*rule_path, "asLocal"),
                               "name the local namespace the service merges into")
                if not any(_patterns_meet((svc.namespace, svc.name), rule.exported_as)
                           for rule in offered):
                    seen = ", ".join(sorted({"/".join(r.exported_as) for r in offered}))
                    self.error("MG074", f'"{svc.namespace}/{svc.name}" is not exported by '
                               f'"{imp.from_}" to "{mesh.name}"', rule_path,
                               f"{imp.from_} exports to {mesh.name}: {seen}" if seen else
                               f'add an export from "{imp.from_}" to "{mesh.name}"; '
                               "names here are as exported (after the export alias)")
                peering.imports.append(ImportRule(
                    namespace=svc.namespace, name=svc.name,
                    alias_namespace=alias.namespace if alias else None,
                    alias_name=alias.name if alias else None,
                    as_local=svc.as_local, origin=rule_path,
                ))

    # the whole plan ---------------------------------------------------------------------------

    def plan(self) -> Plan:
        clusters = self.clusters()
        meshes = self.meshes(clusters)
        for mesh in meshes.values():
            self.check_mesh(mesh)
        ordered = sorted(meshes.values(), key=lambda m: (m.cluster.name, m.name))
        self.check_namespaces(ordered)
        pairs = self.pairs(meshes)
        for pair in pairs:
            for name in pair:
                meshes[name].peers.extend(sorted(pair - {name}))
        for mesh in ordered:
            mesh.peers.sort()
        trust_domains: dict[str, MeshPlan] = {}
        for mesh in ordered:
            if mesh.federated:
                self.check_federated(mesh, trust_domains)
        by_pair: dict[tuple[str, str], Peering] = {}
        for pair, (federation, path) in pairs.items():
            a, b = sorted(pair)
            for local, peer in ((a, b), (b, a)):
                peering = self.peering(meshes[local], meshes[peer], federation, path)
                self.check_peering(peering)
                by_pair[(local, peer)] = peering
        for mesh in ordered:
            self.check_gateways(mesh, [p for (m, _), p in by_pair.items() if m == mesh.name])
        self.exports(meshes, by_pair)
        self.imports(meshes, by_pair)
        self.problems.raise_if_errors()
        return Plan(
            fleet_name=self.fleet.metadata.name, source=self.source,
            clusters=sorted(clusters.values(), key=lambda c: c.name), meshes=ordered,
            peerings=[by_pair[k] for k in sorted(by_pair)],
            warnings=self.problems.warnings,
        )


def _patterns_meet(wanted: tuple[str, str], offered: tuple[str, str]) -> bool:
    return all(a == "*" or b == "*" or a == b for a, b in zip(wanted, offered, strict=True))


def _dig(data: Any, keys: list[str]) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f'did you mean "{close[0]}"?' if close else "known: " + ", ".join(sorted(known))


def build_plan(fleet: model.Fleet, source: SourceFile, base_dir: Path,
               now: datetime.datetime | None = None) -> Plan:
    return Planner(fleet, source, base_dir, now).plan()


PlanFactory = Callable[[model.Fleet, SourceFile, Path], Plan]
