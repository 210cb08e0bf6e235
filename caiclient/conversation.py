"""A handle on one chat, for scripts and notebooks: ``conv.send("hi")``."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Iterator, Optional

from caiclient.models import Turn
from caiclient.resources._replies import ReplyStream, reply_of

if TYPE_CHECKING:  # pragma: no cover
    from caiclient.session import Session

__all__ = ["Conversation"]


class Conversation:
    """One chat with one character, bound to a Session.

    Sugar over ``session.chats``: every method is a call of the resource with
    this chat's ids filled in. Without a ``chat_id`` a new chat is created
    (with its greeting, kept in :attr:`greeting`) on first use.
    """

    def __init__(self, session: Session, character_id: str, chat_id: Optional[str] = None) -> None:
        self.session = session
        self.character_id = character_id
        self._chat_id = chat_id
        self.greeting: Optional[Turn] = None
        self.last_reply: Optional[Turn] = None
        self._lock = threading.Lock()

    @property
    def chat_id(self) -> str:
        """The chat's id (creates the chat if there is none yet)."""
        with self._lock:
            if self._chat_id is None:
                chat, self.greeting = self.session.chats.create(self.character_id)
                self._chat_id = chat.chat_id
            return self._chat_id

    def start(self) -> str:
        """Make sure the chat exists (creating it if needed); returns its id."""
        return self.chat_id

    @reply_of("stream", then="_remember")
    def send(self, text: str) -> Turn:
        """Send a message; returns the complete reply."""
        with self.stream(text) as reply:
            return self._remember(reply.final())

    def stream(self, text: str) -> ReplyStream:
        """Send a message; returns the reply as a stream of snapshots."""
        return self.session.chats.stream(self.character_id, self.chat_id, text)

    @reply_of("stream_regenerate", then="_remember")
    def regenerate(self, turn_id: Optional[str] = None) -> Turn:
        """Another reply to a character's turn (default: the last reply of this handle)."""
        with self.stream_regenerate(turn_id) as reply:
            return self._remember(reply.final())

    def stream_regenerate(self, turn_id: Optional[str] = None) -> ReplyStream:
        """Another reply to a character's turn (default: the last reply), streamed."""
        if turn_id is None:
            if self.last_reply is None:
                from caiclient.errors import ValidationError

                raise ValidationError("no reply to regenerate yet: pass turn_id", field="turn_id")
            turn_id = self.last_reply.turn_id
        return self.session.chats.stream_regenerate(self.character_id, self.chat_id, turn_id)

    def _remember(self, reply: Turn) -> Turn:
        self.last_reply = reply
        return reply

    def history(self) -> Iterator[Turn]:
        """Every turn of the chat, newest first (fetched lazily)."""
        return self.session.chats.turns(self.chat_id)

    def __repr__(self) -> str:
        return f"<Conversation character={self.character_id} chat={self._chat_id}>"
