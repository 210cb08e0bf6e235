"""neo.character.ai REST routes under /neo."""

from __future__ import annotations

import re
import uuid

import pytest
from support import mp3_frames

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
SEED_CHAT = "0c5a7e10-5eed-4000-8000-00000000a1c0"
BOB_CHAT = "0c5a7e10-5eed-4000-8000-0000000000b0"


def _chat_with_turns(api, n, greeting=False):
    ws = api.ws()
    chat_id, _ = api.create_chat(ws, greeting=greeting)
    for i in range(n):
        api.send_message(ws, chat_id, f"message {i}")
    ws.close()
    return chat_id


def test_ping(api):
    for path in ("/neo/ping/", "/neo/ping"):
        r = api.get(path, token=None)
        assert r.status_code == 200 and r.json() == {"status": "pong"}


def test_chats_and_chat(api, emu):
    r = api.get(f"/neo/chats/?character_ids={emu.character_ids[0]}&num_preview_turns=2")
    chats = r.json()["chats"]
    assert [c["chat_id"] for c in chats] == [SEED_CHAT]
    c = chats[0]
    for key in (
        "chat_id",
        "create_time",
        "creator_id",
        "character_id",
        "state",
        "type",
        "visibility",
    ):
        assert key in c
    assert c["creator_id"] == emu.user_id and len(c["preview_turns"]) == 2
    assert TS.match(c["create_time"])
    chat = api.get(f"/neo/chat/{SEED_CHAT}/").json()["chat"]
    assert chat["chat_id"] == SEED_CHAT and chat["name"] == "Seeded chat with Ada"
    # N2's malformed query
    r = api.get(f"/neo/chats/?character_ids={emu.character_ids[0]}?num_preview_turns=1")
    assert len(r.json()["chats"][0]["preview_turns"]) == 1


def test_privacy_between_users(api):
    for path in (f"/neo/chat/{BOB_CHAT}/", f"/neo/turns/{BOB_CHAT}/"):
        r = api.get(path)
        assert r.status_code == 404 and r.json() == {
            "command": "neo_error",
            "comment": "chat not found",
        }
        assert api.get(path, token="other").status_code == 200
    assert api.get("/neo/chat/does-not-exist/").json() == {
        "command": "neo_error",
        "comment": "chat not found",
    }
    r = api.req("PATCH", f"/neo/chat/{BOB_CHAT}/archive")
    assert r.status_code == 404
    r = api.post(f"/neo/turns/{BOB_CHAT}/remove", {"turn_ids": ["x"]})
    assert r.status_code == 404
    r = api.post(f"/neo/chat/{BOB_CHAT}/copy", {"end_turn_id": "x"})
    assert r.status_code == 404
    assert BOB_CHAT not in [c["chat_id"] for c in api.get("/neo/chats/recent/").json()["chats"]]
    bob_turns = api.get(f"/neo/turns/{BOB_CHAT}/", token="other").json()["turns"]
    r = api.post(
        "/neo/multimodal/api/v1/memo/replay",
        {
            "candidateId": bob_turns[0]["primary_candidate_id"],
            "roomId": BOB_CHAT,
            "turnId": bob_turns[0]["turn_key"]["turn_id"],
            "voiceId": "sys-voice-calm",
        },
    )
    assert r.status_code == 404


def test_recent_chats(api, emu):
    r = api.get("/neo/chats/recent/")
    chats = r.json()["chats"]
    assert chats[0]["character_name"] == "Ada" and "character_avatar_uri" in chats[0]
    chat_id = _chat_with_turns(api, 0)
    assert api.get("/neo/chats/recent/").json()["chats"][0]["chat_id"] == chat_id
    per_char = api.get(f"/neo/chats/recent/{emu.character_ids[0]}").json()["chats"]
    assert per_char[0]["chat_id"] == chat_id and len(per_char) == 2
    assert api.req("PUT", f"/neo/chats/recent/{emu.character_ids[0]}/hide").json() == {}
    ids = [c["character_id"] for c in api.get("/neo/chats/recent/").json().get("chats", [])]
    assert emu.character_ids[0] not in ids


def test_turns_pagination(api):
    chat_id = _chat_with_turns(api, 30)  # 60 turns
    r = api.get(f"/neo/turns/{chat_id}/")
    body = r.json()
    assert len(body["turns"]) == 50 and isinstance(body["meta"]["next_token"], str)
    assert body["turns"][0]["author"]["is_human"] is False  # newest first: last reply
    r2 = api.get(f"/neo/turns/{chat_id}/", params={"next_token": body["meta"]["next_token"]})
    b2 = r2.json()
    # The last page with turns still carries a string token (the service's way) ...
    assert len(b2["turns"]) == 10 and isinstance(b2["meta"]["next_token"], str)
    # ... and the end is a page with no turns, protobuf-style: nothing at all.
    end = api.get(f"/neo/turns/{chat_id}", params={"next_token": b2["meta"]["next_token"]})
    assert end.status_code == 200 and end.json() == {}
    all_ids = [t["turn_key"]["turn_id"] for t in body["turns"] + b2["turns"]]
    assert len(set(all_ids)) == 60
    small = api.get(f"/neo/turns/{chat_id}/?page_size=7").json()
    assert len(small["turns"]) == 7
    assert api.get(f"/neo/turns/{chat_id}/?next_token=garbage!").status_code == 400
    t = body["turns"][0]
    for key in (
        "turn_key",
        "create_time",
        "last_update_time",
        "state",
        "author",
        "candidates",
        "primary_candidate_id",
        "is_pinned",
    ):
        assert key in t
    c = t["candidates"][0]
    assert set(c) >= {"candidate_id", "create_time", "raw_content", "is_final"}


def test_pinned_only_and_turn_pin(api):
    r = api.get(f"/neo/turns/{SEED_CHAT}/?pinned_only=true").json()
    assert len(r["turns"]) == 1 and r["turns"][0]["is_pinned"] is True
    t = api.get(f"/neo/turns/{SEED_CHAT}/").json()["turns"][1]
    r = api.post("/neo/turn/pin", {"is_pinned": True, "turn_key": t["turn_key"]})
    assert r.json()["turn"]["is_pinned"] is True
    assert len(api.get(f"/neo/turns/{SEED_CHAT}/?pinned_only=true").json()["turns"]) == 2


def test_rename_archive_unarchive_model(api, emu):
    r = api.req("PATCH", f"/neo/chat/{SEED_CHAT}/update_name", data='{"name": "Renamed"}')
    assert r.status_code == 200 and r.json() == {}
    assert api.get(f"/neo/chat/{SEED_CHAT}/").json()["chat"]["name"] == "Renamed"
    r = api.req("PATCH", f"/neo/chat/{SEED_CHAT}/archive")  # empty body, json content type
    assert r.status_code == 200 and r.json() == {}
    assert api.get(f"/neo/chat/{SEED_CHAT}/").json()["chat"]["state"] == "STATE_ARCHIVED"
    assert api.req("PATCH", f"/neo/chat/{SEED_CHAT}/archive").json()["command"] == "neo_error"
    assert api.req("PATCH", f"/neo/chat/{SEED_CHAT}/unarchive").status_code == 200
    assert api.req("PATCH", f"/neo/chat/{SEED_CHAT}/unarchive").status_code == 400
    r = api.req(
        "PATCH",
        f"/neo/chat/{SEED_CHAT}/preferred-model-type",
        data='{"preferred_model_type": "MODEL_TYPE_FAST"}',
        headers={"Content-Type": ""},
    )
    assert r.status_code == 200
    assert emu.state.chat(SEED_CHAT)["preferred_model_type"] == "MODEL_TYPE_FAST"
    models = api.get("/neo/get-available-models").json()
    assert "MODEL_TYPE_FAST" in models["available_models"] and models["default_model_type"]


def test_copy_and_delete_messages(api, emu):
    turns = api.get(f"/neo/turns/{SEED_CHAT}/").json()["turns"]
    middle = turns[1]["turn_key"]["turn_id"]
    r = api.post(f"/neo/chat/{SEED_CHAT}/copy", {"end_turn_id": middle})
    new_id = r.json()["new_chat_id"]
    copied = api.get(f"/neo/turns/{new_id}/").json()["turns"]
    assert [t["turn_key"]["turn_id"] for t in copied] == [
        t["turn_key"]["turn_id"] for t in turns[1:]
    ]
    assert all(t["turn_key"]["chat_id"] == new_id for t in copied)
    r = api.post(f"/neo/turns/{SEED_CHAT}/remove", {"turn_ids": [middle]})
    assert r.status_code == 200 and r.json() == {}
    assert len(api.get(f"/neo/turns/{SEED_CHAT}/").json()["turns"]) == 2
    assert api.post(f"/neo/turns/{SEED_CHAT}/remove", {"turn_ids": "x"}).status_code == 400
    assert api.post(f"/neo/chat/{SEED_CHAT}/copy", {"end_turn_id": "nope"}).status_code == 404


def test_annotations(api):
    t = api.get(f"/neo/turns/{SEED_CHAT}/").json()["turns"][0]
    body = {
        "annotation": {"annotation_type": "star", "annotation_value": 3},
        "candidate_id": t["primary_candidate_id"],
        "turn_key": t["turn_key"],
    }
    ann = api.post("/neo/annotation/create", body).json()["annotation"]
    assert ann["annotation_id"]
    path = f"/neo/annotations/{SEED_CHAT}/{t['turn_key']['turn_id']}/{t['primary_candidate_id']}"
    assert len(api.post(path, {}).json()["annotations"]) == 1
    r = api.post(
        "/neo/annotation/remove",
        {
            "annotation_id": ann["annotation_id"],
            "candidate_id": t["primary_candidate_id"],
            "turn_key": t["turn_key"],
        },
    )
    assert r.json() == {}
    assert api.post(path, {}).json() == {}  # protobuf-style: the empty list is absent


def test_character_info_and_recommendations(api, emu):
    r = api.post(
        "/neo/character/v1/get_character_info", {"external_id": emu.character_ids[0]}, token=None
    )
    ch = r.json()["character"]
    assert ch["name"] == "Ada" and ch["participant__name"] == "Ada" and ch["upvotes"] > 0
    r = api.post("/neo/character/v1/get_character_info", {"external_id": "nope"})
    assert r.status_code == 200 and r.json()["status"] == "NOT_OK" and r.json()["error"]
    assert len(api.get("/neo/recommendation/v1/user").json()["characters"]) > 0
    assert api.get("/neo/recommendation/v1/user", token=None).status_code == 401
    assert len(api.get("/neo/recommendation/v1/featured", token=None).json()["characters"]) > 0
    sim = api.get(f"/neo/recommendation/v1/character/{emu.character_ids[0]}", token=None).json()[
        "characters"
    ]
    assert sim and emu.character_ids[0] not in [c["external_id"] for c in sim]
    cats = api.get("/neo/recommendation/v1/category", token=None).json()["categories"]
    assert "Helpers" in cats
    assert api.post("/neo/recommendation/v1/category", {"default_persona_id": "p"}).json() == {
        "success": True
    }


def test_neo_search_routes(api):
    r = api.get("/neo/search/v1/character?query=detective", token=None).json()
    assert [c["participant__name"] for c in r["characters"]] == ["Sherlock"]
    assert set(r) >= {"characters", "safety_filtered", "uuid"}  # empty "tags": absent (protobuf)
    assert "document_id" in r["characters"][0]
    # a private character is not found: no "characters" key at all
    assert "characters" not in api.get("/neo/search/v1/character?query=vault").json()
    assert api.get("/neo/character/v1/character_tag_options").json()["tags"]
    assert api.get("/neo/search/v1/query/popular").json()["popular_search_queries"]
    assert api.get("/neo/search/v1/query/trending").json()["trending_search_queries"]
    auto = api.get("/neo/search/v1/query/autocomplete?query_prefix=so").json()[
        "search_autocomplete"
    ]
    assert auto == ["Socrates"]


def test_report(api, emu):
    r = api.post(
        "/neo/report/create",
        {
            "category": "SPAM",
            "comments": "x",
            "reported_resource_id": emu.character_ids[0],
            "type": "CHARACTER",
        },
    )
    assert r.json()["report"]["report_id"]
    assert api.post("/neo/report/create", {}).status_code == 400


def test_migration(api):
    hid = "hist-alice-ada-0001"
    assert api.get(f"/neo/migration/{hid}").status_code == 404
    r = api.req("POST", f"/neo/migration/{hid}", data="true")
    assert r.status_code == 200
    mig = api.get(f"/neo/migration/{hid}").json()["migration"]
    assert set(mig) >= {"migrationId", "createTime", "lastUpdateTime", "status", "properties"}
    assert mig["status"] == "STATUS_DONE"
    chat_id = mig["properties"]["chat_id"]
    turns = api.get(f"/neo/turns/{chat_id}/").json()["turns"]
    assert len(turns) == 3 and turns[-1]["author"]["is_human"] is False
    assert api.req("POST", f"/neo/migration/{hid}", data="true", token="other").status_code == 404


def test_voices(api, emu):
    mine = api.get("/neo/multimodal/api/v1/voices/user").json()["voices"]
    assert [v["name"] for v in mine] == ["Alice Voice"]
    v = mine[0]
    for key in (
        "id",
        "name",
        "description",
        "gender",
        "visibility",
        "previewAudioURI",
        "previewText",
        "creatorInfo",
        "internalStatus",
        "lastUpdateTime",
    ):
        assert key in v
    assert v["creatorInfo"]["username"] == "alice"
    assert api.get("/neo/multimodal/api/v1/voices/system", token=None).json()["voices"]
    assert api.get("/neo/multimodal/api/v1/voices/featured", token=None).json()["voices"]
    s = api.get("/neo/multimodal/api/v1/voices/search?query=calm", token=None).json()["voices"]
    assert [x["id"] for x in s] == ["sys-voice-calm"]
    s = api.get("/neo/multimodal/api/v1/voices/search?creatorInfo.username=carol").json()["voices"]
    assert [x["name"] for x in s] == ["Storyteller"]
    s = api.get("/neo/multimodal/api/v1/voices/search?characterName=Ada").json()["voices"]
    assert "sys-voice-calm" in [x["id"] for x in s]
    # private voices stay private
    bob_voice = "b0b00000-0000-4000-8000-00000000b0b1"
    assert api.get(f"/neo/multimodal/api/v1/voices/{bob_voice}").status_code == 404
    assert api.get(f"/neo/multimodal/api/v1/voices/{bob_voice}", token="other").status_code == 200
    assert (
        api.get("/neo/multimodal/api/v1/voices/sys-voice-calm", token=None).json()["voice"]["name"]
        == "Calm"
    )
    assert api.req("DELETE", "/neo/multimodal/api/v1/voices/sys-voice-calm").status_code == 403


def test_voice_upload_edit_delete(api, emu):
    meta = (
        '{"voice":{"name":"name","description":"","gender":"neutral","visibility":"private",'
        '"previewText":"Good day! Here to make life a little less complicated.",'
        '"audioSourceType":"file"}}'
    )
    files = {"file": ("input.mp3", b"ID3fakeaudio", "audio/mpeg"), "json": (None, meta)}
    r = api.http.post(
        emu.url + "/neo/multimodal/api/v1/voices/",
        files=files,
        headers={"authorization": f"Token {emu.token}"},
    )
    assert r.status_code in (200, 201)
    v = r.json()["voice"]
    assert v["name"] == "name" and v["creatorInfo"]["id"] == emu.user_id
    body = {
        "voice": {
            **v,
            "name": "My Voice",
            "description": "desc",
            "visibility": "public",
            "internalStatus": "draft",
            "lastUpdateTime": "0001-01-01T00:00:00Z",
        }
    }
    r = api.req("PUT", f"/neo/multimodal/api/v1/voices/{v['id']}", json=body)
    assert r.status_code == 200 and r.json()["voice"]["name"] == "My Voice"
    assert r.json()["voice"]["visibility"] == "public"
    bad = {"voice": {**v, "name": "ab"}}
    assert api.req("PUT", f"/neo/multimodal/api/v1/voices/{v['id']}", json=bad).status_code == 400
    assert (
        api.req(
            "PUT", f"/neo/multimodal/api/v1/voices/{v['id']}", json=body, token="other"
        ).status_code
        == 403
    )
    r = api.req("DELETE", f"/neo/multimodal/api/v1/voices/{v['id']}")
    assert r.status_code == 200 and r.json() == {}
    assert api.get(f"/neo/multimodal/api/v1/voices/{v['id']}").status_code == 404
    r = api.http.post(
        emu.url + "/neo/multimodal/api/v1/voices/",
        files={"json": (None, meta)},
        headers={"authorization": f"Token {emu.token}"},
    )
    assert r.status_code == 400 and r.json()["command"] == "neo_error"


def test_memo_replay_and_audio(api, emu):
    t = api.get(f"/neo/turns/{SEED_CHAT}/").json()["turns"][0]
    body = {
        "candidateId": t["primary_candidate_id"],
        "roomId": SEED_CHAT,
        "turnId": t["turn_key"]["turn_id"],
        "voiceId": "sys-voice-calm",
    }
    r = api.post("/neo/multimodal/api/v1/memo/replay", body)
    url = r.json()["replayUrl"]
    assert url.startswith(emu.url + "/cdn/audio/") and url.endswith(".mp3")
    audio = api.http.get(url)
    assert audio.status_code == 200 and mp3_frames(audio.content) > 0
    again = api.http.get(api.post("/neo/multimodal/api/v1/memo/replay", body).json()["replayUrl"])
    assert again.content == audio.content  # deterministic
    r = api.post("/neo/multimodal/api/v1/memo/replay", {**body, "voiceId": "nope"})
    assert r.status_code == 404 and r.json()["error"]["message"]


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/neo/chats/"),
        ("GET", "/neo/chats/recent/"),
        ("GET", f"/neo/turns/{SEED_CHAT}/"),
        ("GET", "/neo/multimodal/api/v1/voices/user"),
        ("POST", "/neo/multimodal/api/v1/memo/replay"),
        ("GET", "/neo/get-available-models"),
        ("POST", "/plus/chat/persona/create/"),
        ("GET", "/plus/chat/personas/"),
        ("POST", "/plus/chat/character/generate-avatar-options"),
    ],
)
def test_account_routes_need_token(api, method, path):
    r = api.req(method, path, token=None)
    assert r.status_code == 401 and r.json()


def test_unknown_route_json_404(api):
    r = api.get("/neo/nothing/here")
    assert r.status_code == 404 and r.json()["command"] == "neo_error"
    r = api.get("/plus/chat/nothing/")
    assert r.status_code == 404 and r.json()


def test_new_chat_id_roundtrip(api, emu):
    ws = api.ws()
    chat_id, _ = api.create_chat(ws)
    _, frames = api.send_message(ws, chat_id, "persist me", turn_id=str(uuid.uuid4()))
    turns = api.get(f"/neo/turns/{chat_id}/").json()["turns"]
    assert (
        turns[0]["candidates"][0]["raw_content"]
        == frames[-1]["turn"]["candidates"][0]["raw_content"]
    )
    assert turns[1]["candidates"][0]["raw_content"] == "persist me"
