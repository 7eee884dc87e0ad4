"""Plan -> the hub-side objects that deliver the overlays: an Argo CD AppProject and
ApplicationSet with health checks, and the ACM Channel, Placements and Subscriptions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from .backends.istio.templates import HEALTH_CHECKS as ISTIO_HEALTH_CHECKS
from .errors import FleetError, Location, Problem
from .ordering import api_group
from .plan import Plan
from .plan.delivery import DELIVERY_DIR, ACMTarget, ArgoCDTarget, DeliveryPlan
from .render import Document, Renderer

# Go-template references the ApplicationSet's list generator fills in per element
GO_TEMPLATE = {"cluster": "{{.cluster}}", "path": "{{.path}}"}


@dataclass(frozen=True)
class HealthCheck:
    group: str
    kind: str
    script: str

    @property
    def key(self) -> str:
        """The check's name in argocd-cm: resource.customizations.health.<group>_<kind>."""
        return f"{self.group}_{self.kind}"


# (group, kind, Lua file under templates/health/)
HEALTH_CHECKS = (
    ("maistra.io", "ServiceMeshControlPlane", "servicemeshcontrolplane.lua"),
    ("maistra.io", "ServiceMeshMemberRoll", "servicemeshmemberroll.lua"),
    ("federation.maistra.io", "ServiceMeshPeer", "servicemeshpeer.lua"),
    # replaces Argo CD's built-in check, see the script
    ("operators.coreos.com", "Subscription", "subscription.lua"),
)


OLM_GROUP = "operators.coreos.com"


@dataclass
class Bundle:
    """One directory of delivery objects with its own kustomization. A component holds
    patches of objects that live elsewhere (the Argo CD configuration)."""

    directory: str
    objects: list[dict[str, Any]] = field(default_factory=list)
    component: bool = False


def health_checks(renderer: Renderer, operators: bool = True,
                  istio: bool = False) -> list[HealthCheck]:
    """The checks of the kinds the overlays hold: the OLM Subscription override only where
    the overlays hold Subscriptions (operators), since it applies to every Subscription Argo
    CD watches; istio's only when a mesh is istio."""
    checks = []
    for group, kind, file_name in (*HEALTH_CHECKS, *(ISTIO_HEALTH_CHECKS if istio else ())):
        if group == OLM_GROUP and not operators:
            continue
        name = f"health/{file_name}"
        try:
            script = renderer.env.get_template(name).render()
        except jinja2.TemplateError as exc:
            raise FleetError(Problem("MG091", f"health check {name} failed: {exc}",
                                     Location(name), "restore the bundled templates")) from None
        checks.append(HealthCheck(group, kind, script))
    return checks


@dataclass
class ObjectKinds:
    """(group, kind) of the overlays' objects, namespaced and cluster-scoped: all the
    delivery objects need of them (what the AppProject lets the Applications write), so a
    build keeps these instead of every document."""

    namespaced: set[tuple[str, str]] = field(default_factory=set)
    cluster_scoped: set[tuple[str, str]] = field(default_factory=set)

    def add(self, documents: Iterable[Document]) -> None:
        for doc in documents:
            kind = (api_group(str(doc.obj["apiVersion"])), doc.kind)
            (self.cluster_scoped if doc.namespace is None else self.namespaced).add(kind)

    def update(self, other: ObjectKinds) -> None:
        self.namespaced |= other.namespaced
        self.cluster_scoped |= other.cluster_scoped

    def appproject(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """What the AppProject lists: the namespaced kinds, and the cluster-scoped ones
        (Namespace always)."""
        return sorted(self.namespaced), sorted({("", "Namespace")} | self.cluster_scoped)


def render_delivery(plan: Plan, kinds: ObjectKinds,
                    templates: Path | None = None) -> list[Bundle]:
    """The hub-side bundles, given the kinds of the overlays' objects."""
    delivery = plan.delivery
    if delivery is None:
        return []
    renderer = Renderer(plan.fleet_name, templates)
    bundles = []
    if delivery.argocd is not None:
        bundles.extend(_argocd(renderer, delivery, delivery.argocd, *kinds.appproject(),
                               bool(plan.operators), bool(plan.istio)))
    if delivery.acm is not None:
        bundles.extend(_acm(renderer, delivery, delivery.acm))
    return bundles


def _argocd(renderer: Renderer, delivery: DeliveryPlan, argocd: ArgoCDTarget,
            kinds: list[tuple[str, str]], cluster_scoped: list[tuple[str, str]],
            operators: bool, istio: bool) -> list[Bundle]:
    context = {"delivery": delivery, "argocd": argocd}
    apps = Bundle(f"{DELIVERY_DIR}/argocd", [
        renderer.render("delivery/appproject.yaml.j2", argocd.project, argocd.namespace,
                        namespaced_kinds=kinds, cluster_kinds=cluster_scoped, **context),
        renderer.render("delivery/applicationset.yaml.j2", argocd.application_set,
                        argocd.namespace, go=GO_TEMPLATE, **context),
    ])
    checks = health_checks(renderer, operators, istio)
    configmap = Bundle(f"{DELIVERY_DIR}/argocd/health/argocd-cm", [
        renderer.render("delivery/argocd-cm.yaml.j2", "argocd-cm", argocd.namespace,
                        checks=checks, **context)], component=True)
    operator = Bundle(f"{DELIVERY_DIR}/argocd/health/openshift-gitops", [
        renderer.render("delivery/argocd.yaml.j2", argocd.instance, argocd.namespace,
                        checks=checks, **context)], component=True)
    return [apps, configmap, operator]


def _acm(renderer: Renderer, delivery: DeliveryPlan, acm: ACMTarget) -> list[Bundle]:
    bundles = []
    if acm.namespace is not None:
        context = {"delivery": delivery, "acm": acm, "namespace": acm.namespace}
        subscriptions = Bundle(f"{DELIVERY_DIR}/acm", [
            renderer.render("namespace.yaml.j2", acm.namespace, None, name=acm.namespace),
            renderer.render("delivery/channel.yaml.j2", acm.channel, acm.namespace,
                            **context),
            renderer.render("delivery/managedclustersetbinding.yaml.j2", acm.cluster_set,
                            acm.namespace, **context),
        ])
        for cluster in delivery.clusters:
            name = acm.subscription_name(cluster)
            subscriptions.objects.append(renderer.render(
                "delivery/placement.yaml.j2", name, acm.namespace, name=name,
                clusters=[cluster], **context))
            subscriptions.objects.append(renderer.render(
                "delivery/subscription.yaml.j2", name, acm.namespace, name=name,
                cluster=cluster, **context))
        bundles.append(subscriptions)
    if acm.gitops_cluster:
        # in the Argo CD namespace itself, as ACM's examples do: the GitOpsCluster controller
        # refuses any other argoNamespace unless that namespace carries the label
        # apps.open-cluster-management.io/gitops-argo-namespace=true
        # (stolostron/multicloud-integrations, main,
        # pkg/controller/gitopscluster/gitopscluster_controller.go)
        context = {"delivery": delivery, "acm": acm, "namespace": acm.argo_namespace}
        name = acm.fleet
        bundles.append(Bundle(f"{DELIVERY_DIR}/gitopscluster", [
            renderer.render("delivery/managedclustersetbinding.yaml.j2", acm.cluster_set,
                            acm.argo_namespace, **context),
            renderer.render("delivery/placement.yaml.j2", name, acm.argo_namespace,
                            name=name, clusters=list(delivery.clusters), **context),
            renderer.render("delivery/gitopscluster.yaml.j2", name, acm.argo_namespace,
                            name=name, **context),
        ]))
    return bundles
