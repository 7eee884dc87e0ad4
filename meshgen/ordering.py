"""The order a GitOps engine applies an overlay in, written as Argo CD annotations.

Operators and Namespaces come first, then what brings a plugged-in CA's `cacerts`
Secret (istiod reads it when it starts), then the control plane, its member roll, and last
what needs a running control plane (root-certificate ConfigMaps, peers, service sets).
ACM ignores these annotations; it applies in kustomize's order and retries what failed.
Under ACM Subscriptions the overlay also carries ACM's own per-object annotations: member
Namespaces are never deleted with a Subscription, and what meshgen owns whole is replaced,
not merged, so a removed field goes away.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .backends.istio import templates as istio
from .plan import Plan

if TYPE_CHECKING:
    from .render import Document

SYNC_WAVE = "argocd.argoproj.io/sync-wave"
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
SKIP_DRY_RUN = "SkipDryRunOnMissingResource=true"
# a member Namespace also holds the workloads: never delete it with the Application
KEEP = ("Prune=false", "Delete=false")
# ACM's per-object annotations (stolostron/multicloud-operators-subscription, main:
# pkg/apis/apps/v1/subscription_types.go; honoured in
# pkg/synchronizer/kubernetes/synchronizer.go, DeleteSingleSubscribedResource and
# updateResourceByTemplateUnit). An object's own reconcile-option beats the Subscription's
# (pkg/subscriber/git/git_subscriber_item.go). "merge" is a three-way JSON merge patch that
# never deletes a field; "replace" is an update with the object as written.
ACM_DO_NOT_DELETE = "apps.open-cluster-management.io/do-not-delete"
ACM_RECONCILE_OPTION = "apps.open-cluster-management.io/reconcile-option"
# what no controller adds to: Namespaces stay "merge" (the operator labels member namespaces)
OWNED_WHOLE_GROUPS = frozenset({"maistra.io", "federation.maistra.io"})

# (API group, kind) -> sync wave
WAVES: dict[tuple[str, str], int] = {
    ("", "Namespace"): -2,
    ("operators.coreos.com", "Subscription"): -2,
    ("external-secrets.io", "ExternalSecret"): -1,
    ("cert-manager.io", "Certificate"): -1,
    ("bitnami.com", "SealedSecret"): -1,
    ("maistra.io", "ServiceMeshControlPlane"): 0,
    ("maistra.io", "ServiceMeshMemberRoll"): 1,
    ("", "ConfigMap"): 2,
    ("federation.maistra.io", "ServiceMeshPeer"): 2,
    ("federation.maistra.io", "ExportedServiceSet"): 2,
    ("federation.maistra.io", "ImportedServiceSet"): 2,
    ("multicluster.x-k8s.io", "ServiceExport"): 2,
    **istio.WAVES,
    # a `traffic` entry's objects carry TRAFFIC_WAVE themselves: the istio backend's
    # VirtualServices share the kind but not the wave
    ("networking.istio.io", "DestinationRule"): 3,
}
# after the ImportedServiceSet (wave 2) that makes the hosts they route to
TRAFFIC_WAVE = 3
# groups whose CRDs arrive with an operator (OSSM; Submariner for MCS; the secret and
# certificate operators), possibly in the same sync, so the dry run before it cannot know them
OPERATOR_GROUPS = frozenset({"maistra.io", "federation.maistra.io", "multicluster.x-k8s.io",
                             "external-secrets.io", "cert-manager.io", "bitnami.com",
                             *istio.OPERATOR_GROUPS})


def api_group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def sync_options(obj: dict[str, object], members: set[str]) -> tuple[str, ...]:
    kind = obj["kind"]
    group = api_group(str(obj["apiVersion"]))
    if group in OPERATOR_GROUPS:
        return (SKIP_DRY_RUN,)
    metadata = obj["metadata"]
    if kind == "Namespace" and isinstance(metadata, dict) and metadata["name"] in members:
        return KEEP
    return ()


def acm_annotations(obj: dict[str, object], members: set[str]) -> dict[str, str]:
    group = api_group(str(obj["apiVersion"]))
    if group in OWNED_WHOLE_GROUPS:
        return {ACM_RECONCILE_OPTION: "replace"}
    metadata = obj["metadata"]
    if obj["kind"] == "Namespace" and isinstance(metadata, dict) and metadata["name"] in members:
        return {ACM_DO_NOT_DELETE: "true"}
    return {}


def acm_subscriptions(plan: Plan) -> bool:
    """Whether the overlays are delivered by ACM Subscriptions (they then carry ACM's
    per-object annotations)."""
    return plan.delivery is not None and plan.delivery.acm is not None \
        and plan.delivery.acm.subscriptions


def order(documents: Iterable[Document], plan: Plan) -> None:
    """Annotate every overlay object with its wave and sync options (and, under ACM
    Subscriptions, ACM's options). A wave or option a template override already set is
    kept."""
    members = {c.name: plan.member_namespaces(c.name) for c in plan.clusters}
    acm = acm_subscriptions(plan)
    for doc in documents:
        order_object(doc.obj, members[doc.cluster], acm)


def order_object(obj: dict[str, Any], members: set[str], acm: bool) -> None:
    """order() for one object of a cluster whose member namespaces are members."""
    wave = WAVES[(api_group(str(obj["apiVersion"])), str(obj["kind"]))]
    annotations = obj["metadata"].get("annotations")
    if not isinstance(annotations, dict):
        annotations = obj["metadata"]["annotations"] = {}
    annotations.setdefault(SYNC_WAVE, str(wave))
    if acm:
        for key, value in acm_annotations(obj, members).items():
            annotations.setdefault(key, value)
    wanted = sync_options(obj, members)
    if wanted:
        given = [o.strip() for o in annotations.get(SYNC_OPTIONS, "").split(",") if o.strip()]
        annotations[SYNC_OPTIONS] = ",".join([*wanted, *(o for o in given
                                                         if o not in wanted)])
