"""What adopting meshgen would change: the built objects against the dumped ones.

The dumped objects are compared as `oc apply` would see them: without their status and
the metadata the API server writes, and only the kinds the dumps carry (a Namespace or a
Subscription meshgen adds is not in an `oc get smcp,…` dump, so it is not shown as new).
"""

from __future__ import annotations

from typing import Any

from .diff import TreeChanges, compare, entries
from .dumps import Dump
from .emit import dump as emit
from .plan.types import FEDERATION_LABELS, GATEWAY_KINDS

_SERVER_METADATA = ("creationTimestamp", "generation", "resourceVersion", "uid",
                    "managedFields", "selfLink")
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _as_applied(data: dict[str, Any]) -> dict[str, Any]:
    obj = {k: v for k, v in data.items() if k != "status"}
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items()
                if k not in _SERVER_METADATA}
    found = metadata.get("annotations")
    annotations = {k: v for k, v in (found if isinstance(found, dict) else {}).items()
                   if k != _LAST_APPLIED}
    metadata.pop("annotations", None)
    if annotations:
        metadata["annotations"] = annotations
    obj["metadata"] = metadata
    return obj


def adoption_changes(dumps: list[Dump], built: dict[str, bytes]) -> TreeChanges:
    new = entries(built)
    kinds = {o.kind for d in dumps for o in d.objects}
    after = {entry.path.split("#")[0]: built[entry.path.split("#")[0]]
             for entry in new.values() if entry.kind in kinds}
    paths = {key: entry.path.split("#")[0] for key, entry in new.items()}
    before: dict[str, bytes] = {}
    for d in dumps:
        for obj in d.objects:
            if obj.kind == "Pod":
                continue
            key = (d.cluster, obj.kind, obj.namespace, obj.name)
            if obj.kind == "ConfigMap" and key not in paths:
                continue  # only the peers' root ConfigMaps are meshgen's
            rel = paths.get(key, f"{d.cluster}/dumped/{obj.kind.lower()}-{obj.namespace}-"
                                 f"{obj.name}.yaml")
            before[rel] = emit(_as_applied(obj.data), "")
    return compare(before, after)


def _missing(dumped: Any, built: Any) -> dict[str, Any]:
    """What dumped has at keys built lacks, mapping by mapping (lists are left alone:
    an smcpSpec entry may add, never replace, what meshgen generates)."""
    if not isinstance(dumped, dict) or not isinstance(built, dict):
        return {}
    extra: dict[str, Any] = {}
    for key, value in dumped.items():
        if key not in built:
            extra[key] = value
        elif inner := _missing(value, built[key]):
            extra[key] = inner
    return extra


def unmodelled_spec(dumps: list[Dump], built: dict[str, bytes]) -> dict[tuple[str, str],
                                                                          dict[str, Any]]:
    """Per (cluster, namespace), the SMCP settings of the dump the built SMCP lacks: they
    go to the mesh's smcpSpec."""
    new = entries(built)
    extras: dict[tuple[str, str], dict[str, Any]] = {}
    for d in dumps:
        for obj in d.objects:
            if obj.kind != "ServiceMeshControlPlane":
                continue
            entry = new.get((d.cluster, obj.kind, obj.namespace, obj.name))
            if entry is None or not isinstance(entry.obj, dict):
                continue
            extra = _missing(obj.data.get("spec"), entry.obj.get("spec"))
            if extra := _without_federation_gateways(extra):
                extras[(d.cluster, obj.namespace)] = extra
    return extras


def _mentions(value: Any, keys: tuple[str, ...]) -> bool:
    if isinstance(value, dict):
        return any(k in keys or _mentions(v, keys) for k, v in value.items())
    if isinstance(value, list):
        return any(_mentions(v, keys) for v in value)
    return False


def _without_federation_gateways(extra: dict[str, Any]) -> dict[str, Any]:
    """A federation gateway the fleet does not generate belongs to a peer it does not
    federate (one without its mirror): it is not the mesh's own setting (MG081 refuses
    it in smcpSpec), so the diff shows it going away instead."""
    gateways = extra.get("gateways")
    if not isinstance(gateways, dict):
        return extra
    for kind in GATEWAY_KINDS:
        named = gateways.get(kind)
        if isinstance(named, dict):
            for name in [n for n, g in named.items() if _mentions(g, FEDERATION_LABELS)]:
                del named[name]
            if not named:
                del gateways[kind]
    if not gateways:
        del extra["gateways"]
    return extra
