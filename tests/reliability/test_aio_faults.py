"""The same websocket and HTTP faults through ``caiclient.aio.Client``."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, List, TypeVar

import pytest
from reliability_support import all_final, caiclient_threads, history_problems, wait_until

import caiclient
from caiclient import aio, errors
from caiclient.emulator.brains import chunks
from caiclient.transport.http import RetryPolicy

T = TypeVar("T")
TEXT = "Tell me about the harbour at night"


def _client(emu: Any, read_timeout: float = 5.0, reply_timeout: float = 30.0) -> aio.Client:
    return aio.Client(
        emu.token,
        endpoints=caiclient.Endpoints.for_emulator(emu.url),
        timeout=(5.0, read_timeout),
        retry=RetryPolicy(max_retries=2, sleep=lambda _s: None),
        reply_timeout=reply_timeout,
    )


def run(
    emu: Any,
    body: Callable[[aio.Client], Awaitable[T]],
    read_timeout: float = 5.0,
    reply_timeout: float = 30.0,
) -> T:
    async def main() -> T:
        async with _client(emu, read_timeout, reply_timeout) as c:
            return await body(c)

    return asyncio.run(main())


def _settled(emu: Any, chat_id: str) -> bool:
    turns = emu.state.turns(chat_id)
    return all_final(emu, chat_id) and bool(turns) and not turns[0]["author"]["is_human"]


def test_aio_send_and_stream_with_a_drop_after_every_frame(cai_emulator: Any) -> None:
    emu = cai_emulator
    cid = emu.character_ids[0]

    async def body(c: aio.Client) -> List[str]:
        chat, _ = await c.chats.create(cid)
        probe = await c.chats.send(cid, chat.chat_id, TEXT)
        frames, expected = 1 + len(chunks(probe.text)), probe.text
        failures = []
        for n in range(frames + 1):
            for how in ("send", "stream"):
                chat, _ = await c.chats.create(cid)
                emu.faults.drop_socket_after(n)
                if how == "send":
                    final = await c.chats.send(cid, chat.chat_id, TEXT)
                else:
                    async with c.chats.stream(cid, chat.chat_id, TEXT) as reply:
                        snaps = [t async for t in reply]
                    final = snaps[-1]
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: wait_until(lambda: not c.session.ws.connected, 5.0)
                )
                if final.text != expected or not final.is_final:
                    failures.append(f"{how} drop {n}: {final.text!r}")
                assert wait_until(lambda chat=chat: _settled(emu, chat.chat_id))
                failures += [
                    f"{how} drop {n}: {p}"
                    for p in history_problems(emu, chat.chat_id, [TEXT], greeting=True)
                ]
        return failures

    assert run(emu, body) == []


def test_aio_typed_errors(cai_emulator: Any) -> None:
    emu = cai_emulator
    cid = emu.character_ids[0]

    async def body(c: aio.Client) -> None:
        chat, _ = await c.chats.create(cid)
        emu.faults.drop_on_receive(1000)  # resends go on until the (short) reply deadline
        with pytest.raises(errors.ConnectionLost) as info:
            await c.chats.send(cid, chat.chat_id, "never arrives")
        emu.faults.clear()
        assert info.value.message_delivered is False
        emu.faults.http_errors("/neo/chats/recent/", [503, 503, 503])
        with pytest.raises(errors.ServerError):
            await c.chats.recent()
        emu.faults.html_block("/plus/chat/user/", times=1, kind="access_denied")
        with pytest.raises(errors.BlockedError):
            await c.account.me()
        emu.faults.filter_next("input")
        with pytest.raises(errors.ContentFiltered):
            await c.chats.send(cid, chat.chat_id, "filtered")
        emu.faults.latency(0.8)
        with pytest.raises(errors.Timeout):
            await c.chats.send(cid, chat.chat_id, "slow")
        emu.faults.latency(0)
        assert await asyncio.get_running_loop().run_in_executor(
            None, lambda: wait_until(lambda: _settled(emu, chat.chat_id))
        )
        reply = await c.chats.send(cid, chat.chat_id, "fine")
        assert reply.is_final
        problems = history_problems(
            emu, chat.chat_id, ["slow", "fine"], not_delivered=["never arrives", "filtered"],
            greeting=True,
        )  # fmt: skip
        assert problems == []

    run(emu, body, read_timeout=0.4, reply_timeout=2.0)


def test_aio_cancelled_stream_releases_everything(cai_emulator: Any) -> None:
    emu = cai_emulator
    cid = emu.character_ids[0]
    before = caiclient_threads()

    async def body(c: aio.Client) -> str:
        chat, _ = await c.chats.create(cid)
        emu.faults.latency(0.05)

        async def consume() -> None:
            async for _ in c.chats.stream(cid, chat.chat_id, TEXT):
                pass

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.12)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        emu.faults.latency(0)
        assert await asyncio.wait_for(
            asyncio.get_running_loop().run_in_executor(
                None, lambda: wait_until(lambda: c.session.ws.in_flight() == 0, 5.0)
            ),
            10,
        )
        reply = await c.chats.send(cid, chat.chat_id, "after the cancel")
        assert "after the cancel" in reply.text  # no frame of the abandoned stream leaked in
        return chat.chat_id

    chat_id = run(emu, body)
    assert wait_until(lambda: _settled(emu, chat_id))
    assert history_problems(emu, chat_id, [TEXT, "after the cancel"], greeting=True) == []
    assert wait_until(lambda: caiclient_threads() == before, 5.0), caiclient_threads()
