"""Routes other clients use (cainode.md 6, others.md 2), over raw HTTP."""

from __future__ import annotations

import pytest

from caiclient.emulator import routes_compat
from caiclient.emulator.common import short_hash

SEED_CHAT = "0c5a7e10-5eed-4000-8000-00000000a1c0"


@pytest.mark.parametrize("kind", ["followers", "following"])
def test_public_follow_lists_page_by_page(api, emu, monkeypatch, kind):
    monkeypatch.setattr(routes_compat, "FOLLOW_PAGE_SIZE", 1)
    target = "carol" if kind == "followers" else "alice"
    seen, page = [], 1
    while True:
        r = api.post(f"/plus/chat/user/public/{kind}/", {"username": target, "pageParam": page})
        body = r.json()
        assert r.status_code == 200 and set(body) == {"users", "has_next_page"}
        assert len(body["users"]) == 1
        user = body["users"][0]
        assert set(user) == {"username", "account__avatar_file_name", "account__bio"}
        seen.append(user["username"])
        if not body["has_next_page"]:
            break
        page += 1
    expected = {"alice", "bob"} if kind == "followers" else {"carol"}
    assert set(seen) == expected and len(seen) == len(expected)
    # past the end: an empty page
    r = api.post(f"/plus/chat/user/public/{kind}/", {"username": target, "pageParam": page + 1})
    assert r.json() == {"users": [], "has_next_page": False}
    # default page 1 and the caller's own username
    mine = api.post(f"/plus/chat/user/public/{kind}/", {}).json()
    assert "users" in mine
    assert api.post(f"/plus/chat/user/public/{kind}/", {"username": "nobody"}).status_code == 404
    assert api.post(f"/plus/chat/user/public/{kind}/", {"pageParam": 0}).status_code == 400


def test_vote_counts(api, emu):
    cid = emu.character_ids[0]
    before = api.get(f"/plus/chat/character/{cid}/votes/").json()
    assert before["status"] == "OK" and isinstance(before["votes"], int)
    api.post("/plus/chat/character/vote/", {"external_id": cid, "vote": True}, token="other")
    after = api.get(f"/plus/chat/character/{cid}/votes/").json()["votes"]
    assert after == before["votes"] + 1
    ids = emu.character_ids[:2]
    r = api.post("/plus/chat/characters/votes/", {"character_ids": [*ids, "nope"]}).json()
    assert r["status"] == "OK" and set(r["upvotes_per_character"]) == set(ids)
    assert r["upvotes_per_character"][cid] == after
    one = api.post("/plus/chat/characters/votes/", {"character_ids": cid}).json()
    assert one["upvotes_per_character"] == {cid: after}
    assert api.get("/plus/chat/character/nope/votes/").json()["status"] == "NOT_OK"


def test_voice_override_can_be_read(api, emu):
    cid = emu.character_ids[0]
    assert api.get(f"/plus/chat/character/{cid}/voice_override/").json() == {
        "character_external_id": cid,
        "voice_id": "",
    }
    vid = api.get("/neo/multimodal/api/v1/voices/system").json()["voices"][0]["id"]
    r = api.post(f"/plus/chat/character/{cid}/voice_override/update/", {"voice_id": vid})
    assert r.json() == {"success": True}
    assert api.get(f"/plus/chat/character/{cid}/voice_override/").json()["voice_id"] == vid


def test_character_about_and_categories(api, emu):
    cid = emu.character_ids[0]
    items = api.get("/neo/recommendation/v1/featured").json()["characters"]
    item = next(c for c in items if c["external_id"] == cid)
    assert item["short_hash"] == short_hash(cid)
    about = api.get(f"/neo/character/v1/character/about/{item['short_hash']}").json()
    assert about["about_character"]["external_id"] == cid
    assert about["about_character"]["noindex"] is False
    assert api.get("/neo/character/v1/character/about/nothing").status_code == 404
    cats = api.get(f"/neo/character/v1/categories/{cid}").json()["categories"]
    assert cats and all(set(c) == {"name", "priority", "description"} for c in cats)
    assert api.get("/neo/character/v1/categories/nope").status_code == 404


def test_creator_search(api):
    r = api.get("/neo/search/v1/creator", token=None, params={"query": "car"}).json()
    assert [c["name"] for c in r["creators"]] == ["carol"]
    assert set(r["creators"][0]) == {"visibility", "score", "name"}
    assert api.get("/neo/search/v1/creator", params={"query": "zzzz"}).json() == {}


def test_public_profiles_in_batch(api):
    r = api.post("/plus/chat/anon/users/public/", {"usernames": ["carol", "nobody"]}, token=None)
    (carol,) = r.json()["public_users"]
    assert carol["username"] == "carol"
    info = carol["character_info"]
    assert info["num_characters"] >= 5 and info["top_1_char"]["external_id"]
    assert set(info["top_1_char"]) == {
        "character_name",
        "interactions",
        "avatar_file_name",
        "external_id",
    }
    one = api.post("/plus/chat/anon/users/public/", {"usernames": "bob"}).json()
    assert [u["username"] for u in one["public_users"]] == ["bob"]


def test_logout_revokes_the_token(api):
    assert api.get("/plus/chat/user/").status_code == 200
    r = api.post("/plus/chat/user/logout/", {})
    assert r.status_code == 200 and r.json()
    assert api.get("/plus/chat/user/").status_code == 401
    assert api.get("/plus/chat/user/", token="other").status_code == 200


def test_resurrect(api):
    r = api.get(f"/neo/chat/{SEED_CHAT}/resurrect")
    assert r.status_code == 200 and r.json()["chat"]["chat_id"] == SEED_CHAT
    api.req("PATCH", f"/neo/chat/{SEED_CHAT}/archive")
    assert api.get(f"/neo/chat/{SEED_CHAT}/resurrect").json()["chat"]["state"] == "STATE_ACTIVE"
    bad = api.get("/neo/chat/00000000-0000-4000-8000-000000000000/resurrect")
    assert bad.status_code == 404 and bad.json()["command"] == "neo_error"


def test_generate_chat_image(api):
    r = api.post("/plus/chat/generate-image/", {"image_description": "a red fox"})
    url = r.json()["image_rel_path"]
    assert url.startswith(api.url + "/cdn/")
    img = api.http.get(url, timeout=5)
    assert img.status_code == 200 and img.content.startswith(b"\x89PNG")
    assert api.post("/plus/chat/generate-image/", {}).status_code == 400
    assert (
        api.post("/plus/chat/generate-image/", {"image_description": "x"}, token=None).status_code
        == 401
    )


def test_muted_words_in_settings(api):
    s = api.get("/plus/chat/user/settings/").json()
    assert s["outputStylePreferences"]["bannedWords"] == []
    r = api.post(
        "/plus/chat/user/update_settings/",
        {"outputStylePreferences": {"bannedWords": ["foo", "bar"]}},
    )
    assert r.json()["success"] is True
    s = api.get("/plus/chat/user/settings/").json()
    assert s["outputStylePreferences"]["bannedWords"] == ["foo", "bar"]
    assert "personaOverrides" in s  # a partial update keeps the rest
    bad = {"outputStylePreferences": {"bannedWords": [""]}}
    assert api.post("/plus/chat/user/update_settings/", bad).status_code == 400


def test_suggest_and_detailed_character(api, emu):
    r = api.get("/plus/chat/characters/suggest/", params={"query": "a"}).json()
    assert r["characters"] and "document_id" in r["characters"][0]
    cid = emu.character_ids[0]
    d = api.post("/plus/chat/character/", {"external_id": cid}).json()
    assert d["status"] in ("OK", "You do not have permission to view this.")


def test_legacy_voice_list_and_trending(api):
    voices = api.get("/plus/chat/character/voices/", token=None).json()["voices"]
    assert voices and set(voices[0]) == {"id", "name", "voice_id", "country_code", "lang_code"}
    trending = api.get("/plus/chat/characters/trending/", token=None).json()["trending_characters"]
    assert trending and trending[0]["external_id"]
