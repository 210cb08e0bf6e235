"""The group-chat socket: Centrifugo-style, one per Session (cainode.md 5.3-5.5).

It lives beside the chat websocket (:mod:`caiclient.transport.ws`) and reuses
its pieces: the connection interface and the ``connect`` seam, the reader
thread (``_Connection``), lazy connection with backoff after failures, and
``request_id``-routed :class:`~caiclient.transport.ws.PendingRequest` queues.
What differs is the envelope:

* after the socket opens, the client sends ``{"id": n, "connect": {...}}``
  and waits for the ``connect`` reply; then it subscribes (``subscribe``
  ``room:<id>``) to every room still in use (so a reconnect resubscribes);
* every command carries an ``id`` that the reply echoes; room chat commands
  go in ``rpc`` (``method: "unused_command"``, the neo command in ``data``);
* turns arrive as *pushes* on the room's channel
  (``{"push": {"channel": "room:<id>", "pub": {"data": {...}}}}``); a push
  goes to the request whose ``request_id`` it echoes and to every listener of
  its channel;
* the server's keep-alive is a text frame ``{}``, answered with ``{}``.

A dropped socket fails the requests in flight with
:class:`~caiclient.transport.ws.Disconnected` and puts a marker into every
subscription; the next use reconnects (with backoff) and resubscribes.
"""

from __future__ import annotations

import itertools
import json
import logging
import queue
import threading
import time
import weakref
from typing import Any, Dict, Iterator, List, Mapping, Optional, Set

from caiclient import errors
from caiclient.transport._inline import may_block
from caiclient.transport.ws import (
    Disconnected,
    Inbox,
    PendingRequest,
    WebSocketTransport,
    _Closed,
    _Connection,
)

__all__ = ["RPC_METHOD", "RoomSocketTransport", "Subscription", "room_channel", "split_frames"]

log = logging.getLogger("caiclient.rooms")

RPC_METHOD = "unused_command"  # the literal every known client sends (cainode.md 5.4)
CLIENT_NAME = "js"  # what CAINode and node_characterai send as the connect name


def room_channel(room_id: str) -> str:
    """The channel a room's turns are pushed on."""
    return f"room:{room_id}"


def split_frames(text: str) -> List[Any]:
    """Every JSON value in one text frame.

    Centrifugo batches replies one per line; the known clients send two
    objects back to back with no separator (cainode.md 2.1). Both are read.
    """
    decoder = json.JSONDecoder()
    out: List[Any] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            break
        value, i = decoder.raw_decode(text, i)
        out.append(value)
    return out


def push_data(push: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The publication inside a push: ``push.pub.data`` (Centrifugo, CAINode) or
    ``push.data`` (node_characterai 2.0, others.md 3.2); ``None`` for other pushes."""
    pub = push.get("pub")
    data = pub.get("data") if isinstance(pub, dict) else push.get("data")
    return data if isinstance(data, dict) else None


def is_error_reply(frame: Mapping[str, Any]) -> bool:
    """True for a reply that reports a failure: a Centrifugo ``error``, or an ``rpc``
    whose data is a neo error (``neo_error``, ``filter_user_input...``)."""
    if frame.get("error"):
        return True
    rpc = frame.get("rpc")
    data = rpc.get("data") if isinstance(rpc, dict) else None
    command = data.get("command") if isinstance(data, dict) else None
    return isinstance(command, str) and (
        command == "neo_error" or command.startswith("filter_user_input")
    )


class Subscription:
    """The pushes of one channel for one consumer (a room listener).

    :meth:`get` returns the next publication's ``data`` (a dict), ``None``
    when ``timeout`` passed, or raises :class:`~caiclient.transport.ws.Disconnected` once after the
    socket dropped (call :meth:`RoomSocketTransport.resubscribe` then).
    """

    def __init__(self, transport: RoomSocketTransport, channel: str) -> None:
        self.transport = transport
        self.channel = channel
        self.items = Inbox()
        self.closed = False

    def get(self, timeout: float) -> Optional[Dict[str, Any]]:
        """The next publication, ``None`` after ``timeout`` seconds."""
        try:
            item = self.items.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None
        if isinstance(item, _Closed):
            raise Disconnected(item.reason, sent=True)
        return item

    def wake(self) -> None:
        """Make a waiting :meth:`get` return now (thread-safe)."""
        self.items.put_nowait(_WAKE)

    def close(self) -> None:
        """Stop receiving (idempotent); the channel is left when nobody uses it."""
        if not self.closed:
            self.closed = True
            self.transport._drop_subscription(self)


_WAKE: Any = {"command": "__caiclient_wake__"}


def channel_error(error: Any, channel: str) -> errors.CaiError:
    """The typed error for a Centrifugo error object (``{"code", "message"}``)."""
    if isinstance(error, dict):
        code = error.get("code")
        message = str(error.get("message") or "error")
    else:
        code, message = None, str(error)
    where = {"method": "SUBSCRIBE", "path": channel, "body": error}
    if code == 103 or "permission" in message.lower():  # Centrifugo: permission denied
        return errors.PermissionDenied(
            f"not a member of {channel} ({message})", status=403, **where
        )
    if code in (102, 112) or "not found" in message.lower():  # unknown channel / not found
        return errors.NotFound(f"no such room: {channel} ({message})", status=404, **where)
    if code in (101, 109, 3500, 3501):  # unauthorized / token expired / invalid token
        return errors.AuthenticationError(message, status=401, **where)
    return errors.GenerationError(message, command="centrifugo", frame={"error": error})


class RoomSocketTransport(WebSocketTransport):
    """The Session's group-chat socket (see the module docstring).

    Takes the arguments of :class:`~caiclient.transport.ws.WebSocketTransport`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ids = itertools.count(1)
        self._ready: Optional[_Connection] = None
        self._handshake_lock = threading.Lock()
        self._subs: Dict[str, List[Subscription]] = {}
        self._channels: Set[str] = set()  # channels the current connection is subscribed to
        self._wanted: Set[str] = set()  # channels to (re)subscribe on every connection
        self._aliases: Dict[str, List[str]] = {}  # request_id -> Centrifugo ids routed to it
        self._lost: weakref.WeakSet[_Connection] = weakref.WeakSet()  # losses reported
        self.pings_answered = 0

    def _after_fork(self) -> None:
        """In a forked child: also forget the parent's room handshake and subscriptions.

        The rooms still listened to in the parent are the parent's; a child
        subscribes to what it listens to itself.
        """
        super()._after_fork()
        self._ready = None
        self._handshake_lock = threading.Lock()
        self._subs = {}
        self._channels = set()
        self._wanted = set()
        self._aliases = {}
        self._lost = weakref.WeakSet()

    # ------------------------------------------------------------ connecting

    def _next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def _ensure(self, deadline: float) -> _Connection:
        conn = super()._ensure(deadline)
        if self._ready is conn:
            return conn
        may_block()  # the Centrifugo handshake waits for answers (see transport._inline)
        wait = max(0.0, min(self.connect_timeout, deadline - time.monotonic()))
        if not self._handshake_lock.acquire(timeout=wait):
            raise errors.Timeout("timed out waiting for the room socket to connect")
        try:
            if self._ready is not conn:
                self._handshake(conn, deadline)
                self._ready = conn
        finally:
            self._handshake_lock.release()
        return conn

    def _handshake(self, conn: _Connection, deadline: float) -> None:
        """Centrifugo ``connect``, then ``subscribe`` to every room in use."""
        reply = self._command_on(conn, {"connect": {"name": CLIENT_NAME}}, deadline)
        if "error" in reply:
            conn.close()
            raise errors.AuthenticationError(
                f"the room socket refused the connection: {reply.get('error')}",
                status=401, method="CONNECT", path="/connection/websocket",
            )  # fmt: skip
        with self._lock:
            self._channels = set()
            wanted = sorted(self._wanted)
        for channel in wanted:
            try:
                self._subscribe_on(conn, channel, deadline)
            except (errors.PermissionDenied, errors.NotFound) as exc:
                log.info("could not resubscribe to %s: %s", channel, exc)
                self._fail_channel(channel, exc)

    def _command_on(
        self,
        conn: _Connection,
        body: Mapping[str, Any],
        deadline: float,
        req: Optional[PendingRequest] = None,
    ) -> Dict[str, Any]:
        """Send one Centrifugo command on ``conn`` and return its reply frame.

        With ``req`` the reply goes to that (caller-owned) request and is not
        awaited here; the empty dict is returned.
        """
        cid = str(self._next_id())
        own = req is None
        target = self.open(None, cid) if req is None else req
        if not own:
            with self._lock:
                self._pending[cid] = target
                self._aliases.setdefault(target.request_id, []).append(cid)
        target._conn = conn
        text = json.dumps({"id": int(cid), **body}, ensure_ascii=False, separators=(",", ":"))
        try:
            target.sent = True  # before: the answer may be routed while send() returns
            try:
                conn.send(text)
            except Exception as exc:
                target.sent = False
                conn.close()
                raise Disconnected(f"sending failed: {type(exc).__name__}", sent=False) from None
            log.debug("rooms -> %s (id %s)", next(iter(body), "?"), cid)
            if not own:
                return {}
            while True:
                frame = target.receive(self.frame_timeout, deadline)
                if frame.get("kind") == "reply":
                    return frame["reply"]
        finally:
            if own:
                target.close()

    def _subscribe_on(self, conn: _Connection, channel: str, deadline: float) -> None:
        reply = self._command_on(conn, {"subscribe": {"channel": channel}}, deadline)
        if reply.get("error"):
            raise channel_error(reply["error"], channel)
        with self._lock:
            self._channels.add(channel)

    # ------------------------------------------------------------ channels

    def join_channel(self, channel: str, deadline: float) -> None:
        """Be subscribed to ``channel`` now and after every reconnect."""
        with self._lock:
            self._wanted.add(channel)
        conn = self._ensure(deadline)
        with self._lock:
            if channel in self._channels and self._ready is conn:
                return
        may_block()  # subscribing waits for the answer: before anything is sent
        try:
            self._subscribe_on(conn, channel, deadline)
        except (errors.PermissionDenied, errors.NotFound):
            with self._lock:
                self._wanted.discard(channel)
            raise

    def leave_channel(self, channel: str, deadline: Optional[float] = None) -> None:
        """Unsubscribe from ``channel`` (listeners of it end)."""
        with self._lock:
            self._wanted.discard(channel)
            subscribed = channel in self._channels
            self._channels.discard(channel)
            subs = self._subs.pop(channel, [])
        for sub in subs:
            sub.closed = True
            sub.wake()
        conn = self._conn
        if subscribed and conn is not None and conn.alive:
            try:
                self._command_on(
                    conn,
                    {"unsubscribe": {"channel": channel}},
                    deadline or time.monotonic() + self.frame_timeout,
                )
            except (errors.CaiError, Disconnected) as exc:
                log.debug("unsubscribe %s: %s", channel, exc)

    def subscribe(self, channel: str, deadline: float) -> Subscription:
        """A new consumer of ``channel``'s pushes (subscribing if needed)."""
        sub = Subscription(self, channel)
        with self._lock:
            self._subs.setdefault(channel, []).append(sub)
        try:
            self.join_channel(channel, deadline)
        except BaseException:
            sub.close()
            raise
        return sub

    def resubscribe(self, sub: Subscription, deadline: float) -> None:
        """After a drop: reconnect (with backoff) and make sure ``sub`` gets pushes again."""
        with self._lock:
            if sub not in self._subs.get(sub.channel, []):
                self._subs.setdefault(sub.channel, []).append(sub)
        self.join_channel(sub.channel, deadline)

    def _drop_subscription(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.channel, [])
            if sub in subs:
                subs.remove(sub)

    def _fail_channel(self, channel: str, exc: BaseException) -> None:
        with self._lock:
            self._wanted.discard(channel)
            subs = list(self._subs.get(channel, []))
        for sub in subs:
            sub.items.put_nowait(_Closed(f"resubscribing failed: {exc}"))

    # ------------------------------------------------------------ commands

    def rpc(self, req: PendingRequest, data: Mapping[str, Any], deadline: float) -> None:
        """Send a neo command (``data``) in an ``rpc``; its reply and pushes go to ``req``.

        The room's channel must have been joined (see :meth:`join_channel`).
        Raises :class:`~caiclient.transport.ws.Disconnected` (``sent=False``) if nothing went out.
        """
        conn = self._ensure(deadline)
        with self._lock:
            if req.closed:
                raise errors.CaiError("the request was closed before it was sent")
        self._command_on(conn, {"rpc": {"method": RPC_METHOD, "data": dict(data)}}, deadline, req)

    def _forget(self, req: PendingRequest) -> None:
        with self._lock:
            self._pending.pop(req.request_id, None)
            for cid in self._aliases.pop(req.request_id, []):
                self._pending.pop(cid, None)

    # ------------------------------------------------------------ routing

    def _route(self, data: Any) -> None:
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        if not isinstance(data, str):
            self.discarded_frames += 1
            return
        if data.strip() == "{}":
            self._pong()
            return
        try:
            values = split_frames(data)
        except ValueError:
            log.warning("discarding a room socket frame that is not JSON")
            self.discarded_frames += 1
            return
        for value in values:
            if not isinstance(value, dict):
                self.discarded_frames += 1
            elif not value:
                self._pong()
            elif isinstance(value.get("push"), dict):
                self._route_push(value["push"])
            elif "id" in value:
                self._route_reply(value)
            else:
                self.discarded_frames += 1

    def _pong(self) -> None:
        conn = self._conn
        if conn is None or not conn.alive:
            return
        try:
            conn.send("{}")
            self.pings_answered += 1
        except Exception as exc:  # the reader notices the broken socket next
            log.debug("could not answer the keep-alive: %s", exc)

    def _route_reply(self, frame: Dict[str, Any]) -> None:
        key = str(frame.get("id"))
        with self._lock:
            target = self._pending.get(key)
        if target is None:
            self.discarded_frames += 1
            return
        if key != target.request_id and not is_error_reply(frame):
            return  # an rpc's plain acknowledgement: its caller waits for the pushes
        target.frames.put({"kind": "reply", "reply": frame})

    def _route_push(self, push: Mapping[str, Any]) -> None:
        data = push_data(push)
        channel = push.get("channel")
        if data is None:
            return  # join/leave/subscribe pushes: nothing for us
        rid = data.get("request_id")
        with self._lock:
            echoed = isinstance(rid, str) and bool(rid)
            target = self._pending.get(rid) if isinstance(rid, str) and rid else None
            # Only a push that names no request may go to the one request waiting on
            # its room: one naming another request (another member's, or one we gave
            # up on) answers nobody here but the room's listeners.
            if not echoed and isinstance(channel, str) and channel.startswith("room:"):
                room = channel[len("room:") :]
                waiting = [r for r in self._pending.values() if r.chat_id == room and r.sent]
                target = waiting[0] if len(set(map(id, waiting))) == 1 else None
            subs = list(self._subs.get(channel, [])) if isinstance(channel, str) else []
        if target is not None:
            target.frames.put(data)
            if not target.answered and data.get("command") in ("add_turn", "update_turn"):
                # The first pushed turn: let the caller run now, instead of after the
                # reader has drained the whole burst of frames (as the chat socket does).
                target.answered = True
                time.sleep(0)
        for sub in subs:
            sub.items.put(data)
        if target is None and not subs:
            self.discarded_frames += 1

    def _connection_lost(self, conn: _Connection, reason: str) -> None:
        with self._lock:
            if conn in self._lost:
                return  # reported already (the reader and disconnect() both report)
            self._lost.add(conn)
            if self._ready is conn:
                self._ready = None
                self._channels = set()
            subs = [s for group in self._subs.values() for s in group]
        super()._connection_lost(conn, reason)
        for sub in subs:
            sub.items.put(_Closed(reason))

    # ------------------------------------------------------------ inspection

    def channels(self) -> Iterator[str]:
        """The channels the current connection is subscribed to."""
        with self._lock:
            return iter(sorted(self._channels))
