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
``close()``. The default opens one with ``websocket-client``; tests and users
may pass another ``connect`` function.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Protocol

from caiclient import errors
from caiclient.transport.http import DEFAULT_HEADERS, Credentials

__all__ = [
    "Disconnected",
    "FrameSink",
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
    """Where the reader thread puts one request's frames (``queue.Queue`` fits)."""

    def put(self, item: Any) -> Any:
        """Take one item; called from the reader thread (must not block)."""


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


def handshake_error(status: Optional[int]) -> errors.CaiError:
    """The error for a websocket handshake the server answered with ``status``.

    One mapping for every way of connecting (``websocket-client`` here, the
    browser-impersonating stack of :mod:`caiclient.transport.impersonate`).
    """
    if status in (401, 403):
        return errors.AuthenticationError(
            "the service refused the websocket handshake: the token is invalid or expired",
            status=status,
            method="GET",
            path="/ws/",
        )
    return errors.NetworkError(f"websocket handshake failed (HTTP {status})")


def _default_connect(url: str, headers: Mapping[str, str], timeout: float) -> WSConnection:
    import websocket  # websocket-client

    header = [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("origin", "cookie")]
    try:
        return websocket.create_connection(
            url,
            header=header,
            cookie=headers.get("Cookie"),
            origin=headers.get("Origin"),
            timeout=timeout,
            enable_multithread=True,
        )
    except websocket.WebSocketBadStatusException as exc:
        raise handshake_error(getattr(exc, "status_code", None)) from None
    except websocket.WebSocketTimeoutException:
        raise errors.Timeout("timed out opening the chat websocket") from None
    except (OSError, websocket.WebSocketException) as exc:
        raise errors.NetworkError(f"could not open the chat websocket: {exc}") from None


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
        self.frames: Any = queue.Queue() if frames is None else frames
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
        self.send_lock = threading.Lock()
        self.reader = threading.Thread(
            target=self._read_loop, name="caiclient-ws-reader", daemon=True
        )
        self.reader.start()

    def send(self, text: str) -> None:
        with self.send_lock:
            self.sock.send(text)

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
                            reason = f"keep-alive failed: {ping_exc}"
                            break
                        continue
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
            try:
                self.sock.close()
            except Exception:
                pass
            self.transport._connection_lost(self, reason)

    def close(self) -> None:
        self.alive = False
        try:
            self.sock.close()
        except Exception:
            pass


def _is_human_echo(frame: Mapping[str, Any]) -> bool:
    """True for the service's echo of the user's own message."""
    turn = frame.get("turn")
    author = turn.get("author") if isinstance(turn, dict) else None
    return isinstance(author, dict) and author.get("is_human") is True


def _is_timeout(exc: BaseException) -> bool:
    return "Timeout" in type(exc).__name__ or isinstance(exc, TimeoutError)


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
    ) -> None:
        self.url = url
        self._credentials = credentials
        self.origin = origin
        self.connect_timeout = connect_timeout
        self.frame_timeout = frame_timeout
        self.keepalive = keepalive
        self.extra_headers = dict(headers or {})
        self._connect_fn = connect or _default_connect
        self._sleep = sleep
        # Re-entrant: a ReplyStream collected by the GC releases its request from
        # whatever thread runs the collection, possibly one inside this lock.
        self._lock = threading.RLock()
        self._connect_lock = threading.Lock()
        self._conn: Optional[_Connection] = None
        self._pending: Dict[str, PendingRequest] = {}
        self._failures = 0
        self._last_failure = 0.0
        self._closed = False
        self.connections_opened = 0
        self.discarded_frames = 0

    # ------------------------------------------------------------ connecting

    def handshake_headers(self) -> Dict[str, str]:
        """The headers of the websocket handshake (the cookie carries the token)."""
        headers = {k: v for k, v in DEFAULT_HEADERS.items() if k != "Accept"}
        headers["Origin"] = self.origin
        headers.update(self.extra_headers)
        if self._credentials.token:
            headers["Cookie"] = f"HTTP_AUTHORIZATION=Token {self._credentials.token}"
        return headers

    def _backoff(self) -> float:
        if self._failures == 0:
            return 0.0
        return min(10.0, 0.25 * (2 ** (self._failures - 1)))

    def _ensure(self, deadline: float) -> _Connection:
        conn = self._conn
        if conn is not None and conn.alive:
            return conn
        with self._connect_lock:
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
            try:
                sock = self._connect_fn(self.url, self.handshake_headers(), self.connect_timeout)
            except errors.AuthenticationError:
                raise
            except errors.CaiError:
                self._failures += 1
                self._last_failure = time.monotonic()
                raise
            except Exception as exc:  # a user-supplied connect function
                self._failures += 1
                self._last_failure = time.monotonic()
                raise errors.NetworkError(f"could not open the chat websocket: {exc}") from None
            self._failures = 0
            self.connections_opened += 1
            log.debug("websocket connected (%d so far)", self.connections_opened)
            conn = _Connection(self, sock, self.keepalive)
            self._conn = conn
            return conn

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
        anything with a thread-safe ``put(item)``; by default a ``queue.Queue``
        read by :meth:`PendingRequest.receive`. The asyncio face passes a sink
        that hands frames to its event loop.
        """
        req = PendingRequest(self, request_id or new_id(), chat_id, frames)
        with self._lock:
            self._pending[req.request_id] = req
        return req

    def send(self, req: PendingRequest, message: Mapping[str, Any], deadline: float) -> None:
        """Send one command for a registered request.

        Raises :class:`Disconnected` (with ``sent=False``) if the frame could
        not be written: the service did not get it.
        """
        conn = self._ensure(deadline)
        with self._lock:
            if req.closed:
                raise errors.CaiError("the request was closed before it was sent")
            req._conn = conn
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        try:
            conn.send(text)
        except Exception as exc:
            conn.close()
            raise Disconnected(f"sending failed: {type(exc).__name__}", sent=False) from None
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
            frame = json.loads(data)
        except (ValueError, TypeError):
            log.warning("discarding a websocket frame that is not JSON")
            self.discarded_frames += 1
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
        target.frames.put(frame)
        if not target.answered and not _is_human_echo(frame):
            # The first answer: let the caller run now, instead of after the reader
            # has drained the whole burst of frames while holding the GIL.
            target.answered = True
            time.sleep(0)

    def _fallback_target(self, frame: Mapping[str, Any]) -> Optional[PendingRequest]:
        """Where a frame without ``request_id`` goes: the only request on its chat."""
        chat_id = None
        turn = frame.get("turn")
        if isinstance(turn, dict) and isinstance(turn.get("turn_key"), dict):
            chat_id = turn["turn_key"].get("chat_id")
        chat = frame.get("chat")
        if chat_id is None and isinstance(chat, dict):
            chat_id = chat.get("chat_id")
        candidates: List[PendingRequest] = list(self._pending.values())
        if chat_id is not None:
            candidates = [r for r in candidates if r.chat_id == chat_id]
        return candidates[0] if len(candidates) == 1 else None

    def _connection_lost(self, conn: _Connection, reason: str) -> None:
        with self._lock:
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

    def disconnect(self) -> None:
        """Close the current socket (requests in flight fail; the next call reconnects)."""
        conn = self._conn
        if conn is not None:
            conn.close()
            conn.reader.join(timeout=5)

    def close(self) -> None:
        """Close the socket for good; the reader thread ends."""
        self._closed = True
        self.disconnect()

    def threads(self) -> Iterator[threading.Thread]:
        """The live reader threads (for leak checks)."""
        conn = self._conn
        if conn is not None and conn.reader.is_alive():
            yield conn.reader
