"""meshgen: compile a fleet.yaml into per-cluster OpenShift Service Mesh federation overlays."""

__version__ = "0.1.0"
