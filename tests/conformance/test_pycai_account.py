"""PyCharacterAI 2.2.50 against the emulator: account, settings, personas, users (neo.md 2.1, 2.2)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Driver
from PyCharacterAI.exceptions import FetchError

from caiclient.emulator import Emulator


def _seed_user(emu: Emulator, username: str) -> dict:
    return next(u for u in emu.seed_data["users"] if u["username"] == username)


def test_fetch_me(cai: Driver, emu: Emulator) -> None:
    me = cai.run(cai.client.account.fetch_me())
    seed = _seed_user(emu, "alice")
    assert me.username == "alice"
    assert me.account_id == seed["id"]  # an integer, as the service sends it (neo.md 1.7)
    # neo.md 4.2: name/bio read from user.user (and user.user.account): the emulator puts them in both.
    assert me.name == seed["name"]
    assert me.bio == seed["bio"]
    assert cai.client.get_account_id() == str(seed["id"])


def test_settings_followers_following(cai: Driver, emu: Emulator) -> None:
    settings = cai.run(cai.client.account.fetch_my_settings())
    assert settings["default_persona_id"] == ""
    assert isinstance(settings.get("personaOverrides"), dict)
    assert cai.run(cai.client.account.fetch_my_following()) == emu.seed_data["following"]["alice"]
    followers = cai.run(cai.client.account.fetch_my_followers())
    assert isinstance(followers, list)


def test_follow_and_unfollow(cai: Driver) -> None:
    assert cai.run(cai.client.user.follow_user("bob")) is True
    assert "bob" in cai.run(cai.client.account.fetch_my_following())
    assert cai.run(cai.client.user.unfollow_user("bob")) is True
    assert "bob" not in cai.run(cai.client.account.fetch_my_following())


def test_public_user(cai: Driver, emu: Emulator) -> None:
    bob = cai.run(cai.client.user.fetch_user("bob"))
    assert bob is not None and bob.username == "bob"
    assert bob.name == _seed_user(emu, "bob")["name"]
    # neo.md 2.2: the service answers 500 for an unknown user; the client maps that to None.
    assert cai.run(cai.client.user.fetch_user("no_such_user_here")) is None


def test_my_characters_and_upvoted(cai: Driver, emu: Emulator) -> None:
    mine = cai.run(cai.client.account.fetch_my_characters())
    ids = {c["external_id"] for c in emu.seed_data["characters"] if c.get("owner") == "alice"}
    assert {c.character_id for c in mine} == ids
    upvoted = cai.run(cai.client.account.fetch_my_upvoted_characters())
    assert [c.character_id for c in upvoted] == emu.seed_data["upvoted"]["alice"]
    assert all(c.name for c in upvoted)


def test_edit_account(cai: Driver, emu: Emulator) -> None:
    assert cai.run(cai.client.account.edit_account("Alicia", "alicia", bio="new bio")) is True
    me = cai.run(cai.client.account.fetch_me())
    assert (me.username, me.name, me.bio) == ("alicia", "Alicia", "new bio")
    assert emu.state.user("alicia") is not None


def test_personas_round_trip(cai: Driver, emu: Emulator, character_id: str) -> None:
    acc: Any = cai.client.account
    seeded = {p["external_id"] for p in emu.seed_data["personas"] if p["owner"] == "alice"}
    assert {p.persona_id for p in cai.run(acc.fetch_my_personas())} == seeded

    created = cai.run(acc.create_persona("Tester", "I test things."))
    assert created.name == "Tester" and created.definition == "I test things."
    fetched = cai.run(acc.fetch_my_persona(created.persona_id))
    assert (fetched.persona_id, fetched.name) == (created.persona_id, "Tester")
    assert created.persona_id in {p.persona_id for p in cai.run(acc.fetch_my_personas())}

    edited = cai.run(acc.edit_persona(created.persona_id, name="Tester Two"))
    assert edited.name == "Tester Two" and edited.definition == "I test things."

    assert cai.run(acc.set_default_persona(created.persona_id)) is True
    assert cai.run(acc.set_persona(character_id, created.persona_id)) is True
    settings = cai.run(acc.fetch_my_settings())
    assert settings["default_persona_id"] == created.persona_id
    assert settings["personaOverrides"][character_id] == created.persona_id
    # Client quirk (neo.md 6.2): unsetting stores "" for the character, keeping the key.
    assert cai.run(acc.unset_persona(character_id)) is True
    assert cai.run(acc.unset_default_persona()) is True
    settings = cai.run(acc.fetch_my_settings())
    assert settings["personaOverrides"].get(character_id, "") == ""
    assert settings["default_persona_id"] == ""

    assert cai.run(acc.delete_persona(created.persona_id)) is True
    assert created.persona_id not in {p.persona_id for p in cai.run(acc.fetch_my_personas())}
    with pytest.raises(FetchError):
        cai.run(acc.fetch_my_persona(created.persona_id))
