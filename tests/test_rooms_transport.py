"""The room socket transport against a scripted fake socket (the ``ws_connect`` seam).

What the emulator does not send but the service or other clients may: batched
frames, N2's push shape, Centrifugo error codes, odd frames.
"""

from __future__ import annotations

import json
import queue
import threading
from typing import Any, Callable, Iterator, List, Mapping, Optional

import pytest
import responses
from support import TOKEN, account_body

import caiclient
from caiclient import errors
from caiclient.transport.rooms import room_channel, split_frames

ROOM = "3f1c2d3e-4b5a-4c6d-8e7f-112233445566"
CHAR = "char-1"


class _Timeout(Exception):
    """Named like websocket-client's timeout (the reader sends a ping on it)."""


class FakeSocket:
    """A socket whose server side is ``serve(command) -> frames to send back``."""

    def __init__(self, serve: Callable[[Any], List[str]]) -> None:
        self.serve = serve
        self.inbox: queue.Queue[str] = queue.Queue()
        self.sent: List[str] = []
        self.timeout: Optional[float] = None
        self.closed = threading.Event()

    def send(self, payload: str) -> None:
        if self.closed.is_set():
            raise OSError("closed")
        self.sent.append(payload)
        for cmd in split_frames(payload):
            for frame in self.serve(cmd):
                self.inbox.put(frame)

    def recv(self) -> str:
        while not self.closed.is_set():
            try:
                return self.inbox.get(timeout=min(self.timeout or 0.05, 0.05))
            except queue.Empty:
                continue
        return ""

    def settimeout(self, timeout: Optional[float]) -> None:
        self.timeout = timeout

    def ping(self, payload: str = "") -> None:
        pass

    def close(self) -> None:
        self.closed.set()

    def push(self, frame: Mapping[str, Any]) -> None:
        self.inbox.put(json.dumps(frame))


def turn(turn_id: str, text: str, final: bool, human: bool = False) -> dict:
    cand = {"candidate_id": "c-" + turn_id, "raw_content": text}
    if final:
        cand["is_final"] = True
    return {
        "turn_key": {"chat_id": ROOM, "turn_id": turn_id},
        "author": {"author_id": "42" if human else CHAR, "name": "x", "is_human": human},
        "candidates": [cand],
        "primary_candidate_id": "c-" + turn_id,
    }


def centrifugo(cmd: Any, **answers: Any) -> List[str]:
    """Default server: answer connect and subscribe; ``answers`` override by command."""
    for name, answer in answers.items():
        if name in cmd:
            return answer(cmd) if callable(answer) else answer
    if "connect" in cmd:
        return [json.dumps({"id": cmd["id"], "connect": {"client": "c", "pong": True}})]
    if "subscribe" in cmd or "unsubscribe" in cmd:
        return [json.dumps({"id": cmd["id"], "subscribe": {}})]
    return []


@pytest.fixture
def me() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get("https://plus.character.ai/chat/user/", json=account_body(42, "alice"))
        yield mock


def session_with(sock: FakeSocket) -> caiclient.Session:
    return caiclient.Session(TOKEN, timeout=(2, 2), ws_connect=lambda url, headers, t: sock)


def test_batched_frames_keepalives_and_the_n2_push_shape(me: Any) -> None:
    sock = FakeSocket(centrifugo)
    with session_with(sock) as s:
        listener = s.rooms.listen(ROOM, timeout=5)
        assert s.room_ws.url == "wss://neo.character.ai/connection/websocket"
        # One frame: a keep-alive, a push in Centrifugo's shape and one in N2's, newline-joined.
        pub = {"push": {"channel": room_channel(ROOM), "pub": {"data": {"command": "add_turn",
               "turn": turn("t1", "one", True)}}}}  # fmt: skip
        n2 = {"push": {"channel": room_channel(ROOM), "data": {"command": "add_turn",
              "turn": turn("t2", "two", True)}}}  # fmt: skip
        sock.inbox.put("{}\n" + json.dumps(pub) + "\n" + json.dumps(n2))
        sock.inbox.put("not json at all")
        sock.push({"push": {"channel": room_channel(ROOM), "join": {"info": {}}}})
        # A turn after the junk: once it arrives, the one reader has handled the junk too.
        sock.push({"push": {"channel": room_channel(ROOM), "pub": {"data": {
            "command": "add_turn", "turn": turn("t3", "three", True)}}}})  # fmt: skip
        got = [next(listener).text for _ in range(3)]
        listener.close()
        assert got == ["one", "two", "three"]
        assert "{}" in sock.sent and s.room_ws.pings_answered == 1
        assert s.room_ws.discarded_frames >= 1  # the text frame, and the reader lived on
        first = json.loads(sock.sent[0])
        assert first == {"id": 1, "connect": {"name": "js"}}
        assert json.loads(sock.sent[1]) == {"id": 2, "subscribe": {"channel": f"room:{ROOM}"}}


@pytest.mark.parametrize(
    "error, exc",
    [
        ({"code": 103, "message": "permission denied"}, errors.PermissionDenied),
        ({"code": 102, "message": "unknown channel"}, errors.NotFound),
        ("permission denied", errors.PermissionDenied),
    ],
)
def test_a_refused_subscription_is_a_typed_error(me: Any, error: Any, exc: type) -> None:
    sock = FakeSocket(
        lambda c: centrifugo(c, subscribe=lambda c: [json.dumps({"id": c["id"], "error": error})])
    )
    with session_with(sock) as s:
        with pytest.raises(exc):
            s.rooms.listen(ROOM, timeout=1)
        assert list(s.room_ws.channels()) == []


def test_a_refused_connect_is_an_authentication_error(me: Any) -> None:
    sock = FakeSocket(
        lambda c: centrifugo(
            c, connect=lambda c: [json.dumps({"id": c["id"], "error": {"code": 3500}})]
        )
    )
    with session_with(sock) as s, pytest.raises(errors.AuthenticationError):
        s.rooms.listen(ROOM, timeout=1)


def test_rpc_errors_are_typed(me: Any) -> None:
    replies = iter([
        [{"error": {"code": 103, "message": "permission denied"}}],
        [{"rpc": {"data": {"command": "neo_error", "comment": "generation failed"}}}],
    ])  # fmt: skip

    def rpc(c: Any) -> List[str]:
        return [json.dumps({"id": c["id"], **r}) for r in next(replies)]

    sock = FakeSocket(lambda c: centrifugo(c, rpc=rpc))
    with session_with(sock) as s:
        with pytest.raises(errors.PermissionDenied):
            s.rooms.reply(ROOM, CHAR)
        with pytest.raises(errors.GenerationError, match="generation failed"):
            s.rooms.reply(ROOM, CHAR)


def test_pushes_without_request_id_reach_the_only_waiting_reply(me: Any) -> None:
    def rpc(c: Any) -> List[str]:
        frames = [{"id": c["id"], "rpc": {"data": {}}}]
        for i, final in enumerate((False, True)):
            data = {"command": "update_turn" if i else "add_turn",
                    "turn": turn("t9", "answer"[: 3 + 3 * i], final)}  # fmt: skip
            frames.append({"push": {"channel": room_channel(ROOM), "pub": {"data": data}}})
        return [json.dumps(f) for f in frames]

    sock = FakeSocket(lambda c: centrifugo(c, rpc=rpc))
    with session_with(sock) as s:
        answer = s.rooms.reply(ROOM, CHAR)
        assert answer.text == "answer" and answer.is_final
        sent = [json.loads(x) for x in sock.sent]
        rpcs = [x["rpc"] for x in sent if "rpc" in x]
        assert rpcs[0]["method"] == "unused_command"
        assert rpcs[0]["data"]["payload"] == {
            "chat_type": "TYPE_MU_ROOM", "character_id": CHAR, "chat_id": ROOM
        }  # fmt: skip
        assert rpcs[0]["data"]["request_id"].endswith(ROOM.split("-")[4])


def test_a_push_for_another_members_request_is_not_taken_for_ours(me: Any) -> None:
    # Another member edits the same turn while our edit is in flight: the service
    # pushes their update_turn (their request_id) to everyone in the room. It must
    # reach listeners, not answer our request, which then gets its own error.
    def rpc(c: Any) -> List[str]:
        theirs = {"command": "update_turn", "request_id": "someone-elses-request",
                  "turn": turn("t1", "their edit", True)}  # fmt: skip
        mine = {"command": "neo_error", "comment": "candidate not found", "error_code": 404}
        return [
            json.dumps({"push": {"channel": room_channel(ROOM), "pub": {"data": theirs}}}),
            json.dumps({"id": c["id"], "rpc": {"data": mine}}),
        ]

    sock = FakeSocket(lambda c: centrifugo(c, rpc=rpc))
    with session_with(sock) as s:
        listener = s.rooms.listen(ROOM, timeout=5)
        with pytest.raises(errors.NotFound, match="candidate not found"):
            s.rooms.edit(ROOM, "t1", "no-such-candidate", "x")
        assert next(listener).text == "their edit"
        listener.close()


def test_split_frames() -> None:
    assert split_frames('{"a":1}{"b":2}\n{"c":3} ') == [{"a": 1}, {"b": 2}, {"c": 3}]
    assert split_frames("") == []
    with pytest.raises(ValueError):
        split_frames('{"a":')
