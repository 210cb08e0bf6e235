"""Small helpers shared by the emulator modules (ids, timestamps, JSON)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from datetime import datetime, timezone
from typing import Any

from caiclient import _json

__all__ = [
    "cf_ray",
    "char_id",
    "dumps",
    "loads",
    "new_id",
    "now_ts",
    "token_for",
]


def now_ts() -> str:
    """Current UTC time as the service writes it: microseconds and a trailing ``Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id() -> str:
    """A fresh canonical UUIDv4 string."""
    return str(uuid.uuid4())


def char_id(seed: str | None = None) -> str:
    """A 43-character URL-safe id like the service's character ``external_id``.

    Deterministic when ``seed`` is given.
    """
    raw = hashlib.sha256(seed.encode()).digest() if seed is not None else secrets.token_bytes(32)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def token_for(seed: str) -> str:
    """A deterministic 40-hex-character API token (the shape of the real tokens)."""
    return hashlib.sha1(("caiclient-emulator:" + seed).encode()).hexdigest()


def cf_ray() -> str:
    """A Cloudflare-like ray id (16 hex digits and a colo code)."""
    return secrets.token_hex(8) + "-LAX"


def dumps(obj: Any) -> str:
    """JSON encoding used for every response (Python defaults, like the service's clients)."""
    return json.dumps(obj)


MAX_JSON_DEPTH = _json.MAX_DEPTH


def loads(data: Any) -> Any:
    """Parse JSON like the service: every failure (too deep nesting too) is a ``ValueError``.

    A service answers a body nested too deeply with a 400, so the routes and
    the websocket loop only ever see ``ValueError`` here (the client's own
    decoder, :mod:`caiclient._json`, applies the same limit).
    """
    text = data.decode("utf-8", "replace") if isinstance(data, (bytes, bytearray)) else data
    if not isinstance(text, str):
        raise ValueError("JSON must be text")
    return _json.loads(text)
