"""Websocket chat flows: building commands, reading replies, recovering from drops.

Building a command is a pure function (``build_*``); reading frames is done
by :class:`ReplyStream` (a generated reply) and :func:`run_command` (a
one-frame answer). Recovery after a dropped socket uses HTTP: the ids of the
user's turn and of a new chat are generated here, so the chat's turns tell
what the service already has, and a message is resent only when the service
provably never got it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from contextvars import ContextVar
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
    TypeVar,
)

from caiclient import errors
from caiclient.models import Chat, Turn, parse
from caiclient.transport.ws import (
    Disconnected,
    FrameSink,
    PendingRequest,
    _is_human_echo,
    new_id,
)

if TYPE_CHECKING:  # pragma: no cover
    from caiclient.session import Session

__all__ = [
    "MORE",
    "Recover",
    "ReplyStream",
    "build_create_chat",
    "build_edit",
    "build_pin",
    "build_primary",
    "build_regenerate",
    "build_send",
    "delta",
    "find_turn",
    "frames_into",
    "patiently",
    "reply_of",
    "run_command",
]

log = logging.getLogger("caiclient.chats")

ORIGIN_ID = "web-next"
ANNOTATION_KEYS = (
    "bad_memory", "boring", "ends_chat_early", "funny", "helpful", "inaccurate", "interesting",
    "long", "not_bad_memory", "not_boring", "not_ends_chat_early", "not_funny", "not_helpful",
    "not_inaccurate", "not_interesting", "not_long", "not_out_of_character", "not_repetitive",
    "not_short", "out_of_character", "repetitive", "short",
)  # fmt: skip
RECHECK_DELAY = 0.5
# Resends of a command that provably never went out, for flows without a time budget
# (the rooms socket). DM chat messages resend within the reply deadline instead.
MAX_RESENDS = 2

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


# ------------------------------------------------------------------ building


def _envelope(command: str, request_id: str, payload: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "command": command,
        "request_id": request_id,
        "origin_id": ORIGIN_ID,
        "payload": payload,
    }


def build_create_chat(
    request_id: str,
    chat_id: str,
    character_id: str,
    creator_id: str,
    with_greeting: bool,
    model_type: Optional[str] = None,
) -> Dict[str, Any]:
    """The ``create_chat`` command."""
    chat: Dict[str, Any] = {
        "chat_id": chat_id,
        "creator_id": creator_id,
        "visibility": "VISIBILITY_PRIVATE",
        "character_id": character_id,
        "type": "TYPE_ONE_ON_ONE",
    }
    if model_type:
        chat["preferred_model_type"] = model_type
    return _envelope("create_chat", request_id, {"chat": chat, "with_greeting": with_greeting})


def _generation_options(character_id: str) -> Dict[str, Any]:
    return {
        "character_id": character_id,
        "previous_annotations": {k: 0 for k in ANNOTATION_KEYS},
        "selected_language": "",
        "tts_enabled": False,
        "user_name": "",
    }


def build_send(
    request_id: str,
    character_id: str,
    chat_id: str,
    author_id: str,
    text: str,
    turn_id: str,
    candidate_id: str,
    image_rel_path: Optional[str] = None,
) -> Dict[str, Any]:
    """The ``create_and_generate_turn`` command (the user's turn ids are ours)."""
    candidate: Dict[str, Any] = {"candidate_id": candidate_id, "raw_content": text}
    if image_rel_path:
        candidate["tti_image_rel_path"] = image_rel_path
    payload = _generation_options(character_id)
    payload["num_candidates"] = 1
    payload["turn"] = {
        "author": {"author_id": author_id, "is_human": True, "name": ""},
        "candidates": [candidate],
        "primary_candidate_id": candidate_id,
        "turn_key": {"chat_id": chat_id, "turn_id": turn_id},
    }
    return _envelope("create_and_generate_turn", request_id, payload)


def build_regenerate(
    request_id: str, character_id: str, chat_id: str, turn_id: str
) -> Dict[str, Any]:
    """The ``generate_turn_candidate`` command (a new candidate for a character's turn)."""
    payload = _generation_options(character_id)
    payload["turn_key"] = {"chat_id": chat_id, "turn_id": turn_id}
    return _envelope("generate_turn_candidate", request_id, payload)


def build_edit(
    request_id: str, chat_id: str, turn_id: str, candidate_id: str, text: str
) -> Dict[str, Any]:
    """The ``edit_turn_candidate`` command."""
    return _envelope(
        "edit_turn_candidate",
        request_id,
        {
            "turn_key": {"chat_id": chat_id, "turn_id": turn_id},
            "current_candidate_id": candidate_id,
            "new_candidate_raw_content": text,
        },
    )


def build_pin(request_id: str, chat_id: str, turn_id: str, pinned: bool) -> Dict[str, Any]:
    """The ``set_turn_pin`` command."""
    return _envelope(
        "set_turn_pin",
        request_id,
        {"is_pinned": pinned, "turn_key": {"chat_id": chat_id, "turn_id": turn_id}},
    )


def build_primary(request_id: str, chat_id: str, turn_id: str, candidate_id: str) -> Dict[str, Any]:
    """The ``update_primary_candidate`` command (with a request_id, unlike some old clients)."""
    return _envelope(
        "update_primary_candidate",
        request_id,
        {"candidate_id": candidate_id, "turn_key": {"chat_id": chat_id, "turn_id": turn_id}},
    )


# ------------------------------------------------------------------ reading


_NOT_FOUND = re.compile(r"not found|does not exist|doesn't exist|no such", re.IGNORECASE)


def _is_not_found(comment: str, code: Optional[int]) -> bool:
    """Whether a ``neo_error`` says the chat, character or turn does not exist.

    Evidence: the service's ``neo_error`` frames carry HTTP-style codes in
    ``error_code`` (400 with ``sub_code`` 101 for the self-harm filter, see
    protocol/others.md), and its "not found" answers read "... not found" /
    "does not exist" (the v1 API's texts, kramcat and node_characterai). No
    client source shows a frame for an unknown chat, so both signs count.
    """
    return code == 404 or (code in (None, 400) and bool(_NOT_FOUND.search(comment)))


def _raise_for(frame: Mapping[str, Any], command: str) -> None:
    """Raise the error a frame stands for, if it is one."""
    cmd = frame.get("command")
    if not isinstance(cmd, str) or not (cmd == "neo_error" or cmd.startswith("filter_user_input")):
        return
    raw_comment = frame.get("comment")
    comment = raw_comment if isinstance(raw_comment, str) else ""
    rid = frame.get("request_id") if isinstance(frame.get("request_id"), str) else None
    if cmd != "neo_error":
        raise errors.ContentFiltered(
            comment, kind=cmd, command=command, request_id=rid, frame=frame
        )
    raw_code = frame.get("error_code")
    code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
    if _is_not_found(comment, code):
        # Not an HTTP answer: no status, no path; the command names what was asked.
        raise errors.NotFound(
            f"[{command}] {comment or 'not found'}", request_id=rid, body=dict(frame)
        )
    raise errors.GenerationError(
        comment,
        command=command,
        request_id=rid,
        error_code=code,
        sub_code=frame.get("sub_code") if isinstance(frame.get("sub_code"), int) else None,
        frame=frame,
    )


def _turn_of(frame: Mapping[str, Any]) -> Optional[Turn]:
    if frame.get("command") not in ("add_turn", "update_turn") or not isinstance(
        frame.get("turn"), dict
    ):
        return None
    try:
        return parse(Turn, frame["turn"], path="frame.turn")
    except errors.ParseError as exc:
        log.warning("ignoring a turn frame the library cannot read: %s", exc)
        return None


_TURN_COMMANDS = ("add_turn", "update_turn")


def _raw_turn_id(raw: Mapping[str, Any]) -> Any:
    key = raw.get("turn_key")
    return key.get("turn_id") if isinstance(key, dict) else None


def _raw_is_final(raw: Mapping[str, Any]) -> bool:
    """Whether a turn (as received) is complete, without parsing it into a model."""
    cands = raw.get("candidates")
    if not isinstance(cands, list) or not cands:
        return False
    primary = raw.get("primary_candidate_id")
    return any(
        isinstance(cand, dict)
        and (i == 0 or cand.get("candidate_id") == primary)
        and cand.get("is_final") is True
        for i, cand in enumerate(cands)
    )


def _routine_frame(frame: Any) -> bool:
    """A frame a reader that wants only the complete reply need not wake for.

    A snapshot a later one replaces (the text is cumulative) or the echo of
    the user's message; never an error, the last snapshot or a marker.
    Runs in the websocket reader thread: cheap, and it never raises.
    """
    if type(frame) is not dict or frame.get("command") not in _TURN_COMMANDS:
        return False
    raw = frame.get("turn")
    if type(raw) is not dict:
        return False
    return _is_human_echo(frame) or not _raw_is_final(raw)


def _defer_routine(req: Optional[PendingRequest]) -> None:
    defer = getattr(req.frames, "defer", None) if req is not None else None
    if defer is not None:
        defer(_routine_frame)


def _is_done(turn: Turn) -> bool:
    first = turn.candidates[0] if turn.candidates else None
    return turn.is_final or bool(first is not None and first.is_final)


def _deadline(session: Session) -> float:
    return time.monotonic() + session.reply_timeout


def _frame_timeout(session: Session) -> float:
    t = session.timeout
    return float(t[1] if isinstance(t, tuple) else t)


# ------------------------------------------------------------------ patience

# Errors of an HTTP look at a chat that may pass if we wait (a restart, a 429
# storm, a dropped connection): recovery keeps trying them within the deadline.
_TRANSIENT = (
    errors.ServerError,
    errors.RateLimited,
    errors.NetworkError,
    errors.Timeout,
    errors.BlockedError,
)
RETRY_DELAY = 0.1  # the first pause between two looks; it doubles up to MAX_RETRY_DELAY
MAX_RETRY_DELAY = 2.0


class _Stopped(Exception):
    """Internal: the stream was closed while it waited; give up quietly."""


class OutOfTime(Exception):
    """Internal: the deadline passed while a transient error persisted (``last``)."""

    def __init__(self, last: BaseException) -> None:
        super().__init__(str(last))
        self.last = last


def _pause(seconds: float, stop: Optional[threading.Event]) -> None:
    if stop is None:
        time.sleep(seconds)
    elif stop.wait(seconds):
        raise _Stopped


def patiently(fetch: Callable[[], T], deadline: float, stop: Optional[threading.Event] = None) -> T:
    """``fetch()``, retried after transient errors until ``deadline``.

    Honours a 429's ``Retry-After``; raises :class:`OutOfTime` (carrying the
    last error) when the next try would start after the deadline. Other
    errors propagate at once.
    """
    delay = RETRY_DELAY
    while True:
        try:
            return fetch()
        except errors.ConnectionLost:
            raise
        except _TRANSIENT as exc:
            hint = getattr(exc, "retry_after", None)
            wait = float(hint) if isinstance(hint, (int, float)) and hint > 0 else delay
            if time.monotonic() + wait >= deadline:
                raise OutOfTime(exc) from None
            log.debug("looking at the chat failed (%s); again in %.2fs", exc, wait)
            _pause(wait, stop)
            delay = min(MAX_RETRY_DELAY, delay * 2)


def _resend_reserve(session: Session) -> float:
    """Time a resend needs to be worth it: a tenth of the reply deadline, at most 10 s."""
    return min(10.0, float(session.reply_timeout) / 10)


def _resend_pause(resends: int) -> float:
    return min(MAX_RETRY_DELAY, 0.05 * (2 ** min(resends, 8)))


def run_command(
    session: Session,
    chat_id: str,
    build: Callable[[str], Dict[str, Any]],
    accept: Callable[[Mapping[str, Any]], bool],
    *,
    retry_on_drop: bool,
    confirm: Optional[Callable[[], Optional[Mapping[str, Any]]]] = None,
) -> Mapping[str, Any]:
    """Send a command whose answer is one frame; return the first frame ``accept`` takes.

    ``retry_on_drop`` resends after a dropped connection, as long as the
    reply deadline allows: only for commands that are safe to repeat (pin,
    primary candidate, setting a candidate's text). ``confirm`` is asked
    first (over HTTP) whether the command already took effect; a frame-like
    mapping it returns is the answer.
    """
    ws = session.ws
    deadline = _deadline(session)
    attempt = 0
    while True:
        with ws.open(chat_id) as req:
            message = build(req.request_id)
            command = str(message["command"])
            try:
                ws.send(req, message, deadline)
                while True:
                    frame = req.receive(_frame_timeout(session), deadline)
                    _raise_for(frame, command)
                    if accept(frame):
                        return frame
            except Disconnected as exc:
                sent, reason = exc.sent, exc.reason
        delivered: Optional[bool] = None if sent else False
        if confirm is not None:
            try:
                done = patiently(confirm, deadline)
            except OutOfTime:
                done = None
            if done is not None:
                return done
        pause = _resend_pause(attempt)
        if not retry_on_drop or time.monotonic() + pause + _resend_reserve(session) > deadline:
            raise errors.ConnectionLost(
                f"the chat connection dropped during {command} ({reason})",
                message_delivered=delivered,
            )
        attempt += 1
        log.debug("%s: connection dropped, sending again (%d)", command, attempt)
        time.sleep(pause)


# ------------------------------------------------------------------ the reply stream

_SINK: ContextVar[Optional[Callable[[], FrameSink]]] = ContextVar("caiclient_frames", default=None)


@contextlib.contextmanager
def frames_into(factory: Callable[[], FrameSink]) -> Iterator[None]:
    """Reply streams created inside the block get their frames through ``factory()`` sinks.

    The seam between the protocol logic (:class:`ReplyStream`, which stays
    the only implementation) and a face that consumes frames its own way:
    the asyncio face passes sinks that hand frames to its event loop, then
    drives the stream with :meth:`ReplyStream.accept` and
    :meth:`ReplyStream.recover` instead of iterating it.
    """
    token = _SINK.set(factory)
    try:
        yield
    finally:
        _SINK.reset(token)


class Recover:
    """What :meth:`ReplyStream.accept` returns when the connection was lost.

    The face then calls :meth:`ReplyStream.recover` (blocking: HTTP) with
    ``sent`` (whether the message may have gone out).
    """

    __slots__ = ("sent",)

    def __init__(self, sent: bool) -> None:
        self.sent = sent


MORE: Any = object()  # accept()/recover(): no snapshot yet, read the next frame


def reply_of(stream: str, then: Optional[str] = None) -> Callable[[F], F]:
    """Mark a method as "the final reply of ``stream(...)`` (then ``then(turn)``)".

    The asyncio face runs such a method as the async stream and its
    ``final()``, holding no thread while it waits. ``then`` names a method
    of the same object that receives the final turn and returns the result.
    """

    def mark(fn: F) -> F:
        fn.__caiclient_reply_of__ = (stream, then)  # type: ignore[attr-defined]
        return fn

    return mark


def delta(seen: str, text: str) -> str:
    """What a snapshot's text adds to the text seen before (all of it if it was rewritten)."""
    return text[len(seen) :] if text.startswith(seen) else text


class ReplyStream(Iterator[Turn]):
    """The character's reply as it is written: an iterator of growing Turn snapshots.

    Each snapshot holds the whole text so far (not a delta); the last one
    has ``is_final`` set. Also a context manager: leaving the ``with`` block
    (or calling :meth:`close`) abandons the reply; frames that arrive later
    are discarded. :meth:`final` waits for the complete reply.

    The message is sent when the stream is created. If the connection drops,
    the stream finds out over HTTP what the service has: it finishes with the
    reply if the service completes it, sends the message again (as often as
    the reply deadline allows) only if the service never got it, and
    otherwise raises :class:`~caiclient.errors.ConnectionLost`.

    Iterating pulls frames on the calling thread. Another face may drive the
    same logic without a thread (see :func:`frames_into`): :meth:`accept`
    turns one frame into a step, :meth:`recover` finds out over HTTP what
    the service has after a drop.

    Attributes:
        chat_id: the chat.
        user_turn_id: the id of the user's message (``None`` for a regeneration).
        turn: the latest snapshot (``None`` before the first one).
        delivered: whether the service is known to have the message.
    """

    def __init__(
        self,
        session: Session,
        *,
        chat_id: str,
        character_id: str,
        text: Optional[str] = None,
        regenerate_turn_id: Optional[str] = None,
        image_rel_path: Optional[str] = None,
    ) -> None:
        self._session = session
        self.chat_id = chat_id
        self.character_id = character_id
        self._text = text
        self._regen_turn_id = regenerate_turn_id
        self._image = image_rel_path
        self.user_turn_id: Optional[str] = None if regenerate_turn_id else new_id()
        self._candidate_id = new_id()
        self.turn: Optional[Turn] = None
        self.delivered: Optional[bool] = None
        self._done = False
        self._closed = False
        self._lock = threading.Lock()
        self._stop = threading.Event()  # set by close(): recovery stops waiting
        self.resends = 0
        self._deadline = _deadline(session)
        self._frame_timeout = _frame_timeout(session)
        self._author_id = session.account_id if regenerate_turn_id is None else ""
        self._req: Optional[PendingRequest] = None
        self._sink = _SINK.get()
        self._coalesce = False  # final() skips parsing snapshots a newer one replaces
        self._candidate_seen: Optional[str] = None  # the reply's candidate, from any frame
        self._send()

    # -- sending

    @property
    def _command(self) -> str:
        return "generate_turn_candidate" if self._regen_turn_id else "create_and_generate_turn"

    def _build(self, request_id: str) -> Dict[str, Any]:
        if self._regen_turn_id is not None:
            return build_regenerate(
                request_id, self.character_id, self.chat_id, self._regen_turn_id
            )
        assert self.user_turn_id is not None and self._text is not None
        return build_send(
            request_id, self.character_id, self.chat_id, self._author_id, self._text,
            self.user_turn_id, self._candidate_id, self._image,
        )  # fmt: skip

    def _send(self) -> None:
        ws = self._session.ws
        req = ws.open(self.chat_id, frames=self._sink() if self._sink is not None else None)
        self._req = req
        if self._coalesce:
            _defer_routine(req)
        try:
            ws.send(req, self._build(req.request_id), self._deadline)
        except Disconnected:
            # Nothing went out: the frame could not be written. The reader sees it as a drop.
            req.frames.put(_DROPPED_UNSENT)
        except BaseException:
            req.close()
            raise

    # -- iteration (the blocking face)

    def __iter__(self) -> ReplyStream:
        return self

    def __next__(self) -> Turn:
        if self._done or self._closed:
            raise StopIteration
        try:
            turn = self._next_snapshot()
        except BaseException:
            self.finish()
            raise
        if turn is None:
            self.finish()
            raise StopIteration
        return turn

    def _next_snapshot(self) -> Optional[Turn]:
        while True:
            req = self._req
            if req is None or self._closed:
                return None
            try:
                frame = req.receive(self._frame_timeout, self._deadline)
            except Disconnected as exc:
                step: Any = self.recover(exc.sent)
            except errors.Timeout as exc:
                raise self.timed_out(exc) from None
            else:
                step = self.accept(frame)
                if isinstance(step, Recover):
                    step = self.recover(step.sent)
            if step is not MORE:
                return step

    # -- the protocol, one frame at a time (shared by every face)

    @property
    def request(self) -> Optional[PendingRequest]:
        """The request now in flight (``None`` once the reply is complete or abandoned)."""
        return self._req

    @property
    def deadline(self) -> float:
        """When the reply must be complete (a ``time.monotonic()`` value)."""
        return self._deadline

    @property
    def frame_timeout(self) -> float:
        """The longest wait for any one frame."""
        return self._frame_timeout

    def timed_out(self, exc: errors.Timeout) -> errors.Timeout:
        """The error to raise when no frame came in time (names the chat, keeps the partial)."""
        return errors.Timeout(
            f"{exc.message} (chat {self.chat_id})",
            partial=self.turn,
            user_turn_id=self.user_turn_id,
        )

    def accept(self, frame: Mapping[str, Any]) -> Any:
        """Take one frame of the request in flight.

        Returns a new snapshot, :data:`MORE` (nothing to show: read on),
        ``None`` (the stream was abandoned) or a :class:`Recover` (the
        connection was lost: call :meth:`recover`). Raises the error an
        error frame stands for. Cheap and non-blocking: safe on an event loop.
        """
        if frame is _DROPPED_UNSENT:
            return Recover(False)
        if frame is _ABANDONED:
            return None
        try:
            _raise_for(frame, self._command)
        except errors.GenerationError as exc:
            if "already exists" in exc.comment and self.user_turn_id is not None:
                # The service has the message already (a resend after a drop): recover.
                self.delivered = True
                return Recover(True)
            if isinstance(exc, errors.ContentFiltered):
                self.delivered = False
            raise
        raw = frame.get("turn") if frame.get("command") in _TURN_COMMANDS else None
        if not isinstance(raw, dict):
            return MORE
        author = raw.get("author")
        if isinstance(author, dict) and author.get("is_human") is True:
            self.delivered = True
            return MORE
        if self._regen_turn_id is not None and _raw_turn_id(raw) != self._regen_turn_id:
            return MORE
        self.delivered = True
        return self._snapshot(frame, raw)

    def _snapshot(self, frame: Mapping[str, Any], raw: Mapping[str, Any]) -> Any:
        """The end of :meth:`accept` for a frame of the reply's own turn: its snapshot or MORE."""
        primary = raw.get("primary_candidate_id")
        if isinstance(primary, str):
            self._candidate_seen = primary  # what recovery looks for, even if skipped below
        req = self._req
        if self._coalesce and req is not None and req.frames.qsize() > 0 and not _raw_is_final(raw):
            # Only the final reply is wanted and a newer snapshot (the text is
            # cumulative) is already waiting: skip parsing this one.
            return MORE
        turn = _turn_of(frame)
        if turn is None:
            return MORE
        self.turn = turn
        if _is_done(turn):
            self._done = True
            self._release()
        return turn

    # -- recovery over HTTP

    def recover(self, sent: bool) -> Any:
        """After a drop: what does the service have? Blocking (HTTP); returns a step.

        The complete reply (read over HTTP), :data:`MORE` after sending the
        message again (read the new request's frames), or ``None`` if the
        stream was closed meanwhile. Raises
        :class:`~caiclient.errors.ConnectionLost` when the deadline runs out.
        """
        self._release()
        try:
            if self._regen_turn_id is not None:
                return self._recover_regeneration()
            return self._recover_message(sent)
        except _Stopped:
            return None

    def _recover_message(self, sent: bool) -> Any:
        assert self.user_turn_id is not None
        turns = self._find_user_turn()
        if turns is None and sent:
            _pause(RECHECK_DELAY, self._stop)  # a frame in flight may still land: look again
            turns = self._find_user_turn()
        if turns is not None:
            self.delivered = True
            return self._await_reply_over_http(turns)
        pause = _resend_pause(self.resends)
        if time.monotonic() + pause + _resend_reserve(self._session) > self._deadline:
            raise errors.ConnectionLost(
                "the chat connection kept dropping until the reply deadline; "
                "the message was not delivered",
                partial=self.turn, user_turn_id=self.user_turn_id, message_delivered=False,
            )  # fmt: skip
        self.resends += 1
        log.info("the service never got message %s: sending it again", self.user_turn_id)
        _pause(pause, self._stop)
        self._send()
        return MORE

    def _look(self, fetch: Callable[[], T]) -> T:
        """An HTTP look at the chat, retried within the deadline."""
        try:
            return patiently(fetch, self._deadline, self._stop)
        except OutOfTime as exc:
            raise errors.ConnectionLost(
                f"the chat connection dropped and the chat could not be checked "
                f"before the reply deadline: {exc.last}",
                partial=self.turn, user_turn_id=self.user_turn_id, message_delivered=None,
            ) from None  # fmt: skip
        except errors.CaiError as exc:
            if isinstance(exc, errors.ConnectionLost):
                raise
            raise errors.ConnectionLost(
                f"the chat connection dropped and the chat could not be checked: {exc}",
                partial=self.turn, user_turn_id=self.user_turn_id, message_delivered=None,
            ) from None  # fmt: skip

    def _find_user_turn(self) -> Optional[List[Turn]]:
        """The newest page of the chat if it contains the user's turn, else ``None``."""
        page = self._look(lambda: self._session.chats.page(self.chat_id))
        if any(t.turn_id == self.user_turn_id for t in page.turns):
            return page.turns
        return None

    def _await_reply_over_http(self, turns: List[Turn]) -> Optional[Turn]:
        interval = 0.05
        while True:
            idx = next(i for i, t in enumerate(turns) if t.turn_id == self.user_turn_id)
            reply = turns[idx - 1] if idx > 0 and not turns[idx - 1].author_is_human else None
            if reply is not None:
                self.turn = reply
                if _is_done(reply):
                    self._done = True
                    return reply
            if time.monotonic() + interval > self._deadline:
                raise errors.ConnectionLost(
                    "the chat connection dropped and the reply did not complete in time",
                    partial=self.turn, user_turn_id=self.user_turn_id, message_delivered=True,
                )  # fmt: skip
            _pause(interval, self._stop)
            interval = min(1.0, interval * 2)
            found = self._find_user_turn()
            if found is None:  # deleted meanwhile
                raise errors.ConnectionLost(
                    "the chat connection dropped and the message is gone from the chat",
                    partial=self.turn, user_turn_id=self.user_turn_id, message_delivered=True,
                )  # fmt: skip
            turns = found

    def _recover_regeneration(self) -> Optional[Turn]:
        candidate_id = self._candidate_seen
        if candidate_id is None:
            raise errors.ConnectionLost(
                "the chat connection dropped before the new reply started",
                partial=None,
                message_delivered=None,
            )
        interval = 0.05
        while True:
            for t in self._look(lambda: self._session.chats.page(self.chat_id)).turns:
                if t.turn_id == self._regen_turn_id:
                    cand = t.candidate(candidate_id)
                    if cand is not None and cand.is_final:
                        self._done = True
                        self.turn = t
                        return t
            if time.monotonic() + interval > self._deadline:
                raise errors.ConnectionLost(
                    "the chat connection dropped and the new reply did not complete in time",
                    partial=self.turn,
                    message_delivered=True,
                )
            _pause(interval, self._stop)
            interval = min(1.0, interval * 2)

    # -- finishing

    def final(self) -> Turn:
        """Wait for the complete reply and return it."""
        self.want_final()
        for _ in self:
            pass
        return self.final_turn()

    def want_final(self) -> None:
        """Only the complete reply is wanted: skip parsing snapshots a newer one replaces.

        Where the request's sink can defer (the event loop's does), the
        reader is not even woken for them: they wait in the sink for the
        frame that matters (the last, an error, a drop).
        """
        self._coalesce = True
        _defer_routine(self._req)

    def final_turn(self) -> Turn:
        """The complete reply, once the stream ended; raises if it ended incomplete."""
        if self.turn is None or not self._done:
            raise errors.GenerationError(
                "the reply ended before it was complete", command=self._command
            )
        return self.turn

    def text_deltas(self) -> Iterator[str]:
        """The reply as new pieces of text (what each snapshot adds), for printing."""
        seen = ""
        for turn in self:
            yield delta(seen, turn.text)
            seen = turn.text

    def _release(self) -> None:
        req, self._req = self._req, None
        if req is not None:
            req.close()

    def finish(self) -> None:
        """The stream ended (complete, failed or abandoned): stop routing its frames."""
        self._done = self._done or self._closed
        self._release()

    def close(self) -> None:
        """Abandon the reply: frames still on their way are discarded. Idempotent.

        Thread-safe: a thread waiting for a frame, or recovering over HTTP,
        stops at once.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            req = self._req
        stop = getattr(self, "_stop", None)  # (a subclass may not set it)
        if stop is not None:
            stop.set()
        if req is not None:
            req.frames.put(_ABANDONED)
        self._release()

    @property
    def closed(self) -> bool:
        """True once the reply was abandoned (:meth:`close`)."""
        return self._closed

    def display(self) -> Turn:
        """In a notebook: show the reply in one output, updated in place; return the final turn.

        Outside IPython it prints the text as it arrives (see ``caiclient._display``).
        """
        from caiclient._display import display_stream

        return display_stream(self)

    @property
    def done(self) -> bool:
        """True once the complete reply was received."""
        return self._done

    def __enter__(self) -> ReplyStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._release()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "done" if self._done else ("closed" if self._closed else "streaming")
        text = self.turn.text[:30] if self.turn else ""
        return f"<ReplyStream chat={self.chat_id} {state} text={text!r}>"


_DROPPED_UNSENT: Any = {"command": "__caiclient_dropped__"}
_ABANDONED: Any = {"command": "__caiclient_abandoned__"}


def create_chat(
    session: Session, character_id: str, greeting: bool, model_type: Optional[str]
) -> Tuple[Chat, Optional[Turn]]:
    """Create a chat over the websocket; recover over HTTP if the socket drops.

    The chat's id is ours, so after a drop the chat's existence tells
    whether the command arrived; it is sent again (as long as the reply
    deadline allows) only if it did not.
    """
    ws = session.ws
    chat_id = new_id()
    creator = session.account_id
    deadline = _deadline(session)
    attempt = 0

    def unknown(what: str) -> errors.ConnectionLost:
        return errors.ConnectionLost(
            f"the chat connection dropped and {what} before the reply deadline",
            message_delivered=None,
        )

    while True:
        chat: Optional[Chat] = None
        with ws.open(chat_id) as req:
            try:
                ws.send(
                    req,
                    build_create_chat(
                        req.request_id, chat_id, character_id, creator, greeting, model_type
                    ),
                    deadline,
                )
                while True:
                    frame = req.receive(_frame_timeout(session), deadline)
                    _raise_for(frame, "create_chat")
                    if frame.get("command") == "create_chat_response" and isinstance(
                        frame.get("chat"), dict
                    ):
                        chat = parse(Chat, frame["chat"], path="create_chat_response.chat")
                        if not greeting:
                            return chat, None
                        continue
                    turn = _turn_of(frame)
                    if turn is not None and chat is not None and not turn.author_is_human:
                        return chat, turn
            except Disconnected:
                pass
        # Dropped: does the chat exist?
        try:
            existing = patiently(lambda: _chat_or_none(session, chat_id), deadline)
        except OutOfTime:
            raise unknown("the chat could not be checked") from None
        if existing is None:
            pause = _resend_pause(attempt)
            if time.monotonic() + pause + _resend_reserve(session) > deadline:
                raise errors.ConnectionLost(
                    "the chat connection kept dropping until the reply deadline; "
                    "no chat was created",
                    message_delivered=False,
                )
            attempt += 1
            time.sleep(pause)
            continue
        if not greeting:
            return existing, None
        while True:
            try:
                page = patiently(lambda: session.chats.page(chat_id), deadline)
            except OutOfTime:
                raise unknown("the greeting could not be read") from None
            bot = [t for t in page.turns if not t.author_is_human]
            if bot and _is_done(bot[-1]):
                return existing, bot[-1]
            if time.monotonic() > deadline:
                raise errors.ConnectionLost(
                    "the chat was created but its greeting did not arrive", message_delivered=True
                )
            time.sleep(0.1)


def _chat_or_none(session: Session, chat_id: str) -> Optional[Chat]:
    try:
        return session.chats.get(chat_id)
    except errors.NotFound:
        return None


def find_turn(session: Session, chat_id: str, turn_id: str) -> Optional[Turn]:
    """A turn of a chat read over HTTP (newest pages first), or ``None``."""
    for turn in session.chats.turns(chat_id):
        if turn.turn_id == turn_id:
            return turn
    return None
