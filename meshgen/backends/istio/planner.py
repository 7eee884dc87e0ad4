"""Fleet -> istio mesh plans: each istio mesh resolved (resolve.py) and checked
(rules.py), then the rules across meshes and the operator Subscriptions."""

from __future__ import annotations

from ...plan.delivery import OperatorSubscription
from ...plan.meshes import backend_of
from ...plan.types import ClusterPlan, MeshPlan
from .migration import MigrationRules
from .rules import MeshChecks
from .types import IstioMeshPlan
from .versions import DEFAULT_CHANNEL, DEFAULT_SOURCE, OPERATOR_PACKAGE


class IstioRules(MeshChecks, MigrationRules):
    """The istio backend's planning: resolve every istio mesh, check it, then what holds
    across meshes. Shares the planner's fleet, source and problems."""

    def plan(self, clusters: dict[str, ClusterPlan],
             ossm2: list[MeshPlan]) -> list[IstioMeshPlan]:
        self.check_backend_fields()
        meshes: list[IstioMeshPlan] = []
        taken = {m.name for m in ossm2}
        for i, spec in enumerate(self.fleet.meshes):
            if backend_of(spec, self.fleet.defaults) == "istio":
                if spec.name in taken:
                    self.error("MG023", f'mesh "{spec.name}" is defined twice',
                               ("meshes", i, "name"), "mesh names must be unique in the fleet, "
                               "whatever their backend")
                    continue
                taken.add(spec.name)
                mesh = self.mesh(spec, ("meshes", i), clusters)
                if mesh is not None:
                    self.check_mesh(mesh)
                    meshes.append(mesh)
        if meshes:
            self.check_channel()
        by_name = {m.name: m for m in ossm2}
        for mesh in meshes:
            self.check_migration(mesh, by_name, {m.name for m in meshes})
        self.check_shared_clusters(meshes, ossm2)
        self.check_cross_mesh(meshes)
        return sorted(meshes, key=lambda m: m.name)

    def add_operators(self, meshes: list[IstioMeshPlan],
                      operators: dict[str, list[OperatorSubscription]]) -> None:
        """servicemeshoperator3 on every cluster of an istio mesh, when operators install."""
        settings = self.fleet.operators
        if not settings.install:
            return
        istio = settings.istio
        subscription = OperatorSubscription(
            package=OPERATOR_PACKAGE, channel=istio.channel if istio else DEFAULT_CHANNEL,
            source=istio.source if istio else DEFAULT_SOURCE,
            source_namespace=settings.source_namespace, approval=settings.approval)
        for cluster in sorted({m.name for mesh in meshes for m in mesh.clusters}):
            listed = operators.setdefault(cluster, [])
            listed.append(subscription)
            listed.sort(key=lambda s: s.package)
