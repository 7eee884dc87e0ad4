"""The ossm2 backend's templates (templates/ossm2/) and the object each must produce."""

from __future__ import annotations

TEMPLATES: dict[str, tuple[str, str]] = {
    "ossm2/servicemeshcontrolplane.yaml.j2": ("maistra.io/v2", "ServiceMeshControlPlane"),
    "ossm2/servicemeshmemberroll.yaml.j2": ("maistra.io/v1", "ServiceMeshMemberRoll"),
    "ossm2/root-cert-configmap.yaml.j2": ("v1", "ConfigMap"),
    "ossm2/servicemeshpeer.yaml.j2": ("federation.maistra.io/v1", "ServiceMeshPeer"),
    "ossm2/exportedserviceset.yaml.j2": ("federation.maistra.io/v1", "ExportedServiceSet"),
    "ossm2/importedserviceset.yaml.j2": ("federation.maistra.io/v1", "ImportedServiceSet"),
    "ossm2/serviceexport.yaml.j2": ("multicluster.x-k8s.io/v1alpha1", "ServiceExport"),
    "ossm2/externalsecret.yaml.j2": ("external-secrets.io/v1", "ExternalSecret"),
    "ossm2/certificate.yaml.j2": ("cert-manager.io/v1", "Certificate"),
}
