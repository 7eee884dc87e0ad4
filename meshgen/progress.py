"""Progress of a long build on stderr: one line, redrawn, only where a person watches.

Shown when stderr is a terminal, the problems are printed as text and no CI variable is
set; --progress asks for it anywhere (a CI log then gets one line per stage)."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

_CI_VARIABLES = ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "JENKINS_URL", "TF_BUILD")


def wanted(fmt: str, asked: bool, stream: TextIO | None = None) -> bool:
    """Whether to show progress: --progress, or a terminal outside CI with text output."""
    if asked:
        return True
    stream = stream if stream is not None else sys.stderr
    if fmt == "json" or any(os.environ.get(name) for name in _CI_VARIABLES):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Stages of one build, each with the time since the build started."""

    def __init__(self, stream: TextIO | None = None, redraw: bool = True) -> None:
        self.stream = stream
        self.redraw = redraw
        self.started = time.perf_counter()
        self._width = 0

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def stage(self, what: str) -> None:
        if self.stream is None:
            return
        line = f"meshgen: {what}... ({self.elapsed():.1f} s)"
        if self.redraw:
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def done(self) -> None:
        """Clear the redrawn line before the summary is printed."""
        if self.stream is not None and self.redraw and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


def for_command(fmt: str, asked: bool) -> Progress:
    stream = sys.stderr
    if not wanted(fmt, asked, stream):
        return Progress(None)
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return Progress(stream, redraw=tty)


NO_PROGRESS = Progress(None)
