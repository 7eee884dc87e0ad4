"""Crafted and byte-flipped certificates: each is accepted or refused with a located MG05x
error, never a traceback."""

from __future__ import annotations

import base64
import random
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from der import encode, join, split

from conftest import REPO, fleet_head
from meshgen.ca import certificate_pem, make_certificate
from meshgen.certs import CertificateProblem, check_chain, parse_certificates, parse_root

BASIC_CONSTRAINTS = encode(0x06, bytes([0x55, 0x1D, 0x13]))
UNKNOWN_ALGORITHM = join(0x30, [encode(0x06, bytes([0x2A, 0x03, 0x04]))])  # OID 1.2.3.4


def pem(der: bytes) -> bytes:
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n".encode()


def _with_extensions(der: bytes, edit: Callable[[list[bytes]], list[bytes]]) -> bytes:
    tag, (tbs, algorithm, signature) = split(der)
    tbs_tag, fields = split(tbs)
    wrapper_tag, [extensions] = split(fields[-1])
    list_tag, items = split(extensions)
    fields[-1] = join(wrapper_tag, [join(list_tag, edit(items))])
    return join(tag, [join(tbs_tag, fields), algorithm, signature])


def duplicate_extension(der: bytes) -> bytes:
    return _with_extensions(der, lambda items: [*items, items[0]])


def malformed_extension(der: bytes) -> bytes:
    """basicConstraints whose value is an ASN.1 NULL instead of a SEQUENCE."""
    def edit(items: list[bytes]) -> list[bytes]:
        result = []
        for item in items:
            _, parts = split(item)
            if parts[0] == BASIC_CONSTRAINTS:
                item = join(0x30, [*parts[:-1], encode(0x04, b"\x05\x00")])
            result.append(item)
        return result
    return _with_extensions(der, edit)


def unknown_signature_algorithm(der: bytes) -> bytes:
    tag, (tbs, _, signature) = split(der)
    tbs_tag, fields = split(tbs)
    fields[2] = UNKNOWN_ALGORITHM
    return join(tag, [join(tbs_tag, fields), UNKNOWN_ALGORITHM, signature])


CRAFTED = {f.__name__: f for f in (duplicate_extension, malformed_extension,
                                   unknown_signature_algorithm)}


def crafted_root(craft: str) -> bytes:
    cert, _ = make_certificate("crafted root CA")
    return pem(CRAFTED[craft](cert.public_bytes(Encoding.DER)))


@pytest.mark.parametrize("craft", sorted(CRAFTED))
def test_a_crafted_root_is_refused(craft: str) -> None:
    with pytest.raises(CertificateProblem) as exc:
        parse_root(crafted_root(craft), "root.pem")
    assert exc.value.code == "MG051"
    assert exc.value.message.startswith("root.pem: certificate 1 in the file cannot be read")


@pytest.mark.parametrize("craft", sorted(CRAFTED))
def test_a_crafted_root_is_a_located_error_of_the_build(tmp_path: Path, craft: str) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "a.pem").write_bytes(crafted_root(craft))
    (tmp_path / "certs" / "b.pem").write_text(certificate_pem(make_certificate("b")[0]))
    (tmp_path / "fleet.yaml").write_text(fleet_head("crafted") + textwrap.dedent("""\
        meshes:
          - {name: a-mesh, cluster: east, rootCert: certs/a.pem}
          - {name: b-mesh, cluster: west, rootCert: certs/b.pem}
        federations:
          - {name: ab, meshes: [a-mesh, b-mesh]}
        """))
    result = subprocess.run([sys.executable, "-m", "meshgen", "build", "fleet.yaml"],
                            capture_output=True, text=True, cwd=tmp_path, check=False,
                            timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("fleet.yaml:10:45: error[MG051]: "), result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "overlays").exists()


FLIPS = 300
BUNDLED = REPO / "fleet" / "certs"


def test_byte_flipped_bundled_certificates_never_crash() -> None:
    """FLIPS single-bit flips (fixed seed) in the DER of the example's certificates, read
    the way a build reads roots and chains: accepted, or refused with an MG05x code."""
    rng = random.Random(17)
    roots = x509.load_pem_x509_certificates((BUNDLED / "prod-mesh.pem").read_bytes())
    sources = {path.name: [c.public_bytes(Encoding.DER) for c in
                           x509.load_pem_x509_certificates(path.read_bytes())]
               for path in sorted(BUNDLED.glob("*.pem"))}
    outcomes: Counter[str] = Counter()
    for _ in range(FLIPS):
        name = rng.choice(sorted(sources))
        certificates = list(sources[name])
        index = rng.randrange(len(certificates))
        der = bytearray(certificates[index])
        der[rng.randrange(len(der))] ^= 1 << rng.randrange(8)
        certificates[index] = bytes(der)
        data = b"".join(pem(c) for c in certificates)
        try:
            if "chain" in name:
                check_chain(parse_certificates(data, name), roots, name)
            else:
                parse_root(data, name)
            outcomes["accepted"] += 1
        except CertificateProblem as exc:
            assert exc.code.startswith("MG05"), exc.code
            outcomes[exc.code] += 1
    assert sum(outcomes.values()) == FLIPS
    assert outcomes["MG051"] > FLIPS // 3, outcomes  # most flips break the encoding
