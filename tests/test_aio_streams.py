"""aio reply streams: sent exactly once, no thread held while waiting, cancellation, closing.

Issue 10 (aio) and issue 13 (aio without threads), end to end against the emulator.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Awaitable, Callable, TypeVar

import pytest
from support import async_wait_until

import caiclient
from caiclient import errors
from caiclient.aio import Client
from caiclient.transport.http import RetryPolicy

T = TypeVar("T")


async def _wait_until(pred: Callable[[], bool], timeout: float = 10.0) -> bool:
    return await async_wait_until(pred, timeout)


def _run(emu: Any, body: Callable[[Client], Awaitable[T]], **kw: Any) -> T:
    kw.setdefault("timeout", (5.0, 5.0))

    async def main() -> T:
        async with Client(
            emu.token, endpoints=caiclient.Endpoints.for_emulator(emu.url), **kw
        ) as c:
            return await body(c)

    return asyncio.run(main())


def _sends(emu: Any) -> int:
    return len(emu.log.ws("create_and_generate_turn"))


def test_start_and_final_at_once_send_the_message_once(cai_emulator: Any) -> None:
    emu = cai_emulator
    cid = emu.character_ids[0]

    async def body(c: Client) -> None:
        chat, _ = await c.chats.create(cid)
        for i in range(5):
            before = _sends(emu)
            stream = c.chats.stream(cid, chat.chat_id, f"once {i}")
            started, final, again = await asyncio.gather(
                stream.start(), stream.final(), stream.final()
            )
            assert started is stream and final.is_final and again == final
            assert f"once {i}" in final.text
            assert _sends(emu) - before == 1
        texts = [t.text for t in (await c.chats.page(chat.chat_id)).turns if t.author_is_human]
        assert sorted(texts) == [f"once {i}" for i in range(5)]

    _run(emu, body)


def test_two_readers_of_one_stream_take_turns(cai_emulator: Any) -> None:
    emu = cai_emulator
    cid = emu.character_ids[0]

    async def body(c: Client) -> None:
        chat, _ = await c.chats.create(cid)
        stream = c.chats.stream(cid, chat.chat_id, "shared")
        seen: list = []

        async def read() -> None:
            async for turn in stream:
                seen.append(turn.text)

        await asyncio.gather(read(), read(), stream.start())
        assert seen and "shared" in seen[-1]
        assert all(b.startswith(a) for a, b in zip(seen, seen[1:]))  # in order, no repeats lost
        assert stream.done

    _run(emu, body)


def test_waiting_replies_hold_no_thread(cai_emulator: Any) -> None:
    """With one worker, four slow replies are all on their way at once, and a REST call
    passes them by (before, each reply held the worker until it was complete)."""
    emu = cai_emulator
    cid = emu.character_ids[0]

    async def body(c: Client) -> None:
        chats = [(await c.chats.create(cid))[0].chat_id for _ in range(4)]
        before = _sends(emu)
        emu.faults.latency(0.25)
        try:
            tasks = [
                asyncio.ensure_future(c.chats.send(cid, chat, f"slow {i}"))
                for i, chat in enumerate(chats)
            ]
            assert await _wait_until(lambda: _sends(emu) - before == 4)
            assert not any(t.done() for t in tasks)
            assert await c.ping()
            assert not any(t.done() for t in tasks)
            replies = await asyncio.gather(*tasks)
        finally:
            emu.faults.latency(0)
        assert [f"slow {i}" in r.text for i, r in enumerate(replies)] == [True] * 4
        workers = [t for t in threading.enumerate() if t.name.startswith("caiclient-aio")]
        assert len(workers) <= 1

    _run(emu, body, max_workers=1)


def test_cancelled_send_stops_at_once_and_frees_the_pool(cai_emulator: Any) -> None:
    emu = cai_emulator
    cid = emu.character_ids[0]

    async def body(c: Client) -> None:
        chat, _ = await c.chats.create(cid)
        emu.faults.latency(0.2)
        try:
            task = asyncio.ensure_future(c.chats.send(cid, chat.chat_id, "never mind"))
            assert await _wait_until(lambda: c.session.ws.in_flight() == 1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert c.session.ws.in_flight() == 0  # released at once, not at the reply's end
        finally:
            emu.faults.latency(0)
        # the only worker is free: this is not queued behind the abandoned reply
        assert await asyncio.wait_for(c.ping(), timeout=10)

    _run(emu, body, max_workers=1)


def test_cancelled_send_stops_its_recovery_too(cai_emulator: Any) -> None:
    """A send cancelled while it checks the chat over HTTP after a drop (a long 503 storm)
    stops checking at once instead of holding the worker until the reply deadline."""
    emu = cai_emulator
    cid = emu.character_ids[0]

    async def body(c: Client) -> None:
        chat, _ = await c.chats.create(cid)
        emu.faults.http_errors(f"/neo/turns/{chat.chat_id}", [503] * 10_000)
        emu.faults.drop_socket_after(0)
        task = asyncio.ensure_future(c.chats.send(cid, chat.chat_id, "in the storm"))
        looks = f"/neo/turns/{chat.chat_id}"
        assert await _wait_until(lambda: sum(
            e["kind"] == "http" and e["path"].startswith(looks) for e in emu.log.entries()
        ) >= 3)  # fmt: skip
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        emu.faults.clear()
        assert await asyncio.wait_for(c.ping(), timeout=10)  # the worker came back

    _run(emu, body, max_workers=1, reply_timeout=120.0,
         retry=RetryPolicy(max_retries=0))  # fmt: skip


def test_aclose_gives_client_closed_to_streams_and_calls(cai_emulator: Any) -> None:
    emu = cai_emulator
    cid = emu.character_ids[0]

    async def main() -> None:
        c = Client(emu.token, endpoints=caiclient.Endpoints.for_emulator(emu.url), timeout=(5, 5))
        chat, _ = await c.chats.create(cid)
        emu.faults.latency(0.2)
        try:
            stream = c.chats.stream(cid, chat.chat_id, "closing soon")
            await stream.start()
            pending = asyncio.ensure_future(stream.final())
            sending = asyncio.ensure_future(c.chats.send(cid, chat.chat_id, "me too"))
            assert await _wait_until(lambda: c.session.ws.in_flight() == 2)
            await c.aclose()
            for fut in (pending, sending):
                with pytest.raises(errors.ClientClosed):
                    await asyncio.wait_for(fut, timeout=10)
        finally:
            emu.faults.latency(0)
        with pytest.raises(errors.ClientClosed):
            await c.chats.get(chat.chat_id)
        with pytest.raises(errors.ClientClosed):
            await c.chats.send(cid, chat.chat_id, "after close")
        with pytest.raises(errors.ClientClosed):
            await c.ping()
        assert isinstance(errors.ClientClosed("x"), errors.CaiError)

    asyncio.run(main())


def test_conversation_handle_is_thread_free_and_remembers(cai_emulator: Any) -> None:
    emu = cai_emulator
    cid = emu.character_ids[0]

    async def body(c: Client) -> None:
        conv = await c.chats.conversation(cid)
        reply = await conv.send("hello handle")
        assert "hello handle" in reply.text
        assert conv.last_reply == reply
        again = await conv.regenerate()
        assert again.turn_id == reply.turn_id and conv.last_reply == again
        deltas = [p async for p in conv.stream("pieces").text_deltas()]
        assert "pieces" in "".join(deltas)

    _run(emu, body)


def test_cancelled_while_sending_leaves_nothing_registered(cai_emulator: Any) -> None:
    emu = cai_emulator
    cid = emu.character_ids[0]

    async def body(c: Client) -> None:
        chat, _ = await c.chats.create(cid)
        block = threading.Event()
        await c.run(lambda: None)  # the pool thread exists
        busy = asyncio.ensure_future(c.run(block.wait, 10))  # the only worker is busy
        task = asyncio.ensure_future(c.chats.send(cid, chat.chat_id, "cancel me early"))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        block.set()
        await busy
        assert await _wait_until(lambda: _sends(emu) >= 1)  # the queued send ran...
        # ...and its stream was closed at once: nothing waits for frames
        assert await _wait_until(lambda: c.session.ws.in_flight() == 0)

    _run(emu, body, max_workers=1)
