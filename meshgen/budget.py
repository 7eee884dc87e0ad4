"""What a build may produce before it starts producing it: a fleet of a few kilobytes can
ask for millions of objects (a full federation of a thousand meshes) or gigabytes (a long
list in smcpSpec copied into a control plane), so the plan is measured and refused, with
the figure, when it exceeds the budget; `meshgen build --max-objects/--max-bytes` raise it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import FleetError, Problem, Problems

if TYPE_CHECKING:  # the command line reads the defaults without loading the model
    from .model import Fleet
    from .plan import MeshPlan, Plan
    from .source import SourceFile

DEFAULT_MAX_OBJECTS = 50_000
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
# the emitted size of one generated object without its smcpSpec, generously rounded up
BYTES_PER_OBJECT = 2048


@dataclass(frozen=True)
class Budget:
    max_objects: int = DEFAULT_MAX_OBJECTS
    max_bytes: int = DEFAULT_MAX_BYTES


DEFAULT_BUDGET = Budget()


_SPLIT_HINT = ("split large federations (a full federation of n meshes makes n·(n-1) "
               "peerings; a star makes 2·(n-1)), or raise the budget with --max-objects")


def check_federations(fleet: Fleet, source: SourceFile, budget: Budget) -> None:
    """Before planning: every peering makes at least two objects (the peer and its root
    ConfigMap), so the federations alone can show the budget is exceeded, without the
    time and memory of planning a million peerings."""
    sizes = [len(set(f.meshes)) for f in fleet.federations]
    peerings = [n * (n - 1) if f.topology == "full" else 2 * (n - 1)
                for f, n in zip(fleet.federations, sizes, strict=True)]
    least = 2 * sum(peerings)
    if least > budget.max_objects:
        largest = max(range(len(peerings)), key=lambda i: peerings[i])
        raise FleetError(Problem(
            "MG150", f"the fleet would generate at least {least:,} objects, more than the "
            f"{budget.max_objects:,} allowed", source.at(("federations", largest, "meshes")),
            _SPLIT_HINT))


def planned_objects(plan: Plan) -> int:
    """How many objects rendering the plan makes (the overlays; delivery adds a few)."""
    count = sum(len(subs) for subs in plan.operators.values())
    for cluster in plan.clusters:
        meshes = plan.meshes_on(cluster.name)
        count += len({ns for m in meshes for ns in (m.namespace, *m.members)})
        count += sum(3 for _ in meshes)  # control plane, member roll, CA source (at most)
    for peering in plan.peerings:
        count += 2 + bool(peering.exports) + bool(peering.imports) + peering.service_export
    return count


def _spec_bytes(mesh: MeshPlan) -> int:
    return len(json.dumps(mesh.smcp_spec, separators=(",", ":"))) if mesh.smcp_spec else 0


def check_budget(plan: Plan, budget: Budget) -> None:
    """MG150 (objects) or MG151 (bytes) when the plan would exceed the budget."""
    problems = Problems()
    objects = planned_objects(plan)
    if objects > budget.max_objects:
        by_federation: dict[str, int] = {}
        for peering in plan.peerings:
            by_federation[peering.federation] = by_federation.get(peering.federation, 0) + 1
        where = plan.source.at(())
        if by_federation:
            largest = max(sorted(by_federation), key=lambda name: by_federation[name])
            index = next((i for i, f in enumerate(plan.source.data.get("federations", []))
                          if isinstance(f, dict) and f.get("name") == largest), None)
            if index is not None:
                where = plan.source.at(("federations", index, "meshes"))
        problems.add(Problem(
            "MG150", f"the fleet would generate {objects:,} objects, more than the "
            f"{budget.max_objects:,} allowed", where,
            _SPLIT_HINT))
    size = objects * BYTES_PER_OBJECT + sum(_spec_bytes(m) for m in plan.meshes)
    if size > budget.max_bytes and not problems:  # too many objects is the cause to name
        biggest = max(plan.meshes, key=_spec_bytes)
        problems.add(Problem(
            "MG151", f"the fleet would generate about {size:,} bytes, more than the "
            f"{budget.max_bytes:,} allowed (mesh \"{biggest.name}\" alone copies "
            f"{_spec_bytes(biggest):,} bytes of smcpSpec)",
            plan.source.at(biggest.origin("smcpSpec")),
            "keep data out of smcpSpec (it is copied into a control plane per mesh), or "
            "raise the budget with --max-bytes"))
    if problems:
        raise FleetError(problems)
