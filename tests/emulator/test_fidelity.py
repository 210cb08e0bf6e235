"""The emulator behaves like the service as its clients show it (issue 16), over raw HTTP."""

from __future__ import annotations

import json

import pytest
import requests

from caiclient.emulator.app import RequestLog

SEED_CHAT = "0c5a7e10-5eed-4000-8000-00000000a1c0"


def _routes(emu) -> list:
    """(method, path formatter) of every route the emulator serves."""
    from caiclient.emulator.app import _route_paths, build_app

    return [(m, p) for m, p, _ in _route_paths(build_app(emu.ctx))]


def test_every_route_is_served_with_and_without_the_trailing_slash(emu):
    routes = set(_routes(emu))
    checked = 0
    for method, path in routes:
        if path.startswith(("/cdn/", "/neo/ws")) or path in ("/web", "/web/"):
            continue
        other = path[:-1] if path.endswith("/") else path + "/"
        assert (method, other) in routes, f"{method} {path} has no {other!r} twin"
        checked += 1
    assert checked > 100


@pytest.mark.parametrize(
    "path",
    [
        f"/neo/turns/{SEED_CHAT}",
        f"/neo/turns/{SEED_CHAT}/",
        f"/neo/chat/{SEED_CHAT}",
        "/neo/chats/recent",
        "/plus/chat/user",
        "/plus/chat/user/settings",
        "/neo/multimodal/api/v1/voices/system/",
        "/neo/recommendation/v1/featured/",
    ],
)
def test_both_slash_forms_answer_the_same(api, path):
    a = api.get(path)
    b = api.get(path[:-1] if path.endswith("/") else path + "/")
    assert a.status_code == b.status_code == 200
    assert a.json().keys() == b.json().keys()


def test_beta_host_serves_the_plus_routes(api, emu):
    me = api.get("/beta/chat/user/").json()
    assert me["user"]["user"]["username"] == "alice"
    files = {"image": ("image.png", b"\x89PNG\r\n\x1a\nfake", "image/png")}
    r = api.http.post(
        emu.url + "/beta/chat/upload-image/",
        headers={"authorization": f"Token {emu.token}"},
        files=files,
        timeout=5,
    )
    assert r.status_code == 200 and r.json()["status"] == "OK"
    assert api.get(f"/cdn/i/400/static/user/{r.json()['value']}", token=None).status_code == 200
    # errors keep the plus shape
    r = api.get("/beta/chat/user/", token="wrong")
    assert r.status_code == 401 and "detail" in r.json()


def test_empty_lists_are_omitted_protobuf_style(api, emu):
    # bob's character has no chat with alice: {} (CAINode reads a missing chats as "none")
    other = emu.character_ids[-1]
    assert api.get(f"/neo/chats/recent/{other}").json() == {}
    assert api.get(f"/neo/chats/recent/{other}", token="other").json() == {}
    assert api.get(f"/neo/chats/?character_ids={other}").json() == {}
    assert api.get("/neo/chats/recent/", token="other").json().get("chats") != []


@pytest.mark.parametrize(
    "method,path",
    [
        ("POST", "/plus/chat/persona/create/"),
        ("POST", "/plus/chat/user/update_settings/"),
        ("POST", "/neo/character/v1/get_character_info"),
        ("POST", "/neo/turn/pin"),
        ("POST", "/web/api/trpc/user.uploadAvatar"),
    ],
)
def test_json_nested_1000_deep_is_a_400_not_a_500(api, method, path):
    body = "[" * 1000 + "]" * 1000
    r = api.req(method, path, data=body)
    assert r.status_code == 400, r.text
    assert r.json()  # a JSON error body in the host's shape
    r = api.req(method, path, data='{"a": ' + "{" * 999 + "}" * 999 + "}")
    assert r.status_code in (200, 400), r.text
    assert api.get("/neo/ping").json() == {"status": "pong"}  # still serving


def test_json_nested_in_trpc_input_is_a_400(api):
    q = "[" * 1000 + "]" * 1000
    r = api.get("/web/api/trpc/search.search", token=None, params={"batch": "1", "input": q})
    assert r.status_code == 400


def test_request_log_is_a_bounded_ring():
    log = RequestLog(maxlen=3, max_body=10)
    for i in range(5):
        log.append({"kind": "event", "message": str(i)})
    assert [e["message"] for e in log.entries()] == ["2", "3", "4"]
    assert len(log) == 3 and log.dropped == 2 and log[-1]["message"] == "4"
    assert [e["message"] for e in log[1:]] == ["3", "4"]
    with pytest.raises(ValueError):
        RequestLog(maxlen=0)


def test_request_log_keeps_sizes_not_big_bodies(api, emu):
    emu.log.clear()
    big = json.dumps({"name": "x" * (emu.log.max_body + 10)})
    api.post("/plus/chat/persona/create/", data=big)
    entry = emu.log.http("/plus/chat/persona/create/")[-1]
    assert entry["size"] == len(big.encode()) and entry["truncated"] is True
    assert len(entry["body"]) == emu.log.max_body and entry["json"] is None
    api.post("/plus/chat/persona/create/", {"name": "small"})
    entry = emu.log.http("/plus/chat/persona/create/")[-1]
    assert entry["json"] == {"name": "small"} and "truncated" not in entry


def test_request_log_keeps_sizes_of_big_websocket_frames(api, emu):
    ws = api.ws()
    emu.log.clear()
    text = "y" * (emu.log.max_body + 1)
    rid = api.send(ws, "create_and_generate_turn", api.turn_payload(SEED_CHAT, text))
    assert api.recv(ws)["command"] == "neo_error"  # too long a message
    (logged,) = emu.log.ws("create_and_generate_turn")
    assert logged["truncated"] is True and logged["request_id"] == rid
    assert logged["size"] > emu.log.max_body and "payload" not in logged
    ws.close()


def test_request_log_default_bound(emu):
    assert emu.log.maxlen == RequestLog.DEFAULT_MAXLEN and emu.log.max_body > 0


def test_raw_requests_without_auth_on_a_slashless_route(emu):
    r = requests.get(emu.url + f"/neo/turns/{SEED_CHAT}", timeout=5)
    assert r.status_code == 401 and r.json()["command"] == "neo_error"


def test_a_custom_request_log_given_before_start():
    from caiclient.emulator import Emulator

    emu = Emulator()
    emu.log = RequestLog(maxlen=2, max_body=5)
    with emu:
        for _ in range(3):
            requests.get(emu.url + "/neo/ping", timeout=5)
        assert len(emu.log) == 2 and emu.log.dropped == 1
