"""Session(impersonate=...): the errors a user gets before anything is sent (no curl_cffi needed).

The end-to-end tests through curl_cffi live in tests/impersonate/ (run by .ci/run
after installing the ``impersonate`` extra).
"""

from __future__ import annotations

import sys

import pytest
from support import TOKEN

import caiclient
from caiclient import errors
from caiclient.aio import Client


@pytest.fixture
def no_curl_cffi(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import curl_cffi`` fail, as on a machine without the extra."""
    for name in list(sys.modules):
        if name == "curl_cffi" or name.startswith("curl_cffi."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "curl_cffi", None)


def test_missing_extra_names_the_install_command(no_curl_cffi: None) -> None:
    with pytest.raises(errors.ExtraNotInstalled) as info:
        caiclient.Session(TOKEN, impersonate="chrome")
    err = info.value
    assert isinstance(err, ImportError) and isinstance(err, errors.CaiError)
    assert err.extra == "impersonate"
    assert 'pip install "caiclient[impersonate]"' in str(err)
    assert "curl_cffi" in str(err)
    assert TOKEN not in str(err)


def test_missing_extra_from_the_async_client_too(no_curl_cffi: None) -> None:
    with pytest.raises(errors.ExtraNotInstalled):
        Client(TOKEN, impersonate="chrome")


@pytest.mark.parametrize("other", ["http", "ws_connect"])
def test_impersonate_conflicts_with_a_custom_stack(other: str) -> None:
    kwargs = {other: object()}
    with pytest.raises(errors.ValidationError) as info:
        caiclient.Session(TOKEN, impersonate="chrome", **kwargs)
    assert info.value.field == "impersonate"
    assert "http=" in str(info.value)


@pytest.mark.parametrize("value", [123, "", b"chrome", True])
def test_impersonate_must_be_a_browser_name(value: object, no_curl_cffi: None) -> None:
    # Checked before curl_cffi is even imported.
    with pytest.raises(errors.ValidationError) as info:
        caiclient.Session(TOKEN, impersonate=value)  # type: ignore[arg-type]
    assert info.value.field == "impersonate"


def test_without_impersonate_nothing_changes() -> None:
    s = caiclient.Session(TOKEN)
    assert s.impersonate is None
    s.close()


def test_a_user_supplied_session_keeps_its_cookie_jar_even_empty() -> None:
    # The site's cookies (edge_rollout) land in the jar of the session that fetched them;
    # the handshake reads the transport's jar, so it must be that one (an empty jar is falsy).
    import requests

    mine = requests.Session()
    s = caiclient.Session(TOKEN, http=mine)
    assert s.http.cookies is mine.cookies
    mine.cookies.set("edge_rollout", "7", domain="character.ai")
    assert [c.name for c in s.http.cookies] == ["edge_rollout"]
    s.close()
