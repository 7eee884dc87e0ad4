"""What the Maistra operator's admission webhook refuses, refused at build time.

Upstream: maistra/istio-operator, pkg/controller/servicemesh/webhooks/validation/
controlplane.go and pkg/controller/versions/util.go (validateGlobal), branch maistra-2.5.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...plan.checker import Checker, dig
from ...plan.delivery import OPERATORS_NAMESPACE
from ...plan.types import RFC1035_LABEL, MeshPlan

# The oldest control-plane version each operator release accepts: its build sets
# MINIMUM_SUPPORTED_VERSION (maistra/istio-operator build/build.sh: v2.0 on maistra-2.3,
# v2.1 on maistra-2.4, v2.2 on maistra-2.5, v2.3 for 2.6 at commit 4355210b); the webhook
# answers anything older with "Only '[...]' versions are supported".
OPERATOR_MIN_VERSION = {(2, 3): (2, 0), (2, 4): (2, 1), (2, 5): (2, 2), (2, 6): (2, 3)}
# what OLM's `stable` channel of servicemeshoperator installs today
STABLE_OPERATOR = (2, 6)
# spec.mode exists from v2.4 on; v2.3 has spec.techPreview.controlPlaneMode instead
CLUSTER_WIDE_MIN_VERSION = (2, 4)
TECH_PREVIEW_MODE = ["techPreview", "controlPlaneMode"]
# the charts name istiod's Service istiod-<revision>, the revision being the SMCP's name
# (maistra/istio-operator, maistra-2.5:
# resources/helm/v2.5/istio-control/istio-discovery/templates/service.yaml)
ISTIOD_SERVICE_PREFIX = "istiod-"


def _shown(version: tuple[int, int]) -> str:
    return f"v{version[0]}.{version[1]}"


class WebhookRules(Checker):
    def check_operator_version(self, mesh: MeshPlan) -> None:
        """A version the operator on the cluster no longer reconciles: an error when meshgen
        installs that operator (the `stable` channel), a warning otherwise."""
        minimum = OPERATOR_MIN_VERSION[STABLE_OPERATOR]
        if mesh.version_tuple >= minimum:
            return
        operators = self.fleet.operators
        message = (f'mesh "{mesh.name}" has version {mesh.version}, which the OpenShift '
                   f"Service Mesh {_shown(STABLE_OPERATOR)[1:]} operator refuses (it accepts "
                   f"{_shown(minimum)} and later)")
        hint = f"set `version` to {_shown(minimum)} or later"
        if operators.install and operators.channel == "stable":
            self.error("MG049", message + "; `operators.install` subscribes to it on the "
                       "`stable` channel", mesh.origin("version"), hint)
        else:
            self.warn("MG049", message, mesh.origin("version"), hint + ", unless the "
                      "clusters run an older operator that still accepts it")

    def check_control_plane(self, mesh: MeshPlan) -> None:
        istiod = f"{ISTIOD_SERVICE_PREFIX}{mesh.control_plane_name}"
        if not RFC1035_LABEL.match(istiod):
            self.error("MG048", f'mesh "{mesh.name}": the operator would name istiod\'s Service '
                       f'"{istiod}", {len(istiod)} characters, more than a Service name '
                       "may have (63)", mesh.origin("controlPlaneName"),
                       f"shorten `controlPlaneName` (or the mesh name) to at most "
                       f"{63 - len(ISTIOD_SERVICE_PREFIX)} characters")
        if mesh.namespace == OPERATORS_NAMESPACE:
            self.error("MG064", f'mesh "{mesh.name}" has its control plane in '
                       f'"{OPERATORS_NAMESPACE}", the operator\'s namespace',
                       mesh.origin("namespace"), "the operator refuses a "
                       "ServiceMeshControlPlane in its own namespace; choose another "
                       "`namespace`")
        mode = dig(mesh.smcp_spec, ["mode"])
        if mode is not None and mesh.version_tuple < CLUSTER_WIDE_MIN_VERSION:
            self.smcp_error(mesh, "MG065", ["mode"], f"sets {{key}}, which version "
                            f"{mesh.version} does not know", "spec.mode exists from v2.4 on; "
                            "v2.3 takes techPreview.controlPlaneMode: ClusterScoped")
        if dig(mesh.smcp_spec, TECH_PREVIEW_MODE) is not None \
                and mesh.version_tuple >= CLUSTER_WIDE_MIN_VERSION:
            self.smcp_error(mesh, "MG065", TECH_PREVIEW_MODE, "sets {key}, which version "
                            f"{mesh.version} refuses", "use `mode: ClusterWide` from v2.4 on")

    def check_cluster_wide(self, meshes: Iterable[MeshPlan]) -> None:
        """A cluster-wide control plane must be the only one on its cluster."""
        on_cluster: dict[str, list[MeshPlan]] = {}
        for mesh in meshes:
            on_cluster.setdefault(mesh.cluster.name, []).append(mesh)
        for cluster, here in sorted(on_cluster.items()):
            if len(here) < 2:
                continue
            for mesh in here:
                keys = _cluster_wide_keys(mesh)
                if keys:
                    others = ", ".join(f'"{m.name}"' for m in here if m is not mesh)
                    self.smcp_error(mesh, "MG065", keys, "makes the control plane "
                                    f'cluster-wide, but cluster "{cluster}" also runs mesh(es) '
                                    f"{others}", "the operator admits a cluster-wide "
                                    "control plane only as the cluster's single one; use "
                                    "the default MultiTenant mode, or move the other meshes")


def _cluster_wide_keys(mesh: MeshPlan) -> list[str]:
    """The smcpSpec key that makes mesh's control plane cluster-scoped, or []."""
    if dig(mesh.smcp_spec, ["mode"]) == "ClusterWide":
        return ["mode"]
    if dig(mesh.smcp_spec, TECH_PREVIEW_MODE) == "ClusterScoped":
        return TECH_PREVIEW_MODE
    return []
