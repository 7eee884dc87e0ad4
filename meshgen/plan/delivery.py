"""How the overlays reach the clusters: Argo CD and ACM hub objects, and the operators
each overlay installs first."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from ..errors import Problem
from .checker import Checker, dig
from .types import ClusterPlan, MeshPlan

DELIVERY_DIR = "delivery"
OPERATORS_NAMESPACE = "openshift-operators"  # ships with the global OperatorGroup
MESH_OPERATOR = "servicemeshoperator"
KIALI_OPERATOR = "kiali-ossm"
TRACING_OPERATOR = "jaeger-product"
# Argo CD's label tracking writes the Application name into a label value
MAX_APPLICATION_NAME = 63
COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class OperatorSubscription:
    """An OLM Subscription an overlay carries so the mesh's operators come first."""

    package: str
    channel: str
    source: str
    source_namespace: str
    approval: str
    namespace: str = OPERATORS_NAMESPACE


@dataclass(frozen=True)
class ArgoCDTarget:
    namespace: str
    project: str
    instance: str
    application_set: str

    def application_name(self, cluster: str) -> str:
        return f"{self.application_set}-{cluster}"


@dataclass(frozen=True)
class ACMTarget:
    namespace: str
    cluster_set: str
    channel: str
    gitops_cluster: bool
    argo_namespace: str

    @property
    def channel_ref(self) -> str:
        return f"{self.namespace}/{self.channel}"


@dataclass(frozen=True)
class DeliveryPlan:
    repo_url: str
    revision: str
    path: str
    clusters: tuple[str, ...]
    argocd: ArgoCDTarget | None
    acm: ACMTarget | None

    def cluster_path(self, cluster: str) -> str:
        """Where cluster's overlay sits in the repository."""
        return posixpath.normpath(posixpath.join(self.path, cluster))


def addon_enabled(mesh: MeshPlan, addon: str) -> bool:
    """Whether the control plane runs the addon once smcpSpec and the profile are applied.
    Maistra's "default" profile turns Kiali and Jaeger tracing on."""
    if addon == "jaeger":
        tracing = dig(mesh.smcp_spec, ["tracing", "type"])
        explicit = (tracing == "Jaeger") if tracing is not None else mesh.addons.get("jaeger")
    else:
        explicit = dig(mesh.smcp_spec, ["addons", addon, "enabled"])
        if explicit is None:
            explicit = mesh.addons.get(addon)
    if explicit is None:
        return "default" in mesh.profiles
    return bool(explicit)


class DeliveryRules(Checker):
    def operators_for(self, meshes: list[MeshPlan]) -> list[OperatorSubscription]:
        """The Subscriptions of one cluster's overlay, in a fixed order."""
        settings = self.fleet.operators
        if not settings.install or not meshes:
            return []
        packages = [MESH_OPERATOR]
        if any(addon_enabled(m, "kiali") for m in meshes):
            packages.append(KIALI_OPERATOR)
        if any(addon_enabled(m, "jaeger") for m in meshes):
            packages.append(TRACING_OPERATOR)
        # the add-on operators follow their own "stable" channel, whatever the mesh
        # operator's channel is
        return [OperatorSubscription(
            package=p, channel=settings.channel if p == MESH_OPERATOR else "stable",
            source=settings.source, source_namespace=settings.source_namespace,
            approval=settings.approval) for p in sorted(packages)]

    def delivery(self, clusters: list[ClusterPlan]) -> DeliveryPlan | None:
        # reserved whether or not delivery is configured yet: adding it later must not turn
        # a cluster's overlay directory into the delivery directory
        for cluster in clusters:
            if cluster.name == DELIVERY_DIR:
                self.error("MG102", f'the cluster name "{DELIVERY_DIR}" is reserved: it is the '
                           "directory of the delivery objects (Argo CD, ACM) beside the "
                           "overlays", (*cluster.origin, "name"), "rename the cluster")
        delivery = self.fleet.delivery
        if delivery is None:
            return None
        fleet = self.fleet.metadata.name
        here = ("delivery",)
        if delivery.argocd is None and delivery.acm is None:
            self.problems.add(Problem("MG100", "delivery names no engine",
                                      self.source.key_at(here),
                                      "add `argocd: {}` and/or `acm: {namespace: ...}`"))
        argocd = None
        if delivery.argocd is not None:
            argocd = ArgoCDTarget(
                namespace=delivery.argocd.namespace,
                project=delivery.argocd.project or fleet,
                instance=delivery.argocd.instance, application_set=fleet)
            for cluster in clusters:
                name = argocd.application_name(cluster.name)
                if len(name) > MAX_APPLICATION_NAME:
                    self.error("MG103", f'Application name "{name}" is longer than '
                               f"{MAX_APPLICATION_NAME} characters", (*cluster.origin, "name"),
                               "Argo CD writes it into the app.kubernetes.io/instance label; "
                               "shorten the fleet or the cluster name")
        acm = None
        if delivery.acm is not None:
            acm = ACMTarget(
                namespace=delivery.acm.namespace, cluster_set=delivery.acm.cluster_set,
                channel=fleet, gitops_cluster=delivery.acm.gitops_cluster,
                argo_namespace=delivery.argocd.namespace if delivery.argocd
                else "openshift-gitops")
            if acm.gitops_cluster:
                for cluster in clusters:
                    if cluster.name == fleet:
                        self.error("MG104", f'cluster "{cluster.name}" is named like the '
                                   "fleet, whose name the GitOpsCluster Placement takes",
                                   (*cluster.origin, "name"),
                                   "rename the cluster or the fleet")
            revision = delivery.target_revision
            if revision == "HEAD" or COMMIT.match(revision):
                self.error("MG105", f'ACM subscribes to a branch, not "{revision}"',
                           (*here, "targetRevision"),
                           "name the branch the overlays are committed to, e.g. main")
        return DeliveryPlan(
            repo_url=delivery.repo_url, revision=delivery.target_revision, path=delivery.path,
            clusters=tuple(c.name for c in clusters), argocd=argocd, acm=acm)
