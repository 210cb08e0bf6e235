"""The email-link login (caiclient.login, Session.auth) against the emulator's login flow."""

from __future__ import annotations

import asyncio
import threading
from typing import Iterator, List, Optional

import pytest
import requests

import caiclient
import caiclient.aio
from caiclient import errors
from caiclient.auth import FIREBASE_WEB_KEY, LoginLink, SignInCode, code_from_text
from caiclient.credentials import CredentialStore, target_of
from caiclient.emulator import Emulator
from caiclient.emulator.login import Mail

FAST = 0.02  # seconds between polls in these tests


@pytest.fixture
def guest(cai_emulator: Emulator) -> Iterator[caiclient.Session]:
    s = caiclient.Session(endpoints=caiclient.Endpoints.for_emulator(cai_emulator.url), timeout=5)
    yield s
    s.close()


def open_link_when_sent(emu: Emulator, to: str) -> threading.Thread:
    """Play the user: wait for the email, then open its link (as a browser would)."""

    def user() -> None:
        mail = emu.outbox.wait_for(to, timeout=10)
        requests.get(mail.link, timeout=5).raise_for_status()

    t = threading.Thread(target=user, daemon=True)
    t.start()
    return t


def test_login_by_polling_returns_a_ready_session(cai_emulator: Emulator) -> None:
    seen: List[LoginLink] = []
    user = open_link_when_sent(cai_emulator, "me@example.com")
    s = caiclient.login(
        "me@example.com",
        endpoints=caiclient.Endpoints.for_emulator(cai_emulator.url),
        interval=FAST,
        timeout=10,
        on_sent=seen.append,
    )
    user.join(5)
    with s:
        assert s.is_authenticated
        me = s.account.me()
        assert me.username == "me"  # a new address creates an account
        assert [link.email for link in seen] == ["me@example.com"]
        # the account works for everything, e.g. the chat socket
        chat, greeting = s.chats.create(cai_emulator.character_ids[0])
        assert (
            greeting is not None
            and s.chats.send(cai_emulator.character_ids[0], chat.chat_id, "hi").text
        )
    # every step went to the emulator's hosts; none carried a token
    paths = [e["path"] for e in cai_emulator.log.http()]
    for step in (
        "/web/api/trpc/auth.login",
        "/web/login/polling/",
        "/google/v1/accounts:signInWithEmailLink",
        "/plus/dj-rest-auth/google_idp/",
    ):
        assert step in paths
    for e in cai_emulator.log.http():
        if not e["path"].startswith(("/plus/chat", "/neo")):
            assert "authorization" not in e["headers"], e["path"]


def test_the_exchange_gives_the_token_of_the_account_with_that_address(
    cai_emulator: Emulator, guest: caiclient.Session
) -> None:
    user = open_link_when_sent(cai_emulator, "alice@example.com")
    with guest.auth.login("ALICE@example.com", interval=FAST, timeout=10) as s:
        assert s.credentials.token == cai_emulator.token
    user.join(5)
    # a second login of a new address gives the same account again
    for _ in range(2):
        user = open_link_when_sent(cai_emulator, "new@example.org")
        with guest.auth.login("new@example.org", interval=FAST, timeout=10) as s:
            assert s.account.me().username == "new"
        user.join(5)
        cai_emulator.outbox.clear()
    assert cai_emulator.state is not None
    assert [u["username"] for u in cai_emulator.state.list("user")].count("new") == 1


def test_steps_one_by_one_and_the_pasted_link(
    cai_emulator: Emulator, guest: caiclient.Session
) -> None:
    link = guest.auth.send_link("alice@example.com")
    assert "attempt_id=<set>" in repr(link) and link.attempt_id not in repr(link)
    assert guest.auth.poll(link) is None  # not opened yet
    mail = cai_emulator.outbox.wait_for("alice@example.com")
    assert mail.link.startswith(cai_emulator.url + "/web/login/")
    assert mail.link in mail.text
    code = guest.auth.read_link(mail.link)  # the C# client's way: read the page
    assert code.email == "alice@example.com" and code.api_key == FIREBASE_WEB_KEY
    assert code.oob_code not in repr(code)
    # opening the page counted as the click: polling is done now
    sign_in = guest.auth.poll(link)
    assert sign_in is not None and "oobCode=" in sign_in
    with guest.auth.login_with_link(mail.link) as s:
        assert s.credentials.token == cai_emulator.token
    # a link is used once
    with pytest.raises(caiclient.LinkExpired):
        guest.auth.exchange("alice@example.com", sign_in)
    with pytest.raises(caiclient.LinkExpired):
        guest.auth.read_link(mail.link)


def test_login_with_link_top_level(cai_emulator: Emulator) -> None:
    endpoints = caiclient.Endpoints.for_emulator(cai_emulator.url)
    with caiclient.Session(endpoints=endpoints) as g:
        g.auth.send_link("bob@example.com")
    mail = cai_emulator.outbox.wait_for("bob@example.com")
    with caiclient.login(link=mail.link, endpoints=endpoints) as s:
        assert s.credentials.token == cai_emulator.other_token


def test_emulator_url_from_the_environment_and_save(
    cai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAI_EMULATOR_URL", cai_emulator.url)
    monkeypatch.delenv("CAI_TOKEN", raising=False)
    user = open_link_when_sent(cai_emulator, "me@example.com")
    s = caiclient.login("me@example.com", interval=FAST, timeout=10, on_sent=None, save=True)
    user.join(5)
    s.close()
    stored = CredentialStore().load(target=target_of(s.endpoints))
    assert stored is not None and stored.username == "me" and stored.email == "me@example.com"
    with caiclient.Session.from_env() as again:  # the stored token, no CAI_TOKEN
        assert again.account.me().username == "me"


def test_bad_address_is_refused_before_sending(
    cai_emulator: Emulator, guest: caiclient.Session
) -> None:
    for bad in ("", "me", "me@", "@example.com", "a b@example.com", 42):
        with pytest.raises(errors.ValidationError) as info:
            guest.auth.send_link(bad)  # type: ignore[arg-type]
        assert info.value.field == "email"
    assert cai_emulator.log.http() == []


def test_refused_address(cai_emulator: Emulator, guest: caiclient.Session) -> None:
    cai_emulator.login.refuse("@blocked.example")
    with pytest.raises(caiclient.AddressRefused) as info:
        guest.auth.send_link("someone@blocked.example")
    assert info.value.status == 400
    assert "could not send" in str(info.value)
    assert len(cai_emulator.outbox) == 0


def test_expired_link(cai_emulator: Emulator, guest: caiclient.Session) -> None:
    link = guest.auth.send_link("alice@example.com")
    mail = cai_emulator.outbox.wait_for()
    requests.get(mail.link, timeout=5)  # opened in time...
    sign_in = guest.auth.wait(link, interval=FAST, timeout=5)
    assert cai_emulator.login.expire() == 1  # ...but the code expired before the exchange
    with pytest.raises(caiclient.LinkExpired) as info:
        guest.auth.exchange("alice@example.com", sign_in)
    assert info.value.status == 400
    assert isinstance(info.value, caiclient.LoginError)
    # the page of an expired link holds no code any more
    with pytest.raises(caiclient.LinkExpired):
        guest.auth.login_with_link(mail.link)


def test_link_ttl(cai_emulator: Emulator, guest: caiclient.Session) -> None:
    cai_emulator.login.link_ttl = 0.0
    guest.auth.send_link("alice@example.com")
    with pytest.raises(caiclient.LinkExpired):
        guest.auth.login_with_link(cai_emulator.outbox.wait_for().link)


def test_polling_times_out(cai_emulator: Emulator, guest: caiclient.Session) -> None:
    polls: List[int] = []
    link = guest.auth.send_link("alice@example.com")
    with pytest.raises(caiclient.LoginTimeout) as info:
        guest.auth.wait(link, timeout=0.3, interval=FAST, on_poll=polls.append)
    assert isinstance(info.value, errors.Timeout)
    assert "alice@example.com" in str(info.value) and "0.3 s" in str(info.value)
    assert polls and polls == list(range(1, len(polls) + 1))
    for bad in (0, -1, True):
        with pytest.raises(errors.ValidationError):
            guest.auth.wait(link, timeout=bad)


def test_polling_rides_out_transient_failures(
    cai_emulator: Emulator, guest: caiclient.Session
) -> None:
    link = guest.auth.send_link("alice@example.com")
    cai_emulator.faults.malformed("/web/login/polling/", kind="invalid", times=2)
    requests.get(cai_emulator.outbox.wait_for().link, timeout=5)
    assert "oobCode=" in guest.auth.wait(link, interval=FAST, timeout=5)


@pytest.mark.parametrize(
    "prefix", ["/web/api/trpc/auth.login", "/web/login/polling/", "/google/", "/plus/dj-rest"]
)
def test_bot_protection_blocks_each_step_with_the_hint(
    cai_emulator: Emulator, guest: caiclient.Session, prefix: str
) -> None:
    sending_blocked = prefix.startswith("/web/api")  # then no email ever comes
    user = None if sending_blocked else open_link_when_sent(cai_emulator, "alice@example.com")
    cai_emulator.faults.html_block(prefix)
    with pytest.raises(caiclient.LoginBlocked) as info:
        guest.auth.login("alice@example.com", interval=FAST, timeout=5)
    if user is not None:
        user.join(5)
        assert not user.is_alive()
    assert len(cai_emulator.outbox) == (0 if sending_blocked else 1)
    assert isinstance(info.value, errors.BlockedError)
    assert info.value.kind == "challenge" and info.value.status == 403
    assert "impersonate" in str(info.value) and "curl_cffi" in str(info.value)


def test_code_from_text_reads_every_known_shape() -> None:
    # CAINode's polled value: the code is the second query pair
    cainode = (
        "https://auth.character.ai/__/auth/action?mode=signIn&oobCode=C0DE-1&apiKey=K1&lang=en"
    )
    assert code_from_text(cainode) == SignInCode("C0DE-1", "K1", None)
    # the C# client's page: a Next.js chunk with \u0026 and a seam, the address encoded twice
    page = (
        '<script>self.__next_f.push([1,"{\\"url\\":\\"https://auth.character.ai/__/auth/'
        'action?mode=signIn\\u0026oobCode=AbC_9\\u0026api"])</script><script>self.__next_f.push'
        '([2,"Key=KEY2\\u0026continueUrl=https%3A%2F%2Fcharacter.ai%2Flogin%2Fx%3Femail%3D'
        'me%2540example.com%26next%3D%252F\\"}"])</script>'
    )
    assert code_from_text(page) == SignInCode("AbC_9", "KEY2", "me@example.com")
    # no apiKey: the site's public web key
    assert code_from_text("https://x/?oobCode=Z").api_key == FIREBASE_WEB_KEY  # type: ignore[union-attr]
    assert code_from_text("<html>This link has expired</html>") is None


def test_read_link_rejects_what_is_not_a_link(guest: caiclient.Session) -> None:
    for bad in ("", "character.ai/login/x", None):
        with pytest.raises(errors.ValidationError):
            guest.auth.read_link(bad)  # type: ignore[arg-type]
    with pytest.raises(errors.ValidationError):
        guest.auth.poll(LoginLink("a@b.co", None))


def test_unknown_link_is_expired(cai_emulator: Emulator, guest: caiclient.Session) -> None:
    with pytest.raises(caiclient.LinkExpired) as info:
        guest.auth.read_link(cai_emulator.url + "/web/login/00000000-0000-0000-0000-000000000000")
    assert info.value.status == 404


def test_identity_host_checks_key_and_address(cai_emulator: Emulator) -> None:
    endpoints = caiclient.Endpoints.for_emulator(cai_emulator.url)
    with caiclient.Session(endpoints=endpoints) as g:
        g.auth.send_link("alice@example.com")
        code = g.auth.read_link(cai_emulator.outbox.wait_for().link)
        with pytest.raises(errors.BadRequest, match="API key not valid"):
            g.auth.exchange("alice@example.com", SignInCode(code.oob_code, "wrong-key"))
        with pytest.raises(caiclient.AddressRefused, match="INVALID_EMAIL"):
            g.auth.exchange("bob@example.com", code)
        with pytest.raises(errors.BadRequest):
            g.request("POST", "plus:/dj-rest-auth/google_idp/", json={"id_token": "forged"})


def test_logout_revokes_the_token_and_a_new_login_gets_a_new_one(
    cai_emulator: Emulator, guest: caiclient.Session
) -> None:
    user = open_link_when_sent(cai_emulator, "me@example.com")
    s = guest.auth.login("me@example.com", interval=FAST, timeout=10)
    user.join(5)
    old = s.credentials.token
    s.auth.logout()
    with pytest.raises(errors.AuthenticationError):
        s.account.me()
    s.close()
    with pytest.raises(errors.AuthRequiredError):
        guest.auth.logout()
    cai_emulator.outbox.clear()
    user = open_link_when_sent(cai_emulator, "me@example.com")
    with guest.auth.login("me@example.com", interval=FAST, timeout=10) as again:
        assert again.credentials.token != old
        assert again.account.me().username == "me"
    user.join(5)


def test_with_token_keeps_the_settings(cai_emulator: Emulator) -> None:
    endpoints = caiclient.Endpoints.for_emulator(cai_emulator.url)
    with caiclient.Session(endpoints=endpoints, timeout=3, headers={"X-Test": "1"}) as g:
        with g.with_token(cai_emulator.token) as s:
            assert s.endpoints == endpoints and s.timeout == 3
            assert s.http.extra_headers == {"X-Test": "1"}
            assert s.credentials.token == cai_emulator.token
        assert g.is_guest


def test_login_from_asyncio_returns_a_client(cai_emulator: Emulator) -> None:
    async def main() -> Optional[str]:
        endpoints = caiclient.Endpoints.for_emulator(cai_emulator.url)
        async with caiclient.aio.Client(endpoints=endpoints) as c:
            link = await c.auth.send_link("me@example.com")
            mail = await c.run(cai_emulator.outbox.wait_for, "me@example.com")
            await c.run(requests.get, mail.link, timeout=5)
            sign_in = await c.auth.wait(link, interval=FAST, timeout=5)
            assert "oobCode=" in sign_in
            cai_emulator.outbox.clear()
            user = open_link_when_sent(cai_emulator, "me@example.com")
            logged = await c.auth.login("me@example.com", interval=FAST, timeout=10)
            user.join(5)
            assert isinstance(logged, caiclient.aio.Client)
            async with logged:
                me = await logged.account.me()
                return me.username

    assert asyncio.run(main()) == "me"


def test_errors_and_reprs_never_hold_secrets(
    cai_emulator: Emulator, guest: caiclient.Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="caiclient")
    link = guest.auth.send_link("alice@example.com")
    mail = cai_emulator.outbox.wait_for()
    code = guest.auth.read_link(mail.link)
    attempt = cai_emulator.login.attempts[str(link.attempt_id)]
    s = guest.auth.login_with_link(mail.link)
    texts = [repr(link), repr(code), repr(s), repr(s.credentials), caplog.text]
    try:
        guest.auth.exchange("alice@example.com", code)
    except caiclient.LinkExpired as exc:
        texts += [str(exc), repr(exc)]
    for secret in (cai_emulator.token, code.oob_code, attempt.oob_code):
        assert all(secret not in t for t in texts)
    s.close()


def test_outbox_waits_are_bounded(cai_emulator: Emulator) -> None:
    with pytest.raises(TimeoutError):
        cai_emulator.outbox.wait_for("nobody@example.com", timeout=0.05)
    got: List[Mail] = []
    cai_emulator.outbox.subscribe(got.append)
    endpoints = caiclient.Endpoints.for_emulator(cai_emulator.url)
    with caiclient.Session(endpoints=endpoints) as g:
        g.auth.send_link("alice@example.com")
    assert [m.to for m in got] == ["alice@example.com"]
    assert cai_emulator.outbox.last() == got[0] == cai_emulator.outbox[0]
    assert list(cai_emulator.outbox) == got
    cai_emulator.reset()
    assert len(cai_emulator.outbox) == 0 and cai_emulator.login.attempts == {}


def test_kramcat_flow_straight_through_the_identity_host(cai_emulator: Emulator) -> None:
    """kramcat (others.md 1.4): sendOobCode, follow the link's redirects, cut the code out
    of the final URL, signInWithEmailLink, then google_idp on the beta host."""
    google = f"{cai_emulator.url}/google/v1/accounts"
    sent = requests.post(
        f"{google}:sendOobCode?key={FIREBASE_WEB_KEY}",
        json={
            "requestType": "EMAIL_SIGNIN",
            "email": "alice@example.com",
            "clientType": "CLIENT_TYPE_WEB",
            "continueUrl": "https://beta.character.ai",
            "canHandleCodeInApp": True,
        },
        timeout=5,
    )
    assert sent.json()["email"] == "alice@example.com"
    final = requests.get(cai_emulator.outbox.wait_for().link, timeout=5).url
    assert final.startswith(cai_emulator.url + "/web/")
    code = final.split("oobCode=", 1)[1].split("&", 1)[0]
    signed = requests.post(
        f"{google}:signInWithEmailLink?key={FIREBASE_WEB_KEY}",
        json={"email": "alice@example.com", "oobCode": code},
        headers={"X-Firebase-AppCheck": "expired.jwt.value"},
        timeout=5,
    ).json()
    key = requests.post(
        f"{cai_emulator.url}/beta/dj-rest-auth/google_idp/",
        json={"id_token": signed["idToken"]},
        timeout=5,
    ).json()["key"]
    assert key == cai_emulator.token
    bad = requests.post(f"{google}:sendOobCode?key=nope", json={}, timeout=5)
    assert bad.status_code == 400 and "API key not valid" in bad.json()["error"]["message"]
