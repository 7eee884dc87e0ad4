"""Plan -> documents: one dict per Kubernetes object, rendered from jinja2 templates."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _encode_string
from pathlib import Path
from typing import Any

import jinja2
import jinja2.exceptions
import jinja2.meta
import jinja2.sandbox

from .backends.istio import objects as istio_objects
from .backends.istio import traffic as istio_traffic
from .backends.istio.migration import taken_over
from .backends.istio.templates import TEMPLATES as ISTIO_TEMPLATES
from .backends.ossm2 import objects as ossm2_objects
from .backends.ossm2.templates import TEMPLATES as OSSM2_TEMPLATES
from .budget import DEFAULT_BUDGET, Budget, check_budget
from .defaults import bundled_templates
from .errors import FleetError, Location, Problem
from .ordering import SYNC_WAVE, TRAFFIC_WAVE, acm_subscriptions, order_object
from .plan import CACERTS, CACERTS_DIR, CACERTS_KEYS, Plan
from .plan.traffic import TrafficPlan
from .source import loads

# template file -> (apiVersion, kind) it must produce
TEMPLATES: dict[str, tuple[str, str]] = {
    "namespace.yaml.j2": ("v1", "Namespace"),
    "subscription.yaml.j2": ("operators.coreos.com/v1alpha1", "Subscription"),
    "virtualservice.yaml.j2": ("networking.istio.io/v1", "VirtualService"),
    "destinationrule.yaml.j2": ("networking.istio.io/v1", "DestinationRule"),
    "delivery/appproject.yaml.j2": ("argoproj.io/v1alpha1", "AppProject"),
    "delivery/applicationset.yaml.j2": ("argoproj.io/v1alpha1", "ApplicationSet"),
    "delivery/argocd-cm.yaml.j2": ("v1", "ConfigMap"),
    "delivery/argocd.yaml.j2": ("argoproj.io/v1beta1", "ArgoCD"),
    "delivery/channel.yaml.j2": ("apps.open-cluster-management.io/v1", "Channel"),
    "delivery/gitopscluster.yaml.j2": ("apps.open-cluster-management.io/v1beta1",
                                       "GitOpsCluster"),
    "delivery/managedclustersetbinding.yaml.j2": ("cluster.open-cluster-management.io/v1beta2",
                                                  "ManagedClusterSetBinding"),
    "delivery/placement.yaml.j2": ("cluster.open-cluster-management.io/v1beta1", "Placement"),
    "delivery/subscription.yaml.j2": ("apps.open-cluster-management.io/v1", "Subscription"),
    **OSSM2_TEMPLATES,
    **ISTIO_TEMPLATES,
}


class _BundledEnvironment(jinja2.Environment):
    """Globals as one plain dict rather than jinja2's ChainMap: every render and every
    `{% from "_macros.j2" import ... %}` copies or compares them (pallets/jinja, 3.1.x:
    src/jinja2/environment.py Template._get_default_module, src/jinja2/runtime.py
    new_context). The globals are set before any template is loaded and never change."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


_ENCODER = json.JSONEncoder(sort_keys=True)


def _tojson(value: Any) -> str:
    """jinja2's tojson without its HTML escaping of <, >, & and ': the bundled templates
    write JSON that is parsed straight back, where both spellings read the same."""
    if type(value) is str:
        return _encode_string(value)  # what the encoder does for a str, minus two calls
    return _ENCODER.encode(value)


@dataclass(frozen=True)
class Document:
    cluster: str
    obj: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.obj["kind"])

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])

    @property
    def namespace(self) -> str | None:
        ns = self.obj["metadata"].get("namespace")
        return str(ns) if ns is not None else None


class Renderer:
    def __init__(self, fleet_name: str, override_dir: Path | None = None) -> None:
        bundled = str(bundled_templates())
        search = [str(override_dir)] if override_dir else []
        search.append(bundled)
        self.override_dir = override_dir
        options: dict[str, Any] = {
            "undefined": jinja2.StrictUndefined, "trim_blocks": True, "lstrip_blocks": True,
            "keep_trailing_newline": True, "autoescape": False,
            # templates do not change during a run: no stat() per get_template or import
            "auto_reload": False,
        }
        # sandboxed: a --templates override is input, and must not reach Python internals
        # (attributes such as __globals__, hence os.popen) nor mutate the plan it renders
        self.env = jinja2.sandbox.ImmutableSandboxedEnvironment(
            loader=jinja2.FileSystemLoader(search), **options)
        # the bundled templates are meshgen's own code: rendered without the sandbox's
        # check of every attribute access, unless an override can reach into them
        self.bundled_env = _BundledEnvironment(loader=jinja2.FileSystemLoader(bundled),
                                               **options)
        self.bundled_env.filters["tojson"] = _tojson
        for env in (self.env, self.bundled_env):
            env.globals.update(fleet=fleet_name, cacerts=CACERTS, cacerts_dir=CACERTS_DIR,
                               cacerts_keys=CACERTS_KEYS)
        self._cache: dict[str, jinja2.Template] = {}
        self._trusted: dict[str, bool] = {}

    def _template(self, name: str) -> jinja2.Template:
        if name not in self._cache:
            env = self.bundled_env if self._is_trusted(name) else self.env
            try:
                self._cache[name] = env.get_template(name)
            except jinja2.TemplateSyntaxError as exc:
                raise FleetError(Problem(
                    "MG091", f"template syntax error: {exc.message}",
                    Location(exc.filename or name, exc.lineno or 0, 1),
                    "fix the template passed with --templates")) from None
        return self._cache[name]

    def _is_trusted(self, name: str) -> bool:
        """True when neither the template nor any template it imports or includes (at any
        depth) is overridden: then it is bundled code from end to end."""
        if self.override_dir is None:
            return True
        if name not in self._trusted:
            self._trusted[name] = False  # an import cycle is not trusted
            self._trusted[name] = not (self.override_dir / name).exists() and all(
                child is not None and self._is_trusted(child)
                for child in self._references(name))
        return self._trusted[name]

    def _references(self, name: str) -> list[str | None]:
        """The templates a bundled template names (None: a name computed at render)."""
        try:
            source = self.bundled_env.loader.get_source(  # type: ignore[union-attr]
                self.bundled_env, name)[0]
            return list(jinja2.meta.find_referenced_templates(self.bundled_env.parse(source)))
        except jinja2.TemplateError:
            return [None]

    def render(self, template_name: str, expect_name: str, expect_namespace: str | None,
               **context: Any) -> dict[str, Any]:
        name = template_name
        template = self._template(name)
        where = Location(template.filename or name)
        try:
            text = template.render(**context)
        except jinja2.TemplateError as exc:
            refused = isinstance(exc, jinja2.exceptions.SecurityError)
            raise FleetError(Problem(
                "MG091", f"template {name} " + ("uses what templates may not (sandbox): "
                                                if refused else "failed: ") + str(exc),
                _failed_at(exc, where),
                "templates may read the values they are given, not Python internals"
                if refused else "fix the template passed with --templates")) from None
        parsed = _parse_rendered(text, name, where)
        api_version, kind = TEMPLATES[name]
        if not isinstance(parsed, dict):
            raise FleetError(Problem("MG092", f"template {name} must produce one object "
                                     f"(a mapping), produced {type(parsed).__name__}", where,
                                     "the template's output must be one Kubernetes object"))
        obj: dict[str, Any] = parsed
        metadata = obj.get("metadata")
        found = (obj.get("apiVersion"), obj.get("kind"),
                 metadata.get("name") if isinstance(metadata, dict) else None,
                 metadata.get("namespace") if isinstance(metadata, dict) else None)
        if found != (api_version, kind, expect_name, expect_namespace):
            raise FleetError(Problem(
                "MG092", f"template {name} produced {_identity(*found)}, expected "
                f"{_identity(api_version, kind, expect_name, expect_namespace)}",
                where, "a template may not change an object's kind, name or namespace"))
        return obj


def _identity(api_version: object, kind: object, name: object, namespace: object) -> str:
    """`Kind namespace/name (apiVersion)` for a message; what is absent is said so, never
    printed as Python's None."""
    def shown(value: object, what: str) -> str:
        return f"no {what}" if value is None else str(value)

    where = f"{namespace}/" if namespace is not None else ""
    return (f"{shown(kind, 'kind')} {where}{shown(name, 'name')} "
            f"({shown(api_version, 'apiVersion')})")


def _failed_at(exc: BaseException, where: Location) -> Location:
    """The template line a render error happened on: jinja2 rewrites the traceback so that
    a frame stands for the template file and line."""
    line = 0
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == where.file:
            line = tb.tb_lineno
        tb = tb.tb_next
    return Location(where.file, line, 1) if line else where


class _DuplicateKey(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)  # one, not one per document


def _parse_rendered(text: str, name: str, where: Location) -> Any:
    """A rendered document as data. The bundled templates write JSON, which the json
    module reads many times faster than any YAML parser; anything else (a user's block
    YAML template) goes through the same strict loader as fleet files."""
    try:
        return _DECODER.decode(text)
    except _DuplicateKey as exc:
        raise FleetError(Problem("MG092", f'template {name} produced key "{exc}" twice',
                                 where, "each key may appear once per mapping")) from None
    except ValueError:
        pass
    try:
        return loads(text, f"output of {name}").data
    except FleetError as exc:
        first = next(iter(exc.problems))
        raise FleetError(Problem("MG092", f"template {name} produced invalid YAML: "
                                 f"{first.message} (line {first.location.line} of its output)",
                                 where, "check the template's indentation and quoting")
                         ) from None


def render_plan(plan: Plan, templates: Path | None = None,
                budget: Budget = DEFAULT_BUDGET) -> list[Document]:
    """Every overlay object of the fleet at once (a build streams: render_cluster)."""
    check_budget(plan, budget)  # before anything is rendered
    renderer = Renderer(plan.fleet_name, templates)
    return [doc for cluster in plan.clusters
            for doc in render_cluster(renderer, plan, cluster.name)]


def render_cluster(renderer: Renderer, plan: Plan, cluster: str) -> list[Document]:
    """The objects of one cluster's overlay, annotated with their sync order. What it reads of the
    plan is what meshgen.reuse fingerprints: keep the two in step."""
    meshes = plan.meshes_on(cluster)
    objects = ossm2_objects.namespaces(renderer, meshes, skip=taken_over(plan.istio, cluster))
    for operator in plan.operators.get(cluster, []):
        objects.append(renderer.render("subscription.yaml.j2", operator.package,
                                       operator.namespace, operator=operator))
    for mesh in meshes:
        objects += ossm2_objects.mesh_objects(renderer, mesh, plan.peerings_of(mesh))
        objects += traffic_objects(renderer, [t for t in plan.traffic if t.mesh == mesh.name])
    objects += istio_objects.cluster_objects(renderer, plan.istio, cluster)
    objects += traffic_objects(renderer, istio_traffic.on_cluster(plan.traffic, plan.istio,
                                                                  cluster))
    members = plan.member_namespaces(cluster)
    acm = acm_subscriptions(plan)
    for obj in objects:
        order_object(obj, members, acm)
    return [Document(cluster, obj) for obj in objects]


def traffic_objects(renderer: Renderer, entries: list[TrafficPlan]) -> list[dict[str, Any]]:
    """Each `traffic` entry's VirtualService and DestinationRule, applied in a wave after
    the ImportedServiceSet whose hostnames they route to."""
    annotations = {SYNC_WAVE: str(TRAFFIC_WAVE)}
    objects = []
    for entry in entries:
        if entry.virtual_service:
            objects.append(renderer.render("virtualservice.yaml.j2", entry.name,
                                           entry.namespace, traffic=entry,
                                           annotations=annotations))
        if entry.destination_rule:
            objects.append(renderer.render("destinationrule.yaml.j2", entry.name,
                                           entry.namespace, traffic=entry,
                                           annotations=annotations))
    return objects
