"""`meshgen explain` for an istio mesh: its settings, then per cluster its role, network,
where istiod is reached, its east-west address and its remote secrets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .types import IstioMember, IstioMeshPlan

if TYPE_CHECKING:
    from ...explain import Explanation, Fact, Section
    from ...plan import Plan

_BUILTIN = {"namespace": "istio-system", "meshID": "the mesh name",
            "trustDomain": "<mesh>.local", "updateStrategy": "InPlace", "members": "none"}


def remote_secret_command(mesh: IstioMeshPlan, primary: IstioMember,
                          watched: IstioMember) -> str:
    """What creates a remote secret out of band. The OSSM istioctl needs
    --create-service-account=false (the Sail charts create the reader account;
    istio-ecosystem/sail-operator PR #1213)."""
    return (f"istioctl create-remote-secret --context={watched.name} --name={watched.name} "
            f"--create-service-account=false | oc apply --context={primary.name} "
            f"-n {mesh.namespace} -f -")


def explain_istio(plan: Plan, mesh: IstioMeshPlan) -> Explanation:
    from ...explain import Explanation, Fact, Section, traffic_facts

    at = plan.source.at

    def setting(label: str, alias: str, value: Any) -> Fact:
        if alias in mesh.origins:
            return Fact(label, value, at(mesh.origins[alias]))
        return Fact(label, value, None, f"default: {_BUILTIN[alias]}")

    head = Section("mesh", mesh.name, at(mesh.origin("name")))
    head.facts = [
        Fact("backend", "istio", at(mesh.origins["backend"]) if "backend" in mesh.origins
             else None, "" if "backend" in mesh.origins else "from defaults"),
        Fact("version", mesh.version, at(mesh.origin("version")),
             f"servicemeshoperator3 channel {mesh.channel}"),
        setting("namespace", "namespace", mesh.namespace),
        setting("mesh ID", "meshID", mesh.mesh_id),
        setting("trust domain", "trustDomain", mesh.trust_domain),
        setting("update strategy", "updateStrategy", mesh.update_strategy),
        setting("members", "members", list(mesh.members)),
        Fact("ca", _ca(mesh), at(mesh.origins["ca"]) if "ca" in mesh.origins else None),
        Fact("networks", mesh.networks, None,
             "multi-network: east-west gateways" if mesh.multi_network else "one network"),
    ]
    if mesh.migrate_from is not None:
        head.facts.append(Fact("migrates from", mesh.migrate_from,
                               at(mesh.origin("migrateFrom")), _migration(mesh)))
    if traffic := traffic_facts(plan, mesh.name):
        head.children["traffic"] = traffic
    sections = [head] + [_cluster(plan, mesh, member, Section, Fact)
                         for member in mesh.clusters]
    return Explanation(fleet=plan.source.name, mesh=mesh.name, sections=sections)


def _migration(mesh: IstioMeshPlan) -> str:
    migration = mesh.migration
    if migration is None:
        return "the ossm2 mesh is gone: the migration is over"
    moving = sorted(set(mesh.members) & set(migration.members))
    unmoved = sorted(set(migration.members) - set(mesh.members))
    return (f"in {migration.namespace} on {migration.cluster}; moving (ignored by 2.6): "
            f"{', '.join(moving) or 'none'}; still on 2.6, discovered: "
            f"{', '.join(unmoved) or 'none'}")


def _ca(mesh: IstioMeshPlan) -> str:
    ca = mesh.ca
    if ca.type == "certManager":
        return f"certManager: a cacerts Certificate per primary from {ca.issuer_kind} " \
               f"{ca.issuer_name}"
    if ca.external_secret is not None:
        return f"plugin: cacerts via ExternalSecret, key {ca.external_secret.path}"
    if ca.sealed_secret_path is not None:
        return f"plugin: cacerts via a SealedSecret per primary, {ca.sealed_secret_path}"
    if ca.type == "plugin":
        return "plugin: cacerts created out of band"
    if mesh.migration is not None:
        return (f"selfSigned: istiod loads the root of {mesh.migration.mesh} "
                "(istio-ca-secret of the shared namespace)")
    return "selfSigned: istiod makes its own root"


def _cluster(plan: Plan, mesh: IstioMeshPlan, member: IstioMember,
             section_type: type[Section], fact_type: type[Fact]) -> Section:
    at = plan.source.at
    section = section_type("cluster", member.name, at(member.origin))
    Fact = fact_type
    facts = [Fact("role", member.role, at(member.origin)),
             Fact("network", member.network, None, _network_note(member)),
             Fact("platform", member.platform, None,
                  "IstioCNI default" if member.openshift else "no IstioCNI")]
    if member.role == "remote":
        facts.append(Fact("istiod", f"{member.control_plane} at "
                          f"{mesh.pilot_address(member)}", at((*member.origin, "controlPlane")),
                          "east-west gateway" if mesh.member(member.control_plane or "")
                          and mesh.pilot_address(member) != _primary_ip(mesh, member)
                          else "istiodClusterIP over Submariner"))
    else:
        facts.append(Fact("istiod", "runs here", None,
                          "serves " + ", ".join(r.name for r in mesh.remotes_of(member.name))
                          if mesh.remotes_of(member.name) else ""))
    if mesh.multi_network:
        facts.append(Fact("east-west address", member.east_west_address, None,
                          "external-dns name" if member.east_west_dns else "eastWest.address"))
    section.facts = facts
    if member.role == "primary" and mesh.reads(member):
        if mesh.remote_secrets is not None:
            section.children["remote secrets"] = [
                Fact(w.name, f"ExternalSecret istio-remote-secret-{w.name}, key "
                     f"{mesh.remote_secrets.path_for(w.name)}") for w in mesh.reads(member)]
        else:
            section.children["remote secrets"] = [
                Fact(w.name, remote_secret_command(mesh, member, w), None, "out of band")
                for w in mesh.reads(member)]
    return section


def _primary_ip(mesh: IstioMeshPlan, remote: IstioMember) -> str | None:
    primary = mesh.member(remote.control_plane or "")
    return primary.istiod_cluster_ip if primary else None


def _network_note(member: IstioMember) -> str:
    if member.cluster.ingress_type == "Submariner":
        return "Submariner: flat pod network"
    return ""
