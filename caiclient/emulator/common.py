"""Helpers shared by the HTTP route modules: auth, body parsing, JSON shapes."""

from __future__ import annotations

import hashlib
from typing import Any, Optional

from aiohttp import web

from caiclient.emulator.app import CTX, ApiError, Ctx, jr, prefix_of
from caiclient.emulator.util import loads

__all__ = [
    "ApiError",
    "ctx_of",
    "jr",
    "neo_err",
    "optional_user",
    "plus_err",
    "read_json",
    "require_user",
    "trpc_error",
]


def ctx_of(request: web.Request) -> Ctx:
    """The emulator context of a request."""
    return request.app[CTX]


def token_of(request: web.Request) -> Optional[str]:
    """The token of ``authorization: Token <t>`` (None if absent or malformed)."""
    value = request.headers.get("authorization", "").strip()
    if not value:
        return None
    parts = value.split(None, 1)
    if len(parts) == 2 and parts[0].lower() == "token":
        return parts[1].strip()
    return None


def optional_user(request: web.Request) -> Optional[dict]:
    """The authenticated user or None; a *present but invalid* token is still a 401."""
    if "authorization" not in request.headers:
        return None
    return require_user(request)


def require_user(request: web.Request) -> dict:
    """The authenticated user, or raise a 401 with the host's error body."""
    token = token_of(request)
    user = ctx_of(request).state.user_by_token(token) if token else None
    if user is not None:
        return user
    msg = "Authentication credentials were not provided." if not token else "Invalid token."
    host = prefix_of(request.path)
    if host == "neo":
        body: Any = {"command": "neo_error", "comment": msg}
    elif host == "web":
        body = [
            {
                "error": {
                    "json": {
                        "message": "UNAUTHORIZED",
                        "code": -32001,
                        "data": {"code": "UNAUTHORIZED", "httpStatus": 401},
                    }
                }
            }
        ]
    else:
        body = {"detail": msg}
    raise ApiError(401, body, headers={"WWW-Authenticate": "Token"})


def neo_err(status: int, comment: str) -> ApiError:
    """A neo error (``{"command": "neo_error", "comment": ...}``)."""
    return ApiError(status, {"command": "neo_error", "comment": comment})


def plus_err(status: int, error: str) -> ApiError:
    """A plus error (``{"status": "NOT_OK", "error": ...}``)."""
    return ApiError(status, {"status": "NOT_OK", "error": error})


_TRPC_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    413: "PAYLOAD_TOO_LARGE",
    429: "TOO_MANY_REQUESTS",
}


def trpc_error(status: int, message: str, path: str) -> ApiError:
    """A tRPC error (the web host's batched shape: ``[{"error": {"json": ...}}]``)."""
    code = _TRPC_CODES.get(status, "INTERNAL_SERVER_ERROR")
    return ApiError(
        status,
        [
            {
                "error": {
                    "json": {
                        "message": message,
                        "code": -32600,
                        "data": {"code": code, "httpStatus": status, "path": path},
                    }
                }
            }
        ],
    )


async def read_json(request: web.Request, default: Any = None) -> Any:
    """The request body parsed leniently: any content type; empty -> ``default`` ({})."""
    body = await request.read()
    if not body.strip():
        return {} if default is None else default
    try:
        return loads(body)
    except ValueError:  # includes JSON nested too deep (issue 10): a 400, never a 500
        host = prefix_of(request.path)
        if host == "neo":
            raise neo_err(400, "invalid JSON body") from None
        raise plus_err(400, "invalid JSON body") from None


def need_dict(value: Any, request: web.Request) -> dict:
    """Ensure a JSON body is an object."""
    if isinstance(value, dict):
        return value
    if prefix_of(request.path) == "neo":
        raise neo_err(400, "body must be a JSON object")
    raise plus_err(400, "body must be a JSON object")


# -- shapes -------------------------------------------------------------------------------


def account(user: dict) -> dict:
    """``GET /chat/user/`` body (neo.md 4.2; fields in both places)."""
    acc = {
        "name": user["name"],
        "avatar_type": user.get("avatar_type", "DEFAULT"),
        "onboarding_complete": True,
        "avatar_file_name": user.get("avatar_file_name", ""),
        "mobile_onboarding_complete": True,
    }
    inner = {
        "username": user["username"],
        "id": user["id"],
        "first_name": user.get("first_name", ""),
        "account": acc,
        "is_staff": False,
        "subscription": False,
        "entitlements": [],
        "bio": user.get("bio", ""),
        "avatar_file_name": user.get("avatar_file_name", ""),
        "is_human": True,
        "email": user.get("email", ""),
        "name": user["name"],
    }
    return {
        "user": {
            "user": inner,
            "is_human": True,
            "name": user["name"],
            "email": user.get("email", ""),
            "needs_to_acknowledge_policy": False,
            "suspended_until": None,
            "hidden_characters": [],
            "blocked_users": [],
            "bio": user.get("bio", ""),
            "interests": None,
            "date_of_birth": None,
        }
    }


def short_hash(external_id: str) -> str:
    """A character's ``short_hash`` (the key of its "about" page), derived from its id.

    List items carry it (cainode.md 6.2: recommendation items add ``short_hash``).
    """
    return hashlib.sha256(("short:" + external_id).encode()).hexdigest()[:10]


def default_settings() -> dict:
    """``GET /chat/user/settings/`` of a user who never changed anything.

    Keys clients read (cainode.md 6.3): ``personaOverrides`` must be an object
    (CAINode crashes on a missing one), ``outputStylePreferences.bannedWords`` is
    the list of muted words.
    """
    return {
        "default_persona_id": "",
        "enable_tts": False,
        "personaOverrides": {},
        "voiceOverrides": {},
        "voiceOverridesMigrated": True,
        "proactiveDmOptedOut": False,
        "outputStylePreferences": {"bannedWords": []},
    }


def character_short(c: dict) -> dict:
    """A list item character (neo.md 4.5)."""
    return {
        "external_id": c["external_id"],
        "title": c.get("title", ""),
        "name": c["name"],
        "participant__name": c["name"],
        "visibility": c.get("visibility", "PUBLIC"),
        "greeting": c.get("greeting", ""),
        "description": c.get("description", ""),
        "definition": "",
        "upvotes": c.get("upvotes", 0),
        "num_likes": c.get("upvotes", 0),
        "user__username": c.get("owner_username", ""),
        "user__id": c.get("owner_id"),
        "participant__num_interactions": c.get("num_interactions", 0),
        "avatar_file_name": c.get("avatar_file_name", ""),
        "copyable": c.get("copyable", False),
        "img_gen_enabled": c.get("img_gen_enabled", False),
        "priority": 0,
        "default_voice_id": c.get("default_voice_id") or None,
        "short_hash": short_hash(c["external_id"]),
    }


def character_full(c: dict, with_definition: bool = True) -> dict:
    """A full character (neo.md 4.6)."""
    out = character_short(c)
    out.update(
        {
            "definition": c.get("definition", "") if with_definition else "",
            "identifier": c.get("identifier", ""),
            "base_img_prompt": c.get("base_img_prompt", ""),
            "img_prompt_regex": "",
            "strip_img_prompt_from_msg": c.get("strip_img_prompt_from_msg", False),
            "starter_prompts": {},
            "comments_enabled": True,
            "participant__user__username": c.get("internal_id", ""),
            "voice_id": c.get("voice_id", ""),
            "default_voice_id": c.get("default_voice_id", "") or "",
            "songs": [],
            "categories": c.get("categories", []),
            "usage": "default",
        }
    )
    out.pop("num_likes", None)
    return out


def persona(p: dict) -> dict:
    """A persona (neo.md 4.4)."""
    return {
        "external_id": p["external_id"],
        "participant__name": p["name"],
        "name": p["name"],
        "title": p["name"],
        "definition": p.get("definition", ""),
        "greeting": "Hello! This is my persona",
        "description": "This is my persona.",
        "avatar_file_name": p.get("avatar_file_name", ""),
        "visibility": "PRIVATE",
        "user__username": p.get("owner_username", ""),
        "user__id": p.get("owner_id"),
        "identifier": p.get("identifier", "id:" + p["external_id"][:8]),
        "categories": [],
        "base_img_prompt": "",
        "img_gen_enabled": False,
        "copyable": False,
        "strip_img_prompt_from_msg": False,
        "voice_id": "",
        "default_voice_id": "",
        "is_persona": True,
        "participant__num_interactions": 0,
    }


def voice(v: dict, base_url: str = "") -> dict:
    """A voice (neo.md 4.10)."""
    return {
        "id": v["id"],
        "name": v["name"],
        "description": v.get("description", ""),
        "gender": v.get("gender", "neutral"),
        "visibility": v.get("visibility", "private"),
        "previewAudioURI": f"{base_url}/cdn/audio/voice-{v['id']}.mp3",
        "previewText": v.get("previewText", ""),
        "creatorInfo": {
            "id": v.get("creator_id", ""),
            "source": v.get("source", "user"),
            "username": v.get("creator_username", ""),
        },
        "internalStatus": v.get("internalStatus", "active"),
        "lastUpdateTime": v.get("lastUpdateTime", ""),
        "audioSourceType": "file",
        "backendId": v["id"],
        "backendProvider": "cai",
    }


def public_user(user: dict, characters: list) -> dict:
    """``POST /chat/user/public/`` body (neo.md 4.3)."""
    return {
        "public_user": {
            "username": user["username"],
            "name": user["name"],
            "bio": user.get("bio", ""),
            "avatar_file_name": user.get("avatar_file_name", ""),
            "num_following": user.get("num_following", 0),
            "num_followers": user.get("num_followers", 0),
            "subscription_type": user.get("subscription_type", "NONE"),
            "characters": [character_short(c) for c in characters],
            "creator_info": {"username": user["username"]},
        }
    }


def visible_character(ctx: Ctx, character_id: str, user: Optional[dict]) -> Optional[dict]:
    """A character the (possibly guest) user may see: public/unlisted or their own."""
    c = ctx.state.get("character", character_id)
    if c is None or c.get("archived"):
        return None
    if c.get("visibility") == "PRIVATE" and (user is None or c.get("owner_id") != user["id"]):
        return None
    return c


def public_characters(ctx: Ctx) -> list:
    """Public, non-archived characters in seed/creation order (oldest first)."""
    chars = [
        c
        for c in ctx.state.list("character")
        if c.get("visibility") == "PUBLIC" and not c.get("archived")
    ]
    chars.reverse()
    return chars


def ranked_characters(ctx: Ctx, by: str) -> list:
    """Public characters as list items, the highest ``by`` (e.g. ``upvotes``) first."""
    chars = sorted(public_characters(ctx), key=lambda c: -c.get(by, 0))
    return [character_short(c) for c in chars]


async def read_multipart(request: web.Request) -> dict:
    """The parts of a ``multipart/form-data`` body: ``{name: (bytes, content_type, filename)}``.

    Parsed from the (already buffered) body with the standard ``email`` parser.
    """
    from email.parser import BytesParser
    from email.policy import HTTP

    body = await request.read()
    ctype = request.headers.get("Content-Type", "")
    if not ctype.lower().startswith("multipart/"):
        raise ValueError("not multipart")
    msg = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not msg.is_multipart():
        raise ValueError("not multipart")
    parts: dict = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        parts[str(name)] = (payload, part.get_content_type(), part.get_filename())
    return parts
