"""The ossm2 backend: OpenShift Service Mesh 2.x (Maistra) meshes, one control plane
(ServiceMeshControlPlane) per mesh and cluster, joined by Maistra federation.

What a cluster of an ossm2 mesh gets: objects.py (templates in templates/ossm2/, the table
in templates.py); a mesh resolved: meshes.py; the operator webhook's refusals: webhooks.py;
federations, peerings and gateways: federation.py; exports and imports: services.py; the
mesh CA and the federations' trust: trust.py; the planning steps together: planner.py;
explain.py and graph.py for those commands. The shared stages import these modules
directly, so this package imports nothing itself.
"""
