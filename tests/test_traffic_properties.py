"""Property test of traffic across meshes: for random exports, imports (wildcards, aliases,
asLocal) and traffic entries, every imported destination host meshgen writes into a
VirtualService is one that an ImportedServiceSet of the calling mesh produces, read back
from the rendered ImportedServiceSet with the importer's naming rule (maistra/istio,
maistra-2.5: pkg/servicemesh/federation/common/imports.go; suffix
`svc.<peer>-imports.local`, or `svc.cluster.local` with importAsLocal)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshgen.build import compile_fleet
from meshgen.ca import certificate_pem, make_certificate
from meshgen.errors import FleetError

NAMESPACES = ["stage-bookinfo", "prod-bookinfo", "shared"]
NAMES = ["details", "ratings"]
REFUSALS = {"MG074", "MG076", "MG161", "MG165"}
ROOT = certificate_pem(make_certificate("traffic property root CA")[0])


@st.composite
def fleets(draw: st.DrawFn) -> dict[str, Any]:
    def pattern(values: list[str]) -> str:
        return draw(st.sampled_from([*values, "*"]))

    exports = []
    for _ in range(draw(st.integers(1, 3))):
        rule: dict[str, Any] = {"namespace": "stage-bookinfo", "name": pattern(NAMES)}
        if draw(st.booleans()):
            rule["alias"] = {"namespace": draw(st.sampled_from(NAMESPACES))}
        exports.append(rule)
    # mostly names some export offers, so that most fleets pass the checks
    offered = sorted({r.get("alias", {}).get("namespace", r["namespace"]) for r in exports})
    imports = []
    refs = []
    for _ in range(draw(st.integers(1, 3))):
        namespace = pattern(offered if draw(st.integers(0, 4)) else NAMESPACES)
        name = pattern(NAMES)
        rule = {"namespace": namespace, "name": name}
        alias: dict[str, str] = {}
        if draw(st.booleans()):
            alias["namespace"] = draw(st.sampled_from(NAMESPACES))
        if name != "*" and draw(st.booleans()):
            alias["name"] = draw(st.sampled_from(["details-v2", "ratings-v2"]))
        if alias:
            rule["alias"] = alias
        if alias.get("namespace") and draw(st.booleans()):
            rule["asLocal"] = True
        imports.append(rule)
        local_ns = alias.get("namespace") or namespace
        local_name = alias.get("name") or name
        refs.append({"from": "stage-mesh",
                     "namespace": local_ns if local_ns != "*" else draw(
                         st.sampled_from(offered)),
                     "name": local_name if local_name != "*" else draw(st.sampled_from(NAMES))})
    # copies: a shared dict would be dumped as a YAML anchor, which fleets refuse (MG003)
    route_to, mirror_to = dict(draw(st.sampled_from(refs))), dict(draw(st.sampled_from(refs)))
    weight = draw(st.integers(0, 100))
    return {
        "apiVersion": "meshgen.dev/v1alpha1", "kind": "Fleet", "metadata": {"name": "prop"},
        "clusters": [{"name": "east", "ingress": {"type": "LoadBalancer",
                                                  "domain": "apps.east.example.com"}}],
        "meshes": [
            {"name": "prod-mesh", "cluster": "east", "members": ["prod-bookinfo"],
             "rootCert": "certs/root.pem"},
            {"name": "stage-mesh", "cluster": "east", "members": ["stage-bookinfo"],
             "rootCert": "certs/root.pem"}],
        "federations": [{"name": "f", "meshes": ["prod-mesh", "stage-mesh"]}],
        "exports": [{"mesh": "stage-mesh", "services": exports}],
        "imports": [{"mesh": "prod-mesh", "from": "stage-mesh", "services": imports}],
        "traffic": [{"mesh": "prod-mesh", "host": {"namespace": "prod-bookinfo",
                                                   "name": "details"},
                     "route": [{"weight": weight},
                               {"import": route_to, "weight": 100 - weight}],
                     "mirror": {"import": mirror_to}}],
    }


def produced_by(iss: dict[str, Any], host: str) -> bool:
    """Whether one of the ImportedServiceSet's rules names a service `host`."""
    name, namespace, suffix = host.split(".", 2)
    for rule in iss["spec"]["importRules"]:
        selector = rule["nameSelector"]
        alias = selector.get("alias", {})
        want_suffix = ("svc.cluster.local" if rule["importAsLocal"]
                       else f"svc.{iss['metadata']['name']}-imports.local")
        local_ns = alias.get("namespace") or selector["namespace"]
        local_name = alias.get("name") or selector["name"]
        if suffix == want_suffix and local_ns in ("*", namespace) and \
                local_name in ("*", name):
            return True
    return False


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleets())
def test_every_imported_destination_is_a_host_the_imported_service_set_makes(
        fleet: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "certs").mkdir()
        (Path(tmp) / "certs" / "root.pem").write_text(ROOT)
        path = Path(tmp) / "fleet.yaml"
        path.write_text(yaml.safe_dump(fleet, sort_keys=False))
        try:
            files = compile_fleet(path, Path(tmp) / "out").files
        except FleetError as exc:
            # only what random rules may get wrong: an import nothing exports (MG074), two
            # services under one name (MG076), a traffic import no rule gives (MG161), a
            # mirror to the only route (MG165); each located
            assert {p.code for p in exc.problems.errors} <= REFUSALS, exc.problems.errors
            assert all(p.location.line > 0 for p in exc.problems.errors)
            return
    iss = yaml.safe_load(files["east/namespaces/prod-mesh/importedserviceset-stage-mesh.yaml"])
    vs = yaml.safe_load(files["east/namespaces/prod-bookinfo/virtualservice-details.yaml"])
    http = vs["spec"]["http"][0]
    hosts = [r["destination"]["host"] for r in http["route"]] + [http["mirror"]["host"]]
    for host in hosts:
        if host != "details.prod-bookinfo.svc.cluster.local":
            assert produced_by(iss, host), host
