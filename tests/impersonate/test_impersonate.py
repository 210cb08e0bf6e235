"""Session(impersonate=...) end to end against the emulator: HTTP and the websocket through curl_cffi.

Needs the ``impersonate`` extra (curl_cffi); .ci/run installs it and runs this
directory explicitly (it is kept out of the default ``testpaths`` run).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from typing import Iterator

import pytest

from caiclient import Endpoints, Session, errors
from caiclient.aio import Client
from caiclient.emulator import Emulator
from caiclient.transport.http import USER_AGENT
from caiclient.transport.impersonate import CurlWebSocket, Impersonation, known_targets


@pytest.fixture
def imp_session(cai_emulator: Emulator) -> Iterator[Session]:
    s = Session(
        cai_emulator.token,
        endpoints=Endpoints.for_emulator(cai_emulator.url),
        impersonate="chrome",
        timeout=(5, 5),
    )
    yield s
    s.close()


def _handshakes(emu: Emulator) -> list:
    return [e for e in emu.log.entries() if e["kind"] == "ws_connect"]


def test_http_goes_through_the_browser_stack(imp_session: Session, cai_emulator: Emulator) -> None:
    me = imp_session.account.me()
    assert me.username
    assert imp_session.impersonate == "chrome"
    seen = cai_emulator.log.http("/plus/chat/user/")[-1]["headers"]
    # curl_cffi's Chrome sends its client hints and its own User-Agent; ours gives way.
    assert "sec-ch-ua" in seen and "Chrome" in seen["sec-ch-ua"]
    assert seen["user-agent"] != USER_AGENT and "Chrome/" in seen["user-agent"]
    assert seen["authorization"] == f"Token {cai_emulator.token}"


def test_chat_streams_over_the_impersonating_websocket(
    imp_session: Session, cai_emulator: Emulator
) -> None:
    cid = cai_emulator.character_ids[0]
    chat, greeting = imp_session.chats.create(cid)
    assert greeting is not None and greeting.text
    parts = list(imp_session.chats.stream(cid, chat.chat_id, "hello through curl"))
    assert len(parts) >= 2
    assert parts[-1].is_final and 'hello through curl' in parts[-1].text
    # cumulative text: every snapshot extends the one before
    assert all(parts[i + 1].text.startswith(parts[i].text) for i in range(len(parts) - 1))
    reply = imp_session.chats.send(cid, chat.chat_id, "and again")
    assert "and again" in reply.text
    stored = cai_emulator.state.turns(chat.chat_id)
    assert any("and again" in str(t) for t in stored)
    shakes = _handshakes(cai_emulator)
    assert len(shakes) == 1  # one socket, reused
    h = shakes[0]["headers"]
    assert "sec-ch-ua" in h and h["user-agent"] != USER_AGENT
    assert cai_emulator.token in h["cookie"] and "HTTP_AUTHORIZATION=" in h["cookie"]
    # The site's cookie, collected over the impersonating HTTP session, rides along.
    assert "edge_rollout=60" in h["cookie"]
    assert h["origin"] == imp_session.endpoints.web


def test_many_threads_share_one_curl_socket(imp_session: Session, cai_emulator: Emulator) -> None:
    cid = cai_emulator.character_ids[0]
    chats = [imp_session.chats.create(cid, greeting=False)[0] for _ in range(4)]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = [
            pool.submit(imp_session.chats.send, cid, chats[i].chat_id, f"message number {i}")
            for i in range(4)
        ]
        texts = [f.result(timeout=30).text for f in futures]
    for i, text in enumerate(texts):
        assert f"message number {i}" in text
    assert len(_handshakes(cai_emulator)) == 1


def test_voice_upload_sends_multipart_through_curl(
    imp_session: Session, cai_emulator: Emulator
) -> None:
    voice = imp_session.voices.upload(b"ID3" + b"\x00" * 64, "CurlVoice", description="d")
    assert voice.name == "CurlVoice"
    sent = cai_emulator.log.http("/neo/multimodal/api/v1/voices/")[-1]
    assert sent["headers"]["content-type"].startswith("multipart/form-data")
    assert b"ID3" in sent["body"]


def test_refused_handshake_keeps_its_status(imp_session: Session, cai_emulator: Emulator) -> None:
    cai_emulator.faults.refuse_ws_handshake("always")
    cid = cai_emulator.character_ids[0]
    with pytest.raises(errors.APIError) as info:
        imp_session.chats.create(cid)
    assert info.value.status == 403
    assert cai_emulator.token not in str(info.value)


def test_http_connection_refused_is_a_network_error(cai_emulator: Emulator) -> None:
    s = Session("tok", endpoints=Endpoints.for_emulator("http://127.0.0.1:9"), impersonate="chrome",
                max_retries=0)
    with pytest.raises(errors.NetworkError):
        s.account.me()
    with pytest.raises(errors.NetworkError):
        s.chats.create(cai_emulator.character_ids[0], greeting=False)
    s.close()


def test_server_errors_keep_status_and_message(imp_session: Session, cai_emulator: Emulator) -> None:
    with pytest.raises(errors.NotFound) as info:
        imp_session.chats.get("00000000-0000-4000-8000-000000000000")
    assert info.value.status == 404


def test_unknown_target_is_refused() -> None:
    with pytest.raises(errors.ValidationError) as info:
        Session("tok", impersonate="netscape4")
    assert info.value.field == "impersonate"
    assert "netscape4" in str(info.value) and "chrome" in str(info.value)


@pytest.mark.parametrize("target", ["chrome", "firefox", "safari", "edge", "firefox135"])
def test_known_targets(target: str) -> None:
    assert target in known_targets()
    Impersonation(target).close()


def test_curl_socket_recv_is_bounded_and_close_wakes_it(cai_emulator: Emulator) -> None:
    imp = Impersonation("chrome")
    ws_url = Endpoints.for_emulator(cai_emulator.url).ws
    conn = imp.connect(ws_url, {"Cookie": f"HTTP_AUTHORIZATION=Token {cai_emulator.token}"}, 5)
    assert isinstance(conn, CurlWebSocket)
    conn.settimeout(0.05)
    with pytest.raises(TimeoutError):
        conn.recv()
    conn.ping()
    conn.settimeout(None)
    got: list = []
    reader = threading.Thread(target=lambda: got.append(_recv_or_error(conn)))
    reader.start()
    conn.close()
    reader.join(timeout=5)
    assert not reader.is_alive()
    assert got and isinstance(got[0], ConnectionError)
    conn.close()  # idempotent
    imp.close()


def _recv_or_error(conn: CurlWebSocket) -> object:
    try:
        return conn.recv()
    except Exception as exc:
        return exc


def test_session_close_stops_the_reader(imp_session: Session, cai_emulator: Emulator) -> None:
    imp_session.chats.create(cai_emulator.character_ids[0], greeting=False)
    readers = list(imp_session.ws.threads())
    assert readers
    imp_session.close()
    for t in readers:
        t.join(timeout=5)
        assert not t.is_alive()


def test_async_client_impersonates_too(cai_emulator: Emulator) -> None:
    async def main() -> str:
        async with Client(
            cai_emulator.token,
            endpoints=Endpoints.for_emulator(cai_emulator.url),
            impersonate="firefox",
            timeout=(5, 5),
        ) as client:
            assert client.impersonate == "firefox"
            cid = cai_emulator.character_ids[0]
            chat, _ = await client.chats.create(cid, greeting=False)
            text = ""
            async for part in client.chats.stream(cid, chat.chat_id, "async curl"):
                text = part.text
            return text

    text = asyncio.run(main())
    assert "async curl" in text
    h = _handshakes(cai_emulator)[0]["headers"]
    assert "Firefox/" in h["user-agent"]


def test_the_room_socket_impersonates_too(imp_session: Session, cai_emulator: Emulator) -> None:
    chars = cai_emulator.character_ids[:2]
    room = imp_session.rooms.create("Curl room", chars, greeting=False)
    mine = imp_session.rooms.send(room.room_id, "hello room")
    assert mine.author_is_human and mine.text == "hello room"
    reply = imp_session.rooms.reply(room.room_id, chars[1])
    assert reply.is_final and reply.author_id == chars[1] and "hello room" in reply.text
    shakes = [e for e in cai_emulator.log.entries() if e["kind"] == "ws_connect"]
    room_shakes = [e for e in shakes if "connection/websocket" in e["path"]]
    assert room_shakes, shakes
    h = room_shakes[0]["headers"]
    assert "sec-ch-ua" in h and h["user-agent"] != USER_AGENT


def test_a_forked_child_gets_its_own_curl_handles(imp_session: Session, cai_emulator: Emulator) -> None:
    assert imp_session.account.me().username == "alice"  # the parent's handles are in use
    parent_curl = imp_session._impersonation._session  # type: ignore[union-attr]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave at once
        try:
            child = imp_session._impersonation._session  # type: ignore[union-attr]
            ok = child is not parent_curl and imp_session.account.me().username == "alice"
            os.write(write, b"ok" if ok else b"no")
        finally:
            os._exit(0)
    os.close(write)
    try:
        answer = os.read(read, 2)
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    assert answer == b"ok"
    assert imp_session.account.me().username == "alice"  # the parent still works
