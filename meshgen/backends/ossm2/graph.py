"""What `meshgen graph` draws for ossm2 meshes: one undirected edge per federated pair,
labelled with its federation and, per direction, the services one mesh exports to the
other and the services the other imports."""

from __future__ import annotations

from dataclasses import dataclass

from ...plan import ExportRule, ImportRule, Peering, Plan


@dataclass(frozen=True)
class Edge:
    a: str
    b: str
    lines: tuple[str, ...]  # label lines: the federation, then one per direction with services


def _exported(rule: ExportRule) -> str:
    namespace, name = rule.exported_as
    selector = ",".join(f"{k}={v}" for k, v in sorted((rule.selector or {}).items()))
    return f"{namespace}/{name}" + (f" ({selector})" if selector else "")


def _imported(rule: ImportRule) -> str:
    return f"{rule.namespace}/{rule.name}" + (" as local" if rule.as_local else "")


def _direction(source: Peering, target: Peering) -> str | None:
    """What flows from source.local to target.local (= source.peer): exports and imports."""
    parts = []
    if source.exports:
        parts.append("export " + ", ".join(_exported(r) for r in source.exports))
    if target.imports:
        parts.append("import " + ", ".join(_imported(r) for r in target.imports))
    if not parts:
        return None
    return f"{source.local.name} → {target.local.name}: " + "; ".join(parts)


def edges(plan: Plan) -> list[Edge]:
    directed = {(p.local.name, p.peer.name): p for p in plan.peerings}
    result = []
    for (a, b), forward in sorted(directed.items()):
        if a > b:
            continue
        backward = directed[(b, a)]
        lines = [forward.federation]
        lines += [line for line in (_direction(forward, backward), _direction(backward, forward))
                  if line]
        result.append(Edge(a, b, tuple(lines)))
    return result
