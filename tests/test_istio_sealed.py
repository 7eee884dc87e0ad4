"""Sealed `cacerts` per primary cluster of a plugin istio mesh: real intermediates from
`meshgen ca init`, each sealed for its own cluster's controller key the way kubeseal seals
(bitnami-labs/sealed-secrets, main: pkg/crypto/crypto.go HybridEncrypt: RSA-OAEP(SHA-256)
of a session key, then AES-256-GCM with a zero nonce; the strict scope's label is
`<namespace>/<name>`, pkg/apis/sealedsecrets/v1alpha1/sealedsecret_expansion.go), then
built, checked with kustomize and the SealedSecret CRD, and unsealed with each
controller's private key."""

from __future__ import annotations

import base64
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from meshgen.build import compile_fleet
from meshgen.output import write_tree
from meshgen.verify import SchemaSet, verify_tree

TOPOLOGIES = Path(__file__).resolve().parent / "istio"
SEALED_PATH = '"certs/{mesh}-{cluster}-cacerts.yaml"'
LABEL = b"istio-system/cacerts"  # strict scope: <namespace>/<name>


def _oaep(label: bytes) -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(),
                        label=label)


def seal(public: rsa.RSAPublicKey, plaintext: bytes) -> str:
    session = os.urandom(32)
    wrapped = public.encrypt(session, _oaep(LABEL))
    sealed = AESGCM(session).encrypt(b"\0" * 12, plaintext, None)
    return base64.b64encode(struct.pack(">H", len(wrapped)) + wrapped + sealed).decode()


def unseal(private: rsa.RSAPrivateKey, value: str) -> bytes:
    data = base64.b64decode(value)
    (length,) = struct.unpack(">H", data[:2])
    session = private.decrypt(data[2:2 + length], _oaep(LABEL))
    return AESGCM(session).decrypt(b"\0" * 12, data[2 + length:], None)


def kubeseal(secret: dict[str, Any], public: rsa.RSAPublicKey) -> dict[str, Any]:
    """The SealedSecret `kubeseal -o yaml` writes for secret (strict scope)."""
    metadata = {"creationTimestamp": None, "name": secret["metadata"]["name"],
                "namespace": secret["metadata"]["namespace"]}
    return {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": dict(metadata),
        "spec": {
            "encryptedData": {key: seal(public, base64.b64decode(value))
                              for key, value in sorted(secret["data"].items())},
            "template": {"metadata": {**metadata, "labels": secret["metadata"]["labels"]},
                         "type": secret["type"]},
        },
    }


def _meshgen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshgen", *args], capture_output=True,
                          text=True, check=False, timeout=60)


def sealed_fleet(directory: Path) -> tuple[Path, dict[str, rsa.RSAPrivateKey],
                                           dict[str, dict[str, bytes]]]:
    """The multi-primary golden fleet with sealed `cacerts`: the fleet, each cluster's
    controller key, and each cluster's plain `cacerts` files."""
    source = (TOPOLOGIES / "multi-primary" / "fleet.yaml").read_text()
    fleet = directory / "fleet.yaml"
    fleet.write_text(source.replace(
        '        externalSecret: {store: vault, storeKind: ClusterSecretStore, '
        'path: "pki/{mesh}/{cluster}"}', f"        sealedSecret: {SEALED_PATH}"))
    ca_dir = directory / "ca"
    made = _meshgen("ca", "init", str(fleet), "--dir", str(ca_dir), "--out",
                    str(directory / "unused"), "--key-type", "ec-p256")
    assert made.returncode == 0, made.stderr
    (directory / "certs").mkdir(exist_ok=True)
    keys: dict[str, rsa.RSAPrivateKey] = {}
    plain: dict[str, dict[str, bytes]] = {}
    for cluster in ("east", "west"):
        printed = _meshgen("ca", "secret", "prod", str(fleet), "--dir", str(ca_dir),
                           "--cluster", cluster)
        assert printed.returncode == 0, printed.stderr
        secret = yaml.safe_load(printed.stdout)
        plain[cluster] = {k: base64.b64decode(v) for k, v in secret["data"].items()}
        keys[cluster] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        sealed = kubeseal(secret, keys[cluster].public_key())
        (directory / "certs" / f"prod-{cluster}-cacerts.yaml").write_text(
            yaml.safe_dump(sealed, sort_keys=False))
    return fleet, keys, plain


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> tuple[
        Path, dict[str, rsa.RSAPrivateKey], dict[str, dict[str, bytes]]]:
    return sealed_fleet(tmp_path_factory.mktemp("sealed"))


def test_each_primary_gets_the_cacerts_sealed_for_its_controller(
        sealed: tuple[Path, dict[str, rsa.RSAPrivateKey], dict[str, dict[str, bytes]]],
        schemas: SchemaSet, tmp_path: Path) -> None:
    fleet, keys, plain = sealed
    build = compile_fleet(fleet, tmp_path / "overlays")
    write_tree(tmp_path / "overlays", build.files)
    report = verify_tree(tmp_path / "overlays", build.files, schemas)
    assert report.problems == []
    for cluster, other in (("east", "west"), ("west", "east")):
        rel = f"{cluster}/namespaces/istio-system/sealedsecret-cacerts.yaml"
        obj = yaml.safe_load(build.files[rel])
        assert obj["metadata"]["namespace"] == "istio-system"
        encrypted = obj["spec"]["encryptedData"]
        assert sorted(encrypted) == sorted(plain[cluster])
        # this cluster's controller unseals its own intermediate, the other's cannot
        assert {k: unseal(keys[cluster], v) for k, v in encrypted.items()} == plain[cluster]
        with pytest.raises(ValueError):
            unseal(keys[other], encrypted["ca-key.pem"])
        waves = {o["kind"]: int(o["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
                 for o in (yaml.safe_load(data) for r, data in build.files.items()
                           if r.startswith(f"{cluster}/")
                           and not r.endswith("kustomization.yaml"))}
        assert waves["SealedSecret"] < waves["Istio"]  # cacerts before istiod starts
    assert plain["east"]["ca-cert.pem"] != plain["west"]["ca-cert.pem"]
    assert plain["east"]["root-cert.pem"] == plain["west"]["root-cert.pem"]


def test_explain_names_the_sealed_files(
        sealed: tuple[Path, dict[str, rsa.RSAPrivateKey], dict[str, dict[str, bytes]]]
) -> None:
    fleet, _, _ = sealed
    result = _meshgen("explain", "prod", str(fleet))
    assert result.returncode == 0, result.stderr
    assert "SealedSecret per primary, certs/prod-{cluster}-cacerts.yaml" in result.stdout


def test_a_missing_cluster_file_is_located(
        sealed: tuple[Path, dict[str, rsa.RSAPrivateKey], dict[str, dict[str, bytes]]],
        tmp_path: Path) -> None:
    fleet, _, _ = sealed
    copy = tmp_path / "fleet.yaml"
    copy.write_text(fleet.read_text())
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "prod-east-cacerts.yaml").write_bytes(
        (fleet.parent / "certs" / "prod-east-cacerts.yaml").read_bytes())
    result = _meshgen("build", str(copy), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    line = next(i for i, text in enumerate(copy.read_text().splitlines(), 1)
                if "sealedSecret" in text)
    assert f"fleet.yaml:{line}:" in result.stderr and "error[MG120]" in result.stderr
    assert "certs/prod-west-cacerts.yaml" in result.stderr
    assert "--cluster west" in result.stderr
    assert not (tmp_path / "out").exists()
