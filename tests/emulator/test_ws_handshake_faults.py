"""Faults that refuse websocket handshakes (issue 16): always, without the rollout cookie,
without a browser User-Agent. HTTP keeps accepting the same token."""

from __future__ import annotations

import pytest
import websocket

from caiclient.emulator.cli import _apply_faults, build_parser
from caiclient.emulator.faults import Faults
from caiclient.transport.http import USER_AGENT


def _open(emu, cookie_extra: str = "", user_agent: str = USER_AGENT) -> websocket.WebSocket:
    return websocket.create_connection(
        emu.ws_url,
        cookie=f"HTTP_AUTHORIZATION=Token {emu.token}{cookie_extra}",
        header=[f"User-Agent: {user_agent}"],
        timeout=5,
    )


def _refused(emu, **kw) -> bool:
    try:
        ws = _open(emu, **kw)
    except websocket.WebSocketBadStatusException as exc:
        assert exc.status_code == 403
        return True
    ws.close()
    return False


def test_site_root_sets_the_rollout_cookie(api):
    r = api.get("/web/", token=None)
    assert r.status_code == 200
    assert r.cookies.get("edge_rollout", "").isdigit()


def test_refuse_always_while_http_accepts_the_token(api, emu):
    emu.faults.refuse_ws_handshake("always")
    assert _refused(emu)
    assert _refused(emu, cookie_extra="; edge_rollout=60")
    assert api.get("/plus/chat/user/").status_code == 200
    assert any(e.get("reason") == "refused" for e in emu.log.events())
    emu.faults.clear()
    assert not _refused(emu)


def test_refuse_without_the_rollout_cookie(emu):
    emu.faults.refuse_ws_handshake("no_rollout")
    assert _refused(emu)
    assert not _refused(emu, cookie_extra="; edge_rollout=60")
    assert not _refused(emu, cookie_extra='; edge_rollout="60"')


def test_refuse_without_a_browser_user_agent(emu):
    emu.faults.refuse_ws_handshake("no_browser_ua")
    assert _refused(emu, user_agent="Python/3.12 websocket-client")
    assert _refused(emu, user_agent="Character.AI")
    assert not _refused(emu)


def test_refuse_a_number_of_times(emu):
    emu.faults.refuse_ws_handshake("always", times=2)
    assert _refused(emu) and _refused(emu)
    assert not _refused(emu)


def test_refusal_arguments_are_checked():
    f = Faults()
    with pytest.raises(ValueError):
        f.refuse_ws_handshake("sometimes")
    with pytest.raises(ValueError):
        f.refuse_ws_handshake("always", times=0)


def test_bad_token_is_still_refused_first(emu):
    emu.faults.refuse_ws_handshake("no_rollout")
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(
            emu.ws_url, cookie="HTTP_AUTHORIZATION=Token nope; edge_rollout=1", timeout=5
        )
    # the bad token did not consume a counted refusal or log a fault refusal
    assert not any(e.get("reason") for e in emu.log.events())


def test_cli_option(emu):
    args = build_parser().parse_args(["--fault-ws-handshake", "no_rollout"])
    _apply_faults(emu, args)
    assert _refused(emu)
    assert not _refused(emu, cookie_extra="; edge_rollout=60")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--fault-ws-handshake", "sometimes"])
