"""Routes of ``https://neo.character.ai`` under ``/neo``."""

from __future__ import annotations

import base64
import re
from typing import Optional

from aiohttp import web

from caiclient.emulator.chats import chat_json, owned_chat
from caiclient.emulator.common import (
    ApiError,
    character_full,
    character_short,
    ctx_of,
    default_settings,
    jr,
    need_dict,
    neo_err,
    optional_user,
    public_characters,
    ranked_characters,
    read_json,
    read_multipart,
    require_user,
    visible_character,
    voice,
)
from caiclient.emulator.util import new_id, now_ts

__all__ = ["setup"]

P = "/neo"
MAX_PAGE = 500
DEFAULT_PAGE = 50
MODELS = [
    "MODEL_TYPE_FAST",
    "MODEL_TYPE_BALANCED",
    "MODEL_TYPE_SMART",
    "MODEL_TYPE_FAMILY_FRIENDLY",
]


def proto(obj: dict) -> dict:
    """Drop empty lists: neo answers in protobuf-style JSON, where a repeated field with
    nothing in it is absent (``GET /chats/recent/{character_id}`` with no chat is ``{}``;
    issue 16, cainode.md 8: CAINode treats a missing ``chats`` as "no chat yet" and
    crashes on ``[]``)."""
    return {k: v for k, v in obj.items() if v != []}


def _chat_or_404(request: web.Request, user: dict) -> dict:
    chat = owned_chat(ctx_of(request), request.match_info["chat_id"], user)
    if chat is None:
        raise neo_err(404, "chat not found")
    return chat


def _encode_token(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode()


def _decode_token(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)).decode()
        if not raw.startswith("seq:"):
            raise ValueError
        return int(raw[4:])
    except Exception:
        raise neo_err(400, "invalid next_token") from None


# -- chats --------------------------------------------------------------------------------


async def chats_list(request: web.Request) -> web.Response:
    """GET /chats/?character_ids=&num_preview_turns= (also tolerates N1's POST)."""
    user = require_user(request)
    ctx = ctx_of(request)
    raw_ids = request.query.get("character_ids", "")
    # N2 writes "...character_ids=<id>?num_preview_turns=<n>" (a second '?').
    preview_raw = request.query.get("num_preview_turns", "")
    if "?" in raw_ids:
        raw_ids, _, rest = raw_ids.partition("?")
        m = re.match(r"num_preview_turns=(\d+)", rest)
        if m:
            preview_raw = m.group(1)
    ids = [i for i in raw_ids.split(",") if i]
    try:
        preview = int(preview_raw) if preview_raw else 2
    except ValueError:
        raise neo_err(400, "invalid num_preview_turns") from None
    preview = max(0, min(preview, 50))
    chats = [
        c
        for c in ctx.state.list("chat", owner=user["id"])
        if (not ids or c["character_id"] in ids) and c.get("state") != "STATE_ARCHIVED"
    ]
    return jr(proto({"chats": [chat_json(ctx, c, preview=preview) for c in chats]}))


async def chat_get(request: web.Request) -> web.Response:
    """GET /chat/{chat_id}/"""
    user = require_user(request)
    chat = _chat_or_404(request, user)
    return jr({"chat": chat_json(ctx_of(request), chat)})


async def chats_recent(request: web.Request) -> web.Response:
    """GET /chats/recent/ (one latest chat per character, newest first)."""
    user = require_user(request)
    ctx = ctx_of(request)
    hidden = {h["character_id"] for h in ctx.state.list("hidden", owner=user["id"])}
    seen, out = set(), []
    for c in ctx.state.list("chat", owner=user["id"]):
        if (
            c["character_id"] in seen
            or c["character_id"] in hidden
            or c.get("state") == "STATE_ARCHIVED"
        ):
            continue
        seen.add(c["character_id"])
        out.append(chat_json(ctx, c, recent=True))
    return jr(proto({"chats": out}))


async def chats_recent_for(request: web.Request) -> web.Response:
    """GET /chats/recent/{character_id}: latest chats with a character (or a chat id)."""
    user = require_user(request)
    ctx = ctx_of(request)
    key = request.match_info["character_id"]
    chat = owned_chat(ctx, key, user)
    if chat is not None:
        return jr({"chats": [chat_json(ctx, chat, recent=True)]})
    chats = [
        chat_json(ctx, c, recent=True)
        for c in ctx.state.list("chat", owner=user["id"], ref=key)
        if c.get("state") != "STATE_ARCHIVED"
    ]
    return jr(proto({"chats": chats}))


async def chats_recent_hide(request: web.Request) -> web.Response:
    """PUT /chats/recent/{character_id}/hide"""
    user = require_user(request)
    cid = request.match_info["character_id"]
    ctx_of(request).state.put(
        "hidden", f"{user['id']}:{cid}", {"character_id": cid}, owner=user["id"]
    )
    return jr({})


async def chat_update_name(request: web.Request) -> web.Response:
    """PATCH /chat/{chat_id}/update_name"""
    user = require_user(request)
    chat = _chat_or_404(request, user)
    body = need_dict(await read_json(request), request)
    name = body.get("name")
    if not isinstance(name, str) or len(name) > 200:
        raise neo_err(400, "invalid name")
    chat["name"] = name
    ctx_of(request).state.put("chat", chat["chat_id"], chat, touch=False)
    return jr({})


async def chat_archive(request: web.Request) -> web.Response:
    """PATCH /chat/{chat_id}/archive (empty body)."""
    user = require_user(request)
    chat = _chat_or_404(request, user)
    if chat.get("state") == "STATE_ARCHIVED":
        raise neo_err(400, "chat is already archived")
    chat["state"] = "STATE_ARCHIVED"
    ctx_of(request).state.put("chat", chat["chat_id"], chat, touch=False)
    return jr({})


async def chat_unarchive(request: web.Request) -> web.Response:
    """PATCH /chat/{chat_id}/unarchive (empty body)."""
    user = require_user(request)
    chat = _chat_or_404(request, user)
    if chat.get("state") != "STATE_ARCHIVED":
        raise neo_err(400, "chat is not archived")
    chat["state"] = "STATE_ACTIVE"
    ctx_of(request).state.put("chat", chat["chat_id"], chat)
    return jr({})


async def chat_preferred_model(request: web.Request) -> web.Response:
    """PATCH /chat/{chat_id}/preferred-model-type"""
    user = require_user(request)
    chat = _chat_or_404(request, user)
    body = need_dict(await read_json(request), request)
    model = body.get("preferred_model_type")
    if not isinstance(model, str) or not model:
        raise neo_err(400, "invalid preferred_model_type")
    chat["preferred_model_type"] = model
    ctx_of(request).state.put("chat", chat["chat_id"], chat, touch=False)
    return jr({})


async def chat_copy(request: web.Request) -> web.Response:
    """POST /chat/{chat_id}/copy {"end_turn_id"} -> {"new_chat_id"}"""
    user = require_user(request)
    ctx = ctx_of(request)
    chat = _chat_or_404(request, user)
    body = need_dict(await read_json(request), request)
    end = body.get("end_turn_id")
    upto: Optional[int] = None
    if end:
        upto = ctx.state.turn_seq(chat["chat_id"], str(end))
        if upto is None:
            raise neo_err(404, "turn not found")
    new_chat = dict(chat)
    new_chat["chat_id"] = new_id()
    new_chat["create_time"] = now_ts()
    new_chat["state"] = "STATE_ACTIVE"
    ctx.state.put("chat", new_chat["chat_id"], new_chat, owner=user["id"], ref=chat["character_id"])
    for _, t in reversed(ctx.state.turns_page(chat["chat_id"], upto_seq=upto)):
        t["turn_key"] = {"chat_id": new_chat["chat_id"], "turn_id": t["turn_key"]["turn_id"]}
        ctx.state.add_turn(new_chat["chat_id"], t)
    return jr({"new_chat_id": new_chat["chat_id"]})


# -- turns --------------------------------------------------------------------------------


async def turns_list(request: web.Request) -> web.Response:
    """GET /turns/{chat_id}/ newest first; ?next_token=, ?pinned_only=true, ?page_size="""
    user = require_user(request)
    ctx = ctx_of(request)
    chat = _chat_or_404(request, user)
    token = request.query.get("next_token")
    before = _decode_token(token) if token else None
    pinned = request.query.get("pinned_only", "").lower() in ("true", "1", "yes")
    try:
        size = int(request.query.get("page_size", DEFAULT_PAGE))
    except ValueError:
        raise neo_err(400, "invalid page_size") from None
    size = max(1, min(size, MAX_PAGE))
    page = ctx.state.turns_page(chat["chat_id"], before_seq=before, limit=size, pinned_only=pinned)
    page = page[:size]
    # Every page that has turns carries a string meta.next_token, the last one included;
    # the end is a page with no turns, sent protobuf-style as {} (issue 16: clients type
    # next_token as a required string, cainode.md 8; PyCharacterAI stops on an empty page
    # or a falsy token, neo.md 2.4 fetch_all_messages).
    if not page:
        return jr({})
    return jr({"turns": [t for _, t in page], "meta": {"next_token": _encode_token(page[-1][0])}})


async def turns_remove(request: web.Request) -> web.Response:
    """POST /turns/{chat_id}/remove {"turn_ids": [...]}"""
    user = require_user(request)
    chat = _chat_or_404(request, user)
    body = need_dict(await read_json(request), request)
    ids = body.get("turn_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise neo_err(400, "turn_ids must be a non-empty list of strings")
    ctx_of(request).state.delete_turns(chat["chat_id"], ids)
    return jr({})


def _turn_key(body: dict, user: dict, request: web.Request) -> tuple:
    raw_tk = body.get("turn_key")
    tk: dict = raw_tk if isinstance(raw_tk, dict) else {}
    chat = owned_chat(ctx_of(request), tk.get("chat_id"), user)
    if chat is None:
        raise neo_err(404, "chat not found")
    tid = tk.get("turn_id")
    turn = ctx_of(request).state.get_turn(chat["chat_id"], tid) if isinstance(tid, str) else None
    if turn is None:
        raise neo_err(404, "turn not found")
    return chat, turn


async def turn_pin(request: web.Request) -> web.Response:
    """POST /turn/pin {"is_pinned", "turn_key"} -> {"turn"}"""
    user = require_user(request)
    body = need_dict(await read_json(request), request)
    chat, turn = _turn_key(body, user, request)
    turn["is_pinned"] = bool(body.get("is_pinned"))
    ctx_of(request).state.save_turn(chat["chat_id"], turn)
    return jr({"turn": turn})


async def annotation_create(request: web.Request) -> web.Response:
    """POST /annotation/create -> {"annotation": {...}}"""
    user = require_user(request)
    body = need_dict(await read_json(request), request)
    chat, turn = _turn_key(body, user, request)
    raw_ann = body.get("annotation")
    ann: dict = raw_ann if isinstance(raw_ann, dict) else {}
    if not ann.get("annotation_type"):
        raise neo_err(400, "annotation_type is required")
    doc = {
        "annotation_id": new_id(),
        "annotation_type": ann.get("annotation_type"),
        "annotation_value": ann.get("annotation_value", 1),
        "annotation_raw_content": ann.get("annotation_raw_content", ""),
        "candidate_id": body.get("candidate_id"),
        "turn_key": turn["turn_key"],
        "create_time": now_ts(),
    }
    ctx_of(request).state.put(
        "annotation", doc["annotation_id"], doc, owner=user["id"], ref=chat["chat_id"]
    )
    return jr({"annotation": doc})


async def annotation_remove(request: web.Request) -> web.Response:
    """POST /annotation/remove {"annotation_id", ...}"""
    user = require_user(request)
    body = need_dict(await read_json(request), request)
    ctx = ctx_of(request)
    aid = body.get("annotation_id")
    meta = ctx.state.meta("annotation", aid) if isinstance(aid, str) else None
    if meta is None or meta[0] != str(user["id"]):
        raise neo_err(404, "annotation not found")
    ctx.state.delete("annotation", aid)
    return jr({})


async def annotations_for(request: web.Request) -> web.Response:
    """POST /annotations/{chat_id}/{turn_id}/{candidate_id} -> {"annotations": [...]}"""
    user = require_user(request)
    ctx = ctx_of(request)
    chat = _chat_or_404(request, user)
    tid, cid = request.match_info["turn_id"], request.match_info["candidate_id"]
    if ctx.state.get_turn(chat["chat_id"], tid) is None:
        raise neo_err(404, "turn not found")
    anns = [
        a
        for a in ctx.state.list("annotation", owner=user["id"], ref=chat["chat_id"])
        if a["turn_key"]["turn_id"] == tid and a.get("candidate_id") == cid
    ]
    return jr(proto({"annotations": anns}))


# -- characters / recommendations / search ------------------------------------------------


async def get_character_info(request: web.Request) -> web.Response:
    """POST /character/v1/get_character_info (guest OK; unknown -> 200 NOT_OK)."""
    user = optional_user(request)
    body = await read_json(request)
    cid = body.get("external_id") if isinstance(body, dict) else None
    if not isinstance(cid, str) or not cid:
        return jr({"status": "NOT_OK", "error": "external_id is required"})
    char = visible_character(ctx_of(request), cid, user)
    if char is None:
        return jr({"status": "NOT_OK", "error": "Character not found"})
    own = user is not None and char.get("owner_id") == user["id"]
    return jr(
        {
            "character": character_full(char, with_definition=own or char.get("copyable", False)),
            "status": "OK",
        }
    )


def _recommend(chars: list, key: str, n: int = 10) -> list:
    return sorted(chars, key=lambda c: c["external_id"] + key)[:n]


async def recommendation_user(request: web.Request) -> web.Response:
    """GET /recommendation/v1/user (account)."""
    user = require_user(request)
    chars = public_characters(ctx_of(request))
    return jr({"characters": [character_short(c) for c in _recommend(chars, str(user["id"]))]})


async def recommendation_featured(request: web.Request) -> web.Response:
    """GET /recommendation/v1/featured (guest OK)."""
    optional_user(request)
    return jr({"characters": ranked_characters(ctx_of(request), "num_interactions")})


async def recommendation_character(request: web.Request) -> web.Response:
    """GET /recommendation/v1/character/{character_id} (similar; guest OK)."""
    user = optional_user(request)
    ctx = ctx_of(request)
    cid = request.match_info["character_id"]
    base = visible_character(ctx, cid, user)
    if base is None:
        raise neo_err(404, "character not found")
    cats = set(base.get("categories", []))
    others = [c for c in public_characters(ctx) if c["external_id"] != cid]
    others.sort(key=lambda c: (-len(cats & set(c.get("categories", []))), -c.get("upvotes", 0)))
    return jr({"characters": [character_short(c) for c in others[:8]]})


async def recommendation_category_get(request: web.Request) -> web.Response:
    """GET /recommendation/v1/category (guest OK)."""
    optional_user(request)
    cats: list = []
    for c in public_characters(ctx_of(request)):
        for cat in c.get("categories", []):
            if cat not in cats:
                cats.append(cat)
    return jr({"categories": cats})


async def recommendation_category_post(request: web.Request) -> web.Response:
    """POST /recommendation/v1/category {"default_persona_id"} (N2's default-persona call)."""
    user = require_user(request)
    body = need_dict(await read_json(request), request)
    ctx = ctx_of(request)
    settings = ctx.state.get("settings", user["id"]) or _default_settings()
    if "default_persona_id" in body:
        settings["default_persona_id"] = body.get("default_persona_id") or ""
        ctx.state.put("settings", user["id"], settings, owner=user["id"])
    return jr({"success": True})


def _default_settings() -> dict:
    return default_settings()


def _matches(c: dict, q: str) -> bool:
    q = q.lower()
    return any(q in (c.get(k) or "").lower() for k in ("name", "title", "description"))


async def search_character(request: web.Request) -> web.Response:
    """GET /search/v1/character?query= (guest OK)."""
    optional_user(request)
    ctx = ctx_of(request)
    q = request.query.get("query", "").strip()
    tags = {t["name"]: t["id"] for t in (ctx.state.get("config", "main") or {}).get("tags", [])}
    out = []
    for i, c in enumerate(x for x in public_characters(ctx) if q and _matches(x, q)):
        item = character_short(c)
        tag = next((t for t in c.get("categories", []) if t in tags), None)
        item.update(
            {
                "document_id": c["external_id"],
                "score": round(1.0 / (i + 1), 4),
                "search_score": round(1.0 / (i + 1), 4),
                "tag_id": tags.get(tag) if tag else None,
                "tag": tag,
                "created_at": "2024-01-01T00:00:00.000000Z",
                "updated_at": "2025-01-01T00:00:00.000000Z",
                "_distance": round(i * 0.1, 4),
            }
        )
        out.append(item)
    return jr(proto({"characters": out, "safety_filtered": False, "tags": [], "uuid": new_id()}))


async def tag_options(request: web.Request) -> web.Response:
    """GET /character/v1/character_tag_options"""
    optional_user(request)
    return jr({"tags": (ctx_of(request).state.get("config", "main") or {}).get("tags", [])})


async def search_popular(request: web.Request) -> web.Response:
    """GET /search/v1/query/popular"""
    optional_user(request)
    cfg = ctx_of(request).state.get("config", "main") or {}
    return jr({"popular_search_queries": cfg.get("popular_searches", [])})


async def search_trending(request: web.Request) -> web.Response:
    """GET /search/v1/query/trending"""
    optional_user(request)
    cfg = ctx_of(request).state.get("config", "main") or {}
    return jr({"trending_search_queries": list(reversed(cfg.get("popular_searches", [])))})


async def search_autocomplete(request: web.Request) -> web.Response:
    """GET /search/v1/query/autocomplete?query_prefix="""
    optional_user(request)
    prefix = request.query.get("query_prefix", "").lower()
    names = [c["name"] for c in public_characters(ctx_of(request))]
    return jr(
        {"search_autocomplete": [n for n in names if prefix and n.lower().startswith(prefix)]}
    )


async def report_create(request: web.Request) -> web.Response:
    """POST /report/create -> {"report": {"report_id"}}"""
    user = require_user(request)
    body = need_dict(await read_json(request), request)
    if not body.get("reported_resource_id") or not body.get("type"):
        raise neo_err(400, "reported_resource_id and type are required")
    rep = {
        "report_id": new_id(),
        **{k: body.get(k) for k in ("category", "comments", "reported_resource_id", "type")},
    }
    ctx_of(request).state.put("report", rep["report_id"], rep, owner=user["id"])
    return jr({"report": rep})


async def available_models(request: web.Request) -> web.Response:
    """GET /get-available-models"""
    require_user(request)
    return jr({"available_models": MODELS, "default_model_type": "MODEL_TYPE_BALANCED"})


async def ping(request: web.Request) -> web.Response:
    """GET /ping/ and /ping (guest OK)."""
    return jr({"status": "pong"})


# -- migration (chat v1 -> v2) ------------------------------------------------------------


async def migration_start(request: web.Request) -> web.Response:
    """POST /migration/{history_id} (body ``true``): migrate a v1 history into a new v2 chat."""
    user = require_user(request)
    ctx = ctx_of(request)
    hid = request.match_info["history_id"]
    hist = ctx.state.get("history", hid)
    if hist is None or hist.get("owner_id") != user["id"]:
        raise neo_err(404, "history not found")
    existing = ctx.state.get("migration", hid)
    if existing is not None:
        return jr({"migration": existing})
    char = ctx.state.get("character", hist["character_id"]) or {
        "name": "",
        "external_id": hist["character_id"],
    }
    chat_id = new_id()
    ts = now_ts()
    chat = {
        "chat_id": chat_id,
        "create_time": hist.get("created", ts),
        "creator_id": str(user["id"]),
        "character_id": hist["character_id"],
        "state": "STATE_ACTIVE",
        "type": "TYPE_ONE_ON_ONE",
        "visibility": "VISIBILITY_PRIVATE",
    }
    ctx.state.put("chat", chat_id, chat, owner=user["id"], ref=hist["character_id"])
    for m in hist.get("msgs", []):
        author = (
            {"author_id": str(user["id"]), "name": user["name"], "is_human": True}
            if m.get("is_human")
            else {"author_id": char["external_id"], "name": char.get("name", ""), "is_human": False}
        )
        created = m.get("created", ts)
        cand = {
            "candidate_id": m["uuid"],
            "create_time": created,
            "raw_content": m.get("text", ""),
            "is_final": True,
            "safety_truncated": False,
        }
        ctx.state.add_turn(
            chat_id,
            {
                "turn_key": {"chat_id": chat_id, "turn_id": m["uuid"]},
                "create_time": created,
                "last_update_time": created,
                "state": "STATE_OK",
                "author": author,
                "candidates": [cand],
                "primary_candidate_id": m["uuid"],
                "is_pinned": False,
            },
        )
    mig = {
        "migrationId": new_id(),
        "createTime": ts,
        "lastUpdateTime": now_ts(),
        "status": "STATUS_DONE",
        "properties": {
            "chat_id": chat_id,
            "history_external_id": hid,
            "character_id": hist["character_id"],
        },
    }
    ctx.state.put("migration", hid, mig, owner=user["id"])
    return jr({"migration": mig})


async def migration_get(request: web.Request) -> web.Response:
    """GET /migration/{history_id}"""
    user = require_user(request)
    ctx = ctx_of(request)
    hid = request.match_info["history_id"]
    meta = ctx.state.meta("migration", hid)
    if meta is None or meta[0] != str(user["id"]):
        raise neo_err(404, "migration not found")
    return jr({"migration": ctx.state.get("migration", hid)})


# -- voices & TTS -------------------------------------------------------------------------

V = P + "/multimodal/api/v1"
_NAME_RE = re.compile(r"^[\w .'-]{3,20}$", re.UNICODE)


def _visible_voice(v: dict, user: Optional[dict]) -> bool:
    return v.get("visibility") == "public" or (
        user is not None and v.get("creator_id") == str(user["id"])
    )


def _voice_list(request: web.Request, voices: list) -> web.Response:
    base = ctx_of(request).base_url
    return jr({"voices": [voice(v, base) for v in voices]})


async def voices_user(request: web.Request) -> web.Response:
    """GET voices/user (account)."""
    user = require_user(request)
    return _voice_list(request, ctx_of(request).state.list("voice", owner=user["id"]))


async def voices_system(request: web.Request) -> web.Response:
    """GET voices/system (guest OK)."""
    optional_user(request)
    return _voice_list(
        request, [v for v in ctx_of(request).state.list("voice") if v.get("system")][::-1]
    )


async def voices_featured(request: web.Request) -> web.Response:
    """GET voices/featured (guest OK)."""
    optional_user(request)
    vs = [
        v
        for v in ctx_of(request).state.list("voice")
        if v.get("featured") and v.get("visibility") == "public"
    ]
    return _voice_list(request, vs[::-1])


async def voices_search(request: web.Request) -> web.Response:
    """GET voices/search?query= | ?creatorInfo.username= | ?characterName= (guest OK)."""
    user = optional_user(request)
    ctx = ctx_of(request)
    voices = [v for v in ctx.state.list("voice")[::-1] if _visible_voice(v, user)]
    q = request.query
    if "creatorInfo.username" in q:
        name = q["creatorInfo.username"]
        voices = [v for v in voices if v.get("creator_username") == name]
    elif "characterName" in q:
        name = q["characterName"].lower()
        chars = [c for c in public_characters(ctx) if name and name in c["name"].lower()]
        ids = {c.get("default_voice_id") for c in chars if c.get("default_voice_id")}
        voices = [v for v in voices if v["id"] in ids or (name and name in v["name"].lower())]
    else:
        query = q.get("query", "").lower()
        voices = [
            v
            for v in voices
            if query and (query in v["name"].lower() or query in v.get("description", "").lower())
        ]
    return _voice_list(request, voices)


def _voice_or_404(request: web.Request, user: Optional[dict], owned: bool = False) -> dict:
    v = ctx_of(request).state.get("voice", request.match_info["voice_id"])
    if v is None or not _visible_voice(v, user):
        raise neo_err(404, "voice not found")
    if owned and (user is None or v.get("creator_id") != str(user["id"])):
        raise neo_err(403, "you can only change your own voices")
    return v


async def voice_get(request: web.Request) -> web.Response:
    """GET voices/{voice_id} (guest OK for public voices)."""
    user = optional_user(request)
    return jr({"voice": voice(_voice_or_404(request, user), ctx_of(request).base_url)})


async def voice_put(request: web.Request) -> web.Response:
    """PUT voices/{voice_id} {"voice": {...}}"""
    user = require_user(request)
    v = _voice_or_404(request, user, owned=True)
    body = need_dict(await read_json(request), request)
    new = body.get("voice") if isinstance(body.get("voice"), dict) else None
    if new is None:
        raise neo_err(400, "voice is required")
    name = new.get("name", v["name"])
    desc = new.get("description", v.get("description", ""))
    vis = str(new.get("visibility", v["visibility"])).lower()
    if not isinstance(name, str) or not (3 <= len(name) <= 20):
        raise neo_err(400, "name must be 3-20 characters")
    if not isinstance(desc, str) or len(desc) > 120:
        raise neo_err(400, "description must be at most 120 characters")
    if vis not in ("private", "public"):
        raise neo_err(400, "visibility must be private or public")
    v.update({"name": name, "description": desc, "visibility": vis, "lastUpdateTime": now_ts()})
    for key in ("gender", "previewText"):
        if isinstance(new.get(key), str) and new.get(key):
            v[key] = new[key]
    v["internalStatus"] = "active"
    ctx_of(request).state.put("voice", v["id"], v)
    return jr({"voice": voice(v, ctx_of(request).base_url)})


async def voice_delete(request: web.Request) -> web.Response:
    """DELETE voices/{voice_id}"""
    user = require_user(request)
    v = _voice_or_404(request, user, owned=True)
    ctx_of(request).state.delete("voice", v["id"])
    return jr({})


async def voice_upload(request: web.Request) -> web.Response:
    """POST voices/ multipart (``file`` + ``json`` parts) -> 201 {"voice"}"""
    import json as _json

    user = require_user(request)
    ctx = ctx_of(request)
    if not request.content_type.startswith("multipart/"):
        raise neo_err(400, "expected multipart/form-data")
    try:
        parts = await read_multipart(request)
        audio = (
            (
                parts["file"][0],
                parts["file"][1] if parts["file"][1].startswith("audio/") else "audio/mpeg",
            )
            if "file" in parts
            else None
        )
        meta = _json.loads(parts["json"][0].decode("utf-8")) if "json" in parts else None
    except Exception:
        raise neo_err(400, "invalid multipart body") from None
    if audio is None or not audio[0]:
        raise neo_err(400, "file is required")
    if not isinstance(meta, dict) or not isinstance(meta.get("voice"), dict):
        raise neo_err(400, "json part with a voice object is required")
    vin = meta["voice"]
    name = vin.get("name") or "name"
    vid = new_id()
    doc = {
        "id": vid,
        "name": str(name)[:20],
        "description": str(vin.get("description") or "")[:120],
        "gender": vin.get("gender") or "neutral",
        "visibility": str(vin.get("visibility") or "private").lower(),
        "previewText": vin.get("previewText")
        or "Good day! Here to make life a little less complicated.",
        "creator_id": str(user["id"]),
        "creator_username": user["username"],
        "source": "user",
        "system": False,
        "featured": False,
        "internalStatus": "draft",
        "lastUpdateTime": now_ts(),
    }
    if doc["visibility"] not in ("private", "public"):
        doc["visibility"] = "private"
    ctx.state.put_blob(f"voices/{vid}", audio[1] or "audio/mpeg", audio[0])
    ctx.state.put("voice", vid, doc, owner=user["id"])
    return jr({"voice": voice(doc, ctx.base_url)}, status=201)


async def memo_replay(request: web.Request) -> web.Response:
    """POST memo/replay {"candidateId","roomId","turnId","voiceId"} -> {"replayUrl"}"""
    user = require_user(request)
    ctx = ctx_of(request)
    body = need_dict(await read_json(request), request)
    chat = owned_chat(ctx, body.get("roomId"), user)
    if chat is None:
        raise neo_err(404, "chat not found")
    tid = body.get("turnId")
    turn = ctx.state.get_turn(chat["chat_id"], tid) if isinstance(tid, str) else None
    if turn is None:
        raise neo_err(404, "turn not found")
    cand = next(
        (c for c in turn.get("candidates", []) if c.get("candidate_id") == body.get("candidateId")),
        None,
    )
    if cand is None:
        raise neo_err(404, "candidate not found")
    vid = body.get("voiceId")
    if vid:
        v = ctx.state.get("voice", vid)
        if v is None or not _visible_voice(v, user):
            raise ApiError(
                404,
                {
                    "error": {"message": "voice not found"},
                    "command": "neo_error",
                    "comment": "voice not found",
                },
            )
    elif not body.get("voiceQuery"):
        raise neo_err(400, "voiceId or voiceQuery is required")
    audio_id = new_id().replace("-", "")
    ctx.state.put("audio", audio_id, {"text": cand.get("raw_content", ""), "voice_id": vid or ""})
    return jr({"replayUrl": f"{ctx.base_url}/cdn/audio/{audio_id}.mp3"})


def setup(app: web.Application) -> None:
    """Register the neo routes."""
    r = app.router
    r.add_get(P + "/chats/", chats_list)
    r.add_post(P + "/chats/", chats_list)
    r.add_get(P + "/chats/recent/", chats_recent)
    r.add_get(P + "/chats/recent/{character_id}", chats_recent_for)
    r.add_put(P + "/chats/recent/{character_id}/hide", chats_recent_hide)
    r.add_get(P + "/chat/{chat_id}/", chat_get)
    r.add_patch(P + "/chat/{chat_id}/update_name", chat_update_name)
    r.add_patch(P + "/chat/{chat_id}/archive", chat_archive)
    r.add_patch(P + "/chat/{chat_id}/unarchive", chat_unarchive)
    r.add_patch(P + "/chat/{chat_id}/preferred-model-type", chat_preferred_model)
    r.add_post(P + "/chat/{chat_id}/copy", chat_copy)
    r.add_get(P + "/turns/{chat_id}/", turns_list)
    r.add_post(P + "/turns/{chat_id}/remove", turns_remove)
    r.add_post(P + "/turn/pin", turn_pin)
    r.add_post(P + "/annotation/create", annotation_create)
    r.add_post(P + "/annotation/remove", annotation_remove)
    r.add_post(P + "/annotations/{chat_id}/{turn_id}/{candidate_id}", annotations_for)
    r.add_post(P + "/character/v1/get_character_info", get_character_info)
    r.add_get(P + "/character/v1/character_tag_options", tag_options)
    r.add_get(P + "/recommendation/v1/user", recommendation_user)
    r.add_get(P + "/recommendation/v1/featured", recommendation_featured)
    r.add_get(P + "/recommendation/v1/character/{character_id}", recommendation_character)
    r.add_get(P + "/recommendation/v1/category", recommendation_category_get)
    r.add_post(P + "/recommendation/v1/category", recommendation_category_post)
    r.add_get(P + "/search/v1/character", search_character)
    r.add_get(P + "/search/v1/query/popular", search_popular)
    r.add_get(P + "/search/v1/query/trending", search_trending)
    r.add_get(P + "/search/v1/query/autocomplete", search_autocomplete)
    r.add_post(P + "/report/create", report_create)
    r.add_get(P + "/get-available-models", available_models)
    r.add_get(P + "/ping/", ping)
    r.add_get(P + "/ping", ping)
    r.add_post(P + "/migration/{history_id}", migration_start)
    r.add_get(P + "/migration/{history_id}", migration_get)
    r.add_get(V + "/voices/user", voices_user)
    r.add_get(V + "/voices/system", voices_system)
    r.add_get(V + "/voices/featured", voices_featured)
    r.add_get(V + "/voices/search", voices_search)
    r.add_post(V + "/voices/", voice_upload)
    r.add_get(V + "/voices/{voice_id}", voice_get)
    r.add_put(V + "/voices/{voice_id}", voice_put)
    r.add_delete(V + "/voices/{voice_id}", voice_delete)
    r.add_post(V + "/memo/replay", memo_replay)
