"""``session.users``: public profiles (guest-capable), voices, follow/unfollow."""

from __future__ import annotations

from typing import Any

import pytest
from responses import matchers
from support import AUTH, NEO, PLUS, TOKEN, sent_json

from caiclient import errors
from caiclient.models import Character, PublicUser, Voice

PUBLIC_URL = f"{PLUS}/chat/user/public/"
VOICES_URL = f"{NEO}/multimodal/api/v1/voices/search"

PUBLIC_USER = {
    "username": "alice",
    "name": "Alice",
    "bio": "hi",
    "avatar_file_name": "uploaded/2025/1/1/abc.webp",
    "num_following": 3,
    "num_followers": 10,
    "subscription_type": "NONE",
    "characters": [
        {
            "external_id": "char123",
            "title": "A bot",
            "participant__name": "MyBot",
            "visibility": "PUBLIC",
            "greeting": "Hello",
            "avatar_file_name": "",
            "participant__num_interactions": 42,
            "user__username": "alice",
            "upvotes": 5,
        }
    ],
    "brand_new": True,
}


def assert_common_headers(call: Any, *, authorized: bool) -> None:
    headers = call.request.headers
    assert headers["User-Agent"].startswith("Mozilla/5.0")
    assert headers["Content-Type"] == "application/json"
    if authorized:
        assert headers["authorization"] == f"Token {TOKEN}"
    else:
        assert "authorization" not in {k.lower() for k in headers}


# ------------------------------------------------------------------ get


@pytest.mark.parametrize("who", ["session", "guest"])
def test_get(request, rsps, who):
    s = request.getfixturevalue(who)
    rsps.post(
        PUBLIC_URL,
        json={"public_user": PUBLIC_USER},
        match=[matchers.json_params_matcher({"username": "alice"})],
    )
    u = s.users.get("alice")
    assert isinstance(u, PublicUser)
    assert (u.username, u.name, u.bio) == ("alice", "Alice", "hi")
    assert u.avatar is not None and u.avatar.file_name == "uploaded/2025/1/1/abc.webp"
    assert (u.num_following, u.num_followers, u.subscription_type) == (3, 10, "NONE")
    assert len(u.characters) == 1 and isinstance(u.characters[0], Character)
    c = u.characters[0]
    assert (c.character_id, c.name, c.upvotes, c.num_interactions) == ("char123", "MyBot", 5, 42)
    assert c.avatar is None  # "" means no avatar
    assert u.raw["brand_new"] is True
    assert rsps.calls[0].request.method == "POST"
    assert_common_headers(rsps.calls[0], authorized=(who == "session"))


def test_get_defaults(session, rsps):
    rsps.post(PUBLIC_URL, json={"public_user": {"username": "bob", "characters": None}})
    u = session.users.get("bob")
    assert (u.name, u.bio, u.avatar, u.num_following, u.num_followers) == ("", "", None, 0, 0)
    assert u.characters == []
    assert u.subscription_type == "NONE"


def test_get_unknown_user_500_is_not_found(session, rsps):
    rsps.post(PUBLIC_URL, status=500, json={"error": "Internal Server Error"})
    with pytest.raises(errors.NotFound) as ei:
        session.users.get("nobody_here")
    assert ei.value.status == 500
    assert "nobody_here" in ei.value.message
    assert len(rsps.calls) == 1  # a POST answered with 500 is not retried


@pytest.mark.parametrize("answer", [{}, {"public_user": None}, {"public_user": {}}])
def test_get_empty_public_user_is_not_found(session, rsps, answer):
    rsps.post(PUBLIC_URL, json=answer)
    with pytest.raises(errors.NotFound):
        session.users.get("alice")


def test_get_other_5xx_stays_server_error(session, rsps):
    rsps.post(PUBLIC_URL, status=502, json={"error": "bad gateway"})
    with pytest.raises(errors.ServerError) as ei:
        session.users.get("alice")
    assert not isinstance(ei.value, errors.NotFound)
    assert ei.value.status == 502


def test_get_401_hides_token(session, rsps):
    rsps.post(PUBLIC_URL, status=401, json={"detail": "Invalid token."})
    with pytest.raises(errors.AuthenticationError) as ei:
        session.users.get("alice")
    assert TOKEN not in str(ei.value)
    assert TOKEN not in repr(ei.value)


# ------------------------------------------------------------------ voices


@pytest.mark.parametrize("who", ["session", "guest"])
def test_voices(request, rsps, who):
    s = request.getfixturevalue(who)
    rsps.get(
        VOICES_URL,
        json={
            "voices": [
                {
                    "id": "v-1",
                    "name": "Calm",
                    "visibility": "public",
                    "creatorInfo": {"id": "1", "username": "alice", "source": "user"},
                },
                {"id": "v-2"},
            ]
        },
        match=[matchers.query_param_matcher({"creatorInfo.username": "alice"})],
    )
    voices = s.users.voices("alice")
    assert [type(v) for v in voices] == [Voice, Voice]
    assert voices[0].voice_id == "v-1"
    assert voices[0].creator_username == "alice"
    assert voices[0].raw["creatorInfo"]["source"] == "user"
    assert (voices[1].name, voices[1].gender, voices[1].visibility) == ("", "neutral", "private")
    assert rsps.calls[0].request.method == "GET"
    assert_common_headers(rsps.calls[0], authorized=(who == "session"))


def test_voices_username_is_query_encoded(session, rsps):
    rsps.get(
        VOICES_URL,
        json={"voices": []},
        match=[matchers.query_param_matcher({"creatorInfo.username": "a&b=c"})],
    )
    assert session.users.voices("a&b=c") == []
    assert "a%26b%3Dc" in rsps.calls[0].request.url


def test_voices_missing_key_is_empty(guest, rsps):
    rsps.get(VOICES_URL, json={})
    assert guest.users.voices("alice") == []


# ------------------------------------------------------------------ follow / unfollow


@pytest.mark.parametrize("action", ["follow", "unfollow"])
def test_follow_unfollow(session, rsps, action):
    rsps.post(
        f"{PLUS}/chat/user/{action}/",
        json={"status": "OK"},
        match=[
            matchers.json_params_matcher({"username": "bob"}),
            matchers.header_matcher(AUTH),
        ],
    )
    assert getattr(session.users, action)("bob") is None
    assert sent_json(rsps.calls[0]) == {"username": "bob"}
    assert_common_headers(rsps.calls[0], authorized=True)


@pytest.mark.parametrize("action", ["follow", "unfollow"])
def test_follow_not_ok_is_action_failed(session, rsps, action):
    rsps.post(f"{PLUS}/chat/user/{action}/", json={"status": "NOT_OK", "error": "cannot do"})
    with pytest.raises(errors.ActionFailed) as ei:
        getattr(session.users, action)("bob")
    assert ei.value.message == "cannot do"
    assert ei.value.status == 200
    assert ei.value.path == f"/chat/user/{action}/"


@pytest.mark.parametrize("action", ["follow", "unfollow"])
def test_follow_guest_refused(guest, rsps, action):
    with pytest.raises(errors.AuthRequiredError):
        getattr(guest.users, action)("bob")
    assert len(rsps.calls) == 0


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize("method", ["get", "voices", "follow", "unfollow"])
@pytest.mark.parametrize("bad", ["", "  ", " alice", "ali\nce", None, 42])
def test_bad_username_refused_before_sending(session, rsps, method, bad):
    with pytest.raises(errors.ValidationError) as ei:
        getattr(session.users, method)(bad)
    assert isinstance(ei.value, ValueError)
    assert ei.value.field == "username"
    assert len(rsps.calls) == 0
