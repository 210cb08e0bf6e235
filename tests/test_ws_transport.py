"""The websocket transport on its own, with a fake socket (the ``connect`` seam)."""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any, List, Mapping, Optional

import pytest

from caiclient import errors
from caiclient.transport.http import Credentials
from caiclient.transport.ws import Disconnected, WebSocketTransport

TOKEN = "0123456789abcdef0123456789abcdef01234567"


class FakeTimeout(Exception):
    """Named like websocket-client's timeout (the reader recognises it by name)."""


class FakeSocket:
    def __init__(self) -> None:
        self.incoming: queue.Queue[Any] = queue.Queue()
        self.sent: List[str] = []
        self.pings = 0
        self.timeout: Optional[float] = None
        self.closed = threading.Event()

    def send(self, payload: str) -> None:
        if self.closed.is_set():
            raise OSError("closed")
        self.sent.append(payload)

    def recv(self) -> Any:
        try:
            item = self.incoming.get(timeout=self.timeout)
        except queue.Empty:
            raise FakeTimeout("timed out") from None
        if isinstance(item, BaseException):
            raise item
        return item

    def settimeout(self, timeout: Optional[float]) -> None:
        self.timeout = timeout

    def ping(self, payload: str = "") -> None:
        self.pings += 1

    def close(self) -> None:
        self.closed.set()
        self.incoming.put(OSError("closed"))


def make(
    keepalive: float = 25.0,
    sockets: Optional[List[FakeSocket]] = None,
    fail: int = 0,
    sleeps: Optional[List[float]] = None,
) -> WebSocketTransport:
    made = sockets if sockets is not None else []
    failures = [fail]
    seen_headers: List[Mapping[str, str]] = []

    def connect(url: str, headers: Mapping[str, str], timeout: float) -> FakeSocket:
        seen_headers.append(headers)
        if failures[0] > 0:
            failures[0] -= 1
            raise errors.NetworkError("refused")
        sock = FakeSocket()
        made.append(sock)
        return sock

    t = WebSocketTransport(
        "wss://neo.character.ai/ws/",
        Credentials(token=TOKEN),
        keepalive=keepalive,
        connect=connect,
        sleep=(sleeps.append if sleeps is not None else time.sleep),
    )
    t.seen_headers = seen_headers  # type: ignore[attr-defined]
    return t


def test_handshake_headers_carry_the_cookie() -> None:
    t = make()
    h = t.handshake_headers()
    # quoted, as every client of the service sends it (others.md 1.7, cainode.md 1.3)
    assert h["Cookie"] == f'HTTP_AUTHORIZATION="Token {TOKEN}"'
    assert TOKEN not in repr(h)
    assert h["Origin"] == "https://character.ai"
    assert "Mozilla/5.0" in h["User-Agent"]
    assert "authorization" not in {k.lower() for k in h}


def test_frames_are_routed_by_request_id_and_strays_discarded() -> None:
    socks: List[FakeSocket] = []
    t = make(sockets=socks)
    deadline = time.monotonic() + 5
    a, b = t.open("chat-a"), t.open("chat-b")
    t.send(a, {"command": "x"}, deadline)
    t.send(b, {"command": "y"}, deadline)
    sock = socks[0]
    assert len(t.seen_headers) == 1  # type: ignore[attr-defined]
    sock.incoming.put(json.dumps({"command": "update_turn", "request_id": b.request_id, "n": 1}))
    sock.incoming.put(json.dumps({"command": "update_turn", "request_id": "nobody", "n": 2}))
    sock.incoming.put("not json at all")
    sock.incoming.put(json.dumps({"command": "add_turn", "request_id": a.request_id, "n": 3}))
    assert b.receive(1, deadline)["n"] == 1
    assert a.receive(1, deadline)["n"] == 3
    # a frame without request_id goes to the only request on its chat
    sock.incoming.put(
        json.dumps({"command": "neo_error", "turn": {"turn_key": {"chat_id": "chat-b"}}})
    )
    assert b.receive(1, deadline)["command"] == "neo_error"
    a.close()
    sock.incoming.put(json.dumps({"command": "update_turn", "request_id": a.request_id}))
    b.close()
    deadline2 = time.monotonic() + 2
    while t.discarded_frames < 3 and time.monotonic() < deadline2:
        time.sleep(0.01)
    assert t.discarded_frames == 3
    assert t.in_flight() == 0
    t.close()


def test_receive_times_out() -> None:
    t = make()
    req = t.open()
    t.send(req, {"command": "x"}, time.monotonic() + 5)
    started = time.monotonic()
    with pytest.raises(errors.Timeout):
        req.receive(0.1, time.monotonic() + 5)
    assert time.monotonic() - started < 1
    with pytest.raises(errors.Timeout):
        req.receive(5, time.monotonic() + 0.05)
    t.close()


def test_a_drop_fails_requests_in_flight_and_the_next_call_reconnects() -> None:
    socks: List[FakeSocket] = []
    t = make(sockets=socks)
    deadline = time.monotonic() + 5
    req = t.open()
    t.send(req, {"command": "x"}, deadline)
    socks[0].incoming.put(ConnectionResetError("reset"))
    with pytest.raises(Disconnected) as info:
        req.receive(2, deadline)
    assert info.value.sent is True
    req.close()
    again = t.open()
    t.send(again, {"command": "y"}, deadline)
    assert len(socks) == 2 and t.connections_opened == 2
    t.close()


def test_keepalive_pings_when_idle() -> None:
    socks: List[FakeSocket] = []
    t = make(keepalive=0.02, sockets=socks)
    req = t.open()
    t.send(req, {"command": "x"}, time.monotonic() + 5)
    end = time.monotonic() + 2
    while socks[0].pings < 3 and time.monotonic() < end:
        time.sleep(0.01)
    assert socks[0].pings >= 3
    assert t.connected
    t.close()
    assert not t.connected


def test_reconnect_backs_off_after_repeated_failures() -> None:
    sleeps: List[float] = []
    t = make(fail=3, sleeps=sleeps)
    deadline = time.monotonic() + 60
    for _ in range(3):
        req = t.open()
        with pytest.raises(errors.NetworkError):
            t.send(req, {"command": "x"}, deadline)
        req.close()
    req = t.open()
    t.send(req, {"command": "x"}, deadline)
    # no wait before the first attempt, then a growing wait before each retry
    assert sleeps[:2] == pytest.approx([0.25, 0.5], abs=0.05)
    assert len(sleeps) == 3 and sleeps[2] == pytest.approx(1.0, abs=0.05)
    t.close()


def test_backoff_longer_than_the_deadline_fails_fast() -> None:
    sleeps: List[float] = []
    t = make(fail=5, sleeps=sleeps)
    for _ in range(2):
        req = t.open()
        with pytest.raises(errors.NetworkError):
            t.send(req, {"command": "x"}, time.monotonic() + 60)
        req.close()
    req = t.open()
    with pytest.raises(errors.NetworkError, match="backing off"):
        t.send(req, {"command": "x"}, time.monotonic() + 0.01)
    assert len(sleeps) == 1  # the second attempt waited; the third did not wait past its deadline


def test_closed_transport_refuses() -> None:
    t = make()
    t.close()
    req = t.open()
    with pytest.raises(errors.CaiError):
        t.send(req, {"command": "x"}, time.monotonic() + 1)
