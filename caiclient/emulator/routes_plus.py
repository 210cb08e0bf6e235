"""Routes of ``https://plus.character.ai`` under ``/plus``."""

from __future__ import annotations

import hashlib

from aiohttp import web

from caiclient.emulator import media, routes_compat
from caiclient.emulator.common import (
    ApiError,
    account,
    character_full,
    character_short,
    ctx_of,
    default_settings,
    jr,
    need_dict,
    optional_user,
    persona,
    plus_err,
    public_characters,
    public_user,
    ranked_characters,
    read_json,
    read_multipart,
    require_user,
    visible_character,
)
from caiclient.emulator.util import char_id, new_id, now_ts

__all__ = ["setup"]

P = "/plus"
CURATED = [
    "Animals",
    "Anime",
    "Anime Game Characters",
    "Books",
    "Chinese",
    "Comedy",
    "Discussion",
    "Famous People",
    "Game Characters",
    "Games",
    "Helpers",
    "Image Generating",
    "Movies & TV",
    "Philosophy",
    "Politics",
    "Religion",
    "VTuber",
]


def _default_settings() -> dict:
    return default_settings()


def _user_by_name(request: web.Request, username: object):
    if not isinstance(username, str) or not username:
        return None
    return ctx_of(request).state.user(username)


# -- account ------------------------------------------------------------------------------


async def user_me(request: web.Request) -> web.Response:
    """GET /chat/user/"""
    return jr(account(require_user(request)))


async def user_settings(request: web.Request) -> web.Response:
    """GET /chat/user/settings/"""
    user = require_user(request)
    stored = ctx_of(request).state.get("settings", user["id"]) or {}
    return jr({**_default_settings(), **stored})


async def user_update_settings(request: web.Request) -> web.Response:
    """POST /chat/user/update_settings/ (whole settings object) -> {"success", "settings"}"""
    user = require_user(request)
    ctx = ctx_of(request)
    body = need_dict(await read_json(request), request)
    settings = ctx.state.get("settings", user["id"]) or _default_settings()
    if "personasOverrides" in body and isinstance(body["personasOverrides"], dict):  # N2 spelling
        settings.setdefault("personaOverrides", {}).update(body.pop("personasOverrides"))
    for key, value in body.items():
        if key in ("personaOverrides", "voiceOverrides", "outputStylePreferences") and not (
            isinstance(value, dict)
        ):
            raise plus_err(400, f"{key} must be an object")
        if key == "outputStylePreferences":
            # Muted words: CAINode posts a partial {"outputStylePreferences": {"bannedWords":
            # [...the complete new list...]}} (cainode.md 6.3): merged one level deep.
            words = value.get("bannedWords", [])
            if not isinstance(words, list) or not all(
                isinstance(w, str) and w.strip() for w in words
            ):
                raise plus_err(400, "bannedWords must be a list of words")
            merged = dict(settings.get(key) or {})
            merged.update(value)
            value = merged
        settings[key] = value
    ctx.state.put("settings", user["id"], settings, owner=user["id"])
    return jr({"success": True, "settings": settings})


async def user_update(request: web.Request) -> web.Response:
    """POST /chat/user/update/ (edit account)."""
    user = require_user(request)
    ctx = ctx_of(request)
    body = need_dict(await read_json(request), request)
    name = body.get("name", user["name"])
    username = body.get("username", user["username"])
    bio = body.get("bio", user.get("bio", ""))
    if not isinstance(name, str) or not (2 <= len(name) <= 50):
        raise ApiError(
            400,
            {"status": "Name must be 2-50 characters.", "error": "Name must be 2-50 characters."},
        )
    if not isinstance(username, str) or not (2 <= len(username) <= 20):
        raise ApiError(
            400,
            {
                "status": "Username must be 2-20 characters.",
                "error": "Username must be 2-20 characters.",
            },
        )
    if not isinstance(bio, str) or len(bio) > 500:
        raise ApiError(
            400,
            {
                "status": "Bio must be at most 500 characters.",
                "error": "Bio must be at most 500 characters.",
            },
        )
    other = ctx.state.user(username)
    if other is not None and other["id"] != user["id"]:
        return jr({"status": "Username is already taken."})
    user.update({"name": name, "username": username, "bio": bio})
    if body.get("avatar_rel_path"):
        user["avatar_file_name"] = body["avatar_rel_path"]
        user["avatar_type"] = "UPLOADED"
    elif body.get("avatar_type") == "DEFAULT":
        user["avatar_file_name"] = ""
        user["avatar_type"] = "DEFAULT"
    ctx.state.put("user", user["id"], user)
    return jr({"status": "OK", "user": account(user)["user"]})


def _follow_names(request: web.Request, user_id: int, outgoing: bool) -> list:
    ctx = ctx_of(request)
    docs = (
        ctx.state.list("follow", owner=user_id)
        if outgoing
        else ctx.state.list("follow", ref=user_id)
    )
    out = []
    for d in docs:
        other = ctx.state.get("user", d["to"] if outgoing else d["from"])
        if other:
            out.append(other["username"])
    return out


async def user_followers(request: web.Request) -> web.Response:
    """GET /chat/user/followers/"""
    user = require_user(request)
    return jr({"followers": _follow_names(request, user["id"], outgoing=False)})


async def user_following(request: web.Request) -> web.Response:
    """GET /chat/user/following/"""
    user = require_user(request)
    return jr({"following": _follow_names(request, user["id"], outgoing=True)})


async def user_public(request: web.Request) -> web.Response:
    """POST /chat/user/public/ {"username"} (guest OK; unknown -> 500)."""
    optional_user(request)
    body = await read_json(request)
    target = _user_by_name(request, body.get("username") if isinstance(body, dict) else None)
    if target is None:
        raise ApiError(500, {"status": "NOT_OK", "error": "Internal Server Error"})
    chars = [c for c in public_characters(ctx_of(request)) if c.get("owner_id") == target["id"]]
    return jr(public_user(target, chars))


async def user_follow(request: web.Request) -> web.Response:
    """POST /chat/user/follow/ and /unfollow/ {"username"}"""
    user = require_user(request)
    ctx = ctx_of(request)
    body = need_dict(await read_json(request), request)
    target = _user_by_name(request, body.get("username"))
    if target is None:
        return jr({"status": "NOT_OK", "error": "User not found"})
    if target["id"] == user["id"]:
        return jr({"status": "NOT_OK", "error": "You cannot follow yourself"})
    key = f"{user['id']}>{target['id']}"
    if request.path.rstrip("/").endswith("unfollow"):
        ctx.state.delete("follow", key)
    else:
        ctx.state.put(
            "follow",
            key,
            {"from": user["id"], "to": target["id"]},
            owner=user["id"],
            ref=target["id"],
        )
    return jr({"status": "OK"})


# -- personas -----------------------------------------------------------------------------


def _own_persona(request: web.Request, user: dict, pid: object):
    if not isinstance(pid, str) or not pid:
        return None
    p = ctx_of(request).state.get("persona", pid)
    if p is None or p.get("owner_id") != user["id"] or p.get("archived"):
        return None
    return p


async def persona_get(request: web.Request) -> web.Response:
    """GET /chat/persona/?id="""
    user = require_user(request)
    p = _own_persona(request, user, request.query.get("id"))
    if p is None:
        raise ApiError(404, {"persona": None, "status": "NOT_OK", "error": "Persona not found"})
    return jr({"persona": persona(p)})


async def personas_list(request: web.Request) -> web.Response:
    """GET /chat/personas/?force_refresh="""
    user = require_user(request)
    ps = [
        p for p in ctx_of(request).state.list("persona", owner=user["id"]) if not p.get("archived")
    ]
    return jr({"personas": [persona(p) for p in ps]})


def _persona_fields(body: dict, old: dict) -> dict:
    name = body.get("name") or body.get("participant__name") or old.get("name", "")
    definition = body.get("definition", old.get("definition", ""))
    if not isinstance(name, str) or not (3 <= len(name) <= 20):
        raise ApiError(400, {"status": "NOT_OK", "error": "Name must be 3-20 characters."})
    if not isinstance(definition, str) or len(definition) > 750:
        raise ApiError(
            400, {"status": "NOT_OK", "error": "Definition must be at most 750 characters."}
        )
    avatar = (
        body.get("avatar_rel_path")
        or body.get("avatar_file_name")
        or old.get("avatar_file_name", "")
    )
    return {"name": name, "definition": definition, "avatar_file_name": avatar or ""}


async def persona_create(request: web.Request) -> web.Response:
    """POST /chat/persona/create/"""
    user = require_user(request)
    body = need_dict(await read_json(request), request)
    doc = {
        "external_id": char_id(),
        **_persona_fields(body, {}),
        "owner_id": user["id"],
        "owner_username": user["username"],
        "identifier": body.get("identifier") or "id:" + new_id(),
        "archived": False,
    }
    ctx_of(request).state.put("persona", doc["external_id"], doc, owner=user["id"])
    return jr({"status": "OK", "persona": persona(doc)})


async def persona_update(request: web.Request) -> web.Response:
    """POST /chat/persona/update/ (``archived: true`` deletes)."""
    user = require_user(request)
    body = need_dict(await read_json(request), request)
    p = _own_persona(request, user, body.get("external_id"))
    if p is None:
        return jr({"status": "NOT_OK", "error": "Persona not found", "persona": None})
    p.update(_persona_fields(body, p))
    if body.get("archived"):
        p["archived"] = True
    ctx_of(request).state.put("persona", p["external_id"], p)
    return jr({"status": "OK", "persona": persona(p)})


# -- characters ---------------------------------------------------------------------------


async def characters_mine(request: web.Request) -> web.Response:
    """GET /chat/characters/?scope=user"""
    user = require_user(request)
    chars = [
        c
        for c in ctx_of(request).state.list("character", owner=user["id"])
        if not c.get("archived")
    ]
    return jr({"characters": [character_short(c) for c in chars]})


async def characters_upvoted(request: web.Request) -> web.Response:
    """GET /chat/user/characters/upvoted/"""
    user = require_user(request)
    ctx = ctx_of(request)
    out = []
    for v_id in _voted_ids(request, user, True):
        c = visible_character(ctx, v_id, user)
        if c:
            out.append(character_short(c))
    return jr({"characters": out})


def _voted_ids(request: web.Request, user: dict, value: bool) -> list:
    ctx = ctx_of(request)
    ids = []
    with ctx.state._lock:
        rows = ctx.state._conn.execute(
            "SELECT ref, data FROM docs WHERE kind='vote' AND owner=? ORDER BY seq DESC",
            (str(user["id"]),),
        ).fetchall()
    import json as _json

    for ref, data in rows:
        if _json.loads(data).get("vote") is value:
            ids.append(ref)
    return ids


async def curated(request: web.Request) -> web.Response:
    """GET /chat/curated_categories/characters/ (guest OK)."""
    optional_user(request)
    out: dict = {}
    for c in public_characters(ctx_of(request)):
        for cat in c.get("categories", []):
            if cat in CURATED:
                out.setdefault(cat, []).append(character_short(c))
    ordered = {cat: out[cat] for cat in CURATED if cat in out}
    return jr({"characters_by_curated_category": ordered})


async def featured(request: web.Request) -> web.Response:
    """GET /chat/characters/featured_v2/ (guest OK)."""
    optional_user(request)
    return jr({"characters": ranked_characters(ctx_of(request), "upvotes"), "name": "Featured"})


async def trending(request: web.Request) -> web.Response:
    """GET /chat/characters/trending/ (legacy; guest OK)."""
    optional_user(request)
    return jr({"trending_characters": ranked_characters(ctx_of(request), "num_interactions")})


async def characters_recent(request: web.Request) -> web.Response:
    """GET /chat/characters/recent/ (characters of recent chats, with ``max_last_interaction``)."""
    user = require_user(request)
    ctx = ctx_of(request)
    seen, out = set(), []
    for chat in ctx.state.list("chat", owner=user["id"]):
        cid = chat["character_id"]
        if cid in seen:
            continue
        seen.add(cid)
        c = visible_character(ctx, cid, user)
        if c:
            item = character_short(c)
            item["max_last_interaction"] = chat.get("create_time")
            out.append(item)
    return jr({"characters": out})


async def character_vote(request: web.Request) -> web.Response:
    """POST /chat/character/vote/ and /chat/character/{id}/vote {"external_id","vote"}"""
    user = require_user(request)
    ctx = ctx_of(request)
    body = need_dict(await read_json(request), request)
    cid = request.match_info.get("character_id") or body.get("external_id")
    c = visible_character(ctx, cid, user) if isinstance(cid, str) else None
    if c is None:
        return jr({"status": "NOT_OK", "error": "Character not found"})
    vote = body.get("vote")
    if vote not in (True, False, None):
        return jr({"status": "NOT_OK", "error": "vote must be true, false or null"})
    key = f"{user['id']}:{cid}"
    old = (ctx.state.get("vote", key) or {}).get("vote")
    if old is True:
        c["upvotes"] = max(0, c.get("upvotes", 0) - 1)
    if vote is True:
        c["upvotes"] = c.get("upvotes", 0) + 1
    ctx.state.put("character", cid, c, touch=False)
    if vote is None:
        ctx.state.delete("vote", key)
    else:
        ctx.state.put("vote", key, {"vote": vote}, owner=user["id"], ref=cid)
    return jr({"status": "OK"})


async def character_voted(request: web.Request) -> web.Response:
    """GET /chat/character/{id}/voted/ -> {"vote": true|false|null}"""
    user = require_user(request)
    cid = request.match_info["character_id"]
    doc = ctx_of(request).state.get("vote", f"{user['id']}:{cid}") or {}
    return jr({"vote": doc.get("vote")})


def _character_fields(body: dict, old: dict) -> dict:
    def err(msg: str) -> ApiError:
        return ApiError(400, {"status": "NOT_OK", "error": msg, "character": None})

    out = {}
    name = body.get("name", old.get("name"))
    greeting = body.get("greeting", old.get("greeting"))
    title = body.get("title", old.get("title", ""))
    description = body.get("description", old.get("description", ""))
    definition = body.get("definition", old.get("definition", ""))
    visibility = str(body.get("visibility", old.get("visibility", "PRIVATE")) or "PRIVATE").upper()
    if not isinstance(name, str) or not (3 <= len(name) <= 20):
        raise err("Name must be 3-20 characters.")
    if not isinstance(greeting, str) or not (3 <= len(greeting) <= 4096):
        raise err("Greeting must be 3-4096 characters.")
    if not isinstance(title, str) or (title and not (3 <= len(title) <= 50)):
        raise err("Title must be 3-50 characters.")
    if not isinstance(description, str) or len(description) > 500:
        raise err("Description must be at most 500 characters.")
    if not isinstance(definition, str) or len(definition) > 32000:
        raise err("Definition must be at most 32000 characters.")
    if visibility not in ("PUBLIC", "PRIVATE", "UNLISTED"):
        raise err("Visibility must be PUBLIC, PRIVATE or UNLISTED.")
    out.update(
        {
            "name": name,
            "greeting": greeting,
            "title": title,
            "description": description,
            "definition": definition,
            "visibility": visibility,
            "copyable": bool(body.get("copyable", old.get("copyable", False))),
            "avatar_file_name": body.get("avatar_rel_path", old.get("avatar_file_name", "")) or "",
            "default_voice_id": body.get("default_voice_id", old.get("default_voice_id", "")) or "",
            "voice_id": body.get("voice_id", old.get("voice_id", "")) or "",
            "img_gen_enabled": bool(body.get("img_gen_enabled", old.get("img_gen_enabled", False))),
            "base_img_prompt": body.get("base_img_prompt", old.get("base_img_prompt", "")) or "",
            "strip_img_prompt_from_msg": bool(
                body.get("strip_img_prompt_from_msg", old.get("strip_img_prompt_from_msg", False))
            ),
            "categories": [
                c
                for c in body.get("categories", old.get("categories", [])) or []
                if isinstance(c, str)
            ],
        }
    )
    return out


async def character_create(request: web.Request) -> web.Response:
    """POST /chat/character/create/"""
    user = require_user(request)
    body = need_dict(await read_json(request), request)
    doc = {
        "external_id": char_id(),
        **_character_fields(body, {}),
        "identifier": body.get("identifier") or "id:" + new_id(),
        "upvotes": 0,
        "num_interactions": 0,
        "owner_username": user["username"],
        "owner_id": user["id"],
        "archived": False,
    }
    doc["internal_id"] = "internal_" + doc["external_id"][:12]
    ctx_of(request).state.put("character", doc["external_id"], doc, owner=user["id"])
    return jr({"status": "OK", "character": character_full(doc)})


async def character_update(request: web.Request) -> web.Response:
    """POST /chat/character/update/ (own characters only; ``archived: true`` deletes)."""
    user = require_user(request)
    ctx = ctx_of(request)
    body = need_dict(await read_json(request), request)
    cid = body.get("external_id")
    c = ctx.state.get("character", cid) if isinstance(cid, str) else None
    if (
        c is None
        or c.get("archived")
        or (c.get("visibility") == "PRIVATE" and c.get("owner_id") != user["id"])
    ):
        return jr({"status": "NOT_OK", "error": "Character not found", "character": None})
    if c.get("owner_id") != user["id"]:
        return jr(
            {
                "status": "NOT_OK",
                "error": "You can only edit your own characters",
                "character": None,
            }
        )
    c.update(_character_fields(body, c))
    if body.get("archived"):
        c["archived"] = True
    ctx.state.put("character", cid, c, touch=False)
    return jr({"status": "OK", "character": character_full(c)})


async def character_info_v1(request: web.Request) -> web.Response:
    """POST /chat/character/info/ (legacy; guest OK)."""
    user = optional_user(request)
    body = await read_json(request)
    cid = body.get("external_id") if isinstance(body, dict) else None
    c = visible_character(ctx_of(request), cid, user) if isinstance(cid, str) else None
    if c is None:
        return jr({"status": "NOT_OK", "error": "Character not found"})
    own = user is not None and c.get("owner_id") == user["id"]
    return jr(
        {
            "status": "OK",
            "character": character_full(c, with_definition=own or c.get("copyable", False)),
        }
    )


async def voice_override(request: web.Request) -> web.Response:
    """POST /chat/character/{id}/voice_override/update/ | delete/ -> {"success"}"""
    user = require_user(request)
    ctx = ctx_of(request)
    cid = request.match_info["character_id"]
    if visible_character(ctx, cid, user) is None:
        return jr({"success": False, "error": "Character not found"})
    settings = ctx.state.get("settings", user["id"]) or _default_settings()
    overrides = settings.setdefault("voiceOverrides", {})
    if request.path.endswith("/delete/"):
        overrides.pop(cid, None)
    else:
        body = need_dict(await read_json(request), request)
        vid = body.get("voice_id")
        v = ctx.state.get("voice", vid) if isinstance(vid, str) and vid else None
        if v is None or (
            v.get("visibility") != "public" and v.get("creator_id") != str(user["id"])
        ):
            return jr({"success": False, "error": "Voice not found"})
        overrides[cid] = vid
    ctx.state.put("settings", user["id"], settings, owner=user["id"])
    return jr({"success": True})


# -- chat v1 histories --------------------------------------------------------------------


def _history_json(h: dict, user: dict, char: dict) -> dict:
    msgs = []
    for m in h.get("msgs", []):
        human = bool(m.get("is_human"))
        char_part = {
            "user": {"username": char.get("internal_id", "")},
            "is_human": False,
            "name": char.get("name", ""),
            "num_interactions": char.get("num_interactions", 0),
        }
        user_part = {
            "user": {"username": user["username"]},
            "is_human": True,
            "name": user["username"],
            "num_interactions": 0,
        }
        msgs.append(
            {
                "uuid": m["uuid"],
                "id": m["id"],
                "text": m.get("text", ""),
                "is_alternative": False,
                "image_rel_path": "",
                "annotable": not human,
                "display_name": user["name"] if human else char.get("name", ""),
                "created": m.get("created"),
                "src": user_part if human else char_part,
                "tgt": char_part if human else user_part,
                "src__name": user["name"] if human else char.get("name", ""),
                "src__is_human": human,
                "src__user__username": user["username"] if human else char.get("internal_id", ""),
                "deleted": None,
            }
        )
    return {
        "external_id": h["external_id"],
        "created": h.get("created"),
        "last_interaction": h.get("last_interaction"),
        "msgs": msgs,
    }


async def histories(request: web.Request) -> web.Response:
    """POST /chat/character/histories/ and histories_v2/ {"external_id","number"}"""
    user = require_user(request)
    ctx = ctx_of(request)
    body = need_dict(await read_json(request), request)
    cid = body.get("external_id")
    number = body.get("number", 50)
    if not isinstance(number, int) or number < 0:
        raise plus_err(400, "number must be a non-negative integer")
    char = visible_character(ctx, cid, user) if isinstance(cid, str) else None
    if char is None:
        return jr({"histories": []})
    hs = [h for h in ctx.state.list("history", owner=user["id"], ref=cid)]
    hs.sort(key=lambda h: h.get("last_interaction") or "", reverse=True)
    return jr({"histories": [_history_json(h, user, char) for h in hs[:number]]})


# -- media --------------------------------------------------------------------------------


async def generate_avatar_options(request: web.Request) -> web.Response:
    """POST /chat/character/generate-avatar-options {"prompt","num_candidates","model_version"}"""
    require_user(request)
    ctx = ctx_of(request)
    body = need_dict(await read_json(request), request)
    prompt = body.get("prompt")
    n = body.get("num_candidates", 4)
    if not isinstance(prompt, str) or not prompt.strip():
        raise plus_err(400, "prompt is required")
    if not isinstance(n, int) or not (1 <= n <= 8):
        raise plus_err(400, "num_candidates must be 1-8")
    out = []
    for i in range(n):
        digest = hashlib.sha256(f"{prompt}|{i}".encode()).hexdigest()[:24]
        name = f"generated/{digest}.png"
        ctx.state.put_blob("avatars/" + name, "image/png", media.png(f"{prompt}|{i}"))
        out.append({"prompt": prompt, "url": f"{ctx.base_url}/cdn/i/400/static/avatars/{name}"})
    return jr({"result": out})


async def upload_image(request: web.Request) -> web.Response:
    """POST /chat/upload-image/ multipart part ``image`` -> {"status": "OK", "value": <rel path>}"""
    require_user(request)
    ctx = ctx_of(request)
    if not request.content_type.startswith("multipart/"):
        raise plus_err(400, "expected multipart/form-data")
    try:
        parts = await read_multipart(request)
    except Exception:
        raise plus_err(400, "invalid multipart body") from None
    data, mime = (parts["image"][0], parts["image"][1]) if "image" in parts else (None, "image/png")
    if not mime.startswith("image/"):
        mime = "image/png"
    if not data:
        raise plus_err(400, "image is required")
    ext = {"image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}.get(mime, "png")
    day = now_ts()[:10].replace("-", "/")
    rel = f"uploaded/{day}/{hashlib.sha256(data).hexdigest()[:24]}.{ext}"
    ctx.state.put_blob("user/" + rel, mime, data)
    ctx.state.put_blob("avatars/" + rel, mime, data)
    return jr({"status": "OK", "value": rel})


async def legacy_voices(request: web.Request) -> web.Response:
    """GET /chat/character/voices/ (legacy TTS voice list)."""
    optional_user(request)
    vs = [v for v in ctx_of(request).state.list("voice") if v.get("system")][::-1]
    return jr(
        {
            "voices": [
                {
                    "id": i + 1,
                    "name": v["name"],
                    "voice_id": v["id"],
                    "country_code": "US",
                    "lang_code": "en",
                }
                for i, v in enumerate(vs)
            ]
        }
    )


def setup(app: web.Application) -> None:
    """Register the plus routes."""
    r = app.router
    r.add_get(P + "/chat/user/", user_me)
    r.add_get(P + "/chat/user/settings/", user_settings)
    r.add_post(P + "/chat/user/update_settings/", user_update_settings)
    r.add_post(P + "/chat/user/update/", user_update)
    r.add_get(P + "/chat/user/followers/", user_followers)
    r.add_get(P + "/chat/user/following/", user_following)
    # N2's form of the public lists (others.md 2.1): the same answer as /public/...
    r.add_post(P + "/chat/user/followers", routes_compat.public_follows)
    r.add_post(P + "/chat/user/following", routes_compat.public_follows)
    r.add_post(P + "/chat/user/public/", user_public)
    r.add_post(P + "/chat/user/follow/", user_follow)
    r.add_post(P + "/chat/user/unfollow/", user_follow)
    r.add_post(P + "/chat/user/follow", user_follow)
    r.add_post(P + "/chat/user/unfollow", user_follow)
    r.add_get(P + "/chat/user/characters/upvoted/", characters_upvoted)
    r.add_get(P + "/chat/persona/", persona_get)
    r.add_get(P + "/chat/personas/", personas_list)
    r.add_post(P + "/chat/persona/create/", persona_create)
    r.add_post(P + "/chat/persona/update/", persona_update)
    r.add_get(P + "/chat/characters/", characters_mine)
    r.add_get(P + "/chat/curated_categories/characters/", curated)
    r.add_get(P + "/chat/characters/featured_v2/", featured)
    r.add_get(P + "/chat/characters/trending/", trending)
    r.add_get(P + "/chat/characters/recent/", characters_recent)
    r.add_post(P + "/chat/character/vote/", character_vote)
    r.add_post(P + "/chat/character/create/", character_create)
    r.add_post(P + "/chat/character/update/", character_update)
    r.add_post(P + "/chat/character/info/", character_info_v1)
    r.add_post(P + "/chat/character/histories/", histories)
    r.add_post(P + "/chat/character/histories_v2/", histories)
    r.add_post(P + "/chat/character/generate-avatar-options", generate_avatar_options)
    r.add_get(P + "/chat/character/voices/", legacy_voices)
    r.add_post(P + "/chat/upload-image/", upload_image)
    r.add_post(P + "/chat/character/{character_id}/vote", character_vote)
    r.add_get(P + "/chat/character/{character_id}/voted/", character_voted)
    r.add_post(P + "/chat/character/{character_id}/voice_override/update/", voice_override)
    r.add_post(P + "/chat/character/{character_id}/voice_override/delete/", voice_override)
