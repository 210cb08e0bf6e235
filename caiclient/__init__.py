"""caiclient: a complete, typed client for the Character.AI web API.

>>> import caiclient
>>> s = caiclient.Session.from_env()           # CAI_TOKEN, or a guest session
>>> s.characters.search("detective")[0].name   # doctest: +SKIP
"""

from typing import TYPE_CHECKING, Any

from caiclient import errors, models
from caiclient._version import __version__
from caiclient.endpoints import Endpoints
from caiclient.errors import (
    APIError,
    AuthenticationError,
    AuthRequiredError,
    BlockedError,
    CaiError,
    ConnectionLost,
    ContentFiltered,
    GenerationError,
    NetworkError,
    NotFound,
    ParseError,
    PermissionDenied,
    RateLimited,
    ServerError,
    Timeout,
    ValidationError,
)
from caiclient.models import (
    Account,
    Avatar,
    Candidate,
    Character,
    Chat,
    ChatHistory,
    Persona,
    PublicUser,
    Settings,
    Turn,
    TurnPage,
    Voice,
)
from caiclient.session import Session
from caiclient.transport.http import RetryPolicy

__all__ = [
    "APIError",
    "Account",
    "AuthRequiredError",
    "AuthenticationError",
    "Avatar",
    "BlockedError",
    "CaiError",
    "Candidate",
    "Character",
    "Chat",
    "ChatHistory",
    "ConnectionLost",
    "ContentFiltered",
    "Endpoints",
    "GenerationError",
    "NetworkError",
    "NotFound",
    "ParseError",
    "PermissionDenied",
    "Persona",
    "PublicUser",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "Session",
    "Settings",
    "Timeout",
    "Turn",
    "TurnPage",
    "ValidationError",
    "Voice",
    "__version__",
    "diagnose",
    "errors",
    "models",
]

if TYPE_CHECKING:  # pragma: no cover
    from caiclient.doctor import diagnose


def __getattr__(name: str) -> Any:
    # ``caiclient.diagnose`` is imported on first use (it is rarely needed at start-up).
    if name == "diagnose":
        from caiclient.doctor import diagnose

        return diagnose
    raise AttributeError(f"module 'caiclient' has no attribute {name!r}")
