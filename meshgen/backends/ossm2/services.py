"""Exports and imports: rules per peer, and every import checked against the exports."""

from __future__ import annotations

from ... import model
from ...plan.checker import Checker, did_you_mean
from ...plan.types import ExportRule, ImportRule, MeshPlan, Peering
from ...source import PathKey


class ServiceRules(Checker):
    # exports and imports -----------------------------------------------------------------------

    def _named_mesh(self, what: str, name: str, path: PathKey,
                    meshes: dict[str, MeshPlan]) -> MeshPlan | None:
        """The mesh an export or import names; None (MG031 unless already reported) when
        there is none."""
        mesh = meshes.get(name)
        if mesh is None and name not in self.unresolved:
            self.error("MG031", f'{what} names unknown mesh "{name}"', (*path, "mesh"),
                       did_you_mean(name, meshes))
        return mesh

    def exports(self, meshes: dict[str, MeshPlan],
                by_pair: dict[tuple[str, str], Peering]) -> None:
        for i, export in enumerate(self.fleet.exports):
            path: PathKey = ("exports", i)
            mesh = self._named_mesh("export", export.mesh, path, meshes)
            if mesh is None:
                continue
            if not mesh.peers and self.reported(mesh.name):
                continue
            if not mesh.peers:
                self.error("MG070", f'mesh "{mesh.name}" exports services but is not federated',
                           (*path, "mesh"), "add the mesh to a federation first")
                continue
            targets = mesh.peers
            if export.to == []:
                self.error("MG070", f'export of mesh "{mesh.name}" has an empty `to`: it '
                           "exports to no peer", (*path, "to"),
                           "leave `to` out to export to every peer, or name the peers")
            if export.to is not None:
                targets = []
                for j, peer in enumerate(export.to):
                    if peer not in mesh.peers and self.reported(mesh.name, peer):
                        continue
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
        for (local, peer), peering in sorted(by_pair.items()):
            self.check_export_aliases(local, peer, peering.exports)

    def check_export_aliases(self, local: str, peer: str, rules: list[ExportRule]) -> None:
        """Two rules that export different services under one name for the same peer."""
        seen: dict[tuple[str, str], ExportRule] = {}
        for rule in rules:
            exported = rule.exported_as
            if "*" in exported:
                continue
            first = seen.setdefault(exported, rule)
            if first is rule or (first.namespace, first.name) == (rule.namespace, rule.name):
                continue
            line = self.source.at(first.origin).line
            self.error("MG076", f'mesh "{local}" exports {rule.namespace}/{rule.name} to '
                       f'"{peer}" as {"/".join(exported)}, the name the rule at line {line} '
                       f"gives {first.namespace}/{first.name}",
                       (*rule.origin, "alias") if rule.alias_namespace or rule.alias_name
                       else rule.origin,
                       "two services would share one hostname at the peer; give one "
                       "another alias")

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
        if svc.name == "*" and alias and alias.name not in (None, "*"):
            self.error("MG076", f'the rule exports every service of "{svc.namespace}" under '
                       f'the one name "{alias.name}"', (*path, "alias", "name"),
                       "every matching service would collapse onto one hostname: export "
                       "by name to rename, or alias only the namespace")
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
            mesh = self._named_mesh("import", imp.mesh, path, meshes)
            if mesh is None:
                continue
            if imp.from_ not in mesh.peers and self.reported(mesh.name, imp.from_):
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
                if "*" in (svc.namespace, svc.name) and alias and alias.name not in (None, "*"):
                    self.error("MG076", f'the import of "{svc.namespace}/{svc.name}" from '
                               f'"{imp.from_}" gives every match the one name "{alias.name}"',
                               (*rule_path, "alias", "name"),
                               "every matching service would collapse onto one hostname: "
                               "import by name to rename, or alias only the namespace")
                wanted = (svc.namespace, svc.name)
                if not any(_provides(offered, k, wanted) for k in range(len(offered))):
                    seen = ", ".join(sorted({"/".join(r.exported_as) for r in offered}))
                    shadow = _shadowing_rule(offered, wanted)
                    hint = (f"{imp.from_} exports to {mesh.name}: {seen}" if seen else
                            f'add an export from "{imp.from_}" to "{mesh.name}"; '
                            "names here are as exported (after the export alias)")
                    if shadow is not None:
                        line = self.source.at(shadow.origin).line
                        hint = (f"the first matching export rule wins: the rule at line {line} "
                                f"exports {'/'.join(wanted)} as "
                                f"{'/'.join(shadow.exported_as)}")
                    self.error("MG074", f'"{svc.namespace}/{svc.name}" is not exported by '
                               f'"{imp.from_}" to "{mesh.name}"', rule_path, hint)
                peering.imports.append(ImportRule(
                    namespace=svc.namespace, name=svc.name,
                    alias_namespace=alias.namespace if alias else None,
                    alias_name=alias.name if alias else None,
                    as_local=svc.as_local, origin=rule_path,
                ))


def _patterns_meet(wanted: tuple[str, str], offered: tuple[str, str]) -> bool:
    return all(a == "*" or b == "*" or a == b for a, b in zip(wanted, offered, strict=True))


def _original(rule: ExportRule, wanted: tuple[str, str]) -> tuple[str, str]:
    """The (namespace, name) before export of what rule would offer as wanted."""
    namespace = rule.namespace if rule.alias_namespace not in (None, "*") or \
        rule.namespace != "*" else wanted[0]
    if rule.selector is not None or rule.alias_name in (None, "*"):
        name = rule.name if rule.name not in (None, "*") else wanted[1]
    else:
        name = rule.name or "*"
    return namespace, name


def _covers(rule: ExportRule, service: tuple[str, str]) -> bool:
    """Whether rule is sure to catch every service matching service (selector rules
    depend on labels meshgen cannot see, so they never count as sure)."""
    return rule.name is not None and rule.namespace in ("*", service[0]) and \
        rule.name in ("*", service[1])


def _provides(rules: list[ExportRule], k: int, wanted: tuple[str, str]) -> bool:
    """Whether rule k can export something the peer sees as wanted: its exported name
    meets it and no earlier rule catches the service first (first match wins)."""
    rule = rules[k]
    if not _patterns_meet(wanted, rule.exported_as):
        return False
    original = _original(rule, wanted)
    return not any(_covers(earlier, original) for earlier in rules[:k])


def _shadowing_rule(rules: list[ExportRule], wanted: tuple[str, str]) -> ExportRule | None:
    """An earlier rule that catches wanted under its original name, if that is why no
    rule provides it."""
    for k, rule in enumerate(rules):
        if _patterns_meet(wanted, rule.exported_as):
            original = _original(rule, wanted)
            return next((e for e in rules[:k] if _covers(e, original)), None)
    return None
