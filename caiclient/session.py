"""The Session: auth, configuration, transports and the resources hanging off them."""

from __future__ import annotations

import logging
import os
import re
import threading
import warnings
import weakref
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Type, TypeVar, Union
from urllib.parse import urlsplit

from caiclient import _validate as _v
from caiclient import errors
from caiclient.endpoints import Endpoints
from caiclient.transport import _fork
from caiclient.transport._inline import may_block
from caiclient.transport.http import (
    DEFAULT_TIMEOUT,
    Credentials,
    HTTPTransport,
    RetryPolicy,
    Timeout,
)

if TYPE_CHECKING:  # pragma: no cover
    from types import TracebackType

    from caiclient.auth import Auth
    from caiclient.models import Avatar
    from caiclient.resources.account import Account
    from caiclient.resources.characters import Characters
    from caiclient.resources.chats import Chats
    from caiclient.resources.media import Media
    from caiclient.resources.personas import Personas
    from caiclient.resources.rooms import Rooms
    from caiclient.resources.users import Users
    from caiclient.resources.voices import Voices
    from caiclient.transport.impersonate import Impersonation
    from caiclient.transport.rooms import RoomSocketTransport
    from caiclient.transport.ws import Connect, WebSocketTransport

__all__ = ["Session"]

log = logging.getLogger("caiclient")

S = TypeVar("S", bound="Session")

_SECRETS = frozenset({"self", "token", "web_next_auth", "__class__"})
_TOKEN_RE = re.compile(r"^[A-Za-z0-9._~+/=:-]+$")


def _clean_token(token: Any, name: str) -> Optional[str]:
    if token is None:
        return None
    if not isinstance(token, str):
        raise errors.ValidationError(f"{name} must be a string", field=name)
    value = token.strip()
    if value.lower().startswith("token "):
        value = value[6:].strip()
    if not value:
        return None
    if not _TOKEN_RE.match(value):
        # Never echo the value: it is a secret.
        raise errors.ValidationError(
            f"{name} contains characters a token cannot contain (spaces, quotes, ...)", field=name
        )
    return value


def _clean_cookie(value: Any, name: str) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str):
        raise errors.ValidationError(f"{name} must be a string", field=name)
    value = value.strip()
    if value.startswith("web-next-auth="):
        value = value[len("web-next-auth=") :]
    if not value:
        return None
    if any(c in value for c in ";\r\n\t \"'"):
        raise errors.ValidationError(
            f"{name} contains characters a cookie cannot contain", field=name
        )
    return value


class Session:
    """A connection to the service: auth, one pooled HTTP transport, one websocket.

    Args:
        token: the account's API token (the value after ``Token`` in the
            website's ``Authorization`` header). ``None`` gives a guest
            session, which can read public data (search, characters,
            profiles, voices) but raises
            :class:`~caiclient.errors.AuthRequiredError` for anything that
            needs an account, before sending it.
        web_next_auth: the website's ``web-next-auth`` cookie, needed by
            :meth:`Media.upload_avatar <caiclient.resources.media.Media.upload_avatar>`.
        endpoints: where the service lives (default: the real service;
            ``Endpoints.for_emulator(url)`` for the bundled emulator).
        http: any object with the API of ``requests.Session.request`` (for
            example ``curl_cffi.requests.Session(impersonate="chrome")`` for
            users blocked by the service's bot protection). Default: pooled
            ``requests`` sessions owned by this Session.
        timeout: seconds, or ``(connect, read)``, for every HTTP call and
            for the websocket's connect and per-frame waits.
        max_retries: how often a failed *idempotent* request is retried.
        retry: a full :class:`~caiclient.transport.http.RetryPolicy`
            (overrides ``max_retries``).
        headers: extra headers for every request (e.g. a custom User-Agent).
        reply_timeout: the longest a chat reply may take in total, in seconds.
        ws_connect: how to open the chat websocket (a function
            ``(url, headers, timeout) -> connection``; default:
            ``websocket-client``). A seam for tests and proxies.
        impersonate: a browser to impersonate (``"chrome"``, ``"firefox"``,
            ``"safari"``, ``"edge"`` or a versioned name such as
            ``"chrome136"``): HTTP *and* the websockets then go through
            curl_cffi with that browser's TLS fingerprint and headers, which
            gets through where the service refuses plain clients' websocket
            handshakes. Needs the ``impersonate`` extra
            (``pip install "caiclient[impersonate]"``); cannot be combined
            with ``http`` or ``ws_connect``.

    Before each websocket handshake (the first and every reconnect) the
    Session fetches the website once, as the site's own page would, and sends
    its cookies (``edge_rollout``, and what the cookie jar holds for the
    service's hosts) beside the token, with the same browser-like headers as
    HTTP: the service refuses some handshakes without them.

    A Session is thread-safe: share one per process (e.g. at module level
    in a Django or Flask app). Close it with :meth:`close` or use it as a
    context manager.
    """

    def __init__(
        self,
        token: Optional[str] = None,
        *,
        web_next_auth: Optional[str] = None,
        endpoints: Optional[Endpoints] = None,
        http: Any = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        retry: Optional[RetryPolicy] = None,
        headers: Optional[Mapping[str, str]] = None,
        reply_timeout: float = 180.0,
        ws_connect: Optional[Connect] = None,
        impersonate: Optional[str] = None,
    ) -> None:
        # Every setting but the secrets, for with_token() (first line: locals() are the arguments).
        self._options = {k: v for k, v in locals().items() if k not in _SECRETS}
        self._closed = True  # until built: __del__ of a half-built Session does nothing
        if endpoints is not None and not isinstance(endpoints, Endpoints):
            raise errors.ValidationError(
                "endpoints must be a caiclient.Endpoints", field="endpoints"
            )
        _check_timeout(timeout)
        reply_timeout = _v.seconds(reply_timeout, "reply_timeout")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise errors.ValidationError("max_retries must be an integer >= 0", field="max_retries")
        if headers is not None:
            if not isinstance(headers, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
            ):
                raise errors.ValidationError(
                    "headers must be a mapping of header names to string values", field="headers"
                )
            if any(_HEADER_BAD.search(k) or _HEADER_BAD.search(v) for k, v in headers.items()):
                raise errors.ValidationError(
                    "headers must not contain line breaks or control characters", field="headers"
                )
        self._impersonation: Optional[Impersonation] = None
        if impersonate is not None:
            if http is not None or ws_connect is not None:
                raise errors.ValidationError(
                    "impersonate= brings its own HTTP session and websocket: "
                    "pass either impersonate= or http=/ws_connect=, not both",
                    field="impersonate",
                )
            from caiclient.transport.impersonate import Impersonation

            self._impersonation = Impersonation(impersonate)
            http, ws_connect = self._impersonation.http, self._impersonation.connect
        self._credentials = Credentials(
            token=_clean_token(token, "token"),
            web_next_auth=_clean_cookie(web_next_auth, "web_next_auth"),
        )
        self.endpoints: Endpoints = endpoints or Endpoints()
        self.timeout: Timeout = timeout
        self.reply_timeout = reply_timeout
        self.http = HTTPTransport(
            self.endpoints,
            self._credentials,
            http=http,
            timeout=timeout,
            retry=retry or RetryPolicy(max_retries=max_retries),
            headers=headers,
        )
        self._lock = threading.RLock()
        self._account_id: Optional[str] = None
        self._ws: Optional[WebSocketTransport] = None
        self._room_ws: Optional[RoomSocketTransport] = None
        # How every socket of the session opens (chat, rooms): the impersonating
        # connect when impersonate= is given.
        self._ws_connect = ws_connect
        self._closed = False
        _fork.register(self)

    def _after_fork(self) -> None:
        """In a forked child: a fresh lock (the transports reset themselves)."""
        self._lock = threading.RLock()

    def __del__(self) -> None:
        if getattr(self, "_closed", True):
            return
        warnings.warn(
            f"unclosed {self!r}: call close() or use it as a context manager",
            ResourceWarning,
            stacklevel=2,
            source=self,
        )
        try:
            self._shutdown(wait=False)
        except Exception:  # pragma: no cover - never raise from a finalizer
            pass

    # ------------------------------------------------------------ building

    @classmethod
    def from_env(cls: Type[S], **kwargs: Any) -> S:
        """A Session configured from the environment.

        ``CAI_TOKEN`` (the token), else the token ``caiclient login`` stored
        for these endpoints (``profile=``, else ``CAI_PROFILE``, else
        ``default``; see :mod:`caiclient.credentials`), else a guest session;
        ``CAI_WEB_NEXT_AUTH`` (the site cookie) and ``CAI_EMULATOR_URL``
        (point at an emulator instead of the service). Keyword arguments
        are passed on to the constructor and win over the environment.
        """
        profile = kwargs.pop("profile", None)
        kwargs.setdefault("web_next_auth", os.environ.get("CAI_WEB_NEXT_AUTH") or None)
        emulator = os.environ.get("CAI_EMULATOR_URL")
        if emulator and "endpoints" not in kwargs:
            kwargs["endpoints"] = Endpoints.for_emulator(emulator)
        if "token" not in kwargs:
            from caiclient.credentials import stored_token

            env_token = os.environ.get("CAI_TOKEN") or None
            kwargs["token"] = env_token or stored_token(kwargs.get("endpoints"), profile)
        return cls(**kwargs)

    def with_token(self: S, token: Optional[str]) -> S:
        """A new Session with these settings (endpoints, HTTP session, timeouts...) and ``token``.

        The ``web_next_auth`` cookie belongs to a browser login and is not carried over.
        """
        return type(self)(token, **self._options)

    # ------------------------------------------------------------ identity

    @property
    def is_guest(self) -> bool:
        """True when the session has no token (public data only)."""
        return self._credentials.token is None

    @property
    def is_authenticated(self) -> bool:
        """True when the session has a token."""
        return self._credentials.token is not None

    @property
    def impersonate(self) -> Optional[str]:
        """The browser this session impersonates (``Session(impersonate=...)``), or ``None``."""
        return self._impersonation.target if self._impersonation is not None else None

    @property
    def credentials(self) -> Credentials:
        """The session's secrets (immutable; its repr hides them)."""
        return self._credentials

    def require_account(self, what: str = "this") -> None:
        """Raise :class:`~caiclient.errors.AuthRequiredError` for a guest session."""
        if self.is_guest:
            raise errors.AuthRequiredError(
                f"{what} needs an account: create the Session with a token "
                "(Session(token=...) or CAI_TOKEN with Session.from_env())"
            )

    @property
    def account_id(self) -> str:
        """The account's numeric id as a string (fetched once, then cached).

        The websocket needs it as the author of the user's messages.
        """
        self.require_account("account_id")
        known = self._account_id
        if known is not None:
            return known
        may_block()  # fetched over HTTP (see transport._inline)
        with self._lock:
            if self._account_id is None:
                me = self.account.me()
                if me.account_id is None:
                    raise errors.ParseError("the account has no id (GET /chat/user/)")
                self._account_id = str(me.account_id)
            return self._account_id

    # ------------------------------------------------------------ resources

    def _resource(self, name: str, factory: Any) -> Any:
        with self._lock:
            res = self.__dict__.get("_res_" + name)
            if res is None:
                res = factory(self)
                self.__dict__["_res_" + name] = res
            return res

    @property
    def auth(self) -> Auth:
        """Logging in by email (send the link, wait for the click, exchange) and out."""
        from caiclient.auth import Auth

        return self._resource("auth", Auth)

    @property
    def account(self) -> Account:
        """Your account (profile, settings, followers, your characters and voices)."""
        from caiclient.resources.account import Account

        return self._resource("account", Account)

    @property
    def personas(self) -> Personas:
        """Your personas."""
        from caiclient.resources.personas import Personas

        return self._resource("personas", Personas)

    @property
    def users(self) -> Users:
        """Other users (public profiles, their voices, follow and unfollow)."""
        from caiclient.resources.users import Users

        return self._resource("users", Users)

    @property
    def characters(self) -> Characters:
        """Characters (info, search, discovery, votes, create and update)."""
        from caiclient.resources.characters import Characters

        return self._resource("characters", Characters)

    @property
    def chats(self) -> Chats:
        """Chats (create, list, history, send and stream messages, edit, pin, ...)."""
        from caiclient.resources.chats import Chats

        return self._resource("chats", Chats)

    @property
    def rooms(self) -> Rooms:
        """Group chats, "rooms" (several characters and people in one conversation)."""
        from caiclient.resources.rooms import Rooms

        return self._resource("rooms", Rooms)

    @property
    def voices(self) -> Voices:
        """Voices for text-to-speech (search, yours, upload, edit, delete)."""
        from caiclient.resources.voices import Voices

        return self._resource("voices", Voices)

    @property
    def media(self) -> Media:
        """Images and speech (generate images, upload avatars and images, TTS)."""
        from caiclient.resources.media import Media

        return self._resource("media", Media)

    @property
    def ws(self) -> WebSocketTransport:
        """The chat websocket transport (created on first use; connects lazily)."""
        from caiclient.transport.ws import WebSocketTransport

        self.require_account("chatting")
        ws = self._ws
        if ws is not None and not self._closed:
            return ws  # no lock: it may be held by a thread fetching account_id over HTTP
        with self._lock:
            if self._closed:
                raise errors.CaiError("the session is closed")
            if self._ws is None:
                self._ws = WebSocketTransport(
                    self.endpoints.ws, self._credentials, **self._ws_options()
                )
            return self._ws

    def _ws_options(self) -> Dict[str, Any]:
        """How both websockets (chat and group chat) are built, but for their URL."""
        connect_t, read_t = (
            self.timeout if isinstance(self.timeout, tuple) else (self.timeout, self.timeout)
        )
        return {
            "origin": self.endpoints.web,
            "connect_timeout": float(connect_t),
            "frame_timeout": float(read_t),
            "headers": self.http.extra_headers,
            "connect": self._ws_connect,
            # Weakly: the reader thread must not keep an unclosed Session alive.
            "cookies": _weakly(self._site_cookies, {}),
            "token_check": _weakly(self._token_accepted, None),
            "max_message_size": self.http.max_response_size,
        }

    @property
    def max_response_size(self) -> int:
        """The largest HTTP body or websocket message read, in bytes (default 64 MiB).

        A larger one raises :class:`~caiclient.errors.ResponseTooLarge` without
        being read into memory. Set it before the first chat command for the
        websocket to use it.
        """
        return int(self.http.max_response_size)

    @max_response_size.setter
    def max_response_size(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1024:
            raise errors.ValidationError(
                "max_response_size must be an integer number of bytes >= 1024",
                field="max_response_size",
            )
        self.http.max_response_size = value

    def _site_cookies(self) -> Dict[str, str]:
        """The website's cookies for the websocket handshake (fetched before each one).

        One unauthenticated GET of the site root, as node_characterai 2.0 and
        CAINode do for ``edge_rollout`` (others.md 1.7, cainode.md 1.3); then
        what the cookie jar holds for the service's hosts. Best effort: a
        failure leaves out what it could not get.
        """
        try:
            self.http.request("GET", self.endpoints.web + "/", auth=False, raw=True)
        except errors.CaiError as exc:
            log.debug("could not fetch the site for its cookies: %s", type(exc).__name__)
        hosts = {
            urlsplit(getattr(self.endpoints, n)).hostname or ""
            for n in ("plus", "neo", "web", "ws")
        }
        out: Dict[str, str] = {}
        for cookie in list(self.http.cookies):
            domain = (cookie.domain or "").lstrip(".")
            if cookie.value is None or not domain:
                continue
            if any(h == domain or h.endswith("." + domain) for h in hosts):
                out[cookie.name] = cookie.value
        return out

    def _token_accepted(self) -> Optional[bool]:
        """Whether HTTP accepts the token (asked after a refused websocket handshake)."""
        try:
            self.http.request("GET", self.endpoints.plus + "/chat/user/", idempotent=True)
        except (errors.AuthenticationError, errors.PermissionDenied) as exc:
            if isinstance(exc, errors.BlockedError):
                return None
            return False
        except errors.CaiError:
            return None
        return True

    @property
    def room_ws(self) -> RoomSocketTransport:
        """The group-chat socket transport (created on first use; connects lazily)."""
        from caiclient.transport.rooms import RoomSocketTransport

        self.require_account("group chats")
        with self._lock:
            if self._closed:
                raise errors.CaiError("the session is closed")
            if self._room_ws is None:
                self._room_ws = RoomSocketTransport(
                    self.endpoints.rooms_ws, self._credentials, **self._ws_options()
                )
            return self._room_ws

    # ------------------------------------------------------------ low level

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Optional[Mapping[str, Any]] = None,
        json: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        idempotent: Optional[bool] = None,
    ) -> Any:
        """Send any request to the service and return its decoded JSON.

        The escape hatch for an endpoint the service added or changed
        before this library caught up. ``url`` is absolute
        (``"https://neo.character.ai/chats/recent/"``) or starts with a host
        name of :class:`Endpoints` and a colon (``"neo:/chats/recent/"``).
        Auth, headers, retries and error mapping are the same as for every
        other call.
        """
        if not isinstance(method, str) or not method.isalpha():
            raise errors.ValidationError(
                "method must be an HTTP verb such as 'GET'", field="method"
            )
        full = self.url(url)
        kwargs: Any = {"params": params, "headers": headers, "idempotent": idempotent}
        if json is not None:
            kwargs["json"] = json
        return self.http.request(method, full, **kwargs)

    def url(self, url: str) -> str:
        """Resolve ``"neo:/path"``-style URLs against :attr:`endpoints`."""
        if not isinstance(url, str) or not url:
            raise errors.ValidationError("url must be a non-empty string", field="url")
        host, sep, rest = url.partition(":")
        if sep and host in ("plus", "neo", "web", "cdn") and rest.startswith("/"):
            return getattr(self.endpoints, host) + rest
        if not url.startswith(("http://", "https://")):
            raise errors.ValidationError(
                "url must be absolute or start with plus:/, neo:/, web:/ or cdn:/", field="url"
            )
        return url

    def ping(self) -> bool:
        """True if the service answers (works for guests)."""
        try:
            self.http.request("GET", self.endpoints.neo + "/ping/", auth=False)
        except errors.APIError:
            return False
        return True

    def avatar_url(
        self, avatar: Union[Avatar, str], size: int = 400, animated: bool = False
    ) -> str:
        """The CDN URL of an avatar (an :class:`~caiclient.models.Avatar` or a file name)."""
        from caiclient.models import Avatar  # the models are imported on first use

        name = avatar.file_name if isinstance(avatar, Avatar) else avatar
        if not isinstance(name, str) or not name:
            raise errors.ValidationError("avatar must be an Avatar or a file name", field="avatar")
        # A file name, or a path below avatars/ the service hands out ("uploaded/x.webp"):
        # never one that climbs out of it or rewrites the URL.
        parts = name.split("/")
        if (
            name.startswith("/")
            or any(p in ("", ".", "..") for p in parts)
            or any(c in name for c in "?#\\%")
            or _CONTROL.search(name)
        ):
            raise errors.ValidationError(
                "avatar must be an avatar file name (no '..', '/'-prefix, '?', '#' or '%')",
                field="avatar",
            )
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 4096:
            raise errors.ValidationError("size must be an integer from 1 to 4096", field="size")
        return self.endpoints.avatar_url(name, size=size, animated=animated)

    # ------------------------------------------------------------ lifecycle

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has been called."""
        return self._closed

    def close(self) -> None:
        """Close the websocket and the pooled HTTP connections. Idempotent.

        When it returns, no reader thread or socket of this Session lives on
        and nothing more is sent, even if another thread was connecting.
        """
        self._shutdown(wait=True)

    def _shutdown(self, wait: bool) -> None:
        # No lock wait when called by the garbage collector (any thread, any state).
        got = self._lock.acquire(timeout=5.0 if wait else 0.0)
        try:
            if self._closed:
                return
            self._closed = True
            ws, self._ws = self._ws, None
            room_ws, self._room_ws = self._room_ws, None
        finally:
            if got:
                self._lock.release()
        for transport in (ws, room_ws):
            if transport is not None:
                transport.close(wait=wait)
        self.http.close()
        if self._impersonation is not None:
            self._impersonation.close()

    def __enter__(self: S) -> S:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        who = "guest" if self.is_guest else "authenticated"
        where = "service" if self.endpoints == Endpoints() else self.endpoints.neo.rsplit("/", 1)[0]
        state = ", closed" if self._closed else ""
        return f"<caiclient.Session {who} at {where}{state}>"


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEADER_BAD = re.compile(r"[\r\n\x00]")


def _weakly(method: Any, gone: Any) -> Any:
    """Call a bound method through a weak reference (``gone`` once its object is)."""
    ref = weakref.WeakMethod(method)

    def call() -> Any:
        m = ref()
        return gone if m is None else m()

    return call


def _is_seconds(v: Any) -> bool:
    try:
        _v.seconds(v, "timeout")
    except errors.ValidationError:
        return False
    return True


def _check_timeout(timeout: Any) -> None:
    values = timeout if isinstance(timeout, tuple) else (timeout,)
    if len(values) not in (1, 2) or not all(_is_seconds(v) for v in values):
        raise errors.ValidationError(
            "timeout must be a positive number of seconds or a (connect, read) pair",
            field="timeout",
        )
