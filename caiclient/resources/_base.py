"""The base of every resource: a thin holder of the Session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Mapping, Optional, Type, TypeVar

from caiclient.models import Model, cdn_for_parsing, parse, parse_list
from caiclient.transport.http import check_status_ok, check_success

if TYPE_CHECKING:  # pragma: no cover
    from caiclient.session import Session

__all__ = ["Resource"]

M = TypeVar("M", bound=Model)

_UNSET: Any = object()


class Resource:
    """Holds the session; subclasses validate, build a request, call, convert.

    Resources never touch ``requests`` or ``websocket`` objects directly:
    they ask the session's transports for JSON.
    """

    def __init__(self, session: Session) -> None:
        self._session = session

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._session!r}>"

    # URL builders -------------------------------------------------------

    def _plus(self, path: str) -> str:
        return self._session.endpoints.plus + path

    def _neo(self, path: str) -> str:
        return self._session.endpoints.neo + path

    def _web(self, path: str) -> str:
        return self._session.endpoints.web + path

    # calls ---------------------------------------------------------------

    def _call(
        self,
        method: str,
        url: str,
        *,
        json: Any = _UNSET,
        params: Optional[Mapping[str, Any]] = None,
        account: bool = True,
        what: str = "",
        check: Optional[str] = None,
        **kw: Any,
    ) -> Any:
        """One HTTP call. ``account`` refuses guests before sending;
        ``check`` is ``"status"`` (body ``status`` must be ``"OK"``) or
        ``"success"`` (body ``success`` must be true)."""
        if account:
            self._session.require_account(what or f"{type(self).__name__.lower()} call")
        if json is not _UNSET:
            kw["json"] = json
        body = self._session.http.request(method, url, params=params, **kw)
        if check == "status":
            check_status_ok(body, method, url)
        elif check == "success":
            check_success(body, method, url)
        return body

    def _one(self, cls: Type[M], body: Any, key: Optional[str]) -> M:
        data = body.get(key) if key is not None and isinstance(body, Mapping) else body
        with cdn_for_parsing(self._session.endpoints.cdn):  # avatar.url() on this CDN
            return parse(cls, data, path=f"{cls.__name__}({key})" if key else None)

    def _many(self, cls: Type[M], body: Any, key: str) -> List[M]:
        data = body.get(key) if isinstance(body, Mapping) else None
        with cdn_for_parsing(self._session.endpoints.cdn):
            return parse_list(cls, data, path=f"{key}[]")
