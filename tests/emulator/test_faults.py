"""Fault injection."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import websocket

from caiclient.emulator.app import wait_until


def _final_reply_stored(emu, chat_id, n):
    turns = emu.state.turns(chat_id)
    return len(turns) == n and turns[0]["candidates"][0].get("is_final") is True


def test_drop_socket_after_frames_reply_still_stored(api, emu):
    ws = api.ws()
    chat_id, _ = api.create_chat(ws, greeting=False)
    emu.faults.drop_socket_after(2)
    turn_id = str(uuid.uuid4())
    api.send(ws, "create_and_generate_turn", api.turn_payload(chat_id, "drop me", turn_id=turn_id))
    got = []
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError, OSError)):
        while True:
            got.append(api.recv(ws))
    assert len(got) == 2
    assert got[0]["turn"]["author"]["is_human"] is True
    assert "is_final" not in got[1]["turn"]["candidates"][0]
    assert wait_until(lambda: _final_reply_stored(emu, chat_id, 2))
    # recovery over HTTP
    r = api.get(f"/neo/turns/{chat_id}/")
    turns = r.json()["turns"]
    assert turns[1]["turn_key"]["turn_id"] == turn_id
    assert turns[0]["candidates"][0]["is_final"] is True
    # the fault was consumed: a new socket works normally
    ws2 = api.ws()
    _, frames = api.send_message(ws2, chat_id, "again")
    assert frames[-1]["turn"]["candidates"][0]["is_final"] is True


def test_drop_socket_after_zero_frames(api, emu):
    ws = api.ws()
    chat_id, _ = api.create_chat(ws, greeting=False)
    emu.faults.drop_socket_after(0)
    turn_id = str(uuid.uuid4())
    api.send(ws, "create_and_generate_turn", api.turn_payload(chat_id, "silent", turn_id=turn_id))
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError, OSError)):
        api.recv(ws)
    assert wait_until(lambda: _final_reply_stored(emu, chat_id, 2))
    assert emu.state.turns(chat_id)[1]["turn_key"]["turn_id"] == turn_id


def test_drop_socket_after_times(api, emu):
    emu.faults.drop_socket_after(1, times=2)
    for _ in range(2):
        ws = api.ws()
        api.send(
            ws,
            "create_chat",
            {
                "chat": {"chat_id": str(uuid.uuid4()), "character_id": emu.character_ids[0]},
                "with_greeting": True,
            },
        )
        assert api.recv(ws)["command"] == "create_chat_response"
        with pytest.raises(
            (websocket.WebSocketConnectionClosedException, ConnectionError, OSError)
        ):
            api.recv(ws)
    ws = api.ws()
    _, frames = api.create_chat(ws)
    assert len(frames) == 2


def test_drop_on_receive_nothing_processed(api, emu):
    ws = api.ws()
    chat_id, _ = api.create_chat(ws, greeting=False)
    emu.faults.drop_on_receive()
    api.send(ws, "create_and_generate_turn", api.turn_payload(chat_id, "lost"))
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError, OSError)):
        api.recv(ws)
    time.sleep(0.05)
    assert emu.state.turns(chat_id) == []
    entries = [e for e in emu.log.entries() if e["kind"] == "ws"]
    assert entries[-1]["dropped"] is True


def test_filter_input(api, emu):
    ws = api.ws()
    chat_id, _ = api.create_chat(ws, greeting=False)
    emu.faults.filter_next("input")
    rid, frames = api.send_message(ws, chat_id, "something bad")
    assert frames == [
        {
            "command": "filter_user_input_self_harm",
            "request_id": rid,
            "comment": "Self harm message detected",
        }
    ]
    assert api.nothing_more(ws)
    assert emu.state.turns(chat_id) == []


def test_filter_output(api, emu):
    ws = api.ws()
    chat_id, _ = api.create_chat(ws, greeting=False)
    _, normal = api.send_message(ws, chat_id, "same text")
    emu.faults.filter_next("output")
    _, frames = api.send_message(ws, chat_id, "same text")
    last = frames[-1]["turn"]["candidates"][0]
    assert last["safety_truncated"] is True and last["is_final"] is True
    assert len(last["raw_content"]) < len(normal[-1]["turn"]["candidates"][0]["raw_content"])
    assert emu.state.turns(chat_id)[0]["candidates"][0]["safety_truncated"] is True


def test_http_errors_sequence_and_retry_after(api, emu):
    emu.faults.http_errors("/plus/chat/user/", [429, 503], retry_after=2)
    r1 = api.get("/plus/chat/user/")
    assert r1.status_code == 429 and r1.headers["Retry-After"] == "2"
    assert r1.headers["content-type"].startswith("application/json") and r1.json()
    r2 = api.get("/plus/chat/user/")
    assert r2.status_code == 503 and r2.json()["status"] == "NOT_OK"
    assert api.get("/plus/chat/user/").status_code == 200
    emu.faults.http_errors("/neo/", [502])
    r = api.get("/neo/chats/recent/")
    assert r.status_code == 502 and r.json()["command"] == "neo_error"
    assert "cf-ray" in r.headers and "x-request-id" in r.headers


def test_http_errors_429_default_retry_after(api, emu):
    emu.faults.http_errors("/neo/ping", [429])
    r = api.get("/neo/ping/")
    assert r.status_code == 429 and "Retry-After" in r.headers


@pytest.mark.parametrize("kind", ["truncated", "invalid", "empty"])
def test_malformed(api, emu, kind):
    emu.faults.malformed("/plus/chat/user/", kind=kind)
    r = api.get("/plus/chat/user/")
    assert r.status_code == 200
    with pytest.raises(ValueError):
        json.loads(r.text)
    if kind == "empty":
        assert r.content == b""
    assert api.get("/plus/chat/user/").json()["user"]["user"]["username"] == "alice"


@pytest.mark.parametrize(
    "kind,status", [("challenge", 403), ("access_denied", 403), ("waiting_room", 503)]
)
def test_html_block(api, emu, kind, status):
    emu.faults.html_block("/neo/", times=2, kind=kind)
    for _ in range(2):
        r = api.get("/neo/chats/recent/")
        assert r.status_code == status
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["cf-ray"] and "<html" in r.text.lower()
    assert api.get("/neo/chats/recent/").status_code == 200


def test_html_block_forever_until_clear(api, emu):
    emu.faults.html_block("/web/")
    for _ in range(3):
        assert api.get("/web/api/ping").status_code == 403
    emu.faults.clear()
    assert api.get("/web/api/ping").status_code == 200


def test_latency_http_and_ws(api, emu):
    emu.faults.latency(0.05)
    t = time.monotonic()
    assert api.get("/neo/ping/").status_code == 200
    assert time.monotonic() - t >= 0.05
    ws = api.ws()
    t = time.monotonic()
    api.create_chat(ws)  # two frames
    assert time.monotonic() - t >= 0.1
    emu.faults.clear()
    t = time.monotonic()
    api.get("/neo/ping/")
    assert time.monotonic() - t < 0.05


def test_fault_argument_validation(emu):
    with pytest.raises(ValueError):
        emu.faults.malformed("/x", kind="weird")
    with pytest.raises(ValueError):
        emu.faults.html_block("/x", kind="weird")
    with pytest.raises(ValueError):
        emu.faults.filter_next("both")
    with pytest.raises(ValueError):
        emu.faults.drop_socket_after(-1)


def test_every_response_has_request_ids(api):
    for path in (
        "/neo/ping/",
        "/plus/chat/user/",
        "/cdn/i/400/static/avatars/nope.png",
        "/neo/nope",
    ):
        r = api.get(path)
        assert r.headers.get("cf-ray") and r.headers.get("x-request-id")
