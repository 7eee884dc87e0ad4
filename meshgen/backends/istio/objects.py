"""Istio mesh plans -> the objects of one cluster's overlay (shared/design/istio-backend.md,
"What a cluster's overlay gains")."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from ...plan.meshes import deep_merge
from ...plan.types import CACERTS
from .migration import IGNORE_NAMESPACE
from .types import (
    CNI_NAMESPACE,
    CONTROL_PLANE_CLUSTERS,
    EAST_WEST,
    ISTIO_NAME,
    ISTIOD_REMOTE,
    MESH_LABEL,
    NETWORK_LABEL,
    IstioMember,
    IstioMeshPlan,
)

if TYPE_CHECKING:
    from ...render import Renderer

EXTERNAL_DNS_HOSTNAME = "external-dns.alpha.kubernetes.io/hostname"
GATEWAY_SELECTOR = {"app": EAST_WEST, "istio": "eastwestgateway"}


def cluster_objects(renderer: Renderer, meshes: list[IstioMeshPlan],
                    cluster: str) -> list[dict[str, Any]]:
    """Every object the istio meshes put on one cluster (their operator's Subscription is
    in Plan.operators)."""
    objects: list[dict[str, Any]] = []
    here = [(mesh, member) for mesh in meshes if (member := mesh.member(cluster))]
    for mesh, member in here:
        objects += mesh_objects(renderer, mesh, member)
    if here and here[0][1].openshift:
        # one IstioCNI per cluster, of the newest Istio version there (within one minor of
        # every Istio: MG220)
        newest = max((mesh for mesh, _ in here), key=lambda m: _version_key(m.version))
        objects.append(renderer.render("istio/namespace.yaml.j2", CNI_NAMESPACE, None,
                                       name=CNI_NAMESPACE, labels={}, annotations={}))
        objects.append(renderer.render("istio/istiocni.yaml.j2", "default", None,
                                       mesh=newest, cni_namespace=CNI_NAMESPACE))
    return objects


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version[1:].split("."))


def mesh_objects(renderer: Renderer, mesh: IstioMeshPlan,
                 member: IstioMember) -> list[dict[str, Any]]:
    objects = namespaces(renderer, mesh, member)
    # a remote runs no istiod: its workloads get certificates from the primary's
    # while an ossm2 mesh is taken over, its SMCP's CA in the shared namespace serves both
    if member.role == "primary" and not mesh.migrating_on(member.name) and (
            cacerts := cacerts_source(renderer, mesh, member)):
        objects.append(cacerts)
    if mesh.remote_secrets is not None and member.role == "primary":
        objects += [remote_secret(renderer, mesh, watched) for watched in mesh.reads(member)]
    objects.append(renderer.render("istio/istio.yaml.j2", mesh.istio_name, None,
                                   name=mesh.istio_name,
                                   mesh=mesh, member=member,
                                   values=istio_values(mesh, member)))
    if mesh.multi_network:
        objects += east_west_gateway(renderer, mesh, member)
        if any(m.network != member.network for m in mesh.clusters):
            objects.append(renderer.render("istio/cross-network-gateway.yaml.j2",
                                           "cross-network-gateway", mesh.namespace, mesh=mesh,
                                           name="cross-network-gateway"))
    if member.role == "primary" and mesh.serves_across_networks(member):
        objects.append(renderer.render("istio/istiod-gateway.yaml.j2", "istiod-gateway",
                                       mesh.namespace, mesh=mesh, name="istiod-gateway"))
        objects.append(renderer.render(
            "istio/istiod-virtualservice.yaml.j2", "istiod-vs", mesh.namespace, mesh=mesh,
            name="istiod-vs", gateway="istiod-gateway",
            istiod_host=f"{mesh.istiod_service}.{mesh.namespace}.svc.cluster.local"))
    if member.role == "primary" and member.istiod_cluster_ip is not None:
        objects.append(renderer.render(
            "istio/istiod-remote-service.yaml.j2", ISTIOD_REMOTE, mesh.namespace, mesh=mesh,
            name=ISTIOD_REMOTE, member=member, selector=istiod_selector(mesh)))
        objects.append(renderer.render("istio/serviceexport.yaml.j2", ISTIOD_REMOTE,
                                       mesh.namespace, mesh=mesh, name=ISTIOD_REMOTE))
    return objects


def namespaces(renderer: Renderer, mesh: IstioMeshPlan,
               member: IstioMember) -> list[dict[str, Any]]:
    control_annotations = {CONTROL_PLANE_CLUSTERS: member.control_plane} \
        if member.role == "remote" and member.control_plane else {}
    result = [renderer.render(
        "istio/namespace.yaml.j2", mesh.namespace, None, name=mesh.namespace,
        labels={NETWORK_LABEL: member.network, MESH_LABEL: mesh.name},
        annotations=control_annotations)]
    key, value = mesh.injection_label
    migration = mesh.migrating_on(member.name)
    unmoved = migration.members if migration else ()
    # once the ossm2 mesh is gone the label stays: Red Hat's cleaning guide removes it
    # only after the 2.6 operator and CRDs, and then optionally (cleaning-2.6/README.md)
    over = mesh.migrate_from is not None and mesh.migration is None
    for namespace in sorted({*mesh.members, *unmoved}):
        # OSSM 3 discovers every namespace of the 2.6 mesh; it injects the moved ones,
        # which 2.6 (their member roll keeps them) no longer does
        labels = {MESH_LABEL: mesh.name}
        if namespace in mesh.members:
            labels[key] = value
            if namespace in unmoved or over:
                labels[IGNORE_NAMESPACE] = "true"
        result.append(renderer.render(
            "istio/namespace.yaml.j2", namespace, None, name=namespace,
            labels=labels, annotations={}))
    return result


def cacerts_source(renderer: Renderer, mesh: IstioMeshPlan,
                   member: IstioMember) -> dict[str, Any] | None:
    """This cluster's intermediate CA: one root per mesh, one `cacerts` per cluster."""
    ca = mesh.ca
    sealed = mesh.sealed_cacerts.get(member.name)
    if sealed is not None:
        return copy.deepcopy(sealed)  # included as is, sealed by its author
    if ca.type == "certManager":
        return renderer.render("istio/certificate.yaml.j2", CACERTS, mesh.namespace,
                               mesh=mesh, member=member, name=CACERTS)
    if ca.external_secret is not None:
        source = ca.external_secret
        return renderer.render(
            "istio/cacerts-externalsecret.yaml.j2", CACERTS, mesh.namespace, mesh=mesh,
            name=CACERTS,
            store=source.store.replace("{cluster}", member.name),
            path=source.path.replace("{cluster}", member.name))
    return None


def remote_secret(renderer: Renderer, mesh: IstioMeshPlan,
                  watched: IstioMember) -> dict[str, Any]:
    name = f"istio-remote-secret-{watched.name}"
    return renderer.render("istio/remote-secret.yaml.j2", name, mesh.namespace, name=name,
                           mesh=mesh, secrets=mesh.remote_secrets, watched=watched,
                           kubeconfig=kubeconfig(watched))


def kubeconfig(watched: IstioMember) -> str:
    """The kubeconfig istioctl create-remote-secret writes (istio
    istioctl/pkg/multicluster/remote_secret.go), with external-secrets template fields for
    the reader token and CA the store holds."""
    name = watched.name
    return (
        "apiVersion: v1\n"
        "kind: Config\n"
        "clusters:\n"
        f"- name: {name}\n"
        "  cluster:\n"
        '    certificate-authority-data: "{{ .ca | b64enc }}"\n'
        f"    server: {watched.api_server}\n"
        "contexts:\n"
        f"- name: {name}\n"
        "  context:\n"
        f"    cluster: {name}\n"
        f"    user: {name}\n"
        f"current-context: {name}\n"
        "users:\n"
        f"- name: {name}\n"
        "  user:\n"
        '    token: "{{ .token }}"\n'
    )


def istio_values(mesh: IstioMeshPlan, member: IstioMember) -> dict[str, Any]:
    """Istio spec.values for one cluster (shared/research/istio-multicluster.md §1.3)."""
    global_values: dict[str, Any] = {
        "meshID": mesh.mesh_id,
        "multiCluster": {"clusterName": member.name},
        "network": member.network,
    }
    values: dict[str, Any] = {"global": global_values}
    if member.role == "remote":
        global_values["remotePilotAddress"] = mesh.pilot_address(member)
        # the primary's injector serves this cluster's pods under its cluster and network
        values["istiodRemote"] = {
            "injectionPath": f"/inject/cluster/{member.name}/net/{member.network}"}
    else:
        if mesh.remotes_of(member.name):
            global_values["externalIstiod"] = True
        values["meshConfig"] = {
            "trustDomain": mesh.trust_domain,
            "discoverySelectors": [{"matchLabels": {MESH_LABEL: mesh.name}}],
        }
    return deep_merge(values, mesh.istio_values)


def istiod_selector(mesh: IstioMeshPlan) -> dict[str, str]:
    """The selector of istiod's own Service (istio/istio master
    manifests/charts/istio-control/istio-discovery/templates/service.yaml): Sail renders
    the revision "default" as Helm revision "", selected by `istio: pilot`."""
    if mesh.revision == ISTIO_NAME:
        return {"app": "istiod", "istio": "pilot"}
    return {"app": "istiod", "istio.io/rev": mesh.revision}


def east_west_gateway(renderer: Renderer, mesh: IstioMeshPlan,
                      member: IstioMember) -> list[dict[str, Any]]:
    account = f"{EAST_WEST}-service-account"
    pod_labels = {**GATEWAY_SELECTOR, NETWORK_LABEL: member.network,
                  "sidecar.istio.io/inject": "true"}
    if mesh.revision != ISTIO_NAME:  # the gateway chart labels pods of a named revision
        pod_labels["istio.io/rev"] = mesh.revision
    annotations = dict(member.east_west_annotations)
    if member.east_west_dns and member.east_west_address:
        annotations.setdefault(EXTERNAL_DNS_HOSTNAME, member.east_west_address)
    return [
        renderer.render("istio/eastwest-serviceaccount.yaml.j2", account, mesh.namespace,
                        name=account, mesh=mesh),
        renderer.render("istio/eastwest-deployment.yaml.j2", EAST_WEST, mesh.namespace,
                        name=EAST_WEST, mesh=mesh, member=member, selector=GATEWAY_SELECTOR,
                        pod_labels=pod_labels, service_account=account),
        renderer.render("istio/eastwest-service.yaml.j2", EAST_WEST, mesh.namespace,
                        name=EAST_WEST, mesh=mesh, selector=GATEWAY_SELECTOR,
                        labels={**GATEWAY_SELECTOR, NETWORK_LABEL: member.network},
                        annotations=annotations),
    ]
