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

_SERVER_METADATA = ("creationTimestamp", "generation", "resourceVersion", "uid",
                    "managedFields", "selfLink")
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _as_applied(data: dict[str, Any]) -> dict[str, Any]:
    obj = {k: v for k, v in data.items() if k != "status"}
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items()
                if k not in _SERVER_METADATA}
    annotations = {k: v for k, v in (metadata.get("annotations") or {}).items()
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
