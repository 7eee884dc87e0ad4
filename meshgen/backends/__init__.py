"""Mesh backends: what is specific to one kind of control plane (shared/design/architecture.md,
"Backends"): ossm2/ (Maistra) and istio/ (Sail), each with its templates in templates/<backend>/.
What every backend shares (clusters, layered settings, delivery, traffic, ordering) stays in
meshgen/plan/ and the stage modules."""

# The planner (meshgen.plan) runs every backend's rules, and the backends build on the
# plan's shared parts: load the plan first, whichever module a caller imports first.
from .. import plan as _plan  # noqa: F401
