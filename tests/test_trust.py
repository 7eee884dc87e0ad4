"""Trust between meshes: CA modes, shared federation roots, certificate chains, sealed
secrets and the private-key guard.

Certificates are made here with meshgen.ca (ec-p256), every built tree goes through the
real kustomize and the upstream CRDs (verify_tree), and the CLI runs as a subprocess.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509

from conftest import REPO, TWO_CLUSTERS, FleetWriter, crds_dir, fleet_head, snapshot
from meshgen.build import Build, compile_fleet
from meshgen.ca import certificate_pem, issue_intermediate, make_certificate, private_key_pem
from meshgen.errors import FleetError
from meshgen.ordering import SKIP_DRY_RUN, SYNC_OPTIONS, SYNC_WAVE
from meshgen.output import INVENTORY, write_tree
from meshgen.verify import SchemaSet, verify_tree

CACERTS_KEYS = ["ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem"]
CERTIFICATE_AUTHORITY = {"type": "Istiod", "istiod": {
    "type": "PrivateKey", "privateKey": {"rootCADir": "/etc/cacerts"}}}
SECRET_SOURCES = {("external-secrets.io", "ExternalSecret"), ("cert-manager.io", "Certificate"),
                  ("bitnami.com", "SealedSecret")}
TIMEOUT = 120  # seconds per CLI run; `validate` runs kustomize on every overlay


# --- helpers ----------------------------------------------------------------------------------


def pem(cert: x509.Certificate) -> str:
    return certificate_pem(cert)


def meshgen_cli(*args: str, env: dict[str, str] | None = None
                ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshgen", *args], capture_output=True,
                          text=True, cwd=REPO, check=False, timeout=TIMEOUT,
                          env={**os.environ, **(env or {})})


def objects_in(build: Build, prefix: str) -> list[dict[str, Any]]:
    """Every object under prefix (kustomization files excluded)."""
    return [yaml.safe_load(data) for rel, data in sorted(build.files.items())
            if rel.startswith(prefix) and not rel.endswith("kustomization.yaml")]


def find(build: Build, cluster: str, namespace: str, kind: str,
         name: str | None = None) -> list[dict[str, Any]]:
    return [o for o in objects_in(build, f"{cluster}/")
            if o["kind"] == kind and o["metadata"].get("namespace") == namespace
            and (name is None or o["metadata"]["name"] == name)]


def one(build: Build, cluster: str, namespace: str, kind: str,
        name: str | None = None) -> dict[str, Any]:
    found = find(build, cluster, namespace, kind, name)
    assert len(found) == 1, f"{len(found)} {kind} {name or ''} in {cluster}/{namespace}"
    return found[0]


def root_in_configmap(build: Build, cluster: str, namespace: str, peer: str) -> bytes:
    configmap = one(build, cluster, namespace, "ConfigMap", f"{peer}-ca-root-cert")
    return str(configmap["data"]["root-cert.pem"]).encode("ascii")


def secret_sources(build: Build, cluster: str, namespace: str) -> list[dict[str, Any]]:
    return [o for o in objects_in(build, f"{cluster}/")
            if o["metadata"].get("namespace") == namespace
            and (o["apiVersion"].rpartition("/")[0], o["kind"]) in SECRET_SOURCES]


def sealed_secret(namespace: str, *, kubeseal_metadata: bool = False,
                  template_data: dict[str, str] | None = None) -> dict[str, Any]:
    """The SealedSecret of `cacerts` as `kubeseal -o yaml` writes it (values are opaque
    ciphertext to meshgen); kubeseal_metadata adds the `creationTimestamp: null` it
    writes into both metadata blocks."""
    metadata: dict[str, Any] = {"name": "cacerts", "namespace": namespace}
    if kubeseal_metadata:
        metadata = {"creationTimestamp": None, **metadata}
    template: dict[str, Any] = {"metadata": dict(metadata), "type": "Opaque"}
    if template_data is not None:
        template["data"] = template_data
    return {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {**metadata, "labels": {"team": "platform"},
                     "annotations": {"sealedsecrets.bitnami.com/namespace-wide": "true"}},
        "spec": {
            "encryptedData": {key: f"AgB{i}c2VhbGVkIGZvciB0aGUgdGVzdA+/{key.upper()}"
                              for i, key in enumerate(CACERTS_KEYS)},
            "template": template,
        },
    }


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


# --- one fleet with every CA type and both trust models ----------------------------------------

TRUST_FLEET = fleet_head("trust") + """\
meshes:
  - name: ext-mesh
    cluster: east
    members: [ext-apps]
    trustDomain: ext.example.com
    ca:
      type: plugin
      certChain: certs/ext-chain.pem    # intermediate, then the shared root
      secret:
        externalSecret:
          store: vault
          storeKind: ClusterSecretStore
          path: pki/meshes/ext-mesh
          refreshInterval: 15m
  - name: cm-mesh
    cluster: west
    members: [cm-apps]
    ca:
      type: certManager
      certChain: certs/cm-chain.pem     # the intermediate alone
      issuer: {name: mesh-root, kind: ClusterIssuer}
  - name: sealed-mesh
    cluster: west
    members: [sealed-apps]
    ca:
      type: plugin
      secret: {sealedSecret: certs/sealed-mesh.yaml}
  - name: oob-mesh
    cluster: east
    members: [oob-apps]
    rootCert: certs/shared-root-copy.pem  # a copy of the shared root: allowed
    ca:
      type: plugin
      secret: {none: {}}
  - name: self-mesh
    cluster: east
    members: [self-apps]
    rootCert: certs/self-mesh.pem
federations:
  - name: shared
    meshes: [ext-mesh, cm-mesh, sealed-mesh, oob-mesh]
    trust: {type: shared, rootCert: certs/shared-root.pem}
  - name: legacy
    meshes: [ext-mesh, self-mesh]
delivery:
  repoURL: https://git.example.com/platform/fleet.git
  argocd: {}
operators: {install: true}
"""


@dataclass(frozen=True)
class TrustFleet:
    fleet: Path
    build: Build
    shared_root: bytes
    self_root: bytes
    sealed: dict[str, Any]


def write_trust_fleet(directory: Path) -> tuple[Path, bytes, bytes, dict[str, Any]]:
    certs = directory / "certs"
    certs.mkdir(parents=True)
    shared, shared_key = make_certificate("shared root CA")
    self_root, _ = make_certificate("self-mesh root CA (istiod)")
    ext, _ = issue_intermediate(shared, shared_key, "ext-mesh intermediate CA")
    cm, _ = issue_intermediate(shared, shared_key, "cm-mesh intermediate CA")
    sealed = sealed_secret("sealed-mesh")
    files = {
        "shared-root.pem": pem(shared),
        "shared-root-copy.pem": pem(shared),
        "self-mesh.pem": pem(self_root),
        "ext-chain.pem": pem(ext) + pem(shared),
        "cm-chain.pem": pem(cm),
        "sealed-mesh.yaml": yaml.safe_dump(sealed, sort_keys=False),
    }
    for name, text in files.items():
        (certs / name).write_text(text)
    fleet = directory / "fleet.yaml"
    fleet.write_text(TRUST_FLEET)
    return fleet, pem(shared).encode(), pem(self_root).encode(), sealed


@pytest.fixture(scope="module")
def trust(tmp_path_factory: pytest.TempPathFactory) -> TrustFleet:
    directory = tmp_path_factory.mktemp("trust")
    fleet, shared_root, self_root, sealed = write_trust_fleet(directory / "fleet")
    build = compile_fleet(fleet, directory / "overlays")
    return TrustFleet(fleet, build, shared_root, self_root, sealed)


def test_every_ca_type_builds_without_warnings(trust: TrustFleet) -> None:
    plan = trust.build.plan
    assert plan.warnings == []
    assert {m.name: (m.ca.type, m.ca.secret_source) for m in plan.meshes} == {
        "ext-mesh": ("plugin", "externalSecret"),
        "cm-mesh": ("certManager", "certManager"),
        "sealed-mesh": ("plugin", "sealedSecret"),
        "oob-mesh": ("plugin", "none"),
        "self-mesh": ("selfSigned", None),
    }
    # both chains (intermediate + root, intermediate alone) were checked against the
    # shared root (MG059 otherwise)
    assert plan.mesh("ext-mesh").ca.cert_chain_path == "certs/ext-chain.pem"
    assert plan.mesh("cm-mesh").ca.cert_chain_path == "certs/cm-chain.pem"


def test_external_secret_brings_cacerts_from_the_store(trust: TrustFleet) -> None:
    secret = one(trust.build, "east", "ext-mesh", "ExternalSecret")
    assert secret["apiVersion"] == "external-secrets.io/v1"
    assert secret["metadata"]["name"] == "cacerts"
    spec = secret["spec"]
    assert spec["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "vault"}
    assert spec["refreshInterval"] == "15m"
    assert spec["target"]["name"] == "cacerts"
    assert spec["data"] == [
        {"secretKey": key, "remoteRef": {
            "key": "pki/meshes/ext-mesh", "property": key, "conversionStrategy": "Default",
            "decodingStrategy": "None", "metadataPolicy": "None"}}
        for key in CACERTS_KEYS]


def test_plugged_in_control_planes_read_cacerts_and_keep_their_trust_domain(
        trust: TrustFleet) -> None:
    for cluster, mesh, domain in (("east", "ext-mesh", "ext.example.com"),
                                  ("west", "cm-mesh", "cm-mesh.local"),
                                  ("west", "sealed-mesh", "sealed-mesh.local"),
                                  ("east", "oob-mesh", "oob-mesh.local")):
        smcp = one(trust.build, cluster, mesh, "ServiceMeshControlPlane")
        assert smcp["spec"]["security"] == {"certificateAuthority": CERTIFICATE_AUTHORITY,
                                            "trust": {"domain": domain}}, mesh
    smcp = one(trust.build, "east", "self-mesh", "ServiceMeshControlPlane")
    assert smcp["spec"]["security"] == {"trust": {"domain": "self-mesh.local"}}


def test_cert_manager_issues_the_intermediate_into_cacerts(trust: TrustFleet) -> None:
    certificate = one(trust.build, "west", "cm-mesh", "Certificate")
    assert certificate["apiVersion"] == "cert-manager.io/v1"
    assert certificate["metadata"]["name"] == "cacerts"
    spec = certificate["spec"]
    assert spec["isCA"] is True
    assert spec["secretName"] == "cacerts"
    assert spec["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer",
                                 "name": "mesh-root"}
    assert "cert sign" in spec["usages"]


def test_sealed_secret_is_included_as_written(trust: TrustFleet) -> None:
    included = one(trust.build, "west", "sealed-mesh", "SealedSecret")
    annotations = dict(included["metadata"].pop("annotations"))
    assert {k: annotations.pop(k) for k in (SYNC_WAVE, SYNC_OPTIONS)} == {
        SYNC_WAVE: "-1", SYNC_OPTIONS: SKIP_DRY_RUN}
    written = yaml.safe_load(yaml.safe_dump(trust.sealed))
    assert annotations == written["metadata"].pop("annotations")
    assert included == written


def test_out_of_band_and_self_signed_meshes_emit_no_secret_source(trust: TrustFleet) -> None:
    assert secret_sources(trust.build, "east", "oob-mesh") == []
    assert secret_sources(trust.build, "east", "self-mesh") == []
    # and each of the others exactly one
    assert [o["kind"] for o in secret_sources(trust.build, "east", "ext-mesh")] == [
        "ExternalSecret"]
    assert [o["kind"] for o in secret_sources(trust.build, "west", "cm-mesh")] == [
        "Certificate"]
    assert [o["kind"] for o in secret_sources(trust.build, "west", "sealed-mesh")] == [
        "SealedSecret"]
    assert not [rel for rel, data in trust.build.files.items() if b"kind: Secret\n" in data]


def test_secret_sources_sync_after_namespaces_and_before_the_control_plane(
        trust: TrustFleet) -> None:
    for cluster in ("east", "west"):
        waves: dict[str, set[int]] = {}
        for obj in objects_in(trust.build, f"{cluster}/"):
            annotations = obj["metadata"]["annotations"]
            waves.setdefault(obj["kind"], set()).add(int(annotations[SYNC_WAVE]))
            if obj["kind"] in ("ExternalSecret", "Certificate", "SealedSecret"):
                assert annotations[SYNC_OPTIONS] == SKIP_DRY_RUN, obj["metadata"]
        sources = {k: w for k, w in waves.items()
                   if k in ("ExternalSecret", "Certificate", "SealedSecret")}
        assert sources, cluster
        assert waves["Namespace"] == waves["Subscription"] == {-2}
        assert set().union(*sources.values()) == {-1}
        assert waves["ServiceMeshControlPlane"] == {0}


def test_appproject_allows_the_secret_source_kinds_only_when_written(
        trust: TrustFleet, write_fleet: FleetWriter, tmp_path: Path) -> None:
    def whitelist(build: Build) -> set[tuple[str, str]]:
        project = next(o for o in objects_in(build, "delivery/argocd/")
                       if o["kind"] == "AppProject")
        return {(k["group"], k["kind"]) for k in project["spec"]["namespaceResourceWhitelist"]}

    written = {(o["apiVersion"].rpartition("/")[0], o["kind"])
               for cluster in ("east", "west") for o in objects_in(trust.build, f"{cluster}/")
               if o["kind"] != "Namespace"}
    assert whitelist(trust.build) == written
    assert whitelist(trust.build) >= SECRET_SOURCES
    plain = compile_fleet(write_fleet(TWO_CLUSTERS + """\
meshes:
  - {name: solo, cluster: east, members: [solo-apps]}
delivery:
  repoURL: https://git.example.com/platform/fleet.git
  argocd: {}
"""), tmp_path / "out")
    assert not SECRET_SOURCES & whitelist(plain)
    assert ("maistra.io", "ServiceMeshControlPlane") in whitelist(plain)


def test_every_peer_of_a_shared_federation_trusts_the_shared_root(trust: TrustFleet) -> None:
    members = {"ext-mesh": "east", "cm-mesh": "west", "sealed-mesh": "west",
               "oob-mesh": "east"}
    for local, cluster in members.items():
        for peer in members.keys() - {local}:
            assert root_in_configmap(trust.build, cluster, local, peer) == trust.shared_root, \
                (local, peer)


def test_a_shared_mesh_gives_its_limited_peers_the_shared_root(trust: TrustFleet) -> None:
    # ext-mesh's intermediate chains to the shared root, also towards self-mesh
    assert root_in_configmap(trust.build, "east", "self-mesh", "ext-mesh") == trust.shared_root
    # and self-mesh (limited federation only) is still trusted through its own root
    assert root_in_configmap(trust.build, "east", "ext-mesh", "self-mesh") == trust.self_root
    assert not find(trust.build, "east", "oob-mesh", "ConfigMap", "self-mesh-ca-root-cert")


def test_the_trust_tree_passes_kustomize_and_the_crds(trust: TrustFleet, tmp_path: Path,
                                                      schemas: SchemaSet) -> None:
    out = tmp_path / "overlays"
    write_tree(out, trust.build.files)
    report = verify_tree(out, trust.build.files, schemas)
    assert report.problems == []
    assert report.overlays == 2
    kinds = {(o["apiVersion"], o["kind"]) for o in objects_in(trust.build, "")}
    assert {("external-secrets.io/v1", "ExternalSecret"), ("cert-manager.io/v1", "Certificate"),
            ("bitnami.com/v1alpha1", "SealedSecret")} <= kinds


def test_validate_cli_passes_with_every_ca_type(tmp_path: Path) -> None:
    fleet, _, _, _ = write_trust_fleet(tmp_path / "fleet")
    result = meshgen_cli("validate", str(fleet), "--crds", str(crds_dir()))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_the_build_is_deterministic(trust: TrustFleet, tmp_path: Path) -> None:
    fleet, _, _, _ = write_trust_fleet(tmp_path / "fleet")
    trees = []
    for seed in ("1", "2"):
        out = tmp_path / f"run-{seed}" / "overlays"
        result = meshgen_cli("build", str(fleet), "--out", str(out),
                             env={"PYTHONHASHSEED": seed})
        assert result.returncode == 0, result.stderr
        trees.append(tree(out))
    assert trees[0] == trees[1]
    generated = {rel: data for rel, data in trees[0].items()
                 if os.path.basename(rel) != INVENTORY}
    assert set(generated) == set(trust.build.files)
    again = compile_fleet(fleet, tmp_path / "run-1" / "overlays")
    assert again.files == generated


def test_a_cert_chain_must_lead_to_the_root_peers_trust(write_fleet: FleetWriter,
                                                        tmp_path: Path) -> None:
    text = TWO_CLUSTERS + """\
meshes:
  - name: a-mesh
    cluster: east
    ca:
      type: plugin
      certChain: certs/chain.pem
      secret: {none: {}}
  - {name: b-mesh, cluster: west, ca: {type: certManager, issuer: {name: root}}}
federations:
  - name: ab
    meshes: [a-mesh, b-mesh]
    trust: {type: shared, rootCert: certs/root.pem}
"""
    fleet = write_fleet(text)
    root, root_key = make_certificate("shared root CA")
    other, other_key = make_certificate("other root CA")
    (fleet.parent / "certs" / "root.pem").write_text(pem(root))
    issued, _ = issue_intermediate(root, root_key, "a-mesh intermediate CA")
    (fleet.parent / "certs" / "chain.pem").write_text(pem(issued))
    build = compile_fleet(fleet, tmp_path / "out")
    assert build.warnings == []
    assert root_in_configmap(build, "west", "b-mesh", "a-mesh") == pem(root).encode()

    foreign, _ = issue_intermediate(other, other_key, "a-mesh intermediate CA")
    (fleet.parent / "certs" / "chain.pem").write_text(pem(foreign))
    with pytest.raises(FleetError) as refused:
        compile_fleet(fleet, tmp_path / "out")
    line = text.splitlines().index("      certChain: certs/chain.pem") + 1
    assert [(p.code, p.location.line) for p in refused.value.problems.errors] == [
        ("MG059", line)]


# --- ca settings laid over each other ------------------------------------------------------------

LAYERED = TWO_CLUSTERS + """\
defaults:
  ca:
    type: plugin
    secret:
      externalSecret: {store: "vault-{cluster}", path: "pki/{cluster}/{mesh}"}
meshTemplates:
  - name: mesh
    clusters: [east, west]
    template:
      members: ["{mesh}-apps"]
      ca:
        rootCert: "certs/{mesh}.pem"
meshes:
  - name: solo
    cluster: east
    members: [solo-apps]
    rootCert: certs/solo.pem
    ca:
      secret: {none: {}}   # replaces the default secret whole
federations:
  - name: all
    meshes: [east-mesh, west-mesh, solo]
"""


def test_ca_settings_from_defaults_and_templates(write_fleet: FleetWriter,
                                                 tmp_path: Path) -> None:
    fleet = write_fleet(LAYERED, certs=("east-mesh", "west-mesh", "solo"))
    build = compile_fleet(fleet, tmp_path / "out")
    plan = build.plan
    for name, cluster in (("east-mesh", "east"), ("west-mesh", "west")):
        mesh = plan.mesh(name)
        assert (mesh.ca.type, mesh.root_cert_path) == ("plugin", f"certs/{name}.pem")
        secret = one(build, cluster, name, "ExternalSecret")
        assert secret["spec"]["secretStoreRef"] == {"kind": "SecretStore",
                                                    "name": f"vault-{cluster}"}
        assert secret["spec"]["refreshInterval"] == "1h"
        assert {d["remoteRef"]["key"] for d in secret["spec"]["data"]} == {
            f"pki/{cluster}/{name}"}
    solo = plan.mesh("solo")
    assert (solo.ca.type, solo.ca.secret_source) == ("plugin", "none")
    assert secret_sources(build, "east", "solo") == []
    assert one(build, "east", "solo", "ServiceMeshControlPlane")["spec"]["security"][
        "certificateAuthority"] == CERTIFICATE_AUTHORITY
    certs = fleet.parent / "certs"
    for local, cluster, peer in (("solo", "east", "east-mesh"), ("solo", "east", "west-mesh"),
                                 ("east-mesh", "east", "solo"), ("west-mesh", "west", "solo")):
        assert root_in_configmap(build, cluster, local, peer) == \
            (certs / f"{peer}.pem").read_bytes(), (local, peer)


# --- no key material in the output --------------------------------------------------------------

KEYED = TWO_CLUSTERS + """\
meshes:
  - name: a-mesh
    cluster: east
    members: [a-apps]
    ca:
      type: plugin
      secret: {sealedSecret: certs/sealed.yaml}
"""


@pytest.mark.parametrize("carrier", ["smcp-pem", "smcp-base64", "smcp-base64-wrapped",
                                     "sealed-template"])
def test_a_private_key_is_never_written(carrier: str, tmp_path: Path) -> None:
    directory = tmp_path / "fleet"
    (directory / "certs").mkdir(parents=True)
    _, key = make_certificate("leaked CA")
    key_pem = private_key_pem(key).decode("ascii")
    fleet = directory / "fleet.yaml"
    (directory / "certs" / "sealed.yaml").write_text(yaml.safe_dump(sealed_secret("a-mesh")))
    fleet.write_text(KEYED)
    out = tmp_path / "overlays"
    first = meshgen_cli("build", str(fleet), "--out", str(out))
    assert first.returncode == 0, first.stderr
    before = snapshot(out)

    if carrier == "sealed-template":
        (directory / "certs" / "sealed.yaml").write_text(yaml.safe_dump(
            sealed_secret("a-mesh", template_data={"ca-key.pem": key_pem})))
        leaked_file = "east/namespaces/a-mesh/sealedsecret-cacerts.yaml"
    else:
        encoded = base64.b64encode(key_pem.encode("ascii")).decode("ascii")
        note = {"smcp-pem": key_pem, "smcp-base64": encoded,
                # as `base64` prints it: lines of 76 characters
                "smcp-base64-wrapped": "\n".join(textwrap.wrap(encoded, 76)) + "\n",
                }[carrier]
        fleet.write_text(KEYED + textwrap.indent(yaml.safe_dump(
            {"smcpSpec": {"techPreview": {"note": note}}}), "    "))
        leaked_file = "east/namespaces/a-mesh/servicemeshcontrolplane-a-mesh.yaml"
    result = meshgen_cli("build", str(fleet), "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert f"{out / leaked_file}:" in result.stderr
    assert "error[MG121]" in result.stderr
    assert "Traceback" not in result.stderr
    body = [line for line in key_pem.splitlines() if not line.startswith("-----")]
    assert not [line for line in body if line in result.stdout + result.stderr]
    assert snapshot(out) == before


# --- what the trust rules must accept -----------------------------------------------------------


def test_a_sealed_secret_as_kubeseal_writes_it_passes_validation(
        write_fleet: FleetWriter, tmp_path: Path, schemas: SchemaSet) -> None:
    """`kubeseal -o yaml`, which MG120's hint recommends, writes `creationTimestamp: null`
    into the SealedSecret's metadata; the object is valid for the API server."""
    fleet = write_fleet(KEYED)
    (fleet.parent / "certs" / "sealed.yaml").write_text(
        "---\n" + yaml.safe_dump(sealed_secret("a-mesh", kubeseal_metadata=True)))
    build = compile_fleet(fleet, tmp_path / "out")
    write_tree(tmp_path / "out", build.files)
    report = verify_tree(tmp_path / "out", build.files, schemas)
    assert report.problems == []


def test_two_shared_federations_naming_the_same_root_file(write_fleet: FleetWriter) -> None:
    """`certs/root.pem` and `./certs/root.pem` are one file, hence one root: no MG058."""
    fleet = write_fleet(TWO_CLUSTERS + """\
meshes:
  - {name: hub-mesh, cluster: east, ca: {type: plugin, secret: {none: {}}}}
  - {name: b-mesh, cluster: west, ca: {type: plugin, secret: {none: {}}}}
  - {name: c-mesh, cluster: west, ca: {type: plugin, secret: {none: {}}}}
federations:
  - name: hub-b
    meshes: [hub-mesh, b-mesh]
    trust: {type: shared, rootCert: certs/root.pem}
  - name: hub-c
    meshes: [hub-mesh, c-mesh]
    trust: {type: shared, rootCert: ./certs/root.pem}
""", certs=("root",))
    try:
        build = compile_fleet(fleet, fleet.parent / "out")
    except FleetError as exc:
        pytest.fail("refused: " + "; ".join(p.message for p in exc.problems))
    assert root_in_configmap(build, "west", "c-mesh", "hub-mesh") == \
        (fleet.parent / "certs" / "root.pem").read_bytes()
