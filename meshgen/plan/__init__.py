"""Fleet -> Plan: the resolved federation graph, with every cross-object rule checked.

The Plan is what every later stage reads: render, and the commands that explain,
draw, diff or deliver.
"""

from .meshes import deep_merge, substitute
from .planner import Planner, build_plan
from .types import (
    CACERTS,
    CACERTS_DIR,
    CACERTS_KEYS,
    CAPlan,
    ClusterPlan,
    ExportRule,
    Gateway,
    ImportRule,
    MeshPlan,
    Peering,
    Plan,
    TrustPlan,
    gateway_for,
    ingress_address,
    shared_trust,
)

__all__ = [
    "CACERTS",
    "CACERTS_DIR",
    "CACERTS_KEYS",
    "CAPlan",
    "ClusterPlan",
    "ExportRule",
    "Gateway",
    "ImportRule",
    "MeshPlan",
    "Peering",
    "Plan",
    "Planner",
    "TrustPlan",
    "build_plan",
    "deep_merge",
    "gateway_for",
    "ingress_address",
    "shared_trust",
    "substitute",
]
