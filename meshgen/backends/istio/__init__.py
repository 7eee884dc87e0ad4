"""The istio backend: OpenShift Service Mesh 3 / upstream Istio multi-cluster meshes run by
the Sail operator (shared/design/istio-backend.md).

What a cluster of an istio mesh gets: objects.py (templates in templates/istio/); the rules:
planner.py; the resolved mesh: types.py; versions per operator channel: versions.py. The
shared stages import these modules directly, so this package imports nothing itself.
"""
