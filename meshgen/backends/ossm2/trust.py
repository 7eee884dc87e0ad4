"""Trust between meshes: each mesh's CA mode, shared federation roots, and the
certificates a fleet commits (public roots and chains, sealed `cacerts` Secrets)."""

from __future__ import annotations

import datetime
import shlex
from pathlib import Path
from typing import Any

from cryptography import x509

from ...certs import (
    EXPIRY_WARNING,
    CertificateProblem,
    RootCertificate,
    check_chain,
    parse_certificates,
    read_pem,
    read_root,
)
from ...defaults import DEFAULT_FLEET
from ...errors import FleetError
from ...plan.checker import Checker
from ...plan.types import CACERTS, CACERTS_KEYS, MeshPlan, TrustPlan, shared_trust
from ...readlog import note_exists
from ...source import PathKey, load

SEALED_API = "bitnami.com/v1alpha1"
# istiod reads the kubernetes.io/tls layout (tls.crt, tls.key, ca.crt) that cert-manager
# writes from Istio 1.15 on (istio/istio#39732); OSSM 2.4 is the first on Istio >= 1.15
CERT_MANAGER_MIN_VERSION = (2, 4)


class TrustRules(Checker):
    read_certificates = True

    # each mesh's CA settings ------------------------------------------------------------

    def check_ca(self, mesh: MeshPlan) -> None:
        ca = mesh.ca
        where = mesh.origins.get("ca", mesh.origin("name"))
        secret_at = mesh.origins.get("ca.secret", where)
        sources = [s for s in (ca.external_secret, ca.sealed_secret_path, ca.out_of_band) if s]
        if ca.type == "plugin" and len(sources) != 1:
            self.error("MG057", f'mesh "{mesh.name}": a plugin CA needs exactly one way for '
                       f"the `{CACERTS}` Secret to arrive", secret_at,
                       "set ca.secret to one of externalSecret: {store, path}, "
                       "sealedSecret: <file> or none: {}")
        if ca.type != "plugin" and sources:
            self.error("MG057", f'mesh "{mesh.name}": ca.secret is only for `type: plugin`',
                       secret_at, "a certManager CA is written by cert-manager; a selfSigned "
                       "one by istiod" if ca.type == "certManager" else
                       "set `type: plugin` to plug in a CA, or remove `secret`")
        issuer_at = mesh.origins.get("ca.issuer", where)
        if ca.type == "certManager" and ca.issuer_name is None:
            self.error("MG057", f'mesh "{mesh.name}": a certManager CA needs an `issuer`',
                       where, "name the cert-manager Issuer or ClusterIssuer that signs the "
                       "mesh's intermediate CA: issuer: {name: mesh-root, kind: ClusterIssuer}")
        if ca.type != "certManager" and ca.issuer_name is not None:
            self.error("MG057", f'mesh "{mesh.name}": ca.issuer is only for '
                       "`type: certManager`", issuer_at, "remove `issuer`, or set "
                       "`type: certManager`")
        if ca.type == "certManager" and mesh.version_tuple < CERT_MANAGER_MIN_VERSION:
            self.error("MG057", f'mesh "{mesh.name}": a certManager CA needs version v2.4 or '
                       f"later, not {mesh.version}", mesh.origins.get("ca.type", where),
                       "istiod reads the tls.crt/tls.key/ca.crt Secret cert-manager writes "
                       "from OSSM 2.4 on; upgrade, or use `type: plugin`")
        if ca.type == "selfSigned" and ca.cert_chain_path is not None:
            self.error("MG057", f'mesh "{mesh.name}": ca.certChain is only for a plugged-in '
                       "CA", mesh.origins.get("ca.certChain", where),
                       "istiod makes a selfSigned mesh's CA itself; set `type: plugin` or "
                       "`certManager`, or remove `certChain`")
        if ca.sealed_secret_path is not None and self.read_certificates:
            ca.sealed_secret = self.sealed_secret(
                mesh, (*mesh.origins.get("ca.secret", where), "sealedSecret"))

    def sealed_secret(self, mesh: MeshPlan, path: PathKey) -> dict[str, Any] | None:
        """The SealedSecret file of a plugin mesh, checked to unseal into its `cacerts`."""
        assert mesh.ca.sealed_secret_path is not None
        file = self.base_dir / mesh.ca.sealed_secret_path
        try:
            data = load(file, mesh.ca.sealed_secret_path).data
        except FleetError as exc:
            first = next(iter(exc.problems))
            self.error("MG120", f"sealed secret {first.location}: {first.message}", path,
                       "point sealedSecret at the file kubeseal wrote (`kubeseal -o yaml`)")
            return None
        wrong = sealed_secret_problem(data, mesh.namespace)
        if wrong:
            self.error("MG120", f"sealed secret {mesh.ca.sealed_secret_path} {wrong}", path,
                       f"seal the `{CACERTS}` Secret of namespace {mesh.namespace}, e.g. "
                       f"meshgen ca secret {mesh.name} | kubeseal -o yaml > "
                       f"{mesh.ca.sealed_secret_path}")
            return None
        assert isinstance(data, dict)
        return data

    # federations' trust -----------------------------------------------------------------

    def trust(self, meshes: dict[str, MeshPlan]) -> list[TrustPlan]:
        plans: list[TrustPlan] = []
        shared_by: dict[str, TrustPlan] = {}
        # (mesh, the shared federation it chains to, another shared federation it is in)
        doubles: list[tuple[str, TrustPlan, TrustPlan]] = []
        for i, fed in enumerate(self.fleet.federations):
            path: PathKey = ("federations", i, "trust")
            members = tuple(m for m in dict.fromkeys(fed.meshes) if m in meshes)
            plan = TrustPlan(fed.name, fed.trust.type, members, fed.trust.root_cert, path)
            plans.append(plan)
            if plan.type == "limited":
                if plan.root_cert_path is not None:
                    self.error("MG058", f'federation "{fed.name}": trust.rootCert is only '
                               "for `type: shared`", (*path, "rootCert"),
                               "with limited trust each mesh has its own root (its rootCert)")
                continue
            if plan.root_cert_path is None:
                self.error("MG058", f'federation "{fed.name}" shares one root but names no '
                           "`trust.rootCert`", path,
                           "set trust.rootCert to the PEM file of the shared root CA")
            for name in members:
                mesh = meshes[name]
                if not mesh.ca.plugged_in:
                    self.error("MG058", f'mesh "{name}" of federation "{fed.name}" (shared '
                               "trust) has a selfSigned CA", mesh.origins.get(
                                   "ca.type", mesh.origin("name")),
                               "a shared root needs a plugged-in intermediate CA in every "
                               "mesh: set ca.type to plugin or certManager")
                first = shared_by.setdefault(name, plan)
                mesh.ca.shared_by = first.federation
                if first is not plan:
                    doubles.append((name, first, plan))
        if self.read_certificates:
            for plan in plans:
                if plan.type == "shared" and plan.root_cert_path is not None:
                    plan.root = self.root_at(plan.root_cert_path, (*plan.origin, "rootCert"),
                                             f'shared root of federation "{plan.federation}"')
        for name, first, plan in doubles:
            if not self.same_root(first, plan):
                self.error("MG058", f'mesh "{name}" is in federations "{first.federation}" '
                           f'and "{plan.federation}", which share different roots',
                           plan.origin, "a mesh's CA chains to one root; give both "
                           "federations the same trust.rootCert")
        return plans

    def same_root(self, one: TrustPlan, other: TrustPlan) -> bool:
        """Whether two shared federations name one root: the same certificates, or (before
        they are read) the same file."""
        if one.root is not None and other.root is not None:
            return one.root.pem == other.root.pem
        if one.root_cert_path is None or other.root_cert_path is None:
            return True  # reported as a missing trust.rootCert
        return (self.base_dir / one.root_cert_path).resolve() == \
            (self.base_dir / other.root_cert_path).resolve()

    def load_root(self, mesh: MeshPlan, trust: list[TrustPlan],
                  unimported: list[MeshPlan]) -> None:
        """Find the root mesh's peers trust: a shared federation root, or the mesh's own.
        A selfSigned root not imported yet goes to unimported (see report_unimported)."""
        if not self.read_certificates:
            return
        shared = shared_trust(mesh, trust)
        if shared is not None:
            mesh.root = shared.root
            self.check_own_root(mesh, shared)
        elif mesh.root_cert_path is None:
            self.error("MG050", f'mesh "{mesh.name}" is federated but has no `rootCert`',
                       mesh.origin("name"), _missing_root_hint(mesh))
            return
        elif mesh.ca.type == "selfSigned" and _absent(self.base_dir / mesh.root_cert_path):
            unimported.append(mesh)
            return
        else:
            mesh.root = self.root_at(mesh.root_cert_path, mesh.origin("rootCert"),
                                     f'root certificate of mesh "{mesh.name}"')
        if mesh.root is not None and mesh.ca.cert_chain_path is not None:
            self.check_cert_chain(mesh, mesh.root)

    def check_self_signed_roots(self, meshes: list[MeshPlan]) -> None:
        """istiod makes a root of its own for every selfSigned mesh: two such meshes whose
        files hold the same root mean one file holds another mesh's root (a copy, or a
        mistaken `certs import`), and its peers would trust the wrong mesh."""
        first: dict[str, MeshPlan] = {}
        for mesh in meshes:
            if mesh.ca.type != "selfSigned" or mesh.root is None or mesh.root_cert_path is None:
                continue
            owner = first.setdefault(mesh.root.pem, mesh)
            # meshes naming one file are not caught here (certs import refuses to write a
            # file another setting names); two files holding one root are
            if owner is not mesh and owner.root_cert_path is not None and \
                    owner.root_cert_path != mesh.root_cert_path and \
                    (self.base_dir / owner.root_cert_path).resolve() != \
                    (self.base_dir / mesh.root_cert_path).resolve():
                self.error("MG126", f'selfSigned mesh "{mesh.name}" has the same root as '
                           f'selfSigned mesh "{owner.name}" ({owner.root_cert_path}); istiod '
                           "makes a different root for each", mesh.origin("rootCert"),
                           "import each mesh's own root; for this one, "
                           + self.import_command(mesh))

    def check_own_root(self, mesh: MeshPlan, shared: TrustPlan) -> None:
        """A mesh in a shared federation may still name its root: it must be that one."""
        if mesh.root_cert_path is None or shared.root is None:
            return
        own = self.root_at(mesh.root_cert_path, mesh.origin("rootCert"),
                           f'root certificate of mesh "{mesh.name}"')
        if own is not None and own.pem != shared.root.pem:
            self.error("MG058", f'mesh "{mesh.name}" names a rootCert that is not the shared '
                       f'root of federation "{shared.federation}"', mesh.origin("rootCert"),
                       "remove the mesh's rootCert (the federation's trust.rootCert is its "
                       "root), or point both at the same file")

    def report_unimported(self, meshes: list[MeshPlan]) -> None:
        """One MG056 per mesh, each with its import command; the first (in file order) also
        says how to get out of the loop of a federation that needs roots which exist only
        once the meshes run."""
        ordered = sorted(meshes, key=lambda m: (self.source.at(m.origin("rootCert")), m.name))
        for i, mesh in enumerate(ordered):
            hint = self.import_command(mesh)
            if i == 0:
                hint = (("these roots exist" if len(ordered) > 1 else "this root exists") +
                        " only after the control planes start; if they have not started "
                        "yet, build and sync the meshes without the federation first (or give "
                        "them a plugin CA, see `meshgen ca init`); then, " + hint)
            self.error("MG056", f'mesh "{mesh.name}" is federated and its istiod makes its '
                       f"own root, which is not imported yet: {mesh.root_cert_path} does not "
                       "exist", mesh.origin("rootCert"), hint)

    def root_at(self, rel: str, path: PathKey, what: str) -> RootCertificate | None:
        root = self.roots_read.get(rel)
        if root is None:
            try:
                root = read_root(self.base_dir / rel, self.now)
            except CertificateProblem as exc:
                root = exc
            self.roots_read[rel] = root
        if isinstance(root, CertificateProblem):
            self.error(root.code, root.message, path, root.hint)
            return None
        self.warn_expiry(what, root.not_after, path)
        return root

    def check_cert_chain(self, mesh: MeshPlan, root: RootCertificate) -> None:
        assert mesh.ca.cert_chain_path is not None
        path = mesh.origins.get("ca.certChain", mesh.origin("name"))
        name = mesh.ca.cert_chain_path
        try:
            chain = parse_certificates(read_pem(self.base_dir / name), name, self.now)
            check_chain(chain, x509.load_pem_x509_certificates(root.pem.encode()), name)
        except CertificateProblem as exc:
            self.error(exc.code, exc.message, path, exc.hint)
            return
        self.warn_expiry(f'intermediate CA of mesh "{mesh.name}"',
                         min(c.not_valid_after_utc for c in chain), path)

    def warn_expiry(self, what: str, not_after: datetime.datetime, path: PathKey) -> None:
        if not_after - self.now < EXPIRY_WARNING:
            self.warn("MG054", f"{what} expires on {not_after:%Y-%m-%d}", path,
                      "rotate the CA before it expires; federation stops at expiry")

    def import_command(self, mesh: MeshPlan) -> str:
        fleet = self.source.name
        command = ["meshgen", "certs", "import", mesh.name, "-"]
        if fleet != DEFAULT_FLEET.as_posix():
            command.append(fleet)
        return (f'once its control plane runs on cluster "{mesh.cluster.name}", run: oc get '
                f"configmap istio-ca-root-cert -n {shlex.quote(mesh.namespace)} -o yaml | "
                + shlex.join(command))


def _absent(path: Path) -> bool:
    """Whether nothing is at path yet (an unreadable path is reported when it is read)."""
    try:
        path.stat()
    except FileNotFoundError:
        note_exists(path, False)
        return True
    except (OSError, ValueError):
        return False
    note_exists(path, True)
    return False


def _missing_root_hint(mesh: MeshPlan) -> str:
    if mesh.ca.type == "selfSigned":
        return (f"set rootCert: certs/{mesh.name}.pem, then import the root istiod makes with "
                f"`meshgen certs import {mesh.name} FILE`")
    return "set ca.rootCert to the PEM file of the public root the mesh's CA chains to"


def sealed_secret_problem(data: Any, namespace: str) -> str | None:
    """Why a file is not the SealedSecret of `cacerts` in namespace, or None."""
    if not isinstance(data, dict):
        return "is not one YAML mapping"
    if (data.get("apiVersion"), data.get("kind")) != (SEALED_API, "SealedSecret"):
        return (f"is a {data.get('kind')!s} ({data.get('apiVersion')!s}), not a SealedSecret "
                f"({SEALED_API})")
    metadata = data.get("metadata")
    spec = data.get("spec")
    if not isinstance(metadata, dict) or not isinstance(spec, dict):
        return "has no metadata or spec"
    if metadata.get("name") != CACERTS:
        return f'is named "{metadata.get("name")}", not "{CACERTS}"'
    if metadata.get("namespace") != namespace:
        return (f'is for namespace "{metadata.get("namespace")}", not the control-plane '
                f'namespace "{namespace}"')
    encrypted = spec.get("encryptedData")
    missing = [k for k in CACERTS_KEYS if not isinstance(encrypted, dict) or k not in encrypted]
    if missing:
        return ("lacks the encrypted key " if len(missing) == 1
                else "lacks the encrypted keys ") + ", ".join(missing)
    return None
