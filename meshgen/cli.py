"""The meshgen command line: parse options, call one function, map errors to exit codes."""

from __future__ import annotations

import shlex
import sys
import tempfile
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__, output
from .build import DEFAULT_FLEET, DEFAULT_OUT, Build, compile_fleet
from .errors import FleetError, Problems, format_problems
from .kustomize import KustomizeNotFound
from .verify import SchemaSet, verify_tree

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

F = TypeVar("F", bound=Callable[..., Any])


def _handle_errors(func: F) -> F:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FleetError as exc:
            click.echo(format_problems(exc.problems), err=True)
            sys.exit(EXIT_USAGE)
        except output.OutputError as exc:
            click.echo(f"error[MG093]: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        except KustomizeNotFound as exc:
            click.echo(f"error[MG094]: {exc}", err=True)
            sys.exit(EXIT_USAGE)

    return wrapper  # type: ignore[return-value]


def _print_warnings(build: Build) -> None:
    if build.warnings:
        problems = Problems()
        problems.extend(build.warnings)
        click.echo(format_problems(problems), err=True)


fleet_argument = click.argument(
    "fleet", type=click.Path(path_type=Path, dir_okay=False), default=str(DEFAULT_FLEET))
templates_option = click.option(
    "--templates", type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Directory whose templates override the bundled ones, file by file.")


@click.group()
@click.version_option(__version__, prog_name="meshgen")
def main() -> None:
    """Compile fleet.yaml into per-cluster OpenShift Service Mesh federation overlays."""


@main.command()
@fleet_argument
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              default=str(DEFAULT_OUT), show_default=True, help="Output directory.")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 when the tree on disk differs from the build.")
@templates_option
@_handle_errors
def build(fleet: Path, out: Path, check: bool, templates: Path | None) -> None:
    """Build one Kustomize overlay per cluster from FLEET (default fleet/fleet.yaml)."""
    result = compile_fleet(fleet, out, templates)
    _print_warnings(result)
    if check:
        sys.exit(_check(fleet, out, templates, result))
    diff = output.write_tree(out, result.files)
    click.echo(f"{out}: {len(result.files)} files for {len(result.plan.clusters)} cluster(s); "
               f"{len(diff.added)} added, {len(diff.modified)} updated, "
               f"{len(diff.stale)} removed, {len(diff.unchanged)} unchanged")


def _check(fleet: Path, out: Path, templates: Path | None, result: Build) -> int:
    diff = output.compare(out, result.files)
    if not diff.changed and not output.pending(out):
        click.echo(f"{out} is up to date ({len(result.files)} files)")
        return EXIT_OK
    for label, paths in (("modified", diff.modified), ("missing", diff.added),
                         ("stale", diff.stale)):
        for rel in paths:
            click.echo(f"{label}: {out / rel}")
    if output.pending(out):
        click.echo(f"interrupted: {out / output.JOURNAL} records an unfinished build")
    command = ["meshgen", "build", str(fleet), "--out", str(out)]
    if templates:
        command += ["--templates", str(templates)]
    click.echo(f"{out} is out of date; to fix it run: {shlex.join(command)}")
    return EXIT_FAILED


@main.command()
@fleet_argument
@click.option("--crds", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Directory of CustomResourceDefinitions to validate every object against.")
@templates_option
@_handle_errors
def validate(fleet: Path, crds: Path | None, templates: Path | None) -> None:
    """Check FLEET, then build it in a temporary directory and verify the result
    with kustomize, yamllint and (with --crds) the CRD schemas."""
    with tempfile.TemporaryDirectory(prefix="meshgen-validate-") as tmp:
        out = Path(tmp) / "overlays"
        result = compile_fleet(fleet, out, templates)
        _print_warnings(result)
        output.write_tree(out, result.files)
        report = verify_tree(out, result.files, SchemaSet(crds) if crds else None)
    for problem in report.problems:
        click.echo(problem, err=True)
    schema_note = f", CRD schemas from {crds}" if crds else ""
    if not report.ok:
        click.echo(f"{fleet}: {len(report.problems)} problem(s) in the built output", err=True)
        sys.exit(EXIT_FAILED)
    delivery = f", {report.delivery} delivery kustomization(s)" if report.delivery else ""
    click.echo(f"{fleet}: ok: {report.overlays} overlay(s){delivery}, {report.objects} objects "
               f"(kustomize, yamllint{schema_note})")
