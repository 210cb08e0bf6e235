"""Fork safety: objects that own sockets, threads or locks start afresh in a child process.

After ``os.fork()`` (gunicorn ``--preload``, ``multiprocessing`` with fork) a
child inherits the parent's pooled sockets, its websocket and its locks,
but not its threads. Objects registered here get their ``_after_fork()``
called in the child, before anything else runs there: they drop (without
closing: the parent still uses them) what they inherited and open their own
on first use. The parent is untouched.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

__all__ = ["generation", "register"]

_objects: weakref.WeakSet = weakref.WeakSet()
_generation = [0]


def register(obj: Any) -> None:
    """Call ``obj._after_fork()`` in every child forked from now on (weakly held)."""
    _objects.add(obj)


def generation() -> int:
    """How many forks this process descends from (changes in each child)."""
    return _generation[0]


def _after_in_child() -> None:
    _generation[0] += 1
    for obj in list(_objects):
        try:
            obj._after_fork()
        except Exception:  # pragma: no cover - never break the child's start
            pass


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_after_in_child)
