"""pydantic models of fleet.yaml: shapes, types and field-level rules."""

from __future__ import annotations

import difflib
import ipaddress
import re
import types
import typing
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from .errors import FleetError, Problem, Problems
from .source import SourceFile

API_VERSION = "meshgen.dev/v1alpha1"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
VERSION = re.compile(r"^v(\d+)\.(\d+)$")
# a pinned Sail operator `Istio` spec.version (backend istio); which ones exist is the
# operator channel's business, checked in meshgen/backends/istio/versions.py
SAIL_VERSION = re.compile(r"^v1\.(\d+)\.(\d+)$")
TRUST_DOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUALIFIED_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


# "{mesh}" and "{cluster}" are substituted in defaults and templates; the resolved
# value is checked again after substitution (plan.py).
PLACEHOLDER = re.compile(r"\{(mesh|cluster)\}")


def _dns_label(value: str) -> str:
    return _checked_label(value, value)


def _setting_label(value: str) -> str:
    return _checked_label(value, PLACEHOLDER.sub("a", value))


def _checked_label(value: str, probe: str) -> str:
    if len(probe) > 63 or not DNS_LABEL.match(probe):
        raise PydanticCustomError(
            "dns_label",
            '"{value}" is not a DNS-1123 label (lowercase letters, digits and "-", '
            "starting and ending with a letter or digit, at most 63 characters)",
            {"value": value},
        )
    return value


def _namespace_pattern(value: str) -> str:
    return value if value == "*" else _dns_label(value)


def _service_pattern(value: str) -> str:
    return value if value == "*" else _dns_label(value)


# the versions a maistra.io/v2 ServiceMeshControlPlane can name; the operator's webhook
# rejects any other ("invalid Version specified")
KNOWN_VERSIONS = ("v1.1", "v2.0", "v2.1", "v2.2", "v2.3", "v2.4", "v2.5", "v2.6")


def _version(value: str) -> str:
    if SAIL_VERSION.match(value):
        return value  # an istio mesh's version; backend fit and channel checked when planned
    if not VERSION.match(value):
        raise PydanticCustomError(
            "mesh_version", '"{value}" is not a control-plane version like "v2.6" (ossm2) '
            'or "v1.26.3" (istio)', {"value": value},
        )
    if value not in KNOWN_VERSIONS:
        raise PydanticCustomError(
            "mesh_version", '"{value}" is no OpenShift Service Mesh control-plane version '
            "(known: {known})", {"value": value, "known": ", ".join(KNOWN_VERSIONS)},
        )
    return value


def _trust_domain(value: str) -> str:
    probe = PLACEHOLDER.sub("a", value)
    if len(probe) > 253 or not TRUST_DOMAIN.match(probe):
        raise PydanticCustomError(
            "trust_domain",
            '"{value}" is not a valid trust domain (lowercase DNS name, e.g. "prod-mesh.local")',
            {"value": value},
        )
    return value


def _dns_name(value: str) -> str:
    labels = value.split(".")
    if len(value) > 253 or not all(len(x) <= 63 and DNS_LABEL.match(x) for x in labels):
        raise PydanticCustomError(
            "dns_name", '"{value}" is not a DNS name (dot-separated DNS-1123 labels)',
            {"value": value},
        )
    return value


def _label_value(value: str) -> str:
    if len(value) > 63 or not LABEL_VALUE.match(value):
        raise PydanticCustomError(
            "label_value", '"{value}" is not a valid Kubernetes label value', {"value": value}
        )
    return value


def _qualified_key(value: str) -> str:
    """A label or annotation key: an optional DNS-subdomain prefix and "/", then a name."""
    prefix, _, name = value.rpartition("/")
    prefix_ok = not prefix or (len(prefix) <= 253 and all(
        DNS_LABEL.match(part) for part in prefix.split(".")))
    if not (prefix_ok and 0 < len(name) <= 63 and QUALIFIED_NAME.match(name)):
        raise PydanticCustomError(
            "qualified_name", '"{value}" is not a valid Kubernetes label or annotation key',
            {"value": value},
        )
    return value


Name = Annotated[str, AfterValidator(_dns_label)]
SettingName = Annotated[str, AfterValidator(_setting_label)]
NamespacePattern = Annotated[str, AfterValidator(_namespace_pattern)]
ServicePattern = Annotated[str, AfterValidator(_service_pattern)]
Version = Annotated[str, AfterValidator(_version)]
TrustDomain = Annotated[str, AfterValidator(_trust_domain)]
LabelValue = Annotated[str, AfterValidator(_label_value)]
DnsName = Annotated[str, AfterValidator(_dns_name)]
QualifiedKey = Annotated[str, AfterValidator(_qualified_key)]

# https://, http://, ssh://, git:// URLs, or scp-like "user@host:path" as git accepts them
GIT_URL = re.compile(r"^((https?|ssh|git)://[^\s/@]+(@[^\s/]+)?(/[^\s]*)?|[\w.-]+@[\w.-]+:[^\s]+)$")
# a path inside the repository: relative, "/"-separated, no "." or ".." segments
REPO_PATH = re.compile(r"^(?!/)(?:[A-Za-z0-9_][-A-Za-z0-9_.]*)(?:/[A-Za-z0-9_][-A-Za-z0-9_.]*)*$")
GIT_REVISION = re.compile(r"^[^\s~^:?*\[\\]+$")


def _git_url(value: str) -> str:
    if not GIT_URL.match(value):
        raise PydanticCustomError(
            "git_url", '"{value}" is not a Git repository URL', {"value": value})
    return value


def _repo_path(value: str) -> str:
    if (value != "." and not REPO_PATH.match(value)) or ".." in value.split("/"):
        raise PydanticCustomError(
            "repo_path", '"{value}" is not a path inside the repository', {"value": value})
    return value


def _git_revision(value: str) -> str:
    if not GIT_REVISION.match(value):
        raise PydanticCustomError(
            "git_revision", '"{value}" is not a Git branch, tag or commit', {"value": value})
    return value


def _secret_path(value: str) -> str:
    if not value or value != value.strip() or "\n" in value:
        raise PydanticCustomError(
            "secret_path", '"{value}" is not a key in a secret store', {"value": value})
    return value


def _duration(value: str) -> str:
    if not DURATION.match(value):
        raise PydanticCustomError(
            "duration", '"{value}" is not a duration like "1h" or "30m"', {"value": value})
    return value


DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")
SecretPath = Annotated[str, AfterValidator(_secret_path)]
Duration = Annotated[str, AfterValidator(_duration)]
GitUrl = Annotated[str, AfterValidator(_git_url)]
RepoPath = Annotated[str, AfterValidator(_repo_path)]
GitRevision = Annotated[str, AfterValidator(_git_revision)]


class Spec(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, alias_generator=to_camel, populate_by_name=False,
        # the validators are built when a Fleet is first validated, all in one schema,
        # instead of one per model at import: half the import's 0.3 s, and parse_fleet
        # does not take longer for it
        defer_build=True,
    )


class Metadata(Spec):
    name: Name


class Ingress(Spec):
    type: Literal["LoadBalancer", "Submariner"]
    domain: DnsName | None = None
    annotations: dict[QualifiedKey, str] = Field(default_factory=dict)
    # the cluster joined the Submariner clusterset, so *.svc.clusterset.local resolves
    # there; default: whether `type` is Submariner
    clusterset: bool | None = None


def _https_url(value: str) -> str:
    if not HTTPS_URL.match(value):
        raise PydanticCustomError(
            "https_url", '"{value}" is not an https:// API server URL', {"value": value})
    return value


def _ip_address(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise PydanticCustomError(
            "ip_address", '"{value}" is not an IP address', {"value": value}) from None
    return value


def _address(value: str) -> str:
    """An IP address or a DNS name: where another network reaches a gateway."""
    try:
        return _ip_address(value)
    except PydanticCustomError:
        return _dns_name(value)


HTTPS_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?$")
HttpsUrl = Annotated[str, AfterValidator(_https_url)]
IpAddress = Annotated[str, AfterValidator(_ip_address)]
Address = Annotated[str, AfterValidator(_address)]


class EastWest(Spec):
    """How other networks reach this cluster's east-west gateway (istio backend)."""

    address: Address | None = None
    annotations: dict[QualifiedKey, str] = Field(default_factory=dict)


class Cluster(Spec):
    name: Name
    labels: dict[QualifiedKey, LabelValue] = Field(default_factory=dict)
    ingress: Ingress | None = None
    # istio backend (docs: shared/design/istio-backend.md)
    platform: Literal["openshift", "kubernetes"] | None = None
    network: Name | None = None
    api_server: HttpsUrl | None = None
    east_west: EastWest | None = None


class Addons(Spec):
    prometheus: bool | None = None
    kiali: bool | None = None
    grafana: bool | None = None
    jaeger: bool | None = None


class ExternalSecretSource(Spec):
    """An external-secrets.io ExternalSecret that writes `cacerts` from a secret store."""

    store: SettingName
    store_kind: Literal["SecretStore", "ClusterSecretStore"] = "SecretStore"
    path: SecretPath
    refresh_interval: Duration = "1h"


class OutOfBand(Spec):
    """`none: {}`: the `cacerts` Secret is created outside Git."""


class SecretSource(Spec):
    """How the plugged-in CA's `cacerts` Secret reaches the cluster: exactly one of these."""

    external_secret: ExternalSecretSource | None = None
    sealed_secret: str | None = None
    none: OutOfBand | None = None


class CertIssuer(Spec):
    name: SettingName
    kind: Literal["Issuer", "ClusterIssuer"] = "Issuer"


class CA(Spec):
    type: Literal["selfSigned", "plugin", "certManager"] = "selfSigned"
    root_cert: str | None = None
    # public cert-chain.pem of the mesh's intermediate CA (an extension): checked to chain
    # to the root the mesh's peers trust
    cert_chain: str | None = None
    secret: SecretSource | None = None
    issuer: CertIssuer | None = None


class RemoteSecretSource(Spec):
    """ExternalSecrets that build istiod's remote secrets from a store's token and CA."""

    store: SettingName
    store_kind: Literal["SecretStore", "ClusterSecretStore"] = "SecretStore"
    path: SecretPath
    refresh_interval: Duration = "1h"


class Discovery(Spec):
    """How istiod on a primary gets credentials for the mesh's other clusters: exactly one."""

    external_secret: RemoteSecretSource | None = None
    none: OutOfBand | None = None


class FederationTrust(Spec):
    type: Literal["limited", "shared"] = "limited"
    root_cert: str | None = None


class MeshSettings(Spec):
    """Every mesh field except name and cluster; used by defaults and meshTemplates."""

    namespace: SettingName | None = None
    control_plane_name: SettingName | None = None
    version: Version | None = None
    profiles: list[SettingName] | None = None
    trust_domain: TrustDomain | None = None
    members: list[SettingName] | None = None
    addons: Addons | None = None
    root_cert: str | None = None
    ca: CA | None = None
    smcp_spec: dict[str, Any] | None = None
    gateway_naming: Literal["suffix", "prefix"] | None = None
    # Istio's DNS proxying in every sidecar, so clients resolve `*-imports.local` names
    # themselves (README "Traffic across meshes")
    dns_capture: bool | None = None
    # istio backend (docs: shared/design/istio-backend.md); the planner refuses the fields of
    # the other backend
    backend: Literal["ossm2", "istio"] | None = None
    mesh_id: Name | None = Field(default=None, alias="meshID")
    update_strategy: Literal["InPlace", "RevisionBased"] | None = None
    discovery: Discovery | None = None
    istio_values: dict[str, Any] | None = None


class MeshCluster(Spec):
    """One member cluster of an istio mesh."""

    cluster: Name
    role: Literal["primary", "remote"] = "primary"
    control_plane: Name | None = None
    # a free ClusterIP of this primary's cluster where remotes on its network reach istiod
    istiod_cluster_ip: IpAddress | None = Field(default=None, alias="istiodClusterIP")


class MeshSpec(MeshSettings):
    model_config = ConfigDict(**Spec.model_config, json_schema_extra={
        "anyOf": [{"required": ["cluster"]}, {"required": ["clusters"]}]})

    name: Name
    # ossm2 meshes (and one-cluster istio meshes) name one `cluster`, istio meshes `clusters`;
    # which is required is checked when planned (MG011)
    cluster: Name | None = None
    clusters: list[MeshCluster] | None = None
    # an istio mesh taking over this ossm2 mesh on its cluster, in the SMCP's namespace
    # (openshift-service-mesh/sail-operator docs/ossm/ossm2-migration); kept once the
    # ossm2 mesh is gone, so the `Istio` keeps its name and revision
    migrate_from: Name | None = None


class LabelSelectorRequirement(Spec):
    key: QualifiedKey
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[LabelValue] = Field(default_factory=list)


class ClusterSelector(Spec):
    match_labels: dict[QualifiedKey, LabelValue] = Field(default_factory=dict)
    match_expressions: list[LabelSelectorRequirement] = Field(default_factory=list)


class MeshTemplate(Spec):
    name: Name
    clusters: list[Name] | None = None
    cluster_selector: ClusterSelector | None = None
    template: MeshSettings = Field(default_factory=MeshSettings)


class Federation(Spec):
    name: Name
    meshes: list[Name]
    topology: Literal["full", "star"] = "full"
    hub: Name | None = None
    trust: FederationTrust = Field(default_factory=FederationTrust)


class ServiceAlias(Spec):
    namespace: NamespacePattern | None = None
    name: ServicePattern | None = None


class ExportedService(Spec):
    namespace: NamespacePattern
    name: ServicePattern | None = None
    selector: dict[QualifiedKey, LabelValue] | None = None
    alias: ServiceAlias | None = None


class Export(Spec):
    mesh: Name
    to: list[Name] | None = None
    services: list[ExportedService]


class ImportedService(Spec):
    namespace: NamespacePattern
    name: ServicePattern
    alias: ServiceAlias | None = None
    as_local: bool = False


class Locality(Spec):
    """Where the ImportedServiceSet places the imported endpoints (spec.locality); the
    importer drops a zone without a region (maistra/istio, maistra-2.5:
    pkg/servicemesh/federation/common/imports.go, mergeLocality), so region is required."""

    region: LabelValue
    zone: LabelValue | None = None
    subzone: LabelValue | None = None


class Import(Spec):
    mesh: Name
    from_: Name = Field(alias="from")
    services: list[ImportedService]
    # set-wide: one locality per ImportedServiceSet (MG173 when entries disagree)
    locality: Locality | None = None


# --- traffic across meshes (README "Traffic across meshes") -------------------------------

class ServiceRef(Spec):
    """A Service of a member namespace of the mesh."""

    namespace: Name
    name: Name


class ImportRef(Spec):
    """An imported service as the importing mesh names it, after the import's alias."""

    from_: Name = Field(alias="from")
    namespace: Name
    name: Name


class RouteDestination(Spec):
    """The local service (optionally one subset), an imported one (ossm2) or the host's
    endpoints in one cluster of the mesh (istio), and its share."""

    subset: Name | None = None
    import_: ImportRef | None = Field(default=None, alias="import")
    cluster: Name | None = None
    weight: Annotated[int, Field(ge=0, le=100)]


class Mirror(Spec):
    """Copy the calls to an imported service (ossm2) or to one cluster's endpoints of the
    host (istio): one of `import` and `cluster`."""

    import_: ImportRef | None = Field(default=None, alias="import")
    cluster: Name | None = None
    percent: Annotated[float, Field(gt=0, le=100)] = 100


class Failover(Spec):
    """Fail over to the same service imported `asLocal` from a peer with a locality
    (ossm2: `from`), or to the host's endpoints in one cluster of the mesh (istio:
    `cluster`)."""

    from_: Name | None = Field(default=None, alias="from")
    cluster: Name | None = None
    # the region of the mesh's own endpoints; default: the cluster's
    # topology.kubernetes.io/region label
    local_region: LabelValue | None = None


class Traffic(Spec):
    mesh: Name
    host: ServiceRef
    subsets: dict[Name, dict[QualifiedKey, LabelValue]] = Field(default_factory=dict)
    route: list[RouteDestination] | None = None
    mirror: Mirror | None = None
    failover: Failover | None = None


class ArgoCD(Spec):
    namespace: Name = "openshift-gitops"
    project: Name | None = None
    # the OpenShift GitOps ArgoCD resource that gets the health checks
    instance: Name = "openshift-gitops"


class ACM(Spec):
    # the hub namespace of the Channel, Placements and Subscriptions; needed only when ACM
    # syncs (subscriptions: true)
    namespace: Name | None = None
    cluster_set: Name = "default"
    gitops_cluster: bool = False
    # false: ACM only registers the clusters into Argo CD (gitopsCluster) and Argo CD syncs
    subscriptions: bool = True


class Delivery(Spec):
    repo_url: GitUrl = Field(alias="repoURL")
    target_revision: GitRevision = "main"
    path: RepoPath = "overlays"
    argocd: ArgoCD | None = None
    acm: ACM | None = None


class IstioOperator(Spec):
    """The OLM Subscription of OpenShift Service Mesh 3 (servicemeshoperator3)."""

    channel: Annotated[str, Field(min_length=1, pattern=r"^[^\s]+$")] = "stable"
    source: Name = "redhat-operators"


class Operators(Spec):
    install: bool = False
    istio: IstioOperator | None = None
    channel: Annotated[str, Field(min_length=1, pattern=r"^[^\s]+$")] = "stable"
    source: Name = "redhat-operators"
    source_namespace: Name = "openshift-marketplace"
    approval: Literal["Automatic", "Manual"] = "Automatic"


class Fleet(Spec):
    api_version: Literal["meshgen.dev/v1alpha1"]
    kind: Literal["Fleet"]
    metadata: Metadata
    defaults: MeshSettings = Field(default_factory=MeshSettings)
    clusters: list[Cluster]
    meshes: list[MeshSpec] = Field(default_factory=list)
    mesh_templates: list[MeshTemplate] = Field(default_factory=list)
    federations: list[Federation] = Field(default_factory=list)
    exports: list[Export] = Field(default_factory=list)
    imports: list[Import] = Field(default_factory=list)
    traffic: list[Traffic] = Field(default_factory=list)
    delivery: Delivery | None = None
    operators: Operators = Field(default_factory=Operators)


# --- pydantic errors -> located, coded problems -------------------------------------------

_TYPE_NAMES = {"bool": "boolean", "int": "integer", "float": "number", "dict": "mapping",
               "model": "mapping", "dataclass": "mapping", "list": "list", "string": "string"}
_CUSTOM_CODES = {
    "dns_label": ("MG020", 'names are Kubernetes DNS-1123 labels, e.g. "prod-mesh"'),
    "dns_name": ("MG020", 'write a DNS name such as "apps.east.example.com"'),
    "mesh_version": ("MG045", 'write the ServiceMeshControlPlane version as "v2.<minor>", '
                              'e.g. "v2.6", or a pinned Sail version, e.g. "v1.26.3"'),
    "trust_domain": ("MG046", 'use a lowercase DNS name, e.g. "<mesh>.local"'),
    "label_value": ("MG012", "label values are at most 63 letters, digits, '-', '_' or '.', "
                             "starting and ending with a letter or digit"),
    "git_url": ("MG101", "write the URL Argo CD and ACM clone, e.g. "
                         '"https://git.example.com/platform/fleet.git"'),
    "repo_path": ("MG101", 'a relative path inside the repository, e.g. "overlays"'),
    "git_revision": ("MG101", 'a branch, tag or commit, e.g. "main"'),
    "secret_path": ("MG057", 'the key of the secret in the store, e.g. "pki/meshes/prod-mesh"'),
    "duration": ("MG057", 'a Go duration, e.g. "1h" or "15m"'),
    "https_url": ("MG200", 'the URL a kubeconfig names, e.g. "https://api.east.example.com:6443"'),
    "ip_address": ("MG200", 'an IPv4 or IPv6 address, e.g. "172.30.200.12"'),
    "qualified_name": ("MG012", 'keys are "name" or "prefix/name", e.g. '
                                '"topology.kubernetes.io/region"'),
}


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation may hold (Optional/Annotated/Union removed)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class that validated the mapping at loc, for did-you-mean hints."""
    current: list[Any] = [Fleet]
    for part in loc:
        following: list[Any] = []
        for candidate in current:
            origin = typing.get_origin(candidate)
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                for name, info in candidate.model_fields.items():
                    if part in (info.alias, name):
                        following.extend(_unwrap(info.annotation))
            elif origin is list and isinstance(part, int):
                following.extend(_unwrap(typing.get_args(candidate)[0]))
            elif origin is dict and isinstance(part, str):
                following.extend(_unwrap(typing.get_args(candidate)[1]))
        current = following
    for candidate in current:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def field_names(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return "null" if value is None else type(value).__name__


def pydantic_problem(error: Any, source: SourceFile, prefix: tuple[int | str, ...] = ()
                     ) -> Problem:
    """A pydantic error as a located problem; prefix is where the validated value sits."""
    loc: tuple[int | str, ...] = (*prefix, *error["loc"])
    kind: str = error["type"]
    if loc and loc[-1] == "[key]":  # pydantic's marker for a bad mapping key
        loc = loc[:-1]
        code, hint = _CUSTOM_CODES.get(kind, ("MG012", "check the key"))
        return Problem(code, f"{'.'.join(map(str, loc[:-1]))}: {error['msg']}",
                       source.key_at(loc), hint)
    where = ".".join(str(p) for p in loc) or "fleet"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = field_names(model) if model else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f'did you mean "{close[0]}"?' if close else ""
        if allowed:
            hint = (hint + " " if hint else "") + "allowed here: " + ", ".join(sorted(allowed))
        parent = ".".join(map(str, loc[:-1])) or "fleet"
        return Problem("MG010", f'unknown field "{loc[-1]}" in {parent}', source.key_at(loc),
                       hint or "remove the field; schema/fleet.schema.json lists the fields "
                       "allowed here")
    if kind == "missing":
        return Problem("MG011", f'missing required field "{loc[-1]}" in '
                       f'{".".join(map(str, loc[:-1])) or "fleet"}', source.at(loc[:-1]),
                       f'add "{loc[-1]}"')
    if kind in _CUSTOM_CODES:
        code, hint = _CUSTOM_CODES[kind]
        return Problem(code, f"{where}: {error['msg']}", source.at(loc), hint)
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return Problem("MG012", f"{where}: {_shown(error['input'])} is not allowed",
                       source.at(loc), f"expected {expected}")
    if kind.endswith("_type"):
        expected = _TYPE_NAMES.get(kind.removesuffix("_type"), kind.removesuffix("_type"))
        return Problem("MG012", f"{where}: expected {expected}, got {_type_name(error['input'])}",
                       source.at(loc), "check the value's type against the fleet format")
    return Problem("MG012", f"{where}: {error['msg']}", source.at(loc),
                   "check the value against the fleet format")


def _shown(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def parse_fleet(source: SourceFile) -> Fleet:
    if not isinstance(source.data, dict):
        raise FleetError(Problem("MG012", "the fleet file must be a mapping", source.at(()),
                                 f"start with `apiVersion: {API_VERSION}` and `kind: Fleet`"))
    try:
        return Fleet.model_validate(source.data)
    except ValidationError as exc:
        problems = Problems()
        for error in exc.errors(include_url=False):
            problems.add(pydantic_problem(error, source))
        problems.extend(_meshes_without_cluster(source))
        raise FleetError(problems) from None


def _meshes_without_cluster(source: SourceFile) -> list[Problem]:
    """`cluster` (or an istio mesh's `clusters`) is required but not by the model, which
    allows either; the planner reports it for a fleet the model accepts, this for one it
    refuses, so a run still reports every field error at once."""
    meshes = source.data.get("meshes") if isinstance(source.data, dict) else None
    return [Problem("MG011", f'missing required field "cluster" in meshes.{i}',
                    source.at(("meshes", i)), 'add "cluster"')
            for i, mesh in enumerate(meshes if isinstance(meshes, list) else [])
            if isinstance(mesh, dict) and "cluster" not in mesh and "clusters" not in mesh]
