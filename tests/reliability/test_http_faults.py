"""The HTTP fault matrix: every status the service uses, HTML pages, broken bodies, timeouts.

Against the emulator (real sockets) where it can make the fault, with
``responses`` where it cannot (429 without Retry-After, connection errors,
HTML on a 5xx, exact request ids). Each case asserts the typed error, its
status / message / request id, and how many times the request was sent:
retries happen only for idempotent calls (and for a 429, which the service
refused without acting on it).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, Tuple

import pytest
import requests
import responses
from reliability_support import Sleeps, emu_session

import caiclient
from caiclient import errors
from caiclient.transport.http import RetryPolicy

TOKEN = "tok3n-for-reliability-tests-0123456789"

# Each call: (how to make it, the emulator path prefix it hits, idempotent?)
Call = Tuple[Callable[[caiclient.Session, str], Any], str, bool]
CALLS: Dict[str, Call] = {
    "chats.recent": (lambda s, cid: s.chats.recent(), "/neo/chats/recent/", True),
    "account.me": (lambda s, cid: s.account.me(), "/plus/chat/user/", True),
    "characters.get": (
        lambda s, cid: s.characters.get(cid),
        "/neo/character/v1/get_character_info",
        True,
    ),
    "characters.vote": (
        lambda s, cid: s.characters.vote(cid, True),
        "/plus/chat/character/vote/",
        False,
    ),
}

# status -> (exception class, the emulator's message for it on each host)
STATUSES: Dict[int, type] = {
    400: errors.BadRequest,
    401: errors.AuthenticationError,
    403: errors.PermissionDenied,
    404: errors.NotFound,
    409: errors.Conflict,
    422: errors.BadRequest,
    429: errors.RateLimited,
    500: errors.ServerError,
    502: errors.ServerError,
    503: errors.ServerError,
    504: errors.ServerError,
}
RETRIED = {429, 500, 502, 503, 504}
MESSAGES = {
    400: "Bad Request",
    401: "Authentication credentials were not provided.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    409: "Conflict",
    422: "Error",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def s(cai_emulator: Any, sleeps: Sleeps) -> Iterator[caiclient.Session]:
    with emu_session(cai_emulator, sleep=sleeps) as session:
        session.account_id  # noqa: B018  (warm up: later requests are the ones under test)
        yield session


@pytest.fixture
def cid(cai_emulator: Any) -> str:
    return str(cai_emulator.character_ids[0])


def _sent(emu: Any, prefix: str) -> int:
    return len(emu.log.http(prefix))


@pytest.mark.parametrize("status", sorted(STATUSES))
@pytest.mark.parametrize("name", sorted(CALLS))
def test_status_matrix(
    s: caiclient.Session, cai_emulator: Any, cid: str, sleeps: Sleeps, name: str, status: int
) -> None:
    call, prefix, idempotent = CALLS[name]
    before = _sent(cai_emulator, prefix)
    cai_emulator.faults.http_errors(prefix, [status] * 3, retry_after=2 if status == 429 else None)
    with pytest.raises(STATUSES[status]) as info:
        call(s, cid)
    err = info.value
    assert type(err) is STATUSES[status]
    assert err.status == status
    assert err.path.startswith(prefix) and err.method in ("GET", "POST")
    assert err.request_id and err.request_id in str(err)
    assert f"[{status} {err.method} {err.path}]" in str(err)
    if status == 429:
        assert err.retry_after == 2.0
        assert err.message in ("Too many requests", "Request was throttled.")
    else:
        assert err.message == MESSAGES[status]
    retried = status in RETRIED and (idempotent or status == 429)
    assert _sent(cai_emulator, prefix) - before == (3 if retried else 1)
    if retried:
        assert len(sleeps) == 2
        if status == 429:
            assert sleeps == [2.0, 2.0]  # Retry-After is honoured
    else:
        assert sleeps == []


@pytest.mark.parametrize("name", sorted(CALLS))
def test_transient_errors_are_retried_to_success_only_when_idempotent(
    s: caiclient.Session, cai_emulator: Any, cid: str, name: str
) -> None:
    call, prefix, idempotent = CALLS[name]
    before = _sent(cai_emulator, prefix)
    cai_emulator.faults.http_errors(prefix, [503, 502])
    if idempotent:
        call(s, cid)
        assert _sent(cai_emulator, prefix) - before == 3
    else:
        with pytest.raises(errors.ServerError) as info:
            call(s, cid)
        assert info.value.status == 503
        assert _sent(cai_emulator, prefix) - before == 1


def test_rate_limit_is_retried_to_success_for_any_call(
    s: caiclient.Session, cai_emulator: Any, cid: str, sleeps: Sleeps
) -> None:
    prefix = CALLS["characters.vote"][1]
    cai_emulator.faults.http_errors(prefix, [429, 429], retry_after=1)
    s.characters.vote(cid, True)
    assert _sent(cai_emulator, prefix) == 3 and sleeps == [1.0, 1.0]


def test_retry_after_too_long_is_not_waited_for(
    cai_emulator: Any, cid: str, sleeps: Sleeps
) -> None:
    with emu_session(cai_emulator, sleep=sleeps) as s:
        cai_emulator.faults.http_errors("/neo/chats/recent/", [429, 429, 429], retry_after=3600)
        with pytest.raises(errors.RateLimited) as info:
            s.chats.recent()
    assert info.value.retry_after == 3600.0 and sleeps == []
    assert _sent(cai_emulator, "/neo/chats/recent/") == 1


@pytest.mark.parametrize(
    "kind, status", [("challenge", 403), ("access_denied", 403), ("waiting_room", 503)]
)
@pytest.mark.parametrize("name", sorted(CALLS))
def test_html_pages_are_blocked_errors(
    s: caiclient.Session, cai_emulator: Any, cid: str, name: str, kind: str, status: int
) -> None:
    call, prefix, idempotent = CALLS[name]
    before = _sent(cai_emulator, prefix)
    cai_emulator.faults.html_block(prefix, times=3, kind=kind)
    with pytest.raises(errors.BlockedError) as info:
        call(s, cid)
    err = info.value
    assert err.kind == kind and err.status == status and err.request_id
    assert "JSON" not in type(err).__name__ and "curl_cffi" in err.message
    assert isinstance(err.body, str) and "<html" in err.body.lower()
    retried = status == 503 and idempotent
    assert _sent(cai_emulator, prefix) - before == (3 if retried else 1)


@pytest.mark.parametrize("kind", ["truncated", "invalid"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_malformed_bodies_are_parse_errors(
    s: caiclient.Session, cai_emulator: Any, cid: str, name: str, kind: str
) -> None:
    call, prefix, _ = CALLS[name]
    before = _sent(cai_emulator, prefix)
    cai_emulator.faults.malformed(prefix, kind)
    with pytest.raises(errors.ParseError) as info:
        call(s, cid)
    assert "not valid JSON" in str(info.value) and prefix in str(info.value)
    assert _sent(cai_emulator, prefix) - before == 1  # a 200 is never retried


def test_empty_bodies(s: caiclient.Session, cai_emulator: Any) -> None:
    cai_emulator.faults.malformed("/plus/chat/user/", "empty")
    with pytest.raises(errors.ParseError):
        s.account.me()
    cai_emulator.faults.malformed("/neo/chats/recent/", "empty")
    assert s.chats.recent() == []  # a list endpoint with no body: no chats


@pytest.mark.parametrize("name", sorted(CALLS))
def test_latency_past_the_timeout(cai_emulator: Any, cid: str, name: str) -> None:
    call, prefix, idempotent = CALLS[name]
    with emu_session(cai_emulator, timeout=(5.0, 0.25)) as s:
        s.account_id  # noqa: B018
        before = _sent(cai_emulator, prefix)
        cai_emulator.faults.latency(0.75)
        with pytest.raises(errors.Timeout) as info:
            call(s, cid)
        cai_emulator.faults.latency(0)
        assert prefix.rstrip("/").rsplit("/", 1)[-1] in str(info.value)
        assert _sent(cai_emulator, prefix) - before == (3 if idempotent else 1)
        call(s, cid)  # and the session still works afterwards


# ------------------------------------------------------------ with responses

NEO = "https://neo.character.ai"
PLUS = "https://plus.character.ai"


@pytest.fixture
def rs(sleeps: Sleeps) -> Iterator[caiclient.Session]:
    with caiclient.Session(TOKEN, retry=RetryPolicy(max_retries=2, sleep=sleeps)) as session:
        yield session


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_429_without_retry_after_backs_off(
    rs: caiclient.Session, rsps: responses.RequestsMock, sleeps: Sleeps
) -> None:
    rsps.get(NEO + "/chats/recent/", status=429, json={"detail": "slow down"},
             headers={"cf-ray": "8f00aa11bb22cc33-AMS"})  # fmt: skip
    with pytest.raises(errors.RateLimited) as info:
        rs.chats.recent()
    err = info.value
    assert err.retry_after is None and err.message == "slow down"
    assert err.request_id == "8f00aa11bb22cc33-AMS"
    assert str(err) == "[429 GET /chats/recent/] slow down (request_id=8f00aa11bb22cc33-AMS)"
    assert len(rsps.calls) == 3
    assert len(sleeps) == 2 and 0 < sleeps[0] < sleeps[1]  # exponential backoff


def test_retry_after_as_an_http_date(
    rs: caiclient.Session, rsps: responses.RequestsMock, sleeps: Sleeps
) -> None:
    rsps.get(
        NEO + "/chats/recent/", status=429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
    )
    rsps.get(NEO + "/chats/recent/", json={"chats": []})
    assert rs.chats.recent() == []
    assert sleeps == [0.0]  # a date in the past: retry at once


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_html_error_page_on_a_5xx(
    rs: caiclient.Session, rsps: responses.RequestsMock, status: int
) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>"
    rsps.get(NEO + "/chats/recent/", status=status, body=page, content_type="text/html",
             headers={"x-request-id": "req-1"})  # fmt: skip
    with pytest.raises((errors.ServerError, errors.BlockedError)) as info:
        rs.chats.recent()
    err = info.value
    assert err.status == status and err.request_id == "req-1"
    assert "HTML" in err.message and len(rsps.calls) == 3


def test_408_is_retried_for_idempotent_calls(
    rs: caiclient.Session, rsps: responses.RequestsMock
) -> None:
    rsps.get(NEO + "/chats/recent/", status=408, json={})
    rsps.get(NEO + "/chats/recent/", json={"chats": []})
    assert rs.chats.recent() == [] and len(rsps.calls) == 2


@pytest.mark.parametrize("status", [400, 404, 500])
def test_error_status_with_an_empty_body(
    rs: caiclient.Session, rsps: responses.RequestsMock, status: int
) -> None:
    rsps.post(PLUS + "/chat/character/vote/", status=status, body=b"")
    with pytest.raises(errors.error_class_for_status(status)) as info:
        rs.characters.vote("char_1", True)
    assert info.value.status == status and info.value.body is None
    assert info.value.message == type(info.value).default_message
    assert len(rsps.calls) == 1  # a POST is never retried on a 5xx


def test_a_200_that_says_it_failed(rs: caiclient.Session, rsps: responses.RequestsMock) -> None:
    rsps.post(PLUS + "/chat/character/vote/", json={"status": "NOT_OK", "error": "cannot vote"})
    with pytest.raises(errors.ActionFailed) as info:
        rs.characters.vote("char_1", True)
    assert info.value.status == 200 and info.value.message == "cannot vote"


@pytest.mark.parametrize("idempotent", [True, False])
def test_connection_errors(
    rs: caiclient.Session, rsps: responses.RequestsMock, idempotent: bool
) -> None:
    boom = requests.exceptions.ConnectionError("Connection reset by peer")
    if idempotent:
        rsps.get(NEO + "/chats/recent/", body=boom)
        with pytest.raises(errors.NetworkError) as info:
            rs.chats.recent()
        assert len(rsps.calls) == 3
    else:
        rsps.post(PLUS + "/chat/character/vote/", body=boom)
        with pytest.raises(errors.NetworkError) as info:
            rs.characters.vote("char_1", True)
        assert len(rsps.calls) == 1  # it may have been sent: not repeated
    assert not isinstance(info.value, requests.exceptions.RequestException)
    # Not chained: a requests error carries the prepared request and its headers (the token).
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_read_timeout_from_the_transport(
    rs: caiclient.Session, rsps: responses.RequestsMock
) -> None:
    rsps.post(
        PLUS + "/chat/character/vote/", body=requests.exceptions.ReadTimeout("read timed out")
    )
    with pytest.raises(errors.Timeout):
        rs.characters.vote("char_1", True)
    assert len(rsps.calls) == 1
    rsps.get(NEO + "/chats/recent/", body=requests.exceptions.ConnectTimeout("connect"))
    with pytest.raises(errors.Timeout):
        rs.chats.recent()
    assert len(rsps.calls) == 4
