"""Group-chat flows over the room socket: building commands, reading pushes, recovering.

The commands are the neo commands the DM socket knows, carried in a
Centrifugo ``rpc`` (cainode.md 5.4): ``create_turn`` posts the user's
message (its turn id is ours, so a drop can be checked over HTTP, exactly as
for DM chats), ``generate_turn`` asks one character (``character_id``) or
lets the service pick (``smart_reply``), ``generate_turn_candidate``
regenerates. Turns come back as pushes on the room's channel.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Set,
    Tuple,
)

from caiclient import errors
from caiclient.models import Turn
from caiclient.resources._replies import (
    _ABANDONED,
    _DROPPED_UNSENT,
    _SINK,
    MAX_RESENDS,
    MORE,
    ORIGIN_ID,
    RECHECK_DELAY,
    Recover,
    ReplyStream,
    _deadline,
    _defer_routine,
    _frame_timeout,
    _raise_for,
    _raw_is_final,
    _turn_of,
)
from caiclient.transport.rooms import room_channel
from caiclient.transport.ws import Disconnected, PendingRequest, new_id

if TYPE_CHECKING:  # pragma: no cover
    from caiclient.session import Session

__all__ = [
    "RoomListener",
    "RoomReplyStream",
    "build_create_turn",
    "build_generate",
    "build_regenerate",
    "room_request_id",
    "run_room_command",
    "send_turn",
]

log = logging.getLogger("caiclient.rooms")

CHAT_TYPE = "TYPE_MU_ROOM"


# ------------------------------------------------------------------ building


def room_request_id(room_id: str) -> str:
    """A ``request_id`` in the form the known clients use for rooms (cainode.md 4.1):
    the first 24 characters of a fresh uuid, then the room id's last group."""
    groups = room_id.split("-")
    return new_id()[:24] + (groups[4] if len(groups) == 5 else new_id()[24:])


def _data(command: str, request_id: str, payload: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "command": command,
        "request_id": request_id,
        "payload": payload,
        "origin_id": ORIGIN_ID,
    }


def build_create_turn(
    request_id: str,
    room_id: str,
    author_id: str,
    user_name: str,
    text: str,
    turn_id: str,
    *,
    image_rel_path: Optional[str] = None,
    context_reset: bool = False,
) -> Dict[str, Any]:
    """``create_turn``: the user's message into the room (turn and candidate ids are ours)."""
    candidate: Dict[str, Any] = {"candidate_id": turn_id, "raw_content": text}
    if image_rel_path:
        candidate["tti_image_rel_path"] = image_rel_path
    turn: Dict[str, Any] = {}
    if context_reset:
        turn["context_reset"] = True
    turn.update(
        {
            "turn_key": {"turn_id": turn_id, "chat_id": room_id},
            "author": {"author_id": author_id, "is_human": True, "name": user_name},
            "candidates": [candidate],
            "primary_candidate_id": turn_id,
        }
    )
    payload = {"chat_type": CHAT_TYPE, "num_candidates": 1, "user_name": user_name, "turn": turn}
    return _data("create_turn", request_id, payload)


def build_generate(
    request_id: str, room_id: str, user_name: str, character_id: Optional[str] = None
) -> Dict[str, Any]:
    """``generate_turn``: one character answers, or (no ``character_id``) the service's
    smart reply picks who does."""
    payload: Dict[str, Any] = {"chat_type": CHAT_TYPE}
    if character_id is not None:
        payload.update({"character_id": character_id, "chat_id": room_id})
    else:
        payload.update(
            {
                "chat_id": room_id,
                "user_name": user_name,
                "smart_reply": "CHARACTERS",
                "smart_reply_delay": 0,
            }
        )
    return _data("generate_turn", request_id, payload)


def build_regenerate(
    request_id: str, room_id: str, character_id: str, turn_id: str, user_name: str
) -> Dict[str, Any]:
    """``generate_turn_candidate``: a new candidate for a character's turn in a room."""
    payload = {
        "chat_type": CHAT_TYPE,
        "character_id": character_id,
        "user_name": user_name,
        "turn_key": {"turn_id": turn_id, "chat_id": room_id},
    }
    return _data("generate_turn_candidate", request_id, payload)


# ------------------------------------------------------------------ reading


def _check_reply(item: Mapping[str, Any], command: str) -> None:
    """Raise for an ``rpc`` reply that is an error (Centrifugo ``error`` or a neo error)."""
    reply = item.get("reply")
    if not isinstance(reply, dict):
        return
    error = reply.get("error")
    if error:
        code = error.get("code") if isinstance(error, dict) else None
        message = str(error.get("message") if isinstance(error, dict) else error)
        if code == 103 or "permission" in message.lower():
            raise errors.PermissionDenied(
                message, status=403, method="RPC", path=command, body=reply
            )
        raise errors.GenerationError(message, command=command, frame=reply)
    rpc = reply.get("rpc")
    data = rpc.get("data") if isinstance(rpc, dict) else None
    if isinstance(data, dict):
        _raise_for(data, command)


def _is_reply(item: Mapping[str, Any]) -> bool:
    return item.get("kind") == "reply"


def _find_turn(session: Session, room_id: str, turn_id: str) -> Optional[Turn]:
    """The room's newest page contains ``turn_id``: that turn, else ``None``."""
    try:
        page = session.chats.page(room_id)
    except errors.CaiError as exc:
        raise errors.ConnectionLost(
            f"the room connection dropped and the room could not be checked: {exc}",
            user_turn_id=turn_id, message_delivered=None,
        ) from exc  # fmt: skip
    for t in page.turns:
        if t.turn_id == turn_id:
            return t
    return None


def send_turn(
    session: Session,
    room_id: str,
    text: str,
    *,
    author_id: str,
    user_name: str,
    image_rel_path: Optional[str] = None,
    context_reset: bool = False,
) -> Turn:
    """Post the user's message; return it as the room stored it.

    Exactly once across drops: after a drop the room's turns (HTTP) tell
    whether the service has the message; it is sent again only if not.
    """
    ws = session.room_ws
    deadline = _deadline(session)
    turn_id = new_id()
    ws.join_channel(room_channel(room_id), deadline)
    for attempt in range(MAX_RESENDS + 1):
        with ws.open(room_id, room_request_id(room_id)) as req:
            data = build_create_turn(
                req.request_id, room_id, author_id, user_name, text, turn_id,
                image_rel_path=image_rel_path, context_reset=context_reset,
            )  # fmt: skip
            sent = False
            try:
                ws.rpc(req, data, deadline)
                sent = True
                while True:
                    item = req.receive(_frame_timeout(session), deadline)
                    if _is_reply(item):
                        try:
                            _check_reply(item, "create_turn")
                        except errors.GenerationError as exc:
                            if "already exists" not in exc.comment:
                                raise
                            found = _find_turn(session, room_id, turn_id)
                            if found is not None:
                                return found
                            raise
                        continue
                    _raise_for(item, "create_turn")
                    raw = item.get("turn")
                    if (
                        isinstance(raw, dict)
                        and (raw.get("turn_key") or {}).get("turn_id") == turn_id
                    ):
                        turn = _turn_of(item)
                        if turn is not None and _raw_is_final(raw):
                            return turn
            except Disconnected as exc:
                sent = sent or exc.sent
            except errors.Timeout:
                found = _find_turn(session, room_id, turn_id)
                if found is not None:
                    return found
                raise
        found = _find_turn(session, room_id, turn_id)
        if found is None and sent:
            time.sleep(RECHECK_DELAY)  # a frame in flight may still land: look again
            found = _find_turn(session, room_id, turn_id)
        if found is not None:
            return found
        if attempt < MAX_RESENDS:
            log.info("the service never got message %s: sending it again", turn_id)
            continue
    raise errors.ConnectionLost(
        "the room connection kept dropping; the message was not delivered",
        user_turn_id=turn_id, message_delivered=False,
    )  # fmt: skip


def run_room_command(
    session: Session,
    room_id: str,
    build: Callable[[str], Dict[str, Any]],
    accept: Callable[[Mapping[str, Any]], bool],
) -> Mapping[str, Any]:
    """Send a room command that is safe to repeat; return the first push ``accept`` takes.

    After a drop it is sent once more (an edit to the same text changes nothing twice).
    """
    ws = session.room_ws
    deadline = _deadline(session)
    ws.join_channel(room_channel(room_id), deadline)
    for attempt in range(2):
        with ws.open(room_id, room_request_id(room_id)) as req:
            data = build(req.request_id)
            command = str(data["command"])
            try:
                ws.rpc(req, data, deadline)
                while True:
                    item = req.receive(_frame_timeout(session), deadline)
                    if _is_reply(item):
                        _check_reply(item, command)
                        continue
                    _raise_for(item, command)
                    if accept(item):
                        return item
            except Disconnected as exc:
                if attempt == 0:
                    continue
                raise errors.ConnectionLost(
                    f"the room connection dropped during {command} ({exc.reason})",
                    message_delivered=None if exc.sent else False,
                ) from None
    raise AssertionError("unreachable")  # pragma: no cover


class RoomReplyStream(ReplyStream):
    """A character's answer in a room as it is written: growing Turn snapshots.

    The same object as a DM chat's :class:`~caiclient.resources._replies.ReplyStream`
    (iterate, ``final()``, ``text_deltas()``, ``close()``, a context
    manager), for one character's turn: the one named, or the first one the
    service's smart reply picks. If the socket drops after the turn started,
    it is followed over HTTP to its end.
    """

    def __init__(
        self,
        session: Session,
        *,
        room_id: str,
        user_name: str,
        character_id: Optional[str] = None,
        regenerate_turn_id: Optional[str] = None,
    ) -> None:
        self._session = session
        self.chat_id = room_id
        self.room_id = room_id
        self.character_id = character_id or ""  # "": the service's smart reply picks
        self._user_name = user_name
        self._regen_turn_id = regenerate_turn_id
        self.user_turn_id: Optional[str] = None
        self.turn: Optional[Turn] = None
        self.delivered: Optional[bool] = None
        self._turn_id: Optional[str] = regenerate_turn_id
        self._candidate_seen: Optional[str] = None
        self._done = False
        self._closed = False
        self._lock = threading.Lock()
        self._resends = 0
        self._deadline = _deadline(session)
        self._frame_timeout = _frame_timeout(session)
        self._req: Optional[PendingRequest] = None
        self._sink = _SINK.get()  # the asyncio face's: frames go to its event loop
        self._coalesce = False
        self._session.room_ws.join_channel(room_channel(room_id), self._deadline)
        self._send()

    @property
    def _command(self) -> str:
        return "generate_turn_candidate" if self._regen_turn_id else "generate_turn"

    def _build(self, request_id: str) -> Dict[str, Any]:
        if self._regen_turn_id is not None:
            return build_regenerate(
                request_id, self.room_id, self.character_id, self._regen_turn_id, self._user_name
            )
        return build_generate(request_id, self.room_id, self._user_name, self.character_id or None)

    def _send(self) -> None:
        ws = self._session.room_ws
        sink = self._sink() if self._sink is not None else None
        req = ws.open(self.room_id, room_request_id(self.room_id), frames=sink)
        self._req = req
        if self._coalesce:
            _defer_routine(req)
        try:
            ws.rpc(req, self._build(req.request_id), self._deadline)
        except Disconnected:
            req.frames.put_nowait(_DROPPED_UNSENT)
        except BaseException:
            req.close()
            raise

    # The base class's reading loop (and the asyncio face's) drives these two.

    def timed_out(self, exc: errors.Timeout) -> errors.Timeout:
        """The error to raise when no frame came in time (names the room, keeps the partial)."""
        return errors.Timeout(f"{exc.message} (room {self.room_id})", partial=self.turn)

    def accept(self, frame: Mapping[str, Any]) -> Any:
        """Take one frame: a snapshot of the answer, ``MORE``, ``None`` or a ``Recover``."""
        if frame is _DROPPED_UNSENT:
            return Recover(False)
        if frame is _ABANDONED:
            return None
        if _is_reply(frame):
            _check_reply(frame, self._command)
            self.delivered = True
            return MORE
        _raise_for(frame, self._command)
        raw = frame.get("turn")
        if not isinstance(raw, dict) or frame.get("command") not in ("add_turn", "update_turn"):
            return MORE
        author: Dict[str, Any] = raw["author"] if isinstance(raw.get("author"), dict) else {}
        if author.get("is_human") is True:
            return MORE
        turn_id = (raw.get("turn_key") or {}).get("turn_id")
        if self._turn_id is None:
            if self.character_id and author.get("author_id") != self.character_id:
                return MORE
            self._turn_id = turn_id
        elif turn_id != self._turn_id:
            return MORE  # another character's answer (smart reply): listen() shows it
        return self._snapshot(frame, raw)

    def recover(self, sent: bool) -> Any:
        """After a drop: ask again (``MORE``) if nothing went out, else follow the turn over HTTP.

        Blocking (HTTP); the asyncio face runs it in its pool.
        """
        self._release()
        if self._turn_id is None or (self._regen_turn_id and self._candidate_seen is None):
            if not sent and self._resends < MAX_RESENDS:
                # Nothing went out: asking again cannot make a second answer.
                self._resends += 1
                self._send()
                return MORE
            raise errors.ConnectionLost(
                "the room connection dropped before the answer started; "
                "it may still appear in the room (rooms.turns / rooms.listen)",
                partial=None, message_delivered=None,
            )  # fmt: skip
        interval = 0.05
        while True:
            found = _find_turn(self._session, self.room_id, self._turn_id)
            cand = None
            if found is not None:
                cand = (
                    found.candidate(self._candidate_seen)
                    if self._candidate_seen
                    else found.primary_candidate
                )
            if found is not None and cand is not None and cand.is_final:
                self.turn = found
                self._done = True
                return found
            if time.monotonic() + interval > self._deadline:
                raise errors.ConnectionLost(
                    "the room connection dropped and the answer did not complete in time",
                    partial=self.turn, message_delivered=True,
                )  # fmt: skip
            time.sleep(interval)
            interval = min(1.0, interval * 2)

    def __repr__(self) -> str:
        state = "done" if self._done else ("closed" if self._closed else "streaming")
        text = self.turn.text[:30] if self.turn else ""
        return f"<RoomReplyStream room={self.room_id} {state} text={text!r}>"


class RoomListener(Iterator[Turn]):
    """The turns other members and characters add to a room, as they arrive.

    Iterating yields each turn once it is complete (with ``partial=True``
    also every snapshot while a character writes). The iteration ends when
    nothing arrives for ``timeout`` seconds, or when :meth:`close` is called
    (from any thread; also a context manager). A dropped socket is
    reconnected and the room resubscribed; turns added meanwhile are fetched
    over HTTP, so none is missed.
    """

    threadsafe_close = True  # the async face may close it while a next() waits

    def __init__(
        self,
        session: Session,
        room_id: str,
        *,
        timeout: float,
        include_own: bool,
        partial: bool,
        own_author_id: str,
    ) -> None:
        self._session = session
        self.room_id = room_id
        self.timeout = timeout
        self._include_own = include_own
        self._partial = partial
        self._own = own_author_id
        self._since = time.time()
        self._seen: Set[Tuple[str, str]] = set()  # (turn id, final text) yielded
        self._known: List[str] = []  # turn ids seen, oldest first (for catching up)
        self._backlog: List[Turn] = []
        self._closed = False
        self._sub = session.room_ws.subscribe(
            room_channel(room_id), time.monotonic() + session.room_ws.connect_timeout * 2
        )

    def __iter__(self) -> RoomListener:
        return self

    def __next__(self) -> Turn:
        end = time.monotonic() + self.timeout
        while True:
            if self._backlog:
                return self._backlog.pop(0)
            if self._closed:
                raise StopIteration
            remaining = end - time.monotonic()
            if remaining <= 0:
                self.close()
                raise StopIteration
            try:
                data = self._sub.get(remaining)
            except Disconnected:
                if self._closed or self._session.closed:
                    self.close()
                    raise StopIteration from None
                self._reconnect(end)
                continue
            if data is None or self._closed:
                continue
            turn = self._accept(data)
            if turn is not None:
                return turn

    def _accept(self, data: Mapping[str, Any]) -> Optional[Turn]:
        if data.get("command") not in ("add_turn", "update_turn"):
            return None
        raw = data.get("turn")
        if not isinstance(raw, dict):
            return None
        turn = _turn_of(data)
        if turn is None:
            return None
        return self._admit(turn, _raw_is_final(raw))

    def _admit(self, turn: Turn, final: bool) -> Optional[Turn]:
        if turn.turn_id not in self._known:
            self._known.append(turn.turn_id)
            del self._known[:-200]
        if turn.author_is_human and turn.author_id == self._own and not self._include_own:
            return None
        if not final:
            return turn if self._partial else None
        key = (turn.turn_id, turn.text)
        if key in self._seen:
            return None
        self._seen.add(key)
        return turn

    def _reconnect(self, end: float) -> None:
        """Resubscribe (retrying with the transport's backoff) and catch up over HTTP."""
        ws = self._session.room_ws
        while True:
            try:
                ws.resubscribe(self._sub, end)
                break
            except (errors.NetworkError, errors.Timeout, Disconnected):
                if time.monotonic() >= end or self._closed:
                    return
                time.sleep(min(0.5, max(0.0, end - time.monotonic())))
        try:
            page = self._session.chats.page(self.room_id)
        except errors.CaiError as exc:
            log.info("could not catch up on room %s: %s", self.room_id, exc)
            return
        missed: List[Turn] = []
        for t in page.turns:  # newest first
            if t.turn_id in self._known:
                break
            ts = t.create_time.timestamp() if t.create_time else self._since
            if ts + 1 < self._since:
                break
            missed.append(t)
        for t in reversed(missed):
            got = self._admit(t, t.is_final)
            if got is not None:
                self._backlog.append(got)

    def close(self) -> None:
        """Stop listening (idempotent, thread-safe): a waiting ``next()`` returns at once."""
        if self._closed:
            return
        self._closed = True
        self._sub.close()
        self._sub.wake()

    def __enter__(self) -> RoomListener:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._sub.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self._closed else "listening"
        return f"<RoomListener room={self.room_id} {state}>"
