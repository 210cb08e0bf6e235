"""caiclient.aio: the same library for asyncio, end to end against the emulator."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
import time
from typing import Any, Callable, Iterator

import pytest
from support import async_wait_until

import caiclient
from caiclient import _stubgen, errors
from caiclient.aio import (
    RESOURCE_NAMES,
    AsyncIteratorStream,
    AsyncReplyStream,
    Client,
    public_methods,
)

# --------------------------------------------------------------- the surface


def test_every_sync_method_has_an_async_twin() -> None:
    s = caiclient.Session()
    c = Client()
    try:
        for name in RESOURCE_NAMES:
            sync_res = getattr(s, name)
            async_res = getattr(c, name)
            for meth in public_methods(type(sync_res)):
                twin = getattr(async_res, meth)
                assert callable(twin), (name, meth)
                assert twin.__name__ == meth
                assert inspect.signature(twin) == inspect.signature(getattr(sync_res, meth))
    finally:
        s.close()
        asyncio.run(c.aclose())


def test_client_takes_the_session_arguments() -> None:
    session_params = inspect.signature(caiclient.Session.__init__).parameters
    client_params = inspect.signature(Client.__init__).parameters
    for name, p in session_params.items():
        assert name in client_params, name
        assert client_params[name].kind == p.kind and client_params[name].default == p.default


def test_generated_stub_is_fresh() -> None:
    assert _stubgen.STUB_PATH.read_text(encoding="utf-8") == _stubgen.render(), (
        "caiclient/_aio_types.pyi is stale: run `python -m caiclient._stubgen`"
    )


def test_bad_max_workers() -> None:
    with pytest.raises(errors.ValidationError):
        Client(max_workers=0)
    with pytest.raises(errors.ValidationError):
        Client.from_env(max_workers=True)
    s = caiclient.Session()
    with pytest.raises(errors.ValidationError):
        Client.wrap(s, max_workers=-1)
    assert s.closed


# --------------------------------------------------------------- parity suite
#
# The same scenario runs through both faces. ``SyncFace`` makes the blocking
# Session look awaitable, so the scenario is written once.


class _Done:
    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Iterator[Any]:
        return self.value
        yield  # pragma: no cover


class _AsyncOverSync:
    def __init__(self, it: Iterator[Any]) -> None:
        self.it = it

    def __aiter__(self) -> _AsyncOverSync:
        return self

    async def __anext__(self) -> Any:
        try:
            return next(self.it)
        except StopIteration:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _AsyncOverSync:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        close = getattr(self.it, "close", None)
        if close:
            close()


class _SyncResource:
    def __init__(self, res: Any) -> None:
        self.res = res

    def __getattr__(self, name: str) -> Callable[..., Any]:
        fn = getattr(self.res, name)

        def call(*a: Any, **k: Any) -> Any:
            if name in ("stream", "stream_regenerate", "turns"):
                return _AsyncOverSync(fn(*a, **k))
            return _Done(fn(*a, **k))

        return call


class SyncFace:
    def __init__(self, session: caiclient.Session) -> None:
        self.session = session

    def __getattr__(self, name: str) -> Any:
        return _SyncResource(getattr(self.session, name))


async def scenario(c: Any, cid: str) -> dict:
    me = await c.account.me()
    character = await c.characters.get(cid)
    found = await c.characters.search(character.name)
    chat, greeting = await c.chats.create(cid)
    reply = await c.chats.send(cid, chat.chat_id, "parity check")
    snaps = []
    async with c.chats.stream(cid, chat.chat_id, "stream please") as stream:
        async for turn in stream:
            snaps.append(turn.text)
    regen = await c.chats.regenerate(cid, chat.chat_id, reply.turn_id)
    pinned = await c.chats.pin(chat.chat_id, reply.turn_id)
    turns = [t async for t in c.chats.turns(chat.chat_id)]
    recent = await c.chats.recent()
    await c.chats.rename(chat.chat_id, "renamed")
    personas = await c.personas.list()
    voices = await c.voices.search("a")
    with pytest.raises(errors.NotFound):
        await c.users.get("no-such-user-anywhere")
    return {
        "me": me.username,
        "character": character.name,
        "found": character.character_id in [f.character_id for f in found],
        "greeting": greeting.text,
        "reply_has_text": "parity check" in reply.text,
        "snaps_grow": all(b.startswith(a) for a, b in zip(snaps, snaps[1:])) and len(snaps) > 1,
        "regen_same_turn": regen.turn_id == reply.turn_id,
        "pinned": pinned.is_pinned,
        "turns": [t.author_is_human for t in turns],
        "recent_has_chat": chat.chat_id in [r.chat_id for r in recent],
        "personas": sorted(p.name for p in personas),
        "voices": len(voices) >= 0,
    }


@pytest.fixture
def endpoints(cai_emulator: Any) -> caiclient.Endpoints:
    return caiclient.Endpoints.for_emulator(cai_emulator.url)


def test_parity_sync_and_async(cai_emulator: Any, endpoints: caiclient.Endpoints) -> None:
    cid = cai_emulator.character_ids[0]
    with caiclient.Session(cai_emulator.token, endpoints=endpoints) as s:
        sync_result = asyncio.run(scenario(SyncFace(s), cid))

    async def run_async() -> dict:
        async with Client(cai_emulator.token, endpoints=endpoints) as c:
            return await scenario(c, cid)

    async_result = asyncio.run(run_async())
    assert sync_result == async_result
    assert sync_result["found"] and sync_result["pinned"] and sync_result["snaps_grow"]
    assert sync_result["turns"][:2] == [False, True]


# --------------------------------------------------------------- concurrency


def test_many_conversations_at_once(cai_emulator: Any, endpoints: caiclient.Endpoints) -> None:
    cid = cai_emulator.character_ids[1]

    async def one(c: Client, i: int) -> str:
        chat, _ = await c.chats.create(cid, greeting=False)
        reply = await c.chats.send(cid, chat.chat_id, f"conversation {i} marker-{i}")
        assert f"marker-{i}" in reply.text
        return chat.chat_id

    async def main() -> list:
        async with Client(cai_emulator.token, endpoints=endpoints) as c:
            ids = await asyncio.gather(*(one(c, i) for i in range(40)))
            assert c.session.ws.connections_opened == 1
            return ids

    ids = asyncio.run(main())
    assert len(set(ids)) == 40
    for chat_id in ids:
        assert len(cai_emulator.state.turns(chat_id)) == 2


def test_event_loop_is_never_blocked(cai_emulator: Any, endpoints: caiclient.Endpoints) -> None:
    cid = cai_emulator.character_ids[0]

    async def main() -> int:
        ticks = 0
        stop = asyncio.Event()

        async def heartbeat() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        async with Client(cai_emulator.token, endpoints=endpoints) as c:
            chat, _ = await c.chats.create(cid)
            cai_emulator.faults.latency(0.05)
            beat = asyncio.ensure_future(heartbeat())
            started = time.monotonic()
            await c.chats.send(cid, chat.chat_id, "take your time")
            elapsed = time.monotonic() - started
            stop.set()
            await beat
            cai_emulator.faults.latency(0)
        assert elapsed > 0.2
        return ticks

    assert asyncio.run(main()) >= 10


# --------------------------------------------------------------- streams


async def _wait_until(pred: Callable[[], bool], timeout: float = 3.0) -> bool:
    return await async_wait_until(pred, timeout)


@pytest.mark.parametrize("how", ["break", "exception", "cancel", "aclose"])
def test_leaving_a_stream_early_releases_it(
    cai_emulator: Any, endpoints: caiclient.Endpoints, how: str
) -> None:
    cid = cai_emulator.character_ids[0]

    async def main() -> None:
        async with Client(cai_emulator.token, endpoints=endpoints, timeout=(5, 5)) as c:
            chat, _ = await c.chats.create(cid)
            cai_emulator.faults.latency(0.05)
            stream = c.chats.stream(cid, chat.chat_id, "a long answer please")
            assert isinstance(stream, AsyncReplyStream)
            if how == "break":
                async with stream:
                    async for _turn in stream:
                        break
            elif how == "exception":
                with pytest.raises(RuntimeError):
                    async with stream:
                        async for _turn in stream:
                            raise RuntimeError("user code failed")
            elif how == "aclose":
                await stream.__anext__()
                await stream.aclose()
                await stream.aclose()
            else:
                got_first = asyncio.Event()

                async def consume() -> None:
                    async for _turn in stream:
                        got_first.set()

                task = asyncio.ensure_future(consume())
                await got_first.wait()
                started = time.monotonic()
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                # the worker blocked on the socket is woken at once, not after the 5 s timeout
                assert await _wait_until(lambda: c.session.ws.in_flight() == 0, timeout=2.0)
                assert time.monotonic() - started < 2.0
                await stream.aclose()
            assert await _wait_until(lambda: c.session.ws.in_flight() == 0)
            cai_emulator.faults.latency(0)
            # the client still works, and no frame of the abandoned reply leaks in
            reply = await c.chats.send(cid, chat.chat_id, "next question")
            assert "next question" in reply.text

    asyncio.run(main())


def test_turns_async_iteration_ends_and_closes(
    cai_emulator: Any, endpoints: caiclient.Endpoints
) -> None:
    cid = cai_emulator.character_ids[0]

    async def main() -> None:
        async with Client(cai_emulator.token, endpoints=endpoints) as c:
            chat, _ = await c.chats.create(cid)
            for i in range(3):
                await c.chats.send(cid, chat.chat_id, f"m{i}")
            turns = c.chats.turns(chat.chat_id)
            assert isinstance(turns, AsyncIteratorStream)
            got = [t async for t in turns]
            assert len(got) == 7
            # exhausted: further iteration stops at once, never hangs
            assert [t async for t in turns] == []
            # closing a generator mid-iteration is safe
            partial = c.chats.turns(chat.chat_id)
            first = await partial.__anext__()
            assert first.turn_id == got[0].turn_id
            await partial.aclose()

    asyncio.run(main())


def test_reply_stream_helpers(cai_emulator: Any, endpoints: caiclient.Endpoints) -> None:
    cid = cai_emulator.character_ids[0]

    async def main() -> None:
        async with Client(cai_emulator.token, endpoints=endpoints) as c:
            chat, _ = await c.chats.create(cid)
            final = await c.chats.stream(cid, chat.chat_id, "final please").final()
            assert final.is_final and "final please" in final.text
            stream = await c.chats.stream(cid, chat.chat_id, "deltas please").start()
            assert stream.user_turn_id
            text = "".join([piece async for piece in stream.text_deltas()])
            assert stream.done and text == stream.turn.text
            conv = await c.chats.conversation(cid)
            chat_id = await conv.start()
            reply = await conv.send("through a handle")
            assert reply.chat_id == chat_id

    asyncio.run(main())


def test_errors_and_contextvars_cross_the_pool(
    cai_emulator: Any, endpoints: caiclient.Endpoints
) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    seen = []

    async def main() -> None:
        async with Client(endpoints=endpoints) as guest:
            assert guest.is_guest
            with pytest.raises(errors.AuthRequiredError):
                await guest.chats.recent()
            var.set("from the caller")
            await guest.run(lambda: seen.append((var.get(), threading.current_thread().name)))
            assert await guest.ping()

    asyncio.run(main())
    assert seen[0][0] == "from the caller"
    assert seen[0][1].startswith("caiclient-aio")


def test_aclose_is_idempotent_and_closes_the_session(endpoints: caiclient.Endpoints) -> None:
    async def main() -> Client:
        c = Client(endpoints=endpoints)
        await c.aclose()
        await c.aclose()
        return c

    c = asyncio.run(main())
    assert c.closed and c.session.closed


def test_wrap_and_from_env(monkeypatch: pytest.MonkeyPatch, cai_emulator: Any) -> None:
    monkeypatch.setenv("CAI_TOKEN", cai_emulator.token)
    monkeypatch.setenv("CAI_EMULATOR_URL", cai_emulator.url)

    async def main() -> None:
        async with Client.from_env(max_workers=4) as c:
            assert (await c.account.me()).username
        s = caiclient.Session.from_env()
        async with Client.wrap(s) as w:
            assert await w.account_id() == s.account_id
        assert s.closed

    asyncio.run(main())


def test_client_mirrors_the_session_members() -> None:
    # Members of Session that the Client reaches differently, on purpose:
    elsewhere = {
        "close": "aclose",  # async close
        "ws": "session.ws",  # transports stay on the sync session
        "room_ws": "session.room_ws",
        "http": "session.http",
        "require_account": "session.require_account",
        "timeout": "session.timeout",
        "reply_timeout": "session.reply_timeout",
        "max_response_size": "session.max_response_size",
        "from_env": "from_env",
    }
    for name in dir(caiclient.Session):
        if name.startswith("_") or name in elsewhere:
            continue
        assert hasattr(Client, name), name
