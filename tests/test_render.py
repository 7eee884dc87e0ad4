from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import TWO_CLUSTERS, FleetWriter
from meshgen.build import compile_fleet
from meshgen.defaults import bundled_templates
from meshgen.errors import FleetError
from meshgen.render import TEMPLATES

SMCP = "east/namespaces/red/servicemeshcontrolplane-red.yaml"
FLEET = TWO_CLUSTERS + """\
meshes:
  - name: red
    cluster: east
    members: [red-app]
    rootCert: certs/red.pem
    addons: {prometheus: true, kiali: true, jaeger: true}
    smcpSpec:
      security: {dataPlane: {mtls: true}}
      gateways:
        additionalIngress:
          extra-ingress: {enabled: true}
  - {name: blue, cluster: west, members: [blue-app], rootCert: certs/blue.pem}
federations:
  - {name: f, meshes: [red, blue]}
"""


def test_every_template_is_bundled() -> None:
    root = bundled_templates()
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.yaml.j2")) == \
        sorted(TEMPLATES)


def test_smcp_spec_is_deep_merged(write_fleet: FleetWriter, tmp_path: Path) -> None:
    build = compile_fleet(write_fleet(FLEET, certs=("red", "blue")), tmp_path / "out")
    spec = yaml.safe_load(build.files[SMCP])["spec"]
    assert spec["security"] == {"dataPlane": {"mtls": True}, "trust": {"domain": "red.local"}}
    assert sorted(spec["gateways"]["additionalIngress"]) == ["blue-ingress", "extra-ingress"]
    assert spec["tracing"] == {"type": "Jaeger"}
    assert spec["addons"] == {"kiali": {"enabled": True}, "prometheus": {"enabled": True}}


def test_smcp_spec_may_not_override_federation(write_fleet: FleetWriter,
                                               tmp_path: Path) -> None:
    text = FLEET.replace("extra-ingress", "blue-ingress").replace(
        "security: {dataPlane: {mtls: true}}", "security: {trust: {domain: x.local}}")
    with pytest.raises(FleetError) as exc:
        compile_fleet(write_fleet(text, certs=("red", "blue")), tmp_path / "out")
    assert [p.code for p in exc.value.problems.errors] == ["MG081", "MG081"]


def test_values_cannot_inject_yaml(write_fleet: FleetWriter, tmp_path: Path) -> None:
    text = FLEET.replace("ingress: {type: Submariner}", "ingress: {type: LoadBalancer, domain: "
                         "x.com, annotations: {'a': \"b\\nkind: Secret\\n'\\\"}\"}}")
    build = compile_fleet(write_fleet(text, certs=("red", "blue")), tmp_path / "out")
    smcp = yaml.safe_load(build.files["west/namespaces/blue/servicemeshcontrolplane-blue.yaml"])
    service = smcp["spec"]["gateways"]["additionalIngress"]["red-ingress"]["service"]
    assert service["metadata"]["annotations"]["a"] == "b\nkind: Secret\n'\"}"
    assert smcp["kind"] == "ServiceMeshControlPlane"


def test_templates_can_be_overridden_one_by_one(write_fleet: FleetWriter,
                                                tmp_path: Path) -> None:
    custom = tmp_path / "templates"
    (custom / "ossm2").mkdir(parents=True)
    # a user's override in plain block YAML (the bundled templates write JSON)
    (custom / "ossm2/servicemeshpeer.yaml.j2").write_text(BLOCK_PEER_TEMPLATE)
    build = compile_fleet(write_fleet(FLEET, certs=("red", "blue")), tmp_path / "out", custom)
    peer = yaml.safe_load(build.files["east/namespaces/red/servicemeshpeer-blue.yaml"])
    assert peer["spec"]["remote"]["discoveryPort"] == 31188
    assert peer["spec"]["security"]["clientID"] == \
        "blue.local/ns/blue/sa/red-egress-service-account"
    assert yaml.safe_load(build.files[SMCP])["kind"] == "ServiceMeshControlPlane"


BLOCK_PEER_TEMPLATE = """\
apiVersion: federation.maistra.io/v1
kind: ServiceMeshPeer
metadata:
  name: {{ peering.peer.name | tojson }}
  namespace: {{ peering.local.namespace | tojson }}
spec:
  remote:
    addresses: [{{ peering.address | tojson }}]
    discoveryPort: 31188
    servicePort: 15443
  gateways:
    ingress: {name: {{ peering.ingress.name | tojson }}}
    egress: {name: {{ peering.egress.name | tojson }}}
  security:
    trustDomain: {{ peering.peer.trust_domain | tojson }}
    clientID: {{ peering.client_id | tojson }}
    certificateChain: {kind: ConfigMap, name: {{ peering.root_cert_configmap | tojson }}}
"""


def test_an_override_at_its_old_flat_name_is_refused_with_its_new_place(
        write_fleet: FleetWriter, tmp_path: Path) -> None:
    """The ossm2 templates moved under ossm2/; an override still at the flat name would be
    ignored without a word, so it is refused (MG142) with the place it goes to now."""
    custom = tmp_path / "templates"
    custom.mkdir()
    (custom / "servicemeshpeer.yaml.j2").write_text(BLOCK_PEER_TEMPLATE)
    (custom / "certificate.yaml.j2").write_text("{}\n")  # ossm2's and istio's name
    # shared templates stay at the top, and a user's own include is no template of ours
    (custom / "namespace.yaml.j2").write_text(
        (bundled_templates() / "namespace.yaml.j2").read_text())
    (custom / "_mine.j2").write_text("")
    with pytest.raises(FleetError) as exc:
        compile_fleet(write_fleet(FLEET, certs=("red", "blue")), tmp_path / "out", custom)
    certificate, peer = exc.value.problems
    assert [(p.code, p.location.file, p.location.line) for p in (certificate, peer)] == [
        ("MG142", str(custom / "certificate.yaml.j2"), 0),
        ("MG142", str(custom / "servicemeshpeer.yaml.j2"), 0)]
    assert peer.message == ("template override servicemeshpeer.yaml.j2 is not read: the "
                            "bundled template of that name is ossm2/servicemeshpeer.yaml.j2")
    assert peer.hint.startswith(f"move it to {custom / 'ossm2/servicemeshpeer.yaml.j2'} ")
    assert certificate.message.endswith(
        "is istio/certificate.yaml.j2 or ossm2/certificate.yaml.j2")


@pytest.mark.parametrize(("replacement", "code"), [
    ('"kind": "Secret",', "MG092"),
    ('"kind": "ServiceMeshPeer", "kind": "Secret",', "MG092"),
    ('"kind": "ServiceMeshPeer",\n  : : bad', "MG092"),
    ('"kind": {{ undefined_variable }},', "MG091"),
    ('"kind": {% if %}', "MG091"),
])
def test_a_broken_override_is_refused(write_fleet: FleetWriter, tmp_path: Path,
                                      replacement: str, code: str) -> None:
    custom = tmp_path / "templates"
    (custom / "ossm2").mkdir(parents=True)
    original = (bundled_templates() / "ossm2/servicemeshpeer.yaml.j2").read_text()
    (custom / "ossm2/servicemeshpeer.yaml.j2").write_text(
        original.replace('"kind": "ServiceMeshPeer",', replacement))
    with pytest.raises(FleetError) as exc:
        compile_fleet(write_fleet(FLEET, certs=("red", "blue")), tmp_path / "out", custom)
    assert [p.code for p in exc.value.problems] == [code]


def test_an_override_with_two_documents_is_refused(write_fleet: FleetWriter,
                                                   tmp_path: Path) -> None:
    custom = tmp_path / "templates"
    (custom / "ossm2").mkdir(parents=True)
    (custom / "ossm2/servicemeshpeer.yaml.j2").write_text(
        BLOCK_PEER_TEMPLATE + "---\napiVersion: v1\nkind: Secret\n")
    with pytest.raises(FleetError) as exc:
        compile_fleet(write_fleet(FLEET, certs=("red", "blue")), tmp_path / "out", custom)
    [problem] = exc.value.problems
    assert problem.code == "MG092"
    assert "exactly one YAML document, found 2" in problem.message


@pytest.mark.parametrize("expression", [
    "cycler.__init__.__globals__.os.popen('echo pwned > pwned').read()",
    "lipsum.__globals__['os'].popen('echo pwned > pwned').read()",
    "peering.__class__.__mro__",
    "peering.exports.append(1)",
])
def test_an_override_cannot_reach_python_internals(write_fleet: FleetWriter, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   expression: str) -> None:
    monkeypatch.chdir(tmp_path)
    custom = tmp_path / "templates"
    (custom / "ossm2").mkdir(parents=True)
    original = (bundled_templates() / "ossm2/servicemeshpeer.yaml.j2").read_text()
    (custom / "ossm2/servicemeshpeer.yaml.j2").write_text(
        "{# an override #}\n" + original.replace(
            '"kind": "ServiceMeshPeer",',
            '"kind": "ServiceMeshPeer", "x": {{ ' + expression + ' | tojson }},'))
    with pytest.raises(FleetError) as exc:
        compile_fleet(write_fleet(FLEET, certs=("red", "blue")), tmp_path / "out", custom)
    [problem] = exc.value.problems
    assert problem.code == "MG091"
    assert "sandbox" in problem.message
    assert problem.location.file == str(custom / "ossm2/servicemeshpeer.yaml.j2")
    assert problem.location.line == 1 + original.splitlines().index(
        next(line for line in original.splitlines() if '"kind": "ServiceMeshPeer"' in line)) + 1
    assert not (tmp_path / "pwned").exists()


def test_an_overridden_macro_is_sandboxed_in_the_bundled_templates_importing_it(
        write_fleet: FleetWriter, tmp_path: Path) -> None:
    """Bundled templates render without the sandbox's checks only while nothing they
    import is overridden."""
    custom = tmp_path / "templates"
    custom.mkdir()
    original = (bundled_templates() / "_macros.j2").read_text()
    (custom / "_macros.j2").write_text(original.replace(
        '"name": {{ name | tojson }},', '"name": {{ name.__class__.__mro__ | tojson }},'))
    with pytest.raises(FleetError) as exc:
        compile_fleet(write_fleet(FLEET, certs=("red", "blue")), tmp_path / "out", custom)
    assert {p.code for p in exc.value.problems} == {"MG091"}
    assert all("sandbox" in p.message for p in exc.value.problems)


def test_an_override_wins_over_the_bundled_template_and_its_imports(
        write_fleet: FleetWriter, tmp_path: Path) -> None:
    custom = tmp_path / "templates"
    custom.mkdir()
    original = (bundled_templates() / "_macros.j2").read_text()
    (custom / "_macros.j2").write_text(original.replace(
        '"app.kubernetes.io/managed-by": "meshgen",',
        '"app.kubernetes.io/managed-by": "meshgen", "override": "yes",'))
    files = compile_fleet(write_fleet(FLEET, certs=("red", "blue")), tmp_path / "out",
                          custom).files
    peer = yaml.safe_load(files["east/namespaces/red/servicemeshpeer-blue.yaml"])
    assert peer["metadata"]["labels"]["override"] == "yes"
