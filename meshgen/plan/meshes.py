"""What every backend's meshes share: the clusters, layered settings ("{mesh}"/"{cluster}"
substitution, deep merge), a mesh's backend and its CA settings. Each backend resolves its
meshes from these (meshgen/backends/*/)."""

from __future__ import annotations

import copy
from typing import Any

from .. import model
from ..source import PathKey
from .checker import Checker
from .types import CAPlan, ClusterPlan, ExternalSecretPlan


def substitute(value: Any, variables: dict[str, str]) -> Any:
    """Replace "{mesh}" and "{cluster}" in every string of a template value."""
    if isinstance(value, str):
        for key, replacement in variables.items():
            value = value.replace("{" + key + "}", replacement)
        return value
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, variables) for k, v in value.items()}
    return value


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class ClusterRules(Checker):
    # clusters ---------------------------------------------------------------------------

    def clusters(self) -> dict[str, ClusterPlan]:
        result: dict[str, ClusterPlan] = {}
        for i, cluster in enumerate(self.fleet.clusters):
            path: PathKey = ("clusters", i)
            if cluster.name in result:
                self.error("MG022", f'cluster "{cluster.name}" is defined twice',
                           (*path, "name"), "cluster names must be unique")
                continue
            ingress = cluster.ingress
            if ingress and ingress.type == "LoadBalancer" and not ingress.domain:
                self.error("MG032", f'cluster "{cluster.name}": a LoadBalancer ingress needs '
                           "a `domain`", (*path, "ingress"),
                           "peers reach gateways here at <gateway>.<namespace>.<domain>")
            if ingress and ingress.type == "Submariner" and ingress.domain:
                self.error("MG032", f'cluster "{cluster.name}": `domain` is only for '
                           "LoadBalancer ingress", (*path, "ingress", "domain"),
                           "Submariner peers use <gateway>.<namespace>.svc.clusterset.local")
            submariner = bool(ingress and ingress.type == "Submariner")
            clusterset = ingress.clusterset if ingress else None
            if submariner and clusterset is False:
                self.error("MG032", f'cluster "{cluster.name}": a Submariner ingress needs the '
                           "cluster in the clusterset", (*path, "ingress", "clusterset"),
                           "remove `clusterset: false`, or give the cluster a LoadBalancer "
                           "ingress")
            if submariner and ingress and ingress.annotations:
                self.warn("MG038", f'cluster "{cluster.name}": ingress annotations are for '
                          "LoadBalancer Services; this cluster's gateways are ClusterIP "
                          "Services exported over Submariner", (*path, "ingress", "annotations"),
                          "remove the annotations, or use `type: LoadBalancer`")
            result[cluster.name] = ClusterPlan(
                name=cluster.name, labels=dict(cluster.labels),
                ingress_type=ingress.type if ingress else None,
                domain=ingress.domain if ingress else None,
                annotations=dict(ingress.annotations) if ingress else {}, origin=path,
                clusterset=submariner if clusterset is None else clusterset,
            )
        return result


def backend_of(spec: model.MeshSettings, defaults: model.MeshSettings) -> str:
    return spec.backend or defaults.backend or "ossm2"


def ca_plan(ca: model.CA) -> CAPlan:
    secret = ca.secret
    external = secret.external_secret if secret else None
    return CAPlan(
        type=ca.type,
        cert_chain_path=ca.cert_chain,
        external_secret=ExternalSecretPlan(
            external.store, external.store_kind, external.path, external.refresh_interval)
        if external else None,
        sealed_secret_path=secret.sealed_secret if secret else None,
        out_of_band=bool(secret and secret.none is not None),
        issuer_name=ca.issuer.name if ca.issuer else None,
        issuer_kind=ca.issuer.kind if ca.issuer else None,
    )
