"""``session.account``: URLs, headers, bodies, parsing, validation and guest refusal."""

from __future__ import annotations

from typing import Any, Callable, Dict

import pytest
from responses import matchers
from support import AUTH, PLUS, TOKEN, account_body, sent_json

from caiclient import errors
from caiclient.models import Account, Character, Settings, Voice
from caiclient.resources.account import Account as AccountResource

ME_URL = f"{PLUS}/chat/user/"
SETTINGS_URL = f"{PLUS}/chat/user/settings/"
UPDATE_SETTINGS_URL = f"{PLUS}/chat/user/update_settings/"


def assert_api_headers(call: Any, *, json_body: bool = False) -> None:
    headers = call.request.headers
    assert headers["authorization"] == f"Token {TOKEN}"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("Mozilla/5.0")
    assert "python-requests" not in headers["User-Agent"]
    if not json_body:
        assert not call.request.body


CHAR = {
    "external_id": "char123",
    "title": "A friendly bot",
    "participant__name": "MyBot",
    "visibility": "PUBLIC",
    "greeting": "Hello!",
    "upvotes": 1200,
    "user__username": "alice",
    "participant__num_interactions": 50000,
    "avatar_file_name": "uploaded/2025/1/1/abc.webp",
    "brand_new_key": {"x": 1},
}


# ------------------------------------------------------------------ me


def test_me_parses_both_nesting_levels(session, rsps):
    rsps.get(ME_URL, json=account_body(), match=[matchers.header_matcher(AUTH)])
    me = session.account.me()
    assert isinstance(me, Account)
    assert me.account_id == 123456789
    assert me.username == "alice"
    assert me.name == "Alice"
    assert me.first_name == "Alice"
    assert me.bio == "hi"
    assert me.email == "alice@example.com"
    assert me.is_human is True
    assert me.avatar is not None and me.avatar.file_name == "uploaded/a.webp"
    assert me.avatar_type == "UPLOADED"
    assert me.raw["user"]["username"] == "alice"
    assert len(rsps.calls) == 1
    assert_api_headers(rsps.calls[0])
    assert rsps.calls[0].request.method == "GET"


def test_me_defaults_for_missing_and_null_fields(session, rsps):
    rsps.get(
        ME_URL,
        json={"user": {"user": {"id": 7, "username": None, "account": None}, "bio": None}},
    )
    me = session.account.me()
    assert me.account_id == 7
    assert me.username == ""
    assert me.name == ""
    assert me.bio == ""
    assert me.avatar is None
    assert me.avatar_type == "DEFAULT"
    assert me.is_human is True
    assert me.email is None
    assert me.first_name is None


def test_account_id_is_fetched_once_and_cached(session, rsps):
    rsps.get(ME_URL, json=account_body(user_id=42))
    assert session.account_id == "42"
    assert session.account_id == "42"
    assert len(rsps.calls) == 1


# ------------------------------------------------------------------ settings


def test_settings(session, rsps):
    doc = {
        "default_persona_id": "pers1",
        "personaOverrides": {"char1": "pers2"},
        "voiceOverrides": {"char1": "v-1"},
        "enable_tts": False,
        "future": 1,
    }
    rsps.get(SETTINGS_URL, json=doc, match=[matchers.header_matcher(AUTH)])
    s = session.account.settings()
    assert isinstance(s, Settings)
    assert s.default_persona_id == "pers1"
    assert s.persona_overrides == {"char1": "pers2"}
    assert s.voice_overrides == {"char1": "v-1"}
    assert s.enable_tts is False
    assert s.raw["future"] == 1
    assert_api_headers(rsps.calls[0])


def test_settings_defaults(session, rsps):
    rsps.get(SETTINGS_URL, json={"default_persona_id": "", "personaOverrides": None})
    s = session.account.settings()
    assert s.default_persona_id is None
    assert s.persona_overrides == {}
    assert s.voice_overrides == {}
    assert s.enable_tts is None


def test_update_settings_posts_the_whole_modified_document(session, rsps):
    doc = {
        "default_persona_id": "",
        "enable_tts": False,
        "personaOverrides": {"c1": "p1"},
        "voiceOverrides": {"c1": "v1"},
    }
    expected = dict(doc, enable_tts=True)
    rsps.get(SETTINGS_URL, json=doc, match=[matchers.header_matcher(AUTH)])
    rsps.post(
        UPDATE_SETTINGS_URL,
        json={"success": True, "settings": expected},
        match=[matchers.json_params_matcher(expected), matchers.header_matcher(AUTH)],
    )

    def change(d: Dict[str, Any]) -> None:
        d["enable_tts"] = True

    s = session.account.update_settings(change)
    assert s.enable_tts is True
    assert s.persona_overrides == {"c1": "p1"}
    assert [c.request.method for c in rsps.calls] == ["GET", "POST"]
    assert_api_headers(rsps.calls[1], json_body=True)


def test_update_settings_without_settings_in_answer_returns_what_was_sent(session, rsps):
    rsps.get(SETTINGS_URL, json={"default_persona_id": "p0"})
    rsps.post(UPDATE_SETTINGS_URL, json={"success": True})
    s = session.account.update_settings(lambda d: d.update(default_persona_id="p9"))
    assert s.default_persona_id == "p9"


def test_update_settings_success_false_is_action_failed(session, rsps):
    rsps.get(SETTINGS_URL, json={})
    rsps.post(UPDATE_SETTINGS_URL, json={"success": False, "error": "nope"})
    with pytest.raises(errors.ActionFailed) as ei:
        session.account.update_settings(lambda d: None)
    assert ei.value.message == "nope"
    assert ei.value.path == "/chat/user/update_settings/"


@pytest.mark.parametrize("bad", [None, {"enable_tts": True}, "x"])
def test_update_settings_needs_a_function(session, rsps, bad):
    with pytest.raises(errors.ValidationError) as ei:
        session.account.update_settings(bad)
    assert ei.value.field == "change"
    assert len(rsps.calls) == 0


# ------------------------------------------------------------------ followers / following


@pytest.mark.parametrize("which", ["followers", "following"])
@pytest.mark.parametrize(
    "payload,expected",
    [
        (["bob", "carol"], ["bob", "carol"]),
        ([{"username": "bob", "name": "Bob"}, {"username": "carol"}], ["bob", "carol"]),
        (["bob", {"username": "carol"}, {"name": "no username"}, 3, None], ["bob", "carol"]),
        (None, []),
    ],
)
def test_followers_and_following(session, rsps, which, payload, expected):
    rsps.get(
        f"{PLUS}/chat/user/{which}/", json={which: payload}, match=[matchers.header_matcher(AUTH)]
    )
    assert getattr(session.account, which)() == expected
    assert_api_headers(rsps.calls[0])


@pytest.mark.parametrize("which", ["followers", "following"])
def test_followers_missing_key_is_empty(session, rsps, which):
    rsps.get(f"{PLUS}/chat/user/{which}/", json={})
    assert getattr(session.account, which)() == []


# ------------------------------------------------------------------ characters / voices


def test_my_characters(session, rsps):
    rsps.get(
        f"{PLUS}/chat/characters/",
        json={"characters": [CHAR, {"external_id": "c2"}]},
        match=[
            matchers.query_param_matcher({"scope": "user"}),
            matchers.header_matcher(AUTH),
        ],
    )
    chars = session.account.characters()
    assert [type(c) for c in chars] == [Character, Character]
    c = chars[0]
    assert c.character_id == "char123"
    assert c.name == "MyBot"
    assert c.title == "A friendly bot"
    assert c.upvotes == 1200
    assert c.num_interactions == 50000
    assert c.author_username == "alice"
    assert c.avatar is not None and c.avatar.file_name == "uploaded/2025/1/1/abc.webp"
    assert c.raw["brand_new_key"] == {"x": 1}
    d = chars[1]
    assert (d.name, d.title, d.greeting, d.avatar, d.upvotes, d.author_username) == (
        "",
        "",
        "",
        None,
        None,
        None,
    )
    assert_api_headers(rsps.calls[0])


def test_upvoted_characters(session, rsps):
    rsps.get(
        f"{PLUS}/chat/user/characters/upvoted/",
        json={"characters": [CHAR]},
        match=[matchers.header_matcher(AUTH)],
    )
    chars = session.account.upvoted_characters()
    assert [c.character_id for c in chars] == ["char123"]
    assert_api_headers(rsps.calls[0])


@pytest.mark.parametrize("method", ["characters", "upvoted_characters"])
def test_character_lists_missing_key_is_empty(session, rsps, method):
    url = (
        f"{PLUS}/chat/characters/"
        if method == "characters"
        else f"{PLUS}/chat/user/characters/upvoted/"
    )
    rsps.get(url, json={})
    assert getattr(session.account, method)() == []


def test_my_voices(session, rsps):
    voice = {
        "id": "v-123",
        "name": "Calm",
        "description": "A calm voice",
        "gender": "neutral",
        "visibility": "public",
        "previewAudioURI": "https://example.invalid/preview.mp3",
        "previewText": "Good day!",
        "creatorInfo": {"id": "123456789", "source": "user", "username": "alice"},
        "internalStatus": "active",
        "lastUpdateTime": "2025-01-01T12:00:00.123456Z",
    }
    rsps.get(
        "https://neo.character.ai/multimodal/api/v1/voices/user",
        json={"voices": [voice, {"id": "v-2", "creatorInfo": None}]},
        match=[matchers.header_matcher(AUTH)],
    )
    voices = session.account.voices()
    assert [type(v) for v in voices] == [Voice, Voice]
    v = voices[0]
    assert v.voice_id == "v-123"
    assert v.name == "Calm"
    assert v.creator_username == "alice"
    assert v.creator_id == "123456789"
    assert v.preview_audio_url == "https://example.invalid/preview.mp3"
    assert v.last_update_time is not None and v.last_update_time.year == 2025
    assert v.raw["internalStatus"] == "active"
    w = voices[1]
    assert (w.name, w.gender, w.visibility, w.creator_username, w.last_update_time) == (
        "",
        "neutral",
        "private",
        None,
        None,
    )
    assert_api_headers(rsps.calls[0])


# ------------------------------------------------------------------ update (A1)


def _register_update(rsps, body: Dict[str, Any], after: Dict[str, Any]) -> None:
    rsps.get(ME_URL, json=account_body())
    rsps.post(
        f"{PLUS}/chat/user/update/",
        json={"status": "OK"},
        match=[matchers.json_params_matcher(body), matchers.header_matcher(AUTH)],
    )
    rsps.get(ME_URL, json=after)


def test_update_merges_with_current_account(session, rsps):
    # account_body(): name Alice, username alice, bio hi, avatar uploaded/a.webp
    _register_update(
        rsps,
        {
            "avatar_type": "UPLOADED",
            "bio": "new bio",
            "name": "Alice",
            "username": "alice",
            "avatar_rel_path": "uploaded/a.webp",
        },
        account_body(),
    )
    me = session.account.update(bio="new bio")
    assert isinstance(me, Account)
    assert [c.request.method for c in rsps.calls] == ["GET", "POST", "GET"]
    assert_api_headers(rsps.calls[1], json_body=True)
    # A1 key order as the reference lists it.
    assert list(sent_json(rsps.calls[1])) == [
        "avatar_type",
        "bio",
        "name",
        "username",
        "avatar_rel_path",
    ]


def test_update_all_fields(session, rsps):
    _register_update(
        rsps,
        {
            "avatar_type": "UPLOADED",
            "bio": "",
            "name": "Bob Builder",
            "username": "bob",
            "avatar_rel_path": "uploaded/2025/1/1/new.webp",
        },
        account_body(username="bob"),
    )
    me = session.account.update(
        name="Bob Builder", username="bob", bio="", avatar_rel_path="uploaded/2025/1/1/new.webp"
    )
    assert me.username == "bob"


def test_update_empty_avatar_resets_to_default(session, rsps):
    _register_update(
        rsps,
        {"avatar_type": "DEFAULT", "bio": "hi", "name": "Alice", "username": "alice"},
        account_body(),
    )
    session.account.update(avatar_rel_path="")
    assert "avatar_rel_path" not in sent_json(rsps.calls[1])


def test_update_not_ok_is_action_failed(session, rsps):
    rsps.get(ME_URL, json=account_body())
    rsps.post(
        f"{PLUS}/chat/user/update/",
        json={"status": "NOT_OK", "error": "username taken"},
    )
    with pytest.raises(errors.ActionFailed) as ei:
        session.account.update(username="bob")
    assert ei.value.message == "username taken"
    assert "username taken" in str(ei.value)
    assert ei.value.status == 200
    assert len(rsps.calls) == 2  # no re-read after a failure


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"name": "A"}, "name"),
        ({"name": "x" * 51}, "name"),
        ({"name": 12}, "name"),
        ({"username": "a"}, "username"),
        ({"username": "u" * 21}, "username"),
        ({"username": b"ab"}, "username"),
        ({"bio": "b" * 501}, "bio"),
        ({"bio": 5}, "bio"),
        ({"avatar_rel_path": 1}, "avatar_rel_path"),
    ],
)
def test_update_validation_before_sending(session, rsps, kwargs, field):
    with pytest.raises(errors.ValidationError) as ei:
        session.account.update(**kwargs)
    assert isinstance(ei.value, ValueError)
    assert ei.value.field == field
    assert len(rsps.calls) == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "Al"},
        {"name": "x" * 50},
        {"username": "al"},
        {"username": "u" * 20},
        {"bio": "b" * 500},
    ],
)
def test_update_accepts_limits(session, rsps, kwargs):
    body = {"avatar_type": "UPLOADED", "bio": "hi", "name": "Alice", "username": "alice"}
    body.update(kwargs)
    body["avatar_rel_path"] = "uploaded/a.webp"
    _register_update(rsps, body, account_body())
    session.account.update(**kwargs)


# ------------------------------------------------------------------ errors


def test_401_is_authentication_error_without_the_token(session, rsps):
    rsps.get(ME_URL, status=401, json={"detail": "Invalid token."})
    with pytest.raises(errors.AuthenticationError) as ei:
        session.account.me()
    exc = ei.value
    assert exc.status == 401
    assert exc.path == "/chat/user/"
    assert TOKEN not in str(exc)
    assert TOKEN not in repr(exc)
    assert TOKEN not in repr(exc.args)
    assert len(rsps.calls) == 1  # a 401 is not retried


def test_session_repr_hides_token(session):
    assert TOKEN not in repr(session)
    assert TOKEN not in repr(session.credentials)
    assert TOKEN not in repr(session.account)


# ------------------------------------------------------------------ guests

GUEST_CALLS: Dict[str, Callable[[Any], Any]] = {
    "me": lambda a: a.me(),
    "settings": lambda a: a.settings(),
    "update": lambda a: a.update(bio="x"),
    "followers": lambda a: a.followers(),
    "following": lambda a: a.following(),
    "characters": lambda a: a.characters(),
    "upvoted_characters": lambda a: a.upvoted_characters(),
    "voices": lambda a: a.voices(),
    "update_settings": lambda a: a.update_settings(lambda d: None),
    "muted_words": lambda a: a.muted_words(),
    "set_muted_words": lambda a: a.set_muted_words(["spoilers"]),
}


@pytest.mark.parametrize("name", sorted(GUEST_CALLS))
def test_guest_is_refused_before_sending(guest, rsps, name):
    with pytest.raises(errors.AuthRequiredError):
        GUEST_CALLS[name](guest.account)
    assert len(rsps.calls) == 0


def test_guest_account_id_is_refused(guest, rsps):
    with pytest.raises(errors.AuthRequiredError):
        _ = guest.account_id
    assert len(rsps.calls) == 0


def test_all_public_methods_are_covered_for_guests():
    public = {n for n in dir(AccountResource) if not n.startswith("_")}
    assert public == set(GUEST_CALLS)
