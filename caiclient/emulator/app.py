"""The emulator's aiohttp application, its shared context and the ``Emulator`` server."""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
import traceback
from typing import Any, Optional, Union

from aiohttp import web

from caiclient.emulator.brains import Brain, CharacterBrain
from caiclient.emulator.faults import Faults, HttpFault, apply_drift
from caiclient.emulator.seed import apply_seed, load_seed
from caiclient.emulator.state import State
from caiclient.emulator.util import cf_ray, dumps, loads, new_id

__all__ = ["ApiError", "Ctx", "Emulator", "RequestLog", "serve"]

logger = logging.getLogger("caiclient.emulator")

CTX: web.AppKey = web.AppKey("cai_ctx", object)


class ApiError(Exception):
    """Raised by handlers to answer with a JSON error body and a status."""

    def __init__(self, status: int, body: Any, headers: Optional[dict] = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


class RequestLog:
    """Thread-safe, ordered and bounded record of what the emulator received.

    A ring of the ``maxlen`` most recent entries (older ones are dropped, so a
    long-running emulator does not grow without limit). Bodies and websocket
    frames larger than ``max_body`` bytes are not kept: the entry holds their
    ``size`` and ``truncated: True`` instead (``body`` then holds only the first
    ``max_body`` bytes and ``json`` is ``None``).

    Entries are dicts:

    * HTTP: ``{"kind": "http", "method", "path", "query" (dict of lists),
      "headers" (dict, lower-case names), "body" (bytes), "json" (parsed body or None),
      "size" (body length)}``;
    * websocket handshake: ``{"kind": "ws_connect", "path", "headers"}``;
    * websocket command: ``{"kind": "ws", "command": <raw dict as received>,
      "dropped": bool}`` (``dropped`` when a fault closed the socket on receipt);
      a frame over the limit is logged as ``{"command": <its command name>,
      "request_id": ..., "size": n, "truncated": True}``;
    * notable events: ``{"kind": "event", "message": str, ...}``.
    """

    DEFAULT_MAXLEN = 10_000
    DEFAULT_MAX_BODY = 64 * 1024

    def __init__(self, maxlen: int = DEFAULT_MAXLEN, max_body: int = DEFAULT_MAX_BODY) -> None:
        if maxlen < 1 or max_body < 0:
            raise ValueError("maxlen must be >= 1 and max_body >= 0")
        self._lock = threading.Lock()
        self._items: collections.deque = collections.deque(maxlen=maxlen)
        self.max_body = max_body
        self.dropped = 0  # entries pushed out of the ring

    @property
    def maxlen(self) -> int:
        """How many entries the ring keeps."""
        return int(self._items.maxlen or 0)

    def append(self, entry: dict) -> None:
        """Add an entry (the oldest one goes when the ring is full)."""
        with self._lock:
            if len(self._items) == self._items.maxlen:
                self.dropped += 1
            self._items.append(entry)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._items.clear()
            self.dropped = 0

    def entries(self) -> list:
        """A snapshot of every entry, oldest first."""
        with self._lock:
            return list(self._items)

    def http(self, path_prefix: str = "") -> list:
        """HTTP entries whose path starts with ``path_prefix``."""
        return [
            e for e in self.entries() if e["kind"] == "http" and e["path"].startswith(path_prefix)
        ]

    def ws(self, command: Optional[str] = None) -> list:
        """Raw websocket commands received (optionally only one command name)."""
        return [
            e["command"]
            for e in self.entries()
            if e["kind"] == "ws" and (command is None or e["command"].get("command") == command)
        ]

    def events(self) -> list:
        """Notable events (e.g. duplicate turn rejected)."""
        return [e for e in self.entries() if e["kind"] == "event"]

    def __iter__(self):
        return iter(self.entries())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __getitem__(self, index):
        with self._lock:
            if isinstance(index, slice):
                return list(self._items)[index]
            return self._items[index]


class Ctx:
    """Everything handlers share: state, faults, log, brain and settings."""

    def __init__(
        self, state: State, faults: Faults, log: RequestLog, brain: Brain, delay: float, seed: dict
    ) -> None:
        self.state = state
        self.faults = faults
        self.log = log
        self.brain = brain
        self.delay = delay
        self.seed = seed
        self.base_url = ""
        self.chat_locks: dict = {}
        self.tasks: set = set()
        self.sockets: set = set()

    def chat_lock(self, chat_id: str) -> asyncio.Lock:
        """The lock serialising websocket work on one chat."""
        lock = self.chat_locks.get(chat_id)
        if lock is None:
            lock = self.chat_locks[chat_id] = asyncio.Lock()
        return lock

    def spawn(self, coro) -> asyncio.Task:
        """Start a task that outlives the request/socket that created it."""
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def event(self, message: str, **extra: Any) -> None:
        """Record a notable event in the log and the ``logging`` logger."""
        logger.info("%s %s", message, extra)
        self.log.append({"kind": "event", "message": message, **extra})


# -- responses ----------------------------------------------------------------------------


def jr(obj: Any, status: int = 200, headers: Optional[dict] = None) -> web.Response:
    """A JSON response."""
    return web.Response(
        text=dumps(obj), status=status, content_type="application/json", headers=headers
    )


def prefix_of(path: str) -> str:
    """The upstream host prefix of an emulator path (``plus``, ``neo``, ``web``, ``cdn``).

    ``/beta`` serves the same routes as ``/plus`` (see ``build_app``) and counts as ``plus``.
    """
    part = path.split("/", 2)[1] if path.startswith("/") else ""
    if part == "beta":
        return "plus"
    return part if part in ("plus", "neo", "web", "cdn") else ""


_REASONS = {
    400: "Bad Request",
    401: "Authentication credentials were not provided.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    405: "Method not allowed.",
    409: "Conflict",
    429: "Too many requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def error_body(path: str, status: int, message: Optional[str] = None) -> Any:
    """A realistic JSON error body for ``status`` on the host of ``path``."""
    msg = message or _REASONS.get(status, "Error")
    host = prefix_of(path)
    if host == "neo":
        return {"command": "neo_error", "comment": msg}
    if host == "web":
        return [
            {
                "error": {
                    "json": {
                        "message": msg,
                        "code": -32000 - status,
                        "data": {"code": msg.upper().replace(" ", "_"), "httpStatus": status},
                    }
                }
            }
        ]
    if host == "plus" and status in (401, 403, 404, 405, 429):
        if status == 429:
            return {"detail": "Request was throttled."}
        return {"detail": msg}
    return {"status": "NOT_OK", "error": msg}


_HTML = {
    "challenge": (
        403,
        '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
        '<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper">'
        "<h1>character.ai</h1><h2>Verifying you are human. This may take a few seconds.</h2>"
        "<noscript>Enable JavaScript and cookies to continue</noscript>"
        '<script src="/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1"></script>'
        '</div><div class="footer">Performance &amp; security by Cloudflare</div></body></html>',
    ),
    "access_denied": (
        403,
        "<!DOCTYPE html><html><head><title>Access denied | character.ai used Cloudflare "
        "to restrict "
        'access</title></head><body><div id="cf-wrapper"><h1>Error 1020</h1><h2>Access denied</h2>'
        "<p>This website is using a security service to protect itself from online attacks.</p>"
        "<p>Cloudflare Ray ID: {ray}</p></div></body></html>",
    ),
    "waiting_room": (
        503,
        "<!DOCTYPE html><html><head><title>Waiting Room powered by Cloudflare</title>"
        '<meta http-equiv="refresh" content="30"></head><body><h1>You are now in line.</h1>'
        "<p>Thank you for your patience. Estimated wait time: 2 minutes.</p>"
        "<p>Cloudflare Ray ID: {ray}</p></body></html>",
    ),
}


def _fault_response(request: web.Request, fault: HttpFault, ray: str) -> web.StreamResponse:
    if fault.kind == "html":
        status, page = _HTML[fault.variant]
        headers = {"server": "cloudflare", "cache-control": "no-cache"}
        if fault.variant == "challenge":
            headers["cf-mitigated"] = "challenge"
        return web.Response(
            text=page.replace("{ray}", ray),
            status=status,
            content_type="text/html",
            headers=headers,
        )
    headers = {}
    if fault.status == 429:
        headers["Retry-After"] = str(
            int(fault.retry_after)
            if fault.retry_after is not None and float(fault.retry_after).is_integer()
            else (fault.retry_after if fault.retry_after is not None else 1)
        )
    elif fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    return jr(error_body(request.path, fault.status), status=fault.status, headers=headers)


def _malform(resp: web.Response, kind: str) -> web.Response:
    body = bytes(resp.body) if isinstance(resp.body, (bytes, bytearray)) else b"{}"
    new: bytes
    if kind == "empty":
        new = b""
    elif kind == "invalid":
        new = b"{this is: not json,"
    else:
        new = bytes(body[: max(1, len(body) // 2)])
        if new == body:
            new = body[:-1] if len(body) > 1 else b"{"
    return web.Response(body=new, status=200, content_type="application/json")


def _drifted(resp: web.Response, changes: list) -> web.Response:
    """The response with its JSON body changed by drift faults (non-JSON bodies as they are)."""
    if resp.content_type != "application/json" or not isinstance(resp.body, bytes):
        return resp
    try:
        body = loads(resp.body)
    except ValueError:
        return resp
    apply_drift(body, changes)
    kept = {
        k: v for k, v in resp.headers.items() if k.lower() not in ("content-type", "content-length")
    }
    return web.Response(
        text=dumps(body), status=resp.status, content_type="application/json", headers=kept
    )


@web.middleware
async def _middleware(request: web.Request, handler) -> web.StreamResponse:
    ctx: Ctx = request.app[CTX]
    is_ws = request.headers.get("Upgrade", "").lower() == "websocket"
    body = b"" if is_ws else await request.read()
    limit = ctx.log.max_body
    parsed = None
    if body and len(body) <= limit:
        try:
            parsed = loads(body)
        except ValueError:
            parsed = None
    query: dict = {}
    for k, v in request.query.items():
        query.setdefault(k, []).append(v)
    if not is_ws:
        entry = {
            "kind": "http",
            "method": request.method,
            "path": request.path,
            "query": query,
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body": body[:limit],
            "json": parsed,
            "size": len(body),
        }
        if len(body) > limit:
            entry["truncated"] = True
        ctx.log.append(entry)
    ray = cf_ray()
    latency = ctx.faults.latency_seconds
    if latency:
        await asyncio.sleep(latency)
    fault = ctx.faults.take_http(request.path)
    resp: web.StreamResponse
    if fault is not None and fault.kind in ("status", "html"):
        resp = _fault_response(request, fault, ray)
    else:
        try:
            resp = await handler(request)
        except ApiError as e:
            resp = jr(e.body, status=e.status, headers=e.headers)
        except web.HTTPException as e:
            if e.status < 400:
                raise
            resp = jr(error_body(request.path, e.status), status=e.status)
        except asyncio.CancelledError:
            raise
        except Exception:  # pragma: no cover - defensive
            logger.error("emulator handler failed:\n%s", traceback.format_exc())
            resp = jr(error_body(request.path, 500), status=500)
        if fault is not None and fault.kind == "malformed" and isinstance(resp, web.Response):
            resp = _malform(resp, fault.variant)
        drift = ctx.faults.take_drift(request.path)
        if drift and isinstance(resp, web.Response):
            resp = _drifted(resp, drift)
    if not resp.prepared:
        resp.headers["cf-ray"] = ray
        resp.headers["x-request-id"] = new_id()
    return resp


def build_app(ctx: Ctx) -> web.Application:
    """The aiohttp application with every route."""
    from caiclient.emulator import (
        login,
        rooms,
        routes_cdn,
        routes_compat,
        routes_neo,
        routes_plus,
        routes_web,
        ws,
    )

    app = web.Application(middlewares=[_middleware], client_max_size=32 * 1024 * 1024)
    app[CTX] = ctx
    app.router.add_get("/neo/ws/", ws.handler)
    app.router.add_get("/neo/ws", ws.handler)
    routes_plus.setup(app)
    routes_neo.setup(app)
    routes_web.setup(app)
    routes_cdn.setup(app)
    routes_compat.setup(app)
    rooms.setup(app)  # group chats: REST and the room socket
    login.setup(app)  # the email-link login and the identity host
    add_route_aliases(app)
    app.on_shutdown.append(_on_shutdown)
    return app


# Hosts served under a second prefix with the same routes. ``beta`` is the old name of
# ``plus``: N2 (node_characterai 2.0) still uploads images to
# ``https://beta.character.ai/chat/upload-image/`` and K (kramcat) exchanges its login
# token at ``https://beta.character.ai/dj-rest-auth/google_idp/`` (others.md 2.7, cainode.md 2.4).
HOST_ALIASES = {"/plus/": "/beta/"}
# Prefixes whose routes are not mirrored with/without a trailing slash (CDN files have a
# path-matching pattern; the websocket registers both forms itself).
_NO_SLASH_ALIAS = ("/cdn/", "/neo/ws")


def _route_paths(app: web.Application) -> list:
    """``(method, path formatter, handler)`` of every registered route."""
    out = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if path and route.method != "HEAD":
            out.append((route.method, path, route.handler))
    return out


def add_route_aliases(app: web.Application) -> None:
    """Serve every route with and without its trailing slash, and ``/beta`` like ``/plus``.

    The service answers both ``/turns/{chat_id}/`` and ``/turns/{chat_id}`` (CAINode
    calls the second, PyCharacterAI the first: cainode.md 8), and so on for every
    route, so the emulator does too. Call after every route module registered its
    routes (room or login modules registered later may call it again: it only adds
    what is missing).
    """
    have = {(m, p) for m, p, _ in _route_paths(app)}
    wanted: list = []
    for method, path, handler in _route_paths(app):
        forms = [path]
        for src, dst in HOST_ALIASES.items():
            if path.startswith(src):
                forms.append(dst + path[len(src) :])
        for form in list(forms):
            if form.startswith(_NO_SLASH_ALIAS) or form in ("/web", "/web/"):
                continue
            forms.append(form[:-1] if form.endswith("/") else form + "/")
        wanted.extend((method, f, handler) for f in forms)
    for method, path, handler in wanted:
        if (method, path) not in have:
            have.add((method, path))
            app.router.add_route(method, path, handler)


async def _on_shutdown(app: web.Application) -> None:
    ctx: Ctx = app[CTX]
    for task in list(ctx.tasks):
        task.cancel()
    if ctx.tasks:
        await asyncio.gather(*ctx.tasks, return_exceptions=True)
    for sock in list(ctx.sockets):
        try:
            await sock.close()
        except Exception:  # pragma: no cover
            pass


class Emulator:
    """A running (or startable) emulator of the Character.AI web API.

    Args:
        port: TCP port (0 = pick a free one).
        db: SQLite file path, or ``None`` for an in-memory database.
        seed: extra seed data (a path to a JSON file or a dict in the same format
            as the bundled ``seed.json``), merged over the bundled seed.
        delay: seconds between streamed websocket frames.
        brain: reply generator (default :class:`~caiclient.emulator.brains.CharacterBrain`).
        host: interface to bind (default ``127.0.0.1``).

    Attributes (once started): ``url``, ``token``, ``other_token``,
    ``character_ids``, ``faults``, ``state``, ``log``; ``outbox`` (the
    sign-in emails) and ``login`` (the email-link login's state and faults,
    :class:`~caiclient.emulator.login.LoginDesk`).
    """

    def __init__(
        self,
        port: int = 0,
        db: Optional[str] = None,
        seed: Union[str, dict, None] = None,
        delay: float = 0.0,
        brain: Optional[Brain] = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.host = host
        self.port = port
        self.db = db
        self.delay = delay
        self.brain: Brain = brain or CharacterBrain()
        self.seed_data = load_seed(seed)
        self.faults = Faults()
        self.log = RequestLog()
        from caiclient.emulator.login import LoginDesk

        self.login = LoginDesk()
        self.state: Optional[State] = None
        self.url = ""
        self._thread: Optional[threading.Thread] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._runner: Optional[web.AppRunner] = None
        self._ready = threading.Event()
        self._error: Optional[BaseException] = None
        self.ctx: Optional[Ctx] = None

    # -- seeded facts -------------------------------------------------------------------
    def _seed_user(self, key: str) -> dict:
        name = self.seed_data.get(key)
        for u in self.seed_data.get("users", []):
            if u.get("username") == name:
                return u
        raise KeyError(f"seed has no user {name!r} ({key})")

    @property
    def token(self) -> str:
        """API token of the seeded main user (alice)."""
        return str(self._seed_user("main_user")["token"])

    @property
    def other_token(self) -> str:
        """API token of the seeded second user (bob)."""
        return str(self._seed_user("other_user")["token"])

    @property
    def user_id(self) -> str:
        """Account id (decimal string) of the main user."""
        return str(self._seed_user("main_user")["id"])

    @property
    def other_user_id(self) -> str:
        """Account id (decimal string) of the second user."""
        return str(self._seed_user("other_user")["id"])

    @property
    def web_next_auth(self) -> str:
        """``web-next-auth`` cookie value of the main user."""
        return str(self._seed_user("main_user").get("web_next_auth") or "")

    @property
    def character_ids(self) -> list:
        """External ids of the seeded public characters, in seed order."""
        return [
            c["external_id"]
            for c in self.seed_data.get("characters", [])
            if c.get("visibility", "PUBLIC").upper() == "PUBLIC"
        ]

    @property
    def outbox(self):
        """The sign-in emails sent so far (:class:`~caiclient.emulator.login.Outbox`)."""
        return self.login.outbox

    @property
    def ws_url(self) -> str:
        """The websocket URL (``ws://127.0.0.1:PORT/neo/ws/``)."""
        return "ws" + self.url[len("http") :] + "/neo/ws/"

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> Emulator:
        """Start serving in a background thread; returns self once listening."""
        if self._thread is not None:
            return self
        self.state = State(self.db)
        apply_seed(self.state, self.seed_data)
        self.ctx = Ctx(self.state, self.faults, self.log, self.brain, self.delay, self.seed_data)
        self.ctx.login_desk = self.login  # type: ignore[attr-defined]
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="caiclient-emulator", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            err = self._error
            self._thread.join(5)
            self._thread = None
            raise RuntimeError(f"emulator failed to start: {err}") from err
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as e:
            self._error = e
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._cleanup())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _startup(self) -> None:
        assert self.ctx is not None
        app = build_app(self.ctx)
        try:  # aiohttp >= 3.10 takes shutdown_timeout on the runner
            self._runner = web.AppRunner(
                app, access_log=None, handle_signals=False, shutdown_timeout=0.5
            )
            site_kw: dict = {}
        except TypeError:  # pragma: no cover - older aiohttp
            self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
            site_kw = {"shutdown_timeout": 0.5}
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, **site_kw)
        await site.start()
        server: Any = site._server
        sock = server.sockets[0] if server is not None and server.sockets else None
        port = sock.getsockname()[1] if sock is not None else self.port
        self.port = port
        host = self.host if ":" not in self.host else f"[{self.host}]"
        self.url = f"http://{host}:{port}"
        self.ctx.base_url = self.url

    async def _cleanup(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def stop(self) -> None:
        """Stop serving, close sockets and the database, and join the thread."""
        if self._thread is None:
            return
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._thread = None
        self._loop = None
        if self.state is not None:
            self.state.close()

    def reset(self) -> None:
        """Clear state (reseeded), faults and the log (for a shared emulator)."""
        assert self.state is not None
        self.faults.clear()
        self.log.clear()
        self.login.clear()
        self.state.clear()
        apply_seed(self.state, self.seed_data)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Emulator url={self.url or '(not started)'}>"


def serve(
    port: int = 0,
    db: Optional[str] = None,
    seed: Union[str, dict, None] = None,
    delay: float = 0.0,
    brain: Optional[Brain] = None,
    host: str = "127.0.0.1",
) -> Emulator:
    """Create an :class:`Emulator`; use it as a context manager (``with serve() as emu``).

    The server starts on ``__enter__`` and stops on ``__exit__``.
    """
    return Emulator(port=port, db=db, seed=seed, delay=delay, brain=brain, host=host)


def wait_until(predicate, timeout: float = 2.0, interval: float = 0.005) -> bool:
    """Poll ``predicate`` until true or ``timeout`` (test helper)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
