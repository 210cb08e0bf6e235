"""Logging in without DevTools: the service's email-link flow, step by step.

The website signs in with a link sent by email. The flow, as the other
clients speak it (CAINode polls; the C# client takes the pasted link)::

    1. POST {web}/api/trpc/auth.login?batch=1   {"0": {"json": {"email", "host"}}}
       -> [0].result.data.json: the id of this sign-in attempt
    2. the user opens the link in the email (https://character.ai/login/<id>)
    3a. GET {web}/login/polling/?uuid=<id>     every 2 s
       -> {"result": "done", "value": "<Firebase action URL with oobCode>"}
    3b. or GET the pasted link: its page embeds that same Firebase URL
    4. POST {identity}/v1/accounts:signInWithEmailLink?key=<web key>  {"email", "oobCode"}
       -> idToken (a Google identity token)
    5. POST {plus}/dj-rest-auth/google_idp/     {"id_token"}
       -> key: the API token

:func:`login` runs all of it and returns a ready :class:`~caiclient.Session`;
:class:`Auth` (``session.auth``) has each step, so a program can show its
own prompts. Every wait is bounded, and each way it can fail has its own
error: :class:`~caiclient.errors.ValidationError` (an address that is not
one, before anything is sent), :class:`AddressRefused`, :class:`LinkExpired`,
:class:`LoginTimeout` and :class:`LoginBlocked` (bot protection, with the
impersonation hint). The token, the sign-in code and the identity token never
appear in a log, a repr or an error.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import time
from typing import Any, Callable, Iterator, Optional, Union
from urllib.parse import unquote, urlsplit

import attrs

from caiclient import errors
from caiclient.session import Session
from caiclient.transport.http import classify_html, service_message

__all__ = [
    "FIREBASE_WEB_KEY",
    "AddressRefused",
    "Auth",
    "LinkExpired",
    "LoginBlocked",
    "LoginError",
    "LoginLink",
    "LoginTimeout",
    "SignInCode",
    "login",
]

log = logging.getLogger("caiclient.auth")

FIREBASE_WEB_KEY = "AIzaSyAbLy_s6hJqVNr2ZN0UHHiCbJX1X8smTws"
"""The website's public Firebase web API key (cainode.md 2.2, others.md 1.4): used
when the sign-in link does not carry its own ``apiKey``."""

DEFAULT_LOGIN_TIMEOUT = 300.0
"""How long :meth:`Auth.wait` waits for the user to open the link, in seconds."""
DEFAULT_POLL_INTERVAL = 2.0
"""Seconds between two polls (CAINode's pace)."""

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


# ------------------------------------------------------------------- errors


class LoginError(errors.CaiError):
    """Base class of the failures of the email-link login."""


class AddressRefused(LoginError, errors.APIError):
    """The service would not send a sign-in link to this address (or sign it in)."""

    default_message = "the service refused the address"


class LinkExpired(LoginError, errors.APIError):
    """The sign-in link (its one-time code) has expired or was already used: ask for a new one."""

    default_message = "the sign-in link has expired or was already used; ask for a new one"


class LoginTimeout(LoginError, errors.Timeout):
    """Nobody opened the sign-in link in time (:meth:`Auth.wait`'s ``timeout``)."""


class LoginBlocked(LoginError, errors.BlockedError):
    """The service's bot protection answered a login step with an HTML page.

    Log in through a browser-impersonating HTTP session::

        caiclient.login(email, http=curl_cffi.requests.Session(impersonate="chrome"))
    """


_IMPERSONATE_HINT = (
    "log in through a browser-impersonating HTTP session: pip install curl_cffi, then "
    "caiclient.login(email, http=curl_cffi.requests.Session(impersonate='chrome'))"
)


@contextlib.contextmanager
def _step(what: str) -> Iterator[None]:
    """Turn the bot protection's page into :class:`LoginBlocked` with the hint."""
    try:
        yield
    except errors.BlockedError as exc:
        if isinstance(exc, LoginBlocked):
            raise
        raise LoginBlocked(
            f"the service's bot protection blocked {what} ({exc.kind}); {_IMPERSONATE_HINT}",
            kind=exc.kind,
            status=exc.status,
            method=exc.method,
            path=exc.path,
            request_id=exc.request_id,
            body=exc.body,
            headers=exc.headers,
        ) from exc


def _reraise_as(cls: type, exc: errors.APIError, message: Optional[str] = None) -> errors.APIError:
    new: errors.APIError = cls(
        message or exc.message,
        status=exc.status,
        method=exc.method,
        path=exc.path,
        request_id=exc.request_id,
        body=exc.body,
        headers=exc.headers,
    )
    return new


# ------------------------------------------------------------------- values


@attrs.frozen(repr=False)
class LoginLink:
    """A sign-in link the service sent (:meth:`Auth.send_link`).

    Attributes:
        email: the address it went to.
        attempt_id: the service's id of this sign-in attempt, used to poll
            (``None`` if the service gave none: then paste the link). Whoever
            holds it can finish the login, so the repr hides it.
        sent_at: when it was sent (``time.time()``).
    """

    email: str
    attempt_id: Optional[str]
    sent_at: float = attrs.field(factory=time.time)

    def __repr__(self) -> str:
        return f"LoginLink(email={self.email!r}, attempt_id={'<set>' if self.attempt_id else None})"


@attrs.frozen(repr=False)
class SignInCode:
    """The one-time code of a sign-in link (what the identity host exchanges).

    Attributes:
        oob_code: the one-time code (secret; hidden from the repr).
        api_key: the web API key to present with it.
        email: the address the link was sent to, when the link tells.
    """

    oob_code: str
    api_key: str = FIREBASE_WEB_KEY
    email: Optional[str] = None

    def __repr__(self) -> str:
        return f"SignInCode(email={self.email!r}, oob_code=<set>)"


def check_email(email: Any) -> str:
    """The address, stripped; :class:`~caiclient.errors.ValidationError` if it is not one."""
    if not isinstance(email, str) or not _EMAIL_RE.match(email.strip()) or len(email) > 254:
        raise errors.ValidationError(
            "email must be an address such as me@example.com", field="email"
        )
    return email.strip()


_CODE_RE = re.compile(r"oobCode=([A-Za-z0-9_\-.]+)")
_KEY_RE = re.compile(r"apiKey=([A-Za-z0-9_\-]+)")
_EMAIL_IN_URL = re.compile(r"email(?:%253D|%3D|=)([^&\"'\s\\]+?)(?:%2526|%26|&|\"|'|\\|\s|$)")
_RSC_SEAM = re.compile(r'"\]\)</script><script>self\.__next_f\.push\(\[\d+,"')


def code_from_text(text: str) -> Optional[SignInCode]:
    """The sign-in code inside a Firebase action URL or a login page, if there is one.

    Liberal in what it reads: the URL itself, the URL inside the Next.js page
    chunks of the site (``\\u0026`` for ``&``, chunk seams), the code by name
    (``oobCode``) wherever it stands.
    """
    flat = _RSC_SEAM.sub("", text)
    flat = flat.replace("\\u0026", "&").replace("\\u003d", "=").replace("\\/", "/")
    flat = flat.replace("&amp;", "&")
    found = _CODE_RE.search(flat) or _CODE_RE.search(unquote(flat))
    if not found:
        return None
    code = found.group(1)
    found = _KEY_RE.search(flat) or _KEY_RE.search(unquote(flat))
    key = found.group(1) if found else FIREBASE_WEB_KEY
    email = None
    found = _EMAIL_IN_URL.search(flat)
    if found:
        email = found.group(1)
        for _ in range(5):  # the address may be URL-encoded several times over
            if "@" in email:
                break
            email = unquote(email)
        email = email if "@" in email else None
    return SignInCode(oob_code=code, api_key=key, email=email)


def _trpc_message(body: Any) -> Optional[str]:
    """The message of a tRPC error body (``[{"error": {"json": {"message"}}}]``)."""
    item = body[0] if isinstance(body, list) and body else body
    if isinstance(item, dict) and isinstance(item.get("error"), dict):
        inner = item["error"].get("json", item["error"])
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return service_message(body)


def _firebase_reason(exc: errors.APIError) -> str:
    """``EXPIRED_OOB_CODE`` & co. from a Google error body (the code before any " : ")."""
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = body["error"].get("message")
        if isinstance(message, str):
            return message.split(":", 1)[0].strip()
    return (exc.message or "").split(":", 1)[0].strip()


# ------------------------------------------------------------------- the flow


class Auth:
    """The email-link login, step by step (``session.auth``).

    The requests go out through ``session``'s HTTP transport (its endpoints,
    timeouts and HTTP session, e.g. a browser-impersonating one) and never
    carry its token. :meth:`login` runs every step; the steps are public so
    a program can show its own prompts.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def _timeout(self, remaining: Optional[float] = None) -> Any:
        t = self.session.timeout
        connect, read = t if isinstance(t, tuple) else (t, t)
        if remaining is None:
            return (connect, read)
        return (min(connect, max(1.0, remaining)), min(read, max(1.0, remaining)))

    # -- 1. the email

    def send_link(self, email: str) -> LoginLink:
        """Ask the service to send a sign-in link to ``email``.

        Raises :class:`~caiclient.errors.ValidationError` for an address that
        is not one (nothing is sent), :class:`AddressRefused` when the
        service will not send to it, :class:`LoginBlocked` for the bot
        protection's page.
        """
        email = check_email(email)
        endpoints = self.session.endpoints
        url = endpoints.web + "/api/trpc/auth.login"
        # CAINode sends only the email; the C# client adds the site's host.
        body = {"0": {"json": {"email": email, "host": endpoints.web}}}
        with _step("the request for a sign-in link"):
            try:
                reply = self.session.http.request(
                    "POST", url, params={"batch": "1"}, json=body, auth=False
                )
            except errors.BadRequest as exc:
                raise _reraise_as(AddressRefused, exc, _trpc_message(exc.body)) from None
        attempt: Any = None
        with contextlib.suppress(LookupError, TypeError, AttributeError):
            attempt = reply[0]["result"]["data"]["json"]
        if not attempt:
            raise AddressRefused(
                f"the service did not send a sign-in link to {email}",
                status=200,
                method="POST",
                path=urlsplit(url).path,
            )
        log.debug("sign-in link sent")
        return LoginLink(email=email, attempt_id=str(attempt) if attempt is not True else None)

    # -- 2. waiting for the click

    def poll(self, link: LoginLink, *, timeout: Optional[float] = None) -> Optional[str]:
        """Ask once whether the link was opened: the sign-in URL if it was, else ``None``.

        A reply the service could not give (network, 5xx, not JSON) counts as
        "not yet"; the bot protection's page raises :class:`LoginBlocked`.
        """
        if not isinstance(link, LoginLink) or not link.attempt_id:
            raise errors.ValidationError(
                "this link has no attempt id to poll: paste the link instead (login_with_link)",
                field="link",
            )
        url = self.session.endpoints.web + "/login/polling/"
        with _step("polling for the opened link"):
            try:
                reply = self.session.http.request(
                    "GET",
                    url,
                    params={"uuid": link.attempt_id},
                    auth=False,
                    timeout=self._timeout(timeout),
                )
            except (errors.ParseError, errors.TransportError, errors.ServerError) as exc:
                log.debug("poll failed (%s): trying again", type(exc).__name__)
                return None
        # CAINode: success is {"result": "done", "value": URL}; anything else is "not yet".
        if isinstance(reply, dict) and reply.get("result") == "done":
            value = reply.get("value")
            if isinstance(value, str) and value:
                return value
        return None

    def wait(
        self,
        link: LoginLink,
        *,
        timeout: float = DEFAULT_LOGIN_TIMEOUT,
        interval: float = DEFAULT_POLL_INTERVAL,
        on_poll: Optional[Callable[[int], None]] = None,
    ) -> str:
        """Poll until the user has opened the link; return the sign-in URL.

        ``on_poll(n)`` is called after each unanswered poll (e.g. to turn a
        spinner). Raises :class:`LoginTimeout` after ``timeout`` seconds.
        """
        for name, value in (("timeout", timeout), ("interval", interval)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise errors.ValidationError(f"{name} must be a positive number", field=name)
        deadline = time.monotonic() + float(timeout)
        polls = 0
        while True:
            remaining = deadline - time.monotonic()
            found = self.poll(link, timeout=max(remaining, 0.0))
            if found:
                return found
            polls += 1
            if on_poll is not None:
                on_poll(polls)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LoginTimeout(
                    f"the sign-in link sent to {link.email} was not opened within "
                    f"{timeout:g} s; ask for a new one, or paste the link (login_with_link)"
                )
            time.sleep(min(float(interval), remaining))

    # -- 3. the link's code

    def read_link(self, link: str) -> SignInCode:
        """The sign-in code of a link the user pasted.

        Either the link from the email (``https://character.ai/login/<id>``:
        its page is fetched, without the token, and the code read from it) or
        the sign-in URL itself (it carries the code; nothing is fetched).
        Raises :class:`LinkExpired` when the page holds no code any more.
        """
        if not isinstance(link, str) or not link.strip().startswith(("http://", "https://")):
            raise errors.ValidationError(
                "link must be the http(s) link from the sign-in email", field="link"
            )
        link = link.strip()
        code = code_from_text(link)
        if code is not None:
            return code
        with _step("opening the sign-in link"):
            try:
                page = self.session.http.request(
                    "GET", link, auth=False, raw=True, headers={"Accept": "text/html,*/*"}
                )
            except (errors.NotFound, errors.BadRequest) as exc:
                raise _reraise_as(LinkExpired, exc, LinkExpired.default_message) from None
        text = page.decode("utf-8", "replace") if isinstance(page, bytes) else str(page)
        code = code_from_text(text)
        if code is not None:
            return code
        kind = classify_html(page if isinstance(page, bytes) else text.encode())
        if kind != "html":
            raise LoginBlocked(
                f"the service's bot protection answered the sign-in link ({kind}); "
                + _IMPERSONATE_HINT,
                kind=kind,
                status=200,
                method="GET",
                path=urlsplit(link).path,
            )
        raise LinkExpired(
            "the sign-in page holds no sign-in code: the link has expired or was already "
            "used; ask for a new one",
            status=200,
            method="GET",
            path=urlsplit(link).path,
        )

    # -- 4. + 5. the token

    def exchange(self, email: str, sign_in: Union[str, SignInCode]) -> str:
        """Trade the link's code for the API token (through the identity host).

        ``sign_in`` is the sign-in URL (from :meth:`wait`), a pasted link, or
        a :class:`SignInCode`. Raises :class:`LinkExpired` for an expired or
        used code, :class:`AddressRefused` when the identity host refuses the
        address.
        """
        email = check_email(email)
        code = sign_in if isinstance(sign_in, SignInCode) else self.read_link(sign_in)
        endpoints = self.session.endpoints
        web_headers = {
            "Content-Type": "application/json",
            "Origin": endpoints.web,
            "Referer": endpoints.web + "/",
        }
        with _step("the sign-in"):
            try:
                signed = self.session.http.request(
                    "POST",
                    endpoints.identity + "/v1/accounts:signInWithEmailLink",
                    params={"key": code.api_key},
                    json={"email": email, "oobCode": code.oob_code},
                    headers=web_headers,
                    auth=False,
                    idempotent=False,
                )
            except errors.APIError as exc:
                reason = _firebase_reason(exc)
                if reason in ("EXPIRED_OOB_CODE", "INVALID_OOB_CODE"):
                    raise _reraise_as(LinkExpired, exc, LinkExpired.default_message) from None
                if reason in ("INVALID_EMAIL", "USER_DISABLED", "EMAIL_NOT_FOUND"):
                    raise _reraise_as(
                        AddressRefused, exc, f"the identity service refused {email} ({reason})"
                    ) from None
                raise
        id_token = signed.get("idToken") if isinstance(signed, dict) else None
        if not isinstance(id_token, str) or not id_token:
            raise errors.ParseError("the sign-in answer holds no idToken")
        with _step("the token exchange"):
            reply = self.session.http.request(
                "POST",
                endpoints.plus + "/dj-rest-auth/google_idp/",
                json={"id_token": id_token},
                auth=False,
                idempotent=False,
            )
        key = reply.get("key") if isinstance(reply, dict) else None
        if not isinstance(key, str) or not key:
            raise errors.ParseError("the token exchange answer holds no key")
        log.debug("signed in")
        return key

    # -- all of it

    def login(
        self,
        email: str,
        *,
        timeout: float = DEFAULT_LOGIN_TIMEOUT,
        interval: float = DEFAULT_POLL_INTERVAL,
        on_sent: Optional[Callable[[LoginLink], None]] = None,
        on_poll: Optional[Callable[[int], None]] = None,
    ) -> Session:
        """Send the link, wait until the user opened it, and return a logged-in Session.

        The new Session has this one's settings (endpoints, HTTP session,
        timeouts, headers) and the account's token. ``on_sent(link)`` is
        called once the email is on its way (tell the user to open it);
        ``on_poll(n)`` after each unanswered poll.
        """
        link = self.send_link(email)
        if on_sent is not None:
            on_sent(link)
        sign_in = self.wait(link, timeout=timeout, interval=interval, on_poll=on_poll)
        return self.session.with_token(self.exchange(link.email, sign_in))

    def login_with_link(self, link: str, email: Optional[str] = None) -> Session:
        """Finish a login with the link the user pasted; return a logged-in Session.

        ``email`` is the address the link was sent to (read from the link's
        page when omitted and the page tells).
        """
        code = self.read_link(link)
        address = email if email is not None else code.email
        if address is None:
            raise errors.ValidationError(
                "the link does not tell which address it was sent to: pass email=",
                field="email",
            )
        return self.session.with_token(self.exchange(address, code))

    def logout(self) -> None:
        """Log this session's token out at the service (``POST /chat/user/logout/``).

        The service deletes the token (dj-rest-auth's logout): every later
        call with it, from this Session or anywhere else, gets
        :class:`~caiclient.errors.AuthenticationError`. Log in again for a
        new one.
        """
        self.session.require_account("logout")
        self.session.http.request(
            "POST", self.session.endpoints.plus + "/chat/user/logout/", json={}
        )


def _print_sent(link: LoginLink) -> None:
    print(
        f"A sign-in link was sent to {link.email}: open it in any browser to log in.",
        file=sys.stderr,
        flush=True,
    )


def login(
    email: Optional[str] = None,
    *,
    link: Optional[str] = None,
    timeout: float = DEFAULT_LOGIN_TIMEOUT,
    interval: float = DEFAULT_POLL_INTERVAL,
    on_sent: Optional[Callable[[LoginLink], None]] = _print_sent,
    save: bool = False,
    profile: Optional[str] = None,
    **session_options: Any,
) -> Session:
    """Log in by email and return a ready :class:`~caiclient.Session`::

        s = caiclient.login("me@example.com")   # then open the link in the email
        print(s.account.me().username)

    Sends the sign-in link to ``email`` and waits (up to ``timeout``
    seconds) until it has been opened, or, with ``link=``, finishes with a
    link the user pasted. ``on_sent`` tells the user to check their inbox
    (default: a line on stderr; ``None`` for silence). ``save=True`` stores
    the token for :meth:`Session.from_env() <caiclient.Session.from_env>`
    and the ``caiclient`` command (under ``profile``). Other keyword
    arguments configure the Session (``endpoints=``, ``http=``,
    ``timeout``...); ``CAI_EMULATOR_URL`` is honoured as in ``from_env``.
    """
    session_options.pop("token", None)
    with Session.from_env(token=None, web_next_auth=None, **session_options) as guest:
        if link is not None:
            session = guest.auth.login_with_link(link, email)
        else:
            if email is None:
                raise errors.ValidationError("pass the email address (or link=)", field="email")
            session = guest.auth.login(email, timeout=timeout, interval=interval, on_sent=on_sent)
    if save:
        from caiclient.credentials import CredentialStore, target_of

        me = None
        with contextlib.suppress(errors.CaiError):
            me = session.account.me()
        CredentialStore().save(
            session.credentials.token or "",
            profile=profile,
            target=target_of(session.endpoints),
            email=email,
            username=me.username if me is not None else None,
        )
    return session
