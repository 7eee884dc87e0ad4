"""Creating CA certificates with cryptography (`meshgen ca init`, example fleets, tests)."""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from cryptography.x509.oid import NameOID

from .defaults import KeyType

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def new_key(key_type: KeyType = "ec-p256") -> PrivateKey:
    if key_type == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[4:]))


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _ca_usage(signs: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=not ca,
        data_encipherment=False, key_agreement=False, key_cert_sign=signs, crl_sign=signs,
        encipher_only=False, decipher_only=False)


def _start(not_before: datetime.datetime | None) -> datetime.datetime:
    # a few minutes back, so a clock slightly behind still accepts the certificate
    return not_before or datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(
        minutes=5)


def make_certificate(
    common_name: str,
    *,
    days: int = 3650,
    ca: bool = True,
    not_before: datetime.datetime | None = None,
    organization: str = "meshgen example",
    key_cert_sign: bool | None = None,
    key_type: KeyType = "ec-p256",
) -> tuple[x509.Certificate, PrivateKey]:
    """A self-signed certificate and its key; a CA (keyCertSign) unless ca=False.
    key_cert_sign=False makes the broken kind: a CA that may not sign certificates."""
    signs = ca if key_cert_sign is None else key_cert_sign
    key = new_key(key_type)
    name = _name(common_name, organization)
    start = _start(not_before)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(_ca_usage(signs, ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
    )
    return builder.sign(key, hashes.SHA256()), key


def issue_intermediate(
    root: x509.Certificate,
    root_key: PrivateKey,
    common_name: str,
    *,
    days: int = 730,
    organization: str = "meshgen example",
    not_before: datetime.datetime | None = None,
    key_type: KeyType = "ec-p256",
) -> tuple[x509.Certificate, PrivateKey]:
    """An intermediate CA signed by root: it may sign workload certificates only."""
    key = new_key(key_type)
    start = _start(not_before)
    end = min(start + datetime.timedelta(days=days), root.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organization))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_usage(True, True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            root_key.public_key()), critical=False)
    )
    return builder.sign(root_key, hashes.SHA256()), key


def certificate_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(Encoding.PEM).decode("ascii")


def private_key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
