"""Root certificates: parsed and checked with cryptography, never trusted as text."""

from __future__ import annotations

import datetime
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding

from .errors import plural
from .readlog import Unreadable, read_capped

EXPIRY_WARNING = datetime.timedelta(days=30)
# what cryptography raises for a damaged or crafted certificate (not all are ValueErrors)
UNREADABLE = (ValueError, TypeError, UnsupportedAlgorithm, x509.DuplicateExtension,
              x509.UnsupportedGeneralNameType, x509.InvalidVersion)
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


def read_pem(path: Path) -> bytes:
    """The bytes of a certificate file, or a CertificateProblem (MG051)."""
    try:
        raw = read_capped(path, MAX_PEM_BYTES)
    except Unreadable as exc:
        raise CertificateProblem(
            "MG051", f"cannot read certificate file {str(path)!r}: {exc}",
            "check the path (relative to fleet.yaml) or create the file",
        ) from None
    if len(raw) > MAX_PEM_BYTES:
        raise CertificateProblem(
            "MG051", f"{path} is larger than {MAX_PEM_BYTES} bytes, too large for a "
            "certificate bundle", "point the setting at a PEM file of certificates",
        )
    return raw


def read_root(path: Path, now: datetime.datetime | None = None) -> RootCertificate:
    """Read a PEM file holding one or more CA certificates; refuse anything else."""
    return parse_root(read_pem(path), str(path), now)


def parse_root(raw: bytes, name: str, now: datetime.datetime | None = None
               ) -> RootCertificate:
    certificates = parse_certificates(raw, name, now)
    return RootCertificate(
        pem="".join(c.public_bytes(Encoding.PEM).decode("ascii") for c in certificates),
        subjects=tuple(c.subject.rfc4514_string() for c in certificates),
        not_after=min(c.not_valid_after_utc for c in certificates),
    )


def parse_certificates(raw: bytes, name: str, now: datetime.datetime | None = None
                       ) -> list[x509.Certificate]:
    """The CA certificates of a PEM bundle, each checked; refuse keys and anything else."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    kinds = pem_kinds(raw)
    if any("PRIVATE KEY" in kind for kind in kinds):
        raise CertificateProblem(
            "MG055", f"{name} contains a private key",
            "keep only public certificates in the fleet repository; remove the key "
            "and rotate it, since it may have been committed",
        )
    if kinds - {"CERTIFICATE"} or not kinds:
        raise CertificateProblem(
            "MG051", f"{name} is not a PEM file of certificates"
            + (f" (found {', '.join(sorted(kinds))})" if kinds else ""),
            "the file must hold '-----BEGIN CERTIFICATE-----' blocks only",
        )
    try:
        certificates = x509.load_pem_x509_certificates(raw)
    except UNREADABLE as exc:
        raise CertificateProblem(
            "MG051", f"{name}: cannot parse certificate: {exc}",
            "regenerate or re-export the certificate as PEM",
        ) from None
    for number, cert in enumerate(certificates, 1):
        _decode(cert, name, number)
        _check_ca(name, cert, now)
    return certificates


def _decode(cert: x509.Certificate, name: str, number: int) -> None:
    """Read every part meshgen (or istiod) will look at now: cryptography parses names,
    extensions and the signature algorithm only when asked, and a crafted certificate
    (duplicate or malformed extensions, an unknown algorithm) fails there."""
    try:
        cert.subject.rfc4514_string()
        cert.issuer.rfc4514_string()
        list(cert.extensions)
        cert.signature_hash_algorithm  # noqa: B018  (read for its check)
        cert.public_key()
        cert.not_valid_before_utc, cert.not_valid_after_utc  # noqa: B018
    except UNREADABLE as exc:
        raise CertificateProblem(
            "MG051", f"{name}: certificate {number} in the file cannot be read: "
            f"{type(exc).__name__}: {exc}",
            "regenerate or re-export the certificate; this one is damaged or crafted",
        ) from None


def pem_kinds(raw: bytes) -> set[str]:
    """The labels of the PEM blocks in raw ("CERTIFICATE", "PRIVATE KEY", ...)."""
    return {m.group(1).decode() for m in _PEM_BLOCK.finditer(raw)}


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether issuer's key signed cert (and names it as issuer)."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def check_chain(chain: list[x509.Certificate], roots: list[x509.Certificate], name: str
                ) -> None:
    """chain (issuing CA first) must lead, certificate by certificate, to one of roots."""
    for cert, issuer in itertools.pairwise(chain):
        if not signed_by(cert, issuer):
            raise CertificateProblem(
                "MG059", f"{name}: {_subject(cert)!r} is not signed by the next certificate "
                f"in the file, {_subject(issuer)!r}",
                "cert-chain.pem lists the mesh's CA first, then each issuer up to the root")
    last = chain[-1]
    path = list(chain)
    if not any(last.public_bytes(Encoding.DER) == r.public_bytes(Encoding.DER) for r in roots):
        root = next((r for r in roots if signed_by(last, r)), None)
        if root is None:
            raise CertificateProblem(
                "MG059", f"{name}: {_subject(last)!r} is not signed by the root "
                + " or ".join(repr(_subject(r)) for r in roots),
                "the mesh's intermediate CA must be issued by the root its peers trust; "
                "issue it again from that root (`meshgen ca init` does for labs)")
        path.append(root)
    _check_path_lengths(path, name)


def _check_path_lengths(path: list[x509.Certificate], name: str) -> None:
    """Each CA's pathLenConstraint must allow the CAs below it (the mesh's CA at index 0
    signs workload leaves only, so it needs none)."""
    for below, cert in enumerate(path):
        try:
            limit = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            continue
        if limit.path_length is not None and limit.path_length < below:
            raise CertificateProblem(
                "MG059", f"{name}: {_subject(cert)!r} allows "
                f"{plural(limit.path_length, 'CA certificate')} below it (pathLenConstraint) "
                f"but has {below}",
                "issue the mesh's CA directly from a CA whose pathLenConstraint allows it")


def _subject(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


def _check_ca(path: str, cert: x509.Certificate, now: datetime.datetime) -> None:
    subject = cert.subject.rfc4514_string()
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = constraints.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise CertificateProblem(
            "MG052", f"{path}: certificate {subject!r} is not a CA certificate",
            "a root or intermediate CA certificate (basicConstraints CA:TRUE) is needed "
            "here, not a leaf",
        )
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.key_cert_sign:
            raise CertificateProblem(
                "MG052", f"{path}: CA certificate {subject!r} may not sign certificates",
                "a CA certificate needs the keyCertSign key usage",
            )
    except x509.ExtensionNotFound:
        pass
    if cert.not_valid_after_utc <= now:
        raise CertificateProblem(
            "MG053", f"{path}: certificate {subject!r} expired on "
            f"{cert.not_valid_after_utc:%Y-%m-%d}",
            "rotate the CA and commit the new public certificate",
        )
    if cert.not_valid_before_utc > now:
        raise CertificateProblem(
            "MG053", f"{path}: certificate {subject!r} is not valid before "
            f"{cert.not_valid_before_utc:%Y-%m-%d}",
            "check the certificate's validity dates and the machine's clock",
        )
