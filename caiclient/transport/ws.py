"""The chat websocket: one connection per Session, multiplexed by ``request_id``.

* Lazy: the socket opens on the first chat command, authenticated by the
  ``HTTP_AUTHORIZATION`` cookie, with the same headers as HTTP.
* One reader thread per connection reads every frame and routes it, by the
  ``request_id`` the service echoes, to the request waiting for it. Frames of
  requests nobody waits for any more (an abandoned stream) are discarded, so
  they can never leak into the next call.
* Many requests can be in flight at once, from any number of threads.
* Every wait is bounded (connect, each frame, the whole reply).
* A dropped connection fails the requests in flight with :class:`Disconnected`
  (the chat resource then recovers over HTTP); the next command reconnects,
  with backoff after repeated failures.

The socket itself is reached through a tiny interface (:class:`WSConnection`):
``send(text)``, ``recv() -> text``, ``settimeout(s)``, ``ping()``,
``close()``, and optionally ``abort()`` (wake a blocked ``recv`` at once).
The default opens one with ``websocket-client``; tests and users may pass
another ``connect`` function ``(url, headers, timeout) -> WSConnection``. A
connect function reports a refused handshake by raising
:class:`~caiclient.errors.AuthenticationError` with its ``status``; it may
have an ``abort()`` method that makes a handshake in progress fail at once
(the transport calls it when the handshake's time budget runs out or the
session closes).

The default connection never follows a redirect on the handshake (the
cookie carries the token), bounds the whole handshake by connect + read
timeout, bounds each message (``max_message_size``), and decodes text frames
once (websocket-client's own UTF-8 check runs in pure Python and costs more
than the rest of the chat path; decoding validates the same).
"""

from __future__ import annotations

import json
import logging
import queue
import re
import socket
import threading
import time
import uuid
from collections import deque
from typing import Any, Callable, Deque, Dict, Iterator, List, Mapping, Optional, Protocol, Set

from caiclient import _json, errors
from caiclient.transport import _fork
from caiclient.transport._frames import OP_CLOSE, OP_PING, FrameReader, FrameTooLarge
from caiclient.transport._inline import may_block
from caiclient.transport.http import (
    DEFAULT_HEADERS,
    DEFAULT_MAX_RESPONSE_SIZE,
    Credentials,
    Secret,
    check_encodable,
    shutdown_socket,
)

__all__ = [
    "Disconnected",
    "FrameSink",
    "Inbox",
    "PendingRequest",
    "WSConnection",
    "WebSocketTransport",
    "handshake_error",
    "new_id",
]

log = logging.getLogger("caiclient.ws")


def new_id() -> str:
    """A fresh id in the form the service uses (uuid4, lowercase, 36 characters)."""
    return str(uuid.uuid4())


class WSConnection(Protocol):
    """What the transport needs of an open websocket."""

    def send(self, payload: str) -> Any:
        """Send one text frame."""

    def recv(self) -> Any:
        """Block for the next text frame (raise on timeout or a closed socket)."""

    def settimeout(self, timeout: Optional[float]) -> None:
        """Bound how long :meth:`recv` blocks."""

    def ping(self, payload: str = "") -> None:
        """Send a websocket ping (keep-alive)."""

    def close(self) -> None:
        """Close the socket."""


Connect = Callable[[str, Mapping[str, str], float], WSConnection]


class FrameSink(Protocol):
    """Where the reader thread puts one request's frames (:class:`Inbox`; ``queue.Queue`` fits)."""

    def put(self, item: Any) -> Any:
        """Take one item; called from the reader thread (must not block).

        May return False to say that nobody was woken for it.
        """


class Disconnected(Exception):
    """Internal: the connection a request was on is gone (the caller recovers)."""

    def __init__(self, reason: str, *, sent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sent = sent


class _Closed:
    """Sentinel put in a request's queue when its connection ends."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def handshake_error(status: Optional[int], path: str = "/ws/") -> errors.CaiError:
    """The error for a websocket handshake the server answered with ``status``.

    One mapping for every way of connecting (:class:`WebSocketClientConnector`
    here, the browser-impersonating stack of :mod:`caiclient.transport.impersonate`).
    """
    if status in (401, 403):
        return errors.AuthenticationError(
            "the service refused the websocket handshake",
            status=status,
            method="GET",
            path=path,
        )
    return errors.NetworkError(f"websocket handshake failed (HTTP {status})")


class _HandshakeAborted(Exception):
    pass


class WebSocketClientConnection:
    """A ``websocket-client`` socket behind :class:`WSConnection`.

    websocket-client opens the socket and sends; frames are read by
    :class:`~caiclient.transport._frames.FrameReader` straight from the
    socket (one ``recv`` per burst instead of three or more per frame; text
    decoded once, invalid UTF-8 a typed error; a message larger than
    ``max_message_size`` refused before its payload is read). Pings are
    answered, a close frame is answered and ends the stream.
    """

    def __init__(self, ws: Any, max_message_size: int = DEFAULT_MAX_RESPONSE_SIZE) -> None:
        self.ws = ws
        self.max_message_size = max_message_size
        self._reader = FrameReader(ws.sock, max_message_size, self._control)

    def _control(self, opcode: int, payload: bytes) -> None:
        if opcode == OP_PING:
            self.ws.pong(payload)
        elif opcode == OP_CLOSE:
            try:
                self.ws.send_close()
            except Exception:  # the peer may be gone already
                pass

    def send(self, payload: str) -> Any:
        """Send one text frame."""
        return self.ws.send(payload)

    def recv(self) -> Any:
        """The next text (``str``) or binary (``bytes``) message; ``""`` on close."""
        message = self._reader.recv()
        return "" if message is None else message

    def settimeout(self, timeout: Optional[float]) -> None:
        """Bound how long :meth:`recv` blocks."""
        self.ws.settimeout(timeout)

    def ping(self, payload: str = "") -> None:
        """Send a websocket ping."""
        self.ws.ping(payload)

    def abort(self) -> None:
        """Wake a blocked :meth:`recv` at once (it raises)."""
        shutdown_socket(self.ws.sock)

    def close(self) -> None:
        """Send a close frame (without waiting for the answer) and close the socket."""
        sock = self.ws.sock
        if sock is None:
            return
        try:
            sock.settimeout(1.0)
            self.ws.send_close()
        except Exception:
            pass
        shutdown_socket(sock)
        try:
            self.ws.shutdown()
        except Exception:
            pass


class WebSocketClientConnector:
    """The default ``connect``: ``websocket-client`` without redirects, abortable.

    ``abort()`` makes every handshake in progress fail at once (used for the
    handshake's total time budget and by ``close()``).
    """

    def __init__(self, max_message_size: int = DEFAULT_MAX_RESPONSE_SIZE) -> None:
        self.max_message_size = max_message_size
        self._lock = threading.Lock()
        self._active: Set[Any] = set()
        _fork.register(self)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self._active = set()

    def abort(self) -> None:
        """Fail every handshake in progress (from any thread)."""
        with self._lock:
            active = list(self._active)
        for ws in active:
            setattr(ws, "cai_aborted", True)  # noqa: B010
            shutdown_socket(ws.sock)

    def __call__(self, url: str, headers: Mapping[str, str], timeout: float) -> WSConnection:
        import websocket  # websocket-client

        header = [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("origin", "cookie")]
        ws = websocket.WebSocket(enable_multithread=True, skip_utf8_validation=True)
        setattr(ws, "cai_aborted", False)  # noqa: B010
        with self._lock:
            self._active.add(ws)
        failure: Optional[errors.CaiError] = None
        try:
            ws.connect(
                url,
                header=header,
                cookie=headers.get("Cookie"),
                origin=headers.get("Origin"),
                suppress_origin="Origin" not in headers,
                timeout=timeout,
                redirect_limit=0,  # never follow: the cookie carries the token
            )
            status = getattr(ws.handshake_response, "status", 101)
            if getattr(ws, "cai_aborted", False):
                raise _HandshakeAborted()
            if status != 101:
                failure = errors.NetworkError(
                    f"the chat websocket handshake answered a redirect (HTTP {status}); "
                    "redirects are never followed, so the token cannot go elsewhere"
                )
        except websocket.WebSocketBadStatusException as exc:
            failure = handshake_error(getattr(exc, "status_code", None), _path_of(url))
        except Exception as exc:
            if getattr(ws, "cai_aborted", False):
                failure = errors.Timeout("the chat websocket handshake did not complete in time")
            elif isinstance(exc, websocket.WebSocketTimeoutException) or _is_timeout(exc):
                failure = errors.Timeout("timed out opening the chat websocket")
            elif getattr(ws.handshake_response, "status", None) in (301, 302, 303, 307, 308):
                failure = errors.NetworkError(
                    "the chat websocket handshake answered a redirect (HTTP "
                    f"{getattr(ws.handshake_response, 'status', '')}); redirects are never "
                    "followed, so the token cannot go elsewhere"
                )
            else:
                failure = errors.NetworkError(
                    f"could not open the chat websocket: {type(exc).__name__}: {str(exc)[:200]}"
                )
        finally:
            with self._lock:
                self._active.discard(ws)
        if failure is not None:
            shutdown_socket(ws.sock)
            try:
                ws.shutdown()
            except Exception:
                pass
            # Raised here, outside the except clauses: nothing chained (websocket-client's
            # frames hold the handshake's header lines, the cookie among them).
            raise failure
        return WebSocketClientConnection(ws, self.max_message_size)


def _path_of(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path or "/"


_REQUEST_ID_IN_TEXT = re.compile(r'"request_id"\s*:\s*"([0-9A-Za-z-]{1,64})"')


class Inbox:
    """One request's frames: a deque and a wake-up lock (the default :class:`FrameSink`).

    The reader thread's ``put`` never blocks; one consumer takes them. It does
    what ``queue.Queue`` does for this one-producer, one-consumer case at a
    fraction of the cost (no condition variable: a ``Lock`` released by the
    producer is the signal).
    """

    __slots__ = ("_items", "_signal")

    def __init__(self) -> None:
        self._items: Deque[Any] = deque()
        self._signal = threading.Lock()
        self._signal.acquire()  # held: nothing to wake up for

    def put(self, item: Any, block: bool = True, timeout: Optional[float] = None) -> None:
        """Add ``item`` and wake the consumer (any thread, never blocks).

        Every item wakes it. (Keeping snapshots a later one replaces without a
        wake-up, as the event loop's sink does, saved a thread no CPU here and
        cost throughput: a reader thread that stops for its callers reads the
        next frames in one go.)
        """
        self._items.append(item)
        try:
            self._signal.release()
        except RuntimeError:  # already signalled
            pass

    put_nowait = put

    def get(self, block: bool = True, timeout: Optional[float] = None) -> Any:
        """The oldest item, waiting up to ``timeout`` seconds (``queue.Empty`` then)."""
        items = self._items
        if items:
            return items.popleft()
        if not block:
            raise queue.Empty
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = -1 if end is None else max(0.0, end - time.monotonic())
            woken = self._signal.acquire(timeout=wait)
            if items:  # a wake-up may be stale: an item it was for is gone already
                return items.popleft()
            if not woken:
                raise queue.Empty

    def get_nowait(self) -> Any:
        """The oldest item, or ``queue.Empty``."""
        return self.get(block=False)

    def qsize(self) -> int:
        """How many items wait."""
        return len(self._items)

    def empty(self) -> bool:
        """Whether no item waits."""
        return not self._items


class PendingRequest:
    """One command in flight: its frames arrive in :attr:`frames` (a queue).

    Iterate :meth:`receive` to get them, bounded by the per-frame timeout and
    the overall deadline; :meth:`close` (also on garbage collection) stops
    the routing so late frames are discarded.
    """

    def __init__(
        self,
        transport: WebSocketTransport,
        request_id: str,
        chat_id: Optional[str],
        frames: Optional[FrameSink] = None,
    ):
        self.transport = transport
        self.request_id = request_id
        self.chat_id = chat_id
        self.frames: Any = Inbox() if frames is None else frames
        self.sent = False
        self.closed = False
        self.answered = False
        self._conn: Optional[_Connection] = None

    def receive(self, frame_timeout: float, deadline: float) -> Dict[str, Any]:
        """The next frame for this request.

        Raises :class:`~caiclient.errors.Timeout` when no frame comes within
        ``frame_timeout`` or before ``deadline`` (a ``time.monotonic()``
        value), :class:`Disconnected` when the connection is gone.
        """
        remaining = deadline - time.monotonic()
        wait = min(frame_timeout, remaining)
        if wait <= 0:
            raise errors.Timeout("the reply did not complete in time")
        may_block()  # waiting for a frame: never on an event loop (see _inline)
        try:
            item = self.frames.get(timeout=wait)
        except queue.Empty:
            if remaining <= frame_timeout:
                raise errors.Timeout("the reply did not complete in time") from None
            raise errors.Timeout(
                f"no answer from the service for {frame_timeout:g}s on the chat websocket"
            ) from None
        return self.unwrap(item)

    def unwrap(self, item: Any) -> Dict[str, Any]:
        """The frame an item of :attr:`frames` stands for.

        Raises :class:`Disconnected` for the marker the transport puts there
        when the connection ends. For consumers of a custom ``frames`` sink.
        """
        if isinstance(item, _Closed):
            raise Disconnected(item.reason, sent=self.sent)
        if isinstance(item, errors.CaiError):
            raise item
        return item

    def close(self) -> None:
        """Stop routing frames to this request (idempotent)."""
        if not self.closed:
            self.closed = True
            self.transport._forget(self)

    def __enter__(self) -> PendingRequest:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _Connection:
    """One open socket and its reader thread."""

    def __init__(self, transport: WebSocketTransport, sock: WSConnection, keepalive: float):
        self.transport = transport
        self.sock = sock
        self.keepalive = keepalive
        self.alive = True
        self.lost = False
        self.send_lock = threading.Lock()
        self.reader = threading.Thread(
            target=self._read_loop, name="caiclient-ws-reader", daemon=True
        )
        self.reader.start()

    def send(self, text: str) -> None:
        if not self.send_lock.acquire(blocking=False):
            may_block()  # another send (or the keep-alive) is writing: wait, but not on a loop
            if not self.send_lock.acquire(timeout=self.transport.frame_timeout):
                raise TimeoutError("another send held the connection too long")
        try:
            if not self.alive:
                raise ConnectionError("the connection is closed")
            self.sock.send(text)
        finally:
            self.send_lock.release()

    def _read_loop(self) -> None:
        reason = "the connection closed"
        try:
            try:
                self.sock.settimeout(self.keepalive)
            except Exception as exc:  # the socket died before the reader started
                reason = f"the connection broke: {type(exc).__name__}"
                return
            while self.alive:
                try:
                    data = self.sock.recv()
                except Exception as exc:
                    if _is_timeout(exc) and self.alive:
                        try:
                            with self.send_lock:
                                self.sock.ping()
                        except Exception as ping_exc:
                            reason = f"keep-alive failed: {type(ping_exc).__name__}"
                            break
                        continue
                    if isinstance(exc, (FrameTooLarge, errors.CaiError)):
                        reason = str(exc)
                    else:
                        reason = f"the connection broke: {type(exc).__name__}"
                    break
                if data is None or data == "" or data == b"":
                    reason = "the service closed the connection"
                    break
                try:
                    self.transport._route(data)
                except Exception:  # never let one odd frame kill the reader
                    log.exception("could not route a websocket frame")
        finally:
            self.alive = False
            _close_quietly(self.sock)
            self.transport._connection_lost(self, reason)

    def fail(self, reason: str) -> None:
        """Fail the connection for every request on it, at once (from any thread)."""
        self.alive = False
        _abort_quietly(self.sock)
        self.transport._connection_lost(self, reason)

    def close(self, wait: bool = True) -> None:
        """Close the socket; with ``wait``, after a send in progress ended (bounded)."""
        self.alive = False
        _abort_quietly(self.sock)
        got = self.send_lock.acquire(timeout=1.0) if wait else False
        try:
            _close_quietly(self.sock)
        finally:
            if got:
                self.send_lock.release()

    def join(self, timeout: float) -> None:
        if threading.current_thread() is not self.reader:
            self.reader.join(timeout)


def _abort_quietly(sock: Any) -> None:
    abort = getattr(sock, "abort", None)
    if abort is not None:
        try:
            abort()
        except Exception:
            pass


def _close_quietly(sock: Any) -> None:
    try:
        sock.close()
    except Exception:
        pass


def _is_human_echo(frame: Mapping[str, Any]) -> bool:
    """True for the service's echo of the user's own message."""
    turn = frame.get("turn")
    author = turn.get("author") if isinstance(turn, dict) else None
    return isinstance(author, dict) and author.get("is_human") is True


def _is_timeout(exc: BaseException) -> bool:
    # socket.timeout is TimeoutError from 3.10 on, an OSError of its own on 3.9.
    return "Timeout" in type(exc).__name__ or isinstance(exc, (TimeoutError, socket.timeout))


class WebSocketTransport:
    """The Session's chat websocket (see the module docstring).

    Args:
        url: the websocket URL (``Endpoints.ws``).
        credentials: the session's credentials (the token becomes the cookie).
        origin: the ``Origin`` header (the website's URL).
        connect_timeout: seconds to open the socket.
        frame_timeout: the longest wait for any one frame of a reply.
        keepalive: seconds of silence after which a ping is sent.
        headers: extra handshake headers.
        connect: how to open a socket (default: ``websocket-client``).
        cookies: called before each handshake (the first and every reconnect):
            the site's cookies to send beside the token (``edge_rollout``...).
        token_check: called after a refused handshake: ``True`` if HTTP accepts
            the token, ``False`` if it does not, ``None`` if unknown. A refusal
            while HTTP accepts the token raises
            :class:`~caiclient.errors.HandshakeRefused`.
        max_message_size: the largest websocket message read (default connect).
    """

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        *,
        origin: str = "https://character.ai",
        connect_timeout: float = 10.0,
        frame_timeout: float = 60.0,
        keepalive: float = 25.0,
        headers: Optional[Mapping[str, str]] = None,
        connect: Optional[Connect] = None,
        sleep: Callable[[float], None] = time.sleep,
        cookies: Optional[Callable[[], Mapping[str, str]]] = None,
        token_check: Optional[Callable[[], Optional[bool]]] = None,
        max_message_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> None:
        self.url = url
        self._credentials = credentials
        self.origin = origin
        self.connect_timeout = connect_timeout
        self.frame_timeout = frame_timeout
        self.keepalive = keepalive
        self.extra_headers = dict(headers or {})
        self._connect_fn: Connect = connect or WebSocketClientConnector(max_message_size)
        self._sleep = sleep
        self._cookies = cookies
        self._token_check = token_check
        self._init_state()
        self.connections_opened = 0
        self.discarded_frames = 0
        _fork.register(self)

    def _init_state(self) -> None:
        # Re-entrant: a ReplyStream collected by the GC releases its request from
        # whatever thread runs the collection, possibly one inside this lock.
        self._lock = threading.RLock()
        self._connect_lock = threading.Lock()
        self._conn: Optional[_Connection] = None
        self._pending: Dict[str, PendingRequest] = {}
        self._failures = 0
        self._last_failure = 0.0
        self._closed = False

    def _after_fork(self) -> None:
        """In a forked child: forget the parent's socket (without closing it) and requests."""
        closed = self._closed
        self._init_state()
        self._closed = closed
        self.connections_opened = 0  # counts this process's sockets

    # ------------------------------------------------------------ connecting

    def handshake_headers(self, cookies: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
        """The headers of the websocket handshake.

        The same browser-like headers as HTTP, ``Origin``, and one ``Cookie``
        header: the token (``HTTP_AUTHORIZATION="Token ..."``, the form the
        service's clients send) and ``cookies`` (the site's, e.g.
        ``edge_rollout``). The cookie's repr hides the token.
        """
        headers = {k: v for k, v in DEFAULT_HEADERS.items() if k != "Accept"}
        headers["Origin"] = self.origin
        headers["Cache-Control"] = "no-cache"
        headers["Pragma"] = "no-cache"
        headers.update(self.extra_headers)
        parts = []
        if self._credentials.token:
            parts.append(f'HTTP_AUTHORIZATION="Token {self._credentials.token}"')
        for name, value in (cookies or {}).items():
            if name != "HTTP_AUTHORIZATION" and _COOKIE_OK.match(f"{name}={value}"):
                parts.append(f"{name}={value}")
        if parts:
            headers["Cookie"] = Secret("; ".join(parts))
        return headers

    def _site_cookies(self) -> Mapping[str, str]:
        if self._cookies is None:
            return {}
        try:
            return self._cookies()
        except Exception as exc:  # the site fetch is best effort
            log.debug("could not collect the site's cookies: %s", type(exc).__name__)
            return {}

    def _backoff(self) -> float:
        if self._failures == 0:
            return 0.0
        return min(10.0, 0.25 * (2 ** (self._failures - 1)))

    def _ensure(self, deadline: float) -> _Connection:
        conn = self._conn
        if conn is not None and conn.alive:
            return conn
        may_block()  # connecting waits: not on an event loop (see _inline)
        # One attempt may take connect + read; a thread waiting for another's attempt
        # waits no longer than that, nor past its own deadline.
        budget = self.connect_timeout + self.frame_timeout
        wait = min(budget, deadline - time.monotonic())
        if wait <= 0 or not self._connect_lock.acquire(timeout=wait):
            if self._closed:
                raise errors.CaiError("the session is closed")
            raise errors.Timeout("timed out waiting for the chat websocket to connect")
        try:
            conn = self._conn
            if conn is not None and conn.alive:
                return conn
            if self._closed:
                raise errors.CaiError("the session is closed")
            wait = self._last_failure + self._backoff() - time.monotonic()
            if wait > 0:
                if time.monotonic() + wait > deadline:
                    raise errors.NetworkError(
                        "the chat websocket is unreachable (backing off after repeated failures)"
                    )
                self._sleep(wait)
            sock = self._open(min(deadline, time.monotonic() + budget))
            with self._lock:
                if self._closed:  # close() ran during the handshake: nothing may live on
                    _abort_quietly(sock)
                    _close_quietly(sock)
                    raise errors.CaiError("the session is closed")
                self._failures = 0
                self.connections_opened += 1
                conn = _Connection(self, sock, self.keepalive)
                self._conn = conn
            log.debug("websocket connected (%d so far)", self.connections_opened)
            return conn
        finally:
            self._connect_lock.release()

    def _open(self, deadline: float) -> WSConnection:
        """One handshake, done by ``deadline`` (a watchdog aborts a trickling one)."""
        headers = self.handshake_headers(self._site_cookies())
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise errors.Timeout("timed out opening the chat websocket")
        abort = getattr(self._connect_fn, "abort", None)
        done = threading.Event()
        dog: Optional[threading.Thread] = None
        if abort is not None:

            def watchdog() -> None:
                if not done.wait(max(0.0, deadline - time.monotonic())):
                    while not done.wait(0.05):  # until the connect function gives up
                        abort()

            dog = threading.Thread(target=watchdog, name="caiclient-ws-watchdog", daemon=True)
            dog.start()
        failure: Optional[errors.CaiError] = None
        sock: Any = None
        try:
            sock = self._connect_fn(self.url, headers, min(self.connect_timeout, remaining))
        except errors.AuthenticationError as exc:
            failure = self._refused(exc)
        except errors.CaiError as exc:
            failure = exc
        except Exception as exc:  # a user-supplied connect function
            failure = errors.NetworkError(
                f"could not open the chat websocket: {type(exc).__name__}"
            )
        finally:
            done.set()
            if dog is not None:
                dog.join(1.0)
        if failure is not None:
            if self._closed:
                failure = errors.CaiError("the session is closed")
            elif not isinstance(failure, errors.AuthenticationError):
                self._failures += 1
                self._last_failure = time.monotonic()
            raise failure
        return sock

    def _refused(self, exc: errors.AuthenticationError) -> errors.AuthenticationError:
        """A refused handshake: an invalid token, or the service's bot protection?"""
        if isinstance(exc, errors.HandshakeRefused):
            return exc
        accepted = None
        if self._token_check is not None:
            try:
                accepted = self._token_check()
            except Exception:
                accepted = None
        where: Dict[str, Any] = dict(status=exc.status, method=exc.method or "GET", path=exc.path)
        if accepted is False:
            return errors.AuthenticationError(
                "the service refused the websocket handshake and the token over HTTP too: "
                "the token is invalid or expired",
                **where,
            )
        known = "although it accepts the token over HTTP" if accepted else "(the token may be fine)"
        return errors.HandshakeRefused(
            f"the service refused the chat websocket handshake (HTTP {exc.status}) {known}: "
            "its bot protection judges the connection, not the token. Remedies: "
            'Session(impersonate="chrome") after pip install "caiclient[impersonate]" '
            "(a browser's TLS fingerprint for HTTP and the websocket), or your own "
            "browser-impersonating connection through the http= and ws_connect= hooks",
            **where,
        )

    # ------------------------------------------------------------ requests

    def open(
        self,
        chat_id: Optional[str] = None,
        request_id: Optional[str] = None,
        *,
        frames: Optional[FrameSink] = None,
    ) -> PendingRequest:
        """Register a request (before sending it, so no frame can be missed).

        ``frames`` is where the reader thread puts the request's frames (and
        the end-of-connection marker, see :meth:`PendingRequest.unwrap`):
        anything with a thread-safe ``put(item)``; by default an :class:`Inbox`
        read by :meth:`PendingRequest.receive`. The asyncio face passes a sink
        that hands frames to its event loop.
        """
        req = PendingRequest(self, request_id or new_id(), chat_id, frames)
        with self._lock:
            self._pending[req.request_id] = req
        return req

    def send(self, req: PendingRequest, message: Mapping[str, Any], deadline: float) -> None:
        """Send one command for a registered request.

        Raises :class:`~caiclient.errors.ValidationError` before connecting
        for text that cannot be encoded, :class:`Disconnected` (with
        ``sent=False``) if the frame could not be written: the service did not
        get it, and every request on that connection is failed at once.
        """
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            check_encodable(message, "text")
            raise  # pragma: no cover - check_encodable raised
        conn = self._ensure(deadline)
        with self._lock:
            if self._closed:
                raise errors.CaiError("the session is closed")
            if req.closed:
                raise errors.CaiError("the request was closed before it was sent")
            req._conn = conn
        try:
            conn.send(text)
        except Exception as exc:
            reason = f"sending failed: {type(exc).__name__}"
            with self._lock:
                req._conn = None  # this caller hears it from the raise below
            conn.fail(reason)
            raise Disconnected(reason, sent=False) from None
        req.sent = True
        log.debug("ws -> %s (request %s)", message.get("command"), req.request_id)

    def _forget(self, req: PendingRequest) -> None:
        with self._lock:
            self._pending.pop(req.request_id, None)

    def in_flight(self) -> int:
        """How many requests are waiting for frames."""
        with self._lock:
            return len(self._pending)

    # ------------------------------------------------------------ routing

    def _route(self, data: Any) -> None:
        try:
            frame = _json.loads(data)
        except (ValueError, TypeError) as exc:
            self._undecodable(data, type(exc).__name__)
            return
        if not isinstance(frame, dict):
            self.discarded_frames += 1
            return
        rid = frame.get("request_id")
        with self._lock:
            target = self._pending.get(rid) if isinstance(rid, str) else None
            if target is None and not rid:
                target = self._fallback_target(frame)
        if target is None:
            self.discarded_frames += 1
            log.debug("discarding a frame nobody waits for (%s)", frame.get("command"))
            return
        woke = target.frames.put(frame)
        if not target.answered and woke is not False and not _is_human_echo(frame):
            # The first answer: let the caller run now, instead of after the reader
            # has drained the whole burst of frames while holding the GIL. (Not for a
            # frame the sink kept without waking anyone: yielding would only delay
            # the reader.)
            target.answered = True
            time.sleep(0)

    def _undecodable(self, data: Any, why: str) -> None:
        """A frame that is not JSON: a typed error for its request, if it names one."""
        self.discarded_frames += 1
        text = data if isinstance(data, str) else bytes(data or b"").decode("utf-8", "replace")
        match = _REQUEST_ID_IN_TEXT.search(text[:4096])
        with self._lock:
            target = self._pending.get(match.group(1)) if match else None
        if target is None:
            log.warning("discarding a websocket frame that is not JSON (%s)", why)
            return
        target.frames.put(
            errors.ParseError(
                "a websocket frame of the reply is not valid JSON"
                + (" (nested too deeply)" if why == "TooDeep" else ""),
                body=text[:2000],
            )
        )

    def _fallback_target(self, frame: Mapping[str, Any]) -> Optional[PendingRequest]:
        """Where a frame without ``request_id`` goes: the only request on its chat.

        A frame that names no chat is not routed (it provably belongs nowhere).
        """
        chat_id = None
        turn = frame.get("turn")
        if isinstance(turn, dict) and isinstance(turn.get("turn_key"), dict):
            chat_id = turn["turn_key"].get("chat_id")
        chat = frame.get("chat")
        if chat_id is None and isinstance(chat, dict):
            chat_id = chat.get("chat_id")
        if chat_id is None and isinstance(frame.get("chat_id"), str):
            chat_id = frame["chat_id"]
        if not isinstance(chat_id, str) or not chat_id:
            return None
        candidates: List[PendingRequest] = [
            r for r in self._pending.values() if r.chat_id == chat_id
        ]
        return candidates[0] if len(candidates) == 1 else None

    def _connection_lost(self, conn: _Connection, reason: str) -> None:
        with self._lock:
            if conn.lost:
                return
            conn.lost = True
            if self._conn is conn:
                self._conn = None
            victims = [r for r in self._pending.values() if r._conn is conn]
        if victims:
            log.debug("websocket lost (%s); failing %d request(s)", reason, len(victims))
        for req in victims:
            req.frames.put(_Closed(reason))

    # ------------------------------------------------------------ lifecycle

    @property
    def connected(self) -> bool:
        """True while a socket is open."""
        conn = self._conn
        return conn is not None and conn.alive

    def disconnect(self, wait: bool = True) -> None:
        """Close the current socket (requests in flight fail; the next call reconnects).

        The reader thread is woken at once and, with ``wait``, joined (bounded).
        """
        conn = self._conn
        if conn is not None:
            conn.close(wait=wait)
            self._connection_lost(conn, "the connection was closed")
            if wait:
                conn.join(timeout=5)

    def close(self, wait: bool = True) -> None:
        """Close the socket for good; the reader thread ends.

        A handshake in progress in another thread is aborted and, with
        ``wait``, waited for (bounded by its connect budget): when this
        returns, nothing is sent any more and no socket or thread lives on.
        """
        with self._lock:
            self._closed = True
        abort = getattr(self._connect_fn, "abort", None)
        if abort is not None:
            try:
                abort()
            except Exception:
                pass
        if wait:
            got = self._connect_lock.acquire(timeout=self.connect_timeout + self.frame_timeout)
            try:
                self.disconnect()
            finally:
                if got:
                    self._connect_lock.release()
        else:
            self.disconnect(wait=False)

    def threads(self) -> Iterator[threading.Thread]:
        """The live reader threads (for leak checks)."""
        conn = self._conn
        if conn is not None and conn.reader.is_alive():
            yield conn.reader


_COOKIE_OK = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+=[^;,\s\\]*$")
