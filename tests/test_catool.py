"""meshgen ca init / ca secret (an offline CA for plugged-in meshes) and meshgen certs import
(the second phase of a selfSigned mesh's federation), run as real commands on real files
with certificates made and checked with cryptography."""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from conftest import fleet_head
from meshgen.ca import (
    PrivateKey,
    certificate_pem,
    make_certificate,
    private_key_pem,
)

CA_DIR = Path(".meshgen") / "ca"
EC = ("--key-type", "ec-p256")


def meshgen(*args: str, cwd: Path, stdin: str | None = None
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshgen", *args], capture_output=True,
                          text=True, cwd=cwd, input=stdin, check=False, timeout=300)


def refused(result: subprocess.CompletedProcess[str], code: str) -> str:
    """The stderr of a run that must have failed with bad input (exit 2, no traceback)."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert f"error[{code}]" in result.stderr, result.stderr
    return result.stderr


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def cert_at(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def key_at(path: Path) -> PrivateKey:
    key = load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    return key


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def new_root(name: str) -> str:
    cert, _ = make_certificate(f"{name} root CA")
    return certificate_pem(cert)


def configmap_yaml(pem: str, namespace: str) -> str:
    """What `oc get configmap istio-ca-root-cert -n NAMESPACE -o yaml` prints."""
    return ("apiVersion: v1\ndata:\n  root-cert.pem: |\n" + textwrap.indent(pem, "    ")
            + textwrap.dedent(f"""\
                kind: ConfigMap
                metadata:
                  annotations:
                    kubectl.kubernetes.io/last-applied-configuration: |
                      {{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"x"}}}}
                  creationTimestamp: "2024-05-01T10:00:00Z"
                  labels:
                    istio.io/config: "true"
                  name: istio-ca-root-cert
                  namespace: {namespace}
                  resourceVersion: "1234567"
                  uid: 0f2c7a3e-5b1d-4c8e-9a7f-2d6b1e0c9f11
                """))


def configmap_object(pem: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "data": {"root-cert.pem": pem},
        "kind": "ConfigMap",
        "metadata": {
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"},
            "creationTimestamp": "2024-05-01T10:00:00Z",
            "labels": {"istio.io/config": "true"},
            "name": "istio-ca-root-cert", "namespace": namespace,
            "resourceVersion": "1234567", "uid": "0f2c7a3e-5b1d-4c8e-9a7f-2d6b1e0c9f11",
        },
    }


# ------------------------------------------------------------------------------------------
# meshgen ca init

LAB_FLEET = fleet_head("lab") + """\
meshes:
  - name: plug-mesh
    cluster: east
    namespace: plug-system
    rootCert: certs/plug-mesh.pem
    ca:
      type: plugin
      certChain: certs/plug-mesh-chain.pem
      secret: {externalSecret: {store: vault, path: mesh/plug-mesh}}
  - name: oob-mesh
    cluster: east
    ca: {type: plugin, rootCert: roots/oob-mesh.pem, secret: {none: {}}}
  - name: cm-mesh
    cluster: west
    ca:
      type: certManager
      rootCert: certs/cm-mesh.pem
      issuer: {name: mesh-root, kind: ClusterIssuer}
  - name: self-mesh
    cluster: west
    rootCert: certs/self-mesh.pem
  - name: sh-a
    cluster: east
    ca: {type: plugin, secret: {none: {}}}
  - name: sh-b
    cluster: west
    ca: {type: plugin, secret: {none: {}}}
federations:
  - name: lim
    meshes: [plug-mesh, oob-mesh, cm-mesh, self-mesh]
  - name: shr
    meshes: [sh-a, sh-b]
    trust: {type: shared, rootCert: shared/shr-root.pem}
"""

# where fleet.yaml names each public root, by the CA directory's root (named after the
# shared federation, or after the public file so meshes naming one file share its root)
PUBLIC_ROOTS = {
    "file-certs-plug-mesh": "certs/plug-mesh.pem",
    "file-roots-oob-mesh": "roots/oob-mesh.pem",
    "file-certs-cm-mesh": "certs/cm-mesh.pem",
    "federation-shr": "shared/shr-root.pem",
}
INTERMEDIATES = {"plug-mesh": "file-certs-plug-mesh", "oob-mesh": "file-roots-oob-mesh",
                 "sh-a": "federation-shr", "sh-b": "federation-shr"}


def lab(tmp_path: Path) -> Path:
    write(tmp_path / "fleet.yaml", LAB_FLEET)
    return tmp_path


def ca_init(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = meshgen("ca", "init", "fleet.yaml", *args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


@pytest.fixture(scope="module")
def initialized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lab fleet after one `meshgen ca init`, for the tests that only read it."""
    cwd = lab(tmp_path_factory.mktemp("lab"))
    ca_init(cwd, *EC)
    return cwd


def test_ca_init_makes_roots_and_intermediates(tmp_path: Path) -> None:
    cwd = lab(tmp_path)
    result = ca_init(cwd, *EC)
    ca = cwd / CA_DIR

    # the CA directory: private, and git-ignored whole
    assert ca.stat().st_mode & 0o777 == 0o700
    assert (ca / ".gitignore").read_text().splitlines()[-1] == "*"
    subprocess.run(["git", "init", "-q", str(cwd)], check=True)
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                            cwd=cwd, capture_output=True, text=True, check=True).stdout
    assert ".meshgen" not in status, status
    assert "?? certs/plug-mesh.pem" in status.splitlines()
    keys = sorted(ca.rglob("*key*.pem"))
    assert [str(k.relative_to(ca)) for k in keys] == sorted(
        [f"roots/{r}/root-key.pem" for r in PUBLIC_ROOTS]
        + [f"meshes/{m}/ca-key.pem" for m in INTERMEDIATES])
    for key in keys:
        assert key.stat().st_mode & 0o777 == 0o600, key
        ignored = subprocess.run(["git", "check-ignore", "-q", str(key)], cwd=cwd, check=False)
        assert ignored.returncode == 0, f"{key} is not git-ignored"

    # the public roots: exactly where fleet.yaml names them, nothing else, and no key
    public = {p for p in cwd.rglob("*.pem") if ca not in p.parents}
    assert public == {cwd / p for p in PUBLIC_ROOTS.values()} | {
        cwd / "certs" / "plug-mesh-chain.pem"}
    for ident, rel in PUBLIC_ROOTS.items():
        data = (cwd / rel).read_bytes()
        assert b"PRIVATE KEY" not in data, rel
        assert data == (ca / "roots" / ident / "root-cert.pem").read_bytes(), rel
        root = cert_at(cwd / rel)
        assert issued_by(root, root), f"{rel} is not a self-signed root"
        assert key_at(ca / "roots" / ident / "root-key.pem").public_key() == root.public_key()
        assert f"root {ident}: created, public certificate {rel}" in result.stdout
        assert f"wrote {rel}" in result.stdout.splitlines()

    # every plugin mesh's intermediate chains to the root its peers trust; one root for
    # the shared federation, so both of its meshes verify against the same certificate
    for mesh, ident in INTERMEDIATES.items():
        intermediate = cert_at(ca / "meshes" / mesh / "ca-cert.pem")
        assert issued_by(intermediate, cert_at(cwd / PUBLIC_ROOTS[ident])), mesh
        constraints = intermediate.extensions.get_extension_for_class(x509.BasicConstraints)
        assert constraints.value.ca and constraints.value.path_length == 0
        assert key_at(ca / "meshes" / mesh / "ca-key.pem").public_key() == \
            intermediate.public_key()
    shared = cert_at(cwd / "shared" / "shr-root.pem")
    assert issued_by(cert_at(ca / "meshes" / "sh-a" / "ca-cert.pem"), shared)
    assert issued_by(cert_at(ca / "meshes" / "sh-b" / "ca-cert.pem"), shared)
    assert len({cert_at(cwd / p).fingerprint(hashes.SHA256())
                for p in PUBLIC_ROOTS.values()}) == len(PUBLIC_ROOTS), "roots must differ"

    # ca.certChain: the mesh's intermediate, then the root
    chain = x509.load_pem_x509_certificates((cwd / "certs" / "plug-mesh-chain.pem").read_bytes())
    assert [c.subject for c in chain] == [
        cert_at(ca / "meshes" / "plug-mesh" / "ca-cert.pem").subject,
        cert_at(cwd / "certs" / "plug-mesh.pem").subject]
    assert chain[1] == cert_at(cwd / "certs" / "plug-mesh.pem")
    assert issued_by(chain[0], chain[1])
    assert b"PRIVATE KEY" not in (cwd / "certs" / "plug-mesh-chain.pem").read_bytes()

    # certManager: a root only, and the command that backs the issuer with it
    assert not (ca / "meshes" / "cm-mesh").exists()
    line = next(x for x in result.stdout.splitlines() if x.startswith("mesh cm-mesh:"))
    command = shlex.split(line.split("this root: ", 1)[1])
    assert command[:6] == ["oc", "create", "secret", "tls", "mesh-root", "-n"]
    assert command[6] == "cert-manager"  # a ClusterIssuer's secret lives there
    tls_cert = cert_at(cwd / command[command.index("--cert") + 1])
    assert tls_cert == cert_at(cwd / "certs" / "cm-mesh.pem")
    assert key_at(cwd / command[command.index("--key") + 1]).public_key() == \
        tls_cert.public_key()

    # a selfSigned mesh gets nothing: istiod makes its CA
    assert not (cwd / "certs" / "self-mesh.pem").exists()
    assert not any("self-mesh" in str(p) for p in ca.rglob("*"))
    assert "self-mesh" not in result.stdout


def test_build_after_ca_init_holds_no_private_key(tmp_path: Path) -> None:
    cwd = lab(tmp_path)
    ca_init(cwd, *EC)
    # the selfSigned mesh's root comes from its cluster (phase two), here as a PEM file
    self_root = new_root("self-mesh")
    (cwd / "self.pem").write_text(self_root)
    imported = meshgen("certs", "import", "self-mesh", "self.pem", "fleet.yaml", cwd=cwd)
    assert imported.returncode == 0, imported.stderr
    build = meshgen("build", "fleet.yaml", cwd=cwd)
    assert build.returncode == 0, build.stderr
    assert "Traceback" not in build.stderr
    files = snapshot(cwd / "overlays")
    assert files
    for rel, data in files.items():
        assert b"PRIVATE KEY" not in data, rel
        assert b"LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t" not in data, rel  # base64 of it

    def root_in(cluster: str, namespace: str, peer: str) -> str:
        rel = f"{cluster}/namespaces/{namespace}/configmap-{peer}-ca-root-cert.yaml"
        docs = [d for d in yaml.safe_load_all(files[rel]) if d]
        assert len(docs) == 1
        return str(docs[0]["data"]["root-cert.pem"])

    # the peers trust the roots ca init wrote (the shared one on both sides of shr)
    shared = (cwd / "shared" / "shr-root.pem").read_text()
    assert root_in("east", "sh-a", "sh-b") == shared
    assert root_in("west", "sh-b", "sh-a") == shared
    assert root_in("west", "cm-mesh", "plug-mesh") == (cwd / "certs/plug-mesh.pem").read_text()
    assert root_in("east", "plug-system", "cm-mesh") == (cwd / "certs/cm-mesh.pem").read_text()
    assert root_in("east", "plug-system", "oob-mesh") == \
        (cwd / "roots/oob-mesh.pem").read_text()
    assert root_in("east", "plug-system", "self-mesh") == self_root
    assert "east/namespaces/plug-system/externalsecret-cacerts.yaml" in files
    assert "west/namespaces/cm-mesh/certificate-cacerts.yaml" in files


def test_ca_init_again_keeps_everything(tmp_path: Path) -> None:
    cwd = lab(tmp_path)
    ca_init(cwd, *EC)
    before = snapshot(cwd)
    stats = {rel: (cwd / rel).stat() for rel in before}
    again = ca_init(cwd, "--key-type", "rsa-2048")  # an existing CA keeps its keys
    assert snapshot(cwd) == before
    for rel, stat in stats.items():
        now = (cwd / rel).stat()
        assert (now.st_ino, now.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns), rel
    assert "created" not in again.stdout
    assert not [x for x in again.stdout.splitlines() if x.startswith("wrote ")]
    for ident in PUBLIC_ROOTS:
        assert f"root {ident}: kept" in again.stdout
    for mesh, ident in INTERMEDIATES.items():
        assert f"mesh {mesh}: intermediate CA kept (root {ident})" in again.stdout

    # a public root that went missing is written again, from the same key
    (cwd / "roots" / "oob-mesh.pem").unlink()
    restored = ca_init(cwd, *EC)
    assert "wrote roots/oob-mesh.pem" in restored.stdout.splitlines()
    assert snapshot(cwd) == before


def test_foreign_root_is_never_replaced(tmp_path: Path) -> None:
    cwd = lab(tmp_path)
    foreign = new_root("foreign")
    write(cwd / "certs" / "plug-mesh.pem", foreign)
    before = snapshot(cwd)
    result = meshgen("ca", "init", "fleet.yaml", *EC, cwd=cwd)
    stderr = refused(result, "MG123")
    assert re.search(r"^\S*certs/plug-mesh\.pem:1:1: error\[MG123\]", stderr, re.M), stderr
    assert not (cwd / ".meshgen").exists()
    assert snapshot(cwd) == before  # no other public root, no chain, foreign one untouched

    # also once the CA directory exists: a root replaced by someone else's stays refused
    (cwd / "certs" / "plug-mesh.pem").unlink()
    ca_init(cwd, *EC)
    write(cwd / "roots" / "oob-mesh.pem", foreign)
    before = snapshot(cwd)
    refused(meshgen("ca", "init", "fleet.yaml", *EC, cwd=cwd), "MG123")
    assert snapshot(cwd) == before


@pytest.mark.parametrize("ca_dir, out", [("overlays/ca", "overlays"), ("gen", "gen"),
                                          ("keys", "keys/out")])
def test_ca_dir_and_output_must_not_overlap(tmp_path: Path, ca_dir: str, out: str) -> None:
    cwd = lab(tmp_path)
    result = meshgen("ca", "init", "fleet.yaml", "--dir", ca_dir, "--out", out, *EC, cwd=cwd)
    refused(result, "MG123")
    assert snapshot(cwd) == {"fleet.yaml": LAB_FLEET.encode()}
    assert sorted(p.name for p in cwd.iterdir()) == ["fleet.yaml"]


def test_ca_init_rsa_2048_and_validity(tmp_path: Path) -> None:
    write(tmp_path / "fleet.yaml", """\
        apiVersion: meshgen.dev/v1alpha1
        kind: Fleet
        metadata: {name: lab}
        clusters:
          - name: east
        meshes:
          - name: solo
            cluster: east
            ca: {type: plugin, rootCert: certs/solo.pem, secret: {none: {}}}
        """)
    ca_init(tmp_path, "--key-type", "rsa-2048", "--root-days", "100", "--days", "730",
            "--dir", "private/ca")
    ca = tmp_path / "private" / "ca"
    for key in (ca / "roots" / "file-certs-solo" / "root-key.pem",
                ca / "meshes" / "solo" / "ca-key.pem"):
        loaded = key_at(key)
        assert isinstance(loaded, rsa.RSAPrivateKey), key
        assert loaded.key_size == 2048
    root = cert_at(tmp_path / "certs" / "solo.pem")
    intermediate = cert_at(ca / "meshes" / "solo" / "ca-cert.pem")
    lifetime = root.not_valid_after_utc - root.not_valid_before_utc
    assert lifetime == datetime.timedelta(days=100)
    assert intermediate.not_valid_after_utc <= root.not_valid_after_utc  # never beyond root
    assert not (tmp_path / CA_DIR).exists()


def test_meshes_naming_one_root_file_get_one_root(tmp_path: Path) -> None:
    """Two plugin meshes whose ca.rootCert is the same file (without a shared-trust
    federation) must end up chaining to the root in that file, or ca init must refuse."""
    write(tmp_path / "fleet.yaml", """\
        apiVersion: meshgen.dev/v1alpha1
        kind: Fleet
        metadata: {name: lab}
        clusters:
          - name: east
        meshes:
          - name: a-mesh
            cluster: east
            ca: {type: plugin, rootCert: certs/root.pem, secret: {none: {}}}
          - name: b-mesh
            cluster: east
            ca: {type: plugin, rootCert: certs/root.pem, secret: {none: {}}}
        federations:
          - name: ab
            meshes: [a-mesh, b-mesh]
        """)
    result = meshgen("ca", "init", "fleet.yaml", *EC, cwd=tmp_path)
    assert "Traceback" not in result.stderr
    if result.returncode != 0:
        refused(result, "MG123")
        assert not (tmp_path / "certs" / "root.pem").exists()
        return
    root = cert_at(tmp_path / "certs" / "root.pem")
    for mesh in ("a-mesh", "b-mesh"):
        intermediate = cert_at(tmp_path / CA_DIR / "meshes" / mesh / "ca-cert.pem")
        assert issued_by(intermediate, root), (
            f"{mesh}'s cacerts chains to a root that is not in certs/root.pem, the file its "
            f"peers trust:\n{result.stdout}")


# ------------------------------------------------------------------------------------------
# meshgen ca secret


def kubectl_objects(manifest: str, tmp: Path) -> list[dict[str, Any]]:
    """The objects real kubectl reads from manifest: `kubectl create --dry-run=client`, or,
    where that needs an API server this machine does not have, `kubectl kustomize`."""
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is not on the PATH"
    created = subprocess.run([kubectl, "create", "--dry-run=client", "-o", "yaml", "-f", "-"],
                             input=manifest, capture_output=True, text=True, check=False,
                             timeout=120)
    if created.returncode == 0:
        return [d for d in yaml.safe_load_all(created.stdout) if d]
    assert re.search(r"openapi|connection refused|the server|dial tcp|Unable to connect",
                     created.stderr), created.stderr
    tmp.mkdir()
    (tmp / "cacerts.yaml").write_text(manifest)
    (tmp / "kustomization.yaml").write_text("resources: [cacerts.yaml]\n")
    built = subprocess.run([kubectl, "kustomize", str(tmp)], capture_output=True, text=True,
                           check=False, timeout=120)
    assert built.returncode == 0, built.stderr
    return [d for d in yaml.safe_load_all(built.stdout) if d]


@pytest.mark.parametrize("mesh, namespace, root", [
    ("plug-mesh", "plug-system", "certs/plug-mesh.pem"),
    ("oob-mesh", "oob-mesh", "roots/oob-mesh.pem"),
    ("sh-b", "sh-b", "shared/shr-root.pem"),
])
def test_ca_secret(initialized: Path, tmp_path: Path, mesh: str, namespace: str,
                   root: str) -> None:
    result = meshgen("ca", "secret", mesh, "fleet.yaml", cwd=initialized)
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert len(docs) == 1
    secret = docs[0]
    assert (secret["apiVersion"], secret["kind"]) == ("v1", "Secret")
    assert (secret["metadata"]["name"], secret["metadata"]["namespace"]) == \
        ("cacerts", namespace)
    assert sorted(secret["data"]) == sorted(
        ["ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem"])
    files = {k: base64.b64decode(v, validate=True) for k, v in secret["data"].items()}

    ca_cert = x509.load_pem_x509_certificate(files["ca-cert.pem"])
    root_cert = x509.load_pem_x509_certificate(files["root-cert.pem"])
    key = load_pem_private_key(files["ca-key.pem"], password=None)
    assert key.public_key() == ca_cert.public_key()
    assert issued_by(ca_cert, root_cert)
    assert files["cert-chain.pem"] == files["ca-cert.pem"] + files["root-cert.pem"]
    chain = x509.load_pem_x509_certificates(files["cert-chain.pem"])
    assert chain == [ca_cert, root_cert]
    # the root in the Secret is the one fleet.yaml commits for the mesh's peers
    assert files["root-cert.pem"] == (initialized / root).read_bytes()
    assert files["ca-key.pem"] == (initialized / CA_DIR / "meshes" / mesh / "ca-key.pem"
                                   ).read_bytes()

    objects = kubectl_objects(result.stdout, tmp_path / "kubectl")
    assert len(objects) == 1
    assert objects[0]["kind"] == "Secret"
    assert objects[0]["metadata"]["name"] == "cacerts"
    assert objects[0]["metadata"]["namespace"] == namespace
    assert objects[0]["data"] == secret["data"]


@pytest.mark.parametrize("mesh, fragment", [
    ("cm-mesh", "has ca.type certManager"),
    ("self-mesh", "has ca.type selfSigned"),
])
def test_ca_secret_only_for_plugin_meshes(initialized: Path, mesh: str, fragment: str) -> None:
    result = meshgen("ca", "secret", mesh, "fleet.yaml", cwd=initialized)
    stderr = refused(result, "MG124")
    assert re.match(r"fleet\.yaml:\d+:\d+: error\[MG124\]", stderr), stderr
    assert fragment in stderr
    assert result.stdout == ""


def test_ca_secret_before_ca_init(tmp_path: Path) -> None:
    cwd = lab(tmp_path)
    result = meshgen("ca", "secret", "plug-mesh", "fleet.yaml", cwd=cwd)
    stderr = refused(result, "MG124")
    assert "hint: run `meshgen ca init`" in stderr
    assert result.stdout == ""
    assert not (cwd / ".meshgen").exists()


def test_ca_secret_unknown_mesh(initialized: Path) -> None:
    result = meshgen("ca", "secret", "nope-mesh", "fleet.yaml", cwd=initialized)
    stderr = refused(result, "MG031")
    assert re.match(r"fleet\.yaml:\d+:\d+: error\[MG031\]: no mesh \"nope-mesh\"", stderr)
    assert result.stdout == ""


def test_ca_secret_refuses_a_damaged_ca(tmp_path: Path) -> None:
    cwd = lab(tmp_path)
    ca_init(cwd, *EC)
    mesh_dir = cwd / CA_DIR / "meshes" / "plug-mesh"
    _, other = make_certificate("other")
    (mesh_dir / "ca-key.pem").write_bytes(private_key_pem(other))
    result = meshgen("ca", "secret", "plug-mesh", "fleet.yaml", cwd=cwd)
    assert "ca-key.pem is not the key of ca-cert.pem" in refused(result, "MG124")
    assert result.stdout == ""


# ------------------------------------------------------------------------------------------
# meshgen certs import

IMPORT_FLEET = fleet_head("lab") + """\
meshes:
  - name: a-mesh
    cluster: east
    namespace: istio-a
    rootCert: certs/a-mesh.pem
  - name: b-mesh
    cluster: west
    rootCert: certs/b-mesh.pem
  - name: solo
    cluster: east
  - name: sh-a
    cluster: east
    ca: {type: plugin, rootCert: certs/sh.pem, secret: {none: {}}}
  - name: sh-b
    cluster: west
    ca: {type: plugin, secret: {none: {}}}
federations:
  - name: ab
    meshes: [a-mesh, b-mesh]
  - name: shr
    meshes: [sh-a, sh-b]
    trust: {type: shared, rootCert: certs/sh.pem}
"""


def import_fleet(directory: Path) -> Path:
    return write(directory / "fleet.yaml", IMPORT_FLEET)


def _as_json(pem: str) -> str:
    return json.dumps(configmap_object(pem, "istio-a"), indent=4)


def _as_list(pem: str, *others: dict[str, Any]) -> str:
    """What `oc get configmap -l istio.io/config=true -o yaml` prints (with others: the
    other ConfigMaps `oc get configmap -o yaml` lists too, in kubectl's name order)."""
    items = sorted([configmap_object(pem, "istio-a"), *others],
                   key=lambda item: str(item["metadata"]["name"]))
    return yaml.safe_dump({"apiVersion": "v1", "kind": "List", "metadata": {
        "resourceVersion": ""}, "items": items}, sort_keys=True)


def _as_json_list(pem: str) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List",
                       "items": [configmap_object(pem, "istio-a")]})


FORMS: dict[str, Callable[[str], str]] = {
    "yaml": lambda pem: configmap_yaml(pem, "istio-a"),
    "json": _as_json,
    "list": _as_list,
    "json-list": _as_json_list,
    "pem": lambda pem: pem,
}


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("stdin", [False, True], ids=["file", "stdin"])
def test_certs_import(tmp_path: Path, form: str, stdin: bool) -> None:
    cwd = tmp_path
    import_fleet(cwd)
    pem = new_root("a-mesh")
    text = FORMS[form](pem)
    (cwd / "input").write_text(text)
    source = ("-",) if stdin else ("input",)
    result = meshgen("certs", "import", "a-mesh", *source, "fleet.yaml", cwd=cwd,
                     stdin=text if stdin else None)
    assert result.returncode == 0, result.stderr
    target = cwd / "certs" / "a-mesh.pem"
    assert target.read_text() == pem
    assert "written to certs/a-mesh.pem" in result.stdout
    assert "CN=a-mesh root CA" in result.stdout
    assert target.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in (cwd / "certs").iterdir()) == ["a-mesh.pem"]

    old = 1_000_000_000
    os.utime(target, ns=(old, old))
    inode = target.stat().st_ino
    again = meshgen("certs", "import", "a-mesh", *source, "fleet.yaml", cwd=cwd,
                    stdin=text if stdin else None)
    assert again.returncode == 0, again.stderr
    assert "unchanged at certs/a-mesh.pem" in again.stdout
    assert "written" not in again.stdout
    assert (target.stat().st_mtime_ns, target.stat().st_ino) == (old, inode)
    assert target.read_text() == pem


def test_certs_import_from_a_list_of_every_configmap(tmp_path: Path) -> None:
    """`oc get configmap -n istio-a -o yaml`: istio-ca-root-cert among the control-plane
    namespace's other ConfigMaps (the mesh config istio-basic sorts before it)."""
    import_fleet(tmp_path)
    pem = new_root("a-mesh")

    def other(name: str, data: dict[str, str]) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "ConfigMap", "data": data,
                "metadata": {"name": name, "namespace": "istio-a"}}

    (tmp_path / "all.yaml").write_text(_as_list(
        pem, other("istio-basic", {"mesh": "defaultConfig: {}\n"}),
        other("kube-root-ca.crt", {"ca.crt": new_root("kube")}),
        other("openshift-service-ca.crt", {"service-ca.crt": new_root("service-ca")})))
    result = meshgen("certs", "import", "a-mesh", "all.yaml", "fleet.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "certs" / "a-mesh.pem").read_text() == pem


def test_certs_import_relative_to_the_fleet_not_cwd(tmp_path: Path) -> None:
    fleet = import_fleet(tmp_path / "repo" / "fleet")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    first, second = new_root("first"), new_root("second")
    (elsewhere / "cm.yaml").write_text(configmap_yaml(first, "istio-a"))
    result = meshgen("certs", "import", "a-mesh", "cm.yaml", str(fleet), cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    target = fleet.parent / "certs" / "a-mesh.pem"
    assert target.read_text() == first
    assert f"written to {target}" in result.stdout
    assert sorted(p.name for p in elsewhere.iterdir()) == ["cm.yaml"]

    # a rotated root replaces the old one, in place
    (elsewhere / "cm.yaml").write_text(configmap_yaml(second, "istio-a"))
    rotated = meshgen("certs", "import", "a-mesh", "cm.yaml", "../repo/fleet/fleet.yaml",
                      cwd=elsewhere)
    assert rotated.returncode == 0, rotated.stderr
    assert target.read_text() == second
    assert sorted(p.name for p in target.parent.iterdir()) == ["a-mesh.pem"]


def _with_key(pem: str) -> str:
    _, key = make_certificate("leaked")
    return pem + private_key_pem(key).decode()


def _leaf(_: str) -> str:
    cert, _key = make_certificate("workload", ca=False)
    return certificate_pem(cert)


def _expired(_: str) -> str:
    cert, _key = make_certificate("old root", days=30, not_before=datetime.datetime(
        2020, 1, 1, tzinfo=datetime.timezone.utc))
    return certificate_pem(cert)


# (input file name, its text from a fresh root, mesh, code, location prefix of the problem)
BAD_INPUTS: dict[str, tuple[str, Callable[[str], str], str, str, str]] = {
    "pem-with-key": ("in.pem", _with_key, "a-mesh", "MG055", "in.pem:1:1:"),
    "configmap-with-key": ("cm.yaml", lambda pem: configmap_yaml(_with_key(pem), "istio-a"),
                           "a-mesh", "MG055", "cm.yaml:3:"),
    "leaf": ("in.pem", _leaf, "a-mesh", "MG052", "in.pem:1:1:"),
    "configmap-leaf": ("cm.yaml", lambda pem: configmap_yaml(_leaf(pem), "istio-a"),
                       "a-mesh", "MG052", "cm.yaml:3:"),
    "expired": ("cm.json", lambda pem: _as_json(_expired(pem)), "a-mesh", "MG053",
                "cm.json:"),
    "kube-root-ca": ("cm.yaml", lambda pem: configmap_yaml(pem, "istio-a").replace(
        "root-cert.pem", "ca.crt"), "a-mesh", "MG122", "cm.yaml:1:1:"),
    "secret": ("cm.yaml", lambda pem: configmap_yaml(pem, "istio-a").replace(
        "kind: ConfigMap", "kind: Secret"), "a-mesh", "MG122", "cm.yaml:1:1:"),
    "list-without-configmap": ("cm.yaml", lambda pem: "apiVersion: v1\nkind: List\nitems: []\n",
                               "a-mesh", "MG122", "cm.yaml:1:1:"),
    "not-yaml": ("in.txt", lambda pem: "root-cert.pem: [unclosed\n", "a-mesh", "MG122",
                 "in.txt:1:1:"),
    "no-rootcert": ("in.pem", lambda pem: pem, "solo", "MG122", "fleet.yaml:17:"),
    "shared-federation": ("in.pem", lambda pem: pem, "sh-a", "MG122", "fleet.yaml:19:"),
    "unknown-mesh": ("in.pem", lambda pem: pem, "c-mesh", "MG031", "fleet.yaml:"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_certs_import_refuses(tmp_path: Path, case: str) -> None:
    name, make, mesh, code, location = BAD_INPUTS[case]
    import_fleet(tmp_path)
    (tmp_path / name).write_text(make(new_root("good")))
    before = snapshot(tmp_path)
    result = meshgen("certs", "import", mesh, name, "fleet.yaml", cwd=tmp_path)
    stderr = refused(result, code)
    first = stderr.splitlines()[0]
    assert first.startswith(location) and f"error[{code}]" in first, stderr
    assert "\n  hint: " in stderr
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "certs").exists()


def test_certs_import_refuses_binary_input(tmp_path: Path) -> None:
    import_fleet(tmp_path)
    (tmp_path / "blob").write_bytes(b"\xff\xfe\x00garbage\x80")
    result = meshgen("certs", "import", "a-mesh", "blob", "fleet.yaml", cwd=tmp_path)
    assert refused(result, "MG122").startswith("blob:1:1: error[MG122]")
    assert not (tmp_path / "certs").exists()


# ------------------------------------------------------------------------------------------
# the selfSigned two-phase flow

TWO_PHASE = fleet_head("lab") + """\
meshTemplates:
  - name: mesh
    clusters: [east, west]
    template:
      namespace: "istio-{cluster}"
      rootCert: "certs/{mesh}.pem"
federations:
  - name: ew
    meshes: [east-mesh, west-mesh]
"""


@pytest.mark.parametrize("fleet_rel", ["fleet/fleet.yaml", "lab fleet/fleet.yaml"])
def test_selfsigned_two_phase_flow(tmp_path: Path, fleet_rel: str) -> None:
    repo = tmp_path
    fleet = write(repo / fleet_rel, TWO_PHASE)
    fleet_args = () if fleet_rel == "fleet/fleet.yaml" else (fleet_rel,)

    # phase one: no root is imported yet, so the build names the command for each mesh
    failed = meshgen("build", *fleet_args, cwd=repo)
    stderr = refused(failed, "MG056")
    assert not (repo / "overlays").exists()
    lines = stderr.splitlines()
    hints: dict[str, str] = {}
    for i, line in enumerate(lines):
        match = re.match(r"(.+):(\d+):\d+: error\[MG056\]: mesh \"([a-z-]+)\"", line)
        if match:
            assert match.group(1) == fleet_rel
            assert lines[i + 1].startswith("  hint: ")
            hints[match.group(3)] = lines[i + 1].removeprefix("  hint: ")
    assert sorted(hints) == ["east-mesh", "west-mesh"]
    assert [x for x in lines if "error[" in x and "MG056" not in x] == []

    # phase two: what `oc get` would print, fed to the exact import command of the hint
    roots: dict[str, str] = {}
    for mesh, hint in hints.items():
        cluster = mesh.removesuffix("-mesh")
        assert f'cluster "{cluster}"' in hint
        oc, command = hint.split("run: ", 1)[1].split(" | ")
        assert shlex.split(oc) == ["oc", "get", "configmap", "istio-ca-root-cert", "-n",
                                   f"istio-{cluster}", "-o", "yaml"]
        argv = shlex.split(command)
        assert argv[:5] == ["meshgen", "certs", "import", mesh, "-"]
        assert argv[5:] == list(fleet_args)
        roots[mesh] = new_root(mesh)
        imported = meshgen(*argv[1:], cwd=repo,
                           stdin=configmap_yaml(roots[mesh], f"istio-{cluster}"))
        assert imported.returncode == 0, imported.stderr
        assert (fleet.parent / "certs" / f"{mesh}.pem").read_text() == roots[mesh]
    assert not (repo / "certs").exists()  # relative to the fleet's folder, not cwd

    built = meshgen("build", *fleet_args, cwd=repo)
    assert built.returncode == 0, built.stderr
    for mesh, peer, cluster in (("east-mesh", "west-mesh", "east"),
                                ("west-mesh", "east-mesh", "west")):
        rel = (repo / "overlays" / cluster / "namespaces" / f"istio-{cluster}"
               / f"configmap-{peer}-ca-root-cert.yaml")
        docs = [d for d in yaml.safe_load_all(rel.read_text()) if d]
        assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
            ("ConfigMap", f"{peer}-ca-root-cert")]
        assert docs[0]["data"]["root-cert.pem"] == roots[peer], mesh
        assert x509.load_pem_x509_certificate(docs[0]["data"]["root-cert.pem"].encode()) \
            .subject.rfc4514_string() == f"CN={peer} root CA,O=meshgen example"
    check = meshgen("build", *fleet_args, "--check", cwd=repo)
    assert check.returncode == 0, check.stdout + check.stderr



# ------------------------------------------------------------------------------------------
# where certs import and ca init may write

PLUGIN_FLEET = fleet_head("lab") + """\
meshes:
  - name: plug-mesh
    cluster: east
    namespace: istio-a
    ca: {type: plugin, rootCert: "ROOT", certChain: "CHAIN", secret: {none: {}}}
  - name: self-mesh
    cluster: west
    rootCert: "SELF_ROOT"
federations:
  - name: ps
    meshes: [plug-mesh, self-mesh]
"""
PLUGIN_LINE, SELF_LINE = 13, 16  # the lines of plug-mesh's ca and self-mesh's rootCert
NOT_A_CERTIFICATE = "# notes kept by hand\nnot a certificate\n"


def hostile_repo(tmp_path: Path, root: str = "certs/plug.pem",
                 chain: str = "certs/plug-chain.pem", self_root: str = "certs/self.pem"
                 ) -> Path:
    """A fleet repository (repo/.git) whose fleet names the given files; a file outside
    the repository and a hand-written file inside it, to check nothing touches them."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    write(repo / "fleet.yaml", PLUGIN_FLEET.replace("SELF_ROOT", self_root)
          .replace("ROOT", root).replace("CHAIN", chain))
    write(repo / "notes.txt", NOT_A_CERTIFICATE)
    write(tmp_path / "outside" / "keep.txt", "outside the repository\n")
    return repo


@pytest.mark.parametrize(("setting", "value", "line"), [
    ("root", "../../../outside/root.pem", PLUGIN_LINE),
    ("root", "../outside/keep.txt", PLUGIN_LINE),
    ("chain", "fleet.yaml", PLUGIN_LINE),
    ("root", "fleet.yaml", PLUGIN_LINE),
    ("chain", "notes.txt", PLUGIN_LINE),
    ("chain", "certs/plug.pem", PLUGIN_LINE),
])
def test_ca_init_writes_only_certificates_inside_the_repository(
        tmp_path: Path, setting: str, value: str, line: int) -> None:
    repo = hostile_repo(tmp_path, **{setting: value})
    before = snapshot(tmp_path)
    result = meshgen("ca", "init", "fleet.yaml", *EC, cwd=repo)
    stderr = refused(result, "MG125")
    assert stderr.startswith(f"fleet.yaml:{line}:"), stderr
    assert snapshot(tmp_path) == before


def test_ca_init_replaces_a_chain_it_wrote(tmp_path: Path) -> None:
    repo = hostile_repo(tmp_path)
    ca_init(repo, *EC)
    shutil.rmtree(repo / CA_DIR / "meshes")  # a new intermediate: a new chain file
    old = (repo / "certs" / "plug-chain.pem").read_text()
    ca_init(repo, *EC)
    assert (repo / "certs" / "plug-chain.pem").read_text() != old


@pytest.mark.parametrize(("value", "line"), [
    ("../../../outside/root.pem", SELF_LINE),
    ("../outside/keep.txt", SELF_LINE),
    ("fleet.yaml", SELF_LINE),
    ("notes.txt", SELF_LINE),
    ("certs/plug.pem", SELF_LINE),  # the root of another mesh
])
def test_certs_import_writes_only_its_own_certificate_inside_the_repository(
        tmp_path: Path, value: str, line: int) -> None:
    repo = hostile_repo(tmp_path, self_root=value)
    write(repo / "certs" / "plug.pem", new_root("plug"))
    (repo / "cm.yaml").write_text(configmap_yaml(new_root("self"), "self-mesh"))
    before = snapshot(tmp_path)
    result = meshgen("certs", "import", "self-mesh", "cm.yaml", "fleet.yaml", cwd=repo)
    stderr = refused(result, "MG125")
    assert stderr.startswith(f"fleet.yaml:{line}:"), stderr
    assert snapshot(tmp_path) == before


def test_certs_import_refuses_a_configmap_of_another_namespace(tmp_path: Path) -> None:
    import_fleet(tmp_path)
    (tmp_path / "cm.yaml").write_text(configmap_yaml(new_root("b"), "istio-b"))
    result = meshgen("certs", "import", "a-mesh", "cm.yaml", "fleet.yaml", cwd=tmp_path)
    stderr = refused(result, "MG122")
    line = 1 + configmap_yaml("", "istio-b").splitlines().index("  namespace: istio-b") + \
        len(new_root("b").splitlines())
    assert stderr.startswith(f"cm.yaml:{line}:"), stderr
    assert 'namespace "istio-b"' in stderr and '"istio-a"' in stderr
    assert "-n istio-a" in stderr
    assert not (tmp_path / "certs").exists()


def test_certs_import_keeps_the_root_of_a_plugged_in_mesh(tmp_path: Path) -> None:
    repo = hostile_repo(tmp_path)
    ca_init(repo, *EC)
    root = repo / "certs" / "plug.pem"
    committed = root.read_text()
    # another root: it would break the chain (and replace what ca init made)
    (repo / "other.yaml").write_text(configmap_yaml(new_root("other"), "istio-a"))
    other = meshgen("certs", "import", "plug-mesh", "other.yaml", "fleet.yaml", cwd=repo)
    assert "error[MG122]" in refused(other, "MG122")
    assert root.read_text() == committed
    # with the root removed, a root the chain does not lead to is still refused
    root.unlink()
    again = meshgen("certs", "import", "plug-mesh", "other.yaml", "fleet.yaml", cwd=repo)
    assert "other.yaml:3:" in refused(again, "MG059")
    assert not root.exists()
    # the right root is stored, and the build passes
    (repo / "right.yaml").write_text(configmap_yaml(committed, "istio-a"))
    right = meshgen("certs", "import", "plug-mesh", "right.yaml", "fleet.yaml", cwd=repo)
    assert right.returncode == 0, right.stderr
    assert root.read_text() == committed
