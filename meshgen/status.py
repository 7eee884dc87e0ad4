"""Is the federation up? The fleet's declared peerings read against the clusters' dumps.

What istiod and the operator write, and where (maistra/api, branch maistra-2.6):
- ServiceMeshPeer `status.discoveryStatus.{active,inactive}[]`, one entry per istiod pod
  with `watch` (its outbound connection: connected, lastConnected, lastDisconnect,
  lastDisconnectStatus, lastEvent, lastFullSync) and `remotes[]` (inbound watches)
  (federation/v1/servicemeshpeer_types.go). A pod is in `active` iff its watch is
  connected; a dead pod's entry is only pruned by the leader
  (maistra/istio, maistra-2.5: pkg/servicemesh/federation/status/handler.go, Flush,
  removeDeadPods), so an inactive entry may be a pod that is gone.
- Exported/ImportedServiceSet `status.exportedServices[]` / `importedServices[]`:
  `exportedName` + `localService{name,namespace,hostname}`; an exported service the
  importer's rules do not match keeps an empty localService
  (federation/v1/import_export_mapping.go, PeerServiceMapping).
- SMCP and SMMR conditions `{type, status, reason, message, lastTransitionTime}`, type
  `Ready` (core/v1/status.go, core/v1/memberroll_types.go).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .dumps import Dump, DumpedObject
from .errors import Location
from .plan import ExportRule, ImportRule, MeshPlan, Peering, Plan

KINDS = ("ServiceMeshControlPlane", "ServiceMeshMemberRoll", "ServiceMeshPeer",
         "ExportedServiceSet", "ImportedServiceSet")


@dataclass
class Service:
    rule: str  # namespace/name as fleet.yaml declares it
    seen: str | None  # what the cluster shows for it, None when nothing matches
    line: int


@dataclass
class Direction:
    """One side of a federated pair: `local` watching `peer`."""

    local: str
    peer: str
    cluster: str
    federation: str
    line: int
    state: str  # connected | partially connected | disconnected | never connected | missing
    since: str | None = None
    last_error: str | None = None
    pods: dict[str, str] = field(default_factory=dict)  # pod -> active | inactive
    # entries of istiod pods the dump shows gone (only when it holds the istiod Pods)
    stale: list[str] = field(default_factory=list)
    exports: list[Service] = field(default_factory=list)
    imports: list[Service] = field(default_factory=list)
    not_imported: list[str] = field(default_factory=list)  # exported by peer, matched by no rule
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems


@dataclass
class MeshReadiness:
    mesh: str
    cluster: str
    line: int
    control_plane: str  # Ready condition of the SMCP, or "missing"
    member_roll: str
    problems: list[str] = field(default_factory=list)


@dataclass
class Status:
    fleet: str
    meshes: list[MeshReadiness]
    directions: list[Direction]
    unmanaged: list[DumpedObject]
    clusters: list[str]

    @property
    def healthy(self) -> bool:
        return not any(m.problems for m in self.meshes) and \
            all(d.healthy for d in self.directions)

    def as_dict(self) -> dict[str, Any]:
        return {
            "fleet": self.fleet,
            "healthy": self.healthy,
            "meshes": [vars(m) for m in self.meshes],
            "federations": [{**{k: v for k, v in vars(d).items()
                                if k not in ("exports", "imports")},
                             "exports": [vars(s) for s in d.exports],
                             "imports": [vars(s) for s in d.imports]}
                            for d in self.directions],
            "unmanaged": [{"cluster": o.cluster, "kind": o.kind, "namespace": o.namespace,
                           "name": o.name, "location": str(o.location)} for o in self.unmanaged],
        }


def federation_status(plan: Plan, dumps: list[Dump]) -> Status:
    by_cluster = {d.cluster: d for d in dumps}
    declared: set[tuple[str, str, str, str]] = set()
    meshes = []
    for mesh in plan.meshes:
        dump = by_cluster.get(mesh.cluster.name)
        if dump is None:
            continue
        meshes.append(_readiness(plan, mesh, dump))
        declared.add((dump.cluster, "ServiceMeshControlPlane", mesh.namespace,
                      mesh.control_plane_name))
        declared.add((dump.cluster, "ServiceMeshMemberRoll", mesh.namespace, "default"))
    directions = []
    for peering in plan.peerings:
        dump = by_cluster.get(peering.local.cluster.name)
        if dump is None:
            continue
        directions.append(_direction(plan, peering, dump))
        for kind in KINDS[2:]:
            declared.add((dump.cluster, kind, peering.local.namespace, peering.peer.name))
    unmanaged = [o for d in dumps for o in d.objects
                 if o.kind in KINDS and (o.cluster, *o.key) not in declared]
    return Status(plan.source.name, meshes, directions, unmanaged, [d.cluster for d in dumps])


def _list(value: Any) -> list[Any]:
    """A list from a dump, or nothing: a status field of another shape is not read."""
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _condition(obj: DumpedObject | None, kind: str) -> tuple[str, str | None]:
    """("Ready"|"not ready"|"missing"|"no status", why) from the Ready condition."""
    if obj is None:
        return "missing", f"{kind} not found"
    conditions = _list(obj.status.get("conditions"))
    ready = next((c for c in conditions if isinstance(c, dict) and c.get("type") == "Ready"),
                 None)
    if ready is None:
        return "no status", f"{kind} has no Ready condition yet ({obj.location})"
    if ready.get("status") == "True":
        return "Ready", None
    why = ": ".join(str(ready[k]) for k in ("reason", "message") if ready.get(k))
    return "not ready", f"{kind} not Ready" + (f" ({why})" if why else "")


def _readiness(plan: Plan, mesh: MeshPlan, dump: Dump) -> MeshReadiness:
    smcp = dump.find("ServiceMeshControlPlane", mesh.namespace, mesh.control_plane_name)
    smmr = dump.find("ServiceMeshMemberRoll", mesh.namespace, "default")
    cp_state, cp_why = _condition(smcp, f"ServiceMeshControlPlane {mesh.namespace}/"
                                  f"{mesh.control_plane_name}")
    mr_state, mr_why = _condition(smmr, f"ServiceMeshMemberRoll {mesh.namespace}/default")
    readiness = MeshReadiness(mesh.name, mesh.cluster.name,
                              plan.source.at(mesh.origin("name")).line, cp_state, mr_state)
    readiness.problems += [w for w in (cp_why, mr_why) if w]
    if smmr is not None:
        configured = {str(m) for m in _list(smmr.status.get("configuredMembers"))}
        missing = [m for m in mesh.members if m not in configured]
        if missing and mr_state == "Ready":
            readiness.problems.append("members not configured yet: " + ", ".join(missing))
    return readiness


def _direction(plan: Plan, peering: Peering, dump: Dump) -> Direction:
    local, peer = peering.local, peering.peer
    line = plan.source.at(peering.origin).line
    direction = Direction(local.name, peer.name, dump.cluster, peering.federation, line,
                          "missing")
    smp = dump.find("ServiceMeshPeer", local.namespace, peer.name)
    if smp is None:
        direction.problems.append(f"ServiceMeshPeer {local.namespace}/{peer.name} not found "
                                  f"on cluster {dump.cluster}")
    else:
        _discovery(direction, smp, _istiod_pods(dump, local.namespace))
    _exports(direction, peering.exports,
             dump.find("ExportedServiceSet", local.namespace, peer.name), plan)
    _imports(direction, peering.imports,
             dump.find("ImportedServiceSet", local.namespace, peer.name), plan)
    return direction


def _istiod_pods(dump: Dump, namespace: str) -> set[str] | None:
    """The names of the istiod pods in the mesh namespace, None when the dump has no Pods."""
    pods = [o for o in dump.objects if o.kind == "Pod" and o.namespace == namespace]
    if not pods:
        return None
    return {o.name for o in pods
            if _dict(_dict(o.data.get("metadata")).get("labels")).get("app") == "istiod"}


def _discovery(direction: Direction, smp: DumpedObject, running: set[str] | None) -> None:
    discovery = _dict(smp.status.get("discoveryStatus"))
    pods: dict[str, dict[str, Any]] = {}
    for state in ("active", "inactive"):
        for entry in _list(discovery.get(state)):
            if isinstance(entry, dict) and isinstance(entry.get("pod"), str):
                if running is not None and entry["pod"] not in running:
                    direction.stale.append(entry["pod"])
                    continue
                direction.pods[entry["pod"]] = state
                pods[entry["pod"]] = _dict(entry.get("watch"))
    active = [p for p, s in sorted(direction.pods.items()) if s == "active"]
    inactive = [p for p, s in sorted(direction.pods.items()) if s == "inactive"]
    watches = [pods[p] for p in sorted(pods)]
    errors = [str(w["lastDisconnectStatus"]) for w in watches if w.get("lastDisconnectStatus")]
    direction.last_error = errors[-1] if errors else None
    if active and not inactive:
        direction.state = "connected"
        direction.since = max((str(pods[p]["lastConnected"]) for p in active
                               if pods[p].get("lastConnected")), default=None)
        return
    if active:
        direction.state = "partially connected"
        direction.since = max((str(pods[p]["lastConnected"]) for p in active
                               if pods[p].get("lastConnected")), default=None)
        direction.problems.append(
            f"istiod pods not watching {direction.peer}: {', '.join(inactive)} (pods that "
            "cannot connect, or entries of pods gone since that only the leader prunes)")
        return
    ever = [w for w in watches if w.get("lastDisconnect")]
    if ever:
        direction.state = "disconnected"
        direction.since = max(str(w["lastDisconnect"]) for w in ever)
    else:
        direction.state = "never connected"
    what = "no istiod pod reported a watch yet" if not watches else \
        f"no istiod pod is connected to {direction.peer}"
    direction.problems.append(what + (f"; last error: {direction.last_error}"
                                      if direction.last_error else ""))


def _mappings(obj: DumpedObject | None, key: str) -> list[dict[str, Any]]:
    if obj is None:
        return []
    entries = _list(obj.status.get(key))
    return [e for e in entries if isinstance(e, dict)]


def _local(entry: dict[str, Any]) -> tuple[str, str]:
    local = _dict(entry.get("localService"))
    return str(local.get("namespace") or ""), str(local.get("name") or "")


def _matches(pattern: str | None, value: str) -> bool:
    return pattern in (None, "", "*") or pattern == value


def _exports(direction: Direction, rules: list[ExportRule], ess: DumpedObject | None,
             plan: Plan) -> None:
    if rules and ess is None:
        direction.problems.append(f"ExportedServiceSet {direction.peer} not found")
    seen = _mappings(ess, "exportedServices")
    for rule in rules:
        hits = [str(e.get("exportedName")) for e in seen
                if _matches(rule.namespace, _local(e)[0])
                and (rule.selector is not None or _matches(rule.name, _local(e)[1]))]
        declared = f"{rule.namespace}/{rule.name or '*'}"
        direction.exports.append(Service(declared, ", ".join(hits) or None,
                                         plan.source.at(rule.origin).line))
        if not hits and ess is not None:
            direction.problems.append(f"export {declared} to {direction.peer}: istiod exports "
                                      "no service for it (no such service, or not in a member "
                                      "namespace)")


def _exported_as(entry: dict[str, Any]) -> tuple[str, str]:
    """(namespace, name) of `<name>.<namespace>.svc.<mesh>-exports.local`."""
    parts = str(entry.get("exportedName") or "").split(".")
    return (parts[1], parts[0]) if len(parts) > 1 else ("", parts[0])


def _imports(direction: Direction, rules: list[ImportRule], iss: DumpedObject | None,
             plan: Plan) -> None:
    if rules and iss is None:
        direction.problems.append(f"ImportedServiceSet {direction.peer} not found")
    seen = _mappings(iss, "importedServices")
    matched: set[str] = set()
    for rule in rules:
        hits = [e for e in seen if _local(e)[1]
                and _matches(rule.namespace, _exported_as(e)[0])
                and _matches(rule.name, _exported_as(e)[1])]
        matched.update(str(e.get("exportedName")) for e in hits)
        declared = f"{rule.namespace}/{rule.name}"
        shown = ", ".join(str(_dict(e.get("localService")).get("hostname")) for e in hits)
        direction.imports.append(Service(declared, shown or None,
                                         plan.source.at(rule.origin).line))
        if not hits and iss is not None:
            direction.problems.append(f"import {declared} from {direction.peer}: no service "
                                      f"{direction.peer} exports is imported by it")
    direction.not_imported = sorted(str(e.get("exportedName")) for e in seen
                                    if not _local(e)[1] and str(e.get("exportedName"))
                                    not in matched)


def format_text(status: Status) -> str:
    lines = [f"{status.fleet}: clusters {', '.join(status.clusters)}"]
    for mesh in status.meshes:
        lines.append(f"mesh {mesh.mesh} ({mesh.cluster}, line {mesh.line}): control plane "
                     f"{mesh.control_plane}, member roll {mesh.member_roll}")
        lines += [f"  ! {p}" for p in mesh.problems]
    for d in status.directions:
        since = f" since {d.since}" if d.since else ""
        pods = f", pods: {len([p for p in d.pods.values() if p == 'active'])}/{len(d.pods)}" \
            " active" if d.pods else ""
        lines.append(f"{d.local} -> {d.peer} ({d.cluster}, federation {d.federation}, "
                     f"line {d.line}): {d.state}{since}{pods}")
        if d.last_error:
            lines.append(f"  last error: {d.last_error}")
        if d.stale:
            lines.append(f"  entries of istiod pods gone (the leader prunes them): "
                         f"{', '.join(sorted(d.stale))}")
        for label, services in (("export", d.exports), ("import", d.imports)):
            lines += [f"  {label} {s.rule} (line {s.line}): {s.seen or 'NOT SEEN'}"
                      for s in services]
        lines += [f"  exported by {d.peer}, not imported: {name}" for name in d.not_imported]
        lines += [f"  ! {p}" for p in d.problems]
    for obj in status.unmanaged:
        lines.append(f"unmanaged: {obj.cluster} {obj.kind} {obj.namespace}/{obj.name} "
                     f"({obj.location})")
    lines.append("healthy" if status.healthy else "NOT healthy")
    return "\n".join(lines) + "\n"


def findings(status: Status) -> list[tuple[Location, str]]:
    """Each problem at the fleet.yaml line it concerns (for annotations)."""
    found = [(Location(status.fleet, m.line, 1), f"mesh {m.mesh}: {p}")
             for m in status.meshes for p in m.problems]
    found += [(Location(status.fleet, d.line, 1), f"{d.local} -> {d.peer}: {p}")
              for d in status.directions for p in d.problems]
    return found
