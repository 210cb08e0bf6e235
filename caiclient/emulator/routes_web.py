"""Routes of the website ``https://character.ai`` (tRPC) under ``/web``."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any, Optional
from urllib.parse import unquote

from aiohttp import web

from caiclient.emulator.common import (
    character_short,
    ctx_of,
    jr,
    public_characters,
    read_json,
    require_user,
    trpc_error,
)
from caiclient.emulator.util import loads, now_ts

__all__ = ["setup"]

P = "/web"
_DATA_URL = re.compile(r"^data:([^;,]*)(;base64)?,(.*)$", re.DOTALL)
_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


def _search_query(request: web.Request, path: str) -> str:
    raw = request.query.get("input")
    if raw is None:
        raise trpc_error(400, "input is required", path)
    try:
        data = loads(raw)
        query = data["0"]["json"]["searchQuery"]
    except (ValueError, KeyError, TypeError):
        raise trpc_error(400, "invalid input", path) from None
    if not isinstance(query, str):
        raise trpc_error(400, "searchQuery must be a string", path)
    # The library quote()s the text inside the JSON: decode once more (neo.md 2.3).
    return unquote(query)


def _trpc(data: Any) -> web.Response:
    return jr([{"result": {"data": {"json": data}}}])


async def search(request: web.Request) -> web.Response:
    """GET /api/trpc/search.search?batch=1&input={"0":{"json":{"searchQuery":...}}} (no auth)."""
    q = _search_query(request, "search.search").strip().lower()
    out = []
    for c in public_characters(ctx_of(request)):
        if q and any(q in (c.get(k) or "").lower() for k in ("name", "title", "description")):
            out.append(character_short(c))
    return _trpc({"characters": out})


async def search_creators(request: web.Request) -> web.Response:
    """GET /api/trpc/search.searchCreators?batch=1&input=... (no auth)."""
    q = _search_query(request, "search.searchCreators").strip().lower()
    users = ctx_of(request).state.list("user")[::-1]
    return _trpc(
        {
            "creators": [
                {"username": u["username"], "name": u["name"]}
                for u in users
                if q and q in u["username"].lower()
            ]
        }
    )


def _cookie_value(header: str) -> Optional[str]:
    header = header.strip()
    if not header:
        return None
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name.strip() == "web-next-auth":
            return value.strip() or None
    return header if "=" not in header else None


async def upload_avatar(request: web.Request) -> web.Response:
    """POST /api/trpc/user.uploadAvatar?batch=1 {"0":{"json":{"imageDataUrl": "data:..."}}}"""
    user = require_user(request)
    ctx = ctx_of(request)
    cookie = _cookie_value(request.headers.get("cookie", ""))
    expected = user.get("web_next_auth") or ""
    if expected and cookie is not None and cookie != expected:
        raise trpc_error(401, "UNAUTHORIZED", "user.uploadAvatar")
    body = await read_json(request)
    try:
        url = body["0"]["json"]["imageDataUrl"]
    except (KeyError, TypeError):
        raise trpc_error(400, "imageDataUrl is required", "user.uploadAvatar") from None
    m = _DATA_URL.match(url) if isinstance(url, str) else None
    if m is None or not m.group(2):
        raise trpc_error(400, "imageDataUrl must be a base64 data URL", "user.uploadAvatar")
    try:
        data = base64.b64decode(m.group(3), validate=True)
    except (binascii.Error, ValueError):
        raise trpc_error(400, "invalid base64", "user.uploadAvatar") from None
    if not data:
        raise trpc_error(400, "empty image", "user.uploadAvatar")
    if len(data) > 10 * 1024 * 1024:
        raise trpc_error(413, "image too large", "user.uploadAvatar")
    mime = m.group(1) if m.group(1) and m.group(1) != "None" else "image/png"
    day = now_ts()[:10].replace("-", "/")
    name = f"uploaded/{day}/{hashlib.sha256(data).hexdigest()[:24]}.{_EXT.get(mime, 'webp')}"
    ctx.state.put_blob("avatars/" + name, mime, data)
    ctx.state.put_blob("user/" + name, mime, data)
    return _trpc(name)


async def root(request: web.Request) -> web.Response:
    """GET / (the site: sets the ``edge_rollout`` cookie N2 reads)."""
    resp = web.Response(
        text="<!DOCTYPE html><html><head><title>character.ai</title></head>"
        "<body>emulator</body></html>",
        content_type="text/html",
    )
    resp.set_cookie("edge_rollout", "60", path="/")
    return resp


async def api_ping(request: web.Request) -> web.Response:
    """GET /api/ping"""
    return jr({"status": "pong"})


def setup(app: web.Application) -> None:
    """Register the web routes."""
    r = app.router
    r.add_get(P + "/api/trpc/search.search", search)
    r.add_get(P + "/api/trpc/search.searchCreators", search_creators)
    r.add_post(P + "/api/trpc/user.uploadAvatar", upload_avatar)
    r.add_get(P + "/api/ping", api_ping)
    r.add_get(P + "/", root)
    r.add_get(P, root)
