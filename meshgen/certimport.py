"""`meshgen certs import`: a selfSigned mesh's root, read from the running cluster, stored
where fleet.yaml expects it (the second phase of the selfSigned flow)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .certs import CertificateProblem, RootCertificate, parse_root
from .errors import FleetError, Location, Problem
from .output import write_atomic
from .plan import Plan
from .source import loads

ROOT_KEY = "root-cert.pem"
ISTIO_ROOT_CONFIGMAP = "istio-ca-root-cert"
MAX_INPUT = 4 * 1024 * 1024


@dataclass(frozen=True)
class Imported:
    mesh: str
    path: Path  # where the root was stored
    root: RootCertificate
    changed: bool


def read_input(raw: bytes, name: str, now: datetime.datetime | None = None) -> RootCertificate:
    """The root in `oc get configmap istio-ca-root-cert -o yaml|json` output, or in a PEM
    file; located problems otherwise."""
    if len(raw) > MAX_INPUT:
        raise FleetError(Problem("MG122", f"{name} is larger than {MAX_INPUT} bytes",
                                 Location(name, 1, 1), "pass the ConfigMap or the PEM file"))
    pem, where = _pem_of(raw, name)
    try:
        return parse_root(pem, name, now)
    except CertificateProblem as exc:
        raise FleetError(Problem(exc.code, exc.message, where, exc.hint)) from None


def _pem_of(raw: bytes, name: str) -> tuple[bytes, Location]:
    start = Location(name, 1, 1)
    if raw.lstrip().startswith(b"-----BEGIN"):
        return raw, start
    try:
        source = loads(raw.decode("utf-8"), name)
    except (FleetError, UnicodeDecodeError):
        raise FleetError(Problem(
            "MG122", f"{name} is neither a ConfigMap (YAML or JSON) nor a PEM file",
            start, f"pass the output of `oc get configmap {ISTIO_ROOT_CONFIGMAP} -n <namespace> "
            "-o yaml`, or the root certificate as PEM")) from None
    data: Any = source.data
    path: tuple[str | int, ...] = ()
    if isinstance(data, dict) and data.get("kind") == "List":
        # `oc get configmap -o yaml` without a name lists every ConfigMap of the namespace
        items = data.get("items")
        found = [(i, item) for i, item in enumerate(items if isinstance(items, list) else [])
                 if _holds_root(item)]
        named = [(i, item) for i, item in found
                 if item["metadata"].get("name") == ISTIO_ROOT_CONFIGMAP]
        if named or found:
            i, data = (named or found)[0]
            path = ("items", i)
    value = data.get("data", {}).get(ROOT_KEY) if isinstance(data, dict) and \
        isinstance(data.get("data"), dict) else None
    if not isinstance(data, dict) or data.get("kind") != "ConfigMap" or \
            not isinstance(value, str):
        raise FleetError(Problem(
            "MG122", f"{name} is not a ConfigMap with a `{ROOT_KEY}` key", source.at(path),
            f"pass the output of `oc get configmap {ISTIO_ROOT_CONFIGMAP} -n <namespace> "
            "-o yaml` from the mesh's control-plane namespace"))
    return value.encode("utf-8"), source.at((*path, "data", ROOT_KEY))


def _holds_root(item: Any) -> bool:
    return isinstance(item, dict) and item.get("kind") == "ConfigMap" and \
        isinstance(item.get("metadata"), dict) and isinstance(item.get("data"), dict) and \
        isinstance(item["data"].get(ROOT_KEY), str)


def import_root(plan: Plan, base_dir: Path, mesh_name: str, root: RootCertificate
                ) -> Imported:
    """Store root at mesh_name's rootCert path (relative to base_dir, fleet.yaml's folder)."""
    mesh = plan.named(mesh_name)
    where = plan.source.at(mesh.origin("name"))
    if mesh.ca.shared_by is not None:
        raise FleetError(Problem(
            "MG122", f'mesh "{mesh.name}" chains to the shared root of federation '
            f'"{mesh.ca.shared_by}"; its peers trust that root, not one of its own', where,
            "update the federation's trust.rootCert instead"))
    if mesh.root_cert_path is None:
        raise FleetError(Problem(
            "MG122", f'mesh "{mesh.name}" has no `rootCert` to import its root to', where,
            f"add `rootCert: certs/{mesh.name}.pem` to the mesh, then run the import again"))
    target = base_dir / mesh.root_cert_path
    old = target.read_bytes() if target.is_file() else None
    new = root.pem.encode("ascii")
    if old != new:
        write_atomic(target, new)
    return Imported(mesh.name, target, root, old != new)

