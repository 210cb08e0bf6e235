"""``caiclient.aio``: the same library for asyncio code.

:class:`Client` takes the same arguments as :class:`caiclient.Session` and
has the same resources with the same method names; every method is
awaitable, and the streaming methods (``chats.stream``,
``chats.stream_regenerate``, ``chats.turns``) return async iterators that
are also async context managers::

    async with caiclient.aio.Client(token="...") as c:
        chat, greeting = await c.chats.create(character_id)
        async with c.chats.stream(character_id, chat.chat_id, "Hi!") as reply:
            async for turn in reply:
                print(turn.text)

There is no second implementation: each call runs the blocking method of
the underlying :class:`~caiclient.Session` in a thread pool owned by the
client, with the caller's context variables. A method added to a resource
appears here by itself. Type information comes from stubs generated from
the sync resources (``caiclient/_aio_types.pyi``; a test fails when they are
stale).

Replies hold no thread while they wait: the message is sent from the pool,
then the websocket's reader thread hands each frame to the event loop, where
the same protocol logic (:class:`~caiclient.resources._replies.ReplyStream`)
reads it. Only blocking work (HTTP, the recovery check after a drop) uses
the pool, so ``max_workers`` bounds blocking calls, not conversations.
``chats.send`` and the other "final reply" methods run that way too.

Cancelling a task (or leaving ``async with``/``async for`` early) releases
the underlying stream promptly: a pending reply is abandoned at once, and
nothing is left running in the pool past one receive timeout. After
:meth:`Client.aclose`, calls and streams in flight raise
:class:`~caiclient.errors.ClientClosed`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import inspect
import threading
import time
import typing
import weakref
from collections import deque
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Generic,
    Iterator,
    List,
    Mapping,
    Optional,
    Type,
    TypeVar,
    Union,
)

from caiclient import errors
from caiclient.endpoints import Endpoints
from caiclient.models import Avatar, Turn
from caiclient.resources import _replies
from caiclient.resources._replies import ReplyStream
from caiclient.session import Session
from caiclient.transport import _inline
from caiclient.transport.http import DEFAULT_TIMEOUT, Credentials, RetryPolicy, Timeout
from caiclient.transport.ws import Disconnected

if TYPE_CHECKING:  # pragma: no cover
    from types import TracebackType

    from caiclient._aio_types import (
        AsyncAccount,
        AsyncAuth,
        AsyncCharacters,
        AsyncChats,
        AsyncMedia,
        AsyncPersonas,
        AsyncRooms,
        AsyncUsers,
        AsyncVoices,
    )
    from caiclient.transport.ws import Connect

__all__ = ["AsyncIteratorStream", "AsyncReplyStream", "AsyncResource", "Client"]

T = TypeVar("T")
C = TypeVar("C", bound="Client")

_SENTINEL: Any = object()
DEFAULT_MAX_WORKERS = 64
# Messages sent at once from the pool: the socket takes one frame at a time anyway, and a
# burst of a thousand sends would otherwise occupy every worker (and contend for the GIL
# with the event loop) for nothing; the others wait on the loop, holding no thread.
SEND_CONCURRENCY = 8

RESOURCE_NAMES = (
    "account", "personas", "users", "characters", "chats", "rooms", "voices", "media", "auth",
)  # fmt: skip


class _Runner:
    """Runs blocking callables in the client's pool, with the caller's context."""

    def __init__(self, max_workers: int) -> None:
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="caiclient-aio"
        )
        self.closed = False
        self.streams: weakref.WeakSet[AsyncReplyStream] = weakref.WeakSet()
        self.start_slots = min(SEND_CONCURRENCY, max_workers)
        self._starts: Optional[asyncio.Semaphore] = None
        self._mailbox: Optional[_Mailbox] = None

    def mailbox(self, loop: asyncio.AbstractEventLoop) -> _Mailbox:
        """The wake-ups of ``loop``'s reply streams, shared (see :class:`_Mailbox`)."""
        box = self._mailbox
        if box is None or box._loop is not loop:
            box = self._mailbox = _Mailbox(loop)
        return box

    def starts(self) -> asyncio.Semaphore:
        """Bounds how many messages are being sent at once (created on the running loop)."""
        if self._starts is None:
            self._starts = asyncio.Semaphore(self.start_slots)
        return self._starts

    def submit(
        self, fn: Callable[..., T], *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[T]:
        if self.closed:
            raise errors.ClientClosed("the client is closed")
        ctx = contextvars.copy_context()
        try:
            return self.pool.submit(ctx.run, functools.partial(fn, *args, **kwargs))
        except RuntimeError:  # shut down meanwhile
            raise errors.ClientClosed("the client is closed") from None

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))


# ---------------------------------------------------------------- streams


class AsyncIteratorStream(Generic[T]):
    """An async iterator over a blocking iterator, pulled in the client's pool.

    Also an async context manager; :meth:`aclose` (or leaving ``async
    with``, or cancelling the task) closes the underlying iterator once
    no ``next()`` is running any more, so it never raises "generator
    already executing" and never hangs at exhaustion.
    """

    def __init__(self, runner: _Runner, start: Callable[[], Iterator[T]]) -> None:
        self._runner = runner
        self._start = start
        self._it: Optional[Iterator[T]] = None
        self._pending: Optional[concurrent.futures.Future[Any]] = None
        self._closed = False
        self._cleanup: Optional[asyncio.Task[None]] = None

    async def _iterator(self) -> Iterator[T]:
        if self._it is None:
            self._it = await self._runner.run(self._start)
        return self._it

    def __aiter__(self) -> AsyncIteratorStream[T]:
        return self

    async def __anext__(self) -> T:
        if self._closed:
            raise StopAsyncIteration
        it = await self._iterator()
        fut = self._runner.submit(next, it, _SENTINEL)
        self._pending = fut
        try:
            item = await asyncio.wrap_future(fut)
        except asyncio.CancelledError:
            self._abandon()
            raise
        except BaseException:
            self._pending = None
            await self.aclose()
            raise
        self._pending = None
        if item is _SENTINEL:
            await self.aclose()
            raise StopAsyncIteration
        return item

    def _wake(self) -> None:
        """Make a running ``next()`` return soon: an iterator whose ``close()`` may be
        called from another thread (``threadsafe_close = True``) is closed now."""
        it: Any = self._it
        if it is not None and getattr(it, "threadsafe_close", False):
            it.close()

    def _abandon(self) -> None:
        """Cancelled mid-``next()``: close in the background once the worker is free."""
        self._closed = True
        self._wake()
        pending, self._pending = self._pending, None
        self._cleanup = asyncio.ensure_future(self._close_after(pending))

    async def _close_after(self, pending: Optional[concurrent.futures.Future[Any]]) -> None:
        if pending is not None:
            await asyncio.wait([asyncio.wrap_future(pending)])
        it = self._it
        close = getattr(it, "close", None)
        if close is not None:
            await self._runner.run(close)

    async def aclose(self) -> None:
        """Close the stream (idempotent); waits for a running ``next()`` to return first."""
        if self._cleanup is not None:
            await self._cleanup
            return
        self._closed = True
        self._wake()
        pending, self._pending = self._pending, None
        self._cleanup = asyncio.ensure_future(self._close_after(pending))
        await self._cleanup

    async def __aenter__(self) -> AsyncIteratorStream[T]:
        """Start the underlying call now (a room listener is subscribed once this returns)."""
        await self._iterator()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


class _Mailbox:
    """Wakes an event loop for the sinks that got frames: one wake-up per burst.

    The reader thread routes a burst of frames to many requests; each wake-up
    is a write to the loop's self-pipe and a trip around the loop, so the
    sinks of one loop share them: the first sink with news schedules a
    delivery, the others join it until it runs.
    """

    __slots__ = ("_dirty", "_loop", "_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._dirty: typing.Deque[_LoopSink] = deque()
        self._scheduled = False

    def post(self, sink: _LoopSink) -> None:
        """``sink`` has news (any thread)."""
        self._dirty.append(sink)
        if not self._scheduled:  # read after the append: a running delivery sees it
            self._scheduled = True
            try:
                self._loop.call_soon_threadsafe(self._deliver)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass

    def _deliver(self) -> None:
        self._scheduled = False  # before draining: a post from now on schedules anew
        dirty = self._dirty
        while dirty:
            dirty.popleft()._wake()


class _LoopSink:
    """One request's frames, handed from the websocket reader thread to an event loop.

    ``put`` (any thread) appends and wakes the loop through its
    :class:`_Mailbox`; :meth:`get` waits on the loop, bounded, holding no thread.
    """

    __slots__ = ("_defer", "_items", "_loop", "_mailbox", "_waiter")

    def __init__(self, loop: asyncio.AbstractEventLoop, mailbox: Optional[_Mailbox] = None) -> None:
        self._loop = loop
        self._mailbox = mailbox if mailbox is not None else _Mailbox(loop)
        self._items: typing.Deque[Any] = deque()
        self._waiter: Optional[asyncio.Future[None]] = None
        self._defer: Optional[Callable[[Any], bool]] = None

    def put(self, item: Any, block: bool = True, timeout: Optional[float] = None) -> bool:
        """Keep ``item``; wake the loop if a reader waits for it (False: nobody woken)."""
        self._items.append(item)
        if self._waiter is not None:  # a reader on the loop waits (else it finds the item)
            defer = self._defer
            if defer is None or not defer(item):
                self._mailbox.post(self)
                return True
        return False

    put_nowait = put

    def defer(self, routine: Callable[[Any], bool]) -> None:
        """Do not wake the loop for items ``routine(item)`` is true of.

        They wait for the next item that does wake it (or the reader's
        timeout, which then returns them rather than raising): one trip
        around the loop a reply instead of one a burst, for a reader that
        wants only the last of many snapshots. ``routine`` runs in the
        producer's thread and must not raise.
        """
        self._defer = routine

    def qsize(self) -> int:
        return len(self._items)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _expire(self, expired: List[bool]) -> None:
        expired.append(True)
        self._wake()

    async def get(self, frame_timeout: float, deadline: float) -> Any:
        """The next item; :class:`~caiclient.errors.Timeout` as ``PendingRequest.receive``."""
        if not self._items:
            remaining = deadline - time.monotonic()
            wait = min(frame_timeout, remaining)
            if wait > 0:
                expired: List[bool] = []
                timer = self._loop.call_later(wait, self._expire, expired)
                try:
                    while not self._items and not expired:  # a wake may be stale
                        waiter = self._loop.create_future()
                        self._waiter = waiter
                        if self._items:  # came before put() could see the waiter
                            break
                        await waiter
                finally:
                    timer.cancel()
                    self._waiter = None
            if not self._items:
                if remaining <= frame_timeout:
                    raise errors.Timeout("the reply did not complete in time")
                raise errors.Timeout(
                    f"no answer from the service for {frame_timeout:g}s on the chat websocket"
                )
        return self._items.popleft()


def _open_reply(
    loop: asyncio.AbstractEventLoop, mailbox: _Mailbox, start: Callable[[], ReplyStream]
) -> ReplyStream:
    """Create (and send) a reply stream whose frames go to ``loop`` (woken through ``mailbox``)."""
    with _replies.frames_into(lambda: _LoopSink(loop, mailbox)):
        return start()


def _next_or_none(it: ReplyStream) -> Optional[Turn]:
    return next(it, None)


class AsyncReplyStream:
    """A character's reply as it is written, for asyncio: ``async for turn in reply``.

    The async twin of :class:`~caiclient.resources._replies.ReplyStream`:
    snapshots of the whole text so far, :meth:`final` for the complete reply,
    :meth:`text_deltas` for the new text of each snapshot. Also an async
    context manager (leaving it abandons the reply).

    The message is sent exactly once, on first use (:meth:`start`, ``async
    with``, iteration or :meth:`final`), whatever is awaited concurrently;
    concurrent readers take turns. Waiting for frames holds no thread.
    """

    def __init__(self, runner: _Runner, start: Callable[[], ReplyStream]) -> None:
        self._runner = runner
        self._start = start
        self._it: Optional[ReplyStream] = None
        self._starting: Optional[asyncio.Future[ReplyStream]] = None
        self._closed = False
        self._client_closed = False
        self._guard: Optional[asyncio.Lock] = None
        runner.streams.add(self)

    # -- starting (exactly once)

    async def _stream(self) -> ReplyStream:
        if self._it is not None:
            return self._it
        if self._starting is None:
            if self._closed:
                raise self._closed_error()
            loop = asyncio.get_running_loop()
            self._starting = asyncio.ensure_future(self._open(loop))
        try:
            return await asyncio.shield(self._starting)
        except asyncio.CancelledError:
            self._abandon()  # the stream is closed as soon as the send returns
            raise

    async def _open(self, loop: asyncio.AbstractEventLoop) -> ReplyStream:
        async with self._runner.starts():
            if self._runner.closed:
                raise errors.ClientClosed("the client is closed")
            mailbox = self._runner.mailbox(loop)
            try:
                # On the loop when nothing has to wait (the socket is open: a few
                # microseconds); anything that would wait raises before it sends.
                with _inline.nonblocking():
                    it = _open_reply(loop, mailbox, self._start)
            except _inline.WouldBlock:
                it = await self._runner.run(_open_reply, loop, mailbox, self._start)
        self._it = it
        if self._closed:  # abandoned while it was being sent
            it.close()
        return it

    def _closed_error(self) -> errors.CaiError:
        if self._client_closed:
            return errors.ClientClosed("the client was closed while the reply was on its way")
        return errors.CaiError("the reply stream is closed")

    async def start(self) -> AsyncReplyStream:
        """Send the message now (iteration does it on first use otherwise)."""
        await self._stream()
        return self

    # -- reading

    def __aiter__(self) -> AsyncReplyStream:
        return self

    async def __anext__(self) -> Turn:
        if self._guard is None:
            self._guard = asyncio.Lock()
        async with self._guard:
            if self._closed:
                if self._client_closed:
                    raise self._closed_error()
                raise StopAsyncIteration
            it = await self._stream()
            if it.done or it.closed:
                raise StopAsyncIteration
            try:
                if type(it)._next_snapshot is ReplyStream._next_snapshot:
                    turn = await self._next_snapshot(it)
                else:  # a subclass with its own reading loop: pulled in the pool
                    turn = await self._runner.run(_next_or_none, it)
            except asyncio.CancelledError:
                self._abandon()
                raise
            except BaseException:
                it.finish()
                raise
            if turn is None:
                it.finish()
                if self._client_closed:
                    raise self._closed_error()
                raise StopAsyncIteration
            return turn

    async def _next_snapshot(self, it: ReplyStream) -> Optional[Turn]:
        """The ReplyStream's own loop, with frames awaited on the event loop."""
        while True:
            req = it.request
            if req is None or it.closed:
                return None
            sink = req.frames
            assert isinstance(sink, _LoopSink), "a reply stream of another face"
            try:
                frame = req.unwrap(await sink.get(it.frame_timeout, it.deadline))
            except Disconnected as exc:
                step = await self._recover(it, exc.sent)
            except errors.Timeout as exc:
                raise it.timed_out(exc) from None
            else:
                step = it.accept(frame)
                if isinstance(step, _replies.Recover):
                    step = await self._recover(it, step.sent)
            if step is not _replies.MORE:
                return step

    async def _recover(self, it: ReplyStream, sent: bool) -> Any:
        if self._client_closed or self._runner.closed:
            self._client_closed = True
            raise self._closed_error()
        return await self._runner.run(it.recover, sent)

    @property
    def turn(self) -> Optional[Turn]:
        """The latest snapshot received (``None`` before the first)."""
        return self._it.turn if self._it is not None else None

    @property
    def user_turn_id(self) -> Optional[str]:
        """The id of the user's message (``None`` before it was sent)."""
        return self._it.user_turn_id if self._it is not None else None

    @property
    def done(self) -> bool:
        """True once the complete reply was received."""
        return self._it is not None and self._it.done

    async def final(self) -> Turn:
        """Wait for the complete reply and return it."""
        it = await self._stream()
        it.want_final()
        async for _ in self:
            pass
        return it.final_turn()

    def text_deltas(self) -> _Deltas:
        """The reply as new pieces of text, for printing as it arrives."""
        return _Deltas(self)

    # -- closing

    def _abandon(self) -> None:
        """Stop at once (cancelled, closed): frames still on their way are discarded."""
        self._closed = True
        it = self._it
        if it is not None:
            it.close()  # thread-safe; wakes a recovery running in the pool

    def _on_client_closed(self) -> None:
        self._client_closed = True
        self._abandon()

    async def aclose(self) -> None:
        """Abandon the reply (idempotent); a message being sent is abandoned once it is out."""
        self._abandon()
        starting = self._starting
        if starting is not None and self._it is None:
            try:
                await asyncio.shield(starting)
            except BaseException:
                pass

    async def __aenter__(self) -> AsyncReplyStream:
        await self._stream()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        inner = repr(self._it) if self._it is not None else "not started"
        return f"<async {inner}>"


class _Deltas:
    """Async iterator of the text each snapshot of a reply adds."""

    def __init__(self, stream: AsyncReplyStream) -> None:
        self._stream = stream
        self._seen = ""

    def __aiter__(self) -> _Deltas:
        return self

    async def __anext__(self) -> str:
        turn = await self._stream.__anext__()
        piece = _replies.delta(self._seen, turn.text)
        self._seen = turn.text
        return piece


# ---------------------------------------------------------------- resources


def is_handle(tp: Any) -> bool:
    """True for classes whose instances get an async face too (e.g. Conversation).

    A *handle* is a class of this library that holds a Session and has
    blocking methods: not a model, not a stream.
    """
    return (
        isinstance(tp, type)
        and tp.__module__.startswith("caiclient.")
        and "session" in inspect.signature(tp).parameters
        and not issubclass(tp, ReplyStream)
    )


def return_kind(method: Callable[..., Any]) -> Optional[str]:
    """What a sync method returns, for the async face.

    ``"reply"`` (a ReplyStream), ``"iterator"``, ``"handle"`` (see
    :func:`is_handle`), ``"session"`` (a new Session: the async face returns
    a :class:`Client` over it) or ``None`` (a plain value).
    """
    try:
        hints = typing.get_type_hints(method)
    except Exception:  # pragma: no cover - unresolvable annotations
        return None
    ret = hints.get("return")
    if isinstance(ret, type) and issubclass(ret, ReplyStream):
        return "reply"
    origin = typing.get_origin(ret)
    if origin is not None and isinstance(origin, type) and issubclass(origin, Iterator):
        return "iterator"
    if is_handle(ret):
        return "handle"
    if isinstance(ret, type) and issubclass(ret, Session):
        return "session"
    return None


class AsyncResource:
    """The async face of one sync resource (or handle): same method names, each awaitable.

    Built generically: every public method of the sync resource is exposed,
    calls run in the client's pool, iterator-returning methods give async
    streams. Nothing here knows any endpoint.
    """

    def __init__(self, runner: _Runner, resource: Any) -> None:
        self._runner = runner
        self._resource = resource
        self._cache: Dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        attr = getattr(self._resource, name)
        if not callable(attr):
            return attr
        kind = return_kind(attr)
        wrapped: Callable[..., Any]
        final_of = getattr(attr, "__caiclient_reply_of__", None)
        if final_of is not None:
            # "the final reply of stream(...)": the async stream's final(), no thread held.
            stream_name, then = final_of
            stream_fn = getattr(self._resource, stream_name)
            after = getattr(self._resource, then) if then else None

            @functools.wraps(attr)
            async def final(*args: Any, **kwargs: Any) -> Any:
                reply = AsyncReplyStream(
                    self._runner, functools.partial(stream_fn, *args, **kwargs)
                )
                async with reply:
                    turn = await reply.final()
                return after(turn) if after is not None else turn

            wrapped = final
        elif kind == "reply":

            @functools.wraps(attr)
            def reply_stream(*args: Any, **kwargs: Any) -> AsyncReplyStream:
                return AsyncReplyStream(self._runner, functools.partial(attr, *args, **kwargs))

            wrapped = reply_stream
        elif kind == "iterator":

            @functools.wraps(attr)
            def iterator_stream(*args: Any, **kwargs: Any) -> AsyncIteratorStream[Any]:
                return AsyncIteratorStream(self._runner, functools.partial(attr, *args, **kwargs))

            wrapped = iterator_stream
        elif kind == "handle":

            @functools.wraps(attr)
            async def handle(*args: Any, **kwargs: Any) -> AsyncResource:
                return AsyncResource(self._runner, await self._runner.run(attr, *args, **kwargs))

            wrapped = handle
        elif kind == "session":

            @functools.wraps(attr)
            async def client(*args: Any, **kwargs: Any) -> Client:
                return Client.wrap(await self._runner.run(attr, *args, **kwargs))

            wrapped = client
        else:

            @functools.wraps(attr)
            async def call(*args: Any, **kwargs: Any) -> Any:
                return await self._runner.run(attr, *args, **kwargs)

            wrapped = call
        self._cache[name] = wrapped
        return wrapped

    def __dir__(self) -> Any:
        return sorted(set(super().__dir__()) | set(public_methods(type(self._resource))))

    def __repr__(self) -> str:
        return f"<async {self._resource!r}>"


def public_methods(cls: type) -> Dict[str, Callable[..., Any]]:
    """The public methods of a resource class (what the async face exposes)."""
    return {
        name: member
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


# ---------------------------------------------------------------- the client


class Client:
    """The asyncio face of :class:`caiclient.Session`.

    Takes the same arguments as :class:`~caiclient.Session`, plus
    ``max_workers`` (the size of the client's thread pool: the number of
    calls that can wait on the service at the same time; default 64).
    Use ``async with`` or call :meth:`aclose`.
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
        max_workers: int = DEFAULT_MAX_WORKERS,
    ) -> None:
        session = Session(
            token,
            web_next_auth=web_next_auth,
            endpoints=endpoints,
            http=http,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            headers=headers,
            reply_timeout=reply_timeout,
            ws_connect=ws_connect,
            impersonate=impersonate,
        )
        self._adopt(session, max_workers)

    @classmethod
    def from_env(cls: Type[C], **kwargs: Any) -> C:
        """A Client configured from the environment (see :meth:`caiclient.Session.from_env`)."""
        client = cls.__new__(cls)
        max_workers = kwargs.pop("max_workers", DEFAULT_MAX_WORKERS)
        session = Session.from_env(**kwargs)
        client._adopt(session, max_workers)
        return client

    @classmethod
    def wrap(cls: Type[C], session: Session, *, max_workers: int = DEFAULT_MAX_WORKERS) -> C:
        """An async face over an existing Session (closing the client closes it)."""
        client = cls.__new__(cls)
        client._adopt(session, max_workers)
        return client

    def _adopt(self, session: Session, max_workers: int) -> None:
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            session.close()
            raise errors.ValidationError(
                "max_workers must be a positive integer", field="max_workers"
            )
        self.session = session
        self._max_workers = max_workers
        self._runner = _Runner(max_workers)
        self._resources: Dict[str, AsyncResource] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _resource(self, name: str) -> Any:
        with self._lock:
            res = self._resources.get(name)
            if res is None:
                res = AsyncResource(self._runner, getattr(self.session, name))
                self._resources[name] = res
            return res

    # The resources (typed by the generated stubs).

    @property
    def account(self) -> AsyncAccount:
        """Async :attr:`caiclient.Session.account`."""
        return self._resource("account")

    @property
    def personas(self) -> AsyncPersonas:
        """Async :attr:`caiclient.Session.personas`."""
        return self._resource("personas")

    @property
    def users(self) -> AsyncUsers:
        """Async :attr:`caiclient.Session.users`."""
        return self._resource("users")

    @property
    def characters(self) -> AsyncCharacters:
        """Async :attr:`caiclient.Session.characters`."""
        return self._resource("characters")

    @property
    def chats(self) -> AsyncChats:
        """Async :attr:`caiclient.Session.chats`."""
        return self._resource("chats")

    @property
    def rooms(self) -> AsyncRooms:
        """Async :attr:`caiclient.Session.rooms`."""
        return self._resource("rooms")

    @property
    def voices(self) -> AsyncVoices:
        """Async :attr:`caiclient.Session.voices`."""
        return self._resource("voices")

    @property
    def media(self) -> AsyncMedia:
        """Async :attr:`caiclient.Session.media`."""
        return self._resource("media")

    @property
    def auth(self) -> AsyncAuth:
        """Async :attr:`caiclient.Session.auth` (its ``login`` returns a new Client)."""
        return self._resource("auth")

    # Session-level members.

    @property
    def is_guest(self) -> bool:
        """True when the client has no token."""
        return self.session.is_guest

    @property
    def is_authenticated(self) -> bool:
        """True when the client has a token."""
        return self.session.is_authenticated

    @property
    def endpoints(self) -> Endpoints:
        """Where the service lives."""
        return self.session.endpoints

    @property
    def impersonate(self) -> Optional[str]:
        """The browser the session impersonates, or ``None`` (see :class:`caiclient.Session`)."""
        return self.session.impersonate

    @property
    def credentials(self) -> Credentials:
        """The client's secrets (immutable; the repr hides them)."""
        return self.session.credentials

    def with_token(self: C, token: Optional[str]) -> C:
        """A new Client with these settings and ``token`` (see ``Session.with_token``)."""
        return type(self).wrap(self.session.with_token(token), max_workers=self._max_workers)

    def url(self, url: str) -> str:
        """Resolve ``"neo:/path"``-style URLs (no I/O); see :meth:`caiclient.Session.url`."""
        return self.session.url(url)

    async def account_id(self) -> str:
        """The account's numeric id as a string (fetched once)."""
        return await self._runner.run(lambda: self.session.account_id)

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Optional[Mapping[str, Any]] = None,
        json: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        idempotent: Optional[bool] = None,
    ) -> Any:
        """Async :meth:`caiclient.Session.request` (the escape hatch)."""
        return await self._runner.run(
            self.session.request,
            method,
            url,
            params=params,
            json=json,
            headers=headers,
            idempotent=idempotent,
        )

    async def ping(self) -> bool:
        """True if the service answers."""
        return await self._runner.run(self.session.ping)

    def avatar_url(
        self, avatar: Union[Avatar, str], size: int = 400, animated: bool = False
    ) -> str:
        """The CDN URL of an avatar (no I/O)."""
        return self.session.avatar_url(avatar, size=size, animated=animated)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run any blocking callable in the client's pool (e.g. a Session method)."""
        return await self._runner.run(fn, *args, **kwargs)

    # Lifecycle.

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` has been called."""
        return self._closed

    async def aclose(self) -> None:
        """Close the session and the thread pool. Idempotent.

        Calls and reply streams still in flight raise
        :class:`~caiclient.errors.ClientClosed`, and so does every later call.
        """
        if self._closed:
            return
        self._closed = True
        self._runner.closed = True
        for stream in list(self._runner.streams):
            stream._on_client_closed()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.session.close)
        await loop.run_in_executor(None, functools.partial(self._runner.pool.shutdown, wait=True))

    async def __aenter__(self: C) -> C:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<caiclient.aio.Client over {self.session!r}>"
