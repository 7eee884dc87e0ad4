"""`meshgen certs import`: a selfSigned mesh's root, read from the running cluster, stored
where fleet.yaml expects it (the second phase of the selfSigned flow)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from .certfiles import target_problem
from .certs import (
    CertificateProblem,
    RootCertificate,
    check_chain,
    parse_certificates,
    parse_root,
    read_pem,
)
from .errors import FleetError, Location, Problem, Problems
from .output import write_atomic
from .plan import MeshPlan, Plan
from .source import loads

ROOT_KEY = "root-cert.pem"
ISTIO_ROOT_CONFIGMAP = "istio-ca-root-cert"
MAX_INPUT = 4 * 1024 * 1024


@dataclass(frozen=True)
class RootInput(RootCertificate):
    """The root read from the input, where it stood, and the namespace of its ConfigMap
    (None for PEM input or a ConfigMap that names none)."""

    where: Location | None = None
    namespace: str | None = None
    namespace_at: Location | None = None


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
    pem, where, namespace = _pem_of(raw, name)
    try:
        root = parse_root(pem, name, now)
    except CertificateProblem as exc:
        raise FleetError(Problem(exc.code, exc.message, where, exc.hint)) from None
    return RootInput(root.pem, root.subjects, root.not_after, where, *namespace)


_NoNamespace: tuple[str | None, Location | None] = (None, None)


def _pem_of(raw: bytes, name: str
            ) -> tuple[bytes, Location, tuple[str | None, Location | None]]:
    start = Location(name, 1, 1)
    if raw.lstrip().startswith(b"-----BEGIN"):
        return raw, start, _NoNamespace
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
    metadata = data.get("metadata")
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    origin = (str(namespace), source.at((*path, "metadata", "namespace"))) \
        if namespace is not None else _NoNamespace
    return value.encode("utf-8"), source.at((*path, "data", ROOT_KEY)), origin


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
    if isinstance(root, RootInput):
        _check_input(plan, mesh, root, base_dir, where)
    target = base_dir / mesh.root_cert_path
    old = target.read_bytes() if target.is_file() else None
    new = root.pem.encode("ascii")
    if old != new:
        write_atomic(target, new)
    return Imported(mesh.name, target, root, old != new)



def _check_input(plan: Plan, mesh: MeshPlan, root: RootInput, base_dir: Path,
                 where: Location) -> None:
    """Everything that would make the import damage the fleet, all reported at once."""
    assert mesh.root_cert_path is not None
    problems = Problems()
    setting = plan.source.at(mesh.origin("rootCert"))
    if root.namespace is not None and root.namespace != mesh.namespace:
        problems.add(Problem(
            "MG122", f'the ConfigMap is from namespace "{root.namespace}", but mesh '
            f'"{mesh.name}" has its control plane in "{mesh.namespace}"',
            root.namespace_at or root.where or where,
            f"pass the output of `oc get configmap {ISTIO_ROOT_CONFIGMAP} -n {mesh.namespace} "
            "-o yaml` on the mesh's cluster"))
    if problem := target_problem(plan.source.path, mesh.root_cert_path, setting):
        problems.add(problem)
    elif other := _shares_file(plan, mesh, base_dir):
        problems.add(Problem(
            "MG125", f'"{mesh.root_cert_path}" is also {other}; importing the root of mesh '
            f'"{mesh.name}" would replace it', setting,
            f'give mesh "{mesh.name}" a file of its own, such as certs/{mesh.name}.pem'))
    if mesh.ca.plugged_in and not problems.errors:
        problems.extend(_plugged_in_problems(mesh, root, base_dir, setting))
    problems.raise_if_errors()


def _shares_file(plan: Plan, mesh: MeshPlan, base_dir: Path) -> str | None:
    """What else the fleet keeps in mesh's rootCert file, if anything."""
    assert mesh.root_cert_path is not None
    mine = (base_dir / mesh.root_cert_path).resolve()
    others: list[tuple[str | None, str]] = []
    for other in plan.meshes:
        if other.name != mesh.name:
            others.append((other.root_cert_path, f'the rootCert of mesh "{other.name}"'))
        others.append((other.ca.cert_chain_path, f'the certChain of mesh "{other.name}"'))
        others.append((other.ca.sealed_secret_path, f'the sealedSecret of mesh "{other.name}"'))
    others += [(t.root_cert_path, f'the shared root of federation "{t.federation}"')
               for t in plan.trust]
    return next((what for rel, what in others
                 if rel is not None and (base_dir / rel).resolve() == mine), None)


def _plugged_in_problems(mesh: MeshPlan, root: RootInput, base_dir: Path,
                         setting: Location) -> list[Problem]:
    """A plugged-in mesh's root belongs to its CA: the import may only store the root its
    certChain leads to, and never replace a different committed root."""
    assert mesh.root_cert_path is not None
    hint = ("a plugged-in CA's root comes from that CA (`meshgen ca init` for labs); "
            "certs import is for selfSigned meshes")
    target = base_dir / mesh.root_cert_path
    if target.is_file() and target.read_bytes() != root.pem.encode("ascii"):
        return [Problem("MG122", f'mesh "{mesh.name}" has ca.type {mesh.ca.type}, and its '
                        f'committed root "{mesh.root_cert_path}" is not the root in the input',
                        root.where or setting, hint)]
    if mesh.ca.cert_chain_path is None:
        return []
    try:
        chain = parse_certificates(read_pem(base_dir / mesh.ca.cert_chain_path),
                                   mesh.ca.cert_chain_path)
        check_chain(chain, x509.load_pem_x509_certificates(root.pem.encode("ascii")),
                    mesh.ca.cert_chain_path)
    except CertificateProblem as exc:
        return [Problem(exc.code, f"{exc.message} (the root in the input would break the "
                        "build)", root.where or setting, hint)]
    return []
