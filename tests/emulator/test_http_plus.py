"""plus.character.ai routes under /plus."""

from __future__ import annotations

import re

import pytest

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def test_fetch_me_shape(api, emu):
    r = api.get("/plus/chat/user/")
    assert r.status_code == 200
    body = r.json()
    inner = body["user"]["user"]
    assert inner["username"] == "alice" and isinstance(inner["id"], int)
    assert str(inner["id"]) == emu.user_id
    assert inner["account"]["name"] == "Alice" and inner["account"]["avatar_type"] == "DEFAULT"
    for key in ("bio", "is_human", "email", "avatar_file_name", "first_name"):
        assert key in inner
    for key in ("name", "bio", "is_human", "email", "hidden_characters", "blocked_users"):
        assert key in body["user"]
    assert len(emu.token) == 40 and emu.token != emu.other_token
    assert api.get("/plus/chat/user/", token="other").json()["user"]["user"]["username"] == "bob"


@pytest.mark.parametrize("token", [None, "x" * 40])
def test_401_without_valid_token(api, token):
    r = api.get("/plus/chat/user/", token=token)
    assert r.status_code == 401
    assert "detail" in r.json()
    r = api.get("/neo/chats/recent/", token=token)
    assert r.status_code == 401 and r.json()["command"] == "neo_error"


def test_settings_roundtrip(api, emu):
    s = api.get("/plus/chat/user/settings/").json()
    assert set(s) >= {"default_persona_id", "personaOverrides", "voiceOverrides"}
    s["default_persona_id"] = "p1"
    s["personaOverrides"][emu.character_ids[0]] = "p2"
    r = api.post("/plus/chat/user/update_settings/", s)
    assert r.status_code == 200 and r.json()["success"] is True
    assert r.json()["settings"]["personaOverrides"] == {emu.character_ids[0]: "p2"}
    assert api.get("/plus/chat/user/settings/").json()["default_persona_id"] == "p1"
    # bob's settings are separate
    assert api.get("/plus/chat/user/settings/", token="other").json()["default_persona_id"] == ""
    # N2 spelling
    api.post("/plus/chat/user/update_settings/", {"personasOverrides": {"c": "p"}})
    assert api.get("/plus/chat/user/settings/").json()["personaOverrides"]["c"] == "p"


def test_follow_flow(api):
    assert api.get("/plus/chat/user/following/").json() == {"following": ["carol"]}
    assert api.get("/plus/chat/user/followers/").json() == {"followers": []}
    assert api.post("/plus/chat/user/follow/", {"username": "bob"}).json() == {"status": "OK"}
    assert "bob" in api.get("/plus/chat/user/following/").json()["following"]
    assert api.get("/plus/chat/user/followers/", token="other").json()["followers"] == ["alice"]
    assert api.post("/plus/chat/user/unfollow/", {"username": "bob"}).json() == {"status": "OK"}
    assert "bob" not in api.get("/plus/chat/user/following/").json()["following"]
    assert api.post("/plus/chat/user/follow/", {"username": "nobody"}).json()["status"] != "OK"
    # N2's form of the public list answers like CAINode's /public/ one
    r = api.post("/plus/chat/user/followers", {"username": "carol", "pageParam": 1})
    assert {u["username"] for u in r.json()["users"]} == {"alice", "bob"}


def test_public_user(api):
    r = api.post("/plus/chat/user/public/", {"username": "carol"}, token=None)
    assert r.status_code == 200
    pu = r.json()["public_user"]
    assert (
        pu["username"] == "carol" and pu["num_followers"] > 0 and pu["subscription_type"] == "NONE"
    )
    assert len(pu["characters"]) >= 5
    ch = pu["characters"][0]
    for key in (
        "external_id",
        "title",
        "participant__name",
        "visibility",
        "greeting",
        "avatar_file_name",
        "participant__num_interactions",
        "user__username",
        "upvotes",
    ):
        assert key in ch
    assert api.post("/plus/chat/user/public/", {"username": "ghost"}).status_code == 500
    # alice's private character is not listed on her public profile
    assert (
        api.post("/plus/chat/user/public/", {"username": "alice"}).json()["public_user"][
            "characters"
        ]
        == []
    )


def test_edit_account(api):
    body = {"avatar_type": "DEFAULT", "bio": "new bio", "name": "Alicia", "username": "alice"}
    r = api.post("/plus/chat/user/update/", body)
    assert r.status_code == 200 and r.json()["status"] == "OK"
    me = api.get("/plus/chat/user/").json()["user"]
    assert me["user"]["account"]["name"] == "Alicia" and me["bio"] == "new bio"
    body = {
        "avatar_type": "UPLOADED",
        "bio": "",
        "name": "Alicia",
        "username": "alice",
        "avatar_rel_path": "uploaded/2025/1/1/a.webp",
    }
    api.post("/plus/chat/user/update/", body)
    me = api.get("/plus/chat/user/").json()["user"]["user"]
    assert me["account"]["avatar_type"] == "UPLOADED" and me["account"][
        "avatar_file_name"
    ].endswith("a.webp")
    assert (
        api.post("/plus/chat/user/update/", {"name": "A", "username": "alice"}).status_code == 400
    )
    assert (
        api.post("/plus/chat/user/update/", {"name": "Alicia", "username": "bob"}).json()["status"]
        != "OK"
    )


def test_personas_crud_and_privacy(api):
    ps = api.get("/plus/chat/personas/?force_refresh=1").json()["personas"]
    assert len(ps) == 2 and all(p["user__username"] == "alice" for p in ps)
    body = {
        "avatar_file_name": "",
        "avatar_rel_path": "",
        "base_img_prompt": "",
        "categories": [],
        "copyable": False,
        "definition": "I like tests.",
        "description": "This is my persona.",
        "greeting": "Hello! This is my persona",
        "identifier": "id:1",
        "img_gen_enabled": False,
        "name": "Tester",
        "strip_img_prompt_from_msg": False,
        "title": "Tester",
        "visibility": "PRIVATE",
        "voice_id": "",
    }
    r = api.post("/plus/chat/persona/create/", body)
    assert r.status_code == 200 and r.json()["status"] == "OK"
    p = r.json()["persona"]
    assert (
        p["participant__name"] == "Tester"
        and p["definition"] == "I like tests."
        and p["external_id"]
    )
    got = api.get(f"/plus/chat/persona/?id={p['external_id']}").json()["persona"]
    assert got["name"] == "Tester"
    # bob cannot see it
    assert api.get(f"/plus/chat/persona/?id={p['external_id']}", token="other").status_code == 404
    upd = {
        "external_id": p["external_id"],
        "name": "Tester2",
        "definition": "x",
        "title": "",
        "user__id": "1",
        "is_persona": True,
    }
    r = api.post("/plus/chat/persona/update/", upd)
    assert r.json()["persona"]["name"] == "Tester2"
    assert api.post("/plus/chat/persona/update/", upd, token="other").json()["status"] == "NOT_OK"
    r = api.post("/plus/chat/persona/update/", {**upd, "archived": True})
    assert r.json()["status"] == "OK"
    assert len(api.get("/plus/chat/personas/").json()["personas"]) == 2
    bad = dict(body, name="ab")
    assert api.post("/plus/chat/persona/create/", bad).status_code == 400
    bad = dict(body, definition="x" * 751)
    assert api.post("/plus/chat/persona/create/", bad).status_code == 400


def test_characters_lists(api, emu):
    mine = api.get("/plus/chat/characters/?scope=user").json()["characters"]
    assert [c["participant__name"] for c in mine] == ["Diary"]
    up = api.get("/plus/chat/user/characters/upvoted/").json()["characters"]
    assert [c["external_id"] for c in up] == [emu.character_ids[0]]
    cur = api.get("/plus/chat/curated_categories/characters/", token=None).json()
    cats = cur["characters_by_curated_category"]
    assert "Helpers" in cats and all(isinstance(v, list) for v in cats.values())
    assert all(c["visibility"] == "PUBLIC" for v in cats.values() for c in v)
    feat = api.get("/plus/chat/characters/featured_v2/", token=None).json()["characters"]
    assert len(feat) == len(emu.character_ids)
    names = {c["participant__name"] for c in feat}
    assert len(names) == len(feat) and "Diary" not in names and "Vault" not in names
    assert "trending_characters" in api.get("/plus/chat/characters/trending/").json()


def test_vote_and_voted(api, emu):
    cid = emu.character_ids[1]
    assert api.get(f"/plus/chat/character/{cid}/voted/").json() == {"vote": None}
    assert api.post("/plus/chat/character/vote/", {"external_id": cid, "vote": True}).json() == {
        "status": "OK"
    }
    assert api.get(f"/plus/chat/character/{cid}/voted/").json() == {"vote": True}
    api.post(f"/plus/chat/character/{cid}/vote", {"external_id": cid, "vote": False})
    assert api.get(f"/plus/chat/character/{cid}/voted/").json() == {"vote": False}
    api.post("/plus/chat/character/vote/", {"external_id": cid, "vote": None})
    assert api.get(f"/plus/chat/character/{cid}/voted/").json() == {"vote": None}
    assert (
        api.post("/plus/chat/character/vote/", {"external_id": "nope", "vote": True}).json()[
            "status"
        ]
        != "OK"
    )


def _c1(**kw):
    body = {
        "avatar_rel_path": "",
        "base_img_prompt": "",
        "categories": [],
        "copyable": False,
        "default_voice_id": "",
        "definition": "",
        "description": "",
        "greeting": "Hello there!",
        "identifier": "id:0b5e",
        "img_gen_enabled": False,
        "name": "MyBot",
        "strip_img_prompt_from_msg": False,
        "title": "",
        "visibility": "PRIVATE",
        "voice_id": "",
    }
    body.update(kw)
    return body


def test_create_edit_character(api, emu):
    r = api.post("/plus/chat/character/create/", _c1())
    assert r.status_code == 200 and r.json()["status"] == "OK"
    ch = r.json()["character"]
    for key in (
        "external_id",
        "name",
        "participant__name",
        "greeting",
        "identifier",
        "copyable",
        "img_gen_enabled",
        "starter_prompts",
        "participant__user__username",
        "songs",
        "voice_id",
    ):
        assert key in ch
    assert ch["visibility"] == "PRIVATE" and ch["user__username"] == "alice"
    cid = ch["external_id"]
    info = api.post("/neo/character/v1/get_character_info", {"external_id": cid}).json()
    assert info["character"]["name"] == "MyBot"
    assert (
        api.post(
            "/neo/character/v1/get_character_info", {"external_id": cid}, token="other"
        ).json()["status"]
        == "NOT_OK"
    )
    c2 = _c1(name="MyBot2", visibility="PUBLIC", archived=False, external_id=cid)
    del c2["identifier"]
    r = api.post("/plus/chat/character/update/", c2)
    assert (
        r.json()["character"]["name"] == "MyBot2"
        and r.json()["character"]["visibility"] == "PUBLIC"
    )
    assert api.post("/plus/chat/character/update/", c2, token="other").json()["status"] == "NOT_OK"
    for bad in (
        _c1(name="ab"),
        _c1(greeting="hi"),
        _c1(title="ab"),
        _c1(visibility="secret"),
        _c1(description="x" * 501),
        _c1(greeting="x" * 4097),
    ):
        r = api.post("/plus/chat/character/create/", bad)
        assert r.status_code == 400 and r.json()["status"] == "NOT_OK" and r.json()["error"]
    assert api.post("/plus/chat/character/create/", _c1(greeting="x" * 4096)).status_code == 200
    r = api.post("/plus/chat/character/info/", {"external_id": emu.character_ids[0]}, token=None)
    assert r.json()["character"]["participant__name"] == "Ada"


def test_voice_override(api, emu):
    cid = emu.character_ids[0]
    r = api.post(
        f"/plus/chat/character/{cid}/voice_override/update/", {"voice_id": "sys-voice-deep"}
    )
    assert r.json() == {"success": True}
    assert api.get("/plus/chat/user/settings/").json()["voiceOverrides"] == {cid: "sys-voice-deep"}
    r = api.req("POST", f"/plus/chat/character/{cid}/voice_override/delete/")  # no body
    assert r.status_code == 200 and r.json() == {"success": True}
    assert api.get("/plus/chat/user/settings/").json()["voiceOverrides"] == {}
    bob_voice = "b0b00000-0000-4000-8000-00000000b0b1"
    r = api.post(f"/plus/chat/character/{cid}/voice_override/update/", {"voice_id": bob_voice})
    assert r.json()["success"] is False


@pytest.mark.parametrize(
    "path", ["/plus/chat/character/histories/", "/plus/chat/character/histories_v2/"]
)
def test_v1_histories(api, emu, path):
    r = api.post(path, {"external_id": emu.character_ids[0], "number": 50})
    hs = r.json()["histories"]
    assert len(hs) == 2
    assert hs[0]["last_interaction"] >= hs[1]["last_interaction"]
    m = hs[0]["msgs"][0]
    for key in ("uuid", "id", "text", "src", "tgt", "is_alternative", "image_rel_path"):
        assert key in m
    assert TS.match(hs[0]["created"])
    assert (
        api.post(path, {"external_id": emu.character_ids[0], "number": 1}).json()["histories"][0]
        == hs[0]
    )
    assert (
        api.post(path, {"external_id": emu.character_ids[0], "number": 50}, token="other").json()[
            "histories"
        ]
        == []
    )


def test_recent_characters_and_legacy_voices(api, emu):
    chars = api.get("/plus/chat/characters/recent/").json()["characters"]
    assert chars[0]["external_id"] == emu.character_ids[0] and "max_last_interaction" in chars[0]
    voices = api.get("/plus/chat/character/voices/").json()["voices"]
    assert voices and set(voices[0]) == {"id", "name", "voice_id", "country_code", "lang_code"}
