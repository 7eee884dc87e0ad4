"""Replacing a whole directory tree by another in one step.

Linux's renameat2(RENAME_EXCHANGE) swaps two paths atomically: every reader sees the old
tree or the new one, never a mix, and the path never stops existing. Where the call or the
file system lacks it, two renames do the job with a moment in which the path is missing;
`restore` puts the previous tree back if a process dies in that moment.
"""

from __future__ import annotations

import ctypes
import errno
import os
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_UNSUPPORTED = {errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP}


def _renameat2() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # not glibc >= 2.28, or not Linux
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_RENAMEAT2 = _renameat2()


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths; False when the platform or file system cannot
    (OSError for any other failure)."""
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(b))


def replace_tree(new: Path, target: Path, previous: Path) -> Path:
    """Make new the tree at target; returns where the tree that was there now lies."""
    if exchange(new, target):
        return new
    os.rename(target, previous)
    os.rename(new, target)  # a death between the two renames is undone by restore()
    return previous


def restore(target: Path, previous: Path) -> None:
    """After a death between the two renames of replace_tree: target is missing and the
    tree it held is at previous; put it back."""
    if not os.path.lexists(target) and os.path.isdir(previous) \
            and not os.path.islink(previous):
        os.rename(previous, target)
