"""The Argo CD health checks of the Sail kinds, run in real Lua 5.1 (Argo CD's gopher-lua)
against statuses shaped as the Sail operator writes them (istio-ecosystem/sail-operator
api/v1/istio_types.go and istiocni_types.go: conditions Reconciled, Ready,
DependenciesHealthy with their reasons; state; observedGeneration; revisions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from lupa import lua51

from conftest import condition

CHECKS = Path(__file__).resolve().parent / "istio" / "multi-primary-multi-network" / \
    "overlays" / "delivery" / "argocd" / "health" / "argocd-cm" / "configmap-argocd-cm.yaml"
ISTIO = "sailoperator.io_Istio"
CNI = "sailoperator.io_IstioCNI"


def health(key: str, obj: dict[str, Any]) -> tuple[str, str]:
    data = yaml.safe_load(CHECKS.read_text())["data"]
    runtime = lua51.LuaRuntime(unpack_returned_tuples=True)
    runtime.globals().obj = runtime.table_from(obj, recursive=True)
    result = runtime.execute(data["resource.customizations.health." + key])
    return str(result["status"]), str(result["message"])


def istio(conditions: list[dict[str, str]], state: str, generation: int = 2,
          observed: int = 2) -> dict[str, Any]:
    return {"metadata": {"name": "default", "generation": generation},
            "status": {"observedGeneration": observed, "conditions": conditions,
                       "state": state, "activeRevisionName": "default",
                       "revisions": {"total": 1, "ready": 0, "inUse": 0}}}


def test_healthy_istio() -> None:
    obj = istio([condition("Reconciled", "True", "Healthy"), condition("Ready", "True", "Healthy"),
                 condition("DependenciesHealthy", "True", "Healthy")], "Healthy")
    assert health(ISTIO, obj) == ("Healthy", "Healthy")


def test_remote_waiting_for_its_primary_is_progressing() -> None:
    message = "readiness probe on remote istiod failed: caBundle hasn't been set"
    obj = istio([condition("Reconciled", "True", "Healthy"),
                 condition("Ready", "False", "RemoteIstiodNotReady", message),
                 condition("DependenciesHealthy", "True", "Healthy")], "RemoteIstiodNotReady")
    status, text = health(ISTIO, obj)
    assert status == "Progressing"
    assert "RemoteIstiodNotReady" in text


def test_istio_without_cni_is_progressing() -> None:
    obj = istio([condition("Reconciled", "True", "Healthy"), condition("Ready", "True", "Healthy"),
                 condition("DependenciesHealthy", "False", "IstioCNINotFound",
                           "IstioCNI resource does not exist")], "IstioCNINotFound")
    status, text = health(ISTIO, obj)
    assert (status, text.split(":")[0]) == ("Progressing", "DependenciesHealthy/IstioCNINotFound")


def test_reconcile_error_is_degraded() -> None:
    obj = istio([condition("Reconciled", "False", "ReconcileError", "invalid values"),
                 condition("Ready", "Unknown", "")], "ReconcileError")
    assert health(ISTIO, obj)[0] == "Degraded"


def test_stale_generation_waits() -> None:
    obj = istio([condition("Reconciled", "True", "Healthy")], "Healthy", generation=3, observed=2)
    assert health(ISTIO, obj)[0] == "Progressing"


@pytest.mark.parametrize(("state", "ready", "expected"), [
    ("Healthy", condition("Ready", "True", "Healthy"), "Healthy"),
    ("DaemonSetNotReady", condition("Ready", "False", "DaemonSetNotReady"), "Progressing"),
])
def test_istiocni(state: str, ready: dict[str, str], expected: str) -> None:
    obj = {"metadata": {"name": "default", "generation": 1},
           "status": {"observedGeneration": 1, "state": state,
                      "conditions": [condition("Reconciled", "True", "Healthy"), ready]}}
    assert health(CNI, obj)[0] == expected
