"""Fuzz meshgen's front end with mutated fleets: every run must end in a build or in
located problems with hints, never in a traceback, and within a time limit.

A seeded mutator edits the bundled example and the fleets of tests/broken (bytes flipped,
lines duplicated, dropped or swapped, YAML tokens, control characters and huge numbers
inserted), then runs what `meshgen build` runs before writing (load, model, plan, render,
emit, key scan) in this process. Prints the figures; exits 1 when a run crashed or hung.

    python bench/fuzz.py [--count 3000] [--seed 12] [--limit 10] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from meshgen.build import compile_fleet
from meshgen.ca import certificate_pem, make_certificate
from meshgen.errors import FleetError, Problem

REPO = Path(__file__).resolve().parent.parent
SEEDS = [REPO / "fleet" / "fleet.yaml", *sorted((REPO / "tests" / "broken").glob("*.yaml"))]
TOKENS = [b"&a ", b"*a", b"<<: ", b"!!binary ", b"!!int ", b"!!float ", b"{", b"}", b"[", b"]",
          b'"', b"'", b": ", b"- ", b"\t", b"\n", b"\r", b"\x00", b"\x1b[2J", b"\xc3\x28",
          b"\\u202e", b"\xe2\x80\xae", b"~", b"null", b"true", b"0x" + b"f" * 5000,
          b"9" * 5000, b"1e400", b".nan", b"-.inf", b"0o777", b"{mesh}", b"{cluster}",
          b"? ", b"%YAML 1.1\n", b"---\n", b"...\n", b"#", b"|", b">", b"a" * 300,
          b"\xef\xbb\xbf", b"\\x85", b"\xc2\x85", b"\\e", b"\\\n"]


@dataclass
class Outcome:
    tried: int = 0
    built: int = 0
    refused: int = 0
    crashes: list[tuple[str, str]] = field(default_factory=list)  # (fleet, traceback)
    hangs: list[str] = field(default_factory=list)
    without_hint: list[tuple[str, str]] = field(default_factory=list)
    slowest: tuple[float, str] = (0.0, "")


class _Hang(Exception):
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def alarm(signum: int, frame: FrameType | None) -> None:
        raise _Hang

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random edits of data."""
    for _ in range(rng.randint(1, 4)):
        lines = data.splitlines(keepends=True) or [b""]
        choice = rng.randrange(6)
        at = rng.randrange(len(data) + 1)
        if choice == 0 and data:  # flip a byte
            i = min(at, len(data) - 1)
            data = data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:]
        elif choice == 1:  # insert a token
            data = data[:at] + rng.choice(TOKENS) + data[at:]
        elif choice == 2:  # duplicate a line
            i = rng.randrange(len(lines))
            data = b"".join([*lines[:i + 1], lines[i], *lines[i + 1:]])
        elif choice == 3:  # drop a line
            i = rng.randrange(len(lines))
            data = b"".join([*lines[:i], *lines[i + 1:]])
        elif choice == 4:  # swap two lines
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
            data = b"".join(lines)
        else:  # replace a value by a token
            i = rng.randrange(len(lines))
            key, sep, _ = lines[i].partition(b": ")
            if sep:
                lines[i] = key + sep + rng.choice(TOKENS) + b"\n"
            data = b"".join(lines)
    return data


def _hintless(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if not p.hint and p.code != "MG099"]


def run_one(fleet: Path, out: Path, limit: float, outcome: Outcome) -> None:
    outcome.tried += 1
    start = time.perf_counter()
    try:
        with time_limit(limit):
            build = compile_fleet(fleet, out)
        outcome.built += 1
        problems = list(build.warnings)
    except FleetError as exc:
        outcome.refused += 1
        problems = list(exc.problems)
    except _Hang:
        outcome.hangs.append(fleet.name)
        problems = []
    except Exception:  # the point of a fuzzer: anything else is a finding
        outcome.crashes.append((fleet.name, traceback.format_exc()))
        problems = []
    elapsed = time.perf_counter() - start
    if elapsed > outcome.slowest[0]:
        outcome.slowest = (elapsed, fleet.name)
    outcome.without_hint += [(fleet.name, p.format_text()) for p in _hintless(problems)]


def _certificates(directory: Path) -> None:
    """The example's certificates, and a fresh root for every other certs/*.pem the seed
    fleets name (chains among them will not chain: a located MG059)."""
    shutil.copytree(REPO / "fleet" / "certs", directory, dirs_exist_ok=True)
    names = {m.decode() for path in SEEDS
             for m in re.findall(rb"certs/([A-Za-z0-9_.-]+\.pem)", path.read_bytes())}
    for name in sorted(names):
        if not (directory / name).exists():
            (directory / name).write_text(certificate_pem(make_certificate(name)[0]))


def fuzz(count: int, seed: int, directory: Path, limit: float = 10.0,
         keep: Path | None = None) -> Outcome:
    """count mutated fleets, written to directory (beside a copy of the example's certs)."""
    rng = random.Random(seed)
    _certificates(directory / "certs")
    example, *broken = [path.read_bytes() for path in SEEDS]
    outcome = Outcome()
    for i in range(count):
        fleet = directory / f"fuzz-{seed}-{i:05d}.yaml"
        # half of the fleets start from the example, which builds, half from broken ones
        fleet.write_bytes(mutate(example if rng.random() < 0.5 else rng.choice(broken), rng))
        before = len(outcome.crashes) + len(outcome.hangs) + len(outcome.without_hint)
        run_one(fleet, directory / "out", limit, outcome)
        if keep is not None and len(outcome.crashes) + len(outcome.hangs) + \
                len(outcome.without_hint) > before:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(fleet, keep / fleet.name)
        fleet.unlink()
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--limit", type=float, default=10.0, help="seconds before a hang")
    parser.add_argument("--keep", type=Path, help="copy fleets with findings here")
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        outcome = fuzz(args.count, args.seed, Path(tmp), args.limit, args.keep)
    print(f"fleets tried: {outcome.tried} (built {outcome.built}, refused {outcome.refused}) "
          f"in {time.perf_counter() - start:.0f} s")
    print(f"tracebacks: {len(outcome.crashes)}, hangs (> {args.limit:g} s): "
          f"{len(outcome.hangs)}, problems without hint: {len(outcome.without_hint)}")
    print(f"slowest: {outcome.slowest[0]:.2f} s ({outcome.slowest[1]})")
    for name, trace in outcome.crashes[:10]:
        print(f"--- {name}\n{trace.splitlines()[-1]}")
    for name, text in outcome.without_hint[:10]:
        print(f"--- {name} (no hint)\n{text}")
    return 1 if outcome.crashes or outcome.hangs else 0


if __name__ == "__main__":
    sys.exit(main())
