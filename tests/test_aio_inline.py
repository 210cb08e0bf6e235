"""caiclient.aio starts a reply on the event loop when nothing has to wait, in the pool otherwise.

Either way the message goes out exactly once.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any, List

import pytest

import caiclient
from caiclient import aio
from caiclient.aio import Client
from caiclient.transport._inline import WouldBlock, may_block, nonblocking


@pytest.fixture
def endpoints(cai_emulator: Any) -> caiclient.Endpoints:
    return caiclient.Endpoints.for_emulator(cai_emulator.url)


def _count_submits(c: Client) -> List[Any]:
    """Record every callable the client hands to its pool."""
    runner = c._runner
    calls: List[Any] = []
    submit = runner.submit

    def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(args[1], "func", fn) if args[1:] else fn)
        return submit(fn, *args, **kwargs)

    runner.submit = counting  # type: ignore[method-assign]
    return calls


def _sent(cai_emulator: Any, text: str) -> int:
    return sum(
        1
        for cmd in cai_emulator.log.ws("create_and_generate_turn")
        if cmd["payload"]["turn"]["candidates"][0]["raw_content"] == text
    )


def test_may_block_raises_only_inside_nonblocking() -> None:
    may_block()  # outside: nothing happens
    with pytest.raises(WouldBlock), nonblocking():
        may_block()
    may_block()  # reset on the way out
    assert not isinstance(WouldBlock(), Exception)  # no `except Exception` swallows it


def test_replies_start_on_the_loop_once_the_socket_is_open(
    cai_emulator: Any, endpoints: caiclient.Endpoints
) -> None:
    cid = cai_emulator.character_ids[0]

    with caiclient.Session(cai_emulator.token, endpoints=endpoints) as s:
        chat, _ = s.chats.create(cid, greeting=False)

    async def main() -> None:
        async with Client(cai_emulator.token, endpoints=endpoints) as c:
            calls = _count_submits(c)
            # The first message needs the account id (HTTP) and the socket (a handshake):
            # it is sent from the pool, once.
            first = await c.chats.send(cid, chat.chat_id, "first, from the pool")
            assert first.is_final and calls, calls
            calls.clear()
            replies = await asyncio.gather(
                *(c.chats.send(cid, chat.chat_id, f"inline {i}") for i in range(5))
            )
            assert all(r.is_final for r in replies)
            assert calls == []  # nothing went through the pool
            assert c.session.ws.connections_opened == 1

    asyncio.run(main())
    assert _sent(cai_emulator, "first, from the pool") == 1
    for i in range(5):
        assert _sent(cai_emulator, f"inline {i}") == 1


def test_a_busy_send_lock_sends_from_the_pool_and_the_loop_runs_on(
    cai_emulator: Any, endpoints: caiclient.Endpoints
) -> None:
    cid = cai_emulator.character_ids[0]

    async def main() -> None:
        async with Client(cai_emulator.token, endpoints=endpoints) as c:
            chat, _ = await c.chats.create(cid, greeting=False)
            await c.chats.send(cid, chat.chat_id, "connect first")
            conn = c.session.ws._conn
            assert conn is not None
            calls = _count_submits(c)
            held = threading.Event()
            release = threading.Event()

            def hold() -> None:
                with conn.send_lock:  # another writer, taking its time
                    held.set()
                    release.wait(10)

            holder = threading.Thread(target=hold)
            holder.start()
            assert held.wait(5)
            reply = asyncio.ensure_future(c.chats.send(cid, chat.chat_id, "after the lock"))
            ticks = 0
            while not calls and ticks < 500:  # the loop keeps running meanwhile
                ticks += 1
                await asyncio.sleep(0.01)
            assert calls, "the send should have moved to the pool"
            assert not reply.done()
            release.set()
            turn = await asyncio.wait_for(reply, 20)
            holder.join(5)
            assert turn.is_final

    asyncio.run(main())
    assert _sent(cai_emulator, "after the lock") == 1


def test_a_closed_client_refuses_to_start(
    cai_emulator: Any, endpoints: caiclient.Endpoints
) -> None:
    cid = cai_emulator.character_ids[0]

    async def main() -> None:
        c = Client(cai_emulator.token, endpoints=endpoints)
        chat, _ = await c.chats.create(cid, greeting=False)
        await c.chats.send(cid, chat.chat_id, "hello")
        await c.aclose()
        with pytest.raises(caiclient.errors.ClientClosed):
            await c.chats.send(cid, chat.chat_id, "too late")

    asyncio.run(main())
    assert _sent(cai_emulator, "too late") == 0


def test_a_room_reply_subscribes_from_the_pool_then_starts_on_the_loop(
    cai_emulator: Any, endpoints: caiclient.Endpoints
) -> None:
    chars = [str(c) for c in cai_emulator.character_ids[:2]]

    def generates(room_id: str) -> int:
        return sum(
            1
            for e in cai_emulator.log.entries()
            if e["kind"] == "rooms_ws"
            and "rpc" in e["command"]
            and e["command"]["rpc"]["data"].get("command") == "generate_turn"
            and room_id in json.dumps(e["command"])
        )

    async def main() -> None:
        async with Client(cai_emulator.token, endpoints=endpoints, timeout=(5, 5)) as c:
            first = await c.rooms.create("Connects the socket", chars)
            await c.rooms.reply(first.room_id, chars[0])
            second = await c.rooms.create("Not subscribed yet", chars)
            calls = _count_submits(c)
            transport = c.session.room_ws
            subscribed: List[str] = []
            real_subscribe = transport._subscribe_on

            def subscribe(conn: Any, channel: str, deadline: float) -> None:
                subscribed.append(channel)
                real_subscribe(conn, channel, deadline)

            transport._subscribe_on = subscribe  # type: ignore[method-assign]

            async def stream(room_id: str, char: str) -> Any:
                async with c.rooms.stream_reply(room_id, char) as reply:
                    async for _ in reply:
                        pass
                return reply.turn

            def starts() -> int:  # replies started in the pool
                return sum(1 for fn in calls if fn is aio._open_reply)

            # The socket is open, but joining the new room's channel waits for the
            # service's answer: that reply starts in the pool, and is asked for once.
            turn = await stream(second.room_id, chars[0])
            assert turn is not None and turn.is_final and starts() == 1
            assert generates(second.room_id) == 1
            calls.clear()
            again = await stream(second.room_id, chars[1])
            assert again is not None and again.is_final and again.author_id == chars[1]
            assert calls == []  # subscribed: started and read on the loop, no thread held
            assert generates(second.room_id) == 2
            assert subscribed == [f"room:{second.room_id}"]  # asked once, from the pool
            third = await c.rooms.reply(second.room_id, chars[0])  # reply(): stream + final()
            assert third.is_final and calls == [] and generates(second.room_id) == 3

    asyncio.run(main())


def test_waiting_for_a_frame_is_never_done_on_the_loop() -> None:
    from caiclient.transport.http import Credentials
    from caiclient.transport.ws import WebSocketTransport

    t = WebSocketTransport("ws://127.0.0.1:9/neo/ws/", Credentials(), origin="https://character.ai")
    req = t.open("chat")
    with pytest.raises(WouldBlock), nonblocking():
        req.receive(5, time.monotonic() + 5)
    req.frames.put({"command": "x"})
    assert req.receive(5, time.monotonic() + 5) == {"command": "x"}  # outside: as before
    t.close()
