"""What the plan resolved for one mesh, each fact with the fleet.yaml position it came from.

Settings a mesh does not set anywhere (defaults of meshgen, not of the fleet's `defaults`)
have no position and say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .backends.istio.explain import explain_istio
from .backends.istio.traffic import CLUSTER_LABEL
from .defaults import EXPLAIN_FORMATS
from .errors import Location
from .plan import Plan
from .plan.traffic import Destination, TrafficPlan

FORMATS = EXPLAIN_FORMATS
_CHILD_VALUE = {"exports": "source", "imports": "hostname", "remote secrets": "source",
                "traffic": "routes"}


@dataclass(frozen=True)
class Fact:
    label: str
    value: Any
    origin: Location | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        where = self.origin
        return {"value": self.value, "line": where.line if where else None,
                "column": where.column if where else None, "note": self.note or None}


@dataclass
class Section:
    kind: str  # mesh | peer
    name: str
    origin: Location | None
    facts: list[Fact] = field(default_factory=list)
    children: dict[str, list[Fact]] = field(default_factory=dict)


@dataclass
class Explanation:
    fleet: str
    mesh: str
    sections: list[Section]

    def as_dict(self) -> dict[str, Any]:
        def key(label: str) -> str:
            first, *rest = label.split()
            return first + "".join(w.capitalize() for w in rest)

        def section(s: Section) -> dict[str, Any]:
            data: dict[str, Any] = {"line": s.origin.line if s.origin else None}
            data.update({key(f.label): f.as_dict() for f in s.facts})
            for name, facts in s.children.items():
                data[name] = [{"service": f.label, _CHILD_VALUE[name]: f.value,
                               **{k: v for k, v in f.as_dict().items() if k != "value"}}
                              for f in facts]
            return data

        mesh, *others = self.sections
        result = {"fleet": self.fleet, "mesh": self.mesh, "settings": section(mesh),
                  "peers": {p.name: section(p) for p in others if p.kind == "peer"}}
        if clusters := [s for s in others if s.kind == "cluster"]:  # an istio mesh's
            result["clusters"] = {c.name: section(c) for c in clusters}
        return result


def explain(plan: Plan, name: str) -> Explanation:
    istio = next((m for m in plan.istio if m.name == name), None)
    if istio is not None:
        return explain_istio(plan, istio)
    from .backends.ossm2.explain import explain_mesh  # it builds on this module's shapes

    mesh = plan.named(name)
    explanation = explain_mesh(plan, mesh)
    if traffic := traffic_facts(plan, mesh.name):
        explanation.sections[0].children["traffic"] = traffic
    return explanation


def traffic_facts(plan: Plan, mesh: str) -> list[Fact]:
    """A mesh's `traffic` entries, each with its resolved routes (either backend)."""
    return [Fact(f"{t.namespace}/{t.name}", _routes(t), plan.source.at(t.origin))
            for t in plan.traffic if t.mesh == mesh]


def _routes(traffic: TrafficPlan) -> list[str]:
    """A traffic entry's destinations with their resolved hosts."""
    routes = [f"route {d.weight}% -> {_destination(d)}" for d in traffic.route]
    if traffic.mirror is not None:
        routes.append(f"mirror {traffic.mirror_percent:g}% -> {_destination(traffic.mirror)}")
    if traffic.failover is not None:
        routes.append(traffic.failover.describe())
    return routes


def _destination(d: Destination) -> str:
    where = f" ({CLUSTER_LABEL}={d.cluster})" if d.cluster else ""
    return d.host + (f" subset {d.subset}" if d.subset else "") + where


def format_text(explanation: Explanation) -> str:
    def where(location: Location | None, note: str = "") -> str:
        text = f"{location.line}:{location.column}" if location else ""
        return "  ".join(x for x in (f"line {text}" if text else "", f"({note})" if note else "")
                         if x)

    def shown(value: Any) -> str:
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, list):
            return ", ".join(map(str, value)) or "(none)"
        return "(none)" if value is None else str(value)

    lines = [f"{explanation.fleet}: mesh {explanation.mesh}"]
    for section in explanation.sections:
        lines += ["", f"{section.kind} {section.name}  {where(section.origin)}"]
        width = max(len(f.label) for f in section.facts)
        values = max(len(shown(f.value)) for f in section.facts)
        lines += [f"  {f.label:<{width}}  {shown(f.value):<{values}}  "
                  f"{where(f.origin, f.note)}".rstrip() for f in section.facts]
        for name, facts in section.children.items():
            if not facts:
                lines.append(f"  {name:<{width}}  (none)")
                continue
            lines.append(f"  {name}")
            for f in facts:
                if isinstance(f.value, list):  # a traffic entry: one line per destination
                    lines.append(f"    {f.label}  {where(f.origin, f.note)}".rstrip())
                    lines += [f"      {item}" for item in f.value]
                    continue
                lines.append(f"    {f.label} -> {f.value}  {where(f.origin, f.note)}".rstrip())
    return "\n".join(lines) + "\n"
