"""Fleet -> Plan: every rule, in an order where each sees what it depends on."""

from __future__ import annotations

import datetime
from pathlib import Path

from .. import model
from ..backends.istio.planner import IstioRules
from ..backends.istio.traffic import IstioTraffic
from ..backends.ossm2.planner import Ossm2Rules
from ..gcpause import collector_paused
from ..source import SourceFile
from .delivery import DeliveryRules
from .meshes import ClusterRules, backend_of
from .traffic import TrafficRules
from .types import MeshPlan, Peering, Plan, peerings_by_local


class Planner(ClusterRules, Ossm2Rules, DeliveryRules, TrafficRules):
    # the whole plan ---------------------------------------------------------------------------

    def plan(self) -> Plan:
        clusters = self.clusters()
        meshes = self.meshes(clusters)
        for mesh in meshes.values():
            self.check_mesh(mesh)
            self.check_ca(mesh)
            self.check_operator_version(mesh)
            self.check_control_plane(mesh)
        ordered = sorted(meshes.values(), key=lambda m: (m.cluster.name, m.name))
        self.check_namespaces(ordered)
        self.check_cluster_wide(ordered)
        pairs = self.pairs(meshes)
        for pair in pairs:
            for name in pair:
                meshes[name].peers.extend(sorted(pair - {name}))
        for mesh in ordered:
            mesh.peers.sort()
        trust = self.trust(meshes)
        trust_domains: dict[str, MeshPlan] = {}
        unimported: list[MeshPlan] = []
        for mesh in ordered:
            if mesh.federated:
                self.check_federated(mesh, trust_domains)
                self.load_root(mesh, trust, unimported)
        self.report_unimported(unimported)
        self.check_self_signed_roots(ordered)
        by_pair: dict[tuple[str, str], Peering] = {}
        for pair, (federation, path) in pairs.items():
            a, b = sorted(pair)
            for local, peer in ((a, b), (b, a)):
                peering = self.peering(meshes[local], meshes[peer], federation, path)
                self.check_peering(peering)
                self.check_clusterset(peering)
                self.check_names(peering)
                by_pair[(local, peer)] = peering
        peerings = [by_pair[k] for k in sorted(by_pair)]
        self.check_service_exports(peerings)
        self.check_addresses(peerings)
        outgoing = peerings_by_local(peerings)
        for mesh in ordered:
            self.check_gateways(mesh, outgoing.get(mesh.name, []))
        self.exports(meshes, by_pair)
        self.imports(meshes, by_pair)
        self.localities(meshes, by_pair)
        sorted_clusters = sorted(clusters.values(), key=lambda c: c.name)
        delivery = self.delivery(sorted_clusters, ordered)
        on_cluster: dict[str, list[MeshPlan]] = {}
        for mesh in ordered:
            on_cluster.setdefault(mesh.cluster.name, []).append(mesh)
        operators = {c.name: self.operators_for(on_cluster.get(c.name, []))
                     for c in sorted_clusters}
        istio_rules = IstioRules(self, self.read_certificates)
        istio = istio_rules.plan(clusters, ordered)
        traffic = self.traffic(meshes, by_pair, IstioTraffic(self, istio, {
            m.name for m in self.fleet.meshes if backend_of(m, self.fleet.defaults) == "istio"}))
        istio_rules.withdraw_unknown_mesh()
        istio_rules.check_acm_delivery(istio, delivery)
        istio_rules.add_operators(istio, operators)
        self.problems.raise_if_errors()
        return Plan(
            fleet_name=self.fleet.metadata.name, source=self.source,
            clusters=sorted_clusters, meshes=ordered,
            peerings=peerings,
            warnings=self.problems.warnings,
            delivery=delivery,
            trust=trust,
            operators={c: subs for c, subs in operators.items() if subs},
            istio=istio,
            traffic=traffic,
        )


def build_plan(fleet: model.Fleet, source: SourceFile, base_dir: Path,
               now: datetime.datetime | None = None, certificates: bool = True) -> Plan:
    """The plan of fleet; with certificates=False no certificate or sealed-secret file is
    read (for the commands that create them)."""
    planner = Planner(fleet, source, base_dir, now)
    planner.read_certificates = certificates
    with collector_paused():
        return planner.plan()
