"""serve() lifecycle, persistence, seeds, brains, CLI and the pytest plugin."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import requests
import websocket

from caiclient import emulator
from caiclient.emulator import CharacterBrain, OpenAIBrain
from caiclient.emulator.brains import chunks
from caiclient.emulator.ws import parse_ws_token


def _hdr(token):
    return {"authorization": f"Token {token}", "Content-Type": "application/json"}


def _chat_and_message(emu, text):
    import uuid

    ws = websocket.create_connection(
        emu.ws_url, cookie=f"HTTP_AUTHORIZATION=Token {emu.token}", timeout=5
    )
    chat_id = str(uuid.uuid4())
    ws.send(
        json.dumps(
            {
                "command": "create_chat",
                "request_id": "a",
                "payload": {
                    "chat": {"chat_id": chat_id, "character_id": emu.character_ids[0]},
                    "with_greeting": False,
                },
            }
        )
    )
    assert json.loads(ws.recv())["command"] == "create_chat_response"
    ws.send(
        json.dumps(
            {
                "command": "create_and_generate_turn",
                "request_id": "b",
                "payload": {
                    "character_id": emu.character_ids[0],
                    "turn": {
                        "turn_key": {"chat_id": chat_id, "turn_id": str(uuid.uuid4())},
                        "candidates": [{"candidate_id": str(uuid.uuid4()), "raw_content": text}],
                    },
                },
            }
        )
    )
    frames = []
    while True:
        f = json.loads(ws.recv())
        frames.append(f)
        if not f["turn"]["author"]["is_human"] and f["turn"]["candidates"][0].get("is_final"):
            break
    ws.close()
    return chat_id, frames


def test_serve_starts_fast_and_stops_cleanly():
    before = threading.active_count()
    t = time.monotonic()
    with emulator.serve() as emu:
        started = time.monotonic() - t
        assert emu.url.startswith("http://127.0.0.1:")
        port = emu.port
        assert requests.get(emu.url + "/neo/ping/").json() == {"status": "pong"}
    assert started < 0.5
    time.sleep(0.05)
    assert threading.active_count() <= before
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))  # the port is free again
    finally:
        s.close()


def test_stop_with_open_socket_and_generation_in_flight():
    with emulator.serve(delay=0.05) as emu:
        ws = websocket.create_connection(
            emu.ws_url, cookie=f"HTTP_AUTHORIZATION=Token {emu.token}", timeout=5
        )
        ws.send(
            json.dumps(
                {
                    "command": "create_chat",
                    "request_id": "a",
                    "payload": {
                        "chat": {"chat_id": "c1", "character_id": emu.character_ids[0]},
                        "with_greeting": True,
                    },
                }
            )
        )
        ws.send(
            json.dumps(
                {
                    "command": "create_and_generate_turn",
                    "request_id": "b",
                    "payload": {
                        "turn": {
                            "turn_key": {"chat_id": "c1"},
                            "candidates": [{"raw_content": "long"}],
                        }
                    },
                }
            )
        )
        ws.recv()
        t = time.monotonic()
    assert time.monotonic() - t < 3


def test_persistence_with_db_file(tmp_path):
    db = str(tmp_path / "emu.sqlite")
    with emulator.serve(db=db) as emu:
        chat_id, frames = _chat_and_message(emu, "remember me")
        token = emu.token
        n_chars = len(
            requests.get(emu.url + "/plus/chat/characters/featured_v2/").json()["characters"]
        )
    with emulator.serve(db=db) as emu2:
        assert emu2.token == token
        turns = requests.get(f"{emu2.url}/neo/turns/{chat_id}/", headers=_hdr(token)).json()[
            "turns"
        ]
        assert [t["candidates"][0]["raw_content"] for t in turns][1] == "remember me"
        assert (
            turns[0]["candidates"][0]["raw_content"]
            == frames[-1]["turn"]["candidates"][0]["raw_content"]
        )
        # seeding is idempotent: no duplicated rows
        chars = requests.get(emu2.url + "/plus/chat/characters/featured_v2/").json()["characters"]
        assert len(chars) == n_chars
        assert (
            len(
                requests.get(
                    f"{emu2.url}/neo/turns/0c5a7e10-5eed-4000-8000-00000000a1c0/",
                    headers=_hdr(token),
                ).json()["turns"]
            )
            == 3
        )


def test_extra_seed_file(tmp_path):
    extra = {
        "characters": [
            {
                "external_id": "extra-char-1",
                "name": "Extra",
                "title": "An extra one",
                "greeting": "Hi, I am extra.",
                "owner": "carol",
                "categories": ["Comedy"],
            }
        ],
        "users": [{"id": 1, "username": "dave", "name": "Dave", "token": "d" * 40}],
    }
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(extra))
    with emulator.serve(seed=str(path)) as emu:
        assert "extra-char-1" in emu.character_ids
        r = requests.post(
            emu.url + "/neo/character/v1/get_character_info", json={"external_id": "extra-char-1"}
        )
        assert r.json()["character"]["name"] == "Extra"
        me = requests.get(emu.url + "/plus/chat/user/", headers=_hdr("d" * 40)).json()
        assert me["user"]["user"]["username"] == "dave"
    with emulator.serve(seed={"main_user": "bob"}) as emu:
        assert (
            requests.get(emu.url + "/plus/chat/user/", headers=_hdr(emu.token)).json()["user"][
                "user"
            ]["username"]
            == "bob"
        )


def test_reset(tmp_path):
    with emulator.serve() as emu:
        chat_id, _ = _chat_and_message(emu, "x")
        emu.faults.latency(1)
        emu.reset()
        assert emu.state.chat(chat_id) is None and emu.faults.latency_seconds == 0
        assert emu.state.chat("0c5a7e10-5eed-4000-8000-00000000a1c0") is not None


def test_character_brain_deterministic_and_in_character():
    b = CharacterBrain()
    ch = {
        "name": "Ada",
        "description": "A warm mathematician.",
        "greeting": "Hi",
        "definition": "",
        "title": "",
    }
    a1 = b.reply(ch, [], "hi")
    assert a1 == b.reply(ch, [], "hi")
    assert a1.startswith("*Ada ") and '"hi"' in a1 and "mathematician" in a1
    assert b.reply(ch, [], "hi", variant=1) != a1
    assert len(chunks(a1)) >= 3
    parts = chunks(a1)
    assert parts[-1] == a1 and all(parts[i + 1].startswith(parts[i]) for i in range(len(parts) - 1))


class _Stub(BaseHTTPRequestHandler):
    requests: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
        )
        reply = "Stub says: " + body["messages"][-1]["content"] + " and a few more words here."
        data = json.dumps(
            {"choices": [{"message": {"role": "assistant", "content": reply}}]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


def test_openai_brain_against_local_stub():
    _Stub.requests = []
    server = HTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/v1"
        brain = OpenAIBrain(base, "test-model", api_key="sk-test")
        with emulator.serve(brain=brain) as emu:
            _, frames = _chat_and_message(emu, "ping")
            final = frames[-1]["turn"]["candidates"][0]["raw_content"]
            assert final == "Stub says: ping and a few more words here."
            assert len(frames) >= 4  # human echo + at least 3 stream frames
        req = _Stub.requests[0]
        assert req["path"] == "/v1/chat/completions" and req["auth"] == "Bearer sk-test"
        assert req["body"]["model"] == "test-model"
        assert (
            req["body"]["messages"][0]["role"] == "system"
            and "Ada" in req["body"]["messages"][0]["content"]
        )
    finally:
        server.shutdown()
        server.server_close()


def test_broken_brain_gives_neo_error():
    class Broken:
        blocking = False

        def reply(self, character, history, user_text, variant=0):
            raise RuntimeError("boom")

    with emulator.serve(brain=Broken()) as emu:
        ws = websocket.create_connection(
            emu.ws_url, cookie=f"HTTP_AUTHORIZATION=Token {emu.token}", timeout=5
        )
        ws.send(
            json.dumps(
                {
                    "command": "create_chat",
                    "request_id": "a",
                    "payload": {
                        "chat": {"chat_id": "c1", "character_id": emu.character_ids[0]},
                        "with_greeting": False,
                    },
                }
            )
        )
        ws.recv()
        ws.send(
            json.dumps(
                {
                    "command": "create_and_generate_turn",
                    "request_id": "b",
                    "payload": {
                        "turn": {
                            "turn_key": {"chat_id": "c1"},
                            "candidates": [{"raw_content": "x"}],
                        }
                    },
                }
            )
        )
        assert json.loads(ws.recv())["turn"]["author"]["is_human"] is True
        f = json.loads(ws.recv())
        assert f["command"] == "neo_error" and f["request_id"] == "b"
        ws.close()


def test_parse_ws_token():
    assert parse_ws_token("HTTP_AUTHORIZATION=Token abc") == "abc"
    assert parse_ws_token('HTTP_AUTHORIZATION="Token abc"; edge_rollout=60;') == "abc"
    assert parse_ws_token('edge_rollout=60; HTTP_AUTHORIZATION="Token abc"') == "abc"
    assert parse_ws_token("other=1") is None
    assert parse_ws_token("") is None


def test_cli_main_serves_and_applies_faults(capsys):
    stop = threading.Event()
    result = {}
    t = threading.Thread(
        target=lambda: result.setdefault(
            "rc",
            emulator.main(
                [
                    "--port",
                    "0",
                    "--fault-http-errors",
                    "/neo/ping:503",
                    "--fault-html-block",
                    "/web/api/ping:waiting_room",
                ],
                stop=stop,
            ),
        )
    )
    t.start()
    try:
        deadline = time.monotonic() + 5
        url = None
        while time.monotonic() < deadline and url is None:
            out = capsys.readouterr().out
            for line in out.splitlines():
                if "listening on" in line:
                    url = line.rsplit(" ", 1)[1]
            time.sleep(0.01)
        assert url
        assert requests.get(url + "/neo/ping/").status_code == 503
        assert requests.get(url + "/neo/ping/").status_code == 200
        assert requests.get(url + "/web/api/ping").status_code == 503
    finally:
        stop.set()
        t.join(5)
    assert result["rc"] == 0


def test_cli_requires_model_with_openai():
    assert emulator.main(["--port", "0", "--openai-base-url", "http://127.0.0.1:1/v1"]) == 2


def test_fixture_url(cai_emulator_url, cai_emulator):
    assert cai_emulator_url == cai_emulator.url
    assert requests.get(cai_emulator_url + "/neo/ping").status_code == 200


def test_plugin_does_not_import_aiohttp():
    import subprocess
    import sys

    code = "import sys, caiclient.testing; print('aiohttp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "False", out.stderr
