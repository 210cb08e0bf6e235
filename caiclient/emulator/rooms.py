"""Group chats ("murooms") of the emulator: the REST routes (cainode.md 5.1, 5.2).

A room is a ``room`` document (``owner`` = creator) holding its characters,
its members and its settings; its turns live in the turns table under the
room id, so the chat history routes (``GET /turns/<room id>``) and the DM
socket's ``remove_turns`` work on a room for its members, as CAINode uses
them. Rooms are private to their members: anyone else gets a 404 (or a 403
for an action only the owner may take). The socket side is
:mod:`caiclient.emulator.rooms_ws`.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from aiohttp import web

from caiclient.emulator.app import Ctx
from caiclient.emulator.chats import greeting_text, new_turn
from caiclient.emulator.common import (
    ctx_of,
    jr,
    need_dict,
    neo_err,
    read_json,
    require_user,
    visible_character,
)
from caiclient.emulator.util import new_id, now_ts, token_for

__all__ = ["member_room", "room_as_chat", "room_json", "setup"]

P = "/neo"
CHARACTER_LIMIT = 10
USER_LIMIT = 20
CHAT_TYPE = "TYPE_MU_ROOM"


def member_room(ctx: Ctx, room_id: Any, user: dict) -> Optional[dict]:
    """The room if it exists and ``user`` is one of its members."""
    if not isinstance(room_id, str) or not room_id:
        return None
    room = ctx.state.get("room", room_id)
    if room is None or str(user["id"]) not in [m["id"] for m in room["members"]]:
        return None
    return room


def room_as_chat(ctx: Ctx, room_id: Any, user: dict) -> Optional[dict]:
    """A member's room in the shape of a chat (for the shared chat routes)."""
    room = member_room(ctx, room_id, user)
    if room is None:
        return None
    return {
        "chat_id": room["id"],
        "create_time": room["create_time"],
        "creator_id": room["owner_id"],
        "character_id": room["characters"][0] if room["characters"] else "",
        "state": "STATE_ACTIVE",
        "type": CHAT_TYPE,
        "visibility": room["visibility"],
        "name": room["title"],
    }


def _character_json(ctx: Ctx, cid: str) -> dict:
    c = ctx.state.get("character", cid) or {}
    avatar = c.get("avatar_file_name", "")
    # The list shape names the picture "url", the create/join shape "avatar_url" (C·doc).
    return {"id": cid, "name": c.get("name", ""), "avatar_url": avatar, "url": avatar}


def _user_json(ctx: Ctx, member: dict) -> dict:
    u = ctx.state.get("user", member["id"]) or {}
    return {
        "id": member["id"],
        "username": u.get("username", ""),
        "name": u.get("name", ""),
        "avatar_url": u.get("avatar_file_name", ""),
        "role": member["role"],
        "state": "STATE_ACTIVE",
    }


def room_json(ctx: Ctx, room: dict, preview: int = 0) -> dict:
    """A room as the service returns it (cainode.md 5.2)."""
    turns = [t for _, t in ctx.state.turns_page(room["id"], limit=preview)] if preview else []
    return {
        "id": room["id"],
        "title": room["title"],
        "description": room.get("description", ""),
        "visibility": room["visibility"],
        "picture": room.get("picture", ""),
        "last_updated": room["last_updated"],
        "characters": [_character_json(ctx, c) for c in room["characters"]],
        "users": [_user_json(ctx, m) for m in room["members"]],
        "permissions": [],
        "preview_turns": {"turns": turns, "meta": {"next_token": None}},
        "settings": dict(room["settings"]),
    }


def save_room(ctx: Ctx, room: dict) -> None:
    """Store a room (its activity moves it to the front of lists)."""
    room["last_updated"] = int(time.time())
    ctx.state.put(
        "room", room["id"], room, owner=room["owner_id"], ref=room["settings"]["join_token"]
    )


def _room_or_404(request: web.Request, user: dict) -> dict:
    room = member_room(ctx_of(request), request.match_info["room_id"], user)
    if room is None:
        raise neo_err(404, "room not found")
    return room


def _characters(ctx: Ctx, ids: Any, user: dict) -> list:
    if isinstance(ids, str):
        ids = [ids]
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise neo_err(400, "characters must be a non-empty list of character ids")
    out = []
    for cid in ids:
        if visible_character(ctx, cid, user) is None:
            raise neo_err(404, f"character not found: {cid}")
        if cid not in out:
            out.append(cid)
    if len(out) > CHARACTER_LIMIT:
        raise neo_err(400, "too many characters")
    return out


# -- routes -------------------------------------------------------------------------------


async def rooms_list(request: web.Request) -> web.Response:
    """GET /murooms/?include_turns=false: the rooms the user is a member of."""
    user = require_user(request)
    ctx = ctx_of(request)
    preview = 0 if request.query.get("include_turns", "false").lower() == "false" else 1
    rooms = [r for r in ctx.state.list("room") if member_room(ctx, r["id"], user) is not None]
    return jr({"rooms": [room_json(ctx, r, preview) for r in rooms]})


async def room_create(request: web.Request) -> web.Response:
    """POST /muroom/create (no trailing slash; any content type, as CAINode sends text/plain)."""
    user = require_user(request)
    ctx = ctx_of(request)
    body = need_dict(await read_json(request), request)
    chars = _characters(ctx, body.get("characters"), user)
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        raise neo_err(400, "title is required")
    settings_in = body.get("settings")
    if not isinstance(settings_in, dict):
        settings_in = {}
    room_id = new_id()
    room = {
        "id": room_id,
        "title": title,
        "description": "",
        "visibility": body.get("visibility") or "VISIBILITY_UNLISTED",
        "picture": "",
        "create_time": now_ts(),
        "owner_id": str(user["id"]),
        "characters": chars,
        "members": [{"id": str(user["id"]), "role": "owner"}],
        "settings": {
            "anyone_can_join": bool(settings_in.get("anyone_can_join", True)),
            "require_approval": bool(settings_in.get("require_approval", False)),
            "auto_smart_reply": False,
            "smart_reply_timer": False,
            "join_token": token_for("room:" + room_id)[:12],
            "user_limit": USER_LIMIT,
            "character_limit": CHARACTER_LIMIT,
            "push_notification_mode": "PUSH_NOTIFICATION_MODE_ALL",
        },
    }
    save_room(ctx, room)
    if body.get("with_greeting", True):
        for cid in chars:
            char = ctx.state.get("character", cid) or {"name": "", "external_id": cid}
            cand = {
                "candidate_id": new_id(),
                "create_time": now_ts(),
                "raw_content": greeting_text(char, user),
                "is_final": True,
            }
            author = {"author_id": cid, "name": char.get("name", ""), "is_human": False}
            ctx.state.add_turn(room_id, new_turn(room_id, new_id(), author, cand))
    return jr(room_json(ctx, room, preview=len(chars)))


async def room_preview(request: web.Request) -> web.Response:
    """GET /muroom/?join_token=: the room an invite code opens (before joining)."""
    require_user(request)
    ctx = ctx_of(request)
    room = ctx.state.find_ref("room", request.query.get("join_token", ""))
    if room is None or not room["settings"]["anyone_can_join"]:
        raise neo_err(404, "room not found")
    return jr({"room": room_json(ctx, room)})


async def room_join(request: web.Request) -> web.Response:
    """POST /muroom/join {"join_token"}: become a member; the room, plus ``command``."""
    user = require_user(request)
    ctx = ctx_of(request)
    body = need_dict(await read_json(request), request)
    token = body.get("join_token")
    room = ctx.state.find_ref("room", token) if isinstance(token, str) and token else None
    if room is None or not room["settings"]["anyone_can_join"]:
        raise neo_err(404, "room not found")
    if member_room(ctx, room["id"], user) is None:
        if len(room["members"]) >= USER_LIMIT:
            raise neo_err(403, "the room is full")
        room["members"].append({"id": str(user["id"]), "role": "member"})
        save_room(ctx, room)
    out = room_json(ctx, room)
    out["command"] = "join"
    return jr(out)


async def room_patch(request: web.Request) -> web.Response:
    """PATCH /muroom/<id>/: JSON-patch-like ops on the title, characters and users."""
    user = require_user(request)
    ctx = ctx_of(request)
    room = _room_or_404(request, user)
    ops = await read_json(request)
    if not isinstance(ops, list) or not ops or not all(isinstance(o, dict) for o in ops):
        raise neo_err(400, "body must be a non-empty list of operations")
    activity: dict = {
        "id": room["id"],
        "users": {"added": [], "removed": []},
        "characters": {"added": [], "removed": []},
        "title": room["title"],
        "command": "update",
    }
    base = f"/muroom/{room['id']}"
    is_owner = room["owner_id"] == str(user["id"])
    for op in ops:
        kind, path = op.get("op"), op.get("path")
        value = op.get("value") if isinstance(op.get("value"), dict) else {}
        if path == base and kind == "replace":
            title = value.get("title")
            if not isinstance(title, str) or not title.strip():
                raise neo_err(400, "title is required")
            room["title"] = activity["title"] = title
        elif path == base + "/characters" and kind in ("add", "remove"):
            cid = value.get("id")
            if kind == "add":
                cid = _characters(ctx, [cid], user)[0]
                if cid not in room["characters"]:
                    if len(room["characters"]) >= CHARACTER_LIMIT:
                        raise neo_err(400, "too many characters")
                    room["characters"].append(cid)
                    activity["characters"]["added"].append(cid)
            elif cid in room["characters"]:
                room["characters"].remove(cid)
                activity["characters"]["removed"].append(cid)
        elif path == base + "/users" and kind == "remove":
            uid = str(value.get("id"))
            if uid != str(user["id"]) and not is_owner:
                raise neo_err(403, "only the owner may remove other members")
            if uid == room["owner_id"]:
                raise neo_err(400, "the owner cannot leave the room; delete it instead")
            before = len(room["members"])
            room["members"] = [m for m in room["members"] if m["id"] != uid]
            if len(room["members"]) < before:
                activity["users"]["removed"].append(uid)
        else:
            raise neo_err(400, f"unsupported operation {kind!r} on {path!r}")
    save_room(ctx, room)
    return jr(activity)


async def room_delete(request: web.Request) -> web.Response:
    """DELETE /muroom/<id>/: the owner deletes the room (and its turns)."""
    user = require_user(request)
    ctx = ctx_of(request)
    room = _room_or_404(request, user)
    if room["owner_id"] != str(user["id"]):
        raise neo_err(403, "only the owner may delete the room")
    ctx.state.delete("room", room["id"])
    ids = [t["turn_key"]["turn_id"] for t in ctx.state.turns(room["id"])]
    ctx.state.delete_turns(room["id"], ids)
    return jr({"id": room["id"], "command": "delete"})


def setup(app: web.Application) -> None:
    """Register the room routes."""
    from caiclient.emulator import rooms_ws

    r = app.router
    r.add_get(P + "/murooms/", rooms_list)
    r.add_post(P + "/muroom/create", room_create)
    r.add_get(P + "/muroom/", room_preview)
    r.add_post(P + "/muroom/join", room_join)
    r.add_patch(P + "/muroom/{room_id}/", room_patch)
    r.add_delete(P + "/muroom/{room_id}/", room_delete)
    r.add_get(P + "/connection/websocket", rooms_ws.handler)
