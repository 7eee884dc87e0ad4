"""Root certificates: parsed and checked with cryptography, never trusted as text."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from .source import Unreadable, read_capped

EXPIRY_WARNING = datetime.timedelta(days=30)
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")


class CertificateProblem(Exception):
    """A root certificate that cannot be used; code and hint for the located error."""

    def __init__(self, code: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class RootCertificate:
    pem: str  # canonical PEM of every certificate in the file, nothing else
    subjects: tuple[str, ...]
    not_after: datetime.datetime

    def expires_within(self, now: datetime.datetime, window: datetime.timedelta) -> bool:
        return self.not_after - now < window


MAX_PEM_BYTES = 1024 * 1024


def read_root(path: Path, now: datetime.datetime | None = None) -> RootCertificate:
    """Read a PEM file holding one or more CA certificates; refuse anything else."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    try:
        raw = read_capped(path, MAX_PEM_BYTES)
    except Unreadable as exc:
        raise CertificateProblem(
            "MG051", f"cannot read root certificate {str(path)!r}: {exc}",
            "check the path (relative to fleet.yaml) or create the file",
        ) from None
    if len(raw) > MAX_PEM_BYTES:
        raise CertificateProblem(
            "MG051", f"{path} is larger than {MAX_PEM_BYTES} bytes, too large for a root bundle",
            "point rootCert at the PEM file of the root certificate(s)",
        )
    kinds = {m.group(1).decode() for m in _PEM_BLOCK.finditer(raw)}
    if any("PRIVATE KEY" in kind for kind in kinds):
        raise CertificateProblem(
            "MG055", f"{path} contains a private key",
            "keep only the public root certificate in the fleet repository; remove the key "
            "and rotate it, since it may have been committed",
        )
    if kinds - {"CERTIFICATE"} or not kinds:
        raise CertificateProblem(
            "MG051", f"{path} is not a PEM file of certificates"
            + (f" (found {', '.join(sorted(kinds))})" if kinds else ""),
            "the file must hold '-----BEGIN CERTIFICATE-----' blocks only",
        )
    try:
        certificates = x509.load_pem_x509_certificates(raw)
    except ValueError as exc:
        raise CertificateProblem(
            "MG051", f"{path}: cannot parse certificate: {exc}",
            "regenerate or re-export the certificate as PEM",
        ) from None
    for cert in certificates:
        _check_ca(path, cert, now)
    return RootCertificate(
        pem="".join(c.public_bytes(Encoding.PEM).decode("ascii") for c in certificates),
        subjects=tuple(c.subject.rfc4514_string() for c in certificates),
        not_after=min(c.not_valid_after_utc for c in certificates),
    )


def _check_ca(path: Path, cert: x509.Certificate, now: datetime.datetime) -> None:
    subject = cert.subject.rfc4514_string()
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = constraints.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise CertificateProblem(
            "MG052", f"{path}: certificate {subject!r} is not a CA certificate",
            "rootCert must be the mesh's root CA (basicConstraints CA:TRUE), not a leaf",
        )
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.key_cert_sign:
            raise CertificateProblem(
                "MG052", f"{path}: CA certificate {subject!r} may not sign certificates",
                "the root needs the keyCertSign key usage",
            )
    except x509.ExtensionNotFound:
        pass
    if cert.not_valid_after_utc <= now:
        raise CertificateProblem(
            "MG053", f"{path}: certificate {subject!r} expired on "
            f"{cert.not_valid_after_utc:%Y-%m-%d}",
            "rotate the mesh's root CA and commit the new public certificate",
        )
    if cert.not_valid_before_utc > now:
        raise CertificateProblem(
            "MG053", f"{path}: certificate {subject!r} is not valid before "
            f"{cert.not_valid_before_utc:%Y-%m-%d}",
            "check the certificate's validity dates and the machine's clock",
        )
