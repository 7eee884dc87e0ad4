"""Which pinned Sail `Istio` versions each servicemeshoperator3 OLM channel ships.

Source: Red Hat OpenShift Service Mesh 3 release notes, "version support tables" (OSSM 3.0.x
ships Istio 1.24.3-1.24.5, OSSM 3.1.x ships 1.26.2-1.26.4), as summarised with sources in
shared/research/istio-multicluster.md §1.1. A `stable-3.<minor>` channel carries patch
releases of that minor only. `stable` follows the newest release; meshgen accepts every
version of the table for it (pin a `stable-3.<minor>` channel for a strict check).
"""

from __future__ import annotations

OPERATOR_PACKAGE = "servicemeshoperator3"

CHANNELS: dict[str, tuple[str, ...]] = {
    "stable-3.0": ("v1.24.3", "v1.24.4", "v1.24.5"),
    "stable-3.1": ("v1.26.2", "v1.26.3", "v1.26.4"),
}
CHANNELS["stable"] = tuple(v for versions in CHANNELS.values() for v in versions)

DEFAULT_CHANNEL = "stable"
DEFAULT_SOURCE = "redhat-operators"


def versions_of(channel: str) -> tuple[str, ...] | None:
    """The versions the channel's operator installs, or None for an unknown channel."""
    return CHANNELS.get(channel)
