"""Client methods for the routes other clients of the service use (issue 16).

End to end against the emulator (what the wire carries is checked in its
request log) and with ``responses`` for the shapes the emulator does not make.
"""

from __future__ import annotations

from typing import Any

import pytest
from responses import matchers
from support import PLUS, sent_json

import caiclient
from caiclient import errors
from caiclient.emulator import routes_compat
from caiclient.models import UserPage, UserSummary


@pytest.fixture
def s(cai_session: caiclient.Session) -> caiclient.Session:
    return cai_session


@pytest.fixture
def cid(cai_emulator: Any) -> str:
    return str(cai_emulator.character_ids[0])


# ------------------------------------------------------------------ discovery


def test_search_and_creators_use_neo_first(s: caiclient.Session, cai_emulator: Any) -> None:
    found = s.characters.search("Ada")
    assert found and found[0].name == "Ada"
    assert [c.username for c in s.characters.search_creators("car")] == ["carol"]
    paths = [e["path"] for e in cai_emulator.log.http()]
    assert "/neo/search/v1/character" in paths and "/neo/search/v1/creator" in paths
    assert not any("trpc" in p for p in paths)


def test_search_falls_back_to_trpc_when_neo_fails(s: caiclient.Session, cai_emulator: Any) -> None:
    cai_emulator.faults.http_errors("/neo/search/v1/character", [404])
    assert [c.name for c in s.characters.search("Ada")][:1] == ["Ada"]
    assert any("trpc/search.search" in e["path"] for e in cai_emulator.log.http())


def test_featured_uses_the_recommendation_route(s: caiclient.Session, cai_emulator: Any) -> None:
    assert s.characters.featured()
    assert cai_emulator.log.http()[-1]["path"] == "/neo/recommendation/v1/featured"


def test_trending_and_vote_counts(s: caiclient.Session, cai_emulator: Any, cid: str) -> None:
    assert s.characters.trending()[0].character_id
    s.characters.vote(cid, None)
    before = s.characters.vote_count(cid)
    s.characters.vote(cid, True)
    assert s.characters.vote_count(cid) == before + 1
    ids = cai_emulator.character_ids[:2]
    counts = s.characters.vote_counts(ids)
    assert set(counts) == set(ids) and counts[cid] == before + 1
    with pytest.raises(errors.NotFound):
        s.characters.vote_count("nope")


def test_voice_of_a_character(s: caiclient.Session, cid: str) -> None:
    assert s.characters.voice(cid) is None
    vid = s.voices.system()[0].voice_id
    s.characters.set_voice(cid, vid)
    assert s.characters.voice(cid) == vid
    s.characters.set_voice(cid, None)
    assert s.characters.voice(cid) is None


# ------------------------------------------------------------------ account and users


def test_muted_words(s: caiclient.Session, cai_emulator: Any) -> None:
    assert s.account.muted_words() == []
    assert s.account.set_muted_words(["spoilers", "homework", "spoilers"]) == [
        "spoilers",
        "homework",
    ]
    assert s.account.muted_words() == ["spoilers", "homework"]
    assert s.account.settings().muted_words == ["spoilers", "homework"]
    posted = cai_emulator.log.http("/plus/chat/user/update_settings/")[-1]["json"]
    assert posted["outputStylePreferences"]["bannedWords"] == ["spoilers", "homework"]
    assert "personaOverrides" in posted  # the whole document: nothing else is lost
    assert s.account.set_muted_words([]) == []


@pytest.mark.parametrize("bad", ["one", ["two words"], [""], [3], None])
def test_muted_words_bad_input_before_sending(s: caiclient.Session, cai_emulator: Any, bad) -> None:
    cai_emulator.log.clear()
    with pytest.raises(errors.ValidationError):
        s.account.set_muted_words(bad)
    assert cai_emulator.log.http() == []


def test_public_followers_and_following_page_by_page(
    s: caiclient.Session, cai_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes_compat, "FOLLOW_PAGE_SIZE", 1)
    first = s.users.followers_page("carol")
    assert isinstance(first, UserPage) and first.has_next_page and len(first.users) == 1
    second = s.users.followers_page("carol", 2)
    assert not second.has_next_page
    everyone = list(s.users.followers("carol"))
    assert all(isinstance(u, UserSummary) for u in everyone)
    assert {u.username for u in everyone} == {"alice", "bob"}
    assert [u.username for u in s.users.following("alice")] == ["carol"]
    carol = s.users.following_page("alice").users[0]
    assert carol.avatar is not None and carol.bio
    pages = [e["json"]["pageParam"] for e in cai_emulator.log.http("/plus/chat/user/public/")]
    assert pages[:2] == [1, 2]


def test_public_followers_bad_input_and_guests(guest: caiclient.Session, rsps: Any) -> None:
    with pytest.raises(errors.AuthRequiredError):
        guest.users.followers("carol")
    with pytest.raises(errors.AuthRequiredError):
        guest.users.following_page("carol")
    assert len(rsps.calls) == 0


@pytest.mark.parametrize("page", [0, -1, "2", 1.5, True])
def test_public_followers_bad_page(session: caiclient.Session, rsps: Any, page: Any) -> None:
    with pytest.raises(errors.ValidationError):
        session.users.followers_page("carol", page)
    assert len(rsps.calls) == 0


def test_public_followers_missing_fields(session: caiclient.Session, rsps: Any) -> None:
    rsps.post(
        f"{PLUS}/chat/user/public/following/",
        match=[matchers.json_params_matcher({"username": "x", "pageParam": 1})],
        json={},
    )
    page = session.users.following_page("x")
    assert page.users == [] and page.has_next_page is False


# ------------------------------------------------------------------ media and chats


def test_generate_chat_image(s: caiclient.Session) -> None:
    url = s.media.generate_chat_image("a red fox in the snow")
    assert s.http.download(url).startswith(b"\x89PNG")
    with pytest.raises(errors.ValidationError):
        s.media.generate_chat_image("")


def test_generate_chat_image_without_url(session: caiclient.Session, rsps: Any) -> None:
    rsps.post(f"{PLUS}/chat/generate-image/", json={"image_rel_path": ""})
    with pytest.raises(errors.ParseError):
        session.media.generate_chat_image("x")
    assert sent_json(rsps.calls[0]) == {"image_description": "x"}


def test_histories_v2_first_then_the_old_route(session: caiclient.Session, rsps: Any) -> None:
    rsps.post(f"{PLUS}/chat/character/histories_v2/", status=404, json={"detail": "Not found."})
    rsps.post(f"{PLUS}/chat/character/histories/", json={"histories": [{"external_id": "h1"}]})
    assert [h.history_id for h in session.chats.histories("c")] == ["h1"]


def test_histories_v2_on_the_emulator(s: caiclient.Session, cai_emulator: Any, cid: str) -> None:
    assert s.chats.histories(cid)
    assert cai_emulator.log.http()[-1]["path"] == "/plus/chat/character/histories_v2/"


def test_manual_turn_then_reply(s: caiclient.Session, cai_emulator: Any, cid: str) -> None:
    chat, _ = s.chats.create(cid, greeting=False)
    mine = s.chats.add_turn(cid, chat.chat_id, "I open the door.")
    assert mine.author_is_human and mine.text == "I open the door." and mine.is_final
    assert [c["command"] for c in cai_emulator.log.ws()][-1] == "create_turn"
    assert [t.turn_id for t in s.chats.turns(chat.chat_id)] == [mine.turn_id]
    reply = s.chats.reply(cid, chat.chat_id)
    assert not reply.author_is_human and reply.is_final and reply.text
    sent = cai_emulator.log.ws("create_and_generate_turn")[-1]
    assert sent["payload"]["turn"]["candidates"][0]["raw_content"] == ""
    history = list(s.chats.turns(chat.chat_id))
    assert [t.turn_id for t in history] == [reply.turn_id, mine.turn_id]
    with s.chats.stream_reply(cid, chat.chat_id) as stream:
        snaps = list(stream)
    assert snaps[-1].is_final and snaps[-1].turn_id != reply.turn_id


def test_manual_turn_bad_input_before_sending(s: caiclient.Session, cai_emulator: Any) -> None:
    with pytest.raises(errors.ValidationError):
        s.chats.add_turn("c", "x", "")
    with pytest.raises(errors.ValidationError):
        s.chats.stream_reply("c", "")
    assert cai_emulator.log.ws() == []


def test_manual_turn_unknown_chat(s: caiclient.Session, cid: str) -> None:
    with pytest.raises(errors.NotFound):  # an unknown chat is NotFound (issue 10)
        s.chats.add_turn(cid, "00000000-0000-4000-8000-000000000000", "hi")


def test_regenerated_turn_frames_and_history_agree(s: caiclient.Session, cid: str) -> None:
    chat, _ = s.chats.create(cid)
    first = s.chats.send(cid, chat.chat_id, "hello")
    again = s.chats.regenerate(cid, chat.chat_id, first.turn_id)
    assert [c.candidate_id for c in again.candidates][1:] == [first.primary_candidate_id]
    assert (
        again.text != first.text and again.primary_candidate_id == again.candidates[0].candidate_id
    )
    listed = next(t for t in s.chats.turns(chat.chat_id) if t.turn_id == first.turn_id)
    assert [(c.candidate_id, c.text) for c in listed.candidates] == [
        (c.candidate_id, c.text) for c in again.candidates
    ]
    assert listed.text == again.text


# ------------------------------------------------------------------ avatars (issue 14)


def test_avatar_url_of_an_emulator_session_points_at_its_cdn(
    s: caiclient.Session, cai_emulator: Any, cid: str
) -> None:
    char = s.characters.get(cid)
    assert char.avatar is not None
    url = char.avatar.url(200)
    assert url.startswith(cai_emulator.url + "/cdn/i/200/static/avatars/")
    assert s.http.download(url).startswith(b"\x89PNG")
    me = s.account.me()
    assert me.avatar is None or me.avatar.url().startswith(cai_emulator.url + "/cdn/")
    listed = s.characters.featured()
    assert all(c.avatar.cdn == s.endpoints.cdn for c in listed if c.avatar is not None)
    # an explicit CDN still wins, and models read outside a session use the service's
    assert char.avatar.url(cdn="https://cdn.example").startswith("https://cdn.example/i/400/")
    from caiclient.models import Avatar, Character

    bare = Character.from_dict({"external_id": "x", "avatar_file_name": "a.webp"})
    assert bare.avatar is not None and bare.avatar.url().startswith("https://characterai.io/")
    assert Avatar(file_name="a.webp") == bare.avatar  # the CDN is not part of equality


# ------------------------------------------------------------------ both shapes


@pytest.mark.parametrize(
    "cls,old,new",
    [
        ("Chat", {"chat_id": "c", "preview_turns": []}, {"chat_id": "c"}),
        ("TurnPage", {"turns": [], "meta": {"next_token": None}}, {}),
        ("Settings", {"outputStylePreferences": {"bannedWords": []}}, {}),
        ("UserPage", {"users": [], "has_next_page": False}, {}),
        ("PublicUser", {"username": "u", "characters": []}, {"username": "u"}),
    ],
)
def test_models_read_empty_lists_present_or_omitted(cls: str, old: dict, new: dict) -> None:
    """Neo omits empty repeated fields (protobuf-style JSON); older answers send []."""
    from caiclient import models

    model = getattr(models, cls)
    assert model.from_dict(old) == model.from_dict(new)


def test_recent_with_one_character_and_no_chat_is_empty(
    s: caiclient.Session, cai_emulator: Any
) -> None:
    other = cai_emulator.character_ids[-1]
    assert s.chats.recent(other) == [] and s.chats.latest(other) is None
    assert s.chats.list(other) == []
