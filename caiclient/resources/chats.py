"""``session.chats``: conversations with characters."""

from __future__ import annotations

import time
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

from caiclient import _validate as v
from caiclient import errors
from caiclient.conversation import Conversation
from caiclient.models import Annotation, Chat, ChatHistory, Migration, Turn, TurnPage, parse
from caiclient.resources import _replies
from caiclient.resources._base import Resource
from caiclient.resources._replies import ReplyStream
from caiclient.transport.ws import new_id

__all__ = ["Chats"]

CHAT_NAME_MAX = 200
MESSAGE_MAX = 32000
STAR_LABELS = (
    "boring",
    "repetitive",
    "bad_memory",
    "short",
    "inaccurate",
    "out_of_character",
    "long",
    "ends_chat_early",
    "funny",
    "helpful",
    "interesting",
    "good_memory",
)


class Chats(Resource):
    """Chats: list and read them, rename, archive, copy, delete messages, rate.

    Every method needs a token.
    """

    # ------------------------------------------------------------------ read

    def list(self, character_id: str, *, preview_turns: int = 2) -> List[Chat]:
        """Your chats with a character, newest first, each with its last turns."""
        cid = v.identifier(character_id, "character_id")
        n = v.integer(preview_turns, "preview_turns", minimum=0, maximum=50)
        body = self._call(
            "GET",
            self._neo("/chats/"),
            params={"character_ids": cid, "num_preview_turns": n},
            what="chats.list()",
        )
        return self._many(Chat, body, "chats")

    def get(self, chat_id: str) -> Chat:
        """One chat by id."""
        seg = v.segment(chat_id, "chat_id")
        url = self._neo(f"/chat/{seg}/")
        body = self._call("GET", url, what="chats.get()")
        if not isinstance(body, dict) or not body.get("chat"):
            raise errors.NotFound(
                f"no chat with id {chat_id!r}",
                status=200,
                method="GET",
                path=urlsplit(url).path,
                body=body,
            )
        return self._one(Chat, body, "chat")

    def recent(self, character_id: Optional[str] = None) -> List[Chat]:
        """Your recent chats (with every character, or with one)."""
        if character_id is None:
            url = self._neo("/chats/recent/")
        else:
            url = self._neo(f"/chats/recent/{v.segment(character_id, 'character_id')}")
        body = self._call("GET", url, what="chats.recent()")
        return self._many(Chat, body, "chats")

    def hide_recent(self, character_id: str) -> None:
        """Remove a character from your recent chats (the chats themselves stay)."""
        seg = v.segment(character_id, "character_id")
        self._call("PUT", self._neo(f"/chats/recent/{seg}/hide"), what="chats.hide_recent()")

    def latest(self, character_id: str) -> Optional[Chat]:
        """Your most recent chat with a character, or ``None``."""
        chats = self.recent(character_id)
        return chats[0] if chats else None

    def histories(self, character_id: str, amount: int = 50) -> List[ChatHistory]:
        """Your legacy (chat v1) conversations with a character, with preview messages."""
        cid = v.identifier(character_id, "character_id")
        n = v.integer(amount, "amount", minimum=1, maximum=999)
        # histories_v2/ is what kramcat reads today; histories/ (PyCharacterAI 2.2.50)
        # is marked dead in others.md 2.3 (K0.5-0.6, N1 2024-04, CS "not working"):
        # v2 first, the old route when v2 answers 404/5xx.
        req = {"external_id": cid, "number": n}
        try:
            body = self._call(
                "POST", self._plus("/chat/character/histories_v2/"), json=req,
                idempotent=True, what="chats.histories()",
            )  # fmt: skip
        except (errors.NotFound, errors.ServerError):
            body = self._call(
                "POST", self._plus("/chat/character/histories/"), json=req,
                idempotent=True, what="chats.histories()",
            )  # fmt: skip
        return self._many(ChatHistory, body, "histories")

    def page(
        self, chat_id: str, next_token: Optional[str] = None, *, pinned_only: bool = False
    ) -> TurnPage:
        """One page of a chat's turns, newest first, and the token of the next page.

        Pass ``page.next_token`` back to get the following (older) page.
        The service gives a token on every page that has turns, the last one
        included; the end is a page with no turns (``next_token`` is then
        ``None``). Older answers without a token on the last page are read the
        same way.
        """
        seg = v.segment(chat_id, "chat_id")
        params: Dict[str, Any] = {}
        if next_token is not None:
            params["next_token"] = v.text(next_token, "next_token", min_len=1, max_len=4096)
        if pinned_only:
            params["pinned_only"] = "true"
        body = self._call(
            "GET", self._neo(f"/turns/{seg}/"), params=params or None, what="chats.page()"
        )
        page = parse(TurnPage, body if isinstance(body, dict) else {}, path="turns")
        if pinned_only:
            page = TurnPage(
                turns=[t for t in page.turns if t.is_pinned],
                next_token=page.next_token,
                raw=page.raw,
            )
        return page

    def turns(self, chat_id: str, *, pinned_only: bool = False) -> Iterator[Turn]:
        """Every turn of a chat, newest first, fetched one page at a time as you iterate.

        Memory stays flat however long the chat is: only one page is held.
        """
        v.identifier(chat_id, "chat_id")
        self._session.require_account("chats.turns()")
        return self._iter_turns(chat_id, pinned_only)

    def _iter_turns(self, chat_id: str, pinned_only: bool) -> Iterator[Turn]:
        token: Optional[str] = None
        seen_tokens = set()
        while True:
            page = self.page(chat_id, token, pinned_only=pinned_only)
            yield from page.turns
            token = page.next_token
            # The end: a page with no turns (the service's way: it gives a token on
            # every page that has turns), no token (older answers), or a token seen
            # before (a loop). The raw list is checked: pinned_only filters locally.
            raw_turns = page.raw.get("turns")
            if not raw_turns or not token or token in seen_tokens:
                return
            seen_tokens.add(token)

    def pinned(self, chat_id: str) -> List[Turn]:
        """The pinned turns of a chat (all pages), newest first."""
        return [t for t in self.turns(chat_id, pinned_only=True)]

    # --------------------------------------------------------------- change

    def rename(self, chat_id: str, name: str) -> None:
        """Give a chat a name."""
        seg = v.segment(chat_id, "chat_id")
        v.text(name, "name", min_len=1, max_len=CHAT_NAME_MAX)
        self._call(
            "PATCH",
            self._neo(f"/chat/{seg}/update_name"),
            json={"name": name},
            what="chats.rename()",
        )

    def archive(self, chat_id: str) -> None:
        """Archive a chat (it leaves your lists but keeps its history)."""
        seg = v.segment(chat_id, "chat_id")
        self._call("PATCH", self._neo(f"/chat/{seg}/archive"), what="chats.archive()")

    def unarchive(self, chat_id: str) -> None:
        """Bring an archived chat back."""
        seg = v.segment(chat_id, "chat_id")
        self._call("PATCH", self._neo(f"/chat/{seg}/unarchive"), what="chats.unarchive()")

    def copy(self, chat_id: str, end_turn_id: str) -> str:
        """Copy a chat up to (and including) one turn; returns the new chat's id."""
        seg = v.segment(chat_id, "chat_id")
        tid = v.identifier(end_turn_id, "end_turn_id")
        body = self._call(
            "POST", self._neo(f"/chat/{seg}/copy"), json={"end_turn_id": tid}, what="chats.copy()"
        )
        new_id = body.get("new_chat_id") if isinstance(body, dict) else None
        if not isinstance(new_id, str) or not new_id:
            raise errors.ParseError("the copy answer has no new_chat_id", body=body)
        return new_id

    def delete_turns(self, chat_id: str, turn_ids: Sequence[str]) -> None:
        """Delete messages (turns) from a chat."""
        seg = v.segment(chat_id, "chat_id")
        ids = v.id_list(turn_ids, "turn_ids")
        self._call(
            "POST",
            self._neo(f"/turns/{seg}/remove"),
            json={"turn_ids": ids},
            what="chats.delete_turns()",
        )

    def available_models(self) -> Dict[str, Any]:
        """The chat models you may pick.

        ``{"available_models": [...], "default_model_type": "..."}`` as the service sends it.
        """
        body = self._call(
            "GET", self._neo("/get-available-models"), what="chats.available_models()"
        )
        return body if isinstance(body, dict) else {}

    def set_model(self, chat_id: str, model_type: str) -> None:
        """Pick the model a chat uses (e.g. ``"MODEL_TYPE_SMART"``)."""
        seg = v.segment(chat_id, "chat_id")
        mt = v.identifier(model_type, "model_type")
        self._call(
            "PATCH",
            self._neo(f"/chat/{seg}/preferred-model-type"),
            json={"preferred_model_type": mt},
            what="chats.set_model()",
        )

    def rate(
        self, chat_id: str, turn_id: str, candidate_id: str, rating: Union[int, str]
    ) -> Annotation:
        """Rate a reply: 0-4 stars (an int) or a label such as ``"funny"``.

        Labels: boring, repetitive, bad_memory, short, inaccurate,
        out_of_character, long, ends_chat_early, funny, helpful,
        interesting, good_memory.
        """
        key = {
            "chat_id": v.identifier(chat_id, "chat_id"),
            "turn_id": v.identifier(turn_id, "turn_id"),
        }
        cand = v.identifier(candidate_id, "candidate_id")
        if isinstance(rating, bool):
            raise errors.ValidationError("rating must be 0-4 stars or a label", field="rating")
        if isinstance(rating, int):
            stars = v.integer(rating, "rating", minimum=0, maximum=4)
            annotation: Dict[str, Any] = {"annotation_type": "star", "annotation_value": stars}
        else:
            label = v.choice(rating, "rating", STAR_LABELS)
            annotation = {
                "annotation_type": label,
                "annotation_raw_content": label,
                "annotation_value": 1,
            }
        body = self._call(
            "POST",
            self._neo("/annotation/create"),
            json={"annotation": annotation, "candidate_id": cand, "turn_key": key},
            what="chats.rate()",
        )
        return self._one(Annotation, body, "annotation")

    def unrate(self, chat_id: str, turn_id: str, candidate_id: str, annotation_id: str) -> None:
        """Remove a rating made with :meth:`rate`."""
        body = {
            "annotation_id": v.identifier(annotation_id, "annotation_id"),
            "candidate_id": v.identifier(candidate_id, "candidate_id"),
            "turn_key": {
                "chat_id": v.identifier(chat_id, "chat_id"),
                "turn_id": v.identifier(turn_id, "turn_id"),
            },
        }
        self._call("POST", self._neo("/annotation/remove"), json=body, what="chats.unrate()")

    # ------------------------------------------------------------ websocket

    def create(
        self, character_id: str, greeting: bool = True, *, model_type: Optional[str] = None
    ) -> Tuple[Chat, Optional[Turn]]:
        """Start a new chat with a character; returns the chat and its greeting.

        ``greeting=False`` starts it without one (the greeting is ``None``).
        ``model_type`` picks the model (see :meth:`available_models`).
        """
        cid = v.identifier(character_id, "character_id")
        if model_type is not None:
            v.identifier(model_type, "model_type")
        self._session.require_account("chats.create()")
        return _replies.create_chat(self._session, cid, bool(greeting), model_type)

    def stream(
        self, character_id: str, chat_id: str, text: str, *, image_rel_path: Optional[str] = None
    ) -> ReplyStream:
        """Send a message and stream the reply as growing :class:`~caiclient.models.Turn` snapshots.

        The message is sent now. Iterate for snapshots (each holds the whole
        text so far; the last has ``is_final``), or call ``.final()``. Use it
        as a context manager to abandon the reply early::

            with s.chats.stream(cid, chat_id, "Hello!") as reply:
                for piece in reply.text_deltas():
                    print(piece, end="", flush=True)
        """
        cid = v.identifier(character_id, "character_id")
        chat = v.identifier(chat_id, "chat_id")
        v.text(text, "text", min_len=1, max_len=MESSAGE_MAX)
        if image_rel_path is not None:
            v.text(image_rel_path, "image_rel_path", min_len=1, max_len=512)
        self._session.require_account("chats.stream()")
        return ReplyStream(
            self._session, chat_id=chat, character_id=cid, text=text, image_rel_path=image_rel_path
        )

    @_replies.reply_of("stream")
    def send(
        self, character_id: str, chat_id: str, text: str, *, image_rel_path: Optional[str] = None
    ) -> Turn:
        """Send a message and return the character's complete reply."""
        with self.stream(character_id, chat_id, text, image_rel_path=image_rel_path) as reply:
            return reply.final()

    def add_turn(self, character_id: str, chat_id: str, text: str) -> Turn:
        """Add your message to a chat without asking for a reply (a "manual" turn).

        Ask for the character's answer later with :meth:`reply`. Sent as the
        DM socket's ``create_turn`` (CAINode's manual mode, cainode.md 4.2);
        the service answers with the stored turn, which is returned.
        """
        cid = v.identifier(character_id, "character_id")
        chat = v.identifier(chat_id, "chat_id")
        v.text(text, "text", min_len=1, max_len=MESSAGE_MAX)
        self._session.require_account("chats.add_turn()")
        author = self._session.account_id
        turn_id, cand_id = new_id(), new_id()

        def build(rid: str) -> Dict[str, Any]:
            msg = _replies.build_send(rid, cid, chat, author, text, turn_id, cand_id)
            msg["command"] = "create_turn"
            return msg

        def accept(frame: Any) -> bool:
            turn = frame.get("turn")
            key = turn.get("turn_key") if isinstance(turn, dict) else None
            return frame.get("command") == "add_turn" and (
                isinstance(key, dict) and key.get("turn_id") == turn_id
            )

        frame = _replies.run_command(self._session, chat, build, accept, retry_on_drop=False)
        return parse(Turn, frame.get("turn"), path="add_turn.turn")

    def stream_reply(self, character_id: str, chat_id: str) -> ReplyStream:
        """Ask the character to answer the chat as it stands, without a new message; streamed.

        Use it after :meth:`add_turn`, or to let the character speak again. Sent
        as a ``create_and_generate_turn`` with empty text (CAINode's
        ``generate_turn()``, cainode.md 4.2): no message of yours is stored.
        """
        cid = v.identifier(character_id, "character_id")
        chat = v.identifier(chat_id, "chat_id")
        self._session.require_account("chats.stream_reply()")
        return ReplyStream(self._session, chat_id=chat, character_id=cid, text="")

    @_replies.reply_of("stream_reply")
    def reply(self, character_id: str, chat_id: str) -> Turn:
        """Ask the character to answer the chat as it stands; returns the complete reply."""
        with self.stream_reply(character_id, chat_id) as stream:
            return stream.final()

    def stream_regenerate(self, character_id: str, chat_id: str, turn_id: str) -> ReplyStream:
        """Ask for another reply (a new candidate) to a character's turn, streamed."""
        cid = v.identifier(character_id, "character_id")
        chat = v.identifier(chat_id, "chat_id")
        tid = v.identifier(turn_id, "turn_id")
        self._session.require_account("chats.stream_regenerate()")
        return ReplyStream(self._session, chat_id=chat, character_id=cid, regenerate_turn_id=tid)

    @_replies.reply_of("stream_regenerate")
    def regenerate(self, character_id: str, chat_id: str, turn_id: str) -> Turn:
        """Ask for another reply to a character's turn; returns the turn with the new candidate."""
        with self.stream_regenerate(character_id, chat_id, turn_id) as reply:
            return reply.final()

    def edit(self, chat_id: str, turn_id: str, candidate_id: str, text: str) -> Turn:
        """Replace the text of a candidate (yours or the character's); returns the turn.

        Setting a text is idempotent: after a dropped connection the chat is
        read over HTTP, and the edit is sent again (within the reply
        deadline) unless the candidate already has the new text.
        """
        chat = v.identifier(chat_id, "chat_id")
        tid = v.identifier(turn_id, "turn_id")
        cand = v.identifier(candidate_id, "candidate_id")
        v.text(text, "text", min_len=1, max_len=MESSAGE_MAX)
        self._session.require_account("chats.edit()")

        def edited() -> Optional[Dict[str, Any]]:
            turn = _replies.find_turn(self._session, chat, tid)
            found = turn.candidate(cand) if turn is not None else None
            if turn is None or found is None or found.text != text:
                return None
            return {"command": "update_turn", "turn": turn}

        frame = _replies.run_command(
            self._session, chat,
            lambda rid: _replies.build_edit(rid, chat, tid, cand, text),
            lambda f: f.get("command") == "update_turn",
            retry_on_drop=True,
            confirm=edited,
        )  # fmt: skip
        turn = frame.get("turn")
        return turn if isinstance(turn, Turn) else parse(Turn, turn, path="update_turn.turn")

    def _pin(self, chat_id: str, turn_id: str, pinned: bool) -> Turn:
        chat = v.identifier(chat_id, "chat_id")
        tid = v.identifier(turn_id, "turn_id")
        self._session.require_account("chats.pin()")
        frame = _replies.run_command(
            self._session, chat,
            lambda rid: _replies.build_pin(rid, chat, tid, pinned),
            lambda f: f.get("command") == "update_turn",
            retry_on_drop=True,
        )  # fmt: skip
        return parse(Turn, frame.get("turn"), path="update_turn.turn")

    def pin(self, chat_id: str, turn_id: str) -> Turn:
        """Pin a turn (pinned turns are kept in the character's memory); returns the turn."""
        return self._pin(chat_id, turn_id, True)

    def unpin(self, chat_id: str, turn_id: str) -> Turn:
        """Unpin a turn; returns the turn."""
        return self._pin(chat_id, turn_id, False)

    def set_primary_candidate(self, chat_id: str, turn_id: str, candidate_id: str) -> None:
        """Choose which candidate of a turn the chat continues from."""
        chat = v.identifier(chat_id, "chat_id")
        tid = v.identifier(turn_id, "turn_id")
        cand = v.identifier(candidate_id, "candidate_id")
        self._session.require_account("chats.set_primary_candidate()")
        _replies.run_command(
            self._session, chat,
            lambda rid: _replies.build_primary(rid, chat, tid, cand),
            lambda f: f.get("command") == "ok",
            retry_on_drop=True,
        )  # fmt: skip

    def conversation(self, character_id: str, chat_id: Optional[str] = None) -> Conversation:
        """A handle on one chat for scripts: ``conv.send("hi")``.

        Without ``chat_id`` a new chat is created on the first message.
        """
        v.identifier(character_id, "character_id")
        if chat_id is not None:
            v.identifier(chat_id, "chat_id")
        return Conversation(self._session, character_id, chat_id)

    # ------------------------------------------------------------ legacy v1

    def migrate(
        self,
        history_id: str,
        *,
        wait: bool = True,
        timeout: float = 60.0,
        poll_interval: float = 1.0,
    ) -> Migration:
        """Migrate a legacy (chat v1) history to a chat v2.

        With ``wait`` the call polls until the migration is done (or
        ``timeout`` seconds passed: :class:`~caiclient.errors.Timeout`).
        """
        seg = v.segment(history_id, "history_id")
        timeout = v.seconds(timeout, "timeout", zero=True)
        poll_interval = v.seconds(poll_interval, "poll_interval", zero=True)
        url = self._neo(f"/migration/{seg}")
        self._call("POST", url, json=True, what="chats.migrate()")
        deadline = time.monotonic() + timeout
        while True:
            body = self._call("GET", url, what="chats.migrate()")
            mig = self._one(Migration, body, "migration")
            done = (mig.status or "").upper()
            if not wait or done.endswith(("DONE", "SUCCEEDED", "COMPLETE", "COMPLETED")):
                return mig
            if done.endswith(("FAILED", "ERROR")):
                raise errors.ActionFailed(
                    f"the migration failed ({mig.status})",
                    status=200,
                    method="GET",
                    path=f"/migration/{seg}",
                    body=body,
                )
            if time.monotonic() >= deadline:
                raise errors.Timeout(f"the migration did not finish within {timeout:g}s")
            time.sleep(poll_interval)
