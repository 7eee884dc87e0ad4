"""The order a GitOps engine applies an overlay in, written as Argo CD annotations.

Operators and Namespaces come first, then what brings a plugged-in CA's `cacerts`
Secret (istiod reads it when it starts), then the control plane, its member roll, and last
what needs a running control plane (root-certificate ConfigMaps, peers, service sets).
ACM ignores these annotations; it applies in kustomize's order and retries what failed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .backends.istio import templates as istio
from .plan import Plan

if TYPE_CHECKING:
    from .render import Document

SYNC_WAVE = "argocd.argoproj.io/sync-wave"
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
SKIP_DRY_RUN = "SkipDryRunOnMissingResource=true"
# a member Namespace also holds the workloads: never delete it with the Application
KEEP = ("Prune=false", "Delete=false")

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
}
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


def order(documents: Iterable[Document], plan: Plan) -> None:
    """Annotate every overlay object with its wave and sync options. A wave or option a
    template override already set is kept."""
    members = {c.name: plan.member_namespaces(c.name) for c in plan.clusters}
    for doc in documents:
        obj = doc.obj
        wave = WAVES[(api_group(str(obj["apiVersion"])), doc.kind)]
        annotations = obj["metadata"].get("annotations")
        if not isinstance(annotations, dict):
            annotations = obj["metadata"]["annotations"] = {}
        annotations.setdefault(SYNC_WAVE, str(wave))
        wanted = sync_options(obj, members[doc.cluster])
        if wanted:
            given = [o.strip() for o in annotations.get(SYNC_OPTIONS, "").split(",") if o.strip()]
            annotations[SYNC_OPTIONS] = ",".join([*wanted, *(o for o in given
                                                             if o not in wanted)])
