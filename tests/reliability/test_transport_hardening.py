"""Issue 10/16 regressions of the transports: redirects, bounded waits, close and GC,
failed sends, size limits, deep JSON, bad input, error frames, handshake cookies and
the handshake's own 403 error. Small local servers (real sockets on 127.0.0.1) play
the misbehaving peers."""

from __future__ import annotations

import base64
import gc
import hashlib
import json
import math
import socket
import struct
import threading
import time
import traceback
import uuid
import weakref
from typing import Any, List, Optional

import pytest
import requests
import responses
from reliability_support import caiclient_threads, client_sockets, emu_session

import caiclient
from caiclient import errors
from caiclient.transport.http import Credentials
from caiclient.transport.ws import (
    Disconnected,
    WebSocketClientConnection,
    WebSocketTransport,
)

TOKEN = "0123456789abcdef0123456789abcdef01234567"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


# ------------------------------------------------------------------ tiny servers


class Server(threading.Thread):
    """Accepts connections on 127.0.0.1 and runs ``handle(conn, server)`` for each."""

    def __init__(self, handle: Any) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.handle = handle
        self.accepted = 0
        self.received = b""  # bytes after the request head, over all connections
        self.heads: List[bytes] = []
        self.closed_by_peer = threading.Event()
        self.connected = threading.Event()
        self.stop = threading.Event()
        self.start()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            self.connected.set()
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(20)
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            head, _, rest = head.partition(b"\r\n\r\n")
            self.heads.append(head)
            self.received += rest
            self.handle(conn, self, head)
            while True:  # record whatever the client sends afterwards, until it closes
                chunk = conn.recv(4096)
                if not chunk:
                    self.closed_by_peer.set()
                    return
                self.received += chunk
        except OSError:
            self.closed_by_peer.set()
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def _accept_key(head: bytes) -> str:
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"sec-websocket-key:"):
            key = line.split(b":", 1)[1].strip().decode()
            return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    return ""


def _upgrade(head: bytes) -> bytes:
    return (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {_accept_key(head)}\r\n\r\n"
    ).encode()


def _trickle(data: bytes, every: float, stop: threading.Event) -> Any:
    def handle(conn: socket.socket, server: Server, head: bytes) -> None:
        for i in range(len(data)):
            if stop.wait(every):
                return
            conn.sendall(data[i : i + 1])

    return handle


@pytest.fixture
def servers() -> Any:
    made: List[Server] = []

    def make(handle: Any) -> Server:
        s = Server(handle)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def _transport(url: str, **kw: Any) -> WebSocketTransport:
    return WebSocketTransport(url, Credentials(token=TOKEN), **kw)


# ------------------------------------------------------------------ redirects


def test_the_handshake_never_follows_a_redirect(servers: Any) -> None:
    elsewhere = servers(lambda conn, server, head: None)
    target = f"ws://127.0.0.1:{elsewhere.port}/neo/ws/"

    def redirect(conn: socket.socket, server: Server, head: bytes) -> None:
        conn.sendall(f"HTTP/1.1 302 Found\r\nLocation: {target}\r\n\r\n".encode())

    origin = servers(redirect)
    t = _transport(f"ws://127.0.0.1:{origin.port}/neo/ws/", connect_timeout=5, frame_timeout=5)
    req = t.open("chat")
    with pytest.raises(errors.NetworkError, match="redirect"):
        t.send(req, {"command": "ping", "request_id": req.request_id}, time.monotonic() + 10)
    assert origin.heads and TOKEN.encode() in origin.heads[0]  # the service's own host
    assert not elsewhere.connected.wait(0.5)  # nothing (and no token) went elsewhere
    assert elsewhere.accepted == 0 and not elsewhere.heads
    t.close()


# ------------------------------------------------------------------ bounded waits


def test_a_trickling_handshake_is_bounded_for_every_waiting_thread(servers: Any) -> None:
    stop = threading.Event()
    slow = servers(_trickle(b"HTTP/1.1 101 Switching Protocols\r\n" * 20, 0.3, stop))
    t = _transport(f"ws://127.0.0.1:{slow.port}/neo/ws/", connect_timeout=0.5, frame_timeout=0.5)
    results: List[Any] = []

    def call() -> None:
        started = time.monotonic()
        req = t.open("chat")
        try:
            t.send(req, {"command": "ping"}, time.monotonic() + 30)
            results.append(("sent", time.monotonic() - started))
        except errors.CaiError as exc:
            results.append((exc, time.monotonic() - started))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    stop.set()
    assert len(results) == 2
    for outcome, elapsed in results:
        assert isinstance(outcome, errors.Timeout), outcome
        # the budget is connect + read (1 s) per attempt; the trickle would take 200 s
        assert elapsed < 10, elapsed
    t.close()


def test_close_racing_a_connect_leaves_nothing_alive_or_sent(servers: Any) -> None:
    stop = threading.Event()
    server = servers(lambda conn, srv, head: None)  # replaced below once we know the head

    def finish_slowly(conn: socket.socket, srv: Server, head: bytes) -> None:
        reply = _upgrade(head)
        for i in range(len(reply)):  # ~2 s for the handshake, then it completes
            if stop.wait(0.02):
                return
            conn.sendall(reply[i : i + 1])

    server.handle = finish_slowly
    before = caiclient_threads()
    t = _transport(f"ws://127.0.0.1:{server.port}/neo/ws/", connect_timeout=10, frame_timeout=10)
    outcome: List[Any] = []

    def chat() -> None:
        req = t.open("chat")
        try:
            t.send(req, {"command": "ping"}, time.monotonic() + 30)
            outcome.append("sent")
        except (errors.CaiError, Disconnected) as exc:
            outcome.append(exc)

    th = threading.Thread(target=chat)
    th.start()
    assert server.connected.wait(10)
    t.close()
    # when close() returns: no reader, no socket, and the handshake never turned into a send
    assert caiclient_threads() == before
    th.join(15)
    assert outcome and outcome[0] != "sent", outcome
    assert server.closed_by_peer.wait(10)
    assert server.received == b""
    stop.set()


@pytest.mark.parametrize("part", ["body", "headers"])
def test_a_trickling_http_answer_is_bounded_by_a_total_deadline(servers: Any, part: str) -> None:
    stop = threading.Event()
    if part == "body":
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n"
        trickle = _trickle(b"[" + b"1," * 199, 0.25, stop)

        def answer(conn: socket.socket, srv: Server, request: bytes) -> None:
            conn.sendall(head)
            trickle(conn, srv, request)

    else:  # the status line and headers themselves
        answer = _trickle(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 300 + b"\r\n\r\n{}", 0.25, stop)
    srv = servers(answer)
    url = f"http://127.0.0.1:{srv.port}"
    s = caiclient.Session(
        TOKEN, endpoints=caiclient.Endpoints.for_emulator(url), timeout=(1, 1), max_retries=0
    )
    started = time.monotonic()
    with pytest.raises(errors.Timeout):
        s.request("GET", "plus:/chat/user/")
    elapsed = time.monotonic() - started
    stop.set()
    assert elapsed < 10, elapsed  # budget connect + read = 2 s; the trickle lasts 80-100 s
    s.close()


# ------------------------------------------------------------------ sizes and a kept error


def test_an_oversized_body_is_a_typed_error_and_the_kept_error_holds_no_socket(
    servers: Any,
) -> None:
    def huge(conn: socket.socket, srv: Server, head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
        conn.sendall(b"[" + b"0," * 40000)  # no length, more than the limit, then silence

    srv = servers(huge)
    url = f"http://127.0.0.1:{srv.port}"
    s = caiclient.Session(
        TOKEN, endpoints=caiclient.Endpoints.for_emulator(url), timeout=(5, 5), max_retries=0
    )
    s.max_response_size = 64 * 1024
    with pytest.raises(errors.ResponseTooLarge) as info:
        s.request("GET", "plus:/chat/user/")
    kept = info.value
    assert kept.limit == 64 * 1024 and isinstance(kept, errors.ParseError)
    gc.collect()
    assert client_sockets(srv.port) == 0  # the half-read response was closed, not pinned
    assert srv.closed_by_peer.wait(5)
    s.close()


def test_a_declared_oversized_body_is_not_read() -> None:
    with responses.RequestsMock() as mock:
        mock.get("https://plus.character.ai/chat/user/", body=b"x" * 5000)
        s = caiclient.Session(TOKEN, max_retries=0)
        s.max_response_size = 4096
        with pytest.raises(errors.ResponseTooLarge):
            s.account.me()
        with pytest.raises(errors.ValidationError):
            s.max_response_size = 10
        s.close()


def test_an_oversized_websocket_frame_fails_the_connection_before_it_is_read(
    servers: Any,
) -> None:
    def big_frame(conn: socket.socket, srv: Server, head: bytes) -> None:
        conn.sendall(_upgrade(head))
        srv.received += conn.recv(4096)  # the client's command, then the answer:
        # a text frame announcing 100 MB, of which nothing follows
        conn.sendall(b"\x81\x7f" + struct.pack("!Q", 100 * 1024 * 1024))

    srv = servers(big_frame)
    t = _transport(
        f"ws://127.0.0.1:{srv.port}/neo/ws/", connect_timeout=5, frame_timeout=5,
        max_message_size=1024 * 1024,
    )  # fmt: skip
    req = t.open("chat")
    t.send(req, {"command": "ping"}, time.monotonic() + 10)
    with pytest.raises(Disconnected, match="over the limit"):
        req.receive(10, time.monotonic() + 10)
    t.close()


# ------------------------------------------------------------------ deep JSON, UTF-8


def test_json_nested_1000_deep_is_a_parse_error_over_http() -> None:
    deep = "[" * 1000 + "]" * 1000
    with responses.RequestsMock() as mock:
        mock.get("https://plus.character.ai/chat/user/", body=deep)
        s = caiclient.Session(TOKEN, max_retries=0)
        with pytest.raises(errors.ParseError):
            s.account.me()
        s.close()


class _Sock:
    """A connection whose frames come from a queue (the ``connect`` seam)."""

    def __init__(self) -> None:
        import queue

        self.incoming: Any = queue.Queue()
        self.sent: List[str] = []
        self.closed = threading.Event()
        self.fail_send: Optional[BaseException] = None

    def send(self, payload: str) -> None:
        if self.fail_send is not None:
            raise self.fail_send
        self.sent.append(payload)

    def recv(self) -> Any:
        item = self.incoming.get()  # blocks until a frame or close(): no timeout wakes it
        if isinstance(item, BaseException):
            raise item
        return item

    def settimeout(self, timeout: Optional[float]) -> None:
        pass

    def ping(self, payload: str = "") -> None:
        pass

    def abort(self) -> None:
        self.incoming.put(OSError("aborted"))

    def close(self) -> None:
        self.closed.set()
        self.incoming.put(OSError("closed"))


def _fake_transport() -> Any:
    socks: List[_Sock] = []

    def connect(url: str, headers: Any, timeout: float) -> _Sock:
        socks.append(_Sock())
        return socks[-1]

    return _transport("wss://neo.character.ai/ws/", connect=connect), socks


def test_a_deeply_nested_frame_is_a_parse_error_for_its_request() -> None:
    t, socks = _fake_transport()
    req = t.open("chat-a")
    t.send(req, {"command": "ping", "request_id": req.request_id}, time.monotonic() + 5)
    socks[0].incoming.put(
        '{{"request_id":"{}","x":{}}}'.format(req.request_id, "[" * 1000 + "]" * 1000)
    )
    with pytest.raises(errors.ParseError):
        req.receive(5, time.monotonic() + 5)
    t.close()


def test_invalid_utf8_in_a_text_frame_is_a_typed_error() -> None:
    class FakeWS:
        def __init__(self, sock: socket.socket) -> None:
            self.sock = sock

    ours, theirs = socket.socketpair()
    try:
        theirs.sendall(b"\x81\x03{\xff}")
        conn = WebSocketClientConnection(FakeWS(ours))
        with pytest.raises(errors.ParseError, match="UTF-8"):
            conn.recv()
    finally:
        ours.close()
        theirs.close()


def test_an_error_frame_without_request_id_goes_only_where_it_provably_belongs() -> None:
    t, socks = _fake_transport()
    req = t.open("chat-a")
    t.send(req, {"command": "ping", "request_id": req.request_id}, time.monotonic() + 5)
    before = t.discarded_frames
    socks[0].incoming.put(json.dumps({"command": "neo_error", "comment": "somebody's"}))
    # the frame names no chat: it is not handed to the only request pending
    socks[0].incoming.put(json.dumps({"command": "neo_error", "comment": "x", "chat_id": "chat-a"}))
    frame = req.receive(5, time.monotonic() + 5)
    assert frame["comment"] == "x"
    assert t.discarded_frames == before + 1
    t.close()


def test_a_failed_send_fails_every_request_on_the_connection_at_once() -> None:
    t, socks = _fake_transport()
    a, b = t.open("chat-a"), t.open("chat-b")
    for r in (a, b):
        t.send(r, {"command": "ping", "request_id": r.request_id}, time.monotonic() + 5)
    c = t.open("chat-c")
    socks[0].fail_send = BrokenPipeError("broken pipe")
    with pytest.raises(Disconnected) as info:
        t.send(c, {"command": "ping"}, time.monotonic() + 5)
    assert info.value.sent is False
    for r in (a, b):  # woken at once, not after their frame timeout (60 s here)
        with pytest.raises(Disconnected):
            r.receive(5, time.monotonic() + 5)
    assert c.frames.empty()  # the sender heard it from the raise, once
    # the next command reconnects
    d = t.open("chat-d")
    t.send(d, {"command": "ping"}, time.monotonic() + 5)
    assert len(socks) == 2 and socks[1].sent
    t.close()


# ------------------------------------------------------------------ close and GC


def test_an_unclosed_session_stops_its_reader_when_collected(cai_emulator: Any) -> None:
    emu = cai_emulator
    s = emu_session(emu)
    s.chats.create(emu.character_ids[0])
    readers = list(s.ws.threads())
    assert readers and readers[0].is_alive()
    ref = weakref.ref(s)
    del s
    with pytest.warns(ResourceWarning, match="unclosed"):
        gc.collect()
    assert ref() is None
    readers[0].join(10)
    assert not readers[0].is_alive()


def test_close_ends_the_reader_before_it_returns(cai_emulator: Any) -> None:
    emu = cai_emulator
    for _ in range(5):
        s = emu_session(emu)
        s.chats.create(emu.character_ids[0])
        readers = list(s.ws.threads())
        s.close()
        assert readers and not any(r.is_alive() for r in readers)


# ------------------------------------------------------------------ bad input


def test_a_lone_surrogate_is_a_validation_error_before_anything_is_sent(
    cai_emulator: Any,
) -> None:
    emu = cai_emulator
    cid = emu.character_ids[0]
    with emu_session(emu) as s:
        chat, _ = s.chats.create(cid)
        opened = s.ws.connections_opened
        sent_before = len(emu.log.ws())
        with pytest.raises(errors.ValidationError):
            s.chats.send(cid, chat.chat_id, "hi \ud800")
        assert len(emu.log.ws()) == sent_before
        assert s.ws.connections_opened == opened and s.ws.connected  # the socket survived
        assert s.chats.send(cid, chat.chat_id, "hi").is_final

        persona = s.personas.create("Persona", "a persona")
        http_before = len(emu.log.http())
        for call in (
            lambda: s.personas.create("Name", "hi \ud800"),
            lambda: s.chats.rename(chat.chat_id, "hi \ud800"),
            lambda: s.characters.search("hi \ud800"),
            lambda: s.request("POST", "plus:/chat/user/update/", json={"bio": "\udfff"}),
            # methods that read before they write refuse the text before the read
            lambda: s.personas.update(persona.persona_id, name="hi \ud800"),
            lambda: s.personas.update(persona.persona_id, definition="\udfff"),
            lambda: s.account.update(bio="hi \ud800"),
            lambda: s.personas.get("id\ud800"),
            lambda: s.chats.turns("chat\udfff"),
        ):
            with pytest.raises(errors.ValidationError):
                call()
        assert len(emu.log.http()) == http_before


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timeout": math.nan},
        {"timeout": (1, math.nan)},
        {"timeout": math.inf},
        {"reply_timeout": None},
        {"reply_timeout": "30"},
        {"reply_timeout": -1},
        {"reply_timeout": math.nan},
        {"headers": [("X-A", "b")]},
        {"headers": "X-A: b"},
        {"headers": {"X-A": 1}},
        {"headers": {"X-A": "b\r\nX-B: c"}},
    ],
)
def test_bad_session_arguments_are_typed_errors(kwargs: Any) -> None:
    with pytest.raises(errors.ValidationError):
        caiclient.Session(TOKEN, **kwargs)


def test_migrate_checks_its_timeout_before_posting(cai_emulator: Any) -> None:
    with emu_session(cai_emulator) as s:
        before = len(cai_emulator.log.http())
        for bad in ("x", math.nan, -1, None):
            with pytest.raises(errors.ValidationError):
                s.chats.migrate("some-history", timeout=bad)
        assert len(cai_emulator.log.http()) == before


@pytest.mark.parametrize("name", ["../x", "a/../../x", "/etc/passwd", "x?y=1", "x#f", "%2e%2e/x"])
def test_avatar_url_refuses_paths_that_rewrite_the_cdn_url(name: str) -> None:
    s = caiclient.Session()
    with pytest.raises(errors.ValidationError):
        s.avatar_url(name)
    assert s.avatar_url("uploaded/abc.webp").endswith(
        "/static/avatars/uploaded/abc.webp?webp=true&anim=0"
    )


def test_not_found_reads_neither_200_nor_a_shortened_path(cai_emulator: Any) -> None:
    with emu_session(cai_emulator) as s, pytest.raises(errors.NotFound) as info:
        s.personas.get("no-such-persona")
    assert "/plus/chat/persona/" in str(info.value)  # the emulator's host prefix is kept
    empty = errors.NotFound("no such chat", status=200, method="GET", path="/neo/chat/x/")
    assert "200" not in str(empty) and "GET /neo/chat/x/" in str(empty)
    assert empty.status == 200  # the real status is kept
    assert "[404 GET /x]" in str(errors.NotFound(status=404, method="GET", path="/x"))


# ------------------------------------------------------------------ handshake: cookies, 403


def test_the_handshake_sends_the_site_cookies_and_browser_headers(cai_emulator: Any) -> None:
    emu = cai_emulator
    emu.faults.refuse_ws_handshake("no_rollout")
    emu.faults.refuse_ws_handshake("no_browser_ua")
    with emu_session(emu) as s:
        chat, _ = s.chats.create(emu.character_ids[0])
        s.ws.disconnect()
        s.chats.send(emu.character_ids[0], chat.chat_id, "again")  # reconnects
        assert s.ws.connections_opened == 2
    hs = [e for e in emu.log.entries() if e["kind"] == "ws_connect"][-2:]
    for entry in hs:
        h = entry["headers"]
        assert "edge_rollout=" in h["cookie"] and f'"Token {emu.token}"' in h["cookie"]
        assert h["user-agent"].startswith("Mozilla/5.0") and h["origin"].endswith("/web")
        assert "accept-language" in h
    site = [e for e in emu.log.http("/web/") if e["path"] == "/web/"]
    assert len(site) >= 2  # fetched again before the reconnect
    assert all("authorization" not in e["headers"] for e in site)


def test_a_refused_handshake_with_a_good_token_is_its_own_error(cai_emulator: Any) -> None:
    emu = cai_emulator
    emu.faults.refuse_ws_handshake("always")
    with emu_session(emu) as s, pytest.raises(errors.HandshakeRefused) as info:
        s.chats.create(emu.character_ids[0])
    exc = info.value
    assert isinstance(exc, errors.AuthenticationError)  # old except clauses still catch it
    text = str(exc)
    assert exc.status == 403 and "invalid" not in text.lower()
    for hint in (
        'impersonate="chrome"',
        "caiclient[impersonate]",
        "http=",
        "doctor",
        "troubleshooting",
    ):
        assert hint.lower() in text.lower(), hint


def test_a_refused_handshake_whose_token_http_rejects_is_an_invalid_token() -> None:
    def refuse(url: str, headers: Any, timeout: float) -> Any:
        raise errors.AuthenticationError("refused", status=403, method="GET", path="/ws/")

    t = _transport("wss://neo.character.ai/ws/", connect=refuse, token_check=lambda: False)
    with pytest.raises(errors.AuthenticationError) as info:
        t.send(t.open("c"), {"command": "ping"}, time.monotonic() + 5)
    assert not isinstance(info.value, errors.HandshakeRefused)
    assert "invalid" in str(info.value)


# ------------------------------------------------------------------ proxies, once


def test_proxy_settings_are_read_once_per_session(
    cai_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = requests.utils.get_environ_proxies
    monkeypatch.setattr(
        requests.sessions, "get_environ_proxies", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    with emu_session(cai_emulator) as s:
        for _ in range(5):
            s.account.me()
    assert calls == []


def test_proxies_from_the_environment_are_honoured(
    servers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def proxy(conn: socket.socket, srv: Server, head: bytes) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        )

    srv = servers(proxy)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{srv.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    s = caiclient.Session(TOKEN, endpoints=caiclient.Endpoints.for_emulator("http://10.255.0.1:9"))
    assert s.request("GET", "plus:/chat/user/") == {}
    assert srv.heads[0].startswith(b"GET http://10.255.0.1:9/plus/chat/user/ ")
    s.close()


# ------------------------------------------------------------------ the token in tracebacks


def _rendered_with_locals(exc: BaseException) -> str:
    """What pytest --showlocals, rich or an error tracker shows: every frame's locals, chained."""
    te = traceback.TracebackException.from_exception(exc, capture_locals=True)
    return "".join(te.format())


def test_no_error_type_shows_the_token_in_a_traceback_with_locals(
    cai_emulator: Any, servers: Any
) -> None:
    emu = cai_emulator
    token, cid = emu.token, emu.character_ids[0]
    caught: List[BaseException] = []

    def expect(fn: Any) -> None:
        with pytest.raises(caiclient.CaiError) as info:
            fn()
        caught.append(info.value)

    with emu_session(emu, timeout=(5.0, 0.5), max_retries=0) as s:
        for status in (400, 401, 403, 404, 409, 429, 500):
            emu.faults.http_errors("/plus/chat/user/", [status])
            expect(s.account.me)
        emu.faults.html_block("/plus/chat/user/", times=1)
        expect(s.account.me)
        emu.faults.malformed("/plus/chat/user/", "truncated")
        expect(s.account.me)
        s.max_response_size = 1024
        expect(lambda: s.characters.search("a"))
        s.max_response_size = 64 * 1024 * 1024
        expect(lambda: s.chats.send(cid, "chat", "hi \ud800"))
        chat, _ = s.chats.create(cid)
        emu.faults.latency(0.8)
        expect(lambda: s.chats.send(cid, chat.chat_id, "slow"))
        emu.faults.latency(0)
        other, _ = s.chats.create(cid)
        emu.faults.filter_next("input")
        expect(lambda: s.chats.send(cid, other.chat_id, "filtered"))
        expect(lambda: s.chats.send(cid, str(uuid.uuid4()), "no such chat"))
        emu.faults.latency(0.8)
        expect(s.account.me)  # an HTTP read timeout
        emu.faults.latency(0)
    with emu_session(emu) as s:
        emu.faults.refuse_ws_handshake("always", times=1)
        expect(lambda: s.chats.create(cid))
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()
    with caiclient.Session(
        token, endpoints=caiclient.Endpoints.for_emulator(f"http://127.0.0.1:{port}"),
        max_retries=0, timeout=(2, 2),
    ) as s:  # fmt: skip
        expect(s.account.me)  # connection refused, HTTP
        expect(lambda: s.ws.send(s.ws.open("c"), {"command": "x"}, time.monotonic() + 5))
    stop = threading.Event()
    slow = servers(_trickle(b"HTTP/1.1 101 Switching Protocols\r\n" * 20, 0.3, stop))
    t = _transport(f"ws://127.0.0.1:{slow.port}/neo/ws/", connect_timeout=0.5, frame_timeout=0.5)
    t._credentials = Credentials(token=token)
    expect(lambda: t.send(t.open("c"), {"command": "x"}, time.monotonic() + 5))  # handshake timeout
    stop.set()
    t.close()

    kinds = {type(e).__name__ for e in caught}
    for name in ("BadRequest", "AuthenticationError", "PermissionDenied", "NotFound", "Conflict",
                 "RateLimited", "ServerError", "BlockedError", "ParseError", "ResponseTooLarge",
                 "ValidationError", "Timeout", "ContentFiltered",
                 "HandshakeRefused", "NetworkError"):  # fmt: skip
        assert name in kinds, (name, kinds)
    for exc in caught:
        text = _rendered_with_locals(exc)
        assert token not in text, type(exc).__name__
        assert exc.__cause__ is None or token not in _rendered_with_locals(exc.__cause__)


def test_secret_header_values_are_hidden_in_reprs() -> None:
    from caiclient.transport.http import build_headers

    ep = caiclient.Endpoints()
    h = build_headers(
        ep.plus + "/chat/user/",
        ep,
        Credentials(token=TOKEN),
        extra={"Cookie": "web-next-auth=s3cr3t-cookie-value"},
    )
    assert h["authorization"] == f"Token {TOKEN}" and "s3cr3t" in h["Cookie"]
    assert TOKEN not in repr(h) and "s3cr3t" not in repr(h) and TOKEN not in str(h)


def test_the_http_watchdog_ends_when_nothing_is_watched(cai_emulator: Any) -> None:
    s = emu_session(cai_emulator)
    s.account.me()
    s.close()
    with pytest.raises(errors.CaiError):  # a call on a closed session leaves nothing watched
        s.account.me()
    deadline = time.monotonic() + 10
    while any(t.name == "caiclient-http-watchdog" for t in caiclient_threads()):
        assert time.monotonic() < deadline, "the watchdog thread did not end"
        time.sleep(0.05)
