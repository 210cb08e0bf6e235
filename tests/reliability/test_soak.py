"""A CI-sized soak: many conversations at once on one Session / one aio Client,
with random socket drops and 503s (seeded), then exactly-once and leak checks.

Every send must end in a reply, in a typed error that says the message was
not delivered, or (on a machine loaded enough for a 10 s frame timeout) in a
typed error that says delivery is unknown and carries the user turn id; the
emulator's stored history must agree (each replied message stored once, an
undelivered one never, an unknown one at most once; one reply per message). After
closing, no library thread and no client socket may be left.
"""

from __future__ import annotations

import asyncio
import random
import threading
from typing import Any, Dict, List, Tuple

from reliability_support import (
    all_final,
    caiclient_threads,
    client_sockets,
    emu_session,
    history,
    history_problems,
    is_human,
    primary_text,
    wait_until,
)

import caiclient
from caiclient import errors
from caiclient.transport.http import RetryPolicy

SEED = 20240917


def _fault_plan(n: int, seed: int = SEED) -> List[Tuple[str, int]]:
    rng = random.Random(seed)
    kinds = ["drop_after", "drop_on_receive", "http_503_turns", "http_503_chat"]
    return [(rng.choice(kinds), rng.randint(0, 6)) for _ in range(n)]


def _inject(emu: Any, kind: str, arg: int) -> None:
    if kind == "drop_after":
        emu.faults.drop_socket_after(arg)
    elif kind == "drop_on_receive":
        emu.faults.drop_on_receive(1)
    elif kind == "http_503_turns":
        emu.faults.http_errors("/neo/turns/", [503])
    else:
        emu.faults.http_errors("/neo/chat/", [503])


class Injector(threading.Thread):
    """Arms one planned fault every ``every`` completed messages."""

    def __init__(self, emu: Any, plan: List[Tuple[str, int]], every: int) -> None:
        super().__init__(name="soak-injector", daemon=True)
        self.emu, self.plan, self.every = emu, plan, every
        self.done = threading.Event()
        self.progress = 0
        self.lock = threading.Lock()
        self.armed = 0

    def tick(self) -> None:
        with self.lock:
            self.progress += 1

    def run(self) -> None:
        while not self.done.wait(0.005) and self.armed < len(self.plan):
            with self.lock:
                due = self.progress // self.every + 1
            while self.armed < min(due, len(self.plan)):
                _inject(self.emu, *self.plan[self.armed])
                self.armed += 1


def _unknown(result: Any) -> bool:
    """A typed error that says delivery is unknown (and gives the user turn id to check)."""
    return (
        isinstance(result, errors.ConnectionLost) and result.message_delivered is None
    ) or isinstance(result, errors.Timeout)


def _verify(emu: Any, outcomes: Dict[str, List[Tuple[str, Any]]]) -> Dict[str, int]:
    counts = {"replies": 0, "undelivered": 0, "unknown": 0}
    problems: List[str] = []
    for chat_id, items in outcomes.items():
        assert wait_until(lambda chat_id=chat_id: all_final(emu, chat_id), 15.0)
        delivered = [t for t, r in items if not isinstance(r, BaseException)]
        lost = [t for t, r in items if isinstance(r, BaseException) and not _unknown(r)]
        for text, result in items:
            if _unknown(result):
                # Allowed, but the history must have the message at most once.
                counts["unknown"] += 1
                assert result.user_turn_id, result
                stored = sum(
                    1 for t in history(emu, chat_id) if is_human(t) and primary_text(t) == text
                )
                if stored > 1:
                    problems.append(f"{text}: stored {stored} times")
            elif isinstance(result, BaseException):
                ok = isinstance(result, errors.ConnectionLost) and result.message_delivered is False
                if not ok:
                    problems.append(f"{text}: {type(result).__name__}: {result}")
                counts["undelivered"] += 1
            else:
                counts["replies"] += 1
                if not (result.is_final and text in result.text):
                    problems.append(f"{text}: wrong reply {result.text[:60]!r}")
        problems += [
            f"{chat_id}: {p}"
            for p in history_problems(emu, chat_id, delivered, not_delivered=lost, greeting=True)
        ]
    assert problems == []
    return counts


def test_soak_threads(cai_emulator: Any) -> None:
    emu = cai_emulator
    cid = emu.character_ids[0]
    threads_before = caiclient_threads()
    assert client_sockets(emu.port) == 0
    n_threads, n_messages = 16, 200
    s = emu_session(emu, timeout=(10.0, 10.0), reply_timeout=60.0)
    chats = [s.chats.create(cid)[0].chat_id for _ in range(n_threads)]
    outcomes: Dict[str, List[Tuple[str, Any]]] = {c: [] for c in chats}
    injector = Injector(emu, _fault_plan(40), every=4)

    def worker(i: int) -> None:
        chat_id = chats[i]
        for k in range(i, n_messages, n_threads):
            text = f"soak message {k}"
            try:
                result: Any = s.chats.send(cid, chat_id, text)
            except caiclient.CaiError as exc:
                result = exc
            outcomes[chat_id].append((text, result))
            injector.tick()

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(n_threads)]
    injector.start()
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    injector.done.set()
    injector.join(5)
    emu.faults.clear()
    assert not any(w.is_alive() for w in workers), "a sender hung"
    assert sum(len(v) for v in outcomes.values()) == n_messages
    assert injector.armed >= 30  # the faults really happened
    ws = s.ws
    assert ws.connections_opened > 1
    counts = _verify(emu, outcomes)
    assert counts["replies"] + counts["undelivered"] + counts["unknown"] == n_messages
    assert counts["replies"] >= n_messages * 0.9

    s.close()
    assert wait_until(lambda: caiclient_threads() == threads_before, 5.0), caiclient_threads()
    assert wait_until(lambda: client_sockets(emu.port) == 0, 5.0), client_sockets(emu.port)


def test_soak_aio(cai_emulator: Any) -> None:
    from caiclient import aio

    emu = cai_emulator
    cid = emu.character_ids[0]
    threads_before = caiclient_threads()
    n_tasks, n_messages = 32, 128
    outcomes: Dict[str, List[Tuple[str, Any]]] = {}
    injector = Injector(emu, _fault_plan(24, SEED + 1), every=4)

    async def main() -> None:
        client = aio.Client(
            emu.token,
            endpoints=caiclient.Endpoints.for_emulator(emu.url),
            timeout=(10.0, 10.0),
            retry=RetryPolicy(max_retries=2, sleep=lambda _s: None),
            reply_timeout=60.0,
        )
        async with client as c:
            chats = [(await c.chats.create(cid))[0].chat_id for _ in range(n_tasks)]
            for chat_id in chats:
                outcomes[chat_id] = []

            async def task(i: int) -> None:
                for k in range(i, n_messages, n_tasks):
                    text = f"async soak {k}"
                    try:
                        result: Any = await c.chats.send(cid, chats[i], text)
                    except caiclient.CaiError as exc:
                        result = exc
                    outcomes[chats[i]].append((text, result))
                    injector.tick()

            injector.start()
            await asyncio.wait_for(asyncio.gather(*(task(i) for i in range(n_tasks))), 120)
            injector.done.set()

    asyncio.run(main())
    injector.join(5)
    emu.faults.clear()
    assert sum(len(v) for v in outcomes.values()) == n_messages
    counts = _verify(emu, outcomes)
    # With 32 requests in flight on one socket, a drop fails all of them at once; a
    # message is given up (reported undelivered) after 3 dropped attempts.
    assert counts["replies"] >= n_messages * 0.75
    assert wait_until(lambda: caiclient_threads() == threads_before, 5.0), caiclient_threads()
    assert wait_until(lambda: client_sockets(emu.port) == 0, 5.0)
