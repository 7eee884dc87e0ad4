"""Documents -> files: canonical YAML, one object per file, stable paths."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .emit_reference import FIRST_KEYS, canonical_keys
from .outtree import HEADER_PREFIX
from .render import Document
from .source import path_text
from .workers import map_in_order, worker_count
from .yamlwriter import YamlWriter

if TYPE_CHECKING:
    from .deliver import Bundle

__all__ = ["FIRST_KEYS", "HEADER_PREFIX", "canonical_keys", "dump", "emit"]

_writer = YamlWriter()  # for single dumps (diff, adopt); a build uses its own


def header(source_name: str) -> str:
    return f"{HEADER_PREFIX}{path_text(source_name)}. DO NOT EDIT.\n"


def dump(obj: Any, source_name: str, writer: YamlWriter | None = None) -> bytes:
    body = (writer or _writer).text(obj)
    return (header(source_name) + "---\n" + body).encode("utf-8")


def document_path(doc: Document) -> str:
    """Where an object lives inside its cluster's overlay (POSIX, relative)."""
    file_name = object_file(doc.obj)
    if doc.namespace is None:
        return f"namespaces/{doc.name}.yaml" if doc.kind == "Namespace" else \
            f"cluster/{file_name}"
    return f"namespaces/{doc.namespace}/{file_name}"


def kustomization(resources: Iterable[str]) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": sorted(resources),
    }


def component(patches: Iterable[str]) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1alpha1",
        "kind": "Component",
        "patches": [{"path": p} for p in sorted(patches)],
    }


def object_file(obj: dict[str, Any]) -> str:
    return f"{str(obj['kind']).lower()}-{obj['metadata']['name']}.yaml"


def emit_bundle(bundle: Bundle, source_name: str,
                writer: YamlWriter | None = None) -> dict[str, bytes]:
    writer = writer or YamlWriter()
    files = {f"{bundle.directory}/{object_file(obj)}": dump(obj, source_name, writer)
             for obj in bundle.objects}
    if len(files) != len(bundle.objects):
        raise ValueError(f"two objects of {bundle.directory} map to one file")
    names = [rel.rsplit("/", 1)[1] for rel in files]
    index = component(names) if bundle.component else kustomization(names)
    files[f"{bundle.directory}/kustomization.yaml"] = dump(index, source_name, writer)
    return files


def emit_cluster(cluster: str, documents: Sequence[Document], source_name: str,
                 writer: YamlWriter, workers: int | None = None) -> dict[str, bytes]:
    """The files of one cluster's overlay: its objects and its kustomization. workers:
    processes that write the objects' YAML (None: MESHGEN_WORKERS, or one); the bytes are
    the same whatever their number."""
    texts = map_in_order(lambda doc: dump(doc.obj, source_name, writer), documents,
                         worker_count(len(documents), workers))
    files: dict[str, bytes] = {}
    resources: list[str] = []
    for doc, text in zip(documents, texts, strict=True):
        if doc.cluster != cluster:
            raise ValueError(f"an object of {doc.cluster} among those of {cluster}")
        rel = document_path(doc)
        path = f"{cluster}/{rel}"
        if path in files:
            raise ValueError(f"two objects map to {path}")
        files[path] = text
        resources.append(rel)
    files[f"{cluster}/kustomization.yaml"] = dump(kustomization(resources), source_name,
                                                  writer)
    return files


def emit(documents: Iterable[Document], clusters: Iterable[str],
         source_name: str, bundles: Iterable[Bundle] = (),
         workers: int | None = None) -> dict[str, bytes]:
    """Every file of the output tree, keyed by POSIX path relative to the output root
    (a build emits cluster by cluster: emit_cluster)."""
    by_cluster: dict[str, list[Document]] = {c: [] for c in clusters}
    for doc in documents:
        by_cluster[doc.cluster].append(doc)
    writer = YamlWriter()
    files: dict[str, bytes] = {}
    for cluster, docs in by_cluster.items():
        files.update(emit_cluster(cluster, docs, source_name, writer, workers))
    for bundle in bundles:
        files.update(emit_bundle(bundle, source_name, writer))
    return dict(sorted(files.items()))
