from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from meshgen.ca import certificate_pem, issue_intermediate, make_certificate
from meshgen.certs import EXPIRY_WARNING, CertificateProblem, check_chain, read_root, signed_by

NOW = datetime.datetime.now(datetime.timezone.utc)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "root.pem"
    path.write_text(text)
    return path


def code_of(path: Path) -> str:
    with pytest.raises(CertificateProblem) as exc:
        read_root(path)
    return exc.value.code


def test_a_ca_bundle_is_read_and_normalised(tmp_path: Path) -> None:
    first, _ = make_certificate("one")
    second, _ = make_certificate("two", days=100)
    path = write(tmp_path, "# comment\n" + certificate_pem(first) + "\n" + certificate_pem(second))
    root = read_root(path)
    assert root.pem == certificate_pem(first) + certificate_pem(second)
    assert root.subjects == ("CN=one,O=meshgen example", "CN=two,O=meshgen example")
    assert root.not_after == second.not_valid_after_utc
    assert not root.expires_within(NOW, EXPIRY_WARNING)


def test_leaf_certificates_are_refused(tmp_path: Path) -> None:
    leaf, _ = make_certificate("leaf", ca=False)
    assert code_of(write(tmp_path, certificate_pem(leaf))) == "MG052"


def test_expired_and_future_certificates_are_refused(tmp_path: Path) -> None:
    expired, _ = make_certificate("old", days=10, not_before=NOW - datetime.timedelta(days=30))
    assert code_of(write(tmp_path, certificate_pem(expired))) == "MG053"
    future, _ = make_certificate("new", days=10, not_before=NOW + datetime.timedelta(days=3))
    assert code_of(write(tmp_path, certificate_pem(future))) == "MG053"


def test_soon_expiring_certificate_is_flagged(tmp_path: Path) -> None:
    soon, _ = make_certificate("soon", days=10)
    assert read_root(write(tmp_path, certificate_pem(soon))).expires_within(NOW, EXPIRY_WARNING)


def test_private_keys_are_refused_and_never_echoed(tmp_path: Path) -> None:
    cert, key = make_certificate("with key")
    key_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    path = write(tmp_path, certificate_pem(cert) + key_pem)
    with pytest.raises(CertificateProblem) as exc:
        read_root(path)
    assert exc.value.code == "MG055"
    assert "PRIVATE KEY-----" not in exc.value.message + exc.value.hint


@pytest.mark.parametrize("text", ["", "not a certificate\n",
                                  "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                                  "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"])
def test_garbage_is_refused(tmp_path: Path, text: str) -> None:
    assert code_of(write(tmp_path, text)) == "MG051"


def test_missing_file(tmp_path: Path) -> None:
    assert code_of(tmp_path / "nope.pem") == "MG051"


def test_chains_are_followed_to_the_root_with_path_lengths() -> None:
    root, root_key = make_certificate("root")
    issuing, issuing_key = issue_intermediate(root, root_key, "issuing CA")
    check_chain([issuing], [root], "chain.pem")
    check_chain([issuing, root], [root], "chain.pem")
    # issue_intermediate makes pathLenConstraint 0: it may sign workload leaves only
    below, _ = issue_intermediate(issuing, issuing_key, "one CA too deep")
    assert signed_by(below, issuing)
    with pytest.raises(CertificateProblem) as exc:
        check_chain([below, issuing], [root], "chain.pem")
    assert exc.value.code == "MG059" and "pathLenConstraint" in exc.value.message
    other, _ = make_certificate("another root")
    with pytest.raises(CertificateProblem) as exc:
        check_chain([issuing], [other], "chain.pem")
    assert exc.value.code == "MG059" and "not signed by the root" in exc.value.message
    with pytest.raises(CertificateProblem) as exc:
        check_chain([root, issuing], [root], "chain.pem")
    assert "next certificate" in exc.value.message
