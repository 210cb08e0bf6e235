"""Websocket flows of /neo/ws/ (neo.md section 3)."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
import websocket


def test_handshake_cookie_quoted_unquoted_and_extra(api):
    for quoted, extra in ((False, ""), (True, ""), (True, "; edge_rollout=60;")):
        ws = api.ws(quoted=quoted, extra=extra)
        _, frames = api.create_chat(ws, greeting=False)
        assert frames[0]["command"] == "create_chat_response"
        ws.close()


@pytest.mark.parametrize("token", ["bad" * 10, None])
def test_handshake_bad_token_refused_with_403(api, emu, token):
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        if token is None:
            websocket.create_connection(emu.ws_url, timeout=5)
        else:
            api.ws(token=token)
    assert info.value.status_code == 403


def test_create_chat_with_greeting(api, emu):
    ws = api.ws()
    chat_id, frames = api.create_chat(ws)
    resp, greet = frames
    assert resp["command"] == "create_chat_response"
    chat = resp["chat"]
    assert chat["chat_id"] == chat_id
    assert chat["character_id"] == emu.character_ids[0]
    assert chat["creator_id"] == emu.user_id
    assert chat["type"] == "TYPE_ONE_ON_ONE" and chat["visibility"] == "VISIBILITY_PRIVATE"
    assert chat["state"] == "STATE_ACTIVE" and chat["create_time"].endswith("Z")
    assert greet["command"] == "add_turn" and "payload" not in greet
    turn = greet["turn"]
    assert turn["author"] == {"author_id": emu.character_ids[0], "name": "Ada", "is_human": False}
    assert turn["candidates"][0]["is_final"] is True
    assert turn["candidates"][0]["raw_content"].startswith("Hello! I am Ada")
    assert greet["chat_info"] == {"type": "TYPE_ONE_ON_ONE"}
    assert api.nothing_more(ws)
    assert emu.state.chat(chat_id)["creator_id"] == emu.user_id
    assert len(emu.state.turns(chat_id)) == 1


def test_create_chat_without_greeting_and_model_type(api, emu):
    ws = api.ws()
    chat_id = str(uuid.uuid4())
    api.send(
        ws,
        "create_chat",
        {
            "chat": {
                "chat_id": chat_id,
                "character_id": emu.character_ids[1],
                "creator_id": emu.user_id,
                "visibility": "VISIBILITY_PRIVATE",
                "type": "TYPE_ONE_ON_ONE",
                "preferred_model_type": "MODEL_TYPE_SMART",
            },
            "with_greeting": False,
        },
    )
    f = api.recv(ws)
    assert f["command"] == "create_chat_response"
    assert f["chat"]["preferred_model_type"] == "MODEL_TYPE_SMART"
    assert api.nothing_more(ws)
    assert emu.state.turns(chat_id) == []


def test_create_chat_unknown_character(api):
    ws = api.ws()
    rid = api.send(
        ws,
        "create_chat",
        {"chat": {"chat_id": str(uuid.uuid4()), "character_id": "nope"}, "with_greeting": True},
    )
    f = api.recv(ws)
    assert f["command"] == "neo_error" and f["request_id"] == rid and f["comment"]
    assert api.nothing_more(ws)


def test_send_message_flow(api, emu):
    ws = api.ws()
    chat_id, _ = api.create_chat(ws)
    turn_id = str(uuid.uuid4())
    rid, frames = api.send_message(ws, chat_id, "hi there", turn_id=turn_id)
    assert all(f["request_id"] == rid for f in frames)
    assert all("command" in f and "payload" not in f for f in frames)
    human = frames[0]
    assert human["command"] == "add_turn"
    assert human["turn"]["author"]["is_human"] is True
    assert human["turn"]["author"]["author_id"] == emu.user_id
    assert human["turn"]["turn_key"] == {"chat_id": chat_id, "turn_id": turn_id}
    assert human["turn"]["candidates"][0]["raw_content"] == "hi there"
    reply = frames[1:]
    assert len(reply) >= 3
    assert reply[0]["command"] == "add_turn"
    assert all(f["command"] == "update_turn" for f in reply[1:])
    ids = {f["turn"]["turn_key"]["turn_id"] for f in reply}
    assert len(ids) == 1 and turn_id not in ids
    texts = [f["turn"]["candidates"][0]["raw_content"] for f in reply]
    for a, b in zip(texts, texts[1:]):
        assert b.startswith(a) and len(b) > len(a)
    for f in reply[:-1]:
        assert "is_final" not in f["turn"]["candidates"][0]
    last = reply[-1]["turn"]
    assert last["candidates"][0]["is_final"] is True
    assert last["primary_candidate_id"] == last["candidates"][0]["candidate_id"]
    assert last["author"]["is_human"] is False and last["author"]["name"] == "Ada"
    assert "Ada" in texts[-1] and '"hi there"' in texts[-1]
    assert api.nothing_more(ws)
    stored = emu.state.turns(chat_id)
    assert stored[0]["candidates"][0]["raw_content"] == texts[-1]
    assert stored[0]["candidates"][0]["is_final"] is True
    assert stored[1]["turn_key"]["turn_id"] == turn_id


def test_minimal_payload_of_older_clients(api, emu):
    """K sends no turn_id/author/request_id/origin; CS sends nulls."""
    ws = api.ws()
    chat_id, _ = api.create_chat(ws, greeting=False)
    ws.send(
        json.dumps(
            {
                "command": "create_and_generate_turn",
                "payload": {
                    "character_id": emu.character_ids[0],
                    "turn": {
                        "turn_key": {"chat_id": chat_id},
                        "author": {},
                        "candidates": [{"raw_content": "hello", "tti_image_rel_path": None}],
                    },
                },
            }
        )
    )
    frames = []
    while True:
        f = api.recv(ws)
        frames.append(f)
        assert "request_id" not in f
        if not f["turn"]["author"]["is_human"] and f["turn"]["candidates"][0].get("is_final"):
            break
    assert frames[0]["turn"]["author"]["author_id"].isdigit()
    assert frames[0]["turn"]["turn_key"]["turn_id"]
    ws.send(
        json.dumps(
            {
                "command": "create_and_generate_turn",
                "request_id": None,
                "origin_id": None,
                "payload": {
                    "character_id": emu.character_ids[0],
                    "selected_language": None,
                    "previous_annotations": None,
                    "num_candidates": 1,
                    "tts_enabled": False,
                    "user_name": None,
                    "turn": {
                        "turn_key": {"chat_id": chat_id, "turn_id": str(uuid.uuid4())},
                        "author": {"author_id": emu.user_id, "is_human": True, "name": None},
                        "candidates": [
                            {
                                "candidate_id": str(uuid.uuid4()),
                                "raw_content": "again",
                                "is_final": False,
                                "create_time": None,
                            }
                        ],
                        "primary_candidate_id": None,
                        "create_time": None,
                        "last_update_time": None,
                        "state": None,
                    },
                },
            }
        )
    )
    while True:
        f = api.recv(ws)
        if not f["turn"]["author"]["is_human"] and f["turn"]["candidates"][0].get("is_final"):
            break
    assert api.nothing_more(ws)
    assert len(emu.state.turns(chat_id)) == 4


def test_duplicate_turn_id_rejected(api, emu):
    ws = api.ws()
    chat_id, _ = api.create_chat(ws)
    turn_id = str(uuid.uuid4())
    api.send_message(ws, chat_id, "first", turn_id=turn_id)
    before = len(emu.state.turns(chat_id))
    rid, frames = api.send_message(ws, chat_id, "first", turn_id=turn_id)
    assert len(frames) == 1
    assert frames[0] == {
        "command": "neo_error",
        "request_id": rid,
        "comment": "turn already exists",
        "error_code": 409,
    }
    assert api.nothing_more(ws)
    assert len(emu.state.turns(chat_id)) == before
    assert any(e["message"] == "turn already exists" for e in emu.log.events())


def test_regenerate_candidate(api, emu):
    ws = api.ws()
    chat_id, _ = api.create_chat(ws)
    _, frames = api.send_message(ws, chat_id, "tell me")
    reply = frames[-1]["turn"]
    old_cand = reply["primary_candidate_id"]
    rid = api.send(
        ws,
        "generate_turn_candidate",
        {
            "character_id": emu.character_ids[0],
            "previous_annotations": {},
            "selected_language": "",
            "tts_enabled": False,
            "turn_key": reply["turn_key"],
            "user_name": "",
        },
        origin_id="web-next",
    )
    out = []
    while True:
        f = api.recv(ws)
        out.append(f)
        assert f["command"] == "update_turn" and f["request_id"] == rid
        if f["turn"]["candidates"][0].get("is_final"):
            break
    assert len(out) >= 3
    for f in out:
        t = f["turn"]
        assert t["turn_key"] == reply["turn_key"]
        # the turn's candidates as stored: the new one first, then the earlier one
        assert len(t["candidates"]) == 2 and t["candidates"][0]["candidate_id"] != old_cand
        assert t["candidates"][1]["candidate_id"] == old_cand
        assert t["candidates"][1]["raw_content"] == reply["candidates"][0]["raw_content"]
        assert t["primary_candidate_id"] == t["candidates"][0]["candidate_id"]
    for f in out[:-1]:
        assert "is_final" not in f["turn"]["candidates"][0]
    assert api.nothing_more(ws)
    stored = emu.state.turn(chat_id, reply["turn_key"]["turn_id"])
    assert len(stored["candidates"]) == 2
    assert stored["primary_candidate_id"] == out[-1]["turn"]["candidates"][0]["candidate_id"]
    assert out[-1]["turn"]["candidates"][0]["raw_content"] != reply["candidates"][0]["raw_content"]
    # the final frame and the history agree (same candidates, same order, same texts)
    page = api.get(f"/neo/turns/{chat_id}/").json()["turns"]
    listed = next(t for t in page if t["turn_key"] == reply["turn_key"])
    assert [(c["candidate_id"], c["raw_content"]) for c in listed["candidates"]] == [
        (c["candidate_id"], c["raw_content"]) for c in out[-1]["turn"]["candidates"]
    ]
    assert listed["primary_candidate_id"] == out[-1]["turn"]["primary_candidate_id"]

    # switch back to the first candidate: exactly one "ok" with the echoed request_id
    rid = api.send(
        ws, "update_primary_candidate", {"candidate_id": old_cand, "turn_key": reply["turn_key"]}
    )
    assert api.recv(ws) == {"command": "ok", "request_id": rid}
    assert api.nothing_more(ws)
    # PyCharacterAI sends no request_id: reply has none
    api.send(
        ws,
        "update_primary_candidate",
        {"candidate_id": old_cand, "turn_key": reply["turn_key"]},
        request_id=None,
        origin_id="web-next",
    )
    assert api.recv(ws) == {"command": "ok"}
    assert api.nothing_more(ws)
    assert emu.state.turn(chat_id, reply["turn_key"]["turn_id"])["primary_candidate_id"] == old_cand
    api.send(
        ws, "update_primary_candidate", {"candidate_id": "nope", "turn_key": reply["turn_key"]}
    )
    assert api.recv(ws)["command"] == "neo_error"


def test_edit_and_pin(api, emu):
    ws = api.ws()
    chat_id, _ = api.create_chat(ws)
    _, frames = api.send_message(ws, chat_id, "edit me")
    reply = frames[-1]["turn"]
    cand = reply["primary_candidate_id"]
    rid = api.send(
        ws,
        "edit_turn_candidate",
        {
            "turn_key": reply["turn_key"],
            "current_candidate_id": cand,
            "new_candidate_raw_content": "Edited text.",
        },
        origin_id="web-next",
    )
    f = api.recv(ws)
    assert f["command"] == "update_turn" and f["request_id"] == rid
    c0 = f["turn"]["candidates"][0]
    assert (
        c0["candidate_id"] == cand
        and c0["raw_content"] == "Edited text."
        and c0["is_final"] is True
    )
    assert api.nothing_more(ws)
    for pinned in (True, False):
        rid = api.send(ws, "set_turn_pin", {"is_pinned": pinned, "turn_key": reply["turn_key"]})
        f = api.recv(ws)
        assert (
            f["command"] == "update_turn"
            and f["request_id"] == rid
            and f["turn"]["is_pinned"] is pinned
        )
        assert api.nothing_more(ws)
        assert emu.state.turn(chat_id, reply["turn_key"]["turn_id"])["is_pinned"] is pinned
    assert (
        emu.state.turn(chat_id, reply["turn_key"]["turn_id"])["candidates"][0]["raw_content"]
        == "Edited text."
    )


def test_remove_turns_legacy(api, emu):
    ws = api.ws()
    chat_id, frames = api.create_chat(ws)
    tid = frames[1]["turn"]["turn_key"]["turn_id"]
    rid = api.send(ws, "remove_turns", {"chat_id": chat_id, "turn_ids": [tid]})
    f = api.recv(ws)
    assert f["command"] == "remove_turns_response" and f["request_id"] == rid
    assert api.nothing_more(ws)
    assert emu.state.turns(chat_id) == []


def test_create_turn_is_a_manual_turn_without_generation(api, emu):
    ws = api.ws()
    chat_id, _ = api.create_chat(ws, greeting=False)
    payload = api.turn_payload(chat_id, "a line I write myself")
    rid = api.send(ws, "create_turn", payload, origin_id="Android")
    f = api.recv(ws)
    assert f["command"] == "add_turn" and f["request_id"] == rid
    assert f["turn"]["author"]["is_human"] is True
    assert f["turn"]["turn_key"] == payload["turn"]["turn_key"]
    assert f["turn"]["candidates"][0]["raw_content"] == "a line I write myself"
    assert f["turn"]["candidates"][0]["is_final"] is True
    assert api.nothing_more(ws)  # no generation
    turns = api.get(f"/neo/turns/{chat_id}/").json()["turns"]
    assert [t["turn_key"]["turn_id"] for t in turns] == [payload["turn"]["turn_key"]["turn_id"]]
    # the same turn id again: refused, like create_and_generate_turn
    api.send(ws, "create_turn", payload)
    assert api.recv(ws)["command"] == "neo_error"
    # an empty manual turn is refused
    api.send(ws, "create_turn", api.turn_payload(chat_id, ""))
    assert api.recv(ws)["command"] == "neo_error"


def test_manual_mode_empty_ids_get_server_ids(api, emu):
    """CAINode's manual mode sends "" for turn_id and candidate_id (cainode.md 4.1)."""
    ws = api.ws()
    chat_id, _ = api.create_chat(ws, greeting=False)
    payload = api.turn_payload(chat_id, "no ids")
    payload["turn"]["turn_key"]["turn_id"] = ""
    payload["turn"]["candidates"][0]["candidate_id"] = ""
    payload["turn"]["primary_candidate_id"] = ""
    api.send(ws, "create_turn", payload)
    f = api.recv(ws)
    turn = f["turn"]
    assert f["command"] == "add_turn" and len(turn["turn_key"]["turn_id"]) == 36
    assert turn["candidates"][0]["candidate_id"] == turn["primary_candidate_id"] != ""


def test_empty_create_and_generate_turn_asks_for_a_reply(api, emu):
    """CAINode's generate_turn(): an empty raw_content means "reply now" (cainode.md 4.4)."""
    ws = api.ws()
    chat_id, _ = api.create_chat(ws, greeting=False)
    api.send(ws, "create_turn", api.turn_payload(chat_id, "manual one"))
    api.recv(ws)
    rid = api.send(ws, "create_and_generate_turn", api.turn_payload(chat_id, ""))
    frames = []
    while True:
        f = api.recv(ws)
        frames.append(f)
        assert f["command"] in ("add_turn", "update_turn") and f["request_id"] == rid
        if f["turn"]["candidates"][0].get("is_final"):
            break
    assert all(f["turn"]["author"]["is_human"] is False for f in frames)  # no empty echo
    assert api.nothing_more(ws)
    turns = api.get(f"/neo/turns/{chat_id}/").json()["turns"]
    assert [t["author"]["is_human"] for t in turns] == [False, True]  # no blank user turn
    assert (
        turns[0]["candidates"][0]["raw_content"]
        == frames[-1]["turn"]["candidates"][0]["raw_content"]
    )
    assert turns[0]["candidates"][0]["raw_content"].strip()


@pytest.mark.parametrize(
    "command",
    ["update_turn", "generate_turn", "reset_conversation", "resurrect", "add_turn", "ok"],
)
def test_every_unknown_command_gets_a_neo_error_with_a_comment(api, command):
    ws = api.ws()
    rid = api.send(ws, command, {})
    f = api.recv(ws)
    assert f["command"] == "neo_error" and f["request_id"] == rid
    assert isinstance(f["comment"], str) and command in f["comment"]
    assert api.nothing_more(ws)


def test_json_nested_1000_deep_gets_a_neo_error_and_keeps_the_socket(api, emu):
    ws = api.ws()
    ws.send(
        '{"command": "create_chat", "request_id": "d", "payload": ' + "[" * 1000 + "]" * 1000 + "}"
    )
    f = api.recv(ws)
    assert f["command"] == "neo_error" and f["comment"]
    ws.send("[" * 1000 + "]" * 1000)
    assert api.recv(ws)["command"] == "neo_error"
    # the socket still works
    _, frames = api.create_chat(ws)
    assert frames[0]["command"] == "create_chat_response"


def test_unknown_command_and_bad_frames(api):
    ws = api.ws()
    rid = api.send(ws, "update_turn", {"turn": {}})
    f = api.recv(ws)
    assert f["command"] == "neo_error" and f["request_id"] == rid
    assert api.nothing_more(ws)
    ws.send("not json")
    assert api.recv(ws)["command"] == "neo_error"
    ws.send(json.dumps({"request_id": "x", "payload": {}}))
    f = api.recv(ws)
    assert f["command"] == "neo_error" and f["request_id"] == "x"
    assert api.nothing_more(ws)


def test_privacy_over_websocket(api, emu):
    ws = api.ws()
    chat_id, frames = api.create_chat(ws)
    other = api.ws(token="other")
    rid, out = api.send_message(other, chat_id, "let me in")
    assert out == [
        {"command": "neo_error", "request_id": rid, "comment": "chat not found", "error_code": 404}
    ]
    rid = api.send(
        other, "set_turn_pin", {"is_pinned": True, "turn_key": frames[1]["turn"]["turn_key"]}
    )
    assert api.recv(other)["comment"] == "chat not found"
    # bob cannot start a chat with alice's private character
    diary = next(c["external_id"] for c in emu.seed_data["characters"] if c["name"] == "Diary")
    api.send(other, "create_chat", {"chat": {"chat_id": str(uuid.uuid4()), "character_id": diary}})
    assert api.recv(other)["command"] == "neo_error"
    chat_id2, _ = api.create_chat(ws, character_id=diary, greeting=False)
    assert emu.state.chat(chat_id2) is not None


def test_concurrent_commands_interleave_by_request_id(api, emu):
    emu.ctx.delay = 0.005
    ws = api.ws()
    chats = [
        api.create_chat(ws, character_id=cid, greeting=False)[0] for cid in emu.character_ids[:4]
    ]
    rids = {}
    for i, chat_id in enumerate(chats):
        payload = api.turn_payload(chat_id, f"message {i}", character_id=emu.character_ids[i])
        rids[api.send(ws, "create_and_generate_turn", payload)] = chat_id
    finals, order = set(), []
    while len(finals) < len(chats):
        f = api.recv(ws)
        rid = f["request_id"]
        assert rid in rids
        assert f["turn"]["turn_key"]["chat_id"] == rids[rid]
        order.append(rid)
        if not f["turn"]["author"]["is_human"] and f["turn"]["candidates"][0].get("is_final"):
            finals.add(rid)
    assert api.nothing_more(ws)
    # frames of different requests were interleaved (not one request after the other)
    first_final = min(max(i for i, r in enumerate(order) if r == rid) for rid in rids)
    assert len(set(order[: first_final + 1])) > 1
    for chat_id in chats:
        assert len(emu.state.turns(chat_id)) == 2


def test_same_chat_is_serialised(api, emu):
    ws = api.ws()
    chat_id, _ = api.create_chat(ws, greeting=False)
    rids = [
        api.send(ws, "create_and_generate_turn", api.turn_payload(chat_id, f"m{i}"))
        for i in range(3)
    ]
    seen = []
    done = 0
    while done < 3:
        f = api.recv(ws)
        seen.append(f["request_id"])
        if not f["turn"]["author"]["is_human"] and f["turn"]["candidates"][0].get("is_final"):
            done += 1
    # no interleaving within one chat: each request's frames are contiguous, in order
    collapsed = [r for i, r in enumerate(seen) if i == 0 or seen[i - 1] != r]
    assert collapsed == rids
    texts = [t["candidates"][0]["raw_content"] for t in reversed(emu.state.turns(chat_id))]
    assert texts[0] == "m0" and texts[2] == "m1" and texts[4] == "m2"


def test_many_threads_many_sockets(api, emu):
    errors = []

    def worker(i):
        try:
            ws = api.ws()
            chat_id, _ = api.create_chat(ws, greeting=False)
            _, frames = api.send_message(ws, chat_id, f"thread {i}")
            assert frames[-1]["turn"]["candidates"][0]["is_final"] is True
            ws.close()
        except Exception as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
