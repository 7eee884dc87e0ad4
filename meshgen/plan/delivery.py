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
# a Placement's name is the value of the cluster.open-cluster-management.io/placement label
# on its PlacementDecisions
MAX_PLACEMENT_NAME = 63
# CA sources whose `cacerts` Secret a controller on the cluster writes, some time after the
# source object is applied
CONTROLLER_WRITTEN = {"externalSecret": "ExternalSecret", "sealedSecret": "SealedSecret",
                      "certManager": "cert-manager Certificate"}
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
    fleet: str
    cluster_set: str
    gitops_cluster: bool
    argo_namespace: str
    # the hub namespace of the Channel, Placements and Subscriptions; None when ACM only
    # registers the clusters into Argo CD
    namespace: str | None

    @property
    def subscriptions(self) -> bool:
        return self.namespace is not None

    @property
    def channel(self) -> str:
        return self.fleet

    @property
    def channel_ref(self) -> str:
        return f"{self.namespace}/{self.channel}"

    def subscription_name(self, cluster: str) -> str:
        """The name of cluster's Subscription and Placement: prefixed with the fleet, so two
        fleets can share one hub namespace."""
        return f"{self.fleet}-{cluster}"


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

    def delivery(self, clusters: list[ClusterPlan],
                 meshes: list[MeshPlan]) -> DeliveryPlan | None:
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
        acm = self.acm_target(clusters, meshes, argocd)
        return DeliveryPlan(
            repo_url=delivery.repo_url, revision=delivery.target_revision, path=delivery.path,
            clusters=tuple(c.name for c in clusters), argocd=argocd, acm=acm)

    def acm_target(self, clusters: list[ClusterPlan], meshes: list[MeshPlan],
                   argocd: ArgoCDTarget | None) -> ACMTarget | None:
        delivery = self.fleet.delivery
        if delivery is None or delivery.acm is None:
            return None
        settings = delivery.acm
        here = ("delivery", "acm")
        fleet = self.fleet.metadata.name
        acm = ACMTarget(
            fleet=fleet, cluster_set=settings.cluster_set,
            gitops_cluster=settings.gitops_cluster,
            argo_namespace=argocd.namespace if argocd else "openshift-gitops",
            namespace=settings.namespace if settings.subscriptions else None)
        if not settings.subscriptions:
            if not settings.gitops_cluster:
                self.error("MG109", "delivery.acm neither subscribes the clusters nor "
                           "registers them into Argo CD", (*here, "subscriptions"),
                           "set `gitopsCluster: true` (ACM registers, Argo CD syncs) or "
                           "remove `subscriptions: false`")
            return acm
        if settings.namespace is None:
            self.error("MG108", "ACM Subscriptions need a hub namespace",
                       here, "add `namespace: <hub namespace>` for the Channel, Placements "
                       "and Subscriptions, or `subscriptions: false` to let Argo CD sync")
        if argocd is not None:
            self.warn("MG131", "both Argo CD and ACM Subscriptions sync the same overlays",
                      (*here, "subscriptions") if "subscriptions" in settings.model_fields_set
                      else here,
                      "let one engine sync: `subscriptions: false` keeps ACM registering the "
                      "clusters (gitopsCluster) while Argo CD syncs")
        for cluster in clusters:
            name = acm.subscription_name(cluster.name)
            if len(name) > MAX_PLACEMENT_NAME:
                self.error("MG130", f'ACM Placement and Subscription name "{name}" is longer '
                           f"than {MAX_PLACEMENT_NAME} characters", (*cluster.origin, "name"),
                           "ACM writes the Placement's name into a label of its "
                           "PlacementDecisions; shorten the fleet or the cluster name")
        revision = delivery.target_revision
        if revision == "HEAD" or COMMIT.match(revision):
            self.error("MG105", f'ACM subscribes to a branch, not "{revision}"',
                       ("delivery", "targetRevision"),
                       "name the branch the overlays are committed to, e.g. main")
        for mesh in meshes:
            self.check_ca_before_istiod(mesh)
        return acm

    def check_ca_before_istiod(self, mesh: MeshPlan) -> None:
        """An ACM Subscription applies an overlay in one pass and waits for nothing
        (stolostron/multicloud-operators-subscription, main,
        pkg/synchronizer/kubernetes/synchronizer.go ProcessSubResources), so a `cacerts`
        Secret that a controller writes from an object in the same overlay may come after
        istiod has started and made its own root."""
        source = mesh.ca.secret_source
        if source not in CONTROLLER_WRITTEN:
            return
        where = mesh.origin("ca.type") if source == "certManager" else mesh.origin("ca.secret")
        self.error("MG107", f'mesh "{mesh.name}": ACM Subscriptions cannot apply the '
                   f"{CONTROLLER_WRITTEN[source]} that writes `cacerts` before istiod starts",
                   where, "let Argo CD sync (its waves wait for the Secret): "
                   "`delivery.argocd` with `acm.subscriptions: false`; or create `cacerts` "
                   "first and declare `secret: {none: {}}` (README, Delivering with ACM)")
