"""An istio mesh of the fleet resolved: its settings over the defaults, its clusters with
roles, networks and east-west addresses (shared/design/istio-backend.md)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ... import model
from ...plan.checker import Checker, did_you_mean
from ...plan.meshes import ca_plan, deep_merge, substitute
from ...plan.types import (
    CAPlan,
    ClusterPlan,
)
from ...source import PathKey
from .types import EAST_WEST, IstioMember, IstioMeshPlan, RemoteSecretsPlan
from .versions import DEFAULT_CHANNEL

SUBMARINER_NETWORK = "clusterset"  # the default network of Submariner clusters


class MeshResolver:
    """Shares the planner's fleet, source and problems."""

    def __init__(self, checker: Checker, read_certificates: bool = True) -> None:
        self.checker = checker
        # False for the commands that make the certificate and sealed-secret files
        self.read_certificates = read_certificates
        self.fleet = checker.fleet
        self.source = checker.source
        # where a federation, export or import names an istio mesh (refused with MG215)
        self.refused: set[PathKey] = set()

    def error(self, code: str, message: str, path: PathKey, hint: str = "") -> None:
        self.checker.error(code, message, path, hint)

    # the whole backend ------------------------------------------------------------------

    def mesh(self, spec: model.MeshSpec, path: PathKey,
             clusters: dict[str, ClusterPlan]) -> IstioMeshPlan | None:
        defaults = self.fleet.defaults
        values: dict[str, Any] = {}
        origins: dict[str, PathKey] = {"name": (*path, "name")}
        ca: dict[str, Any] = {}
        variables = {"mesh": spec.name}
        for settings, at in ((defaults, ("defaults",)), (spec, path)):
            for attr in sorted(settings.model_fields_set & set(model.MeshSettings.model_fields)):
                value = getattr(settings, attr)
                if value is None:
                    continue
                alias = model.MeshSettings.model_fields[attr].alias or attr
                if isinstance(value, model.Spec):
                    value = value.model_dump(by_alias=True, exclude_unset=True)
                if attr == "ca":
                    ca.update(value)
                    origins["ca"] = (*at, "ca")
                    continue
                if attr == "root_cert":
                    ca["rootCert"] = value
                    continue
                value = substitute(value, variables)
                if attr == "istio_values" and "istio_values" in values:
                    value = deep_merge(values[attr], value)  # as smcpSpec: layers merge
                values[attr] = value
                origins[alias] = (*at, alias)
        if spec.migrate_from is not None:
            origins["migrateFrom"] = (*path, "migrateFrom")
        if "namespace" in spec.model_fields_set:
            origins["namespace.own"] = (*path, "namespace")
        if spec.cluster is not None and spec.clusters is not None:
            self.error("MG205", f'mesh "{spec.name}" sets both `cluster` and `clusters`',
                       (*path, "clusters"), "an istio mesh lists its clusters under `clusters`")
            return None
        if spec.cluster is None and not spec.clusters:
            self.error("MG011", f'missing required field "clusters" in {_dotted(path)}', path,
                       'add "clusters: [{cluster: <name>, role: primary}]"')
            return None
        entries = spec.clusters or [model.MeshCluster(cluster=spec.cluster or "")]
        entries_path: PathKey = (*path, "clusters") if spec.clusters else (*path, "cluster")
        members = self.members(spec.name, entries, entries_path, bool(spec.clusters), clusters)
        if members is None:
            return None
        discovery = values.get("discovery", {})
        secrets = discovery.get("externalSecret")
        operators = self.fleet.operators.istio
        namespace = values.get("namespace", "istio-system")
        return IstioMeshPlan(
            name=spec.name, namespace=namespace,
            version=values.get("version", ""),
            channel=operators.channel if operators else DEFAULT_CHANNEL,
            mesh_id=values.get("mesh_id", spec.name),
            trust_domain=values.get("trust_domain", f"{spec.name}.local"),
            update_strategy=values.get("update_strategy", "InPlace"),
            members=tuple(values.get("members", [])),
            clusters=members,
            ca=self.ca(substitute(ca, variables)),
            remote_secrets=RemoteSecretsPlan(
                secrets["store"], secrets.get("storeKind", "SecretStore"), secrets["path"],
                secrets.get("refreshInterval", "1h"))
            if secrets else None,
            istio_values=values.get("istio_values", {}),
            origins=origins,
            migrate_from=spec.migrate_from,
        )

    def ca(self, ca: dict[str, Any]) -> CAPlan:
        return ca_plan(model.CA.model_validate(ca))

    def members(self, mesh: str, entries: list[model.MeshCluster], path: PathKey,
                listed: bool, clusters: dict[str, ClusterPlan]) -> tuple[IstioMember, ...] | None:
        seen: set[str] = set()
        result: list[IstioMember] = []
        ok = True
        for j, entry in enumerate(entries):
            at: PathKey = (*path, j) if listed else path
            name_at: PathKey = (*at, "cluster") if listed else at
            cluster = clusters.get(entry.cluster)
            if cluster is None:
                self.error("MG030", f'mesh "{mesh}" names unknown cluster "{entry.cluster}"',
                           name_at, did_you_mean(entry.cluster, clusters))
                ok = False
                continue
            if entry.cluster in seen:
                self.error("MG206", f'mesh "{mesh}" lists cluster "{entry.cluster}" twice',
                           name_at, "name each member cluster once")
                ok = False
                continue
            seen.add(entry.cluster)
            result.append(self.member(cluster, entry, at))
        return tuple(result) if ok else None

    def member(self, cluster: ClusterPlan, entry: model.MeshCluster,
               at: PathKey) -> IstioMember:
        spec = self.fleet.clusters[int(cluster.origin[1])]
        submariner = cluster.ingress_type == "Submariner"
        network = spec.network or (SUBMARINER_NETWORK if submariner else cluster.name)
        east_west = spec.east_west
        address = east_west.address if east_west else None
        dns = False
        if address is None and cluster.ingress_type == "LoadBalancer" and cluster.domain:
            dns = True  # placeholder; the namespace is known once the mesh is
        return IstioMember(
            cluster=cluster, role=entry.role, network=network,
            platform=spec.platform or "openshift",
            control_plane=entry.control_plane, istiod_cluster_ip=entry.istiod_cluster_ip,
            east_west_address=address, east_west_dns=dns,
            east_west_annotations=dict(east_west.annotations) if east_west else {},
            api_server=spec.api_server, origin=at,
        )

    def resolve_addresses(self, mesh: IstioMeshPlan) -> None:
        """The default east-west address of a LoadBalancer cluster (published by
        external-dns): istio-eastwestgateway.<mesh namespace>.<domain>."""
        resolved = []
        for member in mesh.clusters:
            if member.east_west_dns:
                member = _with_address(
                    member, f"{EAST_WEST}.{mesh.namespace}.{member.cluster.domain}")
            resolved.append(member)
        mesh.clusters = tuple(resolved)


def _dotted(path: PathKey) -> str:
    return ".".join(str(p) for p in path)


def _with_address(member: IstioMember, address: str) -> IstioMember:
    return replace(member, east_west_address=address)

