"""Trying a blocking call on an event loop, for as long as it does not block.

The asyncio face starts a reply on the event loop itself: validating and
writing one small frame to an open socket takes microseconds, while a hop
through the thread pool and back costs more than the rest of the message.
The same sync code runs either way. Inside :func:`nonblocking`, every place
that may block (an HTTP request, opening the websocket, waiting for the send
lock, a value not fetched yet) calls :func:`may_block` first, which raises
:class:`WouldBlock` *before* anything is sent; the caller then runs the
whole call again in the pool.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Iterator

__all__ = ["WouldBlock", "may_block", "nonblocking"]

_NONBLOCKING: ContextVar[bool] = ContextVar("caiclient_nonblocking", default=False)


class WouldBlock(BaseException):
    """Internal: a call under :func:`nonblocking` reached a wait; nothing was sent.

    A ``BaseException``, so that no ``except Exception`` on the way turns it
    into an ordinary error.
    """


def may_block() -> None:
    """Raise :class:`WouldBlock` under :func:`nonblocking`; otherwise do nothing."""
    if _NONBLOCKING.get():
        raise WouldBlock()


@contextlib.contextmanager
def nonblocking() -> Iterator[None]:
    """Within this block, :func:`may_block` raises instead of letting the call wait."""
    token = _NONBLOCKING.set(True)
    try:
        yield
    finally:
        _NONBLOCKING.reset(token)
