"""Fault injection for the emulator (thread-safe; set from tests or the CLI)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional

__all__ = ["DRIFT_OPS", "WS_HANDSHAKE_KINDS", "Drift", "Faults", "HttpFault", "apply_drift"]

_MALFORMED_KINDS = ("truncated", "invalid", "empty")
_HTML_KINDS = ("challenge", "access_denied", "waiting_room")
# How the service refuses websocket handshakes since mid-2025 (issue 16; PyCharacterAI#24,
# #26, #33; kramcat#133; node_characterai#205): 403 on the upgrade while HTTP accepts the
# token. Clients got through with the site's ``edge_rollout`` cookie (others.md 1.7,
# cainode.md 1.3) or a browser-like client.
WS_HANDSHAKE_KINDS = ("always", "no_rollout", "no_browser_ua")


@dataclass
class HttpFault:
    """One pending HTTP fault decided for a request (returned by :meth:`Faults.take_http`)."""

    kind: str  # "status" | "malformed" | "html"
    status: int = 200
    retry_after: Optional[float] = None
    variant: str = ""


DRIFT_OPS = ("rename", "drop", "retype", "add")


@dataclass
class Drift:
    """One change to the JSON a route answers with (the service changing under its clients).

    ``field`` is a dotted path in the response body; ``*`` stands for every item
    of a list (``"turns.*.author"``). ``rename`` moves the value to the key
    ``value``; ``drop`` removes it; ``retype`` replaces it with a value of another
    JSON type (``value``, or an object for a scalar and a string for an object or
    list); ``add`` sets a field the route did not have to ``value``.
    """

    op: str
    field: str
    value: object = None


def _retyped(old: object) -> object:
    return "drifted" if isinstance(old, (dict, list)) else {"drifted": True}


def _drift_at(node: object, parts: list, change: Drift) -> None:
    if not parts:
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        if isinstance(node, list) and rest:
            for item in node:
                _drift_at(item, rest, change)
        return
    if not isinstance(node, dict):
        return
    if rest:
        _drift_at(node.get(head), rest, change)
        return
    if change.op == "add":
        node[head] = "drifted" if change.value is None else change.value
    elif head not in node:
        return
    elif change.op == "drop":
        del node[head]
    elif change.op == "rename":
        node[str(change.value)] = node.pop(head)
    elif change.op == "retype":
        node[head] = _retyped(node[head]) if change.value is None else change.value


def apply_drift(body: object, changes: Iterable[Drift]) -> object:
    """Apply ``changes`` to a decoded JSON body in place (and return it)."""
    for change in changes:
        _drift_at(body, change.field.split("."), change)
    return body


@dataclass
class _Rule:
    prefix: str
    kind: str
    statuses: list = field(default_factory=list)
    retry_after: Optional[float] = None
    variant: str = ""
    times: Optional[int] = None  # None = forever
    drift: Optional[Drift] = None


class Faults:
    """Faults the emulator injects on demand.

    All methods are thread-safe; faults are consumed by the server thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        """Remove every pending fault and the latency."""
        with getattr(self, "_lock", threading.Lock()):
            self._rules: list = []
            self._drop_after: list = []  # list of frame budgets, one per command
            self._drop_on_receive = 0
            self._latency = 0.0
            self._filter: list = []
            self._drift: list = []
            self._ws_refuse: list = []  # [kind, times or None]

    # -- websocket ------------------------------------------------------------------
    def drop_socket_after(self, frames: int, times: int = 1) -> None:
        """On the next ``times`` websocket commands, close the socket abruptly after
        ``frames`` frames of the flow were sent.

        The command's effects (the user's turn, the completed reply) still happen
        and are stored; ``frames=0`` stores the user's turn but sends nothing.
        """
        if frames < 0 or times < 1:
            raise ValueError("frames must be >= 0 and times >= 1")
        with self._lock:
            self._drop_after.extend([int(frames)] * int(times))

    def drop_on_receive(self, times: int = 1) -> None:
        """Close the socket when each of the next ``times`` commands arrives, without
        processing it (the service never got it)."""
        with self._lock:
            self._drop_on_receive += int(times)

    def filter_next(self, kind: str) -> None:
        """Trigger the content filter on the next ``create_and_generate_turn``.

        ``"input"``: a single ``filter_user_input_self_harm`` frame, nothing stored.
        ``"output"``: the reply is cut short and its candidate carries
        ``safety_truncated: true``.
        """
        if kind not in ("input", "output"):
            raise ValueError("kind must be 'input' or 'output'")
        with self._lock:
            self._filter.append(kind)

    def refuse_ws_handshake(self, kind: str = "always", times: Optional[int] = None) -> None:
        """Refuse websocket handshakes with 403, as the service does to some clients.

        ``"always"``: every handshake; ``"no_rollout"``: handshakes whose cookies
        lack the site's ``edge_rollout``; ``"no_browser_ua"``: handshakes whose
        ``User-Agent`` is not a browser's. HTTP is unaffected. ``times=None``
        means until cleared; otherwise the next ``times`` refusals.
        """
        if kind not in WS_HANDSHAKE_KINDS:
            raise ValueError(f"kind must be one of {WS_HANDSHAKE_KINDS}")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 (or None for until cleared)")
        with self._lock:
            self._ws_refuse.append([kind, times])

    # -- HTTP -------------------------------------------------------------------------
    def http_errors(
        self, path_prefix: str, statuses: Iterable[int], retry_after: Optional[float] = None
    ) -> None:
        """The next ``len(statuses)`` HTTP requests whose path (full emulator path, e.g.
        ``/plus/chat/user/``) starts with ``path_prefix`` get these statuses with a
        realistic JSON error body; a 429 carries ``Retry-After``."""
        statuses = [int(s) for s in statuses]
        with self._lock:
            self._rules.append(
                _Rule(
                    path_prefix,
                    "status",
                    statuses=statuses,
                    retry_after=retry_after,
                    times=len(statuses),
                )
            )

    def malformed(self, path_prefix: str, kind: str = "truncated", times: int = 1) -> None:
        """The next ``times`` matching responses get a broken body:
        ``"truncated"`` JSON, ``"invalid"`` (not JSON) or ``"empty"``, with status 200."""
        if kind not in _MALFORMED_KINDS:
            raise ValueError(f"kind must be one of {_MALFORMED_KINDS}")
        with self._lock:
            self._rules.append(_Rule(path_prefix, "malformed", variant=kind, times=int(times)))

    def html_block(
        self, path_prefix: str, times: Optional[int] = None, kind: str = "challenge"
    ) -> None:
        """Matching requests get a Cloudflare-like HTML page (403 for ``"challenge"`` and
        ``"access_denied"``, 503 for ``"waiting_room"``); ``times=None`` means until cleared."""
        if kind not in _HTML_KINDS:
            raise ValueError(f"kind must be one of {_HTML_KINDS}")
        with self._lock:
            self._rules.append(_Rule(path_prefix, "html", variant=kind, times=times))

    def drift(
        self,
        path_prefix: str,
        op: str,
        field: str,
        value: object = None,
        times: Optional[int] = None,
    ) -> None:
        """Change the JSON that matching routes answer with, as the service does without notice.

        ``op`` is one of ``DRIFT_OPS`` (``rename``, ``drop``, ``retype``, ``add``); e.g.
        ``drift("/plus/chat/user/", "retype", "user.user.username")`` or
        ``drift("/neo/turns/", "rename", "turns.*.author", "writer")``.
        ``times=None`` means until cleared.
        """
        if op not in DRIFT_OPS:
            raise ValueError(f"op must be one of {DRIFT_OPS}")
        if not field or not isinstance(field, str):
            raise ValueError("field must be a dotted path such as 'user.user.username'")
        if op == "rename" and not value:
            raise ValueError("rename needs the new name as value")
        with self._lock:
            self._drift.append(
                _Rule(path_prefix, "drift", times=times, drift=Drift(op, field, value))
            )

    def take_drift(self, path: str) -> list:
        """The drift changes for a response to ``path`` (server side)."""
        out = []
        with self._lock:
            for rule in list(self._drift):
                if not path.startswith(rule.prefix):
                    continue
                out.append(rule.drift)
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._drift.remove(rule)
        return out

    def latency(self, seconds: float) -> None:
        """Delay added before every HTTP response and every websocket frame."""
        with self._lock:
            self._latency = max(0.0, float(seconds))

    # -- consumed by the server ----------------------------------------------------------
    @property
    def latency_seconds(self) -> float:
        """The current latency."""
        return self._latency

    def take_http(self, path: str) -> Optional[HttpFault]:
        """Consume the first rule matching ``path`` (server side)."""
        with self._lock:
            for rule in self._rules:
                if not path.startswith(rule.prefix):
                    continue
                if rule.times is not None:
                    rule.times -= 1
                if rule.kind == "status":
                    status = rule.statuses.pop(0)
                    fault = HttpFault("status", status=status, retry_after=rule.retry_after)
                else:
                    fault = HttpFault(rule.kind, variant=rule.variant)
                if rule.times is not None and rule.times <= 0:
                    self._rules.remove(rule)
                return fault
        return None

    def take_ws_handshake(self, cookies: Mapping[str, str], user_agent: str) -> Optional[str]:
        """The reason to refuse this handshake, or ``None`` (server side)."""
        with self._lock:
            for rule in self._ws_refuse:
                kind = rule[0]
                if kind == "always":
                    reason = "refused"
                elif kind == "no_rollout" and not cookies.get("edge_rollout"):
                    reason = "no edge_rollout cookie"
                elif kind == "no_browser_ua" and not _is_browser_ua(user_agent):
                    reason = "not a browser User-Agent"
                else:
                    continue
                if rule[1] is not None:
                    rule[1] -= 1
                    if rule[1] <= 0:
                        self._ws_refuse.remove(rule)
                return reason
        return None

    def take_drop_on_receive(self) -> bool:
        """True if the command just received must be dropped (server side)."""
        with self._lock:
            if self._drop_on_receive > 0:
                self._drop_on_receive -= 1
                return True
            return False

    def take_drop_after(self) -> Optional[int]:
        """Frame budget for the command just received, or ``None`` (server side)."""
        with self._lock:
            return self._drop_after.pop(0) if self._drop_after else None

    def take_filter(self) -> Optional[str]:
        """Pending content-filter kind for the next generation, or ``None`` (server side)."""
        with self._lock:
            return self._filter.pop(0) if self._filter else None


def _is_browser_ua(user_agent: str) -> bool:
    """A browser's User-Agent: ``Mozilla/5.0 (...)`` with a known engine token."""
    ua = user_agent or ""
    return ua.startswith("Mozilla/5.0 (") and any(
        t in ua for t in ("AppleWebKit/", "Gecko/", "Firefox/", "Chrome/", "Safari/")
    )
