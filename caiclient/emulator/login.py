"""The email-link login, played by the emulator: the site's routes, Google's identity host
and an outbox instead of a mail server.

Routes (the service's, under the emulator's prefixes; cainode.md 2.2, others.md 1.5)::

    POST /web/api/trpc/auth.login?batch=1       send the link  -> [0].result.data.json = id
    GET  /web/login/polling/?uuid=ID            {"result": "pending"} until the link is
                                                opened, then {"result": "done", "value": URL}
    GET  /web/login/ID                          the link in the email: marks it opened; the
                                                page embeds the sign-in URL (as the site's
                                                Next.js chunks do)
    POST /google/v1/accounts:signInWithEmailLink?key=K   {"email", "oobCode"} -> idToken
    POST /google/v1/accounts:sendOobCode?key=K  kramcat's way to send the link (EMAIL_SIGNIN)
    GET  /google/__/auth/action?...             that link: redirects with the code in the query
    POST /plus/dj-rest-auth/google_idp/         {"id_token"} -> {"key": API token}

(``POST /plus/chat/user/logout/``, which revokes the token, is in ``routes_compat``.)

The "email" goes to :attr:`Emulator.outbox <caiclient.emulator.app.Emulator.outbox>`
(and to the emulator's console when it runs from the command line). The
exchange gives the token of the account with that address; an address the
emulator has not seen creates an account. Faults: :meth:`LoginDesk.expire`
(links whose code has expired) and :meth:`LoginDesk.refuse` (addresses the
service will not send to).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Callable, List, Optional
from urllib.parse import quote, urlencode

from aiohttp import web

from caiclient.emulator.common import ApiError, ctx_of, jr, read_json, trpc_error

__all__ = ["Attempt", "LoginDesk", "Mail", "Outbox", "desk_of", "setup"]

# The website's public Firebase web key (cainode.md 2.2): the identity host
# refuses other keys, as Google does for a key of another project.
WEB_KEY = "AIzaSyAbLy_s6hJqVNr2ZN0UHHiCbJX1X8smTws"

# Where the site's sign-in URL points. Clients only cut the code out of it
# (CAINode: the second query pair; CS: after "oobCode="), none fetches it.
ACTION_URL = "https://auth.character.ai/__/auth/action"

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


@dataclass(frozen=True)
class Mail:
    """One sign-in email the emulator "sent"."""

    to: str
    link: str
    sent_at: float

    @property
    def text(self) -> str:
        """The email's body."""
        return f"Click the link below to sign in to Character.AI:\n{self.link}\n"


class Outbox:
    """The emails the emulator sent, oldest first (thread-safe).

    Tests wait for one with :meth:`wait_for`; :meth:`subscribe` adds a
    callback run for each new email (the command line prints them).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._mails: List[Mail] = []
        self._listeners: List[Callable[[Mail], None]] = []

    def put(self, mail: Mail) -> None:
        """Deliver an email (server side)."""
        with self._cond:
            self._mails.append(mail)
            listeners = list(self._listeners)
            self._cond.notify_all()
        for listener in listeners:
            listener(mail)

    def subscribe(self, listener: Callable[[Mail], None]) -> None:
        """Call ``listener(mail)`` for every email sent from now on."""
        with self._cond:
            self._listeners.append(listener)

    def last(self, to: Optional[str] = None) -> Optional[Mail]:
        """The newest email (to ``to``, when given), or None."""
        with self._cond:
            for mail in reversed(self._mails):
                if to is None or mail.to.lower() == to.lower():
                    return mail
        return None

    def wait_for(self, to: Optional[str] = None, timeout: float = 10.0, after: int = 0) -> Mail:
        """The first email (to ``to``) among those sent after the first ``after``, waiting
        up to ``timeout`` seconds for it; :class:`TimeoutError` if none came."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for mail in self._mails[after:]:
                    if to is None or mail.to.lower() == to.lower():
                        return mail
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no sign-in email to {to or 'anyone'} in {timeout:g} s")
                self._cond.wait(remaining)

    def clear(self) -> None:
        """Forget every email."""
        with self._cond:
            self._mails.clear()

    def __iter__(self):
        with self._cond:
            return iter(list(self._mails))

    def __len__(self) -> int:
        with self._cond:
            return len(self._mails)

    def __getitem__(self, index: int) -> Mail:
        with self._cond:
            return self._mails[index]


@dataclass
class Attempt:
    """One sign-in attempt: the link's id, its one-time code and what happened to it."""

    id: str
    email: str
    oob_code: str
    created: float
    opened: bool = False
    used: bool = False
    expired: bool = False


class LoginDesk:
    """The emulator's side of the email-link login: attempts, identity tokens, outbox, faults.

    ``link_ttl`` is how long a link's code stays valid, in seconds.
    """

    def __init__(self, link_ttl: float = 3600.0) -> None:
        self.link_ttl = link_ttl
        self.outbox = Outbox()
        self.attempts: dict = {}
        self.id_tokens: dict = {}
        self.refused: list = []
        self._lock = threading.Lock()

    # -- faults
    def refuse(self, address: str) -> None:
        """Refuse to send links to ``address`` (or to a whole domain: ``"@example.org"``)."""
        with self._lock:
            self.refused.append(address.lower())

    def expire(self, to: Optional[str] = None) -> int:
        """Expire the codes of every link sent so far (to ``to``); returns how many."""
        with self._lock:
            hit = [a for a in self.attempts.values() if to is None or a.email == to.lower()]
            for a in hit:
                a.expired = True
        return len(hit)

    def clear(self) -> None:
        """Forget attempts, identity tokens, faults and emails."""
        with self._lock:
            self.attempts.clear()
            self.id_tokens.clear()
            self.refused.clear()
        self.outbox.clear()

    # -- used by the routes
    def is_refused(self, email: str) -> bool:
        """True if a fault refuses this address."""
        email = email.lower()
        with self._lock:
            return any(
                email == r or (r.startswith("@") and email.endswith(r)) for r in self.refused
            )

    def new_attempt(self, email: str) -> Attempt:
        """Record a new attempt for ``email``."""
        attempt = Attempt(
            id=str(uuid.uuid4()),
            email=email.lower(),
            oob_code=secrets.token_urlsafe(36),
            created=time.monotonic(),
        )
        with self._lock:
            self.attempts[attempt.id] = attempt
        return attempt

    def is_expired(self, attempt: Attempt) -> bool:
        """True once the attempt's code is past its time (or expired by a fault)."""
        return attempt.expired or time.monotonic() - attempt.created > self.link_ttl

    def by_code(self, code: str) -> Optional[Attempt]:
        """The attempt whose one-time code this is."""
        with self._lock:
            for a in self.attempts.values():
                if secrets.compare_digest(a.oob_code, code):
                    return a
        return None


def desk_of(ctx) -> LoginDesk:
    """The login desk of an emulator context (created on first use)."""
    desk = ctx.__dict__.get("login_desk")
    if desk is None:
        desk = ctx.__dict__.setdefault("login_desk", LoginDesk())
    return desk


# -- helpers ------------------------------------------------------------------------------


def _google_error(message: str, status: int = 400) -> ApiError:
    # Google's error shape (Identity Toolkit REST API reference).
    return ApiError(
        status,
        {
            "error": {
                "code": status,
                "message": message,
                "errors": [{"message": message, "domain": "global", "reason": "invalid"}],
            }
        },
    )


def _web_base(request: web.Request) -> str:
    return ctx_of(request).base_url + "/web"


def _action_url(request: web.Request, attempt: Attempt) -> str:
    """The sign-in URL in the order the clients expect: mode, oobCode, apiKey, continueUrl."""
    cont = f"{_web_base(request)}/login/{attempt.id}?email={quote(attempt.email, safe='')}&next=%2F"
    return (
        f"{ACTION_URL}?mode=signIn&oobCode={attempt.oob_code}&apiKey={WEB_KEY}"
        f"&continueUrl={quote(cont, safe='')}&lang=en"
    )


def _user_by_email(state, email: str) -> Optional[dict]:
    for u in state.list("user"):
        if str(u.get("email", "")).lower() == email:
            return u
    return None


def _new_account(state, email: str) -> dict:
    """A new account for an address never seen (what the site does on a first login)."""
    users = state.list("user")
    base = re.sub(r"[^A-Za-z0-9_]", "", email.split("@", 1)[0])[:20] or "user"
    taken = {u.get("username") for u in users}
    username, n = base, 1
    while username in taken:
        n += 1
        username = f"{base}{n}"
    doc = {
        "id": max([int(u["id"]) for u in users] + [100000000]) + 1,
        "username": username,
        "name": username,
        "first_name": username,
        "email": email,
        "bio": "",
        "avatar_file_name": "",
        "avatar_type": "DEFAULT",
        "web_next_auth": "",
        "num_followers": 0,
        "num_following": 0,
        "subscription_type": "NONE",
    }
    state.put("user", doc["id"], doc, ref="", if_absent=True)
    return doc


# -- routes -------------------------------------------------------------------------------


async def send_link(request: web.Request) -> web.Response:
    """POST /web/api/trpc/auth.login?batch=1 (CAINode: email only; CS adds "host")."""
    ctx = ctx_of(request)
    desk = desk_of(ctx)
    body = await read_json(request)
    try:
        email = body["0"]["json"]["email"]
    except (KeyError, TypeError):
        raise trpc_error(400, "email is required", "auth.login") from None
    if not isinstance(email, str) or not _EMAIL_RE.match(email.strip()):
        raise trpc_error(400, "Invalid email", "auth.login")
    email = email.strip().lower()
    if desk.is_refused(email):
        raise trpc_error(400, "We could not send a sign-in link to this address", "auth.login")
    attempt = desk.new_attempt(email)
    link = f"{_web_base(request)}/login/{attempt.id}"
    ctx.event("login link sent", to=email)
    desk.outbox.put(Mail(to=email, link=link, sent_at=time.time()))
    # The reply value is the attempt id that CAINode polls with (inferred to be the
    # uuid of the emailed link: cainode.md "Evidence notes").
    return jr([{"result": {"data": {"json": attempt.id}}}])


async def polling(request: web.Request) -> web.Response:
    """GET /web/login/polling/?uuid=ID: pending until the link is opened (values other than
    "done" are not documented anywhere; clients treat them all as "keep polling")."""
    desk = desk_of(ctx_of(request))
    attempt = desk.attempts.get(request.query.get("uuid", ""))
    if attempt is None:
        return jr({"result": "unknown"})
    if not attempt.opened:
        return jr({"result": "pending"})
    return jr({"result": "done", "value": _action_url(request, attempt)})


_PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
    "<title>{title}</title></head><body><main><h1>{title}</h1><p>{text}</p></main>"
    "{script}</body></html>"
)


async def login_page(request: web.Request) -> web.Response:
    """GET /web/login/ID: the link in the email. Opening it signs the attempt in (the page's
    own script would finish the sign-in in a browser); the page embeds the sign-in URL in
    a Next.js chunk, as the site's does (others.md 1.5)."""
    desk = desk_of(ctx_of(request))
    attempt = desk.attempts.get(request.match_info["attempt"])
    if attempt is None:
        page = _PAGE.format(title="Page not found", text="This link is not valid.", script="")
        return web.Response(text=page, status=404, content_type="text/html")
    if desk.is_expired(attempt) or attempt.used:
        page = _PAGE.format(
            title="This link has expired",
            text="Sign-in links can be used once, for a limited time. Ask for a new one.",
            script="",
        )
        return web.Response(text=page, content_type="text/html")
    attempt.opened = True
    url = _action_url(request, attempt).replace("&", "\\u0026")
    chunk = f'self.__next_f.push([1,"5:[\\"$\\",\\"$L6\\",null,{{\\"url\\":\\"{url}\\"}}]\\n"])'
    page = _PAGE.format(
        title="You're signed in",
        text=f"Signed in as {attempt.email}. You can close this tab and go back to the app.",
        script=f"<script>{chunk}</script>",
    )
    return web.Response(text=page, content_type="text/html")


async def sign_in_with_email_link(request: web.Request) -> web.Response:
    """POST /google/v1/accounts:signInWithEmailLink?key=K (Identity Toolkit)."""
    desk = desk_of(ctx_of(request))
    if request.query.get("key") != WEB_KEY:
        raise _google_error("API key not valid. Please pass a valid API key.")
    body = await read_json(request)
    if not isinstance(body, dict):
        raise _google_error("INVALID_JSON_PAYLOAD")
    email, code = body.get("email"), body.get("oobCode")
    if not isinstance(email, str) or not _EMAIL_RE.match(email.strip()):
        raise _google_error("INVALID_EMAIL")
    attempt = desk.by_code(code) if isinstance(code, str) and code else None
    if attempt is None or attempt.used:
        raise _google_error("INVALID_OOB_CODE")
    if desk.is_expired(attempt):
        raise _google_error("EXPIRED_OOB_CODE")
    if attempt.email != email.strip().lower():
        raise _google_error("INVALID_EMAIL")
    attempt.used = True
    id_token = "emu-idt." + secrets.token_urlsafe(32)
    desk.id_tokens[id_token] = attempt.email
    return jr(
        {
            "kind": "identitytoolkit#EmailLinkSigninResponse",
            "idToken": id_token,
            "email": attempt.email,
            "refreshToken": "emu-rt." + secrets.token_urlsafe(24),
            "expiresIn": "3600",
            "localId": uuid.uuid5(uuid.NAMESPACE_URL, attempt.email).hex[:28],
            "isNewUser": False,
        }
    )


async def send_oob_code(request: web.Request) -> web.Response:
    """POST /google/v1/accounts:sendOobCode?key=K: kramcat's way of sending the link, straight
    from the identity host (others.md 1.4); the link is Firebase's action URL."""
    ctx = ctx_of(request)
    desk = desk_of(ctx)
    if request.query.get("key") != WEB_KEY:
        raise _google_error("API key not valid. Please pass a valid API key.")
    body = await read_json(request)
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(body, dict) or body.get("requestType") != "EMAIL_SIGNIN":
        raise _google_error("INVALID_REQ_TYPE")
    if not isinstance(email, str) or not _EMAIL_RE.match(email.strip()):
        raise _google_error("INVALID_EMAIL")
    email = email.strip().lower()
    if desk.is_refused(email):
        raise _google_error("INVALID_EMAIL")
    attempt = desk.new_attempt(email)
    cont = body.get("continueUrl") if isinstance(body.get("continueUrl"), str) else ""
    link = (
        f"{ctx.base_url}/google/__/auth/action?mode=signIn&oobCode={attempt.oob_code}"
        f"&apiKey={WEB_KEY}&continueUrl={quote(cont or ctx.base_url + '/web/', safe='')}&lang=en"
    )
    ctx.event("login link sent", to=email)
    desk.outbox.put(Mail(to=email, link=link, sent_at=time.time()))
    return jr({"kind": "identitytoolkit#GetOobConfirmationCodeResponse", "email": email})


async def action(request: web.Request) -> web.Response:
    """GET /google/__/auth/action: Firebase's link handler. It sends the browser on to the
    continue URL with the code in the query, where kramcat cuts it out (others.md 1.4). A
    continue URL off the emulator (``https://beta.character.ai``) becomes the emulator's
    own site, so the browser stays here."""
    ctx = ctx_of(request)
    desk = desk_of(ctx)
    code = request.query.get("oobCode", "")
    attempt = desk.by_code(code) if code else None
    if attempt is None:
        raise _google_error("INVALID_OOB_CODE")
    attempt.opened = True
    target = request.query.get("continueUrl", "")
    if not target.startswith(ctx.base_url + "/"):
        target = ctx.base_url + "/web/"
    query = urlencode(
        {"apiKey": WEB_KEY, "oobCode": attempt.oob_code, "mode": "signIn", "lang": "en"}
    )
    raise web.HTTPFound(target + ("&" if "?" in target else "?") + query)


async def google_idp(request: web.Request) -> web.Response:
    """POST /plus/dj-rest-auth/google_idp/ {"id_token"} -> {"key"} (cainode.md 2.2). The
    account with that address (a new one for a new address); a token revoked by logout is
    replaced by a new one, as dj-rest-auth does."""
    ctx = ctx_of(request)
    desk = desk_of(ctx)
    body = await read_json(request)
    id_token = body.get("id_token") if isinstance(body, dict) else None
    email = desk.id_tokens.get(id_token) if isinstance(id_token, str) else None
    if email is None:
        raise ApiError(400, {"non_field_errors": ["Invalid id_token."]})
    state = ctx.state
    user = _user_by_email(state, email) or _new_account(state, email)
    meta = state.meta("user", user["id"])
    token = meta[1] if meta and meta[1] else None
    if not token or state.user_by_token(token) is None or token.startswith("revoked:"):
        token = secrets.token_hex(20)
        state.put("user", user["id"], user, ref=token, touch=False)
        ctx.event("account token issued", username=user["username"])
    return jr({"key": token})


def setup(app: web.Application) -> None:
    """Register the login routes."""
    r = app.router
    r.add_post("/web/api/trpc/auth.login", send_link)
    r.add_get("/web/login/polling/", polling)
    r.add_get("/web/login/polling", polling)
    r.add_get("/web/login/{attempt}", login_page)
    r.add_post("/google/v1/accounts:signInWithEmailLink", sign_in_with_email_link)
    r.add_post("/google/v1/accounts:sendOobCode", send_oob_code)
    r.add_get("/google/__/auth/action", action)
    r.add_post("/plus/dj-rest-auth/google_idp/", google_idp)
