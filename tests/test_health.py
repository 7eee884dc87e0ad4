"""The Argo CD health checks meshgen emits, run in a real Lua 5.1 interpreter (Argo CD's
gopher-lua speaks Lua 5.1) against status objects shaped like the operator's and istiod's.

Status shapes: maistra/api core/v1 status.go (SMCP conditions Installed, Reconciled, Ready
and their reasons), the SMMR Ready condition and its reasons, and the ServiceMeshPeer
discoveryStatus (research/maistra-federation.md section 8).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from lupa import lua51

from conftest import EXAMPLE_OVERLAYS

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


def condition(kind: str, status: str, reason: str, message: str = "") -> dict[str, str]:
    found = {"type": kind, "status": status, "reason": reason,
             "lastTransitionTime": "2026-11-23T10:00:00Z"}
    if message:
        found["message"] = message
    return found


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
        "Progressing", "Waiting for the operator to observe generation 3")


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


@pytest.mark.parametrize("reason", ["ErrSMCPMissing", "ErrMultipleSMCPs", "ReconcileError"])
def test_smmr_error_reasons_are_degraded(reason: str) -> None:
    status = {"observedGeneration": 1, "conditions": [
        condition("Ready", "False", reason, "No ServiceMeshControlPlane exists")]}
    assert health(SMMR, resource(status)) == ("Degraded", "No ServiceMeshControlPlane exists")


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
        "Healthy", "Connected to the peer from 1 istiod pod(s)")


def test_peer_disconnected_is_degraded_with_istiods_reason() -> None:
    status = {"discoveryStatus": {"inactive": [
        {"pod": "istiod-prod-mesh-6f7c9-abcde",
         "watch": watch(False, lastConnected="2026-11-23T09:00:00Z",
                        lastDisconnect="2026-11-23T09:30:00Z",
                        lastDisconnectStatus="503 Service Unavailable")}]}}
    assert health(SMP, resource(status)) == (
        "Degraded",
        "Disconnected from the peer since 2026-11-23T09:30:00Z: 503 Service Unavailable")


def test_peer_never_connected_or_without_status_is_progressing() -> None:
    assert health(SMP, resource(None)) == (
        "Progressing", "Waiting for istiod to connect to the peer")
    never = {"discoveryStatus": {"inactive": [
        {"pod": "istiod-prod-mesh-6f7c9-abcde", "watch": watch(False)}]}}
    assert health(SMP, resource(never)) == (
        "Progressing", "istiod has not connected to the peer yet")


def test_one_connected_istiod_of_two_is_enough() -> None:
    status = {"discoveryStatus": {
        "active": [{"pod": "istiod-a", "watch": watch(True)}],
        "inactive": [{"pod": "istiod-b", "watch": watch(
            False, lastDisconnect="2026-11-23T09:30:00Z")}]}}
    assert health(SMP, resource(status))[0] == "Healthy"
