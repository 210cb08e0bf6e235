"""Endpoints: service defaults, the emulator mapping, which hosts get the token."""

from __future__ import annotations

import pytest

from caiclient import Endpoints, errors


def test_defaults_are_the_service() -> None:
    e = Endpoints()
    assert e.plus == "https://plus.character.ai"
    assert e.neo == "https://neo.character.ai"
    assert e.ws == "wss://neo.character.ai/ws/"
    assert e.web == "https://character.ai"
    assert e.cdn == "https://characterai.io"
    assert e.beta == "https://beta.character.ai"


def test_for_emulator_maps_prefixes() -> None:
    e = Endpoints.for_emulator("http://127.0.0.1:8765/")
    assert e.plus == "http://127.0.0.1:8765/plus"
    assert e.neo == "http://127.0.0.1:8765/neo"
    assert e.web == "http://127.0.0.1:8765/web"
    assert e.cdn == "http://127.0.0.1:8765/cdn"
    assert e.ws == "ws://127.0.0.1:8765/neo/ws/"
    assert e.beta == "http://127.0.0.1:8765/beta"
    assert Endpoints.for_emulator("https://emu.test").ws == "wss://emu.test/neo/ws/"


@pytest.mark.parametrize("bad", ["127.0.0.1:8765", "ftp://x", "", "http://"])
def test_for_emulator_rejects_bad_urls(bad: str) -> None:
    with pytest.raises(errors.ValidationError):
        Endpoints.for_emulator(bad)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://plus.character.ai/chat/user/", True),
        ("https://neo.character.ai/chats/", True),
        ("https://character.ai/api/trpc/search.search", True),
        ("https://beta.character.ai/chat/upload-image/", True),
        ("https://beta.character.ai.evil.example/chat/", False),
        ("https://characterai.io/i/400/static/avatars/a.webp", False),
        ("https://neo.character.ai.evil.example/chats/", False),
        ("https://evil.example/?u=https://neo.character.ai/", False),
        ("https://storage.googleapis.com/audio.mp3", False),
    ],
)
def test_only_api_hosts_get_the_token(url: str, expected: bool) -> None:
    assert Endpoints().is_service_url(url) is expected


def test_emulator_cdn_does_not_get_the_token() -> None:
    e = Endpoints.for_emulator("http://127.0.0.1:9")
    assert e.is_service_url("http://127.0.0.1:9/neo/chats/")
    assert not e.is_service_url("http://127.0.0.1:9/cdn/audio/x.wav")
    assert not e.is_service_url("http://127.0.0.1:9/neonatal/")


def test_avatar_url() -> None:
    assert (
        Endpoints().avatar_url("uploaded/a.webp", size=200, animated=True)
        == "https://characterai.io/i/200/static/avatars/uploaded/a.webp?webp=true&anim=1"
    )


def test_beta_on_the_emulator_is_served_like_plus(cai_emulator) -> None:
    import caiclient

    e = Endpoints.for_emulator(cai_emulator.url)
    assert e.host_of(e.beta + "/chat/user/") == "beta"
    with caiclient.Session(cai_emulator.token, endpoints=e, timeout=(5, 5)) as s:
        me = s.request("GET", e.beta + "/chat/user/")  # the token goes to beta too
    assert me["user"]["user"]["username"] == "alice"
