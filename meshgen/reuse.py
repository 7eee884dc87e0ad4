"""Which clusters of the last build can be reused: a fingerprint of everything the
rendering of one cluster reads.

render_cluster(renderer, plan, c) is a pure function of
- the renderer: meshgen's code and templates (bundled and --templates) and the options,
  which the cache's static key covers (any change there: no reuse at all), and the
  fleet's name, a template global;
- the slice of the plan it reads for c: the ossm2 meshes on c (plan.meshes_on), each one's
  outgoing peerings (plan.peerings_of; with the bundled templates only the peer mesh's
  PEER_VIEW is read, with --templates its whole MeshPlan may be) and `traffic`
  entries, c's operator Subscriptions, the namespaces istio meshes take over on c
  (taken_over), the istio meshes with a member on c (istio_objects.cluster_objects
  reads nothing else of plan.istio: only those meshes and their members), the istio
  traffic entries on c (istio_traffic.on_cluster), c's member namespaces and whether ACM
  Subscriptions deliver the overlays (what ordering reads);
and emit_cluster adds only the header's source name and the cluster's name. Module
globals are code. So equal fingerprints, under one static key, mean equal files.

The slice is pickled with the standard (C) pickler: a faithful serialization, so different
values give different bytes. Its two sets are passed sorted, so the bytes do not depend on
PYTHONHASHSEED. The C pickler does not call reducer_override for exact sets (Python's
docs, library/pickle, "Custom Reduction for Types, Functions, and Other Objects"), and a
persistent_id hook that would catch them triples the cost; the plan's types hold no sets,
and a set anywhere else would only make fingerprints differ between processes: reuse
lost, never a stale file. Object sharing shows in the pickle's memo; it follows from how
the plan was built from the fleet, so it too can only cost reuse. What cannot be pickled
has no fingerprint: that cluster is always rendered.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from .backends.istio import traffic as istio_traffic
from .backends.istio.migration import taken_over
from .ordering import acm_subscriptions
from .plan.types import Peering

if TYPE_CHECKING:
    from .plan import Plan

_PROTOCOL = 5
_UNPICKLABLE = (pickle.PicklingError, TypeError, AttributeError, ValueError, RecursionError)


class _Digest:
    """A file for the pickler that keeps only the sha256 of what is written to it."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        return len(data)


def digest(value: Any) -> str | None:
    """sha256 of value's pickle, or None when it has none."""
    sink = _Digest()
    try:
        pickle.Pickler(sink, protocol=_PROTOCOL).dump(value)
    except _UNPICKLABLE:
        return None
    return sink.hash.hexdigest()


# What the bundled templates and meshgen/backends/ossm2/objects.py read of the peer mesh a
# peering points to: its name (object names, labels, the root-certificate ConfigMap,
# imported host names), its trust domain (ServiceMeshPeer) and its root certificate
# (the ConfigMap's PEM). tests/test_reuse.py renders with peers that have nothing else.
PEER_VIEW = ("name", "trust_domain", "root")


_PEERING_FIELDS = tuple(f.name for f in fields(Peering))


def _peering(peering: Peering) -> tuple[Any, ...]:
    """A peering as rendering with the bundled templates sees it: every field (in the
    class's order, which is code), the peer mesh reduced to PEER_VIEW. A change of the
    peer elsewhere (its members, its other settings) then leaves the clusters of the
    meshes it is peered with reusable."""
    peer = peering.peer
    return tuple([getattr(peer, a) for a in PEER_VIEW] if name == "peer"
                 else getattr(peering, name) for name in _PEERING_FIELDS)


def cluster_slice(plan: Plan, cluster: str, overridden: bool = True) -> tuple[Any, ...]:
    """What render_cluster reads of plan for cluster (see the module's docstring).
    overridden: templates from --templates may be used, which may read anything of a
    peer mesh; without them, a peering shows its peer as PEER_VIEW."""
    meshes = plan.meshes_on(cluster)
    return (
        plan.fleet_name,
        cluster,
        meshes,
        [plan.peerings_of(mesh) if overridden else
         [_peering(p) for p in plan.peerings_of(mesh)] for mesh in meshes],
        [[t for t in plan.traffic if t.mesh == mesh.name] for mesh in meshes],
        plan.operators.get(cluster, []),
        sorted(taken_over(plan.istio, cluster)),
        [mesh for mesh in plan.istio if mesh.member(cluster)],
        istio_traffic.on_cluster(plan.traffic, plan.istio, cluster),
        sorted(plan.member_namespaces(cluster)),
        acm_subscriptions(plan),
    )


def fingerprint(plan: Plan, cluster: str, source_name: str, overridden: bool = True
                ) -> str | None:
    """The fingerprint of cluster's files in this build (None: always render it).
    overridden: --templates is given (see cluster_slice)."""
    return digest((source_name, cluster_slice(plan, cluster, overridden)))
