"""The meshgen command line: parse options, call one function, map errors to exit codes.

Each command imports the modules it needs when it runs: starting the command line loads
only click and the light modules below, so that a no-change `meshgen build` (served by the
build cache) does not spend most of its time importing the model, the planner, jinja2,
jsonschema and cryptography. tests/test_cache.py holds the list it must not import."""

from __future__ import annotations

import shlex
import sys
import tempfile
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import click
from click.core import ParameterSource

from . import __version__
from .budget import DEFAULT_MAX_BYTES, DEFAULT_MAX_OBJECTS, Budget
from .build import build_and_write, compile_fleet, plan_fleet, up_to_date
from .cache import enabled as cache_enabled
from .defaults import (
    DEFAULT_CA_DIR,
    DEFAULT_FLEET,
    DEFAULT_OUT,
    EXPLAIN_FORMATS,
    FETCH_COMMAND,
    GRAPH_FORMATS,
    KEY_TYPES,
    KeyType,
)
from .discover import find_fleet_root, relative
from .errors import Location, Problem, Problems, escape_data, github_annotation, plural
from .progress import for_command as progress_for
from .report import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    PROBLEM_FORMATS,
    Exit,
    Reporter,
    usage_error,
)

if TYPE_CHECKING:
    from .adopt import Adoption
    from .build import Build
    from .dumps import Dump

F = TypeVar("F", bound=Callable[..., Any])


def _reported(func: F) -> F:
    """Give the command a Reporter for its --format (text when it has none), which prints
    its problems, maps bad input to exit 2 and never lets a traceback through for it."""
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with Reporter(kwargs.pop("fmt", "text")) as report:
            return func(*args, report=report, **kwargs)

    return wrapper  # type: ignore[return-value]


# FLEET defaults to fleet/fleet.yaml found from the working directory up (discover.py)
fleet_argument = click.argument(
    "fleet", type=click.Path(path_type=Path, dir_okay=False), required=False)
templates_option = click.option(
    "--templates", type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Directory whose templates override the bundled ones, file by file.")
out_option = click.option(
    "--out", type=click.Path(path_type=Path, file_okay=False), default=str(DEFAULT_OUT),
    show_default=True, help="Output directory.")


def format_option(*choices: str, help: str = "How problems are printed.") -> Callable[[F], F]:
    return click.option("--format", "fmt", type=click.Choice(choices), default=choices[0],
                        show_default=True, help=help)


problem_format = format_option(*PROBLEM_FORMATS, help="How problems are printed: text, a "
                               "JSON list, or GitHub workflow annotations.")


def _discovered(fleet: Path | None, **defaults: Path) -> tuple[Path, dict[str, Path]]:
    """FLEET as given; or, like git finds its repository, fleet/fleet.yaml in the nearest
    directory from here up to the repository root, with the relative defaults of the other
    paths (--out, --dir) taken from that directory instead of the working directory."""
    if fleet is not None:
        return fleet, defaults
    root = find_fleet_root()
    context = click.get_current_context()
    rebased = {name: relative(root / value)
               if context.get_parameter_source(name) is ParameterSource.DEFAULT
               and not value.is_absolute() else value
               for name, value in defaults.items()}
    return relative(root / DEFAULT_FLEET), rebased


class MeshgenGroup(click.Group):
    """Reports usage errors (a bad option, a directory given as FLEET) in the --format the
    command line asks for: one JSON document on stdout for json, an annotation for github."""

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(argv, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            usage_error(exc, argv)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def budget_options(command: F) -> F:
    """--max-objects and --max-bytes: the limits a build of the fleet must keep."""
    command = click.option(
        "--max-bytes", type=click.IntRange(min=1), default=DEFAULT_MAX_BYTES,
        show_default=True, help="Refuse a fleet that would generate more bytes.")(command)
    return click.option(
        "--max-objects", type=click.IntRange(min=1), default=DEFAULT_MAX_OBJECTS,
        show_default=True, help="Refuse a fleet that would generate more objects.")(command)


@click.group(cls=MeshgenGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="meshgen")
def main() -> None:
    """Compile fleet.yaml into per-cluster OpenShift Service Mesh federation overlays."""


def run() -> None:
    """The `meshgen` command as a process (the console script and `python -m meshgen`),
    as opposed to main called in-process by tests or other programs."""
    from .gcpause import command_line

    command_line()
    main(prog_name="meshgen")


@main.command()
@fleet_argument
@out_option
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 when the tree on disk differs from the build.")
@templates_option
@budget_options
@click.option("--no-cache", is_flag=True,
              help="Build from scratch; neither read nor write the build cache "
                   "(also: MESHGEN_NO_CACHE=1).")
@click.option("--progress", "show_progress", is_flag=True,
              help="Show progress on stderr even when it is not a terminal.")
@problem_format
@_reported
def build(fleet: Path | None, out: Path, check: bool, templates: Path | None, max_objects: int,
          max_bytes: int, no_cache: bool, show_progress: bool, report: Reporter) -> None:
    """Build one Kustomize overlay per cluster from FLEET (default: fleet/fleet.yaml, looked
    for from here up to the repository root; --out is then relative to where it was found)."""
    fleet, paths = _discovered(fleet, out=out)
    out = paths["out"]
    budget = Budget(max_objects, max_bytes)
    use_cache = cache_enabled(no_cache)
    progress = progress_for(report.requested, show_progress)
    if check:
        if use_cache and (entry := up_to_date(fleet, out, templates, budget)):
            report.add(entry.problems())
            report.say(f"{out} is up to date ({plural(entry.files, 'file')})")
            raise Exit(EXIT_OK)
        result = compile_fleet(fleet, out, templates, budget=budget, progress=progress)
        progress.done()
        report.add(result.warnings)
        raise Exit(_check(fleet, out, templates, result, report))
    written = build_and_write(fleet, out, templates, budget, use_cache, report.add, progress)
    progress.done()
    diff = written.diff
    counts = (f"{len(diff.added)} added, {len(diff.modified)} updated, "
              f"{len(diff.stale)} removed, {len(diff.unchanged)} unchanged") if diff else \
        f"0 added, 0 updated, 0 removed, {written.files} unchanged (cached)"
    report.say(f"{out}: {plural(written.files, 'file')} for "
               f"{plural(written.clusters, 'cluster')}; {counts}; "
               f"{progress.elapsed():.2f} s")


def _check(fleet: Path, out: Path, templates: Path | None, result: Build,
           report: Reporter) -> int:
    from . import output

    diff = output.compare(out, result.files)
    if not diff.changed:
        report.say(f"{out} is up to date ({plural(len(result.files), 'file')})")
        return EXIT_OK
    command = ["meshgen", "build", str(fleet), "--out", str(out)]
    if templates:
        command += ["--templates", str(templates)]
    fix = f"run: {shlex.join(command)}"
    for label, paths in (("out of date", diff.modified + diff.inventories),
                         ("missing", diff.added),
                         ("stale", diff.stale)):
        for rel in paths:
            if report.fmt == "text":
                click.echo(f"{label}: {out / rel}")
            else:
                report.add([Problem("MG110", f"generated file is {label}: {out / rel}",
                                    Location(str(out / rel), 0, 0), fix)])
    report.say(f"{out} is out of date; to fix it {fix}")
    return EXIT_FAILED


@main.command()
@fleet_argument
@click.option("--crds", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Directory of CustomResourceDefinitions to validate every object against "
                   f"(default: $MESHGEN_CRDS, else what `{FETCH_COMMAND}` downloaded).")
@templates_option
@problem_format
@_reported
def validate(fleet: Path | None, crds: Path | None, templates: Path | None,
             report: Reporter) -> None:
    """Check FLEET, then build it in a temporary directory and verify the result
    with kustomize, yamllint and the CRD schemas (--crds, $MESHGEN_CRDS or the cache of
    `meshgen crds fetch`, in this order; without any, no schema check)."""
    from . import output
    from .crds import locate
    from .verify import SchemaSet, verify_tree

    fleet, _ = _discovered(fleet)
    found = locate(crds)
    if found is not None and not found.directory.is_dir():
        report.fail("MG114", f"{found.source} names {found.directory}, which is not a "
                    "directory", hint=f"point it at a directory of CRDs, or unset it and "
                    f"run `{FETCH_COMMAND}`")
        raise Exit(EXIT_FAILED)
    crds = found.directory if found is not None else None
    with tempfile.TemporaryDirectory(prefix="meshgen-validate-") as tmp:
        out = Path(tmp) / "overlays"
        result = compile_fleet(fleet, out, templates)
        report.add(result.warnings)
        output.write_tree(out, result.files)
        verified = verify_tree(out, result.files, SchemaSet(crds) if crds else None)
    if report.fmt == "text":
        for problem in verified.problems:
            click.echo(problem, err=True)
    else:
        report.add(Problem("MG111", message, Location(str(fleet), 0, 0),
                           "fix the setting (such as smcpSpec) or the --templates override "
                           "that produces this object") for message in verified.problems)
    schema_note = (f", CRD schemas from {crds}" if crds
                   else f"; no CRD schemas: run `{FETCH_COMMAND}` or pass --crds")
    if not verified.ok:
        click.echo(f"{fleet}: {plural(len(verified.problems), 'problem')} in the built output",
                   err=True)
        raise Exit(EXIT_FAILED)
    delivery = (f", {plural(verified.delivery, 'delivery kustomization')}"
                if verified.delivery else "")
    report.say(f"{fleet}: ok: {plural(verified.overlays, 'overlay')}{delivery}, "
               f"{plural(verified.objects, 'object')} (kustomize, yamllint{schema_note})")


@main.group()
def crds() -> None:
    """The upstream CRDs that `meshgen validate` checks the generated objects against."""


@crds.command("fetch")
@click.option("--mirror", metavar="URL",
              help="Fetch from this http(s):// or file:// URL, which holds the files under "
                   "the paths of the cache, instead of from upstream (sha256 still checked).")
@problem_format
@_reported
def crds_fetch(mirror: str | None, report: Reporter) -> None:
    """Download meshgen's pinned list of upstream CRDs (each checked against its sha256)
    into the cache ($XDG_CACHE_HOME/meshgen/crds/<digest of the list>), where `meshgen
    validate` and the tests find them. Stores all or nothing; a complete cache is kept."""
    from .crds import FetchFailed, fetch

    try:
        directory, downloaded = fetch(mirror)
    except FetchFailed as exc:
        for failure in exc.failures:
            report.fail("MG114", failure, hint="nothing was stored; check the network or the "
                        "--mirror, then run the command again")
        raise Exit(EXIT_FAILED) from None
    state = "downloaded, sha256 verified" if downloaded else "already there, sha256 verified"
    report.say(f"{directory}: upstream CRDs {state}")


@crds.command("path")
def crds_path() -> None:
    """Print the CRD directory `meshgen validate` uses (exit 1 when there is none)."""
    from .crds import locate

    found = locate()
    if found is None:
        click.echo(f"no CRDs: run `{FETCH_COMMAND}` or set $MESHGEN_CRDS", err=True)
        raise SystemExit(EXIT_FAILED)
    click.echo(found.directory)


@main.command()
@fleet_argument
@out_option
@click.option("--against", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Compare with the generated files in this directory instead of --out.")
@click.option("--git", "revision", metavar="REV",
              help="Compare with FLEET as committed at REV (built in a temporary directory; "
                   "the work tree is not touched).")
@templates_option
@budget_options
@click.option("--exit-code", is_flag=True, help="Exit 1 when there are changes.")
@format_option("text", "markdown", "json", "github",
               help="text or markdown (a pull-request comment) for people; json for programs; "
                    "github: problems as annotations, the diff as text.")
@_reported
def diff(fleet: Path | None, out: Path, against: Path | None, revision: str | None,
         templates: Path | None, max_objects: int, max_bytes: int, exit_code: bool,
         report: Reporter) -> None:
    """Show what FLEET changes in the generated objects: a summary per cluster and kind,
    then a diff per object. Compares with the files in --out (what `meshgen build` would
    change) unless --against or --git says otherwise."""
    from .diff import compare, format_markdown, format_text, read_tree
    from .gitrev import files_at_revision

    if against is not None and revision is not None:
        raise click.UsageError("--against and --git exclude each other")
    fleet, paths = _discovered(fleet, out=out)
    out = paths["out"]
    budget = Budget(max_objects, max_bytes)
    result = compile_fleet(fleet, out, templates, budget=budget)
    report.add(result.warnings)
    if revision is not None:
        before, label = files_at_revision(fleet, revision, templates, out, budget), \
            f"{fleet} at {revision}"
    else:
        directory = against if against is not None else out
        before, label = read_tree(directory), str(directory)
    changes = compare(before, result.files)
    after = f"{fleet} (work tree)" if revision is not None else str(fleet)
    fmt = report.requested
    if fmt == "json":
        report.result = {"before": label, "after": after, **changes.as_dict()}
    elif fmt == "markdown":
        click.echo(format_markdown(changes, label, after), nl=False)
    else:
        if fmt == "github" and changes:
            for target in changes.targets():
                report.say(f"::notice title=meshgen diff::{escape_data(target)}: "
                           f"{escape_data(changes.summary(target))}")
        click.echo(format_text(changes, label, after))
    raise Exit(EXIT_FAILED if exit_code and changes else EXIT_OK)


@main.command()
@fleet_argument
@format_option(*GRAPH_FORMATS, help="mermaid (renders on GitHub) or dot (Graphviz).")
@_reported
def graph(fleet: Path | None, report: Reporter) -> None:
    """Draw the federation graph of FLEET: meshes grouped by cluster, one edge per
    federated pair, labelled with the services exported and imported across it."""
    from .graph import draw

    fleet, _ = _discovered(fleet)
    plan = plan_fleet(fleet)
    report.add(plan.warnings)
    click.echo(draw(plan, report.requested), nl=False)


@main.command()
@click.argument("mesh")
@fleet_argument
@format_option(*EXPLAIN_FORMATS, help="text for people, json for programs.")
@_reported
def explain(mesh: str, fleet: Path | None, report: Reporter) -> None:
    """Show what meshgen resolved for MESH of FLEET: peers, gateways, addresses, trust
    domains and the hostnames of imported services, each with its fleet.yaml line."""
    from .explain import explain as explain_mesh
    from .explain import format_text as format_explanation

    fleet, _ = _discovered(fleet)
    plan = plan_fleet(fleet)
    report.add(plan.warnings)
    explanation = explain_mesh(plan, mesh)
    if report.fmt == "json":
        report.result = explanation.as_dict()
    else:
        click.echo(format_explanation(explanation), nl=False)


@main.command()
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the schema to this file instead of standard output.")
@_reported
def schema(out: Path | None, report: Reporter) -> None:
    """Print the JSON Schema of fleet.yaml (for editors; regenerate the committed copy
    with `meshgen schema --out schema/fleet.schema.json`)."""
    from .schema import schema_text

    text = schema_text()
    if out is None:
        click.echo(text, nl=False)
        return
    if not out.exists() or out.read_text(encoding="utf-8") != text:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    report.say(f"{out}: JSON Schema of fleet.yaml written")


@main.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), default=".")
@_reported
def init(directory: Path, report: Reporter) -> None:
    """Start a fleet repository in DIRECTORY (default: here): fleet/fleet.yaml with one
    cluster and one mesh, its JSON Schema, .gitignore (appended to when there is one), and
    at the root of the Git repository DIRECTORY is in, a GitHub workflow and a pre-commit
    config. Never overwrites a file."""
    from .scaffold import scaffold

    for done in scaffold(directory):
        report.say(f"{'appended to' if done.appended else 'wrote'} {done.path}")
    report.say(f"next: cd {shlex.quote(str(directory))} && meshgen build")


@main.group()
def certs() -> None:
    """Public root certificates of the fleet's meshes."""


@certs.command("import")
@click.argument("mesh")
@click.argument("file", type=click.File("rb"))
@fleet_argument
@problem_format
@_reported
def certs_import(mesh: str, file: BinaryIO, fleet: Path | None, report: Reporter) -> None:
    """Store MESH's root certificate at its rootCert path: FILE is the output of
    `oc get configmap istio-ca-root-cert -n <namespace> -o yaml` (or the root as PEM;
    - reads standard input). The second phase of a selfSigned mesh's federation."""
    from .certimport import MAX_INPUT, import_root, read_input

    fleet, _ = _discovered(fleet)
    name = "<stdin>" if file.name == "<stdin>" else file.name
    root = read_input(file.read(MAX_INPUT + 1), name)
    plan = plan_fleet(fleet, certificates=False)
    imported = import_root(plan, fleet.resolve().parent, mesh, root)
    state = "written to" if imported.changed else "unchanged at"
    report.say(f"{mesh}: root {', '.join(root.subjects)} (expires {root.not_after:%Y-%m-%d}) "
               f"{state} {_shown_path(imported.path)}")
    if imported.changed:
        report.say("next: meshgen build, then commit the certificate and the overlays")


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


ca_dir_option = click.option(
    "--dir", "ca_dir", type=click.Path(path_type=Path, file_okay=False),
    default=str(DEFAULT_CA_DIR), show_default=True,
    help="The CA directory: private keys, git-ignored, outside the output tree.")


@main.group()
def ca() -> None:
    """An offline CA for labs and tests: roots and per-mesh intermediate CAs."""


@ca.command("init")
@fleet_argument
@ca_dir_option
@out_option
@click.option("--key-type", type=click.Choice(KEY_TYPES), default="rsa-4096",
              show_default=True, help="Key algorithm of new roots and intermediates.")
@click.option("--root-days", type=click.IntRange(1, 36500), default=3650, show_default=True,
              help="Validity of a new root.")
@click.option("--days", type=click.IntRange(1, 36500), default=730, show_default=True,
              help="Validity of a new intermediate CA (never beyond its root).")
@problem_format
@_reported
def ca_init(fleet: Path | None, ca_dir: Path, out: Path, key_type: KeyType, root_days: int,
            days: int, report: Reporter) -> None:
    """Create a root for every plugged-in mesh (one per shared-trust federation) and an
    intermediate CA for every plugin mesh; reuse what the CA directory already holds.
    Writes the public root certificates (and ca.certChain files) where FLEET names them."""
    from .catool import init_ca

    fleet, paths = _discovered(fleet, ca_dir=ca_dir, out=out)
    ca_dir, out = paths["ca_dir"], paths["out"]
    plan = plan_fleet(fleet, certificates=False)
    result = init_ca(plan, fleet.resolve().parent, ca_dir, out, key_type=key_type,
                     root_days=root_days, days=days, organization=plan.fleet_name)
    if not result.roots:
        report.say(f"{fleet}: no mesh has ca.type plugin or certManager; nothing to do")
        return
    for root in result.roots:
        public = f", public certificate {_shown_path(root.public)}" if root.public else ""
        report.say(f"root {root.ident}: {'created' if root.made else 'kept'}{public}")
    for intermediate in result.intermediates:
        state = "created" if intermediate.made else "kept"
        where = f" cluster {intermediate.cluster}" if intermediate.cluster else ""
        report.say(f"mesh {intermediate.mesh.name}{where}: intermediate CA {state} "
                   f"(root {intermediate.root.ident})")
    for mesh, root in result.issuers:
        key_dir = ca_dir / "roots" / root.ident
        namespace = "cert-manager" if mesh.ca.issuer_kind == "ClusterIssuer" else mesh.namespace
        report.say(f"mesh {mesh.name}: cert-manager issues its CA from {mesh.ca.issuer_kind} "
                   f"{mesh.ca.issuer_name}; back that CA issuer with this root: oc create "
                   f"secret tls {mesh.ca.issuer_name} -n {namespace} --cert "
                   f"{key_dir}/root-cert.pem --key {key_dir}/root-key.pem")
    for path in result.public_written:
        report.say(f"wrote {_shown_path(path)}")
    report.say(f"private keys are in {ca_dir} (mode 0600, git-ignored); next: meshgen build")


@ca.command("secret")
@click.argument("mesh")
@fleet_argument
@ca_dir_option
@click.option("--cluster", help="The primary cluster whose `cacerts` to print (istio meshes).")
@problem_format
@_reported
def ca_secret(mesh: str, fleet: Path | None, ca_dir: Path, cluster: str | None,
              report: Reporter) -> None:
    """Print MESH's `cacerts` Secret (ca-cert.pem, ca-key.pem, root-cert.pem,
    cert-chain.pem) from the CA directory, for `oc apply -f -` or kubeseal. It holds a
    private key: pipe it, never commit it."""
    from .catool import cacerts_secret

    fleet, paths = _discovered(fleet, ca_dir=ca_dir)
    ca_dir = paths["ca_dir"]
    plan = plan_fleet(fleet, certificates=False)
    click.echo(cacerts_secret(plan, mesh, ca_dir, cluster=cluster), nl=False)


def _dump_arguments(arguments: tuple[str, ...],
                    required: bool = True) -> tuple[Path | None, dict[str, Path]]:
    """FLEET (the one argument without "=") and the CLUSTER=FILE dumps, in given order."""
    from .dumps import DUMP_COMMAND

    fleets = [a for a in arguments if "=" not in a]
    if len(fleets) > 1:
        raise click.UsageError(f"one FLEET at most, got {', '.join(fleets)}; give dumps as "
                               "CLUSTER=FILE")
    dumps: dict[str, Path] = {}
    for argument in arguments:
        cluster, equals, file = argument.partition("=")
        if not equals:
            continue
        if not cluster or not file:
            raise click.UsageError(f"{argument!r}: give a dump as CLUSTER=FILE")
        if cluster in dumps:
            raise click.UsageError(f"two dumps for cluster {cluster}")
        dumps[cluster] = Path(file)
    if not dumps and required:
        raise click.UsageError("give at least one dump as CLUSTER=FILE, made with: "
                               + DUMP_COMMAND)
    return (Path(fleets[0]) if fleets else None), dumps


@main.command()
@click.argument("arguments", nargs=-1, metavar="[FLEET] CLUSTER=FILE...")
@click.option("--kubeconfig", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Read the clusters without a dump through oc (else kubectl), each with "
                   "the context named like it.")
@problem_format
@_reported
def status(arguments: tuple[str, ...], kubeconfig: Path | None, report: Reporter) -> None:
    """Is the federation up? Read each cluster's dump (`oc get smcp,smmr,servicemeshpeers,
    exportedservicesets,importedservicesets -A -o yaml`, or -o json) and print, per
    federated pair of FLEET in both directions, whether istiod is connected and since when,
    its last error, the exported and imported services seen against those declared, and
    the readiness of each mesh's control plane and member roll; objects FLEET does not
    declare are listed as unmanaged. Exit 0 when all is healthy, 1 otherwise."""
    from .dumps import load_dumps
    from .kubeget import fetch_dump
    from .status import federation_status
    from .status import findings as status_findings
    from .status import format_text as format_status

    given, arguments_by_cluster = _dump_arguments(arguments, required=kubeconfig is None)
    fleet, _ = _discovered(given)
    plan = plan_fleet(fleet)
    report.add(plan.warnings)
    known = {c.name for c in plan.clusters}
    unknown = [c for c in arguments_by_cluster if c not in known]
    for cluster in unknown:
        report.add([Problem("MG182", f"no cluster {cluster!r} in the fleet",
                            plan.source.key_at(("clusters",)),
                            "name each dump after a cluster of the fleet: "
                            + ", ".join(sorted(known)))])
    if unknown:
        raise Exit(EXIT_USAGE)
    dumps = load_dumps(arguments_by_cluster)
    if kubeconfig is not None:
        problems = Problems()
        dumps += [fetch_dump(kubeconfig, c.name, plan.source.at(c.origin), problems)
                  for c in plan.clusters if c.name not in arguments_by_cluster]
        problems.raise_if_errors()
    result = federation_status(plan, dumps)
    if report.fmt == "json":
        report.result = result.as_dict()
    else:
        click.echo(format_status(result), nl=False)
        if report.fmt == "github":
            for where, message in status_findings(result):
                click.echo(github_annotation(Problem(
                    "MG183", message, where, "see `meshgen status` for the pair")))
    raise Exit(EXIT_OK if result.healthy else EXIT_FAILED)


@main.group("import")
def import_group() -> None:
    """Start a fleet from meshes that already run."""


def _import_options(func: F) -> F:
    """What every `meshgen import` takes: where the fleet goes, its name, --force."""
    for option in reversed([
        click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
                     default=str(DEFAULT_FLEET), show_default=True,
                     help="The fleet file to write; roots go to certs/ beside it."),
        click.option("--name", default="imported", show_default=True,
                     help="The fleet's name."),
        click.option("--force", is_flag=True,
                     help="Replace an existing fleet file or certificate."),
        problem_format, _reported]):
        func = option(func)
    return func


@import_group.command("ossm")
@click.argument("arguments", nargs=-1, metavar="CLUSTER=FILE...")
@_import_options
def import_ossm(arguments: tuple[str, ...], out: Path, name: str, force: bool,
                report: Reporter) -> None:
    """Write a fleet that reproduces the OSSM 2 meshes of the clusters' dumps (`oc get
    smcp,smmr,servicemeshpeers,exportedservicesets,importedservicesets,configmaps -A -o
    yaml`), then build it and print what adopting meshgen would change in those objects.
    Peers without their mirror, names, clientIDs, addresses or roots that do not fit are
    reported (MG184) with the object they came from."""
    from .adopt import adopt
    from .dumps import load_dumps

    given, dumps_by_cluster = _dump_arguments(arguments)
    if given is not None:
        raise click.UsageError(f"{given}: give dumps as CLUSTER=FILE")
    dumps = load_dumps(dumps_by_cluster)
    _adopt(adopt(dumps, name), dumps, out, force, report)


@import_group.command("ocm")
@click.argument("arguments", nargs=-1, metavar="HUB_FILE... [CLUSTER=FILE...]")
@click.option("--domain", "domains", multiple=True, metavar="CLUSTER=DOMAIN",
              help="The DNS domain under which a cluster's gateways resolve (repeatable).")
@_import_options
def import_ocm(arguments: tuple[str, ...], domains: tuple[str, ...], out: Path, name: str,
               force: bool, report: Reporter) -> None:
    """Write a fleet from the multicluster-mesh addon's hub objects (`oc get meshes,
    meshdeployments,meshfederations -A -o yaml` on the hub): MeshDeployments become
    meshTemplates, Limited MeshFederations federations. With the clusters' dumps (as for
    `import ossm`) it takes the roots from them, builds the fleet and prints what adopting
    meshgen would change in those objects."""
    from .dumps import load_dump
    from .ocm import HUB_COMMAND, HUB_DUMP, adopt_hub

    hub_files = [Path(a) for a in arguments if "=" not in a]
    if not hub_files:
        raise click.UsageError("give the hub dump, made with: " + HUB_COMMAND)
    _, dumps_by_cluster = _dump_arguments(tuple(a for a in arguments if "=" in a),
                                          required=False)
    ingress: dict[str, str] = {}
    for argument in domains:
        cluster, equals, domain = argument.partition("=")
        if not cluster or not equals or not domain:
            raise click.UsageError(f"--domain {argument!r}: give CLUSTER=DOMAIN")
        ingress[cluster] = domain
    problems = Problems()
    hub = [load_dump("hub", path, problems, kinds=HUB_DUMP) for path in hub_files]
    dumps = [load_dump(c, path, problems) for c, path in dumps_by_cluster.items()]
    problems.raise_if_errors()
    _adopt(adopt_hub(hub, dumps, name, ingress), dumps, out, force, report)


def _adopt(adoption: Adoption, dumps: list[Dump], out: Path, force: bool,
           report: Reporter) -> None:
    """Write the adopted fleet and its roots (never over a file without --force), build it
    and print what syncing it would change in the dumped objects."""
    from . import output
    from .adopt import add_smcp_spec, yaml_text
    from .adoptdiff import adoption_changes, unmodelled_spec
    from .diff import format_text

    found = Problems()
    found.extend(adoption.problems)
    found.raise_if_errors()  # nothing written
    report.add(adoption.problems)
    certs = {out.parent / "certs" / f"{mesh}.pem": pem.encode()
             for mesh, pem in sorted(adoption.roots.items())}
    text = adoption.header + yaml_text(adoption.fleet)
    targets = {out: text.encode(), **certs}
    taken = [p for p, data in targets.items()
             if p.exists() and (p == out or p.read_bytes() != data)]
    if taken and not force:
        for path in taken:
            report.fail("MG185", f"{path} exists", str(path),
                        "move it away, or pass --force to replace it")
        raise Exit(EXIT_USAGE)
    for path, data in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        output.write_atomic(path, data)
        report.say(f"wrote {path}")
    with tempfile.TemporaryDirectory(prefix="meshgen-import-") as tmp:
        result = compile_fleet(out, Path(tmp) / "overlays")
        # a second pass: SMCP settings meshgen does not generate go to smcpSpec
        if extras := unmodelled_spec(dumps, result.files):
            add_smcp_spec(adoption.fleet, extras)
            output.write_atomic(out, (adoption.header + yaml_text(adoption.fleet)).encode())
            result = compile_fleet(out, Path(tmp) / "overlays")
    report.add(result.warnings)
    changes = adoption_changes(dumps, result.files)
    if report.fmt == "json":
        report.result = {"fleet": str(out), **changes.as_dict()}
        if adoption.discovered:
            report.result["discovered"] = adoption.discovered
    else:
        click.echo(format_text(changes, "the dumps", f"meshgen build {out}"))
