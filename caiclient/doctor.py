"""``caiclient doctor``: a read-only self-check that says what is wrong with a setup.

:func:`diagnose` runs a fixed sequence of safe probes against the hosts of a
:class:`~caiclient.Session` (the real service or an emulator) and returns a
:class:`Report`: one :class:`Check` per probe, each with a verdict (``ok``,
``warn``, ``fail`` or ``skip``), a one-line summary and, when something is
wrong, a one-line hint.

1. ``network``: DNS, TCP connect, TLS and an HTTP status for each host, and
   ``clock``: the skew of the local clock against the server's ``Date``.
2. ``bot_protection``: whether the service answers JSON or an anti-bot HTML
   page (a challenge, an access-denied page or a waiting room, told apart).
3. ``token``: present, well formed, accepted by HTTP; ``websocket``: accepted
   by the chat socket's handshake (a refusal there while HTTP accepts the token
   is its own verdict, not "invalid token").
4. ``chat``: the chat socket opens, carries a ping and closes; nothing is sent
   that changes state.
5. ``schema``: for a handful of read-only endpoints, what the service returned
   compared with what the models read (``caiclient.models._drift.find_drift``).

Nothing is written anywhere. The report names the library and Python versions
and the hosts, never the token, never message content and never ids of the
user's chats: it is safe to paste into an issue.
"""

from __future__ import annotations

import json
import math
import platform
import re
import socket
import ssl
import threading
import time
import urllib.request
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

import attrs

from caiclient import errors
from caiclient._version import __version__
from caiclient.models._drift import Drift, find_drift

if TYPE_CHECKING:  # pragma: no cover
    from caiclient.session import Session

__all__ = ["VERDICTS", "Check", "Report", "diagnose"]

VERDICTS = ("ok", "warn", "fail", "skip")
"""The verdicts a :class:`Check` can have, from good to not run."""

TROUBLESHOOTING = "https://caiclient.readthedocs.io/en/latest/troubleshooting.html"

_IMPERSONATE_HINT = (
    "use a browser-impersonating stack: Session(impersonate='chrome') "
    "(pip install 'caiclient[impersonate]'), or pass http= a curl_cffi session"
)
_TOKEN_RE = re.compile(r"^[0-9a-f]{40}$")
# Path components that look like ids are never printed (they could be the user's chats).
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,}$")
_CLOCK_WARN = 60.0
_TEXT_DETAILS = 6


@attrs.frozen
class Check:
    """The outcome of one probe.

    Attributes:
        id: the probe (``"network"``, ``"clock"``, ``"bot_protection"``, ``"token"``,
            ``"websocket"``, ``"chat"``, ``"schema"``).
        title: what was checked, e.g. ``"network: neo.character.ai"``.
        verdict: ``"ok"``, ``"warn"``, ``"fail"`` or ``"skip"``.
        summary: one line saying what was found.
        hint: one line saying what to do about it (empty when all is well).
        details: further lines (field paths, steps, timings), never secrets or content.
        seconds: how long the probe took.
    """

    id: str
    title: str
    verdict: str
    summary: str
    hint: str = ""
    details: Tuple[str, ...] = ()
    seconds: float = 0.0

    def to_dict(self) -> Dict[str, Any]:
        """The check as JSON-ready data."""
        return {
            "id": self.id,
            "title": self.title,
            "verdict": self.verdict,
            "summary": self.summary,
            "hint": self.hint,
            "details": list(self.details),
            "seconds": round(self.seconds, 3),
        }


@attrs.frozen
class Report:
    """Everything :func:`diagnose` found, safe to paste into an issue.

    Attributes:
        checks: the checks in the order they ran.
        library: the caiclient version.
        python: the Python version.
        platform: the operating system and machine.
        hosts: the base URL of each host the session uses.
        target: ``"service"``, ``"emulator"`` or ``"custom"`` (other base URLs).
        authenticated: whether the session has a token.
    """

    checks: Tuple[Check, ...]
    library: str
    python: str
    platform: str
    hosts: Dict[str, str]
    target: str
    authenticated: bool

    @property
    def ok(self) -> bool:
        """True when no check failed (warnings allowed)."""
        return not self.failed

    @property
    def failed(self) -> List[Check]:
        """The checks whose verdict is ``fail``."""
        return [c for c in self.checks if c.verdict == "fail"]

    @property
    def exit_code(self) -> int:
        """What ``caiclient doctor`` exits with: 0, or 1 when any check failed."""
        return 0 if self.ok else 1

    def counts(self) -> Dict[str, int]:
        """How many checks got each verdict."""
        return {v: sum(1 for c in self.checks if c.verdict == v) for v in VERDICTS}

    def to_dict(self) -> Dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "library": self.library,
            "python": self.python,
            "platform": self.platform,
            "target": self.target,
            "hosts": dict(self.hosts),
            "authenticated": self.authenticated,
            "ok": self.ok,
            "counts": self.counts(),
            "checks": [c.to_dict() for c in self.checks],
        }

    def to_json(self) -> str:
        """The report as indented JSON."""
        return json.dumps(self.to_dict(), indent=2)

    def to_text(self) -> str:
        """The report as plain text, one line per check plus hints and details."""
        lines = [
            f"caiclient {self.library}, Python {self.python} ({self.platform})",
            f"target: {self.target} ({', '.join(f'{k} {v}' for k, v in self.hosts.items())})",
            f"account: {'token present' if self.authenticated else 'none (guest session)'}",
            "",
        ]
        for c in self.checks:
            lines.append(f"[{c.verdict.upper():>4}] {c.title}: {c.summary}")
            if c.hint:
                lines.append(f"       hint: {c.hint}")
            shown = c.details if len(c.details) <= _TEXT_DETAILS else c.details[:_TEXT_DETAILS]
            lines.extend(f"       - {d}" for d in shown)
            if len(c.details) > len(shown):
                lines.append(f"       - ... {len(c.details) - len(shown)} more (see --json)")
        n = self.counts()
        lines += [
            "",
            f"{n['fail']} failed, {n['warn']} warning(s), {n['ok']} ok, {n['skip']} skipped"
            + ("" if self.ok else f"; see {TROUBLESHOOTING}"),
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


# ------------------------------------------------------------------ helpers


def _scrub(path: str) -> str:
    """A field path with every id-looking component replaced by ``<id>``."""
    return ".".join("<id>" if _ID_RE.match(p) and any(ch.isdigit() for ch in p) else p
                    for p in path.split("."))


def _safe_error(exc: BaseException) -> str:
    """What an error was, without any text that could carry content: type and status."""
    status = getattr(exc, "status", None)
    return f"{type(exc).__name__}" + (f" (HTTP {status})" if status else "")


class _Clock:
    """Remembers the first server ``Date`` seen and the local time it was read."""

    def __init__(self) -> None:
        self.skew: Optional[float] = None
        self.source = ""

    def saw(self, date_header: Optional[str], host: str) -> None:
        if self.skew is not None or not date_header:
            return
        try:
            server = parsedate_to_datetime(date_header)
        except (TypeError, ValueError, IndexError):
            return
        if server.tzinfo is None:
            server = server.replace(tzinfo=timezone.utc)
        self.skew = (datetime.now(timezone.utc) - server).total_seconds()
        self.source = host


def _bounded(fn: Callable[[], Any], timeout: float, what: str) -> Any:
    """Run a call that has no timeout of its own (DNS) in a thread, waiting at most ``timeout``."""
    box: Dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    t = threading.Thread(target=run, name=f"caiclient-doctor-{what}", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise TimeoutError(f"{what} took longer than {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _proxy_for(scheme: str, host: str) -> Optional[str]:
    proxies = urllib.request.getproxies()
    proxy = proxies.get("https" if scheme in ("https", "wss") else "http") or proxies.get("all")
    if proxy and not urllib.request.proxy_bypass(host):
        return proxy
    return None


def _is_local(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def _read_head(sock: socket.socket, deadline: float) -> Tuple[int, Dict[str, str]]:
    """Read an HTTP response's status line and headers (nothing more), by ``deadline``."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no HTTP answer in time")
        sock.settimeout(left)
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    parts = lines[0].split(" ", 2) if lines and lines[0] else []
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ValueError("the answer is not HTTP")
    headers: Dict[str, str] = {}
    for line in lines[1:]:
        k, sep, v = line.partition(":")
        if sep:
            headers[k.strip().lower()] = v.strip()
    return int(parts[1]), headers


# ------------------------------------------------------------------ probes


class _Doctor:
    def __init__(self, session: Session, timeout: float, character_id: Optional[str]) -> None:
        self.s = session
        self.timeout = timeout
        self.character_id = character_id
        self.checks: List[Check] = []
        self.clock = _Clock()
        self.http_token_ok: Optional[bool] = None
        self.blocked = False
        self.ws_ok = False

    def run(self) -> List[Check]:
        for probe in (
            self.network,
            self.clock_check,
            self.bot_protection,
            self.token,
            self.websocket,
            self.chat,
            self.schema,
        ):
            started = time.monotonic()
            before = len(self.checks)
            try:
                probe()
            except Exception as exc:  # a probe never takes the whole report down
                self.add(
                    probe.__name__,
                    probe.__name__,
                    "fail",
                    f"the check itself failed ({_safe_error(exc)})",
                    hint="please report this with `caiclient doctor --json` attached",
                )
            took = time.monotonic() - started
            if len(self.checks) == before + 1:
                self.checks[-1] = attrs.evolve(self.checks[-1], seconds=took)
        return self.checks

    def add(
        self,
        id: str,
        title: str,
        verdict: str,
        summary: str,
        hint: str = "",
        details: Sequence[str] = (),
        seconds: float = 0.0,
    ) -> None:
        self.checks.append(Check(id, title, verdict, summary, hint, tuple(details), seconds))

    # 1. network and TLS ------------------------------------------------------
    def _locations(self) -> List[Tuple[str, str, int, str, List[str]]]:
        """Distinct (scheme, host, port, path) of the session's hosts, with their names."""
        seen: Dict[Tuple[str, str, int], Tuple[str, List[str]]] = {}
        ep = self.s.endpoints
        for name in ("plus", "neo", "web", "cdn", "ws"):
            url = getattr(ep, name)
            parts = urlsplit(url)
            scheme = parts.scheme
            port = parts.port or (443 if scheme in ("https", "wss") else 80)
            key = (scheme.replace("ws", "http"), parts.hostname or "", port)
            if key not in seen:
                seen[key] = (parts.path.rstrip("/") + "/", [])
            seen[key][1].append(name)
        return [(k[0], k[1], k[2], path, names) for k, (path, names) in seen.items()]

    def network(self) -> None:
        for scheme, host, port, path, names in self._locations():
            started = time.monotonic()
            title = f"network: {host}" + ("" if port in (80, 443) else f":{port}")
            steps: List[str] = [f"hosts: {', '.join(names)}"]
            proxy = _proxy_for(scheme, host)
            if proxy:
                self.add(
                    "network",
                    title,
                    "skip",
                    "a proxy is configured for this host: direct checks skipped "
                    "(the HTTP checks below go through it)",
                    details=steps,
                    seconds=time.monotonic() - started,
                )
                continue
            verdict, summary, hint = self._probe_host(scheme, host, port, path, steps)
            self.add("network", title, verdict, summary, hint, steps, time.monotonic() - started)

    def _probe_host(
        self, scheme: str, host: str, port: int, path: str, steps: List[str]
    ) -> Tuple[str, str, str]:
        t = self.timeout
        local_hint = (
            "is the emulator running? (caiclient emulator --port PORT)" if _is_local(host) else
            "check the internet connection; a firewall, VPN or proxy may block the service"
        )
        try:
            addrs = _bounded(
                lambda: socket.getaddrinfo(host, port, type=socket.SOCK_STREAM), t, "DNS"
            )
        except (OSError, TimeoutError) as exc:
            return "fail", f"cannot resolve {host} ({type(exc).__name__})", local_hint
        steps.append(f"DNS: {len(addrs)} address(es)")
        deadline = time.monotonic() + t
        try:
            raw = socket.create_connection((host, port), timeout=t)
        except OSError as exc:
            what = "timed out" if isinstance(exc, (socket.timeout, TimeoutError)) else "refused"
            return "fail", f"cannot connect to {host}:{port} ({what})", local_hint
        sock: socket.socket = raw
        try:
            steps.append("connect: ok")
            if scheme == "https":
                try:
                    ctx = ssl.create_default_context()
                    raw.settimeout(max(0.01, deadline - time.monotonic()))
                    sock = ctx.wrap_socket(raw, server_hostname=host)
                except (ssl.SSLError, OSError) as exc:
                    reason = getattr(exc, "reason", None) or type(exc).__name__
                    return (
                        "fail",
                        f"the TLS handshake with {host} failed ({reason})",
                        "a proxy or antivirus that intercepts TLS, or outdated CA certificates "
                        "(pip install -U certifi)",
                    )
                steps.append(f"TLS: {sock.version()}")
            request = (
                f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
                f"User-Agent: caiclient-doctor/{__version__}\r\nAccept: */*\r\n"
                "Connection: close\r\n\r\n"
            )
            try:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                sock.sendall(request.encode("ascii"))
                status, headers = _read_head(sock, deadline)
            except (OSError, TimeoutError, ValueError) as exc:
                return "fail", f"no HTTP answer from {host} ({type(exc).__name__})", local_hint
            steps.append(f"HTTP: {status}")
            self.clock.saw(headers.get("date"), host)
            return "ok", f"reachable (HTTP {status})", ""
        finally:
            try:
                sock.close()
            except OSError:  # pragma: no cover
                pass

    def clock_check(self) -> None:
        skew = self.clock.skew
        if skew is None:
            self.add("clock", "clock", "skip", "no server Date header was seen")
            return
        detail = f"{abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} {self.clock.source}"
        if abs(skew) > _CLOCK_WARN:
            self.add(
                "clock",
                "clock",
                "warn",
                f"the local clock is {detail}",
                "set the clock automatically (NTP): TLS and the login link can fail with a "
                "wrong clock",
            )
        else:
            self.add("clock", "clock", "ok", f"in step with the server ({detail})")

    # 2. bot protection --------------------------------------------------------
    def bot_protection(self) -> None:
        ep = self.s.endpoints
        probes = (("neo", ep.neo + "/ping/"), ("plus", ep.plus + "/chat/user/"))
        details = []
        t = (self.timeout, self.timeout)
        for name, url in probes:
            try:
                self.s.http.request("GET", url, auth=False, timeout=t)
                details.append(f"{name}: JSON")
            except errors.BlockedError as exc:
                self.blocked = True
                self.add(
                    "bot_protection",
                    "bot protection",
                    "fail",
                    f"{name} answered with an anti-bot page ({exc.kind}) instead of JSON",
                    _block_hint(exc.kind),
                    [*details, f"{name}: HTML ({exc.kind}, HTTP {exc.status})"],
                )
                return
            except errors.APIError as exc:  # any JSON answer means no HTML wall
                details.append(f"{name}: JSON (HTTP {exc.status})")
            except errors.CaiError as exc:
                self.add(
                    "bot_protection",
                    "bot protection",
                    "fail",
                    f"{name} did not answer ({_safe_error(exc)})",
                    "see the network checks above",
                    details,
                )
                return
        self.add("bot_protection", "bot protection", "ok", "the API hosts answer JSON", "", details)

    # 3. the token ---------------------------------------------------------------
    def token(self) -> None:
        if not self.s.is_authenticated:
            self.add(
                "token",
                "token",
                "warn",
                "no token: a guest session reads public data only (no chat, no account)",
                "run `caiclient login`, or set CAI_TOKEN (see the docs page 'Getting a token')",
            )
            return
        details = []
        token = self.s.credentials.token or ""
        shape_ok = bool(_TOKEN_RE.match(token))
        details.append(
            "format: 40 hexadecimal characters" if shape_ok
            else f"format: unusual ({len(token)} characters, not 40 hexadecimal)"
        )
        try:
            self.s.account.me()
        except errors.AuthenticationError as exc:
            self.http_token_ok = False
            self.add(
                "token",
                "token",
                "fail",
                f"the service rejects the token over HTTP ({_safe_error(exc)}): it is wrong or "
                "expired",
                "get a fresh token: `caiclient login`, or copy it again (docs: 'Getting a token')"
                + ("" if shape_ok else "; what you have does not look like a token"),
                details,
            )
            return
        except errors.BlockedError as exc:
            self.add(
                "token",
                "token",
                "skip",
                f"not checked: HTTP is blocked by bot protection ({exc.kind})",
                details=details,
            )
            return
        except errors.CaiError as exc:
            self.add("token", "token", "fail", f"GET /chat/user/ failed ({_safe_error(exc)})",
                     "see the checks above", details)
            return
        self.http_token_ok = True
        details.append("HTTP: accepted (GET /chat/user/)")
        if shape_ok:
            self.add("token", "token", "ok", "accepted by HTTP", "", details)
        else:
            self.add(
                "token",
                "token",
                "warn",
                "accepted by HTTP, but it does not look like a Character.AI token",
                "tokens are 40 hexadecimal characters; check nothing else was pasted with it",
                details,
            )

    def websocket(self) -> None:
        if not self.s.is_authenticated:
            self.add("websocket", "chat websocket", "skip", "no token (the socket needs one)")
            return
        if self.http_token_ok is False:
            self.add(
                "websocket", "chat websocket", "skip", "not checked: HTTP rejects the token"
            )
            return
        tr = self.s.ws
        try:
            tr._ensure(time.monotonic() + self.timeout)
        except errors.AuthenticationError as exc:
            if self.http_token_ok:
                self.add(
                    "websocket",
                    "chat websocket",
                    "fail",
                    f"the service refuses the websocket handshake ({_safe_error(exc)}) although "
                    "HTTP accepts the token: the token is fine, the handshake is what is refused",
                    _IMPERSONATE_HINT,
                )
            else:
                self.add(
                    "websocket",
                    "chat websocket",
                    "fail",
                    f"the service refuses the websocket handshake ({_safe_error(exc)})",
                    "check the token first (see above); " + _IMPERSONATE_HINT,
                )
            return
        except errors.CaiError as exc:
            self.add(
                "websocket",
                "chat websocket",
                "fail",
                f"the chat websocket cannot be opened ({_safe_error(exc)})",
                "a firewall or proxy that blocks websockets, or the service is down",
            )
            return
        self.ws_ok = True
        self.add("websocket", "chat websocket", "ok", "handshake accepted")

    # 4. the chat path -----------------------------------------------------------
    def chat(self) -> None:
        if not self.ws_ok:
            self.add("chat", "chat path", "skip", "not checked: the websocket did not open")
            return
        tr = self.s.ws
        try:
            conn = tr._ensure(time.monotonic() + self.timeout)
            with conn.send_lock:
                conn.sock.ping()
        except Exception as exc:
            self.add(
                "chat",
                "chat path",
                "fail",
                f"the socket opened but broke on a ping ({_safe_error(exc)})",
                "a proxy that cuts websockets; try another network",
            )
            return
        finally:
            tr.disconnect()
        self.add("chat", "chat path", "ok", "socket opened, ping sent, closed (nothing sent)")

    # 5. schema drift -------------------------------------------------------------
    def schema(self) -> None:
        s = self.s
        if self.blocked:
            self.add("schema", "schema", "skip", "not checked: blocked by bot protection")
            return
        targets: List[Tuple[str, Callable[[], Any]]] = []
        if s.is_authenticated and self.http_token_ok:
            targets += [("account.me()", s.account.me), ("account.settings()", s.account.settings)]
        recent: List[Any] = []
        if s.is_authenticated and self.http_token_ok:

            def recent_chats() -> Any:
                recent.extend(s.chats.recent())
                return recent

            targets.append(("chats.recent()", recent_chats))
        targets.append(("characters.get()", lambda: s.characters.get(self._character(recent))))
        if s.is_authenticated and self.http_token_ok:
            targets.append(("chats.page()", lambda: self._turn_page(recent)))
            targets.append(("account.voices()", s.account.voices))
        else:
            targets.append(("voices.featured()", s.voices.featured))
        for label, call in targets:
            self._schema_one(label, call)

    def _character(self, recent: List[Any]) -> str:
        if self.character_id:
            return self.character_id
        for chat in recent:
            cid = getattr(chat, "character_id", None)
            if cid:
                return str(cid)
        featured = self.s.characters.featured()
        if not featured:
            raise errors.NotFound("no public character to check")
        return featured[0].character_id

    def _turn_page(self, recent: List[Any]) -> Any:
        if not recent:
            return None
        return self.s.chats.page(recent[0].chat_id)

    def _schema_one(self, label: str, call: Callable[[], Any]) -> None:
        title = f"schema: {label}"
        started = time.monotonic()
        try:
            result = call()
        except errors.ParseError as exc:
            self.add("schema", title, "fail",
                     "the library cannot read the answer: a field it needs is missing or unusable",
                     "the service changed; update caiclient, or report it with this output",
                     [_scrub(exc.path)] if exc.path else [], time.monotonic() - started)
            return
        except errors.CaiError as exc:
            self.add("schema", title, "skip", f"not checked ({_safe_error(exc)})",
                     seconds=time.monotonic() - started)
            return
        models = _models_in(result)
        if not models:
            self.add("schema", title, "skip", "nothing to compare (empty answer)",
                     seconds=time.monotonic() - started)
            return
        drift: List[Drift] = []
        for m in models:
            drift.extend(find_drift(type(m), m.raw))
        self.add("schema", title, *_schema_verdict(drift), seconds=time.monotonic() - started)


def _models_in(result: Any) -> List[Any]:
    from caiclient.models import Model

    if isinstance(result, Model):
        return [result]
    if isinstance(result, tuple) and result and isinstance(result[0], (list, tuple)):
        result = result[0]  # (items, next_token)
    if isinstance(result, (list, tuple)):
        return [m for m in result[:5] if isinstance(m, Model)]
    return []


def _schema_verdict(drift: List[Drift]) -> Tuple[str, str, str, List[str]]:
    seen = set()
    unique = []
    for d in drift:
        key = (_scrub(d.path), d.kind)
        if key not in seen:
            seen.add(key)
            unique.append(attrs.evolve(d, path=key[0]))
    by = {k: [d for d in unique if d.kind == k] for k in ("missing_required", "retyped", "new",
                                                          "missing")}
    details = [str(d) for d in by["missing_required"] + by["retyped"] + by["new"]]
    if by["missing"]:
        details.append(f"{len(by['missing'])} optional field(s) absent (normal: the service "
                       "omits empty values)")
    if by["missing_required"]:
        return ("fail", f"{len(by['missing_required'])} field(s) the library needs are missing",
                "the service changed; update caiclient, or report it with this output", details)
    if by["retyped"]:
        return ("warn", f"{len(by['retyped'])} field(s) changed type: the library used defaults",
                "the service changed; values may be missing: update caiclient, or report it",
                details)
    if by["new"]:
        return ("ok", f"as expected; {len(by['new'])} new field(s) the library ignores "
                "(reachable through .raw)", "", details)
    return "ok", "as expected", "", details


def _block_hint(kind: str) -> str:
    if kind == "waiting_room":
        return "the service is under high load: wait and retry later"
    return "slow down; " + _IMPERSONATE_HINT


def _target(session: Session) -> str:
    from caiclient.endpoints import Endpoints

    ep = session.endpoints
    if ep == Endpoints():
        return "service"
    base = ep.neo[: -len("/neo")] if ep.neo.endswith("/neo") else None
    if base is not None:
        try:
            if Endpoints.for_emulator(base).neo == ep.neo and ep.plus == base + "/plus":
                return "emulator"
        except errors.ValidationError:
            pass
    return "custom"


def diagnose(
    session: Session, *, timeout: float = 10.0, character_id: Optional[str] = None
) -> Report:
    """Run every check against ``session``'s hosts and return the :class:`Report`.

    Read-only: nothing is created, changed or sent to a chat. Each step waits
    at most ``timeout`` seconds. ``character_id`` picks the public character
    whose JSON the schema check reads (default: one of your recent chats', or
    a featured one).
    """
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise errors.ValidationError("timeout must be a positive number of seconds",
                                     field="timeout")
    if character_id is not None and (not isinstance(character_id, str) or not character_id):
        raise errors.ValidationError("character_id must be a non-empty string",
                                     field="character_id")
    checks = _Doctor(session, float(timeout), character_id).run()
    ep = session.endpoints
    return Report(
        checks=tuple(checks),
        library=__version__,
        python=platform.python_version(),
        platform=f"{platform.system()} {platform.machine()}".strip(),
        hosts={name: getattr(ep, name) for name in ("plus", "neo", "ws", "web", "cdn")},
        target=_target(session),
        authenticated=session.is_authenticated,
    )

