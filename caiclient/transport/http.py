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
import random
import re
import threading
import time
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Tuple, Union
from urllib.parse import urlsplit

import attrs
import requests

from caiclient import errors
from caiclient.endpoints import Endpoints

__all__ = [
    "DEFAULT_HEADERS",
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
        headers["authorization"] = f"Token {credentials.token}"
    if extra:
        headers.update(extra)
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
    "(Session(impersonate='chrome'), the 'impersonate' extra)"
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
    return json.loads(content.decode("utf-8"))


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


class HTTPTransport:
    """Sends HTTP requests for a :class:`~caiclient.Session`.

    With no ``http`` argument it keeps one ``requests.Session`` per thread
    (``requests`` does not promise thread safety), all sharing one cookie
    jar and closed together. A user-supplied ``http`` object (anything with
    ``requests.Session.request``'s API) is used as given, from every thread.
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
    ) -> None:
        self.endpoints = endpoints
        self.credentials = credentials
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.extra_headers = dict(headers or {})
        self._user_http = http
        self._pool_size = pool_size
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: List[requests.Session] = []
        self.cookies = getattr(http, "cookies", None) or requests.cookies.RequestsCookieJar()
        self._closed = False

    # -- plumbing

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
            sess.mount("https://", adapter)
            sess.mount("http://", adapter)
            sess.cookies = self.cookies
            sess.trust_env = True
            self._local.session = sess
            with self._lock:
                self._sessions.append(sess)
        return sess

    def close(self) -> None:
        """Close the pooled connections this transport opened (not a user-supplied session)."""
        self._closed = True
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for s in sessions:
            s.close()

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
        ``idempotent`` overrides the method's default for retries.
        """
        method = method.upper()
        safe = method in _IDEMPOTENT if idempotent is None else idempotent
        hdrs = build_headers(
            url,
            self.endpoints,
            self.credentials,
            auth=auth,
            json_body=files is None and not raw,
            extra={**self.extra_headers, **(headers or {})},
        )
        kwargs: Dict[str, Any] = {
            "params": params,
            "headers": hdrs,
            "timeout": timeout if timeout is not None else self.timeout,
            "allow_redirects": True,
        }
        if json is not _UNSET:
            kwargs["data"] = _dumps(json)
        elif data is not None:
            kwargs["data"] = data
        if files is not None:
            kwargs["files"] = files
        path = urlsplit(url).path
        policy = self.retry
        attempt = 0
        while True:
            started = time.monotonic()
            cause: BaseException
            try:
                resp = self._http().request(method, url, **kwargs)
            except requests.exceptions.ConnectTimeout as exc:
                err: errors.CaiError = errors.Timeout(f"timed out connecting for {method} {path}")
                retryable, cause = True, exc
            except requests.exceptions.Timeout as exc:
                err = errors.Timeout(f"timed out waiting for the answer to {method} {path}")
                retryable, cause = safe, exc
            except requests.exceptions.ConnectionError as exc:
                # A failed connect means nothing was sent; a reset after sending may have been.
                connect_failed = _is_connect_failure(exc)
                err = errors.NetworkError(
                    f"could not reach the service for {method} {path}: {_short(exc)}"
                )
                retryable, cause = safe or connect_failed, exc
            except requests.exceptions.RequestException as exc:
                err = errors.NetworkError(f"{method} {path} failed: {_short(exc)}")
                retryable, cause = False, exc
            else:
                elapsed = (time.monotonic() - started) * 1000
                log.debug("%s %s -> %s (%.0f ms)", method, path, resp.status_code, elapsed)
                response = Response(resp.status_code, dict(resp.headers), resp.content)
                if raw and 200 <= resp.status_code < 300:
                    return resp.content
                try:
                    return interpret_response(method, url, response)
                except errors.APIError as exc:
                    status = exc.status or 0
                    retryable = status in policy.retry_statuses and (safe or status == 429)
                    if not retryable or attempt >= policy.max_retries:
                        raise
                    retry_after = getattr(exc, "retry_after", None)
                    if retry_after is not None and retry_after > policy.max_retry_after:
                        raise
                    delay = policy.delay(attempt, retry_after)
                    log.debug("retrying %s %s after %s in %.2fs", method, path, status, delay)
                    policy.sleep(delay)
                    attempt += 1
                    continue
            if not retryable or attempt >= policy.max_retries:
                raise err from cause
            delay = policy.delay(attempt)
            log.debug("retrying %s %s after %s in %.2fs", method, path, type(err).__name__, delay)
            policy.sleep(delay)
            attempt += 1

    def download(self, url: str, *, timeout: Optional[Timeout] = None) -> bytes:
        """GET a URL the service handed back (audio, images): no token, no API headers."""
        data: bytes = self.request("GET", url, auth=False, raw=True, timeout=timeout)
        return data


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


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
