"""Browser impersonation: HTTP and websockets through curl_cffi (the ``impersonate`` extra).

``Session(impersonate="chrome")`` sends every request *and* opens every
websocket with the TLS and HTTP/2 fingerprint (and default headers) of a real
browser, through `curl_cffi <https://github.com/lexiforest/curl_cffi>`_. Since
mid-2025 the service refuses many websocket handshakes of plain TLS stacks
with 403 while it accepts the same token over HTTP; clients that impersonate
a browser for the socket too get through (PyCharacterAI moved its socket to
curl_cffi with impersonation in May 2025: ``neo.md`` section 1.5).

:class:`Impersonation` is one browser identity and owns one curl_cffi session:

* :attr:`Impersonation.http` -- a requests-compatible object for the HTTP
  transport's ``http=`` seam (curl_cffi errors become ``requests`` errors, so
  the transport's retry and error mapping apply unchanged; ``files=`` becomes
  a curl multipart body);
* :meth:`Impersonation.connect` -- a websocket ``Connect`` function (``(url,
  headers, timeout) -> connection``) for any socket of the Session (the chat
  socket, the room socket): the connection it returns implements
  :class:`~caiclient.transport.ws.WSConnection`.
"""

from __future__ import annotations

import re
import select
import socket
import threading
import time
import typing
from typing import Any, Dict, FrozenSet, Mapping, Optional
from urllib.parse import urlsplit

import requests

from caiclient import errors
from caiclient.transport import _fork
from caiclient.transport.http import USER_AGENT
from caiclient.transport.ws import handshake_error

__all__ = ["DEFAULT_TARGET", "CurlWebSocket", "ImpersonatingHTTP", "Impersonation", "known_targets"]

DEFAULT_TARGET = "chrome"
"""The target the docs recommend: curl_cffi's newest Chrome."""

_LOCK_WAIT = 30.0  # the longest a send waits for the reader's (non-blocking) turn
_SEND_TIMEOUT = 30.0


def _curl_cffi() -> Any:
    try:
        import curl_cffi
        import curl_cffi.requests
    except ImportError:
        raise errors.ExtraNotInstalled(
            "Session(impersonate=...)", "impersonate", "curl_cffi"
        ) from None
    return curl_cffi


def known_targets() -> FrozenSet[str]:
    """The browser targets the installed curl_cffi can impersonate (``chrome``, ``firefox135``...).

    Raises :class:`~caiclient.errors.ExtraNotInstalled` without curl_cffi.
    """
    cc = _curl_cffi()
    names = {str(getattr(b, "value", b)) for b in cc.BrowserType}
    names.update(a for a in typing.get_args(getattr(cc, "BrowserTypeLiteral", None)) if a)
    names.update(getattr(cc.requests.impersonate, "REAL_TARGET_MAP", {}))
    return frozenset(names)


def _check_target(target: str) -> str:
    targets = known_targets()
    if target not in targets:
        examples = ", ".join(sorted(t for t in targets if "_" not in t and not t[-1].isdigit()))
        raise errors.ValidationError(
            f"impersonate={target!r} is not a browser curl_cffi can impersonate; "
            f"use one of {examples} or a versioned name such as chrome136",
            field="impersonate",
        )
    return target


def _without_library_agent(headers: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """The headers minus our default User-Agent: the impersonated browser sends its own."""
    return {
        k: v
        for k, v in (headers or {}).items()
        if not (k.lower() == "user-agent" and v == USER_AGENT)
    }


_QUERY = re.compile(r"\?\S*")


def _short(exc: BaseException) -> str:
    text = _QUERY.sub("", str(exc)).split(" See https://curl.se", 1)[0]
    return text if len(text) < 200 else text[:200] + "..."


class ImpersonatingHTTP:
    """A requests-compatible HTTP session backed by a curl_cffi session.

    Only what :class:`~caiclient.transport.http.HTTPTransport` uses of
    ``requests.Session``: :meth:`request`, :attr:`cookies`, :meth:`close`.
    curl_cffi's session keeps one curl handle per thread, so one object
    serves every thread.
    """

    def __init__(self, session: Any, curl_cffi: Any) -> None:
        self._session = session
        self._cc = curl_cffi
        self.cookies = session.cookies.jar
        """The cookie jar (a standard ``http.cookiejar.CookieJar``)."""

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        """Send one request, as ``requests.Session.request`` does.

        curl_cffi's exceptions are raised as the ``requests`` exceptions
        they correspond to (a refused connection as a connect failure).
        """
        cc = self._cc
        kwargs["headers"] = _without_library_agent(kwargs.get("headers"))
        files = kwargs.pop("files", None)
        mime = None
        if files:
            mime = cc.CurlMime()
            for name, spec in files.items():
                filename, content, ctype = (*tuple(spec), None, None)[:3]
                if isinstance(content, str):
                    content = content.encode("utf-8")
                mime.addpart(name=name, content_type=ctype, filename=filename, data=content)
            kwargs["multipart"] = mime
        exc_mod = cc.requests.exceptions
        try:
            return self._session.request(method, url, **kwargs)
        except exc_mod.Timeout as exc:
            raise requests.exceptions.ReadTimeout(_short(exc)) from None
        except exc_mod.ConnectionError as exc:
            code = getattr(exc, "code", None)
            if code in (cc.CurlECode.COULDNT_CONNECT, cc.CurlECode.COULDNT_RESOLVE_HOST):
                # Nothing was sent: the transport may retry any request.
                raise requests.exceptions.ConnectionError(
                    ConnectionRefusedError(_short(exc))
                ) from None
            raise requests.exceptions.ConnectionError(_short(exc)) from None
        except cc.CurlError as exc:
            raise requests.exceptions.RequestException(_short(exc)) from None
        finally:
            if mime is not None:
                mime.close()

    def close(self) -> None:
        """Close the curl handles."""
        self._session.close()


class CurlWebSocket:
    """A curl_cffi websocket behind the :class:`~caiclient.transport.ws.WSConnection` interface.

    curl's websocket must not be used from two threads at once, while the
    transport reads in one thread and sends from others. So :meth:`recv`
    only ever tries a *non-blocking* read under the lock and waits for the
    socket to become readable outside it; sends take the lock between two
    such tries. :meth:`close` wakes a waiting :meth:`recv` at once.
    """

    def __init__(self, ws: Any, curl_cffi: Any) -> None:
        self._ws = ws
        self._cc = curl_cffi
        self._lock = threading.Lock()
        self._state = threading.Lock()
        self._timeout: Optional[float] = None
        self._closed = False
        self._receiving = False
        self._fd: int = ws.curl.getinfo(curl_cffi.CurlInfo.ACTIVESOCKET)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_open = True

    def _locked(self) -> threading.Lock:
        if not self._lock.acquire(timeout=_LOCK_WAIT):
            raise TimeoutError("the websocket stayed busy")
        return self._lock

    def settimeout(self, timeout: Optional[float]) -> None:
        """Bound how long :meth:`recv` waits (``None``: forever)."""
        self._timeout = timeout

    def send(self, payload: str) -> None:
        """Send one text frame."""
        lock = self._locked()
        try:
            self._ws.send(payload.encode("utf-8"), self._cc.CurlWsFlag.TEXT, timeout=_SEND_TIMEOUT)
        finally:
            lock.release()

    def ping(self, payload: str = "") -> None:
        """Send a websocket ping."""
        lock = self._locked()
        try:
            self._ws.ping(payload, timeout=_SEND_TIMEOUT)
        finally:
            lock.release()

    def recv(self) -> str:
        """The next text frame; ``""`` when the server closed the socket.

        Raises :class:`TimeoutError` when nothing came within the timeout.
        """
        with self._state:
            if self._closed:
                raise ConnectionError("the websocket is closed")
            self._receiving = True
        try:
            return self._recv()
        finally:
            with self._state:
                self._receiving = False
                if self._closed:
                    self._release_wake()

    def _recv(self) -> str:
        cc = self._cc
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        while True:
            lock = self._locked()
            try:
                data, flags = self._ws.recv(timeout=0)
            except cc.WebSocketTimeout:
                data = None
            except cc.WebSocketClosed:
                return ""
            finally:
                lock.release()
            if data is not None:
                if flags & cc.CurlWsFlag.CLOSE:
                    return ""
                return data.decode("utf-8") if isinstance(data, bytes) else str(data)
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                raise TimeoutError("no websocket frame in time")
            if self._closed:
                raise ConnectionError("the websocket was closed")
            try:
                select.select([self._fd, self._wake_r.fileno()], [], [], wait)
            except (OSError, ValueError):
                if not self._closed:
                    raise
            if self._closed:  # close() may have closed curl's socket under us
                raise ConnectionError("the websocket was closed")

    def _release_wake(self) -> None:
        if self._wake_open:
            self._wake_open = False
            self._wake_r.close()
            self._wake_w.close()

    def abort(self) -> None:
        """Wake a blocked :meth:`recv` at once (it raises); the socket is closed."""
        self.close()

    def close(self) -> None:
        """Close the socket (a waiting :meth:`recv` returns at once). Idempotent."""
        with self._state:
            if self._closed:
                return
            self._closed = True
            try:
                self._wake_w.send(b"x")
            except OSError:
                pass
            if not self._receiving:
                self._release_wake()
        try:
            lock = self._locked()
        except TimeoutError:
            self._ws.terminate()
            return
        try:
            self._ws.close(timeout=1.0)
        except Exception:
            self._ws.terminate()
        finally:
            lock.release()


class Impersonation:
    """One browser identity for a Session: an HTTP session and a websocket connect function.

    Args:
        target: a browser curl_cffi can impersonate (``"chrome"``,
            ``"firefox"``, ``"safari"``, ``"edge"``, or a versioned name such
            as ``"chrome136"``; see :func:`known_targets`).

    Raises :class:`~caiclient.errors.ExtraNotInstalled` without curl_cffi
    (``pip install "caiclient[impersonate]"``) and
    :class:`~caiclient.errors.ValidationError` for an unknown target.
    """

    def __init__(self, target: str = DEFAULT_TARGET) -> None:
        if not isinstance(target, str) or not target:
            raise errors.ValidationError(
                'impersonate must be a browser name such as "chrome"', field="impersonate"
            )
        cc = _curl_cffi()
        self.target = _check_target(target)
        self._cc = cc
        self._session = cc.requests.Session(impersonate=self.target)
        self.http = ImpersonatingHTTP(self._session, cc)
        """The requests-compatible HTTP session (for ``HTTPTransport(http=...)``)."""
        _fork.register(self)

    def _after_fork(self) -> None:
        """In a forked child: fresh curl handles (the parent's stay its own), same cookie jar."""
        self._session = self._cc.requests.Session(
            impersonate=self.target, cookies=self.http.cookies
        )
        self.http._session = self._session

    def connect(self, url: str, headers: Mapping[str, str], timeout: float) -> CurlWebSocket:
        """Open a websocket as the browser would (a ``Connect`` function).

        The handshake carries ``headers`` (the cookie with the token, the
        origin) over the browser's TLS fingerprint, with its default headers;
        our own default User-Agent gives way to the browser's. A refused
        handshake raises the same errors as the default connect.
        """
        cc = self._cc
        try:
            ws = self._session.ws_connect(
                url, headers=_without_library_agent(headers), timeout=timeout
            )
        except cc.CurlError as exc:
            match = re.search(r"upgrade: (\d{3})", str(exc), re.I)
            if match:
                raise handshake_error(int(match.group(1)), urlsplit(url).path or "/") from None
            if getattr(exc, "code", None) == cc.CurlECode.OPERATION_TIMEDOUT:
                raise errors.Timeout("timed out opening the chat websocket") from None
            raise errors.NetworkError(
                f"could not open the chat websocket: {_short(exc)}"
            ) from None
        return CurlWebSocket(ws, cc)

    def close(self) -> None:
        """Close the HTTP session (open websockets are closed by their transports)."""
        self._session.close()

    def __repr__(self) -> str:
        return f"<caiclient Impersonation {self.target!r}>"
