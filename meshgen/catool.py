"""An offline CA for labs and tests: `meshgen ca init` makes the roots and per-mesh
intermediate CAs a fleet's plugged-in meshes need, `meshgen ca secret` prints a mesh's
`cacerts` Secret. Keys stay in the CA directory (mode 0600, git-ignored); only public
certificates go where fleet.yaml expects them.

    <dir>/roots/<federation-NAME | file-ROOTCERT-PATH | mesh-NAME>/{root-cert.pem, root-key.pem}
    <dir>/meshes/<mesh>/{ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem}
    <dir>/meshes/<istio mesh>/<primary cluster>/{the same four files}

An istio mesh has one root and one intermediate per primary cluster (its istiod's CA).
"""

from __future__ import annotations

import base64
import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from .backends.istio.types import IstioMeshPlan
from .ca import (
    PrivateKey,
    certificate_pem,
    issue_intermediate,
    make_certificate,
    private_key_pem,
)
from .certfiles import target_problem
from .certs import UNREADABLE, signed_by
from .defaults import KeyType
from .errors import FleetError, Location, Problem, Problems
from .output import write_atomic
from .plan import CACERTS, CACERTS_KEYS, MeshPlan, Plan, shared_trust

GITIGNORE = "# meshgen ca init: private keys; never commit this directory\n*\n"


@dataclass
class RootCA:
    """A root the CA directory holds (made now or earlier) and the public file for it."""

    ident: str  # mesh-<name> or federation-<name>
    cert: x509.Certificate
    key: PrivateKey
    public: Path | None  # where fleet.yaml expects its public certificate
    made: bool


@dataclass
class Intermediate:
    mesh: MeshPlan | IstioMeshPlan
    root: RootCA
    cert: x509.Certificate
    key: PrivateKey
    made: bool
    chain_public: Path | None = None
    cluster: str | None = None  # the primary cluster of an istio mesh

    @property
    def directory(self) -> str:
        """Where it lives under <dir>/meshes/."""
        return f"{self.mesh.name}/{self.cluster}" if self.cluster else self.mesh.name

    @property
    def files(self) -> dict[str, bytes]:
        """The `cacerts` files: istiod's plugged-in CA layout."""
        ca_cert = certificate_pem(self.cert).encode()
        root = certificate_pem(self.root.cert).encode()
        return {"ca-cert.pem": ca_cert, "ca-key.pem": private_key_pem(self.key),
                "root-cert.pem": root, "cert-chain.pem": ca_cert + root}


@dataclass
class CAInit:
    roots: list[RootCA] = field(default_factory=list)
    intermediates: list[Intermediate] = field(default_factory=list)
    public_written: list[Path] = field(default_factory=list)
    issuers: list[tuple[MeshPlan | IstioMeshPlan, RootCA]] = field(default_factory=list)


def root_ident(mesh: MeshPlan) -> str:
    """The CA directory's name for the root mesh chains to: one per shared federation, one
    per public root file (meshes naming the same file share its root), else the mesh's."""
    if mesh.ca.shared_by:
        return f"federation-{mesh.ca.shared_by}"
    if mesh.root_cert_path:
        stem = str(PurePosixPath(mesh.root_cert_path).with_suffix(""))
        return "file-" + re.sub(r"[^A-Za-z0-9]+", "-", stem).strip("-")
    return f"mesh-{mesh.name}"


def init_ca(plan: Plan, base_dir: Path, ca_dir: Path, out: Path, *, key_type: KeyType,
            root_days: int, days: int, organization: str) -> CAInit:
    """Make (or reuse) every root and plugin intermediate the fleet needs; write keys into
    ca_dir and public certificates where fleet.yaml names them. Checks everything before
    writing anything."""
    _refuse_inside(ca_dir, out)
    result = CAInit()
    roots: dict[str, RootCA] = {}
    for mesh in plan.meshes:
        if not mesh.ca.plugged_in:
            continue
        ident = root_ident(mesh)
        if ident not in roots:
            shared = shared_trust(mesh, plan.trust)
            public_rel = shared.root_cert_path if shared else mesh.root_cert_path
            roots[ident] = _root(ca_dir / "roots" / ident, ident, organization, key_type,
                                 root_days, base_dir / public_rel if public_rel else None)
            result.roots.append(roots[ident])
        if mesh.ca.type == "certManager":
            result.issuers.append((mesh, roots[ident]))
            continue
        result.intermediates.append(_intermediate(
            ca_dir / "meshes" / mesh.name, mesh, roots[ident], organization, key_type, days,
            base_dir / mesh.ca.cert_chain_path if mesh.ca.cert_chain_path else None))
    for istio in plan.istio:
        _istio_mesh(istio, ca_dir, result, organization, key_type, root_days, days)
    roots_public, chains_public = _public_files(result)
    _refuse_targets(plan, base_dir, result)
    _refuse_conflicts(roots_public)
    _write_ca_dir(ca_dir, result)
    for path, data in {**roots_public, **chains_public}.items():
        if not path.is_file() or path.read_bytes() != data:
            write_atomic(path, data)
            result.public_written.append(path)
    return result


def _istio_mesh(mesh: IstioMeshPlan, ca_dir: Path, result: CAInit, organization: str,
                key_type: KeyType, root_days: int, days: int) -> None:
    """One root per istio mesh; a plugin mesh's intermediate per primary cluster."""
    if not mesh.ca.plugged_in:
        return
    ident = f"mesh-{mesh.name}"
    root = _root(ca_dir / "roots" / ident, ident, organization, key_type, root_days, None)
    result.roots.append(root)
    if mesh.ca.type == "certManager":
        result.issuers.append((mesh, root))
        return
    for primary in mesh.primaries:
        intermediate = _intermediate(ca_dir / "meshes" / mesh.name / primary.name, mesh, root,
                                     organization, key_type, days, None, primary.name)
        result.intermediates.append(intermediate)


def _refuse_targets(plan: Plan, base_dir: Path, result: CAInit) -> None:
    """Every public file goes inside the fleet's repository, never over the fleet file or
    anything but certificates, and no file is both a root and a chain (or two chains)."""
    problems = Problems()
    seen: dict[Path, str] = {}
    for path, what, where in _public_settings(plan, result):
        rel = path.relative_to(base_dir).as_posix()
        if problem := target_problem(plan.source.path, rel, where):
            problems.add(problem)
            continue
        resolved = path.resolve()
        if resolved in seen and seen[resolved] != what:
            problems.add(Problem("MG125", f'"{rel}" would hold both {seen[resolved]} and '
                                 f"{what}", where, "give each certificate file one purpose"))
        seen.setdefault(resolved, what)
    problems.raise_if_errors()


def _public_settings(plan: Plan, result: CAInit) -> list[tuple[Path, str, Location]]:
    """(public file, what it holds, the fleet.yaml setting naming it) for every file."""
    found: list[tuple[Path, str, Location]] = []
    by_ident = {r.ident: r for r in result.roots}
    for mesh in plan.meshes:
        if not mesh.ca.plugged_in:
            continue
        root = by_ident[root_ident(mesh)]
        shared = shared_trust(mesh, plan.trust)
        if root.public is not None:
            setting = (*shared.origin, "rootCert") if shared and shared.root_cert_path \
                else mesh.origin("rootCert")
            found.append((root.public, f"the root {root.ident}", plan.source.at(setting)))
    for intermediate in result.intermediates:
        if intermediate.chain_public is not None:
            owner = intermediate.mesh
            found.append((intermediate.chain_public, f'the chain of mesh "{owner.name}"',
                          plan.source.at(owner.origins.get("ca.certChain",
                                                           owner.origin("name")))))
    return found


def _refuse_inside(ca_dir: Path, out: Path) -> None:
    ca, output = ca_dir.resolve(), out.resolve()
    if ca == output or output in ca.parents or ca in output.parents:
        raise FleetError(Problem(
            "MG123", f"the CA directory {ca_dir} and the output directory {out} overlap",
            Location(str(ca_dir), 0, 0),
            "keep private keys out of the generated tree: use the default .meshgen/ca "
            "or another --dir outside --out"))


def _root(directory: Path, ident: str, organization: str, key_type: KeyType, days: int,
          public: Path | None) -> RootCA:
    cert_file, key_file = directory / "root-cert.pem", directory / "root-key.pem"
    if cert_file.is_file() and key_file.is_file():
        cert, key = _load_pair(cert_file, key_file)
        return RootCA(ident, cert, key, public, made=False)
    cert, key = make_certificate(f"{ident} root CA", days=days, organization=organization,
                                 key_type=key_type)
    return RootCA(ident, cert, key, public, made=True)


def _intermediate(directory: Path, mesh: MeshPlan | IstioMeshPlan, root: RootCA,
                  organization: str, key_type: KeyType, days: int, chain_public: Path | None,
                  cluster: str | None = None) -> Intermediate:
    cert_file, key_file = directory / "ca-cert.pem", directory / "ca-key.pem"
    if cert_file.is_file() and key_file.is_file():
        cert, key = _load_pair(cert_file, key_file)
        if signed_by(cert, root.cert):
            return Intermediate(mesh, root, cert, key, False, chain_public, cluster)
    name = f"{mesh.name} {cluster}" if cluster else mesh.name
    cert, key = issue_intermediate(root.cert, root.key, f"{name} intermediate CA",
                                   days=days, organization=organization, key_type=key_type)
    return Intermediate(mesh, root, cert, key, True, chain_public, cluster)


def _load_pair(cert_file: Path, key_file: Path) -> tuple[x509.Certificate, PrivateKey]:
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        key = load_pem_private_key(key_file.read_bytes(), password=None)
    except (OSError, *UNREADABLE) as exc:
        raise FleetError(Problem("MG123", f"cannot read {cert_file} and {key_file}: {exc}",
                                 Location(str(cert_file), 0, 0),
                                 "remove the damaged pair to let ca init make a new one")
                         ) from None
    if not isinstance(key, PrivateKey) or key.public_key() != cert.public_key():
        raise FleetError(Problem("MG123", f"{key_file} is not the key of {cert_file}",
                                 Location(str(key_file), 0, 0),
                                 "remove the damaged pair to let ca init make a new one"))
    return cert, key


def _public_files(result: CAInit) -> tuple[dict[Path, bytes], dict[Path, bytes]]:
    """(root certificates, certificate chains) by where fleet.yaml expects them."""
    roots = {r.public: certificate_pem(r.cert).encode() for r in result.roots if r.public}
    chains = {i.chain_public: i.files["cert-chain.pem"] for i in result.intermediates
              if i.chain_public}
    return roots, chains


def _refuse_conflicts(roots: dict[Path, bytes]) -> None:
    """A committed root that is not the CA directory's is never replaced: its key is
    elsewhere and peers may trust it."""
    problems = Problems()
    for path, data in roots.items():
        if path.is_file() and path.read_bytes() != data:
            problems.add(Problem(
                "MG123", f"{path} holds a root certificate whose key is not in the CA "
                "directory", Location(str(path), 1, 1),
                "ca init never replaces a root peers may trust: remove the file to make a "
                "lab root, or leave this mesh's CA to the tools that made it"))
    problems.raise_if_errors()


def _write_ca_dir(ca_dir: Path, result: CAInit) -> None:
    ca_dir.mkdir(parents=True, exist_ok=True)
    ca_dir.chmod(0o700)
    gitignore = ca_dir / ".gitignore"
    if not gitignore.is_file():
        gitignore.write_text(GITIGNORE, encoding="utf-8")
    for root in result.roots:
        if root.made:
            directory = ca_dir / "roots" / root.ident
            _write_secret(directory / "root-key.pem", private_key_pem(root.key))
            _write_secret(directory / "root-cert.pem", certificate_pem(root.cert).encode())
    for intermediate in result.intermediates:
        if intermediate.made or intermediate.root.made:
            directory = ca_dir / "meshes" / intermediate.directory
            for name, data in intermediate.files.items():
                _write_secret(directory / name, data)


def _write_secret(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, data, 0o600)


# `meshgen ca secret` ------------------------------------------------------------------------


def cacerts_secret(plan: Plan, mesh_name: str, ca_dir: Path,
                   now: datetime.datetime | None = None, cluster: str | None = None) -> str:
    """The `cacerts` Secret of a plugin mesh (of an istio mesh: of one of its primary
    clusters) as YAML, from the CA directory."""
    istio = next((m for m in plan.istio if m.name == mesh_name), None)
    mesh: MeshPlan | IstioMeshPlan = istio or plan.named(mesh_name)
    where = plan.source.at(mesh.origin("name"))
    primaries = [p.name for p in istio.primaries] if istio else []
    if istio is not None and cluster not in primaries:
        raise FleetError(Problem("MG124", f'istio mesh "{mesh.name}" has a `{CACERTS}` per '
                                 "primary cluster; name one with --cluster", where,
                                 "--cluster " + " | ".join(primaries)))
    if istio is None and cluster is not None:
        raise FleetError(Problem("MG124", f'mesh "{mesh.name}" has one `{CACERTS}`; '
                                 "--cluster is for istio meshes", where, "drop --cluster"))
    if mesh.ca.type != "plugin":
        reason = "cert-manager writes it" if mesh.ca.type == "certManager" else \
            "istiod makes its own CA"
        raise FleetError(Problem("MG124", f'mesh "{mesh.name}" has ca.type {mesh.ca.type}, '
                                 f"so it needs no `{CACERTS}` Secret ({reason})", where,
                                 "set `ca: {type: plugin, ...}` to plug in a CA"))
    directory = ca_dir / "meshes" / mesh.name / (cluster or "")
    files: dict[str, bytes] = {}
    for name in CACERTS_KEYS:
        try:
            files[name] = (directory / name).read_bytes()
        except OSError:
            raise FleetError(Problem(
                "MG124", f'no CA for mesh "{mesh.name}" in {ca_dir} ({directory / name} is '
                "missing)", Location(str(directory), 0, 0),
                "run `meshgen ca init` first (with the same --dir)")) from None
    _check_material(files, directory, now or datetime.datetime.now(datetime.timezone.utc))
    secret: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": CACERTS, "namespace": mesh.namespace,
                     "labels": {"app.kubernetes.io/managed-by": "meshgen",
                                "meshgen.dev/fleet": plan.fleet_name}},
        "type": "Opaque",
        "data": {name: base64.b64encode(files[name]).decode("ascii") for name in CACERTS_KEYS},
    }
    return str(yaml.safe_dump(secret, sort_keys=False, width=1 << 16))


def _check_material(files: dict[str, bytes], directory: Path, now: datetime.datetime) -> None:
    """The files must be one usable CA: key matches, signed by the root, not expired."""
    try:
        cert = x509.load_pem_x509_certificate(files["ca-cert.pem"])
        root = x509.load_pem_x509_certificate(files["root-cert.pem"])
        key = load_pem_private_key(files["ca-key.pem"], password=None)
    except UNREADABLE as exc:
        raise FleetError(Problem("MG124", f"{directory}: unreadable CA files: {exc}",
                                 Location(str(directory), 0, 0),
                                 "remove the directory and run `meshgen ca init` again")
                         ) from None
    problem = None
    if key.public_key() != cert.public_key():
        problem = "ca-key.pem is not the key of ca-cert.pem"
    elif not signed_by(cert, root):
        problem = "ca-cert.pem is not signed by root-cert.pem"
    elif cert.not_valid_after_utc <= now:
        problem = f"ca-cert.pem expired on {cert.not_valid_after_utc:%Y-%m-%d}"
    if problem:
        raise FleetError(Problem("MG124", f"{directory}: {problem}",
                                 Location(str(directory), 0, 0),
                                 "remove the directory and run `meshgen ca init` again"))
