"""Ossm2 meshes: defaults, templates and substitution resolved into one MeshPlan per
mesh; member and namespace rules."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ... import model
from ...plan.checker import Checker, did_you_mean
from ...plan.meshes import backend_of, ca_plan, deep_merge, substitute
from ...plan.types import (
    DEFAULT_VERSION,
    MAX_MESH_NAME,
    RESERVED_NAMESPACE_PREFIXES,
    RESERVED_NAMESPACES,
    CAPlan,
    ClusterPlan,
    MeshPlan,
)
from ...source import PathKey


def _selector_matches(selector: model.ClusterSelector, labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.match_labels.items()):
        return False
    for req in selector.match_expressions:
        present = req.key in labels
        if req.operator == "In" and labels.get(req.key) not in req.values:
            return False
        if req.operator == "NotIn" and present and labels[req.key] in req.values:
            return False
        if req.operator == "Exists" and not present:
            return False
        if req.operator == "DoesNotExist" and present:
            return False
    return True


_SETTINGS = [name for name in model.MeshSettings.model_fields]


@dataclass
class _Layer:
    settings: model.MeshSettings
    path: PathKey
    variables: dict[str, str]


class MeshRules(Checker):
    # meshes -----------------------------------------------------------------------------

    def meshes(self, clusters: dict[str, ClusterPlan]) -> dict[str, MeshPlan]:
        defaults = _Layer(self.fleet.defaults, ("defaults",), {})
        # (name, cluster, where the name comes from, where the cluster comes from, layers)
        candidates: list[tuple[str, str, PathKey, PathKey, list[_Layer]]] = []
        for i, spec in enumerate(self.fleet.meshes):
            path: PathKey = ("meshes", i)
            if backend_of(spec, self.fleet.defaults) != "ossm2":
                continue  # planned by its backend (meshgen/backends/)
            if spec.cluster is None:
                self.error("MG011", f'missing required field "cluster" in meshes.{i}', path,
                           'add "cluster"')
                continue
            candidates.append((spec.name, spec.cluster, (*path, "name"), (*path, "cluster"),
                               [defaults, _Layer(spec, path, {})]))
        for i, template in enumerate(self.fleet.mesh_templates):
            path = ("meshTemplates", i)
            for cluster_name in self.template_clusters(template, path, clusters):
                name = f"{cluster_name}-{template.name}"
                variables = {"mesh": name, "cluster": cluster_name}
                candidates.append((name, cluster_name, (*path, "name"), (*path, "name"), [
                    defaults, _Layer(template.template, (*path, "template"), variables)]))

        meshes: dict[str, MeshPlan] = {}
        for name, cluster_name, path, cluster_path, layers in candidates:
            if name in meshes:
                self.error("MG023", f'mesh "{name}" is defined twice', path,
                           "mesh names must be unique in the fleet, after template expansion")
                continue
            if len(name) > MAX_MESH_NAME:
                self.error("MG021", f'mesh name "{name}" is {len(name)} characters, more than '
                           f"{MAX_MESH_NAME}", path,
                           'gateway Services are named "<mesh>-ingress" and must fit 63')
            cluster = clusters.get(cluster_name)
            if cluster is None:
                self.unresolved.add(name)
                self.error("MG030", f'mesh "{name}" names unknown cluster "{cluster_name}"',
                           cluster_path, did_you_mean(cluster_name, clusters))
                continue
            meshes[name] = self.resolve_mesh(name, cluster, path, layers)
        return meshes

    def template_clusters(self, template: model.MeshTemplate, path: PathKey,
                          clusters: dict[str, ClusterPlan]) -> list[str]:
        if (template.clusters is None) == (template.cluster_selector is None):
            self.error("MG033", f'meshTemplate "{template.name}" needs exactly one of '
                       "`clusters` or `clusterSelector`", path,
                       "list the clusters, or select them by label")
            return []
        if template.clusters is not None:
            names: list[str] = []
            for j, cluster_name in enumerate(template.clusters):
                if cluster_name not in clusters:
                    self.unresolved.add(f"{cluster_name}-{template.name}")
                    self.error("MG030", f'meshTemplate "{template.name}" names unknown '
                               f'cluster "{cluster_name}"', (*path, "clusters", j),
                               did_you_mean(cluster_name, clusters))
                elif cluster_name not in names:
                    names.append(cluster_name)
            return names
        assert template.cluster_selector is not None
        selected = [c.name for c in clusters.values()
                    if _selector_matches(template.cluster_selector, c.labels)]
        if not selected:
            self.warn("MG034", f'meshTemplate "{template.name}": clusterSelector matches no '
                      "cluster", (*path, "clusterSelector"), "check the cluster labels")
        return selected

    def resolve_mesh(self, name: str, cluster: ClusterPlan, path: PathKey,
                     layers: list[_Layer]) -> MeshPlan:
        values: dict[str, Any] = {}
        origins: dict[str, PathKey] = {"name": path}
        smcp_layers: list[PathKey] = []
        ca: dict[str, Any] = {}
        for layer in layers:
            variables = layer.variables or {"mesh": name, "cluster": cluster.name}
            for attr in sorted(layer.settings.model_fields_set & set(_SETTINGS)):
                value = getattr(layer.settings, attr)
                if value is None:
                    continue
                if isinstance(value, model.Addons):
                    value = value.model_dump(exclude_none=True)
                elif isinstance(value, model.CA):
                    value = value.model_dump(by_alias=True, exclude_unset=True)
                alias = model.MeshSettings.model_fields[attr].alias or attr
                substituted = substitute(value, variables)
                if substituted != value:
                    self.recheck(alias, substituted, layer.path)
                value = substituted
                if attr in ("ca", "root_cert"):
                    self.layer_ca(ca, origins, layer, value if attr == "ca" else
                                  {"rootCert": value}, attr == "root_cert")
                    continue
                if isinstance(value, dict) and isinstance(values.get(attr), dict):
                    value = deep_merge(values[attr], value)
                values[attr] = value
                origins[alias] = (*layer.path, alias)
                if attr == "smcp_spec":
                    smcp_layers.append(origins[alias])
        return MeshPlan(
            name=name, cluster=cluster,
            namespace=values.get("namespace", name),
            control_plane_name=values.get("control_plane_name", name),
            version=values.get("version", DEFAULT_VERSION),
            profiles=tuple(values.get("profiles", ["default"])),
            trust_domain=values.get("trust_domain", f"{name}.local"),
            members=tuple(values.get("members", [])),
            addons=values.get("addons", {}),
            root_cert_path=ca.get("rootCert"),
            smcp_spec=values.get("smcp_spec", {}),
            gateway_naming=values.get("gateway_naming", "suffix"),
            dns_capture=values.get("dns_capture", False),
            origins=origins, smcp_layers=tuple(smcp_layers),
            ca=self.ca_plan(ca),
        )

    def ca_plan(self, ca: dict[str, Any]) -> CAPlan:
        try:
            return ca_plan(model.CA.model_validate(ca))
        except ValidationError:
            return CAPlan()  # a substituted value is invalid; recheck has reported it

    def layer_ca(self, ca: dict[str, Any], origins: dict[str, PathKey], layer: _Layer,
                 settings: dict[str, Any], shorthand: bool) -> None:
        """Lay one layer's `ca` (or its `rootCert` shorthand) over the earlier layers'; each
        key replaces the earlier value whole (a `secret` is never half one kind and half
        another)."""
        ca_path: PathKey = (*layer.path, "ca")
        if shorthand and layer.settings.ca is not None \
                and "root_cert" in layer.settings.ca.model_fields_set:
            self.error("MG057", "both `rootCert` and `ca.rootCert` are set",
                       (*ca_path, "rootCert"), "`rootCert` is shorthand for `ca.rootCert`; "
                       "keep one of them")
            return
        for key, value in settings.items():
            ca[key] = value
            origins["rootCert" if key == "rootCert" else f"ca.{key}"] = \
                (*layer.path, "rootCert") if shorthand else (*ca_path, key)
        if not shorthand:
            origins["ca"] = ca_path

    def recheck(self, alias: str, value: Any, path: PathKey) -> None:
        """Validate a setting again once "{mesh}"/"{cluster}" are substituted."""
        try:
            model.MeshSettings.model_validate({alias: value})
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                self.problems.add(model.pydantic_problem(error, self.source, path))

    def check_mesh(self, mesh: MeshPlan) -> None:
        seen: set[str] = set()
        for j, member in enumerate(mesh.members):
            member_path = (*mesh.origin("members"), j)
            if member in seen:
                self.error("MG063", f'mesh "{mesh.name}" lists member "{member}" twice',
                           member_path, "remove the duplicate")
            seen.add(member)
            if member == mesh.namespace:
                self.error("MG061", f'namespace "{member}" is the control-plane namespace of '
                           f'mesh "{mesh.name}" and cannot also be its member', member_path,
                           "workloads go into member namespaces of their own")
            if member in RESERVED_NAMESPACES or member.startswith(RESERVED_NAMESPACE_PREFIXES):
                self.error("MG062", f'namespace "{member}" can never be a mesh member',
                           member_path, "the operator always excludes default, kube, "
                           "openshift and kube-*, openshift-*, ibm-* namespaces")
        if mesh.addons.get("kiali") and mesh.addons.get("prometheus") is False:
            self.error("MG047", f'mesh "{mesh.name}": Kiali needs Prometheus',
                       mesh.origin("addons"), "enable addons.prometheus or disable kiali")

    def check_namespaces(self, meshes: Iterable[MeshPlan]) -> None:
        owners: dict[tuple[str, str], tuple[MeshPlan, str]] = {}
        for mesh in meshes:
            claims = [(mesh.namespace, "control plane", mesh.origin("namespace"))]
            claims += [(m, "member", (*mesh.origin("members"), j))
                       for j, m in enumerate(mesh.members)]
            for namespace, role, path in claims:
                key = (mesh.cluster.name, namespace)
                if key not in owners:
                    owners[key] = (mesh, role)
                    continue
                other, other_role = owners[key]
                if other is mesh:
                    continue
                code = "MG061" if "control plane" in (role, other_role) and role != other_role \
                    else "MG060"
                self.error(code, f'namespace "{namespace}" on cluster "{mesh.cluster.name}" is '
                           f'the {role} namespace of mesh "{mesh.name}" and already the '
                           f'{other_role} namespace of mesh "{other.name}"', path,
                           "a namespace belongs to at most one mesh per cluster")
