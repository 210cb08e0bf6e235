"""Helpers shared by ``tests/reliability/`` (import with ``from reliability_support import ...``).

Kept out of a ``conftest.py`` so that no test imports a conftest module.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Set

import caiclient
from caiclient.transport.http import RetryPolicy

#: A per-frame / per-read timeout short enough to keep fault tests fast, long
#: enough for a loaded 2-core CI machine.
FAST_TIMEOUT = (5.0, 5.0)


class Sleeps(List[float]):
    """Records the delays a RetryPolicy asked for; sleeps ``scale`` times as long."""

    def __init__(self, scale: float = 0.0) -> None:
        super().__init__()
        self.scale = scale

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.scale:
            time.sleep(seconds * self.scale)


def emu_session(
    emu: Any,
    *,
    token: Optional[str] = "main",
    timeout: Any = FAST_TIMEOUT,
    max_retries: int = 2,
    sleep: Optional[Callable[[float], None]] = None,
    reply_timeout: float = 30.0,
) -> caiclient.Session:
    """A Session signed in to ``emu`` whose retries do not really sleep."""
    if token == "main":
        token = emu.token
    retry = RetryPolicy(
        max_retries=max_retries, sleep=Sleeps() if sleep is None else sleep, backoff=0.01
    )
    return caiclient.Session(
        token,
        endpoints=caiclient.Endpoints.for_emulator(emu.url),
        timeout=timeout,
        retry=retry,
        reply_timeout=reply_timeout,
    )


# ----------------------------------------------------------------- history checks


def history(emu: Any, chat_id: str) -> List[Dict[str, Any]]:
    """The chat's turns as the emulator stores them, oldest first."""
    return list(reversed(emu.state.turns(chat_id)))


def primary_text(turn: Dict[str, Any]) -> str:
    cands = {c["candidate_id"]: c for c in turn.get("candidates") or []}
    cand = cands.get(turn.get("primary_candidate_id")) or (turn.get("candidates") or [{}])[0]
    return str(cand.get("raw_content", ""))


def is_human(turn: Dict[str, Any]) -> bool:
    return bool((turn.get("author") or {}).get("is_human"))


def all_final(emu: Any, chat_id: str) -> bool:
    """True when every stored candidate of the chat is complete."""
    return all(
        c.get("is_final") for t in emu.state.turns(chat_id) for c in t.get("candidates") or []
    )


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


def history_problems(
    emu: Any,
    chat_id: str,
    sent: Iterable[str],
    *,
    not_delivered: Iterable[str] = (),
    greeting: bool = False,
) -> List[str]:
    """What is wrong with the chat's stored history (an empty list when nothing).

    Every text of ``sent`` must appear exactly once as a human turn, every
    text of ``not_delivered`` never; each human turn is followed by exactly
    one reply (no doubled replies, no lost ones); with ``greeting`` the chat
    starts with one character turn.
    """
    turns = history(emu, chat_id)
    problems = []
    if greeting:
        if not turns or is_human(turns[0]):
            problems.append("the greeting is missing")
        else:
            turns = turns[1:]
    humans = [primary_text(t) for t in turns if is_human(t)]
    for text in sent:
        n = humans.count(text)
        if n != 1:
            problems.append(f"{text!r} stored {n} times")
    for text in not_delivered:
        if text in humans:
            problems.append(f"{text!r} was reported undelivered but is stored")
    prev_human = False
    for i, t in enumerate(turns):
        if is_human(t):
            if prev_human:
                problems.append(f"human turn {i} has no reply")
            prev_human = True
        else:
            if not prev_human:
                problems.append(f"reply {i} doubles the one before it")
            prev_human = False
    if prev_human:
        problems.append("the last human turn has no reply")
    return problems


# ----------------------------------------------------------------- leak checks


def _socket_inodes() -> Set[str]:
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            out.add(link[len("socket:[") : -1])
    return out


def open_sockets() -> int:
    """How many sockets this process has open (every kind)."""
    return len(_socket_inodes())


def client_sockets(port: int) -> int:
    """How many TCP sockets this process holds *to* ``port`` (the client side only).

    Read from ``/proc/net/tcp{,6}``: entries whose remote port is ``port`` and
    whose inode is one of this process's file descriptors.
    """
    mine = _socket_inodes()
    count = 0
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as fh:
                lines = fh.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 10:
                continue
            remote_port = int(cols[2].rsplit(":", 1)[1], 16)
            if remote_port == port and cols[9] in mine:
                count += 1
    return count


def caiclient_threads() -> List[threading.Thread]:
    """The live threads the library started (websocket readers, aio pools)."""
    return [t for t in threading.enumerate() if t.name.startswith("caiclient-") and
            t.name != "caiclient-emulator"]  # fmt: skip
