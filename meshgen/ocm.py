"""Reconstruct a fleet from the multicluster-mesh addon's hub objects (`meshgen import ocm`).

The addon (stolostron/multicluster-mesh-addon, commit 72f8fbdb; the API types in
apis/mesh/v1alpha1/{mesh,meshdeployment,meshfederation}_types.go) keeps on the ACM hub:
- a Mesh per control plane, in the namespace named after its cluster; the ones it found
  running carry the label `mesh.open-cluster-management.io/discovery: "true"` and are named
  `<cluster>-<namespace>-<smcp>` (pkg/translate/translate-ossm.go, TranslateOSSMToLogicMesh);
- a MeshDeployment, a Mesh template it fans out once as `<cluster>-<name>` into each listed
  cluster, forcing the OSSM trust domain to `<mesh>.local` and never updating the Meshes
  afterwards (pkg/manager/deployment/deployment.go);
- a MeshFederation, pairs of Meshes peered both ways under one trust type, Complete when
  unset (pkg/manager/federation/federation.go).
The running Meshes are what the agent deploys, so they are the source; a MeshDeployment
becomes a meshTemplate for the Meshes that still match it. Limited pairs become ossm2
federations. What the fleet cannot express is reported with its object, not guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap

from .adopt import Adoption, _items, _mapping, _note, _text, adopt
from .dumps import Dump, DumpedObject, DumpKinds
from .errors import Location, Problem, Severity

API_VERSION = "mesh.open-cluster-management.io/v1alpha1"
HUB_COMMAND = "oc get meshes,meshdeployments,meshfederations -A -o yaml"
HUB_DUMP = DumpKinds({"Mesh": (API_VERSION,), "MeshDeployment": (API_VERSION,),
                      "MeshFederation": (API_VERSION,)}, others_refused=True,
                     command=HUB_COMMAND)
DISCOVERY_LABEL = "mesh.open-cluster-management.io/discovery"
OSSM = "Openshift Service Mesh"
ISTIO = "Upstream Istio"
ADDON_VERSION = "v2.1"  # the SMCP version the addon writes when none is given
HEADER = ("# yaml-language-server: $schema=../schema/fleet.schema.json\n"
          "# Written by `meshgen import ocm` from the multicluster-mesh addon's hub objects:\n"
          "# review it, then compare what meshgen would change before syncing.\n")
_ISTIO_HINT = ("the addon's Upstream Istio meshes run the in-cluster IstioOperator; move "
               "them to an istio-backend mesh by hand (README: OpenShift Service Mesh 3)")


@dataclass
class HubMesh:
    obj: DumpedObject

    @property
    def spec(self) -> dict[str, Any]:
        return _mapping(self.obj.data, "spec")

    @property
    def cluster(self) -> str:
        return _text(self.spec, "cluster")

    @property
    def namespace(self) -> str:
        return _text(self.spec, "controlPlane", "namespace")

    @property
    def discovered(self) -> bool:
        return _text(self.obj.data, "metadata", "labels", DISCOVERY_LABEL) == "true"

    @property
    def control_plane_name(self) -> str:
        """The SMCP's name: the Mesh's, minus the prefix discovery added (translate-ossm.go,
        TranslateToPhysicalOSSM: strings.Replace(name, cluster-namespace-, "", 1))."""
        if self.discovered:
            return self.obj.name.replace(f"{self.cluster}-{self.namespace}-", "", 1)
        return self.obj.name


def _settings(spec: dict[str, Any], name: str | None) -> dict[str, Any]:
    """The fleet's mesh settings of a Mesh (name: its name) or MeshDeployment (None) spec,
    as the addon applies them (translate-ossm.go: version v2.1 and profile default unless
    given; the trust domain only when set, else the operator's cluster.local)."""
    settings: dict[str, Any] = {"namespace": _text(spec, "controlPlane", "namespace"),
                                "version": _text(spec, "controlPlane", "version")
                                or ADDON_VERSION}
    profiles = [p for p in _items(spec, "controlPlane", "profiles") if isinstance(p, str)]
    if profiles and profiles != ["default"]:
        settings["profiles"] = profiles
    if name is not None:
        domain = _text(spec, "meshConfig", "trustDomain") or "cluster.local"
        if domain != f"{name}.local":
            settings["trustDomain"] = domain
    members = [m for m in _items(spec, "meshMemberRoll") if isinstance(m, str)]
    if members:
        settings["members"] = members
    logging = _mapping(spec, "meshConfig", "proxyConfig", "accessLogging")
    file = {key: _text(logging, field) for key, field in
            (("name", "file"), ("format", "format"), ("encoding", "encoding"))
            if _text(logging, field)}
    if file:
        settings["smcpSpec"] = {"proxy": {"accessLogging": {"file": file}}}
    return settings


def adopt_hub(hub: list[Dump], dumps: list[Dump], name: str,
              domains: dict[str, str]) -> Adoption:
    """The fleet of the hub's objects. dumps: the clusters' (optional; the roots come from
    their peer ConfigMaps, read as `import ossm` does, with what it reports);
    domains: cluster -> ingress domain (--domain)."""
    clusters = adopt(dumps, name) if dumps else None
    roots = clusters.roots if clusters else {}
    problems: list[Problem] = list(clusters.problems) if clusters else []
    objects = [o for d in hub for o in d.objects]
    meshes = _meshes(objects, problems)
    federations, federated, pairs = _federations(objects, meshes, problems)
    _check_peers(meshes, pairs, problems)
    templates, templated = _templates(objects, meshes, problems)
    explicit = [m for key, m in sorted(meshes.items()) if key not in templated]
    fleet: dict[str, Any] = {
        "apiVersion": "meshgen.dev/v1alpha1", "kind": "Fleet", "metadata": {"name": name},
        "clusters": _clusters(meshes, federated, domains, problems),
    }
    for cluster in sorted(set(domains) - {c["name"] for c in fleet["clusters"]}):
        problems.append(Problem("MG193", f"--domain for {cluster}: no mesh of the hub runs "
                                "there", Location(str(hub[0].path), 0) if hub else Location("", 0),
                                "name a cluster of the hub's Meshes", Severity.WARNING))
    if explicit:
        fleet["meshes"] = [_mesh(m, federated) for m in explicit]
    if templates:
        for template in templates:
            if any(f"{c}-{template['name']}" in federated for c in template["clusters"]):
                template["template"]["rootCert"] = "certs/{mesh}.pem"
        fleet["meshTemplates"] = templates
    if federations:
        fleet["federations"] = federations
    kept = {m.obj.name for m in meshes.values()}
    return Adoption(fleet, {m: pem for m, pem in roots.items() if m in federated & kept},
                    problems, HEADER, sorted(m.obj.name for m in explicit if m.discovered))


def _meshes(objects: list[DumpedObject], problems: list[Problem]
            ) -> dict[tuple[str, str], HubMesh]:
    """The OSSM Meshes the agent deploys, by (hub namespace, name)."""
    meshes: dict[tuple[str, str], HubMesh] = {}
    for obj in objects:
        if obj.kind != "Mesh":
            continue
        mesh = HubMesh(obj)
        provider = _text(mesh.spec, "meshProvider")
        if provider == ISTIO:
            problems.append(_note(obj, "an Upstream Istio mesh is not imported", _ISTIO_HINT,
                                  "MG189"))
        elif provider != OSSM:
            problems.append(_note(obj, f"meshProvider {provider!r}: no agent deploys it; not "
                                  "imported", f"the addon deploys {OSSM!r} and {ISTIO!r}",
                                  "MG191"))
        elif not mesh.cluster or not mesh.namespace:
            problems.append(_note(obj, "without spec.cluster or spec.controlPlane.namespace "
                                  "the agent refuses it; not imported",
                                  "a running mesh has both", "MG191"))
        else:
            if mesh.discovered:
                problems.append(_note(obj, f"discovered by the addon, not deployed by it: "
                                      f"SMCP {mesh.namespace}/{mesh.control_plane_name} on "
                                      f"{mesh.cluster}", "it is imported as a mesh of its own "
                                      "(marked in the fleet file)", "MG190"))
            meshes[(obj.namespace, obj.name)] = mesh
    return meshes


def _federations(objects: list[DumpedObject], meshes: dict[tuple[str, str], HubMesh],
                 problems: list[Problem]
                 ) -> tuple[list[dict[str, Any]], set[str], set[tuple[str, str]]]:
    """Each Limited MeshFederation's pairs: one fleet federation when they join every two
    of its meshes, else one per pair (a fleet federation is a full graph). Also the names
    of the federated meshes, and the pairs."""
    federations: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    names = {(m.obj.namespace, m.obj.name) for m in meshes.values()}
    known = {(o.namespace, o.name) for o in objects if o.kind == "Mesh"}
    for mf in (o for o in objects if o.kind == "MeshFederation"):
        trust = _text(mf.data, "spec", "trustConfig", "trustType") or "Complete"
        if trust != "Limited":
            problems.append(_note(mf, f"trust {trust}" + (" (the addon's default)" if
                                  not _text(mf.data, "spec", "trustConfig", "trustType")
                                  else "") + " is not imported", _COMPLETE_HINT
                                  if trust == "Complete" else "the addon knows Limited and "
                                  "Complete", "MG189"))
            continue
        pairs: list[tuple[str, str]] = []
        for index, entry in enumerate(_items(mf.data, "spec", "meshPeers")):
            peers = [(_text(p, "cluster"), _text(p, "name")) for p in _items(entry, "peers")]
            where = f"meshPeers[{index}]"
            if len(peers) != 2 or peers[0] == peers[1]:
                problems.append(_note(mf, f"{where} does not name two different meshes; the "
                                      "addon stops there", "give each entry two peers",
                                      "MG191"))
                continue
            absent = [p for p in peers if p not in known]
            if absent:
                problems.append(Problem(
                    "MG188", f"MeshFederation {mf.namespace}/{mf.name}: {where} names Mesh "
                    + ", ".join(f"{c}/{n}" for c, n in absent) + ", which is not in the hub "
                    "dump", mf.location, "dump every Mesh: " + HUB_COMMAND))
                continue
            if any(p not in names for p in peers):
                problems.append(_note(mf, f"{where}: a mesh of the pair is not imported (see "
                                      "above); the pair is left out", _ISTIO_HINT, "MG191"))
                continue
            pair = tuple(sorted(n for _, n in peers))
            if pair in seen or pair in pairs:
                continue  # the addon peers a pair once, however often it is named
            pairs.append(pair)  # type: ignore[arg-type]
        seen.update(pairs)
        federations += _as_federations(mf.name, pairs)
    federated = {n for pair in seen for n in pair}
    return federations, federated, seen


def _check_peers(meshes: dict[tuple[str, str], HubMesh], pairs: set[tuple[str, str]],
                 problems: list[Problem]) -> None:
    """The agent makes a mesh's federation gateways from spec.controlPlane.peers, which the
    MeshFederation controller fills: a peer no Limited pair gives, or a pair a mesh does
    not list yet, means the running mesh is not what the fleet says."""
    for mesh in meshes.values():
        listed = {_text(p, "name") for p in _items(mesh.spec, "controlPlane", "peers")}
        declared = {b if a == mesh.obj.name else a for a, b in pairs if mesh.obj.name in (a, b)}
        for peer in sorted(listed - declared):
            problems.append(_note(mesh.obj, f"peer {peer} comes from no Limited "
                                  "MeshFederation; not federated in the fleet",
                                  "add the pair to the fleet's federations if it should stay",
                                  "MG194"))
        for peer in sorted(declared - listed):
            problems.append(_note(mesh.obj, f"does not list peer {peer} yet (the addon has "
                                  "not federated the pair, or discovery wiped the peers); "
                                  "federated in the fleet", "compare with the cluster before "
                                  "syncing", "MG194"))


_COMPLETE_HINT = ("Complete trust is the addon's shared root for Upstream Istio meshes; "
                  "meshgen does not adopt it (README: Adopting the multicluster-mesh addon)")


def _as_federations(name: str, pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    members = sorted({n for pair in pairs for n in pair})
    full = {(a, b) for i, a in enumerate(members) for b in members[i + 1:]}
    if pairs and set(pairs) == full:
        return [{"name": name, "meshes": members}]
    return [{"name": f"{name}-{i + 1}", "meshes": list(pair)}
            for i, pair in enumerate(sorted(pairs))]


def _templates(objects: list[DumpedObject], meshes: dict[tuple[str, str], HubMesh],
               problems: list[Problem]) -> tuple[list[dict[str, Any]], set[tuple[str, str]]]:
    """A meshTemplate per OSSM MeshDeployment, over the clusters whose Mesh still has the
    settings the MeshDeployment gives (the addon never updates a Mesh it made)."""
    templates: list[dict[str, Any]] = []
    templated: set[tuple[str, str]] = set()
    for md in (o for o in objects if o.kind == "MeshDeployment"):
        spec = _mapping(md.data, "spec")
        if _text(spec, "meshProvider") != OSSM:
            continue  # its Meshes are reported
        settings = _settings(spec, None)
        clusters: list[str] = []
        for cluster in (c for c in _items(spec, "clusters") if isinstance(c, str)):
            mesh = meshes.get((cluster, f"{cluster}-{md.name}"))
            if mesh is None:
                problems.append(_note(md, f"no Mesh {cluster}/{cluster}-{md.name} in the dump "
                                      "(the addon stops at the first cluster whose Mesh "
                                      "exists); not imported",
                                      "check the cluster's Mesh on the hub", "MG192"))
            elif mesh.discovered:
                continue
            elif _settings(mesh.spec, mesh.obj.name) != settings:  # trust domain too
                problems.append(_note(mesh.obj, f"differs from MeshDeployment {md.name}; "
                                      "imported as a mesh of its own",
                                      "the addon deploys the Mesh, not the MeshDeployment",
                                      "MG192"))
            else:
                clusters.append(cluster)
                templated.add((cluster, mesh.obj.name))
        if clusters:
            templates.append({"name": md.name, "clusters": clusters, "template": settings})
    return templates, templated


def _clusters(meshes: dict[tuple[str, str], HubMesh], federated: set[str],
              domains: dict[str, str],
              problems: list[Problem]) -> list[dict[str, Any]]:
    names = {m.cluster for m in meshes.values()}
    clusters: list[dict[str, Any]] = []
    for name in sorted(names):
        cluster: dict[str, Any] = {"name": name}
        if name in domains:
            cluster["ingress"] = {"type": "LoadBalancer", "domain": domains[name]}
        else:
            first = next((m for _, m in sorted(meshes.items())
                          if m.cluster == name and m.obj.name in federated), None)
            if first is not None:
                problems.append(Problem(
                    "MG193", f"cluster {name}: its federated meshes are reached at the "
                    "LoadBalancer address the addon reads at run time; meshgen needs the "
                    "DNS domain under which <gateway>.<namespace>.<domain> resolves",
                    first.obj.location, f"pass --domain {name}=DOMAIN",
                    Severity.WARNING))
        clusters.append(cluster)
    return clusters


def _mesh(mesh: HubMesh, federated: set[str]) -> dict[str, Any]:
    data = CommentedMap(name=mesh.obj.name, cluster=mesh.cluster)
    settings = _settings(mesh.spec, mesh.obj.name)
    if settings["namespace"] == mesh.obj.name:
        del settings["namespace"]
    if mesh.control_plane_name != mesh.obj.name:
        data["controlPlaneName"] = mesh.control_plane_name
    data.update(settings)
    if mesh.obj.name in federated:
        data["rootCert"] = f"certs/{mesh.obj.name}.pem"
    if mesh.discovered:
        data.yaml_add_eol_comment("discovered by the addon, not deployed by it", "name")
    return data


__all__ = ["HUB_COMMAND", "HUB_DUMP", "adopt_hub"]
