"""Ossm2 mesh plans -> the objects of one cluster's overlay: the namespaces, and per mesh its
CA source, ServiceMeshControlPlane, ServiceMeshMemberRoll and the federation objects of
each peering (templates in templates/ossm2/)."""

from __future__ import annotations

import copy
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from ...plan.meshes import deep_merge
from ...plan.types import CACERTS, MeshPlan, Peering

if TYPE_CHECKING:
    from ...render import Renderer


def namespaces(renderer: Renderer, meshes: list[MeshPlan],
               skip: Collection[str] = ()) -> list[dict[str, Any]]:
    """Each control-plane and member namespace of the meshes on one cluster, but those in
    skip (namespaces an istio mesh migrating from one of these meshes writes itself)."""
    names = sorted({ns for m in meshes for ns in (m.namespace, *m.members)} - set(skip))
    return [renderer.render("namespace.yaml.j2", name, None, name=name) for name in names]


def mesh_objects(renderer: Renderer, mesh: MeshPlan,
                 peerings: list[Peering]) -> list[dict[str, Any]]:
    """One mesh's objects, peerings included (its traffic objects are shared: render.py)."""
    objects: list[dict[str, Any]] = []
    if (source := _ca_source(renderer, mesh)) is not None:
        objects.append(source)
    objects.append(_control_plane(renderer, mesh, peerings))
    objects.append(renderer.render("ossm2/servicemeshmemberroll.yaml.j2", "default",
                                   mesh.namespace, mesh=mesh))
    for peering in peerings:
        objects.extend(_peering_objects(renderer, peering))
    return objects


def _control_plane(renderer: Renderer, mesh: MeshPlan, peerings: list[Peering]) -> dict[str, Any]:
    obj = renderer.render("ossm2/servicemeshcontrolplane.yaml.j2", mesh.control_plane_name,
                          mesh.namespace, mesh=mesh, peerings=peerings)
    if mesh.smcp_spec:
        obj["spec"] = deep_merge(obj["spec"], mesh.smcp_spec)
    return obj


def _ca_source(renderer: Renderer, mesh: MeshPlan) -> dict[str, Any] | None:
    """What brings the mesh's plugged-in CA into its `cacerts` Secret, when Git holds it."""
    ca = mesh.ca
    if ca.external_secret is not None:
        return renderer.render("ossm2/externalsecret.yaml.j2", CACERTS, mesh.namespace,
                               mesh=mesh)
    if ca.type == "certManager":
        return renderer.render("ossm2/certificate.yaml.j2", CACERTS, mesh.namespace, mesh=mesh)
    if ca.sealed_secret is not None:
        return copy.deepcopy(ca.sealed_secret)  # included as is, sealed by its author
    return None


def _peering_objects(renderer: Renderer, peering: Peering) -> list[dict[str, Any]]:
    ns = peering.local.namespace
    peer = peering.peer.name
    objects = [
        renderer.render("ossm2/root-cert-configmap.yaml.j2", peering.root_cert_configmap, ns,
                        peering=peering),
        renderer.render("ossm2/servicemeshpeer.yaml.j2", peer, ns, peering=peering),
    ]
    if peering.exports:
        objects.append(renderer.render("ossm2/exportedserviceset.yaml.j2", peer, ns,
                                       peering=peering))
    if peering.imports:
        objects.append(renderer.render("ossm2/importedserviceset.yaml.j2", peer, ns,
                                       peering=peering))
    if peering.service_export:
        objects.append(renderer.render("ossm2/serviceexport.yaml.j2", peering.ingress.name, ns,
                                       peering=peering))
    return objects
