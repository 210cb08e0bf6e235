"""PyCharacterAI 2.2.50 against the emulator: chats over HTTP and the websocket (neo.md 2.4, 3)."""

from __future__ import annotations

from typing import Any, List

import pytest
from conftest import Driver

from caiclient.emulator import Emulator


def _texts(turns: List[Any]) -> List[str]:
    return [t.get_primary_candidate().text for t in turns]


def _stored_text(turn: dict) -> str:
    primary = turn.get("primary_candidate_id")
    cand = next(c for c in turn["candidates"] if c["candidate_id"] == primary)
    return str(cand["raw_content"])


@pytest.fixture
def chat(cai: Driver, character_id: str) -> Any:
    """A new chat with the seeded character, created without a greeting."""
    created, greeting = cai.run(cai.client.chat.create_chat(character_id, greeting=False))
    assert greeting is None
    return created


def test_create_chat_with_greeting(cai: Driver, emu: Emulator, character_id: str) -> None:
    new_chat, greeting = cai.run(cai.client.chat.create_chat(character_id))
    assert new_chat.character_id == character_id
    assert new_chat.creator_id == cai.client.get_account_id()
    assert greeting is not None and not greeting.author_is_human
    assert greeting.get_primary_candidate().text == emu.seed_data["characters"][0]["greeting"]
    assert greeting.chat_id == new_chat.chat_id
    stored = emu.state.turns(new_chat.chat_id)
    assert [t["turn_key"]["turn_id"] for t in stored] == [greeting.turn_id]
    # HTTP sees what the websocket created.
    fetched = cai.run(cai.client.chat.fetch_chat(new_chat.chat_id))
    assert (fetched.chat_id, fetched.character_id) == (new_chat.chat_id, character_id)
    listed = cai.run(cai.client.chat.fetch_chats(character_id))
    assert new_chat.chat_id in [c.chat_id for c in listed]


def test_send_message(cai: Driver, emu: Emulator, character_id: str, chat: Any) -> None:
    reply = cai.run(cai.client.chat.send_message(character_id, chat.chat_id, "What is 2+2?"))
    assert not reply.author_is_human and reply.author_id == character_id
    cand = reply.get_primary_candidate()
    assert cand.is_final and "What is 2+2?" in cand.text
    stored = emu.state.turns(chat.chat_id)
    assert len(stored) == 2
    assert stored[0]["turn_key"]["turn_id"] == reply.turn_id
    assert _stored_text(stored[0]) == cand.text
    assert stored[1]["author"]["is_human"] is True
    assert _stored_text(stored[1]) == "What is 2+2?"
    assert stored[1]["author"]["author_id"] == cai.client.get_account_id()


def test_stream_message(cai: Driver, emu: Emulator, character_id: str, chat: Any) -> None:
    parts = cai.collect(
        lambda: cai.client.chat.send_message(character_id, chat.chat_id, "stream it", streaming=True)
    )
    texts = _texts(parts)
    assert len(parts) >= 2
    assert all(texts[i + 1].startswith(texts[i]) for i in range(len(texts) - 1))  # cumulative
    assert parts[-1].get_candidates()[0].is_final
    assert not any(p.get_candidates()[0].is_final for p in parts[:-1])
    assert len({p.turn_id for p in parts}) == 1
    assert _stored_text(emu.state.turns(chat.chat_id)[0]) == texts[-1]
    # Nothing was left in the socket: the next call gets its own answer (neo.md 3.5 rule 4).
    again = cai.run(cai.client.chat.send_message(character_id, chat.chat_id, "next one"))
    assert "next one" in again.get_primary_candidate().text


def test_regenerate_and_choose_candidate(
    cai: Driver, emu: Emulator, character_id: str, chat: Any
) -> None:
    first = cai.run(cai.client.chat.send_message(character_id, chat.chat_id, "tell me more"))
    first_cand = first.get_primary_candidate()
    other = cai.run(cai.client.chat.another_response(character_id, chat.chat_id, first.turn_id))
    new_cand = other.get_primary_candidate()
    assert other.turn_id == first.turn_id
    assert new_cand.is_final and new_cand.candidate_id != first_cand.candidate_id
    stored = emu.state.turn(chat.chat_id, first.turn_id)
    assert stored is not None and stored["primary_candidate_id"] == new_cand.candidate_id
    ids = [c["candidate_id"] for c in stored["candidates"]]
    assert set(ids) == {first_cand.candidate_id, new_cand.candidate_id}

    streamed = cai.collect(
        lambda: cai.client.chat.another_response(
            character_id, chat.chat_id, first.turn_id, streaming=True
        )
    )
    assert streamed[-1].get_candidates()[0].is_final
    assert len(emu.state.turn(chat.chat_id, first.turn_id)["candidates"]) == 3

    ok = cai.run(
        cai.client.chat.update_primary_candidate(
            chat.chat_id, first.turn_id, first_cand.candidate_id
        )
    )
    assert ok is True
    stored = emu.state.turn(chat.chat_id, first.turn_id)
    assert stored["primary_candidate_id"] == first_cand.candidate_id
    page, _ = cai.run(cai.client.chat.fetch_messages(chat.chat_id))
    assert page[0].get_primary_candidate().text == first_cand.text


def test_edit_message(cai: Driver, emu: Emulator, character_id: str, chat: Any) -> None:
    reply = cai.run(cai.client.chat.send_message(character_id, chat.chat_id, "hello"))
    cand = reply.get_primary_candidate()
    edited = cai.run(
        cai.client.chat.edit_message(chat.chat_id, reply.turn_id, cand.candidate_id, "edited text")
    )
    assert edited.turn_id == reply.turn_id
    assert edited.get_primary_candidate().text == "edited text"
    assert _stored_text(emu.state.turn(chat.chat_id, reply.turn_id)) == "edited text"


def test_delete_messages(cai: Driver, emu: Emulator, character_id: str, chat: Any) -> None:
    first = cai.run(cai.client.chat.send_message(character_id, chat.chat_id, "one"))
    second = cai.run(cai.client.chat.send_message(character_id, chat.chat_id, "two"))
    assert cai.run(cai.client.chat.delete_message(chat.chat_id, second.turn_id)) is True
    ids = [t["turn_key"]["turn_id"] for t in emu.state.turns(chat.chat_id)]
    assert second.turn_id not in ids and first.turn_id in ids
    assert cai.run(cai.client.chat.delete_messages(chat.chat_id, ids)) is True
    assert emu.state.turns(chat.chat_id) == []
    page, _ = cai.run(cai.client.chat.fetch_messages(chat.chat_id))
    assert page == []


def test_pin_and_unpin(cai: Driver, emu: Emulator, character_id: str, chat: Any) -> None:
    reply = cai.run(cai.client.chat.send_message(character_id, chat.chat_id, "pin me"))
    assert cai.run(cai.client.chat.pin_message(chat.chat_id, reply.turn_id)) is True
    assert emu.state.turn(chat.chat_id, reply.turn_id)["is_pinned"] is True
    pinned = cai.run(cai.client.chat.fetch_all_pinned_messages(chat.chat_id))
    assert [t.turn_id for t in pinned] == [reply.turn_id]
    assert cai.run(cai.client.chat.unpin_message(chat.chat_id, reply.turn_id)) is True
    assert not emu.state.turn(chat.chat_id, reply.turn_id).get("is_pinned")
    page, _ = cai.run(cai.client.chat.fetch_pinned_messages(chat.chat_id))
    assert page == []


def test_history_paging(cai: Driver, emu: Emulator, character_id: str) -> None:
    new_chat, greeting = cai.run(cai.client.chat.create_chat(character_id))
    for i in range(30):  # 61 turns: more than one page of 50
        cai.run(cai.client.chat.send_message(character_id, new_chat.chat_id, f"message {i}"))
    stored_ids = [t["turn_key"]["turn_id"] for t in emu.state.turns(new_chat.chat_id)]
    assert len(stored_ids) == 61

    first, token = cai.run(cai.client.chat.fetch_messages(new_chat.chat_id))
    assert token and len(first) == 50
    assert [t.turn_id for t in first] == stored_ids[:50]  # newest first
    second, _ = cai.run(cai.client.chat.fetch_messages(new_chat.chat_id, next_token=token))
    assert [t.turn_id for t in second] == stored_ids[50:]
    assert second[-1].turn_id == greeting.turn_id

    everything = cai.run(cai.client.chat.fetch_all_messages(new_chat.chat_id))
    assert [t.turn_id for t in everything] == stored_ids
    assert _texts(everything)[1] == "message 29"

    # fetch_following_messages: the turns newer than a given one, across pages.
    newer = cai.run(cai.client.chat.fetch_following_messages(new_chat.chat_id, stored_ids[55]))
    assert [t.turn_id for t in newer] == stored_ids[:55]


def test_recent_rename_archive_copy(
    cai: Driver, emu: Emulator, character_id: str, chat: Any
) -> None:
    reply = cai.run(cai.client.chat.send_message(character_id, chat.chat_id, "remember this"))
    recent = cai.run(cai.client.chat.fetch_recent_chats())
    mine = [c for c in recent if c.character_id == character_id]
    assert mine and mine[0].chat_id == chat.chat_id
    assert mine[0].character_name == emu.seed_data["characters"][0]["name"]

    assert cai.run(cai.client.chat.update_chat_name(chat.chat_id, "Renamed chat")) is True
    assert cai.run(cai.client.chat.fetch_chat(chat.chat_id)).chat_name == "Renamed chat"

    new_id = cai.run(cai.client.chat.copy_chat(chat.chat_id, reply.turn_id))
    assert new_id and new_id != chat.chat_id
    copied = cai.run(cai.client.chat.fetch_all_messages(new_id))
    assert _texts(copied) == _texts(cai.run(cai.client.chat.fetch_all_messages(chat.chat_id)))

    assert cai.run(cai.client.chat.archive_chat(chat.chat_id)) is True
    assert emu.state.chat(chat.chat_id)["state"] == "STATE_ARCHIVED"
    assert cai.run(cai.client.chat.unarchive_chat(chat.chat_id)) is True
    assert emu.state.chat(chat.chat_id)["state"] == "STATE_ACTIVE"


def test_legacy_histories(cai: Driver, emu: Emulator, character_id: str) -> None:
    seeded = [
        h for h in emu.seed_data["histories"]
        if h["owner"] == "alice" and h["character_id"] == character_id
    ]
    histories = cai.run(cai.client.chat.fetch_histories(character_id))
    assert {h.chat_id for h in histories} == {h["external_id"] for h in seeded}
    first = next(h for h in histories if h.chat_id == seeded[0]["external_id"])
    assert [m.text for m in first.preview_messages] == [m["text"] for m in seeded[0]["msgs"]]
