"""The Argo CD health checks meshgen emits, run in a real Lua 5.1 interpreter (Argo CD's
gopher-lua speaks Lua 5.1) against status objects shaped like the operator's and istiod's.

Status shapes, as the code writes them (maistra-2.5 branches):
- SMCP: maistra/istio-operator pkg/controller/servicemesh/controlplane/reconciler.go
  (initializeReconcileStatus, postReconciliationStatus; observedGeneration only after a
  successful reconcile), status.go (updateConditions), readiness.go (Ready mirrors
  Reconciled until it is True), deleter.go (DeletionError); reasons from
  pkg/apis/maistra/status/status.go.
- SMMR: maistra/istio-operator pkg/controller/servicemesh/memberroll/controller.go
  (reconcileObject, setReadyCondition, updateStatus) and the member condition reasons of
  pkg/apis/maistra/v1/servicemeshmember_types.go.
- ServiceMeshPeer: maistra/istio pkg/servicemesh/federation/status/handler.go
  (WatchInitiated, Watching, WatchTerminated, Flush, removeDeadPods).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from lupa import lua51

from conftest import EXAMPLE_OVERLAYS, condition

CHECKS = EXAMPLE_OVERLAYS / "delivery" / "argocd" / "health" / "argocd-cm" / \
    "configmap-argocd-cm.yaml"
PREFIX = "resource.customizations.health."


def script(key: str) -> str:
    data: dict[str, str] = yaml.safe_load(CHECKS.read_text())["data"]
    return data[PREFIX + key]


def health(key: str, obj: dict[str, Any]) -> tuple[str, str]:
    """Run a check the way Argo CD does: `obj` is a global, the chunk returns hs."""
    runtime = lua51.LuaRuntime(unpack_returned_tuples=True)
    runtime.globals().obj = runtime.table_from(obj, recursive=True)
    result = runtime.execute(script(key))
    return str(result["status"]), str(result["message"])


def resource(status: dict[str, Any] | None, generation: int = 1) -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": {"name": "x", "namespace": "mesh-system",
                                        "generation": generation}}
    if status is not None:
        obj["status"] = status
    return obj


SMCP = "maistra.io_ServiceMeshControlPlane"
SMMR = "maistra.io_ServiceMeshMemberRoll"
SMP = "federation.maistra.io_ServiceMeshPeer"


# --- ServiceMeshControlPlane ---------------------------------------------------------------


def test_smcp_ready_is_healthy() -> None:
    status = {"observedGeneration": 1, "conditions": [
        condition("Installed", "True", "InstallSuccessful", "Successfully installed"),
        condition("Reconciled", "True", "ReconcileSuccessful", "Successfully reconciled"),
        condition("Ready", "True", "ComponentsReady", "All component deployments are Available"),
    ]}
    assert health(SMCP, resource(status)) == (
        "Healthy", "All component deployments are Available")


def test_smcp_installing_is_progressing() -> None:
    status = {"observedGeneration": 1, "conditions": [
        condition("Installed", "True", "InstallSuccessful"),
        condition("Reconciled", "True", "ReconcileSuccessful"),
        condition("Ready", "False", "ComponentsNotReady",
                  "Some components are not fully available"),
    ]}
    assert health(SMCP, resource(status)) == (
        "Progressing", "Some components are not fully available")


@pytest.mark.parametrize("reason", ["ReconcileError", "ValidationError", "InstallError",
                                    "DependencyMissingError"])
def test_smcp_error_reasons_are_degraded(reason: str) -> None:
    status = {"observedGeneration": 1, "conditions": [
        condition("Installed", "True", "InstallSuccessful"),
        condition("Reconciled", "False", reason, 'Dependency "Kiali" is missing'),
        condition("Ready", "False", "ComponentsNotReady"),
    ]}
    assert health(SMCP, resource(status)) == (
        "Degraded", 'Reconciled: Dependency "Kiali" is missing')


def test_smcp_without_status_or_with_a_stale_generation_is_progressing() -> None:
    assert health(SMCP, resource(None))[0] == "Progressing"
    assert health(SMCP, resource({}))[0] == "Progressing"
    ready_but_old = {"observedGeneration": 2, "conditions": [
        condition("Ready", "True", "ComponentsReady")]}
    assert health(SMCP, resource(ready_but_old, generation=3)) == (
        "Progressing", "Waiting for the operator to reconcile generation 3")


def test_smcp_installing_before_the_first_reconcile_is_progressing() -> None:
    """initializeReconcileStatus on a new SMCP: no observedGeneration yet."""
    message = "Installing mesh generation 1"
    status = {"conditions": [
        condition("Installed", "False", "ResourceCreated", message),
        condition("Reconciled", "False", "ResourceCreated", message),
        condition("Ready", "False", "ResourceCreated", message)]}
    assert health(SMCP, resource(status)) == (
        "Progressing", f"Waiting for the operator to reconcile generation 1: {message}")
    paused = {"conditions": [
        condition("Installed", "False", "ResourceCreated", message),
        condition("Reconciled", "False", "PausingInstall",
                  "Paused until the following components become ready: [istiod]"),
        condition("Ready", "False", "PausingInstall",
                  "Paused until the following components become ready: [istiod]")]}
    assert health(SMCP, resource(paused))[0] == "Progressing"


@pytest.mark.parametrize("reason, message", [
    ("DependencyMissingError", "Dependency check failed: error: Kiali is not installed"),
    ("ReconcileError", "Error rendering helm charts: error: chart not found"),
])
def test_smcp_error_on_first_install_is_degraded(reason: str, message: str) -> None:
    """postReconciliationStatus writes the error; observedGeneration stays unset."""
    status = {"conditions": [
        condition("Installed", "False", "ResourceCreated", "Installing mesh generation 1"),
        condition("Reconciled", "False", reason, message),
        condition("Ready", "False", reason, message)]}
    assert health(SMCP, resource(status)) == ("Degraded", f"Reconciled: {message}")


def test_smcp_validation_error_on_an_update_is_degraded() -> None:
    """An update the operator refuses: observedGeneration stays at the old generation."""
    message = "Error validating generated manifests: error: gateway name collision"
    status = {"observedGeneration": 2, "conditions": [
        condition("Installed", "True", "InstallSuccessful"),
        condition("Reconciled", "False", "ValidationError", message),
        condition("Ready", "False", "ValidationError", message)]}
    assert health(SMCP, resource(status, generation=3)) == (
        "Degraded", f"Reconciled: {message}")


def test_smcp_second_in_a_namespace_is_degraded() -> None:
    """SetInstance leaves Reconciled Unknown; Reconcile posts ErrMultipleSMCPs on it."""
    message = ("reconciliation skipped: error: multiple ServiceMeshControlPlane resources "
               "exist in the namespace")
    status = {"conditions": [
        condition("Reconciled", "Unknown", "ErrMultipleSMCPs", message),
        condition("Ready", "Unknown", "ErrMultipleSMCPs", message)]}
    assert health(SMCP, resource(status)) == ("Degraded", f"Reconciled: {message}")


def test_smcp_deletion_error_is_degraded() -> None:
    message = "Error deleting service mesh: namespaces \"bookinfo\" is forbidden"
    status = {"observedGeneration": 1, "conditions": [
        condition("Installed", "True", "InstallSuccessful"),
        condition("Reconciled", "False", "DeletionError", message),
        condition("Ready", "True", "ComponentsReady")]}
    assert health(SMCP, resource(status)) == ("Degraded", f"Reconciled: {message}")


# --- ServiceMeshMemberRoll -----------------------------------------------------------------


def test_smmr_configured_is_healthy() -> None:
    status = {"observedGeneration": 1, "configuredMembers": ["bookinfo"], "conditions": [
        condition("Ready", "True", "Configured",
                  "All namespaces have been configured successfully")]}
    assert health(SMMR, resource(status)) == (
        "Healthy", "All namespaces have been configured successfully")


def test_smmr_waiting_for_the_control_plane_is_progressing() -> None:
    status = {"observedGeneration": 1, "conditions": [
        condition("Ready", "False", "SMCPReconciling",
                  "Initial service mesh installation has not completed")]}
    assert health(SMMR, resource(status)) == (
        "Progressing", "Initial service mesh installation has not completed")
    assert health(SMMR, resource(None))[0] == "Progressing"


@pytest.mark.parametrize("reason", ["ErrSMCPMissing", "ErrMultipleSMCPs", "ErrInvalidName"])
def test_smmr_error_reasons_are_degraded(reason: str) -> None:
    status = {"observedGeneration": 1, "members": [], "pendingMembers": [],
              "configuredMembers": [], "terminatingMembers": [], "memberStatuses": [],
              "conditions": [
                  condition("Ready", "False", reason, "No ServiceMeshControlPlane exists")]}
    assert health(SMMR, resource(status)) == ("Degraded", "No ServiceMeshControlPlane exists")


def member(namespace: str, *conditions: dict[str, str]) -> dict[str, Any]:
    return {"namespace": namespace, "conditions": list(conditions)}


def test_smmr_members_being_configured_are_progressing() -> None:
    """Right after creation and after each SMCP update: Ready False ReconcileError with
    the namespaces in pendingMembers, their members still reconciling."""
    message = "The following namespaces are not yet configured: [bookinfo]"
    status = {"observedGeneration": 1, "meshGeneration": 1, "members": ["bookinfo"],
              "pendingMembers": ["bookinfo"], "configuredMembers": [],
              "terminatingMembers": [],
              "memberStatuses": [member("bookinfo", condition(
                  "Reconciled", "False", "SMCPReconciling",
                  "The ServiceMeshControlPlane is being reconciled"))],
              "conditions": [condition("Ready", "False", "ReconcileError", message)]}
    assert health(SMMR, resource(status)) == ("Progressing", message)
    fresh = {**status, "memberStatuses": [member("bookinfo")]}
    assert health(SMMR, resource(fresh)) == ("Progressing", message)


def test_smmr_missing_namespace_is_degraded() -> None:
    message = "The following namespaces are not yet configured: [bookinfo]"
    status = {"observedGeneration": 1, "members": ["bookinfo"],
              "pendingMembers": ["bookinfo"], "configuredMembers": [],
              "terminatingMembers": [],
              "memberStatuses": [member("bookinfo", condition(
                  "Reconciled", "False", "NamespaceNotExists",
                  "Namespace bookinfo does not exist"))],
              "conditions": [condition("Ready", "False", "ReconcileError", message)]}
    assert health(SMMR, resource(status)) == (
        "Degraded", "bookinfo: Namespace bookinfo does not exist")


def test_smmr_kiali_error_with_nothing_pending_is_degraded() -> None:
    message = "Kiali could not be configured: kialis.kiali.io \"kiali\" is forbidden"
    status = {"observedGeneration": 1, "members": ["bookinfo"], "pendingMembers": [],
              "configuredMembers": ["bookinfo"], "terminatingMembers": [],
              "memberStatuses": [member("bookinfo")],
              "conditions": [condition("Ready", "False", "ReconcileError", message)]}
    assert health(SMMR, resource(status)) == ("Degraded", message)


# --- ServiceMeshPeer -----------------------------------------------------------------------


def watch(connected: bool, **times: str) -> dict[str, Any]:
    return {"connected": connected, **times}


def test_peer_connected_is_healthy() -> None:
    status = {"discoveryStatus": {"active": [
        {"pod": "istiod-prod-mesh-6f7c9-abcde",
         "remotes": [{"source": "10.1.2.3", **watch(True, lastConnected="2026-11-23T10:00:00Z")}],
         "watch": watch(True, lastConnected="2026-11-23T10:00:01Z",
                        lastFullSync="2026-11-23T10:00:02Z")}]}}
    assert health(SMP, resource(status)) == (
        "Healthy", "Connected to the peer from 1 istiod pod")


T0, T1, T2 = "2026-11-23T09:00:00Z", "2026-11-23T09:30:00Z", "2026-11-23T09:31:05Z"


def test_peer_dropped_and_failing_to_reconnect_is_degraded() -> None:
    """A live pod retries: WatchInitiated moves lastConnected past lastDisconnect, and
    WatchTerminated records the new failure."""
    status = {"discoveryStatus": {"inactive": [
        {"pod": "istiod-prod-mesh-6f7c9-abcde",
         "watch": watch(False, lastConnected=T2, lastDisconnect=T1,
                        lastDisconnectStatus="503 Service Unavailable")}]}}
    assert health(SMP, resource(status)) == (
        "Degraded", "Reconnecting failed: istiod-prod-mesh-6f7c9-abcde disconnected since "
        f"{T1}: 503 Service Unavailable")


def test_peer_never_connected_shows_istiods_error() -> None:
    """WatchTerminated on a watch that never connected: no lastDisconnect, but the status."""
    status = {"discoveryStatus": {"inactive": [
        {"pod": "istiod-prod-mesh-6f7c9-abcde",
         "watch": watch(False, lastConnected=T2, lastDisconnectStatus="403 Forbidden")}]}}
    assert health(SMP, resource(status)) == (
        "Progressing", "istiod-prod-mesh-6f7c9-abcde not connected yet: 403 Forbidden")


def test_peer_without_status_is_progressing() -> None:
    assert health(SMP, resource(None)) == (
        "Progressing", "Waiting for istiod to connect to the peer")
    assert health(SMP, resource({"discoveryStatus": {}}))[0] == "Progressing"


def test_one_connected_istiod_of_two_is_not_healthy() -> None:
    status = {"discoveryStatus": {
        "active": [{"pod": "istiod-a", "watch": watch(True, lastConnected=T0)}],
        "inactive": [{"pod": "istiod-b", "watch": watch(
            False, lastConnected=T2, lastDisconnectStatus="503 Service Unavailable")}]}}
    assert health(SMP, resource(status)) == (
        "Progressing",
        "1 of 2 istiod pods connected; istiod-b not connected yet: 503 Service Unavailable")


def test_dead_pods_entry_after_an_istiod_restart_is_not_degraded() -> None:
    """The old pod's last write before it died; the new pod has not flushed yet, and only
    the leader prunes dead pods' entries."""
    status = {"discoveryStatus": {"inactive": [
        {"pod": "istiod-prod-mesh-6f7c9-old01",
         "watch": watch(False, lastConnected=T0, lastDisconnect=T1,
                        lastDisconnectStatus="transport is closing")}]}}
    assert health(SMP, resource(status))[0] == "Progressing"


# --- OLM Subscription (meshgen's override of Argo CD's built-in check) -----------------------
# Shapes: operator-framework/api pkg/operators/v1alpha1/subscription_types.go; the
# CatalogSourcesUnhealthy condition and catalogHealth as OLM's catalog operator writes them
# (operator-lifecycle-manager pkg/controller/operators/catalog/subscription/reconciler.go).

OLM = "operators.coreos.com_Subscription"


def catalog(name: str, healthy: bool) -> dict[str, Any]:
    return {"catalogSourceRef": {"apiVersion": "operators.coreos.com/v1alpha1",
                                 "kind": "CatalogSource", "name": name,
                                 "namespace": "openshift-marketplace",
                                 "resourceVersion": "4711", "uid": f"uid-{name}"},
            "healthy": healthy, "lastUpdated": "2026-11-23T10:00:00Z"}


def olm_subscription(conditions: list[dict[str, str]], healthy: dict[str, bool],
                     state: str = "AtLatestKnown") -> dict[str, Any]:
    return {"metadata": {"name": "servicemeshoperator", "namespace": "openshift-operators",
                         "generation": 1},
            "spec": {"name": "servicemeshoperator", "channel": "stable",
                     "source": "redhat-operators", "sourceNamespace": "openshift-marketplace",
                     "installPlanApproval": "Automatic"},
            "status": {"state": state, "currentCSV": "servicemeshoperator.v2.6.4",
                       "installedCSV": "servicemeshoperator.v2.6.4",
                       "lastUpdated": "2026-11-23T10:00:00Z",
                       "catalogHealth": [catalog(n, h) for n, h in sorted(healthy.items())],
                       "conditions": conditions}}


def test_olm_subscription_installed_is_healthy() -> None:
    ok = [condition("CatalogSourcesUnhealthy", "False", "AllCatalogSourcesHealthy",
                    "all available catalogsources are healthy")]
    assert health(OLM, olm_subscription(ok, {"redhat-operators": True})) == (
        "Healthy", "State: AtLatestKnown")


def test_olm_subscription_ignores_another_unhealthy_catalog() -> None:
    """Argo CD's own check turns Degraded here: OLM reports any unhealthy catalog."""
    unhealthy = [condition("CatalogSourcesUnhealthy", "True", "UnhealthyCatalogSourceFound")]
    sub = olm_subscription(unhealthy, {"redhat-operators": True, "my-broken-catalog": False})
    assert health(OLM, sub)[0] == "Healthy"


def test_olm_subscription_with_its_own_catalog_unhealthy_or_missing_is_degraded() -> None:
    own = [condition("CatalogSourcesUnhealthy", "True", "UnhealthyCatalogSourceFound",
                     "targeted catalogsource openshift-marketplace/redhat-operators unhealthy")]
    assert health(OLM, olm_subscription(own, {"redhat-operators": False})) == (
        "Degraded", "CatalogSourcesUnhealthy: targeted catalogsource "
        "openshift-marketplace/redhat-operators unhealthy")
    missing = [condition("CatalogSourcesUnhealthy", "True", "UnhealthyCatalogSourceFound",
                         "targeted catalogsource openshift-marketplace/redhat-operators "
                         "missing")]
    assert health(OLM, olm_subscription(missing, {"community-operators": True}))[0] \
        == "Degraded"


def test_olm_subscription_awaiting_manual_approval_is_progressing() -> None:
    """installPlanApproval: Manual: the wave waits here until someone approves."""
    pending = [condition("CatalogSourcesUnhealthy", "False", "AllCatalogSourcesHealthy"),
               condition("InstallPlanPending", "True", "RequiresApproval")]
    assert health(OLM, olm_subscription(pending, {"redhat-operators": True},
                                        state="UpgradePending")) == (
        "Progressing", "InstallPlanPending: RequiresApproval")


def test_olm_subscription_resolution_failure_is_degraded() -> None:
    failed = [condition("ResolutionFailed", "True", "ConstraintsNotSatisfiable",
                        "constraints not satisfiable: no operators found in channel stable")]
    assert health(OLM, olm_subscription(failed, {"redhat-operators": True}))[0] == "Degraded"
