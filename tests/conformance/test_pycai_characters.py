"""PyCharacterAI 2.2.50 against the emulator: characters, search, discovery, votes (neo.md 2.3)."""

from __future__ import annotations

from conftest import Driver

from caiclient.emulator import Emulator


def _public_ids(emu: Emulator) -> set:
    return {
        c["external_id"]
        for c in emu.seed_data["characters"]
        if str(c.get("visibility", "PUBLIC")).upper() == "PUBLIC"
    }


def test_character_info(cai: Driver, emu: Emulator, character_id: str) -> None:
    seed = emu.seed_data["characters"][0]
    ch = cai.run(cai.client.character.fetch_character_info(character_id))
    assert ch.character_id == character_id
    assert (ch.name, ch.title, ch.greeting) == (seed["name"], seed["title"], seed["greeting"])
    assert ch.visibility == "public"


def test_search_characters_and_creators(cai: Driver, emu: Emulator, character_id: str) -> None:
    found = cai.run(cai.client.character.search_characters("Ada"))
    assert character_id in [c.character_id for c in found]
    assert all("ada" in (c.name + c.title + c.description).lower() for c in found)
    # A space travels quote()d inside the tRPC JSON (neo.md 2.3): decoded twice by the server.
    two_words = emu.seed_data["characters"][0]["title"].split()[:2]
    found = cai.run(cai.client.character.search_characters(" ".join(two_words)))
    assert character_id in [c.character_id for c in found]
    assert "alice" in cai.run(cai.client.character.search_creators("alice"))


def test_discovery_lists(cai: Driver, emu: Emulator, character_id: str) -> None:
    public = _public_ids(emu)
    for call in (
        cai.client.character.fetch_featured_characters(),
        cai.client.character.fetch_recommended_characters(),
        cai.client.character.fetch_similar_characters(character_id),
    ):
        chars = cai.run(call)
        assert chars, call
        assert {c.character_id for c in chars} <= public
        assert all(c.name for c in chars)
    by_category = cai.run(cai.client.character.fetch_characters_by_category())
    assert by_category and all(by_category.values())
    assert {c.character_id for cs in by_category.values() for c in cs} <= public


def test_vote(cai: Driver, emu: Emulator, character_id: str) -> None:
    other = emu.character_ids[1]
    assert cai.run(cai.client.character.character_vote(other, True)) is True
    upvoted = cai.run(cai.client.account.fetch_my_upvoted_characters())
    assert other in [c.character_id for c in upvoted]
    assert cai.run(cai.client.character.character_vote(other, None)) is True
    upvoted = cai.run(cai.client.account.fetch_my_upvoted_characters())
    assert other not in [c.character_id for c in upvoted]


def test_create_and_edit_character(cai: Driver, emu: Emulator) -> None:
    made = cai.run(
        cai.client.character.create_character(
            "Botty", "Hello there, I am Botty!", title="A test bot", visibility="public"
        )
    )
    assert made.name == "Botty" and made.greeting == "Hello there, I am Botty!"
    assert emu.state.character(made.character_id) is not None
    edited = cai.run(
        cai.client.character.edit_character(
            made.character_id, "Botty Two", "Hi again!", title="Still a test bot"
        )
    )
    assert (edited.name, edited.greeting) == ("Botty Two", "Hi again!")
    info = cai.run(cai.client.character.fetch_character_info(made.character_id))
    assert (info.name, info.title, info.visibility) == ("Botty Two", "Still a test bot", "private")
    mine = cai.run(cai.client.account.fetch_my_characters())
    assert made.character_id in [c.character_id for c in mine]
