"""Checks of a built output tree: real kustomize, yamllint, and CRD schemas."""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from . import kustomize
from .backends.istio.schemas import CORE_SCHEMAS as ISTIO_CORE_SCHEMAS
from .errors import plural
from .yamlc import SafeLoader

# Keep in step with the repository's .yamllint (a test compares them).
YAMLLINT_CONFIG = """\
# yamllint configuration for meshgen's generated overlays (meshgen/verify.py holds the same).
extends: default
rules:
  document-start: {present: true}
  # Sequences are written the way kubectl writes them: not indented under their key.
  indentation: {spaces: 2, indent-sequences: false}
  # Generated identifiers (clientIDs, hostnames) cannot be folded.
  line-length: disable
"""

_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": _DNS_SUBDOMAIN, "maxLength": 253},
        "namespace": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                      "maxLength": 63},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        # kubeseal writes `creationTimestamp: null` into the SealedSecrets meshgen includes
        "creationTimestamp": {"type": ["string", "null"]},
    },
    "additionalProperties": False,
}
# Core kinds have no CRD; these schemas hold what meshgen may write for them.
CORE_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("v1", "Namespace"): {
        "type": "object", "required": ["apiVersion", "kind", "metadata"],
        "properties": {"apiVersion": {}, "kind": {}, "metadata": {}},
        "additionalProperties": False,
    },
    ("v1", "ConfigMap"): {
        "type": "object", "required": ["apiVersion", "kind", "metadata"],
        "properties": {"apiVersion": {}, "kind": {}, "metadata": {},
                       "data": {"type": "object",
                                "propertyNames": {"pattern": r"^[-._a-zA-Z0-9]+$"},
                                "additionalProperties": {"type": "string"}}},
        "additionalProperties": False,
    },
    **ISTIO_CORE_SCHEMAS,
}


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    objects: int = 0
    overlays: int = 0
    delivery: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def strict_schema(schema: Any) -> Any:
    """A CRD's OpenAPI schema as JSON Schema that also refuses unknown fields
    (the API server would silently prune them, hiding typos)."""
    if isinstance(schema, list):
        return [strict_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    # "description" is dropped where it annotates a schema (a string), not where it is
    # the name of a field (a schema, inside "properties")
    result = {k: strict_schema(v) for k, v in schema.items()
              if k != "x-kubernetes-int-or-string"
              and not (k == "description" and isinstance(v, str))}
    if schema.get("x-kubernetes-int-or-string"):
        result.pop("type", None)
        result["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable"):
        kind = result.get("type")
        if isinstance(kind, str):
            result["type"] = [kind, "null"]
    if ("properties" in schema and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")):
        result["additionalProperties"] = False
    return result


class SchemaSet:
    """CRD schemas by (apiVersion, kind), read from every CRD file under a directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.schemas: dict[tuple[str, str], dict[str, Any]] = dict(CORE_SCHEMAS)
        for path in sorted(directory.rglob("*.yaml")):
            with path.open() as handle:
                for doc in yaml.load_all(handle, Loader=SafeLoader):
                    self._add(doc)
        self._validators: dict[tuple[str, str], jsonschema.protocols.Validator] = {}

    def _add(self, doc: Any) -> None:
        if isinstance(doc, dict) and doc.get("kind") == "List":
            # what `oc get crd A B -o yaml` prints: kubectl wraps several objects in a v1 List
            # (kubernetes/kubernetes, staging/src/k8s.io/kubectl/pkg/cmd/get/get.go, master)
            for item in doc.get("items") or []:
                self._add(item)
            return
        if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
            return
        spec = doc["spec"]
        for version in spec.get("versions", []):
            schema = version.get("schema", {}).get("openAPIV3Schema")
            if schema:
                key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                self.schemas[key] = schema

    def validator(self, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
        key = (api_version, kind)
        if key not in self.schemas:
            return None
        if key not in self._validators:
            schema = strict_schema(copy.deepcopy(self.schemas[key]))
            schema.setdefault("properties", {})["metadata"] = _METADATA
            # Istio's CRD schemas describe spec and status only
            for field_name in ("apiVersion", "kind"):
                schema["properties"].setdefault(field_name, {"type": "string"})
            self._validators[key] = jsonschema.Draft202012Validator(schema)
        return self._validators[key]

    def errors(self, obj: dict[str, Any]) -> Iterator[str]:
        validator = self.validator(str(obj.get("apiVersion")), str(obj.get("kind")))
        if validator is None:
            yield f"no schema for {obj.get('apiVersion')} {obj.get('kind')} in {self.directory}"
            return
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
            where = ".".join(str(p) for p in error.absolute_path) or "(root)"
            yield f"{where}: {error.message}"


def lint(files: dict[str, bytes]) -> Iterator[str]:
    config = YamlLintConfig(YAMLLINT_CONFIG)
    for rel, data in sorted(files.items()):
        for problem in linter.run(data.decode("utf-8"), config):
            yield f"{rel}:{problem.line}:{problem.column}: yamllint {problem.level}: " \
                  f"{problem.message}"


def _describe(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata", {})
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {ns}{meta.get('name')}"


def kustomization_dirs(files: dict[str, bytes]) -> list[str]:
    return sorted(rel.rpartition("/")[0] for rel in files
                  if rel.rpartition("/")[2] == "kustomization.yaml")


def _owner(rel: str, roots: list[str]) -> str | None:
    """The kustomization directory nearest above a file."""
    parts = rel.split("/")[:-1]
    while parts:
        candidate = "/".join(parts)
        if candidate in roots:
            return candidate
        parts.pop()
    return None


def _is_component(data: bytes) -> bool:
    docs = [d for d in yaml.load_all(data, Loader=SafeLoader) if d]
    return bool(docs) and docs[0].get("kind") == "Component"


def build_component(out: Path, directory: str, files: dict[str, bytes]) -> str:
    """Apply a component to stand-ins of the objects it patches (identity only), the way
    a user's own kustomization would include it."""
    index = yaml.load(files[f"{directory}/kustomization.yaml"], Loader=SafeLoader)
    stubs = []
    for patch in index.get("patches", []):
        target = yaml.load(files[f"{directory}/{patch['path']}"], Loader=SafeLoader)
        meta = target["metadata"]
        stubs.append({"apiVersion": target["apiVersion"], "kind": target["kind"],
                      "metadata": {k: meta[k] for k in ("name", "namespace") if k in meta}})
    with tempfile.TemporaryDirectory(prefix="meshgen-component-") as tmp:
        harness = Path(tmp)
        (harness / "targets.yaml").write_text(yaml.safe_dump_all(stubs))
        root = (out / directory).resolve()
        relative = Path(os.path.relpath(root, harness.resolve())).as_posix()
        (harness / "kustomization.yaml").write_text(yaml.safe_dump(
            {"resources": ["targets.yaml"], "components": [relative]}))
        return kustomize.build(harness)


def verify_tree(out: Path, files: dict[str, bytes], schemas: SchemaSet | None) -> Report:
    """kustomize-build every kustomization in out (each cluster overlay, each delivery
    directory, each component applied to stand-ins), lint every file, check every object."""
    report = Report()
    report.problems.extend(lint(files))
    roots = kustomization_dirs(files)
    expected: dict[str, int] = dict.fromkeys(roots, 0)
    for rel in files:
        owner = _owner(rel, roots)
        if owner is not None and not rel.endswith("/kustomization.yaml"):
            expected[owner] += 1
    for root in roots:
        if "/" in root:
            report.delivery += 1
        else:
            report.overlays += 1
        try:
            if _is_component(files[f"{root}/kustomization.yaml"]):
                stream = build_component(out, root, files)
            else:
                stream = kustomize.build(out / root)
        except kustomize.KustomizeFailed as exc:
            report.problems.append(f"{root}: {exc}")
            continue
        built = [d for d in yaml.load_all(stream, Loader=SafeLoader) if d]
        if len(built) != expected[root]:
            report.problems.append(f"{root}: kustomize built {plural(len(built), 'object')}, "
                                   f"the directory has {plural(expected[root], 'file')}")
        for obj in built:
            report.objects += 1
            if schemas is not None:
                report.problems.extend(f"{root}: {_describe(obj)}: {message}"
                                       for message in schemas.errors(obj))
    return report
