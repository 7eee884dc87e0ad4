"""What a change does to the generated objects: two output trees compared object by object.

A tree is {relative path: bytes}, as `compile_fleet` returns it or as it lies on disk. Its
first path component is the target (a cluster's overlay, or any other top-level folder of
generated files); each YAML document in it is an object, known by (target, kind, namespace,
name) wherever its file lies. Documents without a name (kustomization.yaml) are known by
their path. Objects are compared as data and shown in meshgen's canonical YAML, so the
generated-file header and formatting never count as changes.
"""

from __future__ import annotations

import difflib
import html
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import yaml

from .emit import dump
from .errors import FleetError, plural
from .output import read_tree as read_tree  # the tree on disk, as diff reads it
from .source import MAX_BYTES, loads

# summary order: added, removed, changed (a file that only moved counts as changed)
SIGNS = {"added": "+", "removed": "-", "modified": "~", "moved": "~"}

Key = tuple[str, str, str, str]


@dataclass(frozen=True)
class Entry:
    """One document of a tree."""

    target: str
    path: str
    kind: str
    namespace: str
    name: str
    obj: Any
    text: str

    @property
    def key(self) -> Key:
        if self.name:
            return (self.target, self.kind, self.namespace, self.name)
        return (self.target, "", "", self.path)

    @property
    def label(self) -> str:
        if not self.name:
            return f"{self.kind or 'file'} {self.path}"
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


@dataclass(frozen=True)
class Change:
    status: str  # added | removed | modified | moved
    old: Entry | None
    new: Entry | None

    @property
    def entry(self) -> Entry:
        found = self.new or self.old
        assert found is not None
        return found

    @property
    def sign(self) -> str:
        return SIGNS[self.status]

    def unified(self) -> list[str]:
        """The change as a unified diff, git style (a/… and b/… paths)."""
        old_text = self.old.text.splitlines() if self.old else []
        new_text = self.new.text.splitlines() if self.new else []
        before = f"a/{self.old.path}" if self.old else "/dev/null"
        after = f"b/{self.new.path}" if self.new else "/dev/null"
        lines = list(difflib.unified_diff(old_text, new_text, before, after, n=3, lineterm=""))
        if not lines:  # same object, another file
            lines = [f"--- {before}", f"+++ {after}"]
        return lines


@dataclass
class TreeChanges:
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0

    def __bool__(self) -> bool:
        return bool(self.changes)

    def targets(self) -> list[str]:
        return sorted({c.entry.target for c in self.changes})

    def summary(self, target: str) -> str:
        """`+2 ServiceMeshPeer, ~1 ServiceMeshControlPlane` for one target."""
        counts = Counter((c.sign, c.entry.kind or "file") for c in self.changes
                         if c.entry.target == target)
        order = list(dict.fromkeys(SIGNS.values()))
        return ", ".join(f"{sign}{n} {kind}" for (sign, kind), n in
                         sorted(counts.items(), key=lambda i: (order.index(i[0][0]), i[0][1])))

    def totals(self) -> dict[str, int]:
        counts = Counter(c.sign for c in self.changes)
        return {sign: counts.get(sign, 0) for sign in dict.fromkeys(SIGNS.values())}

    def as_dict(self) -> dict[str, Any]:
        return {
            "summary": {t: self.summary(t) for t in self.targets()},
            "unchanged": self.unchanged,
            "changes": [{
                "target": c.entry.target, "status": c.status, "kind": c.entry.kind,
                "namespace": c.entry.namespace or None, "name": c.entry.name or None,
                "path": c.new.path if c.new else c.entry.path,
                "oldPath": c.old.path if c.old else None,
                "diff": "\n".join(c.unified()),
            } for c in self.changes],
        }


def entries(files: dict[str, bytes]) -> dict[Key, Entry]:
    found: dict[Key, Entry] = {}
    for rel, data in sorted(files.items()):
        target = rel.split("/", 1)[0]
        for index, (obj, text) in enumerate(_documents(data)):
            meta = obj.get("metadata") if isinstance(obj, dict) else None
            meta = meta if isinstance(meta, dict) else {}
            entry = Entry(
                target=target, path=rel if index == 0 else f"{rel}#{index}",
                kind=str(obj.get("kind", "")) if isinstance(obj, dict) else "",
                namespace=str(meta.get("namespace") or ""), name=str(meta.get("name") or ""),
                obj=obj, text=text)
            key = entry.key
            if key in found:  # the same object twice: keep both apart, by path
                key = (target, "", "", entry.path)
            found[key] = entry
    return found


def _documents(data: bytes) -> list[tuple[Any, str]]:
    """The file's one object with its canonical text. Files may come from a tree on disk,
    so they are read like fleet files: one document, no aliases expanded, size and depth
    bounded; anything else is compared as text."""
    text = data[:MAX_BYTES + 1].decode("utf-8", "replace")
    if len(data) > MAX_BYTES:
        return [(text, text)]
    try:
        doc = loads(text, "generated file").data
    except FleetError:
        return [(text, text)]
    return [] if doc is None else [(doc, _canonical(doc))]


def _document_count(data: bytes) -> int:
    """How many objects `_documents` finds in a file: one when a line starts with a
    mapping key (the file is then a mapping, or text if it does not parse); otherwise it
    is parsed to tell an empty or null document (none) from a scalar (one)."""
    for line in data.splitlines():
        if re.match(rb"[A-Za-z_][A-Za-z0-9_.-]*:(\s|$)", line):
            return 1
    return len(_documents(data))


def _canonical(obj: Any) -> str:
    try:
        # meshgen's own emitter, without the header and document-start lines
        return dump(obj, "").decode("utf-8").split("\n", 2)[2]
    except (yaml.YAMLError, TypeError):  # keys of mixed types cannot be ordered
        return yaml.safe_dump(obj, default_flow_style=False)


def compare(old_files: dict[str, bytes], new_files: dict[str, bytes]) -> TreeChanges:
    """Object by object. A file with the same bytes at the same path on both sides holds
    the same objects there: it counts as unchanged without being parsed (parsing every
    file of two large trees was most of `diff --git`'s time). Only an object written
    twice within one tree could then be paired differently; meshgen never writes one."""
    same = {rel for rel in old_files.keys() & new_files.keys()
            if old_files[rel] == new_files[rel]}
    old = entries({rel: data for rel, data in old_files.items() if rel not in same})
    new = entries({rel: data for rel, data in new_files.items() if rel not in same})
    result = TreeChanges(unchanged=sum(_document_count(old_files[rel]) for rel in same))
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key), new.get(key)
        if before is None:
            result.changes.append(Change("added", None, after))
        elif after is None:
            result.changes.append(Change("removed", before, None))
        elif before.obj != after.obj:
            result.changes.append(Change("modified", before, after))
        elif before.path != after.path:
            result.changes.append(Change("moved", before, after))
        else:
            result.unchanged += 1
    return result


# --- presentation -----------------------------------------------------------------------------


def format_text(changes: TreeChanges, before: str, after: str) -> str:
    lines = [f"meshgen diff: {before} -> {after}"]
    if not changes:
        lines.append(f"no changes ({changes.unchanged} unchanged)")
        return "\n".join(lines)
    lines += [f"{target}: {changes.summary(target)}" for target in changes.targets()]
    totals = changes.totals()
    lines.append(f"{len(changes.changes)} changed ({totals['+']} added, {totals['-']} removed, "
                 f"{totals['~']} modified), {changes.unchanged} unchanged")
    for change in changes.changes:
        lines += ["", *change.unified()]
    return "\n".join(lines)


def format_markdown(changes: TreeChanges, before: str, after: str) -> str:
    """A pull-request comment: a summary table, then each object's diff folded away."""
    lines = ["### meshgen diff", "", f"`{after}` compared with `{before}`", ""]
    if not changes:
        lines.append(f"No changes to the generated objects ({changes.unchanged} unchanged).")
        return "\n".join(lines) + "\n"
    totals = changes.totals()
    lines += ["| target | changes |", "|---|---|"]
    lines += [f"| {target} | {changes.summary(target)} |" for target in changes.targets()]
    lines += ["", f"{plural(len(changes.changes), 'object')} changed ({totals['+']} added, "
              f"{totals['-']} removed, {totals['~']} modified), {changes.unchanged} unchanged.",
              ""]
    for change in changes.changes:
        body = "\n".join(change.unified())
        fence = "`" * max(3, _longest_backtick_run(body) + 1)
        title = html.escape(f"{change.sign} {change.entry.target}: {change.entry.label}")
        lines += [f"<details><summary>{title}</summary>", "", f"{fence}diff", body, fence, "",
                  "</details>", ""]
    return "\n".join(lines)


def _longest_backtick_run(text: str) -> int:
    return max(map(len, re.findall("`+", text)), default=0)
