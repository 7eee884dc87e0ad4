"""Benchmark write_tree on a change inside one top-level directory of a large tree: the
other directories passed as settled (never looked into) or not (the whole tree surveyed).

A synthetic tree of DIRS directories of PER files (about 1 KiB each) is written once;
then, five times each, one file of one directory changes and write_tree brings the tree
up to date with the rest vouched for as reused (with their stat records, as the build
cache passes them), once without and once with the other directories settled. Prints the
median of each. Exits 0 unless something crashes: a benchmark, not a test.

    python bench/settled_write.py [--dirs 200] [--per 200] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from meshgen import output
from meshgen.emit import header
from meshgen.outtree import Stat, stat_record

ROUNDS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dirs", type=int, default=200)
    parser.add_argument("--per", type=int, default=200)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    generated = header("fleet.yaml").encode()
    body = b"x: " + b"y" * 1000 + b"\n"
    names = [f"cluster-{d:04d}" for d in range(args.dirs)]
    files = {f"{name}/ns-{f // 20:02d}/obj-{f:03d}.yaml":
             generated + f"# {name} {f}\n".encode() + body
             for name in names for f in range(args.per)}
    root = Path(tempfile.mkdtemp(dir=args.dir, prefix="settled-write-"))
    out = root / "out"
    try:
        start = time.perf_counter()
        output.write_tree(out, files)
        print(f"cold write of {len(files)} files in {len(names)} directories: "
              f"{time.perf_counter() - start:.2f} s")
        timings: dict[str, list[float]] = {"without settled": [], "with settled": []}
        for turn in range(ROUNDS):
            for mode, seconds in timings.items():
                changed = names[(turn * 7) % len(names)]
                rel = f"{changed}/ns-00/obj-000.yaml"
                files[rel] = generated + f"# {mode} {turn}\n".encode() + body
                written = {k: v for k, v in files.items() if k.startswith(f"{changed}/")}
                reused: dict[str, Stat | None] = {
                    k: stat_record(os.lstat(out / k)) for k in files if k not in written}
                settled = [n for n in names if n != changed] if mode == "with settled" \
                    else []
                start = time.perf_counter()
                diff = output.write_tree(out, written, reused=reused, settled=settled)
                seconds.append(time.perf_counter() - start)
                assert diff.modified == [rel] and len(diff.unchanged) == len(files) - 1
        for mode, seconds in timings.items():
            print(f"write_tree {mode}: median {statistics.median(seconds):.3f} s "
                  f"({', '.join(f'{s:.3f}' for s in seconds)})")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
