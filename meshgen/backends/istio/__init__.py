"""The istio backend: OpenShift Service Mesh 3 / upstream Istio multi-cluster meshes run by
the Sail operator (shared/design/istio-backend.md).

What a cluster of an istio mesh gets: objects.py (templates in templates/istio/); a mesh
resolved: resolve.py, types.py; its rules: rules.py; the order: planner.py; versions per
operator channel: versions.py; explain.py and graph.py for those commands. The
shared stages import these modules directly, so this package imports nothing itself.
"""
