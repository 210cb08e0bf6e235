"""Routes other clients of the service use that PyCharacterAI does not (issue 16).

Each route names its evidence: ``cainode.md`` (CAINode 1.2.2, section 6) and
``others.md`` (kramcat, node_characterai, the C# client, section 2). Reply
shapes marked "C·doc" there are the shapes those clients' authors wrote down;
the emulator serves exactly those keys, nothing invented beside them.
"""

from __future__ import annotations

import hashlib
from typing import Any, Optional

from aiohttp import web

from caiclient.emulator import media
from caiclient.emulator.chats import chat_json, owned_chat
from caiclient.emulator.common import (
    character_full,
    character_short,
    ctx_of,
    jr,
    need_dict,
    neo_err,
    optional_user,
    plus_err,
    public_characters,
    read_json,
    require_user,
    short_hash,
    visible_character,
)
from caiclient.emulator.util import new_id

__all__ = ["FOLLOW_PAGE_SIZE", "public_follows", "setup"]

FOLLOW_PAGE_SIZE = 20  # users per page of public followers/following (pageParam is 1-based)


def _proto(obj: dict) -> dict:
    # neo answers protobuf-style: an empty repeated field is absent.
    return {k: v for k, v in obj.items() if v != []}


def _user_named(request: web.Request, name: Any) -> Optional[dict]:
    if not isinstance(name, str) or not name:
        return None
    return ctx_of(request).state.user(name)


# -- users ----------------------------------------------------------------------------------


async def public_follows(request: web.Request) -> web.Response:
    """POST /chat/user/public/following/ and /followers/ {"username", "pageParam"}.

    cainode.md 6.1: ``{"users": [{"username", "account__avatar_file_name",
    "account__bio"}], "has_next_page": bool}``; ``pageParam`` is 1-based (default 1),
    the caller's own username when none is given. N2 posts the same body to
    ``/chat/user/following`` and ``/followers`` (no ``public``, others.md 2.1) and reads
    nothing: those paths answer the same.
    """
    user = optional_user(request)
    body = need_dict(await read_json(request), request)
    name = body.get("username") or (user["username"] if user else None)
    target = _user_named(request, name)
    if target is None:
        raise plus_err(404, "User not found")
    page = body.get("pageParam", 1)
    if isinstance(page, str) and page.isdigit():
        page = int(page)
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        raise plus_err(400, "pageParam must be a positive integer")
    ctx = ctx_of(request)
    outgoing = request.path.rstrip("/").endswith("following")
    docs = (
        ctx.state.list("follow", owner=target["id"])
        if outgoing
        else ctx.state.list("follow", ref=target["id"])
    )
    found = [ctx.state.get("user", d["to"] if outgoing else d["from"]) for d in docs]
    people = [p for p in found if p is not None]
    start = (page - 1) * FOLLOW_PAGE_SIZE
    chunk = people[start : start + FOLLOW_PAGE_SIZE]
    return jr(
        {
            "users": [
                {
                    "username": p["username"],
                    "account__avatar_file_name": p.get("avatar_file_name", ""),
                    "account__bio": p.get("bio", ""),
                }
                for p in chunk
            ],
            "has_next_page": start + FOLLOW_PAGE_SIZE < len(people),
        }
    )


async def _id_list(request: web.Request, key: str) -> list:
    """``body[key]``: a list of strings (a single string counts as a list of one)."""
    body = need_dict(await read_json(request), request)
    ids = body.get(key)
    if isinstance(ids, str):
        ids = [ids]
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise plus_err(400, f"{key} must be a list of strings")
    return ids


def _char_info(chars: list) -> dict:
    ranked = sorted(chars, key=lambda c: -c.get("num_interactions", 0))
    info: dict = {
        "num_characters": len(chars),
        "num_interactions": sum(c.get("num_interactions", 0) for c in chars),
    }
    for i, c in enumerate(ranked[:2]):
        info[f"top_{i + 1}_char"] = {
            "character_name": c["name"],
            "interactions": c.get("num_interactions", 0),
            "avatar_file_name": c.get("avatar_file_name", ""),
            "external_id": c["external_id"],
        }
    return info


async def anon_public_users(request: web.Request) -> web.Response:
    """POST /chat/anon/users/public/ {"usernames": [...]} (cainode.md 6.1; a string is one name).

    Unknown names are left out of ``public_users``.
    """
    optional_user(request)
    names = await _id_list(request, "usernames")
    ctx = ctx_of(request)
    chars = public_characters(ctx)
    out = []
    for name in names:
        u = ctx.state.user(name)
        if u is None:
            continue
        own = [c for c in chars if c.get("owner_id") == u["id"]]
        out.append(
            {
                "username": u["username"],
                "account__avatar_file_name": u.get("avatar_file_name", ""),
                "character_info": _char_info(own),
            }
        )
    return jr({"public_users": out})


async def logout(request: web.Request) -> web.Response:
    """POST /chat/user/logout/ {} (cainode.md 2.3).

    The route is Django's (dj-rest-auth), whose logout deletes the token: the
    emulator revokes it too, so later calls with it get 401. CAINode does not say
    (cainode.md 10); a fresh emulator (or ``Emulator.reset()``) restores seeded tokens.
    """
    user = require_user(request)
    ctx = ctx_of(request)
    ctx.state.put("user", user["id"], user, ref="revoked:" + new_id(), touch=False)
    return jr({"detail": "Successfully logged out."})


# -- characters ---------------------------------------------------------------------------


async def character_votes(request: web.Request) -> web.Response:
    """GET /chat/character/{id}/votes/ -> {"status", "votes"} (cainode.md 6.1)."""
    user = optional_user(request)
    c = visible_character(ctx_of(request), request.match_info["character_id"], user)
    if c is None:
        return jr({"status": "NOT_OK", "error": "Character not found"})
    return jr({"status": "OK", "votes": c.get("upvotes", 0)})


async def characters_votes(request: web.Request) -> web.Response:
    """POST /chat/characters/votes/ {"character_ids": [...]} -> {"status", "upvotes_per_character"}.

    cainode.md 6.1 (``votes_array``; a single id string is accepted as one id).
    Unknown or hidden ids are left out.
    """
    user = optional_user(request)
    ids = await _id_list(request, "character_ids")
    ctx = ctx_of(request)
    counts = {}
    for cid in ids:
        c = visible_character(ctx, cid, user)
        if c is not None:
            counts[cid] = c.get("upvotes", 0)
    return jr({"status": "OK", "upvotes_per_character": counts})


async def voice_override_get(request: web.Request) -> web.Response:
    """GET /chat/character/{id}/voice_override/ -> {"character_external_id", "voice_id"}.

    cainode.md 6.1 (``character.current_voice``). No override: ``voice_id`` is ``""``.
    """
    user = require_user(request)
    ctx = ctx_of(request)
    cid = request.match_info["character_id"]
    if visible_character(ctx, cid, user) is None:
        return jr({"success": False, "error": "Character not found"})
    settings = ctx.state.get("settings", user["id"]) or {}
    vid = (settings.get("voiceOverrides") or {}).get(cid, "")
    return jr({"character_external_id": cid, "voice_id": vid})


async def character_detailed(request: web.Request) -> web.Response:
    """POST /chat/character/ {"external_id"} (cainode.md 6.1 ``info_detailed``; K0.8 on beta).

    A character whose definition is not visible to the caller comes back empty with
    a ``status`` saying so (CAINode's README).
    """
    user = optional_user(request)
    body = need_dict(await read_json(request), request)
    cid = body.get("external_id")
    c = visible_character(ctx_of(request), cid, user) if isinstance(cid, str) else None
    if c is None:
        return jr({"status": "NOT_OK", "error": "Character not found"})
    own = user is not None and c.get("owner_id") == user["id"]
    if not (own or c.get("copyable")):
        return jr({"character": {}, "status": "You do not have permission to view this."})
    out = character_full(c)
    out.update(
        {
            "participant__id": c.get("internal_id", ""),
            "sanitized_definition": c.get("definition", ""),
            "user_id": c.get("owner_id"),
            "archived": False,
            "safety": "SAFE",
            "is_persona": False,
            "translations": {},
            "short_hash": short_hash(c["external_id"]),
            "updated": "2025-01-01T00:00:00.000000Z",
            "categories": [
                {"name": n, "priority": 0, "description": ""} for n in c.get("categories", [])
            ],
        }
    )
    return jr({"character": out, "status": "OK"})


async def characters_suggest(request: web.Request) -> web.Response:
    """GET /chat/characters/suggest/?query= (cainode.md 6.1 ``search_suggest``)."""
    optional_user(request)
    q = request.query.get("query", "").strip().lower()
    out = []
    for c in public_characters(ctx_of(request)):
        if q and q in c["name"].lower():
            item = {
                k: character_short(c)[k]
                for k in ("external_id", "title", "greeting", "avatar_file_name")
            }
            item.update(
                {
                    "document_id": c["external_id"],
                    "name": c["name"],
                    "num_interactions": c.get("num_interactions", 0),
                }
            )
            out.append(item)
    return jr({"characters": out})


async def character_categories(request: web.Request) -> web.Response:
    """GET neo /character/v1/categories/{character_id} -> {"categories": [...]}.

    cainode.md 6.1 ``get_category``: "the categories a character is in" (its JSDoc);
    items as ``POST /chat/character/``'s ``categories`` (``name``, ``priority``,
    ``description``). None: ``{}`` (protobuf-style).
    """
    user = optional_user(request)
    c = visible_character(ctx_of(request), request.match_info["character_id"], user)
    if c is None:
        raise neo_err(404, "character not found")
    cats = [{"name": n, "priority": 0, "description": ""} for n in c.get("categories", [])]
    return jr(_proto({"categories": cats}))


async def character_about(request: web.Request) -> web.Response:
    """GET neo /character/v1/character/about/{short_hash} -> {"about_character": {...}}.

    cainode.md 6.1: keyed by the character's ``short_hash`` (which list items and
    ``POST /chat/character/`` carry). A character with no about page gives
    ``noindex: true`` and little else (CAINode's README); in the emulator, those
    without a description.
    """
    optional_user(request)
    key = request.match_info["short_hash"]
    chars = public_characters(ctx_of(request))
    c = next((x for x in chars if short_hash(x["external_id"]) == key), None)
    if c is None:
        raise neo_err(404, "character not found")
    if not c.get("description"):
        return jr({"about_character": {"external_id": c["external_id"], "noindex": True}})
    return jr(
        {
            "about_character": {
                "external_id": c["external_id"],
                "is_person_name": "false",
                "language": "en",
                "description": c.get("description", ""),
                "expertise": c.get("title", ""),
                "personality_question": f"What is {c['name']} like?",
                "personality_question_answer": c.get("description", ""),
                "slug": c["name"].lower().replace(" ", "-"),
                "noindex": False,
            }
        }
    )


async def creator_search(request: web.Request) -> web.Response:
    """GET neo /search/v1/creator?query= -> {"creators": [{"visibility", "score", "name"}]}.

    cainode.md 6.1 (``user.search``, CAINode 1.2.0, Jan 2025): ``name`` is the username.
    No match: ``{}`` (protobuf-style).
    """
    optional_user(request)
    q = request.query.get("query", "").strip().lower()
    users = ctx_of(request).state.list("user")[::-1]
    hits = [u for u in users if q and q in u["username"].lower()]
    hits.sort(key=lambda u: (not u["username"].lower().startswith(q), u["username"]))
    return jr(
        _proto(
            {
                "creators": [
                    {
                        "visibility": "PUBLIC",
                        "score": round(1.0 / (i + 1), 4),
                        "name": u["username"],
                    }
                    for i, u in enumerate(hits)
                ]
            }
        )
    )


# -- chats ----------------------------------------------------------------------------------


async def chat_resurrect(request: web.Request) -> web.Response:
    """GET neo /chat/{chat_id}/resurrect (cainode.md 6.1/8; N2 after DM/unarchive).

    Makes the chat the active one again (an archived chat comes back). CAINode only
    checks that the answer is JSON and not a ``neo_error``.
    """
    user = require_user(request)
    ctx = ctx_of(request)
    chat = owned_chat(ctx, request.match_info["chat_id"], user)
    if chat is None:
        raise neo_err(404, "chat not found")
    if chat.get("state") == "STATE_ARCHIVED":
        chat["state"] = "STATE_ACTIVE"
    ctx.state.put("chat", chat["chat_id"], chat)  # touch: the most recent chat again
    return jr({"chat": chat_json(ctx, chat)})


# -- media ----------------------------------------------------------------------------------


async def generate_chat_image(request: web.Request) -> web.Response:
    """POST plus /chat/generate-image/ {"image_description"} -> {"image_rel_path"}.

    others.md 2.7 (K ``create_image``, N1 ``generateImage``) and cainode.md 6.2 (still
    used by CAINode 1.2.2): despite its name ``image_rel_path`` is an absolute URL
    (K downloads it).
    """
    require_user(request)
    ctx = ctx_of(request)
    body = need_dict(await read_json(request), request)
    desc = body.get("image_description")
    if not isinstance(desc, str) or not desc.strip():
        raise plus_err(400, "image_description is required")
    if len(desc) > 1000:
        raise plus_err(400, "image_description is too long")
    digest = hashlib.sha256(("chat-image|" + desc).encode()).hexdigest()[:24]
    name = f"chat-images/{digest}.png"
    ctx.state.put_blob("user/" + name, "image/png", media.png("chat-image|" + desc))
    return jr({"image_rel_path": f"{ctx.base_url}/cdn/i/400/static/user/{name}"})


def setup(app: web.Application) -> None:
    """Register the routes (plus under ``/plus``, neo under ``/neo``)."""
    r = app.router
    plus, neo = "/plus", "/neo"
    r.add_post(plus + "/chat/user/public/following/", public_follows)
    r.add_post(plus + "/chat/user/public/followers/", public_follows)
    r.add_post(plus + "/chat/anon/users/public/", anon_public_users)
    r.add_post(plus + "/chat/user/logout/", logout)
    r.add_get(plus + "/chat/character/{character_id}/votes/", character_votes)
    r.add_post(plus + "/chat/characters/votes/", characters_votes)
    r.add_get(plus + "/chat/character/{character_id}/voice_override/", voice_override_get)
    r.add_post(plus + "/chat/character/", character_detailed)
    r.add_get(plus + "/chat/characters/suggest/", characters_suggest)
    r.add_post(plus + "/chat/generate-image/", generate_chat_image)
    r.add_get(neo + "/character/v1/categories/{character_id}", character_categories)
    r.add_get(neo + "/character/v1/character/about/{short_hash}", character_about)
    r.add_get(neo + "/search/v1/creator", creator_search)
    r.add_get(neo + "/chat/{chat_id}/resurrect", chat_resurrect)
