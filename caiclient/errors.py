"""The exception hierarchy of caiclient.

Every exception the library raises derives from :class:`CaiError`; no
``requests``, ``websocket`` or ``json`` exception escapes a public call.

::

    CaiError
    ├── ValidationError (also a ValueError)   bad input, caught before sending
    ├── AuthRequiredError                     a guest session called an account-only method
    ├── ExtraNotInstalled (an ImportError)    an optional feature's extra is missing
    ├── ParseError                            a response we could not understand
    │   └── ResponseTooLarge                  a body or frame beyond the configured limit
    ├── TransportError
    │   ├── NetworkError                      could not connect / connection reset
    │   │   └── ConnectionLost                the websocket dropped mid-reply
    │   └── Timeout                           no answer in time
    ├── APIError                              the service answered with a failure
    │   ├── BadRequest          400, 422
    │   ├── AuthenticationError 401 (and a refused websocket handshake)
    │   │   └── HandshakeRefused  websocket handshake refused while HTTP accepts the token
    │   ├── PermissionDenied    403
    │   ├── BlockedError        an anti-bot HTML page (Cloudflare challenge, waiting room)
    │   ├── NotFound            404
    │   ├── Conflict            409
    │   ├── RateLimited         429 (``retry_after``)
    │   ├── ServerError         5xx
    │   └── ActionFailed        HTTP 200 whose body says the action failed
    └── GenerationError                       ``neo_error`` on the websocket
        └── ContentFiltered                   the service's content filter refused the message

Messages never contain the token: exceptions are built from the response and
the request's method and path only (no headers, no query string).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, Type

if TYPE_CHECKING:  # pragma: no cover
    from caiclient.models import Turn

__all__ = [
    "APIError",
    "ActionFailed",
    "AuthRequiredError",
    "AuthenticationError",
    "BadRequest",
    "BlockedError",
    "CaiError",
    "ClientClosed",
    "Conflict",
    "ConnectionLost",
    "ContentFiltered",
    "ExtraNotInstalled",
    "GenerationError",
    "HandshakeRefused",
    "NetworkError",
    "NotFound",
    "ParseError",
    "PermissionDenied",
    "RateLimited",
    "ResponseTooLarge",
    "ServerError",
    "Timeout",
    "TransportError",
    "ValidationError",
    "error_class_for_status",
]


DOCTOR_HINT = "run `caiclient doctor` to see why (docs: Troubleshooting)"


class CaiError(Exception):
    """Base class of every error raised by caiclient."""


class ClientClosed(CaiError):
    """The client (or session) was closed: the call cannot run, the stream cannot go on."""


class ValidationError(CaiError, ValueError):
    """An argument was rejected before anything was sent.

    ``field`` names the offending argument when there is one.
    """

    def __init__(self, message: str, *, field: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class AuthRequiredError(CaiError):
    """The method needs an account, but the session is a guest session.

    Raised before anything is sent. Create the session with a token
    (``Session(token=...)`` or ``Session.from_env()``).
    """


class ExtraNotInstalled(CaiError, ImportError):
    """An optional feature needs a package that is not installed.

    ``extra`` is the caiclient extra that brings it; ``install`` the command
    that installs it (also in the message).
    """

    def __init__(self, feature: str, extra: str, package: str) -> None:
        self.extra = extra
        self.install = f'pip install "caiclient[{extra}]"'
        super().__init__(
            f"{feature} needs {package}, which is not installed: {self.install}"
        )


class ParseError(CaiError):
    """A response (or websocket frame) could not be understood.

    ``path`` tells where in the document the problem was, ``body`` holds a
    (truncated) copy of what was received.
    """

    def __init__(self, message: str, *, path: str = "", body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.body = body


class ResponseTooLarge(ParseError):
    """A response body or websocket frame was larger than the configured limit.

    ``limit`` is the limit in bytes (``Session(max_response_size=...)``);
    nothing beyond it was read into memory.
    """

    def __init__(self, message: str, *, limit: int = 0, path: str = "") -> None:
        super().__init__(message, path=path)
        self.limit = limit


class TransportError(CaiError):
    """The request did not get an answer from the service."""


class NetworkError(TransportError):
    """Could not connect, or the connection broke before an answer arrived."""


class Timeout(TransportError):
    """The service did not answer within the configured timeout.

    For a chat reply, ``user_turn_id`` is the id of the user's message (look
    for it in the chat's turns to see whether the service has it) and
    ``partial`` the last snapshot of the reply received, if any.
    """

    def __init__(
        self,
        message: str = "timed out",
        *,
        partial: Optional[Turn] = None,
        user_turn_id: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.partial = partial
        self.user_turn_id = user_turn_id


class ConnectionLost(NetworkError):
    """The websocket dropped while a reply was on its way and could not be recovered.

    ``partial`` is the last :class:`~caiclient.models.Turn` snapshot that was
    received or recovered (``None`` if nothing was), ``user_turn_id`` the id of
    the user's message (so the caller can check the chat's history), and
    ``message_delivered`` tells whether the service is known to have the
    user's message (``None`` when unknown).
    """

    def __init__(
        self,
        message: str,
        *,
        partial: Optional[Turn] = None,
        user_turn_id: Optional[str] = None,
        message_delivered: Optional[bool] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.partial = partial
        self.user_turn_id = user_turn_id
        self.message_delivered = message_delivered


_BODY_LIMIT = 2000


class APIError(CaiError):
    """The service answered, and the answer was a failure.

    Attributes:
        status: the HTTP status code (200 for :class:`ActionFailed`).
        message: the service's own explanation (``neo_error.comment``,
            ``error``, ``detail``, ...) or a description of the status.
        method: the HTTP method of the request.
        path: the URL path of the request (no host, no query string).
        request_id: the request id (``cf-ray`` or ``x-request-id``), if any.
        body: the decoded JSON body, or the text of a non-JSON body
            (truncated to 2000 characters).
        headers: the response headers.
    """

    default_message = "the service returned an error"

    def __init__(
        self,
        message: Optional[str] = None,
        *,
        status: Optional[int] = None,
        method: str = "",
        path: str = "",
        request_id: Optional[str] = None,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.message = message or self.default_message
        self.status = status
        self.method = method
        self.path = path
        self.request_id = request_id
        if isinstance(body, str) and len(body) > _BODY_LIMIT:
            body = body[:_BODY_LIMIT] + "..."
        self.body = body
        self.headers: Mapping[str, str] = dict(headers or {})
        super().__init__(self.message)

    #: A pointer appended to ``str(err)`` for errors whose cause ``caiclient doctor``
    #: can tell apart (a wrong token, bot protection, a refused handshake).
    see_also = ""

    def _status_text(self) -> str:
        return str(self.status or "")

    def __str__(self) -> str:
        where = " ".join(p for p in (self._status_text(), self.method, self.path) if p)
        text = f"[{where}] {self.message}" if where else self.message
        if self.request_id:
            text += f" (request_id={self.request_id})"
        if self.see_also:
            text += f"; {self.see_also}"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, method={self.method!r}, "
            f"path={self.path!r}, message={self.message!r}, request_id={self.request_id!r})"
        )


class BadRequest(APIError):
    """400 / 422: the service rejected the request as malformed."""

    default_message = "the service rejected the request"


class AuthenticationError(APIError):
    """401 (or a refused websocket handshake): the token is missing, wrong or expired."""

    default_message = "authentication failed: the token is invalid or expired"
    see_also = DOCTOR_HINT


class HandshakeRefused(AuthenticationError):
    """The service refused the chat websocket's handshake (403) although it accepts the token.

    This is the service's bot protection judging the connection, not the
    token: HTTP calls keep working, chatting does not. The remedies are a
    browser-impersonating connection (``Session(impersonate="chrome")`` with
    ``pip install "caiclient[impersonate]"``) or your own through the
    ``http=`` and ``ws_connect=`` hooks; ``caiclient doctor`` checks which one
    works, and the docs page "troubleshooting" explains them. A subclass of
    :class:`AuthenticationError`, so existing ``except`` clauses keep working.
    """

    default_message = (
        "the service refused the chat websocket handshake although it accepts the token over "
        "HTTP (its bot protection, not an invalid token)"
    )


class PermissionDenied(APIError):
    """403: the account may not do this."""

    default_message = "permission denied"


class BlockedError(APIError):
    """The service's bot protection answered with an HTML page instead of JSON.

    This is a Cloudflare challenge, an "access denied" page or a waiting
    room. Slowing down sometimes helps; otherwise impersonate a browser
    (``Session(impersonate="chrome")``, the ``impersonate`` extra).
    ``kind`` is ``"challenge"``, ``"access_denied"``, ``"waiting_room"`` or ``"html"``.
    """

    default_message = "blocked by the service's bot protection (an HTML page instead of JSON)"
    see_also = DOCTOR_HINT

    def __init__(self, message: Optional[str] = None, *, kind: str = "html", **kw: Any) -> None:
        self.kind = kind
        super().__init__(message, **kw)


class NotFound(APIError):
    """404: no such resource (or not visible to this account).

    Also raised when the service answers 200 with an empty result (its way of
    saying "no such thing" on some routes); ``status`` then keeps the real
    status, but the message never presents it as the cause.
    """

    default_message = "not found"

    def _status_text(self) -> str:
        # "[200 GET /chat/persona/] not found" reads as if 200 were the problem.
        return (
            "" if self.status is not None and 200 <= self.status < 300 else super()._status_text()
        )


class Conflict(APIError):
    """409: the resource is not in a state that allows the action."""

    default_message = "conflict"


class RateLimited(APIError):
    """429: too many requests. ``retry_after`` is the server's hint in seconds, if any."""

    default_message = "rate limited by the service"

    def __init__(
        self, message: Optional[str] = None, *, retry_after: Optional[float] = None, **kw: Any
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class ServerError(APIError):
    """5xx: the service failed."""

    default_message = "the service failed (server error)"


class ActionFailed(APIError):
    """HTTP 200, but the body says the action failed (``status: NOT_OK``, ``success: false``)."""

    default_message = "the service refused the action"


class GenerationError(CaiError):
    """The websocket answered a command with ``neo_error``.

    ``comment`` is the service's reason, ``error_code`` / ``sub_code`` its
    codes when given, ``request_id`` the id of the command.
    """

    def __init__(
        self,
        comment: str = "",
        *,
        command: str = "",
        request_id: Optional[str] = None,
        error_code: Optional[int] = None,
        sub_code: Optional[int] = None,
        frame: Optional[Mapping[str, Any]] = None,
    ) -> None:
        self.comment = comment
        self.command = command
        self.request_id = request_id
        self.error_code = error_code
        self.sub_code = sub_code
        self.frame = dict(frame or {})
        super().__init__(comment)

    def __str__(self) -> str:
        text = self.comment or "the service could not complete the command"
        if self.command:
            text = f"[{self.command}] {text}"
        if self.request_id:
            text += f" (request_id={self.request_id})"
        return text


class ContentFiltered(GenerationError):
    """The service's content filter refused the user's message.

    ``kind`` is the filter that fired (e.g. ``"filter_user_input_self_harm"``).
    """

    def __init__(self, comment: str = "", *, kind: str = "", **kw: Any) -> None:
        self.kind = kind
        super().__init__(comment or "the message was blocked by the content filter", **kw)


_STATUS_TABLE: Mapping[int, Type[APIError]] = {
    400: BadRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    422: BadRequest,
    429: RateLimited,
}


def error_class_for_status(status: int) -> Type[APIError]:
    """Map an HTTP status code to the exception class raised for it."""
    if status in _STATUS_TABLE:
        return _STATUS_TABLE[status]
    if status >= 500:
        return ServerError
    return APIError
