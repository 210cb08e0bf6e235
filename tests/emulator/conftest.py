"""Shared helpers for the emulator tests (raw requests + websocket-client)."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
import websocket

from caiclient.testing import cai_emulator, cai_emulator_url  # noqa: F401  (plugin may not be installed)


class Api:
    """Thin raw-HTTP / raw-websocket helper bound to one emulator."""

    def __init__(self, emu) -> None:
        self.emu = emu
        self.url = emu.url
        self.http = requests.Session()

    def headers(self, token: str | None = "main") -> dict:
        if token == "main":
            token = self.emu.token
        elif token == "other":
            token = self.emu.other_token
        h = {"Content-Type": "application/json"}
        if token is not None:
            h["authorization"] = f"Token {token}"
        return h

    def req(self, method: str, path: str, token: str | None = "main", **kw) -> requests.Response:
        headers = self.headers(token)
        headers.update(kw.pop("headers", {}))
        return self.http.request(method, self.url + path, headers=headers, timeout=5, **kw)

    def get(self, path, token="main", **kw):
        return self.req("GET", path, token, **kw)

    def post(self, path, body=None, token="main", **kw):
        if body is not None:
            kw["data"] = json.dumps(body)
        return self.req("POST", path, token, **kw)

    def ws(
        self, token: str | None = "main", quoted: bool = False, extra: str = ""
    ) -> websocket.WebSocket:
        if token == "main":
            token = self.emu.token
        elif token == "other":
            token = self.emu.other_token
        value = f"Token {token}"
        cookie = f'HTTP_AUTHORIZATION="{value}"' if quoted else f"HTTP_AUTHORIZATION={value}"
        return websocket.create_connection(self.emu.ws_url, cookie=cookie + extra, timeout=5)

    # websocket flows ------------------------------------------------------------------------
    @staticmethod
    def send(ws, command: str, payload: dict, request_id: str | None = "auto", **top) -> str | None:
        frame = {"command": command}
        if request_id == "auto":
            request_id = str(uuid.uuid4())
        if request_id is not None:
            frame["request_id"] = request_id
        frame.update(top)
        frame["payload"] = payload
        ws.send(json.dumps(frame))
        return request_id

    @staticmethod
    def recv(ws) -> dict:
        return json.loads(ws.recv())

    @staticmethod
    def nothing_more(ws, timeout: float = 0.15) -> bool:
        ws.settimeout(timeout)
        try:
            ws.recv()
        except websocket.WebSocketTimeoutException:
            return True
        finally:
            ws.settimeout(5)
        return False

    def create_chat(self, ws, character_id: str | None = None, greeting: bool = True) -> tuple:
        character_id = character_id or self.emu.character_ids[0]
        chat_id = str(uuid.uuid4())
        rid = self.send(
            ws,
            "create_chat",
            {
                "chat": {
                    "chat_id": chat_id,
                    "creator_id": self.emu.user_id,
                    "visibility": "VISIBILITY_PRIVATE",
                    "character_id": character_id,
                    "type": "TYPE_ONE_ON_ONE",
                },
                "with_greeting": greeting,
            },
        )
        frames = [self.recv(ws)]
        if greeting:
            frames.append(self.recv(ws))
        assert all(f.get("request_id") == rid for f in frames)
        return chat_id, frames

    def turn_payload(
        self, chat_id: str, text: str, character_id: str | None = None, turn_id: str | None = None
    ) -> dict:
        cand = str(uuid.uuid4())
        return {
            "character_id": character_id or self.emu.character_ids[0],
            "num_candidates": 1,
            "previous_annotations": {"boring": 0},
            "selected_language": "",
            "tts_enabled": False,
            "turn": {
                "author": {"author_id": self.emu.user_id, "is_human": True, "name": ""},
                "candidates": [{"candidate_id": cand, "raw_content": text}],
                "primary_candidate_id": cand,
                "turn_key": {"chat_id": chat_id, "turn_id": turn_id or str(uuid.uuid4())},
            },
            "user_name": "",
        }

    def send_message(self, ws, chat_id: str, text: str, turn_id: str | None = None) -> tuple:
        """Send a message and collect frames until the final reply frame."""
        rid = self.send(
            ws,
            "create_and_generate_turn",
            self.turn_payload(chat_id, text, turn_id=turn_id),
            origin_id="web-next",
        )
        frames = []
        while True:
            f = self.recv(ws)
            frames.append(f)
            if f["command"] in ("neo_error", "filter_user_input_self_harm"):
                break
            turn = f["turn"]
            if not turn["author"].get("is_human") and turn["candidates"][0].get("is_final"):
                break
        return rid, frames


@pytest.fixture
def emu(cai_emulator):  # noqa: F811
    """The emulator under test."""
    return cai_emulator


@pytest.fixture
def api(emu) -> Api:
    """Raw client helper."""
    a = Api(emu)
    yield a
    a.http.close()
