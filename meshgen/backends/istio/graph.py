"""What `meshgen graph` draws for istio meshes: one node per member cluster of a mesh, an
edge between primaries (they read each other) and from each remote to its primary."""

from __future__ import annotations

from dataclasses import dataclass

from .types import IstioMeshPlan


@dataclass(frozen=True)
class IstioNode:
    id: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class IstioEdge:
    a: str
    b: str
    label: str


def node_id(mesh: str, cluster: str) -> str:
    return f"istio_{mesh}_{cluster}".replace("-", "_")  # DNS labels have no "_"


def nodes_on(meshes: list[IstioMeshPlan], cluster: str) -> list[IstioNode]:
    return [IstioNode(node_id(mesh.name, m.name),
                      (mesh.name, f"istio {m.role}", f"network {m.network}"))
            for mesh in meshes for m in mesh.clusters if m.name == cluster]


def edges(meshes: list[IstioMeshPlan]) -> list[IstioEdge]:
    result = []
    for mesh in meshes:
        primaries = [p.name for p in mesh.primaries]
        for i, a in enumerate(primaries):
            result += [IstioEdge(node_id(mesh.name, a), node_id(mesh.name, b),
                                 f"{mesh.name}: multi-primary") for b in primaries[i + 1:]]
        for remote in mesh.clusters:
            if remote.role == "remote" and remote.control_plane:
                result.append(IstioEdge(node_id(mesh.name, remote.name),
                                        node_id(mesh.name, remote.control_plane),
                                        f"{mesh.name}: istiod at {mesh.pilot_address(remote)}"))
    return result
