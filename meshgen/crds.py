"""The upstream CRDs that `meshgen validate` checks objects against: a pinned list (where
each file comes from and its sha256), the cache `meshgen crds fetch` downloads them into, and
the order in which a directory of CRDs is found.

The list is ours: every entry names the upstream repository, commit and path, and the sha256
of the file as upstream has it (four Istio CRDs are line ranges of istio/istio's
manifests/charts/base/files/crd-all.gen.yaml, the whole document between two `---` lines).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .defaults import FETCH_COMMAND

MAX_BYTES = 16 * 1024 * 1024
TIMEOUT = 60.0
ENV = "MESHGEN_CRDS"
UPSTREAM = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class Crd:
    path: str  # where the file lives in the cache, and in a mirror
    repo: str
    commit: str
    source: str  # path in the upstream repository
    sha256: str
    lines: tuple[int, int] | None = None  # 1-based, inclusive: a slice of a multi-CRD file

    @property
    def url(self) -> str:
        return self.url_at(UPSTREAM)

    def url_at(self, base: str) -> str:
        return f"{base}/{self.repo}/{self.commit}/{self.source}"


PINNED: tuple[Crd, ...] = (
    Crd("argo-cd/argoproj.io_applications.yaml",
        "argoproj/argo-cd", "109ca7ca71139e514114499d294a492e7910a965",
        "manifests/crds/application-crd.yaml",
        "5dde0e229249b6b707beb98674c1deae3949d5c319a6c45b9f5a80c99618e40c"),
    Crd("argo-cd/argoproj.io_applicationsets.yaml",
        "argoproj/argo-cd", "109ca7ca71139e514114499d294a492e7910a965",
        "manifests/crds/applicationset-crd.yaml",
        "7d282054f41ca2b71a22bab04a8caf0000e07e53a62432e6ea292dae5ab4f07d"),
    Crd("argo-cd/argoproj.io_appprojects.yaml",
        "argoproj/argo-cd", "109ca7ca71139e514114499d294a492e7910a965",
        "manifests/crds/appproject-crd.yaml",
        "ab225266944322750136f1198d93786e4a79a0e43c8d149abfba44da30a3eac8"),
    Crd("argocd-operator/argoproj.io_argocds.yaml",
        "argoproj-labs/argocd-operator", "9745824a8b4b4aa3129de27e31514ddebde93b9e",
        "config/crd/bases/argoproj.io_argocds.yaml",
        "5907b06a524a3322bd057246f1c883408e90aa16a54cca715eb6e02eecd024de"),
    Crd("cert-manager/cert-manager.io_certificates.yaml",
        "cert-manager/cert-manager", "24e33194fb39488eff2bbf10c6dc640f407cad44",
        "deploy/crds/cert-manager.io_certificates.yaml",
        "7ad91029c00ec959d54215b19d3b1a9b7e0247eaa60f987151c2b70d8661f8af"),
    Crd("cert-manager/cert-manager.io_clusterissuers.yaml",
        "cert-manager/cert-manager", "24e33194fb39488eff2bbf10c6dc640f407cad44",
        "deploy/crds/cert-manager.io_clusterissuers.yaml",
        "30008001b78aafb8e110af61359561104b5fafc3a4dc6ac0013245d0ee3fe4ca"),
    Crd("cert-manager/cert-manager.io_issuers.yaml",
        "cert-manager/cert-manager", "24e33194fb39488eff2bbf10c6dc640f407cad44",
        "deploy/crds/cert-manager.io_issuers.yaml",
        "05e37efb02777e0362d24269fa103c2fc11419f9c85e31854ef873e5d9e5c5cc"),
    Crd("external-secrets/external-secrets.io_clustersecretstores.yaml",
        "external-secrets/external-secrets", "378bdb622ed9712ef4a58370f6a17af033b7d343",
        "config/crds/bases/external-secrets.io_clustersecretstores.yaml",
        "f847c69ae317a76527fc37c163ddfe15d9026e14eb47dd325319e914e0433c2a"),
    Crd("external-secrets/external-secrets.io_externalsecrets.yaml",
        "external-secrets/external-secrets", "378bdb622ed9712ef4a58370f6a17af033b7d343",
        "config/crds/bases/external-secrets.io_externalsecrets.yaml",
        "5044be5a610ca90a075f34f03ed20b462695c43387ba9410db7f4250e47b1e2f"),
    Crd("external-secrets/external-secrets.io_secretstores.yaml",
        "external-secrets/external-secrets", "378bdb622ed9712ef4a58370f6a17af033b7d343",
        "config/crds/bases/external-secrets.io_secretstores.yaml",
        "7f750858d393913915a2f15daff9e1d2f56ca207c09920c055d7a68cceacb641"),
    Crd("istio/install.istio.io_istiooperators.yaml",
        "istio/istio", "6a112a28410654328342c68f82da48920e34f062",
        "manifests/charts/istio-operator/crds/crd-operator.yaml",
        "edfd3374b43298a7c4027d903bc36dbf703c734a93e0a102c30e7cea8b3ef339"),
    Crd("istio/networking.istio.io_destinationrules.yaml",
        "istio/istio", "7019d6d3608e4995e9a36d2977cfec3a341431cd",
        "manifests/charts/base/files/crd-all.gen.yaml",
        "e86c72a9f5645ea2c22233392febbd76f7f0491b55eb0a6bf49b054bea7212b9", lines=(363, 6390)),
    Crd("istio/networking.istio.io_gateways.yaml",
        "istio/istio", "7019d6d3608e4995e9a36d2977cfec3a341431cd",
        "manifests/charts/base/files/crd-all.gen.yaml",
        "bf3ee81005c2c22ef0585abfdac7b8349fed4f7e4903cc9785efbef3a117c1c3", lines=(6843, 7692)),
    Crd("istio/networking.istio.io_serviceentries.yaml",
        "istio/istio", "7019d6d3608e4995e9a36d2977cfec3a341431cd",
        "manifests/charts/base/files/crd-all.gen.yaml",
        "91202c4811a803c33571d07ea1a73d65e846927199a645dd35ce9694ac0b02f7", lines=(7846, 8767)),
    Crd("istio/networking.istio.io_virtualservices.yaml",
        "istio/istio", "7019d6d3608e4995e9a36d2977cfec3a341431cd",
        "manifests/charts/base/files/crd-all.gen.yaml",
        "96d416eae273d101e527d3bd366a3f7fa18866830abe4ad8d12e019c783f361e", lines=(10527, 13707)),
    Crd("maistra/federation.maistra.io_exportedservicesets.yaml",
        "maistra/api", "ffa91c76514384d6197f669322aa009f8b9118cd",
        "manifests/federation.maistra.io_exportedservicesets.yaml",
        "88ebdb09ad48538a279913e621492d2fe0fd953b4d705cab650f786eac5ae0d6"),
    Crd("maistra/federation.maistra.io_importedservicesets.yaml",
        "maistra/api", "ffa91c76514384d6197f669322aa009f8b9118cd",
        "manifests/federation.maistra.io_importedservicesets.yaml",
        "b58896cf1f022b9c52727823907dae43ddb0ed674c4ef855dbd69c6fc44d05c7"),
    Crd("maistra/federation.maistra.io_servicemeshpeers.yaml",
        "maistra/api", "ffa91c76514384d6197f669322aa009f8b9118cd",
        "manifests/federation.maistra.io_servicemeshpeers.yaml",
        "2ed27a3133bd2c1756744ce5da2b8995309fe5993780b2c62ae7de54137e3831"),
    Crd("maistra/maistra.io_servicemeshcontrolplanes.yaml",
        "maistra/istio-operator", "8143614c5f13ef9b894d107d47353507b70f45ea",
        "manifests-maistra/2.5.1/servicemeshcontrolplanes.crd.yaml",
        "1c7dac9f69d4dab698ae7c6b6be3cf69d87485e94fd9b91ccbe49cde172f3da9"),
    Crd("maistra/maistra.io_servicemeshmemberrolls.yaml",
        "maistra/istio-operator", "8143614c5f13ef9b894d107d47353507b70f45ea",
        "manifests-maistra/2.5.1/servicemeshmemberrolls.crd.yaml",
        "c89bf13b51929f969fba789c7ad8ca924af899cc0cc93122da3320e00c85bf04"),
    Crd("maistra/maistra.io_servicemeshmembers.yaml",
        "maistra/istio-operator", "8143614c5f13ef9b894d107d47353507b70f45ea",
        "manifests-maistra/2.5.1/servicemeshmembers.crd.yaml",
        "2c254199cf792bbd29f4f4d5cfa753a18b364bb28067007a0e322345a80d6075"),
    Crd("mcs-api/multicluster.x-k8s.io_serviceexports.yaml",
        "kubernetes-sigs/mcs-api", "4546fabf72519b16fd13f82ee665dfe6520bc4c3",
        "config/crd/multicluster.x-k8s.io_serviceexports.yaml",
        "1ec6ffc8094c8f67434431737b9c1d5132e686f21577250a615ed1e30da67097"),
    Crd("mcs-api/multicluster.x-k8s.io_serviceimports.yaml",
        "kubernetes-sigs/mcs-api", "4546fabf72519b16fd13f82ee665dfe6520bc4c3",
        "config/crd/multicluster.x-k8s.io_serviceimports.yaml",
        "dfec64055b7a5dd47013706c26706ef20f7ae3319b0ae594f6353585cc052ec4"),
    Crd("ocm/apps.open-cluster-management.io_channels.yaml",
        "stolostron/multicloud-operators-channel", "1996e6eefaf336684e92e063dcd7111646485af6",
        "deploy/crds/apps.open-cluster-management.io_channels_crd.yaml",
        "f80cff721f2ece7a86bde750aee346a741b02112940f3f2c5e360d06592d8252"),
    Crd("ocm/apps.open-cluster-management.io_gitopsclusters.yaml",
        "stolostron/multicloud-integrations", "b16ef72027bf702be7dc001406be2cf735299000",
        "deploy/crds/apps.open-cluster-management.io_gitopsclusters.yaml",
        "fd8eb8ca14078eea864b8619a58d58597515c4fe26ed594d10c20cce8a3ef8ad"),
    Crd("ocm/apps.open-cluster-management.io_placementrules.yaml",
        "stolostron/multicloud-operators-subscription", "16ef3af3b9753b5fb544bf87ea33a68156c47a1b",
        "deploy/hub-common/apps.open-cluster-management.io_placementrules_crd.yaml",
        "7dea8a63665a043c1deddefc5da9730b8ee9dcb9536121c26dcc1690046ce2a6"),
    Crd("ocm/apps.open-cluster-management.io_subscriptions.yaml",
        "stolostron/multicloud-operators-subscription", "16ef3af3b9753b5fb544bf87ea33a68156c47a1b",
        "deploy/hub-common/apps.open-cluster-management.io_subscriptions_crd_v1.yaml",
        "3430c9b9e717e6a22db0dfcc739299630042402c5c7614c44b51c968962bed63"),
    Crd("ocm/cluster.open-cluster-management.io_managedclusters.yaml",
        "open-cluster-management-io/api", "527878a4c408e9ee8c9f30119e37e0c3b3707cd3",
        "cluster/v1/0000_00_clusters.open-cluster-management.io_managedclusters.crd.yaml",
        "143d2c1c5e036053cab974682264728bab4cb077326f06fc4011cfc91fab8d06"),
    Crd("ocm/cluster.open-cluster-management.io_managedclustersetbindings.yaml",
        "open-cluster-management-io/api", "527878a4c408e9ee8c9f30119e37e0c3b3707cd3",
        "cluster/v1beta2/0000_01_clusters.open-cluster-management.io_managedclustersetbindings.crd.yaml",
        "b6820bb204cbb892e9bae1bd7912284836c70e0645ea6046e8235d53902e28c1"),
    Crd("ocm/cluster.open-cluster-management.io_managedclustersets.yaml",
        "open-cluster-management-io/api", "527878a4c408e9ee8c9f30119e37e0c3b3707cd3",
        "cluster/v1beta2/0000_00_clusters.open-cluster-management.io_managedclustersets.crd.yaml",
        "edc063d26c5c305efbd74bf642469bb73736607b544aa4f52bb6146aadc7e3c2"),
    Crd("ocm/cluster.open-cluster-management.io_placementdecisions.yaml",
        "open-cluster-management-io/api", "527878a4c408e9ee8c9f30119e37e0c3b3707cd3",
        "cluster/v1beta1/0000_03_clusters.open-cluster-management.io_placementdecisions.crd.yaml",
        "a0d8cf0001e13d58b85063466940b3308d4990f1f74a0e4f9002fe15f227a694"),
    Crd("ocm/cluster.open-cluster-management.io_placements.yaml",
        "open-cluster-management-io/api", "527878a4c408e9ee8c9f30119e37e0c3b3707cd3",
        "cluster/v1beta1/0000_02_clusters.open-cluster-management.io_placements.crd.yaml",
        "14ca11be0d273a3179c118e364cf260461a599757f4cfaa4b65635eb93210f64"),
    Crd("olm/operators.coreos.com_operatorgroups.yaml",
        "operator-framework/api", "72d46e1db6dffddc1c5747c885d845b39d3db1b2",
        "crds/operators.coreos.com_operatorgroups.yaml",
        "dbde712a47a115c4522728645cc02eba6e099f17c3d17dda84dbafcf6fd2935c"),
    Crd("olm/operators.coreos.com_subscriptions.yaml",
        "operator-framework/api", "72d46e1db6dffddc1c5747c885d845b39d3db1b2",
        "crds/operators.coreos.com_subscriptions.yaml",
        "ef3f881564f0a89e8a637cb417d7a4d3e9c465099d34bf27db2187f603cadd59"),
    Crd("sail-operator/sailoperator.io_istiocnis.yaml",
        "istio-ecosystem/sail-operator", "4241170416706137c6263939099a4f4aaefc76d1",
        "chart/crds/sailoperator.io_istiocnis.yaml",
        "570b8f8900b7964057e436fb13c2f946e2df6a5e000e103ce30bc916a232e1e7"),
    Crd("sail-operator/sailoperator.io_istiorevisions.yaml",
        "istio-ecosystem/sail-operator", "4241170416706137c6263939099a4f4aaefc76d1",
        "chart/crds/sailoperator.io_istiorevisions.yaml",
        "b5939341f1c60810618b2165b1423fe65ba3998220730d9cc3cf43a24a463314"),
    Crd("sail-operator/sailoperator.io_istios.yaml",
        "istio-ecosystem/sail-operator", "4241170416706137c6263939099a4f4aaefc76d1",
        "chart/crds/sailoperator.io_istios.yaml",
        "679c6dd941428e7bc429115336db5f376d938351cc3920c8af32462c5d880676"),
    Crd("sealed-secrets/bitnami.com_sealedsecrets.yaml",
        "bitnami-labs/sealed-secrets", "6dc880366d1cafa16683173cc3c8e3b58e930937",
        "helm/sealed-secrets/crds/bitnami.com_sealedsecrets.yaml",
        "fb33ba448b89c2c3252480664078b7f4bdf0949426e5280d07ca049c0dbdbfb7"),
)


class FetchFailed(Exception):
    """Some files could not be fetched or did not match their sha256; nothing was stored."""

    def __init__(self, failures: list[str]) -> None:
        super().__init__("; ".join(failures))
        self.failures = failures


@dataclass(frozen=True)
class Found:
    directory: Path
    source: str  # how it was found, for messages


def list_digest(crds: Iterable[Crd] = PINNED) -> str:
    """Names the cache directory: a new list never reads an old list's files."""
    listing = "".join(f"{crd.sha256}  {crd.path}\n" for crd in sorted(crds, key=lambda c: c.path))
    return hashlib.sha256(listing.encode()).hexdigest()[:16]


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/meshgen/crds/<digest of the list> (XDG default: ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "meshgen" / "crds" / list_digest()


def locate(explicit: Path | None = None) -> Found | None:
    """The CRD directory to validate against: --crds, else $MESHGEN_CRDS, else the cache of
    `meshgen crds fetch` when it has been fetched; None when there is none."""
    if explicit is not None:
        return Found(explicit, "--crds")
    configured = os.environ.get(ENV)
    if configured:
        return Found(Path(configured), f"${ENV}")
    cached = cache_dir()
    if cached.is_dir():
        return Found(cached, FETCH_COMMAND)
    return None


def damaged(directory: Path, crds: Iterable[Crd] = PINNED) -> list[str]:
    """The files of the list that are missing under directory or differ from their sha256."""
    bad = []
    for crd in crds:
        path = directory / crd.path
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != crd.sha256:
            bad.append(crd.path)
    return bad


def _download(crd: Crd, mirror: str | None, fetched: dict[str, bytes],
              upstream: str = UPSTREAM) -> bytes:
    """The file's bytes, verified; fetched keeps what was downloaded by URL (the four Istio
    CRDs are slices of one upstream file)."""
    url = f"{mirror.rstrip('/')}/{crd.path}" if mirror else crd.url_at(upstream)
    if url not in fetched:
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
                fetched[url] = response.read(MAX_BYTES + 1)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise FetchFailed([f"{url}: {exc}"]) from exc
    data = fetched[url]
    if len(data) > MAX_BYTES:
        raise FetchFailed([f"{url}: larger than {MAX_BYTES} bytes"])
    if crd.lines is not None and mirror is None:
        first, last = crd.lines
        data = b"".join(data.splitlines(keepends=True)[first - 1:last])
    digest = hashlib.sha256(data).hexdigest()
    if digest != crd.sha256:
        raise FetchFailed([f"{url}: sha256 {digest}, the list pins {crd.sha256}"])
    return data


def check_mirror(mirror: str) -> str:
    """A mirror is an http(s) or file URL holding the files under their cache paths."""
    scheme = urllib.parse.urlsplit(mirror).scheme
    if scheme not in ("http", "https", "file"):
        raise FetchFailed([f"{mirror}: a mirror is an http://, https:// or file:// URL"])
    return mirror


def fetch(mirror: str | None = None, target: Path | None = None,
          crds: tuple[Crd, ...] = PINNED, upstream: str = UPSTREAM) -> tuple[Path, int]:
    """Download every CRD of the list (from upstream, or from mirror), verify its sha256 and
    store the set in target (default: the cache), all at once: the files go to a staging
    directory beside target, which is renamed into place only when every file is verified.
    Returns target and the number of files downloaded (0 when target was already complete)."""
    target = target if target is not None else cache_dir()
    if mirror is not None:
        check_mirror(mirror)
    if target.is_dir() and not damaged(target, crds):
        return target, 0
    try:
        _store(target, mirror, crds, upstream)
    except OSError as exc:  # an unwritable cache, a full disk, a concurrent fetch
        if target.is_dir() and not damaged(target, crds):
            return target, 0  # another fetch stored the same verified set first
        raise FetchFailed([f"cannot store the CRDs in {target}: {exc}"]) from exc
    return target, len(crds)


def _store(target: Path, mirror: str | None, crds: tuple[Crd, ...], upstream: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        failures = []
        fetched: dict[str, bytes] = {}
        for crd in crds:
            try:
                data = _download(crd, mirror, fetched, upstream)
            except FetchFailed as exc:
                failures.extend(exc.failures)
                continue
            path = staging / crd.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        if failures:
            raise FetchFailed(failures)
        if target.exists():  # damaged: move it aside, then swap the verified set in
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=target.parent))
            os.replace(target, old / "crds")
            shutil.rmtree(old, ignore_errors=True)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
