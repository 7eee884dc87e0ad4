from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import TWO_CLUSTERS, FleetWriter
from meshgen.build import compile_fleet
from meshgen.errors import FleetError
from meshgen.render import TEMPLATES, bundled_templates

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
    assert sorted(p.name for p in bundled_templates().glob("*.yaml.j2")) == sorted(TEMPLATES)


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
    custom.mkdir()
    original = (bundled_templates() / "servicemeshpeer.yaml.j2").read_text()
    (custom / "servicemeshpeer.yaml.j2").write_text(
        original.replace("    discoveryPort: 8188", "    discoveryPort: 31188"))
    build = compile_fleet(write_fleet(FLEET, certs=("red", "blue")), tmp_path / "out", custom)
    peer = yaml.safe_load(build.files["east/namespaces/red/servicemeshpeer-blue.yaml"])
    assert peer["spec"]["remote"]["discoveryPort"] == 31188
    assert yaml.safe_load(build.files[SMCP])["kind"] == "ServiceMeshControlPlane"


@pytest.mark.parametrize(("replacement", "code"), [
    ("kind: Secret", "MG092"),
    ("kind: ServiceMeshPeer\n---\nkind: Secret", "MG092"),
    ("kind: ServiceMeshPeer\n  : : bad", "MG092"),
    ("kind: {{ undefined_variable }}", "MG091"),
    ("kind: {% if %}", "MG091"),
])
def test_a_broken_override_is_refused(write_fleet: FleetWriter, tmp_path: Path,
                                      replacement: str, code: str) -> None:
    custom = tmp_path / "templates"
    custom.mkdir()
    original = (bundled_templates() / "servicemeshpeer.yaml.j2").read_text()
    (custom / "servicemeshpeer.yaml.j2").write_text(
        original.replace("kind: ServiceMeshPeer", replacement))
    with pytest.raises(FleetError) as exc:
        compile_fleet(write_fleet(FLEET, certs=("red", "blue")), tmp_path / "out", custom)
    assert [p.code for p in exc.value.problems] == [code]
