"""Exports and imports: rules per peer, and every import checked against the exports."""

from __future__ import annotations

from .. import model
from ..source import PathKey
from .checker import Checker, did_you_mean
from .types import ExportRule, ImportRule, MeshPlan, Peering


class ServiceRules(Checker):
    # exports and imports -----------------------------------------------------------------------

    def exports(self, meshes: dict[str, MeshPlan],
                by_pair: dict[tuple[str, str], Peering]) -> None:
        for i, export in enumerate(self.fleet.exports):
            path: PathKey = ("exports", i)
            mesh = meshes.get(export.mesh)
            if mesh is None:
                self.error("MG031", f'export names unknown mesh "{export.mesh}"',
                           (*path, "mesh"), did_you_mean(export.mesh, meshes))
                continue
            if not mesh.peers:
                self.error("MG070", f'mesh "{mesh.name}" exports services but is not federated',
                           (*path, "mesh"), "add the mesh to a federation first")
                continue
            targets = mesh.peers
            if export.to is not None:
                targets = []
                for j, peer in enumerate(export.to):
                    if peer not in mesh.peers:
                        self.error("MG070", f'mesh "{mesh.name}" exports to "{peer}", which is '
                                   "not one of its peers", (*path, "to", j),
                                   "peers of this mesh: " + ", ".join(sorted(mesh.peers)))
                    elif peer not in targets:
                        targets.append(peer)
            rules = [r for j, svc in enumerate(export.services)
                     if (r := self.export_rule(mesh, svc, (*path, "services", j))) is not None]
            for peer in targets:
                by_pair[(mesh.name, peer)].exports.extend(rules)

    def export_rule(self, mesh: MeshPlan, svc: model.ExportedService,
                    path: PathKey) -> ExportRule | None:
        if (svc.name is None) == (svc.selector is None):
            self.error("MG072", "an exported service needs exactly one of `name` or "
                       "`selector`", path,
                       'use name: <service> (or "*"), or selector: {label: value}')
            return None
        if svc.namespace != "*" and svc.namespace not in mesh.members:
            self.error("MG071", f'namespace "{svc.namespace}" is not a member of mesh '
                       f'"{mesh.name}"', (*path, "namespace"),
                       "only services of member namespaces can be exported; members: "
                       + (", ".join(mesh.members) or "none"))
        alias = svc.alias
        if svc.selector is not None and alias and alias.name not in (None, "*"):
            self.error("MG072", "a selector rule cannot rename services to one `alias.name`",
                       (*path, "alias", "name"), "alias only the namespace, or export by name")
        return ExportRule(
            namespace=svc.namespace, name=svc.name,
            selector=dict(svc.selector) if svc.selector is not None else None,
            alias_namespace=alias.namespace if alias else None,
            alias_name=alias.name if alias else None, origin=path,
        )

    def imports(self, meshes: dict[str, MeshPlan],
                by_pair: dict[tuple[str, str], Peering]) -> None:
        for i, imp in enumerate(self.fleet.imports):
            path: PathKey = ("imports", i)
            mesh = meshes.get(imp.mesh)
            if mesh is None:
                self.error("MG031", f'import names unknown mesh "{imp.mesh}"',
                           (*path, "mesh"), did_you_mean(imp.mesh, meshes))
                continue
            if imp.from_ not in mesh.peers:
                self.error("MG073", f'mesh "{mesh.name}" imports from "{imp.from_}", which is '
                           "not one of its peers", (*path, "from"),
                           "peers of this mesh: " + (", ".join(sorted(mesh.peers)) or "none"))
                continue
            peering = by_pair[(mesh.name, imp.from_)]
            offered = by_pair[(imp.from_, mesh.name)].exports
            for j, svc in enumerate(imp.services):
                rule_path: PathKey = (*path, "services", j)
                alias = svc.alias
                if svc.as_local and (alias is None or alias.namespace in (None, "*")):
                    self.error("MG075", "`asLocal: true` needs a fixed `alias.namespace`",
                               (*rule_path, "asLocal"),
                               "name the local namespace the service merges into")
                if not any(_patterns_meet((svc.namespace, svc.name), rule.exported_as)
                           for rule in offered):
                    seen = ", ".join(sorted({"/".join(r.exported_as) for r in offered}))
                    self.error("MG074", f'"{svc.namespace}/{svc.name}" is not exported by '
                               f'"{imp.from_}" to "{mesh.name}"', rule_path,
                               f"{imp.from_} exports to {mesh.name}: {seen}" if seen else
                               f'add an export from "{imp.from_}" to "{mesh.name}"; '
                               "names here are as exported (after the export alias)")
                peering.imports.append(ImportRule(
                    namespace=svc.namespace, name=svc.name,
                    alias_namespace=alias.namespace if alias else None,
                    alias_name=alias.name if alias else None,
                    as_local=svc.as_local, origin=rule_path,
                ))


def _patterns_meet(wanted: tuple[str, str], offered: tuple[str, str]) -> bool:
    return all(a == "*" or b == "*" or a == b for a, b in zip(wanted, offered, strict=True))
