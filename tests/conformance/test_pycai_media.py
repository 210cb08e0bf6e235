"""PyCharacterAI 2.2.50 against the emulator: voices, TTS, images, avatars, ping (neo.md 2.5, 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import Driver
from PyCharacterAI.exceptions import FetchError

from caiclient.emulator import Emulator


def _public_voice(emu: Emulator) -> dict:
    return next(v for v in emu.seed_data["voices"] if v["visibility"] == "public")


def test_ping(cai: Driver) -> None:
    assert cai.run(cai.client.utils.ping()) is True


def test_voices_read(cai: Driver, emu: Emulator) -> None:
    seed = _public_voice(emu)
    found = cai.run(cai.client.utils.search_voices(seed["name"]))
    assert seed["id"] in [v.voice_id for v in found]
    voice = cai.run(cai.client.utils.fetch_voice(seed["id"]))
    assert (voice.voice_id, voice.name, voice.description) == (
        seed["id"],
        seed["name"],
        seed["description"],
    )
    assert voice.visibility == "public"
    with pytest.raises(FetchError):
        cai.run(cai.client.utils.fetch_voice("no-such-voice"))
    mine = cai.run(cai.client.account.fetch_my_voices())
    owned = {v["id"] for v in emu.seed_data["voices"] if v.get("owner") == "alice"}
    assert {v.voice_id for v in mine} == owned
    by_alice = cai.run(cai.client.user.fetch_user_voices("alice"))
    assert {v.voice_id for v in by_alice} <= owned
    assert all(v.creator_username == "alice" for v in by_alice)


def test_voice_upload_edit_delete(cai: Driver, emu: Emulator) -> None:
    utils: Any = cai.client.utils
    audio = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64
    voice = cai.run(utils.upload_voice(audio, "Conform", "A test voice", visibility="private"))
    assert voice.name == "Conform" and voice.visibility == "private"
    assert voice.voice_id in {v.voice_id for v in cai.run(cai.client.account.fetch_my_voices())}
    upload = [e for e in emu.log.http("/neo/multimodal/api/v1/voices") if e["method"] == "POST"][-1]
    assert audio in upload["body"]

    edited = cai.run(utils.edit_voice(voice, name="Conform2", description="New words",
                                      visibility="public"))
    assert (edited.name, edited.visibility) == ("Conform2", "public")
    # Client bug (neo.md 5.4): edit_voice validates the new description but sends the old one,
    # so the service (and the emulator, correctly) keeps the old description.
    assert edited.description == voice.description

    assert cai.run(utils.delete_voice(voice.voice_id)) is True
    with pytest.raises(FetchError):
        cai.run(utils.fetch_voice(voice.voice_id))


def test_character_voice_override(cai: Driver, emu: Emulator, character_id: str) -> None:
    seed = _public_voice(emu)
    assert cai.run(cai.client.account.set_voice(character_id, seed["id"])) is True
    settings = cai.run(cai.client.account.fetch_my_settings())
    assert settings["voiceOverrides"][character_id] == seed["id"]
    assert cai.run(cai.client.account.unset_voice(character_id)) is True
    settings = cai.run(cai.client.account.fetch_my_settings())
    assert not settings["voiceOverrides"].get(character_id)


def test_tts(cai: Driver, emu: Emulator, character_id: str) -> None:
    chat, _ = cai.run(cai.client.chat.create_chat(character_id, greeting=False))
    reply = cai.run(cai.client.chat.send_message(character_id, chat.chat_id, "say it aloud"))
    cand = reply.get_primary_candidate()
    voice_id = _public_voice(emu)["id"]
    args = (chat.chat_id, reply.turn_id, cand.candidate_id, voice_id)
    url = cai.run(cai.client.utils.generate_speech(*args, return_url=True))
    assert url.startswith(emu.url)  # the emulator hands back its own replay URL
    audio = cai.run(cai.client.utils.generate_speech(*args))
    assert isinstance(audio, bytes) and len(audio) > 100
    # An MP3 file, as the service's replayUrl is (the client's README saves it as .mp3).
    assert audio.startswith(b"ID3") or audio[:2] in (b"\xff\xfb", b"\xff\xf3")
    replay = [e for e in emu.log.http("/neo/multimodal/api/v1/memo/replay")][-1]
    assert replay["json"] == {
        "candidateId": cand.candidate_id,
        "roomId": chat.chat_id,
        "turnId": reply.turn_id,
        "voiceId": voice_id,
    }


def test_generate_image(cai: Driver, emu: Emulator) -> None:
    urls = cai.run(cai.client.utils.generate_image("a lighthouse at dusk"))
    assert len(urls) == 4 and len(set(urls)) == 4
    assert all(u.startswith(emu.url) for u in urls)


def test_upload_avatar(cai: Driver, emu: Emulator, tmp_path: Path) -> None:
    from caiclient.emulator.media import png

    image = tmp_path / "face.png"
    image.write_bytes(png("face"))
    # check_image=True also GETs the avatar from the CDN (neo.md 5.2 step 5).
    avatar = cai.run(cai.client.utils.upload_avatar(str(image), web_next_auth="wna-alice"))
    name = avatar.get_file_name()
    assert name
    assert emu.log.http("/cdn/i/400/static/avatars/" + name)
