"""The request sinks: the threads' Inbox, the event loop's, and not waking readers in vain."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from typing import Any, List

import pytest

import caiclient
from caiclient import aio
from caiclient.resources import _replies
from caiclient.transport.ws import Inbox


def test_items_come_out_in_order_across_threads() -> None:
    box = Inbox()
    got: List[int] = []

    def consume() -> None:
        for _ in range(2000):
            got.append(box.get(timeout=10))

    t = threading.Thread(target=consume)
    t.start()
    for i in range(2000):
        box.put(i)
    t.join(20)
    assert got == list(range(2000))
    assert box.empty() and box.qsize() == 0


def test_get_times_out_and_get_nowait_raises_empty() -> None:
    box = Inbox()
    with pytest.raises(queue.Empty):
        box.get_nowait()
    started = time.monotonic()
    with pytest.raises(queue.Empty):
        box.get(timeout=0.05)
    assert time.monotonic() - started >= 0.04
    box.put("x")
    assert box.get(timeout=0) == "x"


def test_a_stale_wake_up_does_not_end_the_wait_early() -> None:
    box = Inbox()
    box.put(1)
    box.put(2)  # the second signal finds it signalled already
    assert box.get_nowait() == 1 and box.get_nowait() == 2
    later = threading.Timer(0.05, box.put, args=("late",))
    later.start()
    assert box.get(timeout=10) == "late"  # the stale signal made it look once, then wait
    later.join()


def test_deferred_items_do_not_wake_the_loop_but_are_not_lost() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        posted: List[Any] = []

        class Recording(aio._Mailbox):
            def post(self, sink: Any) -> None:
                posted.append(sink)

        box = Recording(loop)
        sink = aio._LoopSink(loop, box)
        sink.defer(lambda item: item == "routine")
        getter = asyncio.ensure_future(sink.get(0.05, time.monotonic() + 10))
        await asyncio.sleep(0)  # waiting now
        assert sink.put("routine") is False and posted == []  # nobody was woken...
        assert await getter == "routine"  # ...and the timeout hands it over instead of raising
        getter = asyncio.ensure_future(sink.get(10, time.monotonic() + 10))
        await asyncio.sleep(0)
        assert sink.put("news") is True and posted == [sink]

    asyncio.run(main())


def test_routine_frames() -> None:
    def turn(final: bool, human: bool = False) -> dict:
        return {
            "command": "update_turn",
            "turn": {
                "author": {"is_human": human},
                "candidates": [{"candidate_id": "c", "is_final": final, "raw_content": "x"}],
            },
        }

    assert _replies._routine_frame(turn(final=False))
    assert _replies._routine_frame(turn(final=True, human=True))  # the echo
    assert not _replies._routine_frame(turn(final=True))  # the reply itself
    assert not _replies._routine_frame({"command": "neo_error", "comment": "no"})
    assert not _replies._routine_frame({"command": "update_turn", "turn": None})
    assert not _replies._routine_frame(_replies._DROPPED_UNSENT)


@pytest.fixture
def endpoints(cai_emulator: Any) -> caiclient.Endpoints:
    return caiclient.Endpoints.for_emulator(cai_emulator.url)


def _routine_count(monkeypatch: pytest.MonkeyPatch) -> List[bool]:
    seen: List[bool] = []
    real = _replies._routine_frame

    def counting(frame: Any) -> bool:
        seen.append(real(frame))
        return seen[-1]

    monkeypatch.setattr(_replies, "_routine_frame", counting)
    return seen


def test_aio_send_defers_the_snapshots_and_stream_defers_nothing(
    cai_emulator: Any, endpoints: caiclient.Endpoints, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = cai_emulator.character_ids[0]
    installed: List[Any] = []
    real_defer = _replies._defer_routine

    def recording(req: Any) -> None:
        installed.append(req)
        real_defer(req)

    monkeypatch.setattr(_replies, "_defer_routine", recording)

    async def main() -> None:
        async with aio.Client(cai_emulator.token, endpoints=endpoints) as c:
            chat, _ = await c.chats.create(cid, greeting=False)
            seen = _routine_count(monkeypatch)
            reply = await c.chats.send(cid, chat.chat_id, "a long answer, please")
            assert reply.is_final
            stored = [t async for t in c.chats.turns(chat.chat_id)]
            assert reply.text == next(t.text for t in stored if not t.author_is_human)
            assert installed and all(r.frames._defer is not None for r in installed)
            # Consulted only while the loop waits (how often depends on the timing);
            # whatever it was asked, only the final frame may wake the loop.
            assert seen.count(False) <= 1
            installed.clear()
            seen.clear()
            snapshots = []
            async with c.chats.stream(cid, chat.chat_id, "and stream this one") as replies:
                async for turn in replies:
                    snapshots.append(turn)
            assert len(snapshots) >= 2 and snapshots[-1].is_final
            assert seen == [] and all(r is None or r.frames._defer is None for r in installed)

    asyncio.run(main())


def test_aio_send_wakes_the_loop_once_a_message(
    cai_emulator: Any, endpoints: caiclient.Endpoints, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = cai_emulator.character_ids[0]
    posts: List[Any] = []
    real_post = aio._Mailbox.post

    def post(self: Any, sink: Any) -> None:
        posts.append(sink)
        real_post(self, sink)

    monkeypatch.setattr(aio._Mailbox, "post", post)

    async def main() -> None:
        async with aio.Client(cai_emulator.token, endpoints=endpoints) as c:
            chats = [(await c.chats.create(cid, greeting=False))[0] for _ in range(4)]
            await c.chats.send(cid, chats[0].chat_id, "connect")
            posts.clear()
            replies = await asyncio.gather(
                *(c.chats.send(cid, chat.chat_id, f"message {i}") for i, chat in enumerate(chats))
            )
            assert all(r.is_final and f"message {i}" in r.text for i, r in enumerate(replies))

    asyncio.run(main())
    assert len(posts) <= 4  # at most one wake-up a message, for its final frame


def test_one_loop_wake_up_serves_every_sink_with_news() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        calls: List[Any] = []
        real = loop.call_soon_threadsafe

        def counting(*args: Any) -> Any:
            calls.append(args[0])
            return real(*args)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        box = aio._Mailbox(loop)
        sinks = [aio._LoopSink(loop, box) for _ in range(3)]
        getters = [asyncio.ensure_future(s.get(10, time.monotonic() + 10)) for s in sinks]
        await asyncio.sleep(0)  # every getter is waiting now
        assert all(s._waiter is not None for s in sinks)

        def burst() -> None:  # the reader thread routes one burst to all three
            for i, s in enumerate(sinks):
                s.put(i)

        t = threading.Thread(target=burst)
        t.start()
        t.join(5)
        assert await asyncio.wait_for(asyncio.gather(*getters), 5) == [0, 1, 2]
        assert len(calls) == 1  # one wake-up of the loop for the whole burst

    asyncio.run(main())
