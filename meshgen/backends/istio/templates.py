"""The istio backend's templates (templates/istio/) and the object each must produce."""

from __future__ import annotations

TEMPLATES: dict[str, tuple[str, str]] = {
    "istio/namespace.yaml.j2": ("v1", "Namespace"),
    "istio/istio.yaml.j2": ("sailoperator.io/v1", "Istio"),
    "istio/istiocni.yaml.j2": ("sailoperator.io/v1", "IstioCNI"),
    "istio/certificate.yaml.j2": ("cert-manager.io/v1", "Certificate"),
    "istio/cacerts-externalsecret.yaml.j2": ("external-secrets.io/v1", "ExternalSecret"),
    "istio/remote-secret.yaml.j2": ("external-secrets.io/v1", "ExternalSecret"),
    "istio/eastwest-serviceaccount.yaml.j2": ("v1", "ServiceAccount"),
    "istio/eastwest-deployment.yaml.j2": ("apps/v1", "Deployment"),
    "istio/eastwest-service.yaml.j2": ("v1", "Service"),
    "istio/istiod-remote-service.yaml.j2": ("v1", "Service"),
    "istio/serviceexport.yaml.j2": ("multicluster.x-k8s.io/v1alpha1", "ServiceExport"),
    "istio/cross-network-gateway.yaml.j2": ("networking.istio.io/v1", "Gateway"),
    "istio/istiod-gateway.yaml.j2": ("networking.istio.io/v1", "Gateway"),
    "istio/istiod-virtualservice.yaml.j2": ("networking.istio.io/v1", "VirtualService"),
}

# (API group, kind) -> Argo CD sync wave (shared/design/istio-backend.md, waves table):
# cacerts and IstioCNI before `Istio`; the east-west gateway needs the injector; Istio
# networking objects need istiod's validating webhook
WAVES: dict[tuple[str, str], int] = {
    ("sailoperator.io", "IstioCNI"): -1,
    ("sailoperator.io", "Istio"): 0,
    ("", "ServiceAccount"): 1,
    ("apps", "Deployment"): 1,
    ("", "Service"): 1,
    ("networking.istio.io", "Gateway"): 2,
    ("networking.istio.io", "VirtualService"): 2,
}
# (group, kind, Lua file under templates/health/): Argo CD has none for sailoperator.io
HEALTH_CHECKS = (
    ("sailoperator.io", "Istio", "istio.lua"),
    ("sailoperator.io", "IstioCNI", "istiocni.lua"),
)
# their CRDs arrive with the operator, maybe in the same sync
OPERATOR_GROUPS = frozenset({"sailoperator.io", "networking.istio.io"})
