"""The private-key scan before writing: every form a key can take in the output is found
(PEM, PEM folded by the emitter, OpenPGP armour, base64 of PEM or of DER), and public
material (certificates, the example's overlays) is not mistaken for a key."""

from __future__ import annotations

import base64
import os
import textwrap
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from conftest import EXAMPLE_OVERLAYS, TWO_CLUSTERS, FleetWriter
from meshgen.build import compile_fleet
from meshgen.ca import certificate_pem, make_certificate, private_key_pem
from meshgen.emit import dump
from meshgen.errors import FleetError
from meshgen.keyscan import private_keys

KEYS: dict[str, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey] = {
    "ec-p256": ec.generate_private_key(ec.SECP256R1()),
    "ec-p384": ec.generate_private_key(ec.SECP384R1()),
    "rsa-2048": rsa.generate_private_key(65537, 2048),
    "ed25519": ed25519.Ed25519PrivateKey.generate(),
}
FORMATS = {"pkcs8": PrivateFormat.PKCS8, "traditional": PrivateFormat.TraditionalOpenSSL}
# an OpenPGP secret key as `gpg --export-secret-keys --armor` frames it (RFC 4880, 6.2);
# the body is opaque to the scan, the armour header is what it finds
PGP_BLOCK = ("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n"
             + "\n".join(textwrap.wrap(base64.b64encode(b"\x95\x01\xd8\x04" + os.urandom(400))
                                       .decode(), 64))
             + "\n=Qm5x\n-----END PGP PRIVATE KEY BLOCK-----\n")


def der_keys() -> list[tuple[str, bytes]]:
    found = []
    for name, key in sorted(KEYS.items()):
        for form, private_format in sorted(FORMATS.items()):
            if name == "ed25519" and form == "traditional":
                continue  # Ed25519 keys have no traditional form
            found.append((f"{name}-{form}", key.private_bytes(Encoding.DER, private_format,
                                                                NoEncryption())))
    return found


def scanned(value: str) -> list[str]:
    """How the scan describes the key in an object holding value, as the emitter writes
    it (empty: no key found)."""
    data = dump({"apiVersion": "v1", "kind": "ConfigMap", "data": {"note": value}}, "f.yaml")
    return [p.message.rsplit("(", 1)[1].rstrip(")") for p in
            private_keys({"c/m.yaml": data}, Path("out"))]


@pytest.mark.parametrize(("name", "der"), der_keys(), ids=[n for n, _ in der_keys()])
def test_base64_of_der_keys_is_found(name: str, der: bytes) -> None:
    encoded = base64.b64encode(der).decode()
    assert scanned(encoded) == ["base64-encoded DER"]
    assert scanned(f"key={encoded} end") == ["base64-encoded DER"]
    wrapped = "\n".join(textwrap.wrap(encoded, 64)) + "\n"
    assert scanned(wrapped) == ["base64-encoded DER"]  # a literal block, line by line
    assert scanned("\x07" + wrapped) == ["base64-encoded DER"]  # double-quoted, "\n" escapes


@pytest.mark.parametrize("offset", [0, 1, 2])
def test_base64_of_pem_keys_is_found_at_each_offset(offset: int) -> None:
    """"-----BEGIN" encodes differently at each of the three byte offsets it can have in
    the encoded value; the scan looks for all three (before it decodes anything)."""
    pem = private_key_pem(ec.generate_private_key(ec.SECP256R1()))
    encoded = base64.b64encode(b"#" * offset + pem).decode()
    assert scanned(encoded) == ["base64-encoded PEM"]
    assert scanned(f"value: {encoded}") == ["base64-encoded PEM"]


def test_a_pgp_private_key_block_is_found() -> None:
    assert scanned(PGP_BLOCK) == ["OpenPGP"]


def test_a_pem_key_folded_by_the_emitter_is_found() -> None:
    _, key = make_certificate("leaked")
    pem = private_key_pem(key).decode().replace("\n", " ")
    for width in range(65500, 65540):  # where the emitter's line break splits the header
        value = "x" * width + " " + pem
        data = dump({"data": {"note": value}}, "f.yaml")
        if b"-----BEGIN PRIVATE KEY-----" not in data:
            break
    else:
        raise AssertionError("the emitter never folded the header")
    assert b"-----BEGIN PRIVATE\n" in data
    assert [p.code for p in private_keys({"m.yaml": data}, Path("out"))] == ["MG121"]


def test_public_material_is_no_key() -> None:
    cert, key = make_certificate("public")
    pem = certificate_pem(cert)
    der = cert.public_bytes(Encoding.DER)
    public = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    for value in (pem, base64.b64encode(der).decode(), base64.b64encode(public).decode(),
                  "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + "A" * 300):
        assert scanned(value) == [], value
    files = {str(p.relative_to(EXAMPLE_OVERLAYS)): p.read_bytes()
             for p in EXAMPLE_OVERLAYS.rglob("*.yaml")}
    assert files and private_keys(files, EXAMPLE_OVERLAYS) == []


SMCP_FLEET = TWO_CLUSTERS + """\
meshes:
  - name: red
    cluster: east
    smcpSpec:
      techPreview: {note: NOTE}
"""


@pytest.mark.parametrize("form", ["der-base64", "pgp", "folded-pem"])
def test_the_build_refuses_each_form(write_fleet: FleetWriter, tmp_path: Path,
                                     form: str) -> None:
    _, key = make_certificate("leaked CA")
    if form == "der-base64":
        note = base64.b64encode(key.private_bytes(Encoding.DER, PrivateFormat.PKCS8,
                                                  NoEncryption())).decode()
    elif form == "pgp":
        note = PGP_BLOCK
    else:
        # at this length the emitter breaks the line inside the SMCP's "BEGIN PRIVATE KEY"
        note = "x" * 65507 + " " + private_key_pem(key).decode().replace("\n", " ")
    fleet = write_fleet(SMCP_FLEET.replace("NOTE", '"' + note.replace("\n", "\\n") + '"'))
    with pytest.raises(FleetError) as exc:
        compile_fleet(fleet, tmp_path / "out")
    [problem] = exc.value.problems.errors
    assert problem.code == "MG121"
    assert problem.location.file.endswith("servicemeshcontrolplane-red.yaml")
    assert not (tmp_path / "out").exists()
