"""CAINode 1.2.2 (Node, npm), unmodified, against the emulator: its DM socket and REST surface.

node/ holds a package.json pinning cainode 1.2.2 and ws, ``to_emulator.mjs`` (swaps the
service's base URLs for the emulator's at run time: a wrapped global ``fetch`` and a loader
hook that hands the client a ``ws`` whose constructor rewrites the URL) and ``scenarios.mjs``
(what the client is asked to do). Each scenario prints what the client returned; these tests
check it against the emulator's own state. .ci/run installs the packages
(``npm ci --prefix tests/conformance/node --omit=optional``). CAINode's room calls are in
test_cainode_rooms.py; its voice calls (LiveKit) are out of reach here.
"""

from __future__ import annotations

from typing import Any, Dict

import pytest
from conftest import run_node

from caiclient.emulator import Emulator

VOICE = "sys-voice-calm"


def run_cainode(emu: Emulator, scenario: str, character_id: str) -> Dict[str, Any]:
    """Run one scenario of node/scenarios.mjs; every step must have succeeded."""
    out = run_node(emu, "scenarios.mjs", scenario, CAI_CHARACTER=character_id, CAI_VOICE=VOICE)
    failed = {k: v for k, v in out.items() if isinstance(v, dict) and set(v) == {"error"}}
    if scenario != "bad_token":
        assert not failed, failed
    return out


@pytest.fixture
def fresh_character(emu: Emulator) -> str:
    """A seeded character alice has no chat with yet (so connect creates one over the socket)."""
    with_chats = {c["character_id"] for c in emu.seed_data["chats"] if c["owner"] == "alice"}
    return next(c for c in emu.character_ids if c not in with_chats)


def _text(turn: Dict[str, Any]) -> str:
    primary = turn.get("primary_candidate_id")
    return str(next(c for c in turn["candidates"] if c["candidate_id"] == primary)["raw_content"])


def test_login_handshakes_and_a_bad_token(emu: Emulator, fresh_character: str) -> None:
    bad = run_cainode(emu, "bad_token", fresh_character)
    # cainode.md 2.1: a rejected token is a 401 whose body is exactly "Unauthorized".
    assert bad["login"] == {"error": "Not a valid Character.AI Token."}
    emu.log.clear()
    out = run_cainode(emu, "manual", fresh_character)
    assert out["login"] is True
    shakes = [e for e in emu.log.entries() if e["kind"] == "ws_connect"]
    assert sorted(e["path"] for e in shakes) == ["/neo/connection/websocket", "/neo/ws/"]
    # The site's edge_rollout cookie (GET https://character.ai/) goes first, the token quoted.
    for shake in shakes:
        assert shake["headers"]["cookie"] == f'edge_rollout=60; HTTP_AUTHORIZATION="Token {emu.token}"'
    assert emu.log.http("/web/")[0]["method"] == "GET"


def test_dm_chat(emu: Emulator, fresh_character: str) -> None:
    out = run_cainode(emu, "dm", fresh_character)
    chat_id = out["connect"]["chats"][0]["chat_id"]
    created = emu.log.ws("create_chat")
    assert created[0]["payload"]["chat"]["chat_id"] == chat_id
    assert "origin_id" not in created[0]  # cainode.md 4.2: connect's create_chat has none

    reply = out["send"]["turn"]
    assert reply["author"]["author_id"] == fresh_character and not reply["author"]["is_human"]
    assert reply["candidates"][0]["is_final"]
    stored = emu.state.turn(chat_id, reply["turn_key"]["turn_id"])
    assert stored is not None
    human = emu.log.ws("create_and_generate_turn")[0]["payload"]["turn"]
    assert emu.state.turn(chat_id, human["turn_key"]["turn_id"])["author"]["is_human"] is True

    # regenerate: a second candidate on the same turn; then the edit and its primary update.
    regen = out["regenerate"]["turn"]
    assert regen["turn_key"] == reply["turn_key"]
    assert regen["candidates"][0]["candidate_id"] != reply["candidates"][0]["candidate_id"]
    assert out["edit"]["turn"]["candidates"][0]["raw_content"] == "edited by CAINode"
    assert emu.log.ws("update_primary_candidate"), "CAINode follows an edit with the primary"
    stored_after = emu.state.turn(chat_id, reply["turn_key"]["turn_id"])
    assert _text(stored_after) == "edited by CAINode"
    assert stored_after["is_pinned"] is True
    assert [t["turn_key"]["turn_id"] for t in out["pinned"]["turns"]] == [reply["turn_key"]["turn_id"]]

    # history (GET /turns/<id> without the trailing slash), info, list, rename, copy, TTS
    assert out["history"]["turns"][0]["turn_key"] == reply["turn_key"]
    assert out["info"]["chat"]["character_id"] == fresh_character
    assert chat_id in [c["chat_id"] for c in out["conversations"]["chats"]]
    assert emu.state.chat(chat_id)["name"] == "Renamed by CAINode"
    copied = out["copy"]["new_chat_id"]
    assert _text(emu.state.turns(copied)[0]) == "edited by CAINode"
    assert out["tts"]["replayUrl"].startswith(emu.url) and out["tts"]["replayUrl"].endswith(".mp3")
    replay = emu.log.http("/neo/multimodal/api/v1/memo/replay")[0]["json"]
    assert replay["voiceId"] == VOICE and replay["voiceQuery"] == ""

    # remove_turns over the socket (CAINode still uses it; PyCharacterAI moved to REST)
    deleted = out["send_again"]["turn"]["turn_key"]["turn_id"]
    assert emu.log.ws("remove_turns")[0]["payload"]["turn_ids"] == [deleted]
    assert emu.state.turn(chat_id, deleted) is None
    assert emu.state.chat(chat_id)["state"] == "STATE_ACTIVE"  # archived, then unarchived

    # new conversations, with and without greeting
    with_greeting = out["new_chat"]
    assert with_greeting[0]["command"] == "create_chat_response"
    greeting = with_greeting[-1]["turn"]
    assert greeting["candidates"][0]["is_final"] and not greeting["author"]["is_human"]
    assert out["new_chat_quiet"]["command"] == "create_chat_response"
    assert emu.state.turns(out["new_chat_quiet"]["chat"]["chat_id"]) == []


def test_manual_turn_then_reply(emu: Emulator, fresh_character: str) -> None:
    out = run_cainode(emu, "manual", fresh_character)
    manual = out["manual"]["turn"]
    assert manual["author"]["is_human"] is True
    assert manual["candidates"][0]["raw_content"] == "A turn without a reply"
    chat_id = manual["turn_key"]["chat_id"]
    assert emu.log.ws("create_turn")
    reply = out["generate"]["turn"]
    assert not reply["author"]["is_human"] and reply["candidates"][0]["is_final"]
    stored = emu.state.turns(chat_id)
    # The empty create_and_generate_turn asks for a reply to the manual turn: no empty turn kept.
    assert [t["author"]["is_human"] for t in stored[:2]] == [False, True]
    assert _text(stored[1]) == "A turn without a reply"
    assert "A turn without a reply" in _text(stored[0])
    assert all(_text(t) for t in stored)


def test_account_personas_discovery(emu: Emulator, fresh_character: str) -> None:
    out = run_cainode(emu, "account", fresh_character)
    assert out["me"]["user"]["user"]["username"] == "alice"
    alice = emu.state.user("alice")
    assert alice is not None and alice["bio"] == "bio from node"
    assert out["public_info"]["public_user"]["username"] == "bob"
    assert [u["username"] for u in out["public_info_array"]["public_users"]] == ["bob", "carol"]
    assert "carol" in [c["name"] for c in out["search_creator"]["creators"]]
    assert [u["username"] for u in out["following"]["users"]] == ["carol"]
    assert out["following"]["has_next_page"] is False
    assert "alice" in [u["username"] for u in out["followers"]["users"]]
    assert out["following_names"]["following"] == ["carol"]

    # muted words: the complete new list is POSTed each time and stored
    assert out["mute_add"]["settings"]["outputStylePreferences"]["bannedWords"] == ["alpha", "beta"]
    assert out["mute_remove"]["settings"]["outputStylePreferences"]["bannedWords"] == ["beta"]
    assert out["muted_after"] == ["beta"]  # what the client re-read from GET settings

    pid = out["persona_create"]["persona"]["external_id"]
    assert out["persona_info"]["persona"]["name"] == "NodePersona"
    assert out["persona_update"]["persona"]["definition"] == "Updated by CAINode"
    settings = out["settings_after_personas"]
    assert settings["default_persona_id"] == pid
    assert settings["personaOverrides"][fresh_character] == pid
    assert pid in [p["external_id"] for p in out["persona_list"]["personas"]]

    assert out["votes_array"]["upvotes_per_character"][fresh_character] == out["votes"]["votes"]
    assert out["info"]["character"]["external_id"] == fresh_character
    assert out["suggest"]["characters"]
    assert out["categories_of"]["categories"]
    assert out["current_voice"]["character_external_id"] == fresh_character
    for key in ("featured", "for_you", "similar"):
        assert out[key]["characters"], key
    assert out["curated"]
    assert VOICE in [v["id"] for v in out["featured_voices"]["voices"]]
    assert out["voice_info"]["voice"]["id"] == VOICE
    assert out["image"]["image_rel_path"]
    assert len(out["avatar_options"]["result"]) >= 1
