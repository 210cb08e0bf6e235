"""``session.rooms``: group chats (several characters and people in one conversation).

REST for the rooms themselves (``neo /murooms/``, ``/muroom/...``;
cainode.md 5.1), the room socket for talking in them
(:mod:`caiclient.transport.rooms`), and the chat history routes for their
turns (a room's id is read like a chat id).
"""

from __future__ import annotations

import threading
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from caiclient import _validate as v
from caiclient import errors
from caiclient.models import Room, Turn, TurnPage, parse
from caiclient.resources._base import Resource
from caiclient.resources._replies import build_edit, reply_of
from caiclient.resources._room_replies import (
    RoomListener,
    RoomReplyStream,
    run_room_command,
    send_turn,
)
from caiclient.resources.chats import MESSAGE_MAX
from caiclient.transport.rooms import room_channel

__all__ = ["Rooms"]

ROOM_TITLE_MAX = 100
LISTEN_TIMEOUT = 300.0


def _room_body(body: Any) -> Any:
    """The room object of a create/join answer (top level, or under ``room``)."""
    if isinstance(body, dict) and isinstance(body.get("room"), dict):
        return body["room"]
    return body


class Rooms(Resource):
    """Group chats ("rooms"): create and join them, talk, let characters answer, listen.

    Every method needs a token. Rooms are private to their members: another
    account gets :class:`~caiclient.errors.NotFound` or
    :class:`~caiclient.errors.PermissionDenied`.
    """

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self._identity: Optional[Tuple[str, str]] = None
        self._identity_lock = threading.Lock()

    def _me(self) -> Tuple[str, str]:
        """``(account id, username)``, fetched once."""
        with self._identity_lock:
            if self._identity is None:
                me = self._session.account.me()
                if me.account_id is None:
                    raise errors.ParseError("the account has no id (GET /chat/user/)")
                self._identity = (str(me.account_id), me.username)
            return self._identity

    def _patch(self, room_id: str, ops: List[Dict[str, Any]], what: str) -> None:
        seg = v.segment(room_id, "room_id")
        self._call("PATCH", self._neo(f"/muroom/{seg}/"), json=ops, what=what)

    # ------------------------------------------------------------------ rooms

    def list(self) -> List[Room]:
        """Your rooms (those you created or joined)."""
        body = self._call(
            "GET", self._neo("/murooms/"), params={"include_turns": "false"}, what="rooms.list()"
        )
        return self._many(Room, body, "rooms")

    def get(self, room_id: str) -> Room:
        """One of your rooms by id (:class:`~caiclient.errors.NotFound` if you are not in it).

        The service has no known route for one room; this reads your room list.
        """
        rid = v.identifier(room_id, "room_id")
        for room in self.list():
            if room.room_id == rid:
                return room
        raise errors.NotFound(
            f"you are in no room with id {rid!r}", status=404, method="GET", path="/murooms/"
        )

    def create(
        self,
        name: str,
        character_ids: Sequence[str],
        *,
        greeting: bool = True,
        anyone_can_join: bool = True,
    ) -> Room:
        """Create a room with these characters; ``name`` becomes its title.

        ``greeting`` lets the characters greet the room. With
        ``anyone_can_join`` whoever has the room's invite code
        (``room.join_token``) may :meth:`join`.
        """
        v.text(name, "name", min_len=1, max_len=ROOM_TITLE_MAX)
        ids = v.id_list(character_ids, "character_ids")
        body = self._call(
            "POST",
            self._neo("/muroom/create"),
            json={
                "characters": ids,
                "title": name,
                "settings": {"anyone_can_join": bool(anyone_can_join), "require_approval": False},
                "visibility": "VISIBILITY_UNLISTED",
                "with_greeting": bool(greeting),
            },
            what="rooms.create()",
        )
        return self._one(Room, _room_body(body), None)

    def join(self, join_token: str) -> Room:
        """Join a room by its invite code (``room.join_token`` of a room someone shared)."""
        token = v.identifier(join_token, "join_token")
        self._call("GET", self._neo("/muroom/"), params={"join_token": token}, what="rooms.join()")
        body = self._call(
            "POST", self._neo("/muroom/join"), json={"join_token": token}, what="rooms.join()"
        )
        return self._one(Room, _room_body(body), None)

    def leave(self, room_id: str) -> None:
        """Leave a room you joined (its owner deletes it with :meth:`delete` instead).

        Sent as the room's membership patch (``op: remove`` on ``users``),
        the shape of the service's room activity (cainode.md 5.2).
        """
        seg = v.segment(room_id, "room_id")
        me, _ = self._me()
        self._patch(
            room_id,
            [{"op": "remove", "path": f"/muroom/{seg}/users", "value": {"id": me}}],
            "rooms.leave()",
        )
        self._forget_channel(room_id)

    def delete(self, room_id: str) -> None:
        """Delete a room you own (for every member)."""
        seg = v.segment(room_id, "room_id")
        self._call("DELETE", self._neo(f"/muroom/{seg}/"), what="rooms.delete()")
        self._forget_channel(room_id)

    def _forget_channel(self, room_id: str) -> None:
        ws = self._session.__dict__.get("_room_ws")
        if ws is not None:
            ws.leave_channel(room_channel(room_id))

    def rename(self, room_id: str, name: str) -> None:
        """Give a room a new title."""
        seg = v.segment(room_id, "room_id")
        v.text(name, "name", min_len=1, max_len=ROOM_TITLE_MAX)
        self._patch(
            room_id,
            [{"op": "replace", "path": f"/muroom/{seg}", "value": {"title": name}}],
            "rooms.rename()",
        )

    def add_character(self, room_id: str, character_id: str) -> None:
        """Bring a character into a room."""
        seg = v.segment(room_id, "room_id")
        cid = v.identifier(character_id, "character_id")
        self._patch(
            room_id,
            [{"op": "add", "path": f"/muroom/{seg}/characters", "value": {"id": cid}}],
            "rooms.add_character()",
        )

    def remove_character(self, room_id: str, character_id: str) -> None:
        """Take a character out of a room."""
        seg = v.segment(room_id, "room_id")
        cid = v.identifier(character_id, "character_id")
        self._patch(
            room_id,
            [{"op": "remove", "path": f"/muroom/{seg}/characters", "value": {"id": cid}}],
            "rooms.remove_character()",
        )

    # ------------------------------------------------------------------ history

    def page(self, room_id: str, next_token: Optional[str] = None) -> TurnPage:
        """One page of a room's turns, newest first, and the token of the next page."""
        v.identifier(room_id, "room_id")
        return self._session.chats.page(room_id, next_token)

    def turns(self, room_id: str) -> Iterator[Turn]:
        """Every turn of a room, newest first, fetched one page at a time as you iterate."""
        return self._session.chats.turns(v.identifier(room_id, "room_id"))

    def delete_turns(self, room_id: str, turn_ids: Sequence[str]) -> None:
        """Delete messages (turns) from a room (the chat route, which takes a room id)."""
        v.identifier(room_id, "room_id")
        self._session.chats.delete_turns(room_id, turn_ids)

    # ------------------------------------------------------------------ talking

    def send(self, room_id: str, text: str, *, image_rel_path: Optional[str] = None) -> Turn:
        """Post your message into a room; returns it as the room stored it.

        Characters do not answer by themselves: ask with :meth:`reply`. The
        message is never lost or doubled across a dropped connection.
        """
        rid = v.identifier(room_id, "room_id")
        v.text(text, "text", min_len=1, max_len=MESSAGE_MAX)
        if image_rel_path is not None:
            v.text(image_rel_path, "image_rel_path", min_len=1, max_len=512)
        self._session.require_account("rooms.send()")
        author, username = self._me()
        return send_turn(
            self._session, rid, text,
            author_id=author, user_name=username, image_rel_path=image_rel_path,
        )  # fmt: skip

    def reset(self, room_id: str) -> Turn:
        """Start the room's memory afresh (a context-reset turn); returns that turn."""
        rid = v.identifier(room_id, "room_id")
        self._session.require_account("rooms.reset()")
        author, username = self._me()
        return send_turn(
            self._session, rid, "restart", author_id=author, user_name=username, context_reset=True
        )

    def stream_reply(self, room_id: str, character_id: Optional[str] = None) -> RoomReplyStream:
        """Ask a character to answer in the room, streamed as growing Turn snapshots.

        With ``character_id`` that character answers; without, the service's
        smart reply picks who does (the stream follows the first one; if
        more answer, :meth:`listen` and :meth:`turns` show them).
        """
        rid = v.identifier(room_id, "room_id")
        cid = None if character_id is None else v.identifier(character_id, "character_id")
        self._session.require_account("rooms.stream_reply()")
        _, username = self._me()
        return RoomReplyStream(self._session, room_id=rid, user_name=username, character_id=cid)

    @reply_of("stream_reply")
    def reply(self, room_id: str, character_id: Optional[str] = None) -> Turn:
        """Ask a character to answer (or let the service pick); returns the complete answer."""
        with self.stream_reply(room_id, character_id) as stream:
            return stream.final()

    def stream_regenerate(self, room_id: str, turn_id: str, character_id: str) -> RoomReplyStream:
        """Ask for another answer (a new candidate) to a character's turn, streamed."""
        rid = v.identifier(room_id, "room_id")
        tid = v.identifier(turn_id, "turn_id")
        cid = v.identifier(character_id, "character_id")
        self._session.require_account("rooms.stream_regenerate()")
        _, username = self._me()
        return RoomReplyStream(
            self._session, room_id=rid, user_name=username, character_id=cid,
            regenerate_turn_id=tid,
        )  # fmt: skip

    @reply_of("stream_regenerate")
    def regenerate(self, room_id: str, turn_id: str, character_id: str) -> Turn:
        """Ask for another answer to a character's turn; returns the turn with it."""
        with self.stream_regenerate(room_id, turn_id, character_id) as stream:
            return stream.final()

    def edit(self, room_id: str, turn_id: str, candidate_id: str, text: str) -> Turn:
        """Replace the text of a candidate in a room (yours or a character's); returns the turn."""
        rid = v.identifier(room_id, "room_id")
        tid = v.identifier(turn_id, "turn_id")
        cand = v.identifier(candidate_id, "candidate_id")
        v.text(text, "text", min_len=1, max_len=MESSAGE_MAX)
        self._session.require_account("rooms.edit()")
        push = run_room_command(
            self._session, rid,
            lambda request_id: build_edit(request_id, rid, tid, cand, text),
            lambda data: data.get("command") == "update_turn"
            and ((data.get("turn") or {}).get("turn_key") or {}).get("turn_id") == tid,
        )  # fmt: skip
        return parse(Turn, push.get("turn"), path="update_turn.turn")

    def listen(
        self,
        room_id: str,
        *,
        timeout: float = LISTEN_TIMEOUT,
        include_own: bool = False,
        partial: bool = False,
    ) -> Iterator[Turn]:
        """The turns others add to a room (people and characters), as they arrive.

        Each turn is yielded once complete (``partial=True``: also while a
        character writes). Your own messages are left out unless
        ``include_own``. The iteration ends after ``timeout`` seconds with
        nothing new, or when you ``close()`` it (it is also a context
        manager). It survives a dropped connection without missing turns::

            with s.rooms.listen(room.room_id, timeout=60) as turns:
                for turn in turns:
                    print(turn.author_name, turn.text)
        """
        rid = v.identifier(room_id, "room_id")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise errors.ValidationError(
                "timeout must be a positive number of seconds", field="timeout"
            )
        self._session.require_account("rooms.listen()")
        author, _ = self._me()
        return RoomListener(
            self._session, rid, timeout=float(timeout), include_own=bool(include_own),
            partial=bool(partial), own_author_id=author,
        )  # fmt: skip
