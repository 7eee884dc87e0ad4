"""The federation graph of a plan, as Mermaid (renders on GitHub) or Graphviz DOT.

Meshes are grouped by cluster; each federated pair is one undirected edge, labelled with
its federation and, per direction, the services one mesh exports to the other and the
services the other imports. Traffic across meshes (`traffic` entries) is drawn apart: one
directed, thick (Mermaid) or bold blue (DOT) edge from the calling mesh to the peer its
routes, mirrors or failover reach; on an istio mesh, from each calling cluster's node to
the cluster whose endpoints they reach. Clusters without meshes are left out. Output is sorted, so
the same plan always draws the same text.
"""

from __future__ import annotations

from dataclasses import dataclass

from .backends.istio import graph as istio
from .backends.istio import traffic as istio_traffic
from .backends.ossm2 import graph as ossm2
from .defaults import GRAPH_FORMATS
from .plan import MeshPlan, Plan

FORMATS = GRAPH_FORMATS


@dataclass(frozen=True)
class TrafficEdge:
    source: str  # the mesh whose clients call
    target: str  # the peer mesh the traffic reaches
    lines: tuple[str, ...]


def traffic_edges(plan: Plan) -> list[TrafficEdge]:
    """Per (mesh, peer): one line per host with what of its traffic reaches the peer."""
    lines: dict[tuple[str, str], list[str]] = {}
    istio_meshes = {m.name for m in plan.istio}
    for t in plan.traffic:
        if t.mesh in istio_meshes:  # between clusters of one mesh: istio_traffic.edges
            continue
        for peer, parts in t.reached("peer").items():
            lines.setdefault((t.mesh, peer), []).append(
                f"{t.namespace}/{t.name}: " + ", ".join(parts))
    return [TrafficEdge(a, b, ("traffic", *lines[(a, b)])) for a, b in sorted(lines)]


def _clusters(plan: Plan) -> list[tuple[str, list[MeshPlan], list[istio.IstioNode]]]:
    """Each cluster with a mesh: its ossm2 meshes and its nodes of istio meshes."""
    found = [(c.name, plan.meshes_on(c.name), istio.nodes_on(plan.istio, c.name))
             for c in plan.clusters]
    return [entry for entry in found if entry[1] or entry[2]]


def mermaid(plan: Plan) -> str:
    def node(name: str) -> str:
        return "mesh_" + name.replace("-", "_")  # DNS labels have no "_": ids stay distinct

    def quoted(lines: list[str] | tuple[str, ...]) -> str:
        return '"' + "<br/>".join(lines).replace('"', "#quot;") + '"'

    out = ["flowchart LR"]
    for cluster, meshes, istio_nodes in _clusters(plan):
        out.append(f"  subgraph cluster_{cluster.replace('-', '_')} "
                   f"[{quoted([f'cluster {cluster}'])}]")
        out += [f"    {node(m.name)}[{quoted([m.name, f'namespace {m.namespace}'])}]"
                for m in meshes]
        out += [f"    {n.id}[{quoted(n.lines)}]" for n in istio_nodes]
        out.append("  end")
    out += [f"  {node(e.a)} ---|{quoted(e.lines)}| {node(e.b)}" for e in ossm2.edges(plan)]
    out += [f"  {e.a} -.-|{quoted([e.label])}| {e.b}" for e in istio.edges(plan.istio)]
    out += [f"  {node(e.source)} ==>|{quoted(e.lines)}| {node(e.target)}"
            for e in traffic_edges(plan)]
    out += [f"  {e.source} ==>|{quoted(e.lines)}| {e.target}"
            for e in istio_traffic.edges(plan.traffic, plan.istio)]
    return "\n".join(out) + "\n"


def dot(plan: Plan) -> str:
    def quoted(*lines: str) -> str:
        return '"' + "\\n".join(x.replace("\\", "\\\\").replace('"', '\\"') for x in lines) + '"'

    out = [f"graph {quoted(plan.fleet_name)} {{", "  rankdir=LR;",
           '  node [shape=box, style=rounded, fontname="sans-serif"];',
           '  edge [fontname="sans-serif", fontsize=10];']
    for cluster, meshes, istio_nodes in _clusters(plan):
        out += [f"  subgraph {quoted('cluster_' + cluster)} {{",
                f"    label={quoted('cluster ' + cluster)};"]
        out += [f"    {quoted(m.name)} [label={quoted(m.name, 'namespace ' + m.namespace)}];"
                for m in meshes]
        out += [f"    {quoted(n.id)} [label={quoted(*n.lines)}];" for n in istio_nodes]
        out.append("  }")
    out += [f"  {quoted(e.a)} -- {quoted(e.b)} [label={quoted(*e.lines)}];"
            for e in ossm2.edges(plan)]
    out += [f"  {quoted(e.a)} -- {quoted(e.b)} [label={quoted(e.label)}, style=dashed];"
            for e in istio.edges(plan.istio)]
    out += [f"  {quoted(e.source)} -- {quoted(e.target)} [label={quoted(*e.lines)}, "
            "dir=forward, style=bold, color=blue];" for e in traffic_edges(plan)]
    out += [f"  {quoted(e.source)} -- {quoted(e.target)} [label={quoted(*e.lines)}, "
            "dir=forward, style=bold, color=blue];"
            for e in istio_traffic.edges(plan.traffic, plan.istio)]
    out.append("}")
    return "\n".join(out) + "\n"


def draw(plan: Plan, fmt: str) -> str:
    return dot(plan) if fmt == "dot" else mermaid(plan)
