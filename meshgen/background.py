"""One computation run in a forked child while this process goes on with other work: the
build proves its output tree reusable (a walk of every file) while it loads and plans
the fleet, on the machine's second core.

Only the result travels back, pickled through a pipe. Whatever goes wrong in the child
(no fork, an exception, a death, a result that cannot be read) is answered by computing
the same thing in this process when the result is asked for, so the caller sees the
same value or the same exception as without a child."""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """func() computed by a forked child; result() waits for it. Use as a context manager
    (or call close()): a child whose result is not wanted is killed and reaped."""

    def __init__(self, func: Callable[[], T]) -> None:
        self._func = func
        self._pid: int | None = None
        self._fd: int | None = None
        if not hasattr(os, "fork"):
            return
        try:
            read_fd, write_fd = os.pipe()
        except OSError:  # out of file descriptors: computed here when asked
            return
        parent = os.getpid()
        try:
            pid = os.fork()
        except BaseException as exc:
            os.close(read_fd)
            os.close(write_fd)
            if isinstance(exc, OSError):  # no fork: computed here when asked
                return
            raise
        if pid == 0:  # the child: never returns into the caller's code
            code = 1
            try:
                os.close(read_fd)
                from .workers import die_with_parent

                die_with_parent(parent)
                data = pickle.dumps(func(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write_fd, "wb") as pipe:
                    pipe.write(data)
                code = 0
            finally:
                os._exit(code)  # no atexit handler, no flush of the parent's buffers
        os.close(write_fd)
        self._pid, self._fd = pid, read_fd

    def result(self) -> T:
        if self._pid is None or self._fd is None:
            return self._func()
        fd, self._fd = self._fd, None
        chunks = []
        with os.fdopen(fd, "rb") as pipe:
            while chunk := pipe.read(1 << 20):
                chunks.append(chunk)
        status = self._reap()
        if status == 0:
            try:
                value: T = pickle.loads(b"".join(chunks))
                return value
            except Exception:  # any failure: computed here instead
                pass
        return self._func()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)
            self._reap()

    def _reap(self) -> int | None:
        pid = self._pid
        if pid is None:
            return None
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            self._pid = None
            return None
        self._pid = None  # only once reaped: an interrupted wait is retried by close()
        return os.waitstatus_to_exitcode(status)

    def __enter__(self) -> Background[T]:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
