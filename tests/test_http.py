"""The HTTP transport: headers, auth, retries, error mapping (``responses``, no network)."""

from __future__ import annotations

import threading
from typing import Any, Dict, List

import pytest
import requests
import responses
from responses import matchers
from support import CDN, NEO, PLUS, TOKEN, Sleeps

import caiclient
from caiclient import errors
from caiclient.transport.http import Response, RetryPolicy, interpret_response, parse_retry_after

CF_HTML = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
    "<body><div id='challenge-platform'></div></body></html>"
)


def test_default_headers_and_token(
    session: caiclient.Session, rsps: responses.RequestsMock
) -> None:
    rsps.get(f"{NEO}/ping/", json={"status": "pong"})
    assert session.ping() is True
    # ping needs no account: no token sent
    assert "authorization" not in rsps.calls[0].request.headers
    rsps.get(f"{PLUS}/chat/user/settings/", json={})
    session.account.settings()
    h = rsps.calls[1].request.headers
    assert h["authorization"] == f"Token {TOKEN}"
    assert "Mozilla/5.0" in h["User-Agent"]
    assert h["Origin"] == "https://character.ai"


def test_get_retried_on_503_with_backoff(session, rsps, sleeps: Sleeps) -> None:
    url = f"{PLUS}/chat/user/settings/"
    rsps.get(url, status=503, json={"error": "busy"})
    rsps.get(url, status=502, body="bad gateway")
    rsps.get(url, json={"default_persona_id": "p1"})
    assert session.account.settings().default_persona_id == "p1"
    assert len(rsps.calls) == 3
    assert len(sleeps) == 2
    assert 0.5 * 0.75 <= sleeps[0] <= 0.5 * 1.25
    assert 1.0 * 0.75 <= sleeps[1] <= 1.0 * 1.25


def test_retries_are_bounded(session, rsps, sleeps: Sleeps) -> None:
    url = f"{PLUS}/chat/user/settings/"
    for _ in range(3):
        rsps.get(url, status=503, json={"error": "still busy"})
    with pytest.raises(errors.ServerError) as info:
        session.account.settings()
    assert info.value.status == 503
    assert info.value.message == "still busy"
    assert len(rsps.calls) == 3 and len(sleeps) == 2


def test_post_not_retried_on_5xx(session, rsps, sleeps: Sleeps) -> None:
    rsps.post(f"{NEO}/chat/c1/copy", status=503, json={"command": "neo_error", "comment": "x"})
    with pytest.raises(errors.ServerError):
        session.chats.copy("c1", "t1")
    assert len(rsps.calls) == 1 and sleeps == []


def test_429_retried_even_for_post_after_retry_after(session, rsps, sleeps: Sleeps) -> None:
    url = f"{NEO}/chat/c1/copy"
    rsps.post(url, status=429, headers={"Retry-After": "3"}, json={"detail": "slow down"})
    rsps.post(url, json={"new_chat_id": "c2"})
    assert session.chats.copy("c1", "t1") == "c2"
    assert sleeps == [3.0]


def test_long_retry_after_is_not_waited(session, rsps, sleeps: Sleeps) -> None:
    rsps.get(f"{NEO}/chats/recent/", status=429, headers={"Retry-After": "3600"}, json={})
    with pytest.raises(errors.RateLimited) as info:
        session.chats.recent()
    assert info.value.retry_after == 3600.0
    assert sleeps == []


def test_connection_error_retried_for_get(session, rsps, sleeps: Sleeps) -> None:
    url = f"{NEO}/chats/recent/"
    rsps.get(url, body=requests.exceptions.ConnectionError("reset"))
    rsps.get(url, json={"chats": []})
    assert session.chats.recent() == []
    assert len(sleeps) == 1


def test_read_timeout_of_post_is_not_retried(session, rsps, sleeps: Sleeps) -> None:
    rsps.post(f"{NEO}/chat/c1/copy", body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(errors.Timeout):
        session.chats.copy("c1", "t1")
    assert sleeps == []


def test_connect_timeout_is_retried_even_for_post(session, rsps, sleeps: Sleeps) -> None:
    url = f"{NEO}/chat/c1/copy"
    rsps.post(url, body=requests.exceptions.ConnectTimeout("no route"))
    rsps.post(url, json={"new_chat_id": "c2"})
    assert session.chats.copy("c1", "t1") == "c2"
    assert len(sleeps) == 1


def test_network_errors_never_escape_as_requests_errors(session, rsps) -> None:
    rsps.post(f"{NEO}/chat/c1/copy", body=requests.exceptions.ConnectionError("boom"))
    with pytest.raises(errors.NetworkError) as info:
        session.chats.copy("c1", "t1")
    assert not isinstance(info.value, requests.exceptions.RequestException)


@pytest.mark.parametrize(
    ("html", "status", "kind"),
    [
        (CF_HTML, 403, "challenge"),
        (
            "<html><title>Attention Required! | Cloudflare</title>Sorry, you have been blocked</html>",
            403,
            "access_denied",
        ),
        ("<html><body>You are now in line. Waiting room</body></html>", 503, "waiting_room"),
        ("<html><body>hello</body></html>", 200, "html"),
    ],
)
def test_html_pages_are_blocked_errors(session, rsps, html: str, status: int, kind: str) -> None:
    url = f"{PLUS}/chat/user/settings/"
    for _ in range(3 if status == 503 else 1):
        rsps.get(
            url,
            status=status,
            body=html,
            content_type="text/html",
            headers={"cf-ray": "8f00ba11-AMS"},
        )
    with pytest.raises(errors.BlockedError) as info:
        session.account.settings()
    err = info.value
    assert err.kind == kind
    assert err.status == status
    assert err.request_id == "8f00ba11-AMS"
    assert "impersonat" in err.message
    assert TOKEN not in str(err) and TOKEN not in repr(err)


def test_html_404_is_not_found(session, rsps) -> None:
    rsps.get(f"{NEO}/chat/c1/", status=404, body="<html>not here</html>", content_type="text/html")
    with pytest.raises(errors.NotFound):
        session.chats.get("c1")


def test_invalid_json_is_parse_error(session, rsps) -> None:
    rsps.get(f"{NEO}/chats/recent/", body='{"chats": [', content_type="application/json")
    with pytest.raises(errors.ParseError):
        session.chats.recent()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"command": "neo_error", "comment": "chat not found"}, "chat not found"),
        ({"status": "NOT_OK", "error": "nope"}, "nope"),
        ({"error": {"message": "deep"}}, "deep"),
        ({"detail": "Invalid token."}, "Invalid token."),
        ({"message": "plain"}, "plain"),
        ({"errors": [{"message": "first"}]}, "first"),
    ],
)
def test_service_message_shapes(body: Dict[str, Any], message: str) -> None:
    import json

    with pytest.raises(errors.NotFound) as info:
        interpret_response(
            "get",
            "https://neo.character.ai/chat/x/?q=1",
            Response(404, {"x-request-id": "rid-1"}, json.dumps(body).encode()),
        )
    assert info.value.message == message
    assert info.value.path == "/chat/x/"
    assert info.value.method == "GET"
    assert str(info.value) == f"[404 GET /chat/x/] {message} (request_id=rid-1)"


def test_401_carries_no_token(session, rsps) -> None:
    rsps.get(f"{PLUS}/chat/user/", status=401, json={"detail": "Invalid token."})
    with pytest.raises(errors.AuthenticationError) as info:
        session.account.me()
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)
    assert TOKEN not in repr(session) and TOKEN not in repr(session.credentials)


def test_empty_2xx_body_is_none(session, rsps) -> None:
    rsps.patch(f"{NEO}/chat/c1/archive", body="")
    assert session.chats.archive("c1") is None


def test_download_sends_no_token_even_to_a_service_host(session, rsps) -> None:
    rsps.get(f"{CDN}/i/400/static/avatars/a.webp", body=b"RIFF")
    rsps.get(f"{NEO}/audio/x.mp3", body=b"ID3")
    assert session.http.download(f"{CDN}/i/400/static/avatars/a.webp") == b"RIFF"
    assert session.http.download(f"{NEO}/audio/x.mp3") == b"ID3"
    for call in rsps.calls:
        assert "authorization" not in call.request.headers


def test_escape_hatch(session, rsps) -> None:
    rsps.post(
        f"{NEO}/some/new/thing", json={"ok": 1}, match=[matchers.json_params_matcher({"a": 1})]
    )
    assert session.request("POST", "neo:/some/new/thing", json={"a": 1}) == {"ok": 1}
    assert rsps.calls[0].request.headers["authorization"] == f"Token {TOKEN}"
    with pytest.raises(errors.ValidationError):
        session.request("GET", "/relative")
    with pytest.raises(errors.ValidationError):
        session.request("GET /x", "neo:/x")


def test_user_supplied_http_object_is_used() -> None:
    calls: List[Dict[str, Any]] = []

    class FakeResponse:
        status_code = 200
        headers = {"content-type": "application/json"}
        content = b'{"chats": []}'

    class FakeHTTP:
        cookies = None

        def request(self, method: str, url: str, **kw: Any) -> FakeResponse:
            calls.append({"method": method, "url": url, **kw})
            return FakeResponse()

    with caiclient.Session(token=TOKEN, http=FakeHTTP()) as s:
        assert s.chats.recent() == []
    assert calls[0]["method"] == "GET"
    assert calls[0]["url"] == f"{NEO}/chats/recent/"
    assert calls[0]["headers"]["authorization"] == f"Token {TOKEN}"
    assert calls[0]["timeout"] == (10.0, 60.0)


def test_cookie_jar_shared_across_threads(session, rsps) -> None:
    rsps.get(
        f"{NEO}/chats/recent/",
        json={"chats": []},
        headers={"Set-Cookie": "edge_rollout=60; Path=/; Domain=.character.ai"},
    )
    rsps.get(f"{NEO}/chats/recent/", json={"chats": []})
    session.chats.recent()
    t = threading.Thread(target=session.chats.recent)
    t.start()
    t.join()
    assert "edge_rollout=60" in rsps.calls[1].request.headers.get("Cookie", "")


def test_parse_retry_after() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0


def test_retry_policy_validation() -> None:
    with pytest.raises(errors.ValidationError):
        RetryPolicy(max_retries=-1)
    p = RetryPolicy(backoff=1, max_backoff=4, jitter=0, rand=lambda: 0.5)
    assert [p.delay(i) for i in range(4)] == [1, 2, 4, 4]
    assert p.delay(0, retry_after=7) == 7


def test_closed_session_refuses_calls(rsps) -> None:
    s = caiclient.Session(token=TOKEN)
    s.close()
    s.close()
    assert s.closed
    with pytest.raises(errors.CaiError):
        s.chats.recent()


def test_network_error_text_has_no_query_string(session, rsps) -> None:
    rsps.post(
        f"{NEO}/chat/c1/copy",
        body=requests.exceptions.ConnectionError(
            "Max retries exceeded with url: /chat/c1/copy?secret=1&x=2 (Caused by Refused)"
        ),
    )
    with pytest.raises(errors.NetworkError) as info:
        session.chats.copy("c1", "t1")
    assert "/chat/c1/copy" in str(info.value)
    assert "secret" not in str(info.value)
