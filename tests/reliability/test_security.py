"""Security: the token never leaks (logs, errors, reprs, output, other hosts), and
crafted ids cannot rewrite request URLs."""

from __future__ import annotations

import logging
import re
import traceback
import uuid
from typing import Any, Callable, Iterator, List
from urllib.parse import quote

import pytest
import responses
from reliability_support import emu_session
from support import mp3_frames

import caiclient
from caiclient import errors

# --------------------------------------------------------------- token in logs & text


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: List[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> List[str]:
        out = []
        for r in self.records:
            out.append(self.format(r))
            out.append(repr(r.args))
            out.append(repr(r.__dict__))
        return out


@pytest.fixture
def debug_logs() -> Iterator[_Collect]:
    """Every record of every logger, at DEBUG, for the duration of the test."""
    handler = _Collect()
    root = logging.getLogger()
    lib = logging.getLogger("caiclient")
    old = (root.level, lib.level)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    lib.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old[0])
        lib.setLevel(old[1])


def _exc_texts(exc: BaseException) -> List[str]:
    return [
        str(exc),
        repr(exc),
        "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        repr(vars(exc)),
    ]


def test_token_never_in_logs_errors_reprs_or_output(
    cai_emulator: Any, debug_logs: _Collect, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = cai_emulator
    token = emu.token
    cid = emu.character_ids[0]
    texts: List[str] = []
    caught: List[BaseException] = []

    def expect_error(fn: Callable[[], Any]) -> None:
        try:
            fn()
        except caiclient.CaiError as exc:
            caught.append(exc)
        else:  # pragma: no cover - a fault did not fire
            raise AssertionError("expected an error")

    with emu_session(emu, timeout=(5.0, 0.4)) as s:
        # REST, with retries and every kind of error.
        me = s.account.me()
        character = s.characters.get(cid)
        found = s.characters.search("a")
        emu.faults.http_errors("/neo/chats/recent/", [503, 429])
        s.chats.recent()
        emu.faults.http_errors("/plus/chat/user/", [401])
        expect_error(s.account.me)
        emu.faults.html_block("/neo/chats/recent/", times=1)
        expect_error(s.chats.recent)
        emu.faults.malformed("/neo/chats/recent/", "truncated")
        expect_error(s.chats.recent)
        expect_error(lambda: s.request("GET", "neo:/no/such/route/"))
        # Chat: create, stream, send, a drop recovered over HTTP, a timeout, neo_error.
        chat, greeting = s.chats.create(cid)
        with s.chats.stream(cid, chat.chat_id, "hello") as stream:
            snaps = list(stream)
        emu.faults.drop_socket_after(2)
        reply = s.chats.send(cid, chat.chat_id, "drop me")
        with emu_session(emu, timeout=(5.0, 0.4), reply_timeout=1.5) as quick:
            # Resends go on until the reply deadline: a short one gives up soon.
            emu.faults.drop_on_receive(1000)
            expect_error(lambda: quick.chats.send(cid, chat.chat_id, "lost"))
            emu.faults.clear()
        emu.faults.latency(0.8)
        expect_error(lambda: s.chats.send(cid, chat.chat_id, "slow"))
        emu.faults.latency(0)
        expect_error(lambda: s.chats.send(cid, str(uuid.uuid4()), "no such chat"))
        other, _ = s.chats.create(cid)  # (the slow reply still holds the first chat)
        emu.faults.filter_next("input")
        expect_error(lambda: s.chats.send(cid, other.chat_id, "filtered"))
        page = s.chats.page(chat.chat_id)
        texts += [repr(x) for x in (s, s.credentials, s.http, s.ws, s.chats, me, character,
                                    found[:3], chat, greeting, snaps, stream, reply, page)]  # fmt: skip
        texts += [str(x) for x in (s, me, character, chat, reply)]
    texts.append(repr(s))  # closed
    # A wrong token: refused over HTTP and on the websocket handshake.
    bad = "wr0ng-" + token[::-1]
    with emu_session(emu, token=bad) as b:
        expect_error(b.account.me)
        b._account_id = emu.user_id  # skip the HTTP lookup: reach the handshake itself
        expect_error(lambda: b.chats.create(cid))
        texts += [repr(b), repr(b.credentials)]
    # Validation errors on the token itself never echo it.
    for value in (token + " spaces", token + '"'):
        try:
            caiclient.Session(value)
        except errors.ValidationError as exc:
            caught.append(exc)
    assert len(caught) >= 10
    assert {type(e) for e in caught} >= {errors.AuthenticationError, errors.BlockedError,
                                         errors.ParseError, errors.ConnectionLost,
                                         errors.Timeout, errors.NotFound,
                                         errors.ContentFiltered, errors.ValidationError}  # fmt: skip
    for exc in caught:
        texts += _exc_texts(exc)
    out = capsys.readouterr()
    texts += [out.out, out.err]
    texts += debug_logs.texts()
    assert len(debug_logs.records) > 20  # the run really logged at DEBUG
    assert any("retrying" in t for t in texts)
    leaks = [t for t in texts if token in t or bad in t or token[:12] in t]
    assert leaks == []


def test_aio_client_repr_and_errors_hide_the_token(cai_emulator: Any) -> None:
    import asyncio

    from caiclient import aio

    async def main() -> List[str]:
        async with aio.Client(
            "wr0ng-token-value-1234567890",
            endpoints=caiclient.Endpoints.for_emulator(cai_emulator.url),
        ) as c:
            with pytest.raises(errors.AuthenticationError) as info:
                await c.account.me()
            return [repr(c), repr(c.chats), *_exc_texts(info.value)]

    texts = asyncio.run(main())
    assert not [t for t in texts if "wr0ng-token" in t]


# --------------------------------------------------------------- token only to service hosts


def _has_token(headers: Any, token: str) -> bool:
    return any(token in str(v) for v in dict(headers).values())


def test_downloads_from_the_cdn_carry_no_token(cai_emulator: Any) -> None:
    emu = cai_emulator
    cid = emu.character_ids[0]
    with emu_session(emu) as s:
        chat, _ = s.chats.create(cid)
        reply = s.chats.send(cid, chat.chat_id, "say something")
        voice = s.voices.search("a")[0]
        audio = s.media.speech(chat.chat_id, reply.turn_id, reply.primary_candidate_id,
                               voice.voice_id)  # fmt: skip
        assert mp3_frames(audio) > 0
    cdn = emu.log.http("/cdn/")
    assert cdn, "the audio was not downloaded from the emulator's CDN"
    for entry in cdn:
        assert "authorization" not in entry["headers"]
        assert not _has_token(entry["headers"], emu.token)
    api = [e for e in emu.log.http() if not e["path"].startswith("/cdn/")]
    assert api and all(e["headers"].get("authorization") == f"Token {emu.token}" for e in api
                       if e["path"] not in ("/neo/ping/", "/web/"))  # fmt: skip
    # the site root (fetched for its cookies before the handshake) gets no token
    assert all("authorization" not in e["headers"] for e in emu.log.http("/web/")
               if e["path"] == "/web/")  # fmt: skip
    ws = [e for e in emu.log.entries() if e["kind"] == "ws_connect"]
    assert ws and all(e["path"] == "/neo/ws/" for e in ws)


TOKEN = "s3cret-token-for-host-checks-0123456789"
NEO = "https://neo.character.ai"


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/audio/1.mp3",
        "https://characterai.io/audio/1.mp3",  # the CDN: never the token
        "https://neo.character.ai.evil.example/audio/1.mp3",  # a look-alike host
        "https://neo.character.ai@evil.example/audio/1.mp3",  # userinfo trick
        "http://neo.character.ai/audio/1.mp3",  # not https
    ],
)
def test_replay_url_on_another_host_gets_no_token(rsps: responses.RequestsMock, url: str) -> None:
    rsps.post(NEO + "/multimodal/api/v1/memo/replay", json={"replayUrl": url})
    rsps.get(url, body=b"ID3audio")
    with caiclient.Session(TOKEN) as s:
        assert s.media.speech("chat-1", "turn-1", "cand-1", "voice-1") == b"ID3audio"
    api, download = rsps.calls[0].request, rsps.calls[1].request
    assert api.headers["authorization"] == f"Token {TOKEN}"
    assert "authorization" not in {k.lower() for k in download.headers}
    assert not _has_token(download.headers, TOKEN)


def test_redirect_to_another_host_drops_the_token(rsps: responses.RequestsMock) -> None:
    rsps.get(NEO + "/chats/recent/", status=302, headers={"Location": "https://evil.example/x"})
    rsps.get("https://evil.example/x", json={"chats": []})
    with caiclient.Session(TOKEN) as s:
        s.chats.recent()
    assert not _has_token(rsps.calls[1].request.headers, TOKEN)


def test_generated_image_urls_are_not_fetched_with_the_token(rsps: responses.RequestsMock) -> None:
    rsps.post(
        "https://plus.character.ai/chat/character/generate-avatar-options",
        json={"result": [{"url": "https://evil.example/i.png"}]},
    )
    with caiclient.Session(TOKEN) as s:
        assert s.media.generate_image("a cat", n=1) == ["https://evil.example/i.png"]
    assert len(rsps.calls) == 1


# --------------------------------------------------------------- crafted ids

CRAFTED = [
    "../../x?y=1#z",
    "%2e%2e",
    "a/b",
    "..%2f..%2fadmin",
    "ünïcødé/名前?q",
    "x" * 512,
    "a;b=c&d",
    "\u202e/evil",
]
REFUSED = ["", ".", "..", " a", "a ", "a\nb", "a\x00b", "x" * 513, "a\tb"]

# (call, the expected path for id q) for every method that puts an id in a URL path
PATH_CALLS: List[Any] = [
    ("chats.get", lambda s, i: s.chats.get(i), "/chat/{}/"),
    ("chats.recent", lambda s, i: s.chats.recent(i), "/chats/recent/{}"),
    ("chats.page", lambda s, i: s.chats.page(i), "/turns/{}/"),
    ("chats.rename", lambda s, i: s.chats.rename(i, "n"), "/chat/{}/update_name"),
    ("chats.archive", lambda s, i: s.chats.archive(i), "/chat/{}/archive"),
    ("chats.unarchive", lambda s, i: s.chats.unarchive(i), "/chat/{}/unarchive"),
    ("chats.copy", lambda s, i: s.chats.copy(i, "t1"), "/chat/{}/copy"),
    ("chats.delete_turns", lambda s, i: s.chats.delete_turns(i, ["t1"]), "/turns/{}/remove"),
    ("chats.set_model", lambda s, i: s.chats.set_model(i, "M"), "/chat/{}/preferred-model-type"),
    ("chats.migrate", lambda s, i: s.chats.migrate(i, wait=False), "/migration/{}"),
    ("characters.similar", lambda s, i: s.characters.similar(i), "/recommendation/v1/character/{}"),
    ("characters.my_vote", lambda s, i: s.characters.my_vote(i), "/chat/character/{}/voted/"),
    ("characters.set_voice", lambda s, i: s.characters.set_voice(i, None),
     "/chat/character/{}/voice_override/delete/"),
    ("voices.get", lambda s, i: s.voices.get(i), "/multimodal/api/v1/voices/{}"),
]  # fmt: skip


@pytest.fixture
def catch_all() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            mock.add(method, re.compile(r"https://.*"), json={})
        yield mock


@pytest.mark.parametrize("name, call, template", PATH_CALLS, ids=[c[0] for c in PATH_CALLS])
def test_crafted_ids_stay_one_path_segment(
    catch_all: responses.RequestsMock, name: str, call: Any, template: str
) -> None:
    with caiclient.Session(TOKEN) as s:
        for crafted in CRAFTED:
            before = len(catch_all.calls)
            try:
                call(s, crafted)
            except caiclient.CaiError:
                pass  # {} is not a useful answer; only the request matters here
            sent = catch_all.calls[before].request
            expected = template.format(quote(crafted, safe=""))
            host = sent.url.split("/")[2]
            assert host in ("neo.character.ai", "plus.character.ai"), sent.url
            assert sent.path_url.split("?")[0] == expected, (crafted, sent.path_url)
            assert "#" not in sent.url and "y=1" not in sent.url
            for bad in REFUSED:
                before = len(catch_all.calls)
                with pytest.raises(errors.ValidationError):
                    call(s, bad)
                assert len(catch_all.calls) == before  # refused before sending


def test_crafted_ids_against_the_emulator(cai_emulator: Any) -> None:
    with emu_session(cai_emulator) as s:
        for crafted in CRAFTED:
            before = len(cai_emulator.log.http())
            with pytest.raises(errors.NotFound):
                s.chats.get(crafted)
            seen = cai_emulator.log.http()[before:]
            assert len(seen) == 1 and seen[0]["query"] == {}
            assert seen[0]["path"].startswith("/neo/chat/") and seen[0]["path"].endswith("/")
            with pytest.raises(errors.NotFound):
                s.voices.get(crafted)
        with pytest.raises(errors.ValidationError):
            s.chats.get("..")
