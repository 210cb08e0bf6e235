"""HTTP transport: headers, auth, timeouts, retries and error mapping.

Building a request (:func:`build_headers`) and interpreting a response
(:func:`interpret_response`) are pure functions; :class:`HTTPTransport` does
the one I/O call in between, through any object with the API of
``requests.Session.request`` (the seam that lets a user plug in, e.g., a
browser-impersonating session, and lets tests swap the network).
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import os
import random
import re
import socket
import threading
import time
import urllib.request
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Tuple, Union
from urllib.parse import urlsplit

import attrs
import requests
import urllib3

from caiclient import _json, errors
from caiclient._validate import encodable
from caiclient.endpoints import Endpoints
from caiclient.transport import _fork
from caiclient.transport._inline import may_block

__all__ = [
    "DEFAULT_HEADERS",
    "DEFAULT_MAX_RESPONSE_SIZE",
    "DEFAULT_TIMEOUT",
    "USER_AGENT",
    "Credentials",
    "HTTPTransport",
    "Response",
    "RetryPolicy",
    "build_headers",
    "interpret_response",
]

log = logging.getLogger("caiclient.http")

USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
"""The browser User-Agent sent by default (the service's bot protection dislikes library UAs)."""

DEFAULT_HEADERS: Mapping[str, str] = {
    "User-Agent": USER_AGENT,
    "Accept": "application/json, text/plain, */*",
    "Accept-Language": "en-US,en;q=0.9",
}

DEFAULT_TIMEOUT: Tuple[float, float] = (10.0, 60.0)
"""Default (connect, read) timeout in seconds for every HTTP call."""

Timeout = Union[float, Tuple[float, float]]

DEFAULT_MAX_RESPONSE_SIZE = 64 * 1024 * 1024
"""The largest HTTP body or websocket message read, in bytes (64 MiB; the service's are KBs)."""


class Secret(str):
    """A string whose ``repr`` hides it: header values that carry the token.

    It is a real ``str`` (``requests`` and ``http.client`` encode it as
    usual), but a dict of headers, a traceback's locals or a debugger shows
    ``'<secret>'`` instead of the value.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'<secret>'"


def check_encodable(value: Any, name: str) -> None:
    """Raise :class:`~caiclient.errors.ValidationError` for text UTF-8 cannot encode.

    A lone surrogate (``"hi \\ud800"``) is the usual culprit. Walks dicts,
    lists and tuples; used on every body and query before a request goes out.
    """
    if isinstance(value, str):
        encodable(value, name)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            check_encodable(k, name)
            check_encodable(v, name)
    elif isinstance(value, (list, tuple)):
        for v in value:
            check_encodable(v, name)


@attrs.frozen(repr=False)
class Credentials:
    """The secrets of a session. Immutable; the repr never shows them."""

    token: Optional[str] = None
    web_next_auth: Optional[str] = None

    def __repr__(self) -> str:
        return (
            f"Credentials(token={'<set>' if self.token else None}, "
            f"web_next_auth={'<set>' if self.web_next_auth else None})"
        )


@attrs.frozen
class RetryPolicy:
    """When and how long to wait before trying a failed request again.

    Only requests that are safe to repeat are retried: idempotent ones
    (GET, HEAD, OPTIONS, PUT, DELETE, and reads the resources mark as such)
    on connection errors, timeouts and the statuses in ``retry_statuses``;
    any request on a failed *connect* (nothing was sent) or a 429 (the
    service refused it). A chat message is never resent blindly.

    The delay is exponential (``backoff * 2**attempt``, at most
    ``max_backoff``) with random jitter, or the server's ``Retry-After`` when
    it gives one. A ``Retry-After`` longer than ``max_retry_after`` is not
    waited for: :class:`~caiclient.errors.RateLimited` is raised at once.
    ``sleep`` is injectable for tests.
    """

    max_retries: int = 2
    backoff: float = 0.5
    max_backoff: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 60.0
    retry_statuses: FrozenSet[int] = frozenset({408, 429, 500, 502, 503, 504})
    sleep: Callable[[float], None] = attrs.field(default=time.sleep, eq=False, repr=False)
    rand: Callable[[], float] = attrs.field(default=random.random, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.max_retries < 0:
            raise errors.ValidationError("max_retries must be >= 0", field="max_retries")

    def delay(self, attempt: int, retry_after: Optional[float] = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        if retry_after is not None:
            return max(0.0, retry_after)
        base = min(self.max_backoff, self.backoff * (2**attempt))
        return base * (1 + self.jitter * (2 * self.rand() - 1))


@attrs.frozen
class Response:
    """What :func:`interpret_response` needs of an HTTP response."""

    status: int
    headers: Mapping[str, str]
    content: bytes


# -------------------------------------------------------------- pure helpers


def build_headers(
    url: str,
    endpoints: Endpoints,
    credentials: Credentials,
    *,
    auth: bool = True,
    json_body: bool = True,
    extra: Optional[Mapping[str, str]] = None,
) -> Dict[str, str]:
    """The headers of one request.

    The token goes only to the service's own API hosts (never to the CDN or
    to URLs the service hands back), and only when ``auth`` is true.
    """
    headers = dict(DEFAULT_HEADERS)
    host = endpoints.host_of(url)
    if host is not None:
        headers["Origin"] = endpoints.web
        headers["Referer"] = endpoints.web + "/"
    if json_body and host is not None:
        headers["Content-Type"] = "application/json"
    if auth and credentials.token and endpoints.is_service_url(url):
        headers["authorization"] = Secret(f"Token {credentials.token}")
    if extra:
        headers.update(extra)
        for name in ("Cookie", "cookie"):  # e.g. the web-next-auth cookie: hidden in reprs
            value = headers.get(name)
            if isinstance(value, str) and not isinstance(value, Secret):
                headers[name] = Secret(value)
    return headers


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def request_id_of(headers: Mapping[str, str]) -> Optional[str]:
    """The request id the service (or Cloudflare) put on a response, if any."""
    lower = {k.lower(): v for k, v in headers.items()}
    for name in ("x-request-id", "cf-ray", "x-amzn-requestid", "x-cloud-trace-context"):
        if lower.get(name):
            return lower[name]
    return None


_HTML_START = re.compile(rb"^\s*(<!doctype html|<html|<head|<body|<!--)", re.I)
_BLOCK_KINDS = (
    ("waiting_room", ("waiting room", "queue-it", "you are now in line", "cf-waitingroom")),
    (
        "challenge",
        ("just a moment", "cf-chl", "challenge-platform", "cf_chl", "checking your browser"),
    ),
    (
        "access_denied",
        ("access denied", "attention required", "error code: 1020", "sorry, you have been blocked"),
    ),
)


def _looks_like_html(headers: Mapping[str, str], content: bytes) -> bool:
    ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    return "text/html" in ctype.lower() or bool(_HTML_START.match(content[:200]))


def classify_html(content: bytes) -> str:
    """Which anti-bot page an HTML body is.

    One of ``challenge``, ``access_denied``, ``waiting_room`` or ``html``.
    """
    text = content[:20000].decode("utf-8", "replace").lower()
    for kind, needles in _BLOCK_KINDS:
        if any(n in text for n in needles):
            return kind
    return "html"


_BLOCK_HINTS = {
    "challenge": "the service's bot protection answered with a challenge page (Cloudflare)",
    "access_denied": "the service's bot protection denied access (Cloudflare)",
    "waiting_room": "the service put the request in its waiting room (high load)",
    "html": "the service answered with an HTML page instead of JSON",
}
_BLOCK_ADVICE = (
    "; slow down, or impersonate a browser "
    "(Session(impersonate='chrome'): the 'impersonate' extra, curl_cffi)"
)


def service_message(body: Any) -> Optional[str]:
    """The human-readable reason in an error body, whatever shape the service used."""
    if isinstance(body, list) and body:
        body = body[0]
    if not isinstance(body, dict):
        return body.strip()[:300] if isinstance(body, str) and body.strip() else None
    for key in ("comment", "error", "detail", "message", "msg", "reason"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict):
            inner = service_message(value)
            if inner:
                return inner
        if isinstance(value, list) and value:
            inner = service_message(value[0]) if isinstance(value[0], dict) else str(value[0])
            if inner:
                return inner
    if isinstance(body.get("errors"), list) and body["errors"]:
        return service_message(body["errors"][0])
    return None


def _decode_json(content: bytes) -> Any:
    return _json.loads(content.decode("utf-8"))  # too deep: a ValueError like any bad JSON


def interpret_response(method: str, url: str, response: Response) -> Any:
    """Turn an HTTP response into JSON, or raise the matching :mod:`caiclient.errors` exception.

    An empty 2xx body gives ``None``. A 2xx body that is not JSON raises
    :class:`~caiclient.errors.ParseError`; an HTML page raises
    :class:`~caiclient.errors.BlockedError` (for the statuses the service's
    bot protection uses) instead of a JSON error.
    """
    path = urlsplit(url).path or "/"
    status = response.status
    rid = request_id_of(response.headers)
    common: Dict[str, Any] = dict(
        status=status, method=method.upper(), path=path, request_id=rid, headers=response.headers
    )
    content = response.content or b""
    if _looks_like_html(response.headers, content) and (status < 300 or status in (403, 429, 503)):
        kind = classify_html(content)
        raise errors.BlockedError(
            _BLOCK_HINTS[kind] + _BLOCK_ADVICE,
            kind=kind,
            body=content[:2000].decode("utf-8", "replace"),
            **common,
        )
    body: Any
    try:
        body = _decode_json(content) if content.strip() else None
        decoded = True
    except (ValueError, UnicodeDecodeError):
        body = content[:2000].decode("utf-8", "replace")
        decoded = False
    if 200 <= status < 300:
        if not decoded:
            raise errors.ParseError(
                f"[{status} {method.upper()} {path}] the response is not valid JSON", body=body
            )
        return body
    cls = errors.error_class_for_status(status)
    message = service_message(body) if decoded else None
    if not decoded and _looks_like_html(response.headers, content):
        message = f"HTTP {status} with an HTML page instead of JSON"
    if cls is errors.RateLimited:
        raise errors.RateLimited(
            message,
            retry_after=parse_retry_after(_header(response.headers, "retry-after")),
            body=body,
            **common,
        )
    raise cls(message, body=body, **common)


def _header(headers: Mapping[str, str], name: str) -> Optional[str]:
    for k, v in headers.items():
        if k.lower() == name:
            return v
    return None


def check_status_ok(body: Any, method: str, url: str) -> Any:
    """Raise :class:`~caiclient.errors.ActionFailed` for a 200 body ``{"status": <not OK>}``."""
    if isinstance(body, dict) and "status" in body and body.get("status") != "OK":
        raise errors.ActionFailed(
            service_message(body) or f"status {body.get('status')!r}",
            status=200,
            method=method.upper(),
            path=urlsplit(url).path,
            body=body,
        )
    return body


def check_success(body: Any, method: str, url: str) -> Any:
    """Raise :class:`~caiclient.errors.ActionFailed` for a 200 body ``{"success": false}``."""
    if isinstance(body, dict) and "success" in body and not body.get("success"):
        raise errors.ActionFailed(
            service_message(body) or "success is false",
            status=200,
            method=method.upper(),
            path=urlsplit(url).path,
            body=body,
        )
    return body


# ------------------------------------------------------------------ the I/O

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_UNSET: Any = object()


class _Watchdog:
    """Ends HTTP attempts that outlive their deadline (a trickling status line or headers).

    ``requests`` bounds each socket read, not an attempt: a server sending a
    byte a second keeps a call alive forever. The pool classes below record
    the connection an attempt uses; at the deadline this thread shuts that
    socket down, the blocked read returns and the attempt fails as a timeout.
    One daemon thread per transport, started on first use, ended when idle
    for a second and by :meth:`stop` (``close()``).
    """

    def __init__(self) -> None:
        self._after_fork()
        self._ids = 0

    def _after_fork(self) -> None:
        self._cond = threading.Condition()
        self._watched: Dict[int, List[Any]] = {}  # id -> [deadline, conn or None, fired]
        self._thread: Optional[threading.Thread] = None  # threads do not survive a fork
        self._wake = math.inf  # when the thread wakes up next
        self._stopped = False

    def begin(self, deadline: float) -> int:
        with self._cond:
            self._ids += 1
            wid = self._ids
            self._watched[wid] = [deadline, None, False]
            if self._thread is None and not self._stopped:
                self._wake = math.inf
                self._thread = threading.Thread(
                    target=self._run, name="caiclient-http-watchdog", daemon=True
                )
                self._thread.start()
            elif deadline < self._wake:  # wake the thread only when it sleeps too long
                self._cond.notify()
        _CURRENT.entry = (self, wid)
        return wid

    def attach(self, wid: int, conn: Any) -> None:
        with self._cond:
            entry = self._watched.get(wid)
            if entry is not None:
                entry[1] = conn

    def end(self, wid: int) -> bool:
        """Stop watching; True if the deadline fired (the attempt was cut)."""
        _CURRENT.entry = None
        with self._cond:
            entry = self._watched.pop(wid, None)
        return bool(entry and entry[2])

    def stop(self) -> None:
        """End the thread (bounded wait)."""
        with self._cond:
            self._stopped = True
            thread = self._thread
            self._cond.notify()
        if thread is not None and thread is not threading.current_thread():
            thread.join(2.0)

    def _run(self) -> None:
        idle_since: Optional[float] = None
        while True:
            with self._cond:
                now = time.monotonic()
                if self._watched:
                    idle_since = None
                elif idle_since is None:
                    idle_since = now
                if self._stopped or (idle_since is not None and now - idle_since >= 1.0):
                    self._thread = None  # begin() starts another when needed
                    return
                due = [e for e in self._watched.values() if not e[2] and e[0] <= now]
                for e in due:
                    e[2] = True
                pending = [e[0] for e in self._watched.values() if not e[2]]
                if not due:
                    self._wake = min(pending) if pending else now + 1.0
                    self._cond.wait(self._wake - now)
            for e in due:
                shutdown_socket(getattr(e[1], "sock", None))


_CURRENT = threading.local()  # (watchdog, id) of the attempt this thread is making


def _attach(conn: Any) -> None:
    entry = getattr(_CURRENT, "entry", None)
    if entry is not None:
        entry[0].attach(entry[1], conn)


def shutdown_socket(sock: Any) -> None:
    """Wake every thread blocked on ``sock`` (the raw socket, also under TLS); never raises."""
    if isinstance(sock, socket.socket):
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
    def _get_conn(self, timeout: Optional[float] = None) -> Any:
        conn = super()._get_conn(timeout)
        _attach(conn)
        return conn


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    def _get_conn(self, timeout: Optional[float] = None) -> Any:
        conn = super()._get_conn(timeout)
        _attach(conn)
        return conn


class HTTPTransport:
    """Sends HTTP requests for a :class:`~caiclient.Session`.

    With no ``http`` argument it keeps one ``requests.Session`` per thread
    (``requests`` does not promise thread safety), all sharing one cookie
    jar and closed together. A user-supplied ``http`` object (anything with
    ``requests.Session.request``'s API) is used as given, from every thread.

    Its own sessions read the environment's proxy and CA settings once, when
    the transport is created (``requests`` would re-read them on every call),
    read each body with a total deadline of connect + read timeout per
    attempt and at most ``max_response_size`` bytes, and start afresh in a
    forked child process.
    """

    def __init__(
        self,
        endpoints: Endpoints,
        credentials: Credentials,
        *,
        http: Any = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retry: Optional[RetryPolicy] = None,
        headers: Optional[Mapping[str, str]] = None,
        pool_size: int = 32,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> None:
        self.endpoints = endpoints
        self.credentials = credentials
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.extra_headers = dict(headers or {})
        self.max_response_size = max_response_size
        self._user_http = http
        self._pool_size = pool_size
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: List[requests.Session] = []
        # A user-supplied session's own jar, even while empty (an empty jar is falsy).
        jar = getattr(http, "cookies", None)
        self.cookies = jar if jar is not None else requests.cookies.RequestsCookieJar()
        self._closed = False
        self._watchdog = _Watchdog()
        # The environment, read once (trust_env is off on our sessions).
        self._env_proxies = urllib.request.getproxies()
        self._no_proxy = self._env_proxies.pop("no", None)
        self._proxy_cache: Dict[Tuple[str, str], Dict[str, str]] = {}
        self._verify: Any = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )
        _fork.register(self)

    # -- plumbing

    def _after_fork(self) -> None:
        """In a forked child: forget the parent's pooled sockets (without closing them)."""
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions = []
        self._watchdog._after_fork()

    def _http(self) -> Any:
        if self._closed:
            raise errors.CaiError("the session is closed")
        if self._user_http is not None:
            return self._user_http
        sess = getattr(self._local, "session", None)
        if sess is None:
            sess = requests.Session()
            adapter = requests.adapters.HTTPAdapter(
                pool_connections=4, pool_maxsize=self._pool_size
            )
            adapter.poolmanager.pool_classes_by_scheme = {
                "http": _WatchedHTTPPool,
                "https": _WatchedHTTPSPool,
            }
            sess.mount("https://", adapter)
            sess.mount("http://", adapter)
            sess.cookies = self.cookies
            sess.trust_env = False  # resolved once in __init__ (see _proxies_for)
            sess.verify = self._verify
            self._local.session = sess
            with self._lock:
                self._sessions.append(sess)
        return sess

    def _proxies_for(self, url: str) -> Dict[str, str]:
        """The environment's proxies for ``url``'s host (computed once per host)."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        proxies = self._proxy_cache.get(key)
        if proxies is None:
            proxies = {}
            if self._env_proxies and not requests.utils.should_bypass_proxies(
                url, no_proxy=self._no_proxy
            ):
                proxies = dict(self._env_proxies)
            self._proxy_cache[key] = proxies
        return proxies

    def close(self) -> None:
        """Close the pooled connections this transport opened (not a user-supplied session)."""
        self._closed = True
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for s in sessions:
            s.close()
        self._watchdog.stop()

    # -- the call

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Optional[Mapping[str, Any]] = None,
        json: Any = _UNSET,
        data: Any = None,
        files: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        auth: bool = True,
        idempotent: Optional[bool] = None,
        raw: bool = False,
        timeout: Optional[Timeout] = None,
    ) -> Any:
        """Send one request and return its decoded JSON (or bytes with ``raw=True``).

        ``json`` is the body to send as JSON (omit it for no body);
        ``idempotent`` overrides the method's default for retries. Text that
        cannot be encoded raises :class:`~caiclient.errors.ValidationError`
        before anything is sent.
        """
        may_block()  # an HTTP call waits: not on an event loop (see _inline)
        method = method.upper()
        safe = method in _IDEMPOTENT if idempotent is None else idempotent
        check_encodable(params, "params")
        if isinstance(data, (str, Mapping, list, tuple)):
            check_encodable(data, "data")
        hdrs = build_headers(
            url,
            self.endpoints,
            self.credentials,
            auth=auth,
            json_body=files is None and not raw,
            extra={**self.extra_headers, **(headers or {})},
        )
        timeout = timeout if timeout is not None else self.timeout
        kwargs: Dict[str, Any] = {
            "params": params,
            "headers": hdrs,
            "timeout": timeout,
            "allow_redirects": True,
        }
        if json is not _UNSET:
            kwargs["data"] = _dumps(json)
        elif data is not None:
            kwargs["data"] = data
        if files is not None:
            kwargs["files"] = files
        own = self._user_http is None
        if own:
            kwargs["stream"] = True  # the body is read by _read_body, bounded
            kwargs["proxies"] = self._proxies_for(url)
        connect_t, read_t = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        budget = float(connect_t) + float(read_t)
        path = urlsplit(url).path
        policy = self.retry
        attempt = 0
        while True:
            started = time.monotonic()
            err: Optional[errors.CaiError] = None
            status = 0
            content = b""
            resp_headers: Dict[str, str] = {}
            http = self._http()  # raises on a closed session, before anything is watched
            wid = self._watchdog.begin(started + budget) if own else 0
            try:
                resp = http.request(method, url, **kwargs)
            except requests.exceptions.RequestException as exc:
                err, retryable = _transport_error(exc, method, path, safe)
            except BaseException:
                self._watchdog.end(wid)  # whatever else escapes (a closed session...)
                raise
            else:
                try:
                    status = resp.status_code
                    resp_headers = dict(resp.headers)
                    if own:
                        content = self._read_body(resp, started + budget, float(read_t), path)
                    else:
                        content = resp.content
                except errors.CaiError as exc:
                    err, retryable = exc, safe and isinstance(exc, errors.TransportError)
                except requests.exceptions.RequestException as exc:
                    err, retryable = _transport_error(exc, method, path, safe)
                finally:
                    # Never leave a half-read response (and its socket) behind.
                    if self._watchdog.end(wid):
                        wid = 0
                        if err is not None:  # cut by the deadline, not a broken peer
                            err, retryable = _attempt_timeout(method, path), safe
                    close = getattr(resp, "close", None)
                    if close is not None:
                        close()
                del resp
            if wid and self._watchdog.end(wid):
                err, retryable = _attempt_timeout(method, path), safe
            if err is None:
                elapsed = (time.monotonic() - started) * 1000
                log.debug("%s %s -> %s (%.0f ms)", method, path, status, elapsed)
                if raw and 200 <= status < 300:
                    return content
                try:
                    return interpret_response(method, url, Response(status, resp_headers, content))
                except errors.APIError as exc:
                    retryable = status in policy.retry_statuses and (safe or status == 429)
                    retry_after = getattr(exc, "retry_after", None)
                    if (
                        not retryable
                        or attempt >= policy.max_retries
                        or (retry_after is not None and retry_after > policy.max_retry_after)
                    ):
                        raise
                    delay = policy.delay(attempt, retry_after)
                    log.debug("retrying %s %s after %s in %.2fs", method, path, status, delay)
            else:
                if not retryable or attempt >= policy.max_retries:
                    # Not chained: a requests error holds the prepared request (its headers).
                    raise err
                delay = policy.delay(attempt)
                log.debug(
                    "retrying %s %s after %s in %.2fs", method, path, type(err).__name__, delay
                )
            policy.sleep(delay)
            attempt += 1

    def _read_body(self, resp: Any, deadline: float, read_timeout: float, path: str) -> bytes:
        """The whole body, by at most ``deadline`` and ``max_response_size`` bytes."""
        limit = self.max_response_size
        length = resp.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > limit:
            raise errors.ResponseTooLarge(
                f"the response to {path} is {int(length)} bytes, over the limit of {limit}",
                limit=limit,
                path=path,
            )
        raw = resp.raw
        read = getattr(raw, "read1", None) or raw.read  # read1: one recv per call
        sock = _socket_of(raw)
        chunks: List[bytes] = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise errors.Timeout(f"timed out reading the answer to {path}")
            if sock is not None:
                try:
                    sock.settimeout(min(read_timeout, remaining))
                except OSError:
                    sock = None
            try:
                chunk = read(65536, decode_content=True)
            except Exception as exc:
                if _is_timeout_error(exc):
                    raise errors.Timeout(f"timed out reading the answer to {path}") from None
                raise errors.NetworkError(
                    f"the connection broke while reading the answer to {path}: {type(exc).__name__}"
                ) from None
            if not chunk:
                body = b"".join(chunks)
                # Read to the end: let requests hand the connection back to the pool
                # (keep-alive) instead of closing it.
                resp._content, resp._content_consumed = body, True
                return body
            size += len(chunk)
            if size > limit:
                raise errors.ResponseTooLarge(
                    f"the response to {path} is over the limit of {limit} bytes",
                    limit=limit,
                    path=path,
                )
            chunks.append(chunk)

    def download(self, url: str, *, timeout: Optional[Timeout] = None) -> bytes:
        """GET a URL the service handed back (audio, images): no token, no API headers."""
        data: bytes = self.request("GET", url, auth=False, raw=True, timeout=timeout)
        return data


def _dumps(obj: Any) -> bytes:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        check_encodable(obj, "json")  # names the problem
        raise  # pragma: no cover - check_encodable raised


def _transport_error(
    exc: BaseException, method: str, path: str, safe: bool
) -> Tuple[errors.CaiError, bool]:
    """The typed error for a ``requests`` exception, and whether a retry is allowed."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return errors.Timeout(f"timed out connecting for {method} {path}"), True
    if isinstance(exc, requests.exceptions.Timeout):
        return errors.Timeout(f"timed out waiting for the answer to {method} {path}"), safe
    if isinstance(exc, requests.exceptions.ConnectionError):
        # A failed connect means nothing was sent; a reset after sending may have been.
        err = errors.NetworkError(f"could not reach the service for {method} {path}: {_short(exc)}")
        return err, safe or _is_connect_failure(exc)
    return errors.NetworkError(f"{method} {path} failed: {_short(exc)}"), False


def _attempt_timeout(method: str, path: str) -> errors.CaiError:
    return errors.Timeout(f"timed out waiting for the answer to {method} {path}")


def _socket_of(raw: Any) -> Optional[socket.socket]:
    """The socket under a urllib3 response, to bound each read (``None`` if unreachable)."""
    conn = getattr(raw, "_connection", None) or getattr(raw, "connection", None)
    sock = getattr(conn, "sock", None)
    return sock if isinstance(sock, socket.socket) else None


def _is_timeout_error(exc: BaseException) -> bool:
    seen = 0
    cur: Optional[BaseException] = exc
    while cur is not None and seen < 5:
        if isinstance(cur, (socket.timeout, TimeoutError)) or "Timeout" in type(cur).__name__:
            return True
        cur = cur.__context__
        seen += 1
    return False


_QUERY_IN_TEXT = re.compile(r"(/[^\s'\"?]*)\?[^\s'\")]*")


def _short(exc: BaseException) -> str:
    """A transport error's text without query strings (urllib3 quotes whole URLs), shortened."""
    text = _QUERY_IN_TEXT.sub(r"\1", str(exc))
    return text if len(text) < 200 else text[:200] + "..."


def _is_connect_failure(exc: BaseException) -> bool:
    seen = set()
    cur: Optional[BaseException] = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        name = type(cur).__name__
        if name in ("NewConnectionError", "ConnectTimeoutError", "NameResolutionError"):
            return True
        if isinstance(cur, ConnectionRefusedError):
            return True
        nxt = getattr(cur, "reason", None)
        cur = nxt if isinstance(nxt, BaseException) else (cur.__cause__ or cur.__context__)
        if cur is None and exc.args and isinstance(exc.args[0], BaseException):
            cur = exc.args[0]
    return False
