"""Chat v2 helpers shared by the websocket flows and the neo REST routes."""

from __future__ import annotations

from typing import Any, Optional

from caiclient.emulator.app import Ctx
from caiclient.emulator.state import primary_text
from caiclient.emulator.util import now_ts

__all__ = ["brain_character", "chat_json", "history_before", "owned_chat", "primary_text"]

CHAT_INFO = {"type": "TYPE_ONE_ON_ONE"}


def owned_chat(ctx: Ctx, chat_id: Any, user: dict) -> Optional[dict]:
    """The chat if it exists and belongs to ``user`` (never reveals other users' chats)."""
    if not isinstance(chat_id, str) or not chat_id:
        return None
    meta = ctx.state.meta("chat", chat_id)
    if meta is None:  # a room's id works on the chat routes for its members (cainode.md 5.1)
        from caiclient.emulator.rooms import room_as_chat

        return room_as_chat(ctx, chat_id, user)
    if meta[0] != str(user["id"]):
        return None
    return ctx.state.get("chat", chat_id)


def chat_json(ctx: Ctx, chat: dict, preview: int = 0, recent: bool = False) -> dict:
    """A chat as the service returns it (neo.md 4.7)."""
    out = dict(chat)
    if preview:
        turns = [t for _, t in ctx.state.turns_page(chat["chat_id"], limit=preview)]
        if turns:  # protobuf-style: an empty repeated field is absent
            out["preview_turns"] = turns
    if recent:
        char = ctx.state.get("character", chat["character_id"]) or {}
        out["character_name"] = char.get("name", "")
        out["character_avatar_uri"] = char.get("avatar_file_name", "")
        out["character_visibility"] = char.get("visibility", "PUBLIC")
        out["character_translations"] = {}
        out["default_voice_id"] = char.get("default_voice_id", "")
    return out


def history_before(
    ctx: Ctx, chat_id: str, before_seq: Optional[int] = None, limit: int = 40
) -> list:
    """The chat's turns before ``before_seq`` as brain history, oldest first."""
    return [
        {"role": "user" if human else "character", "name": name, "text": text}
        for human, name, text in reversed(ctx.state.history(chat_id, before_seq, limit))
    ]


def brain_character(char: dict) -> dict:
    """The character fields a brain reads."""
    return {
        "external_id": char.get("external_id"),
        "name": char.get("name", ""),
        "title": char.get("title", ""),
        "greeting": char.get("greeting", ""),
        "description": char.get("description", ""),
        "definition": char.get("definition", ""),
    }


def new_turn(chat_id: str, turn_id: str, author: dict, candidate: dict) -> dict:
    """A turn dict with one candidate."""
    ts = candidate.get("create_time") or now_ts()
    return {
        "turn_key": {"chat_id": chat_id, "turn_id": turn_id},
        "create_time": ts,
        "last_update_time": ts,
        "state": "STATE_OK",
        "author": author,
        "candidates": [candidate],
        "primary_candidate_id": candidate["candidate_id"],
        "is_pinned": False,
    }


def greeting_text(char: dict, user: dict) -> str:
    """The character's greeting with ``{{user}}``/``{{char}}`` filled in."""
    text = char.get("greeting") or f"Hello, I am {char.get('name', '')}."
    return text.replace("{{user}}", user.get("name") or user["username"]).replace(
        "{{char}}", char["name"]
    )
