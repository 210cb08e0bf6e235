"""Websocket chat flows: building commands, reading replies, recovering from drops.

Building a command is a pure function (``build_*``); reading frames is done
by :class:`ReplyStream` (a generated reply) and :func:`run_command` (a
one-frame answer). Recovery after a dropped socket uses HTTP: the ids of the
user's turn and of a new chat are generated here, so the chat's turns tell
what the service already has, and a message is resent only when the service
provably never got it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

from caiclient import errors
from caiclient.models import Chat, Turn, parse
from caiclient.transport.ws import Disconnected, PendingRequest, new_id

if TYPE_CHECKING:  # pragma: no cover
    from caiclient.session import Session

__all__ = [
    "ReplyStream",
    "build_create_chat",
    "build_edit",
    "build_pin",
    "build_primary",
    "build_regenerate",
    "build_send",
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
MAX_RESENDS = 2
RECHECK_DELAY = 0.5


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


def _is_done(turn: Turn) -> bool:
    first = turn.candidates[0] if turn.candidates else None
    return turn.is_final or bool(first is not None and first.is_final)


def _deadline(session: Session) -> float:
    return time.monotonic() + session.reply_timeout


def _frame_timeout(session: Session) -> float:
    t = session.timeout
    return float(t[1] if isinstance(t, tuple) else t)


def run_command(
    session: Session,
    chat_id: str,
    build: Callable[[str], Dict[str, Any]],
    accept: Callable[[Mapping[str, Any]], bool],
    *,
    retry_on_drop: bool,
) -> Mapping[str, Any]:
    """Send a command whose answer is one frame; return the first frame ``accept`` takes.

    ``retry_on_drop`` resends (once) after a dropped connection: only for
    commands that are safe to repeat (pin, primary candidate).
    """
    ws = session.ws
    deadline = _deadline(session)
    attempts = 2 if retry_on_drop else 1
    for attempt in range(attempts):
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
                if attempt + 1 < attempts:
                    log.debug("%s: connection dropped, sending again", command)
                    continue
                raise errors.ConnectionLost(
                    f"the chat connection dropped during {command} ({exc.reason})",
                    message_delivered=None if exc.sent else False,
                ) from None
    raise AssertionError("unreachable")  # pragma: no cover


class ReplyStream(Iterator[Turn]):
    """The character's reply as it is written: an iterator of growing Turn snapshots.

    Each snapshot holds the whole text so far (not a delta); the last one
    has ``is_final`` set. Also a context manager: leaving the ``with`` block
    (or calling :meth:`close`) abandons the reply; frames that arrive later
    are discarded. :meth:`final` waits for the complete reply.

    The message is sent when the stream is created. If the connection drops,
    the stream finds out over HTTP what the service has: it finishes with the
    reply if the service completes it, sends the message again only if the
    service never got it, and otherwise raises
    :class:`~caiclient.errors.ConnectionLost`.

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
        self._resends = 0
        self._deadline = _deadline(session)
        self._author_id = session.account_id if regenerate_turn_id is None else ""
        self._req: Optional[PendingRequest] = None
        self._pending: List[Turn] = []
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
        req = ws.open(self.chat_id)
        self._req = req
        try:
            ws.send(req, self._build(req.request_id), self._deadline)
        except Disconnected:
            # Nothing went out: the frame could not be written. The reader sees it as a drop.
            req.frames.put_nowait(_DROPPED_UNSENT)
        except BaseException:
            req.close()
            raise

    # -- iteration

    def __iter__(self) -> ReplyStream:
        return self

    def __next__(self) -> Turn:
        if self._pending:
            return self._pending.pop(0)
        if self._done or self._closed:
            raise StopIteration
        try:
            turn = self._next_snapshot()
        except BaseException:
            self._finish()
            raise
        if turn is None:
            self._finish()
            raise StopIteration
        return turn

    def _next_snapshot(self) -> Optional[Turn]:
        while True:
            req = self._req
            if req is None or self._closed:
                return None
            try:
                frame = req.receive(_frame_timeout(self._session), self._deadline)
            except Disconnected as exc:
                return self._recover(exc.sent)
            except errors.Timeout as exc:
                raise errors.Timeout(
                    f"{exc.message} (chat {self.chat_id})",
                    partial=self.turn,
                    user_turn_id=self.user_turn_id,
                ) from None
            if frame is _DROPPED_UNSENT:
                return self._recover(False)
            if frame is _ABANDONED:
                return None
            try:
                _raise_for(frame, self._command)
            except errors.GenerationError as exc:
                if "already exists" in exc.comment and self.user_turn_id is not None:
                    # The service has the message already (a resend after a drop): recover.
                    self.delivered = True
                    return self._recover(True)
                if isinstance(exc, errors.ContentFiltered):
                    self.delivered = False
                raise
            raw = frame.get("turn") if frame.get("command") in _TURN_COMMANDS else None
            if not isinstance(raw, dict):
                continue
            author = raw.get("author")
            if isinstance(author, dict) and author.get("is_human") is True:
                self.delivered = True
                continue
            if self._regen_turn_id is not None and _raw_turn_id(raw) != self._regen_turn_id:
                continue
            self.delivered = True
            primary = raw.get("primary_candidate_id")
            if isinstance(primary, str):
                self._candidate_seen = primary  # what recovery looks for, even if skipped below
            if self._coalesce and req.frames.qsize() > 0 and not _raw_is_final(raw):
                # Only the final reply is wanted and a newer snapshot (the text is
                # cumulative) is already waiting: skip parsing this one.
                continue
            turn = _turn_of(frame)
            if turn is None:
                continue
            self.turn = turn
            if _is_done(turn):
                self._done = True
                self._release()
            return turn

    # -- recovery over HTTP

    def _recover(self, sent: bool) -> Optional[Turn]:
        self._release()
        if self._regen_turn_id is not None:
            return self._recover_regeneration()
        assert self.user_turn_id is not None
        turns = self._find_user_turn()
        if turns is None and sent:
            time.sleep(RECHECK_DELAY)  # a frame in flight may still land: look again
            turns = self._find_user_turn()
        if turns is None:
            if self._resends >= MAX_RESENDS:
                raise errors.ConnectionLost(
                    "the chat connection kept dropping; the message was not delivered",
                    partial=self.turn, user_turn_id=self.user_turn_id, message_delivered=False,
                )  # fmt: skip
            self._resends += 1
            log.info("the service never got message %s: sending it again", self.user_turn_id)
            self._send()
            return self._next_snapshot()
        self.delivered = True
        return self._await_reply_over_http(turns)

    def _find_user_turn(self) -> Optional[List[Turn]]:
        """The newest page of the chat if it contains the user's turn, else ``None``."""
        try:
            page = self._session.chats.page(self.chat_id)
        except errors.CaiError as exc:
            raise errors.ConnectionLost(
                f"the chat connection dropped and the chat could not be checked: {exc}",
                partial=self.turn, user_turn_id=self.user_turn_id, message_delivered=None,
            ) from exc  # fmt: skip
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
            time.sleep(interval)
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
            for t in self._session.chats.page(self.chat_id).turns:
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
            time.sleep(interval)
            interval = min(1.0, interval * 2)

    # -- finishing

    def final(self) -> Turn:
        """Wait for the complete reply and return it."""
        self._coalesce = True
        for _ in self:
            pass
        if self.turn is None or not self._done:
            raise errors.GenerationError(
                "the reply ended before it was complete", command=self._command
            )
        return self.turn

    def text_deltas(self) -> Iterator[str]:
        """The reply as new pieces of text (what each snapshot adds), for printing."""
        seen = ""
        for turn in self:
            text = turn.text
            yield text[len(seen) :] if text.startswith(seen) else text
            seen = text

    def _release(self) -> None:
        req, self._req = self._req, None
        if req is not None:
            req.close()

    def _finish(self) -> None:
        self._done = self._done or self._closed
        self._release()

    def close(self) -> None:
        """Abandon the reply: frames still on their way are discarded. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            req = self._req
        if req is not None:
            req.frames.put_nowait(_ABANDONED)
        self._release()

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
    """Create a chat over the websocket; recover over HTTP if the socket drops."""
    ws = session.ws
    chat_id = new_id()
    creator = session.account_id
    deadline = _deadline(session)
    for attempt in range(MAX_RESENDS + 1):
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
            existing = session.chats.get(chat_id)
        except errors.NotFound:
            existing = None
        if existing is None:
            if attempt < MAX_RESENDS:
                continue
            raise errors.ConnectionLost(
                "the chat connection kept dropping; no chat was created", message_delivered=False
            )
        if not greeting:
            return existing, None
        while True:
            page = session.chats.page(chat_id)
            bot = [t for t in page.turns if not t.author_is_human]
            if bot and _is_done(bot[-1]):
                return existing, bot[-1]
            if time.monotonic() > deadline:
                raise errors.ConnectionLost(
                    "the chat was created but its greeting did not arrive", message_delivered=True
                )
            time.sleep(0.1)
    raise AssertionError("unreachable")  # pragma: no cover
