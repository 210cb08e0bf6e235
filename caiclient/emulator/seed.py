"""Loading and applying the seed data (``seed.json`` plus optional extra files).

Seeding is idempotent: existing rows (e.g. in a database file from an earlier
run) are left untouched.
"""

from __future__ import annotations

import json
import os
from typing import Any, Union

from caiclient.emulator import media
from caiclient.emulator.state import State
from caiclient.emulator.util import now_ts

__all__ = ["DEFAULT_SEED_PATH", "apply_seed", "load_seed", "merge_seed"]

DEFAULT_SEED_PATH = os.path.join(os.path.dirname(__file__), "seed.json")

_LIST_KEYS = {
    "users": "username",
    "characters": "external_id",
    "voices": "id",
    "personas": "external_id",
    "histories": "external_id",
    "chats": "chat_id",
}


def merge_seed(base: dict, extra: dict) -> dict:
    """Merge ``extra`` over ``base``: list items with the same id are replaced,
    new ones appended; other keys are overwritten (dicts merged one level)."""
    out = dict(base)
    for key, value in extra.items():
        if key in _LIST_KEYS and isinstance(value, list):
            idk = _LIST_KEYS[key]
            items = list(out.get(key, []))
            index = {item.get(idk): i for i, item in enumerate(items)}
            for item in value:
                if item.get(idk) in index:
                    items[index[item.get(idk)]] = item
                else:
                    items.append(item)
            out[key] = items
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            merged = dict(out[key])
            merged.update(value)
            out[key] = merged
        else:
            out[key] = value
    return out


def load_seed(extra: Union[str, dict, None] = None) -> dict:
    """The bundled seed merged with ``extra`` (a JSON file path or a dict)."""
    with open(DEFAULT_SEED_PATH, encoding="utf-8") as f:
        seed = json.load(f)
    if extra is None:
        return seed
    if isinstance(extra, (str, os.PathLike)):
        with open(extra, encoding="utf-8") as f:
            extra = json.load(f)
    if not isinstance(extra, dict):
        raise TypeError("seed must be a path or a dict")
    return merge_seed(seed, extra)


def _uid(users: dict, username: Any) -> Any:
    user = users.get(username)
    return user["id"] if user else None


def apply_seed(state: State, seed: dict) -> None:
    """Insert the seed's rows that are not in ``state`` yet."""
    users = {u["username"]: u for u in seed.get("users", [])}
    for u in seed.get("users", []):
        doc = {
            "id": int(u["id"]),
            "username": u["username"],
            "name": u.get("name", u["username"]),
            "first_name": u.get("first_name", u.get("name", "")),
            "email": u.get("email", f"{u['username']}@example.com"),
            "bio": u.get("bio", ""),
            "avatar_file_name": u.get("avatar_file_name", ""),
            "avatar_type": "UPLOADED" if u.get("avatar_file_name") else "DEFAULT",
            "web_next_auth": u.get("web_next_auth") or "",
            "num_followers": u.get("num_followers", 0),
            "num_following": u.get("num_following", 0),
            "subscription_type": u.get("subscription_type", "NONE"),
        }
        state.put("user", doc["id"], doc, ref=u.get("token") or None, if_absent=True)
        if u.get("avatar_file_name"):
            state.put_blob(
                "avatars/" + u["avatar_file_name"], "image/png", media.png(u["avatar_file_name"])
            )
    for c in seed.get("characters", []):
        owner = c.get("owner", "")
        doc = {
            "external_id": c["external_id"],
            "name": c["name"],
            "title": c.get("title", ""),
            "greeting": c.get("greeting", ""),
            "description": c.get("description", ""),
            "definition": c.get("definition", ""),
            "categories": c.get("categories", []),
            "upvotes": c.get("upvotes", 0),
            "num_interactions": c.get("num_interactions", 0),
            "owner_username": owner,
            "owner_id": _uid(users, owner),
            "visibility": c.get("visibility", "PUBLIC").upper(),
            "avatar_file_name": c.get("avatar_file_name", ""),
            "default_voice_id": c.get("default_voice_id", ""),
            "voice_id": c.get("voice_id", ""),
            "copyable": bool(c.get("copyable", False)),
            "identifier": c.get("identifier", "id:" + c["external_id"][:8]),
            "img_gen_enabled": False,
            "base_img_prompt": "",
            "strip_img_prompt_from_msg": False,
            "archived": False,
            "internal_id": c.get("internal_id", "internal_" + c["external_id"][:12]),
        }
        state.put("character", doc["external_id"], doc, owner=doc["owner_id"], if_absent=True)
        if doc["avatar_file_name"]:
            name = "avatars/" + doc["avatar_file_name"]
            if state.get_blob(name) is None:
                state.put_blob(name, "image/png", media.png(doc["avatar_file_name"]))
    for v in seed.get("voices", []):
        owner = v.get("owner")
        creator = users.get(owner) if owner else None
        doc = {
            "id": v["id"],
            "name": v["name"],
            "description": v.get("description", ""),
            "gender": v.get("gender", "neutral"),
            "visibility": v.get("visibility", "public").lower(),
            "previewText": v.get(
                "previewText", "Good day! Here to make life a little less complicated."
            ),
            "creator_id": str(creator["id"]) if creator else "",
            "creator_username": creator["username"] if creator else "",
            "source": "user" if creator else "system",
            "system": creator is None,
            "featured": bool(v.get("featured", creator is None)),
            "internalStatus": "active",
            "lastUpdateTime": v.get("lastUpdateTime", "2025-01-01T12:00:00.000000Z"),
        }
        state.put("voice", doc["id"], doc, owner=creator["id"] if creator else None, if_absent=True)
    for p in seed.get("personas", []):
        owner = users.get(p.get("owner"))
        doc = {
            "external_id": p["external_id"],
            "name": p["name"],
            "definition": p.get("definition", ""),
            "avatar_file_name": p.get("avatar_file_name", ""),
            "owner_id": owner["id"] if owner else None,
            "owner_username": owner["username"] if owner else "",
            "archived": False,
        }
        state.put("persona", doc["external_id"], doc, owner=doc["owner_id"], if_absent=True)
    for h in seed.get("histories", []):
        owner = users.get(h.get("owner"))
        doc = dict(h)
        doc["owner_id"] = owner["id"] if owner else None
        state.put(
            "history",
            h["external_id"],
            doc,
            owner=doc["owner_id"],
            ref=h["character_id"],
            if_absent=True,
        )
    chars = {c["external_id"]: c for c in seed.get("characters", [])}
    for ch in seed.get("chats", []):
        owner = users.get(ch.get("owner"))
        if owner is None:
            continue
        char = chars.get(ch["character_id"], {})
        doc = {
            "chat_id": ch["chat_id"],
            "create_time": ch.get("create_time", now_ts()),
            "creator_id": str(owner["id"]),
            "character_id": ch["character_id"],
            "state": "STATE_ACTIVE",
            "type": "TYPE_ONE_ON_ONE",
            "visibility": "VISIBILITY_PRIVATE",
        }
        if ch.get("name"):
            doc["name"] = ch["name"]
        if not state.put(
            "chat", doc["chat_id"], doc, owner=owner["id"], ref=doc["character_id"], if_absent=True
        ):
            continue
        for t in ch.get("turns", []):
            author = (
                {"author_id": str(owner["id"]), "name": owner.get("name", ""), "is_human": True}
                if t.get("human")
                else {
                    "author_id": ch["character_id"],
                    "name": char.get("name", ""),
                    "is_human": False,
                }
            )
            ts = t.get("create_time", now_ts())
            state.add_turn(
                doc["chat_id"],
                {
                    "turn_key": {"chat_id": doc["chat_id"], "turn_id": t["turn_id"]},
                    "create_time": ts,
                    "last_update_time": ts,
                    "state": "STATE_OK",
                    "author": author,
                    "candidates": [
                        {
                            "candidate_id": t["candidate_id"],
                            "create_time": ts,
                            "raw_content": t["text"],
                            "is_final": True,
                            "safety_truncated": False,
                        }
                    ],
                    "primary_candidate_id": t["candidate_id"],
                    "is_pinned": bool(t.get("pinned", False)),
                },
            )
    for username, targets in seed.get("following", {}).items():
        uid = _uid(users, username)
        for target in targets:
            tid = _uid(users, target)
            if uid is not None and tid is not None:
                state.put(
                    "follow",
                    f"{uid}>{tid}",
                    {"from": uid, "to": tid},
                    owner=uid,
                    ref=tid,
                    if_absent=True,
                )
    for username, settings in seed.get("settings", {}).items():
        uid = _uid(users, username)
        if uid is not None:
            state.put("settings", uid, settings, owner=uid, if_absent=True)
    for username, char_ids in seed.get("upvoted", {}).items():
        uid = _uid(users, username)
        for cid in char_ids:
            state.put("vote", f"{uid}:{cid}", {"vote": True}, owner=uid, ref=cid, if_absent=True)
    state.put(
        "config",
        "main",
        {"popular_searches": seed.get("popular_searches", []), "tags": seed.get("tags", [])},
        touch=False,
    )
