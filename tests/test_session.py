"""Session: guest vs token, from_env, validation, reprs, lifecycle."""

from __future__ import annotations

import pytest
import responses
from support import TOKEN

import caiclient
from caiclient import errors


def test_guest_and_authenticated() -> None:
    g = caiclient.Session()
    assert g.is_guest and not g.is_authenticated
    a = caiclient.Session(token=TOKEN)
    assert a.is_authenticated and not a.is_guest


@pytest.mark.parametrize("value", [f"Token {TOKEN}", f"  {TOKEN}\n", f"token {TOKEN}"])
def test_token_is_cleaned(value: str) -> None:
    assert caiclient.Session(token=value).credentials.token == TOKEN


@pytest.mark.parametrize("value", ["abc def", 'ab"c', "a;b", "x\ny"])
def test_bad_token_is_refused_without_echoing_it(value: str) -> None:
    with pytest.raises(errors.ValidationError) as info:
        caiclient.Session(token=value)
    assert value not in str(info.value)
    assert info.value.field == "token"


def test_empty_token_means_guest() -> None:
    assert caiclient.Session(token="  ").is_guest


def test_web_next_auth_accepts_the_cookie_pair() -> None:
    s = caiclient.Session(token=TOKEN, web_next_auth="web-next-auth=abc.def")
    assert s.credentials.web_next_auth == "abc.def"
    assert "abc.def" not in repr(s.credentials)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timeout": 0},
        {"timeout": (1, -1)},
        {"timeout": "10"},
        {"timeout": (1, 2, 3)},
        {"max_retries": -1},
        {"max_retries": True},
        {"endpoints": "https://neo.character.ai"},
    ],
)
def test_constructor_validation(kwargs: dict) -> None:
    with pytest.raises(errors.ValidationError):
        caiclient.Session(token=TOKEN, **kwargs)


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAI_TOKEN", TOKEN)
    monkeypatch.setenv("CAI_WEB_NEXT_AUTH", "wna")
    monkeypatch.setenv("CAI_EMULATOR_URL", "http://127.0.0.1:8765")
    s = caiclient.Session.from_env()
    assert s.credentials.token == TOKEN and s.credentials.web_next_auth == "wna"
    assert s.endpoints.neo == "http://127.0.0.1:8765/neo"
    monkeypatch.delenv("CAI_TOKEN")
    monkeypatch.delenv("CAI_EMULATOR_URL")
    g = caiclient.Session.from_env()
    assert g.is_guest and g.endpoints == caiclient.Endpoints()
    assert caiclient.Session.from_env(token=TOKEN).is_authenticated


def test_repr_never_shows_the_token() -> None:
    s = caiclient.Session(token=TOKEN, web_next_auth="secretcookie")
    for text in (repr(s), str(s), repr(s.credentials), repr(s.chats), repr(s.http.credentials)):
        assert TOKEN not in text and "secretcookie" not in text
    assert "authenticated" in repr(s)
    assert "guest" in repr(caiclient.Session())


def test_resources_are_cached_and_named() -> None:
    s = caiclient.Session(token=TOKEN)
    for name in ("account", "personas", "users", "characters", "chats", "voices", "media"):
        assert getattr(s, name) is getattr(s, name)


def test_guest_chatting_needs_an_account() -> None:
    with responses.RequestsMock() as rsps:  # nothing registered: any request would fail
        g = caiclient.Session()
        with pytest.raises(errors.AuthRequiredError):
            g.chats.send("char", "chat", "hi")
        with pytest.raises(errors.AuthRequiredError):
            g.chats.create("char")
        with pytest.raises(errors.AuthRequiredError):
            _ = g.account_id
        assert len(rsps.calls) == 0


def test_context_manager_closes() -> None:
    with caiclient.Session(token=TOKEN) as s:
        assert not s.closed
    assert s.closed
    assert "closed" in repr(s)


def test_avatar_url_uses_the_session_endpoints() -> None:
    s = caiclient.Session(endpoints=caiclient.Endpoints.for_emulator("http://127.0.0.1:1"))
    assert (
        s.avatar_url("a.webp", 80)
        == "http://127.0.0.1:1/cdn/i/80/static/avatars/a.webp?webp=true&anim=0"
    )
    with pytest.raises(errors.ValidationError):
        s.avatar_url("")


def test_account_id_is_fetched_once(rsps: responses.RequestsMock) -> None:
    from support import PLUS, account_body

    rsps.get(f"{PLUS}/chat/user/", json=account_body(user_id=42))
    s = caiclient.Session(token=TOKEN)
    assert s.account_id == "42"
    assert s.account_id == "42"
    assert len(rsps.calls) == 1
