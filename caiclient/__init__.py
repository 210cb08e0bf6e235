"""caiclient: a complete, typed client for the Character.AI web API.

>>> import caiclient
>>> s = caiclient.Session.from_env()           # CAI_TOKEN, or a guest session
>>> s.characters.search("detective")[0].name   # doctest: +SKIP
"""

import importlib
from typing import TYPE_CHECKING, Any, Dict, List

from caiclient import errors
from caiclient._version import __version__
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

if TYPE_CHECKING:  # pragma: no cover
    from caiclient import aio, models
    from caiclient.auth import (
        AddressRefused,
        Auth,
        LinkExpired,
        LoginBlocked,
        LoginError,
        LoginTimeout,
        login,
    )
    from caiclient.doctor import diagnose
    from caiclient.endpoints import Endpoints
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
    "AddressRefused",
    "Auth",
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
    "LinkExpired",
    "LoginBlocked",
    "LoginError",
    "LoginTimeout",
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
    "aio",
    "diagnose",
    "errors",
    "login",
    "models",
]

# The errors are imported with the package (they are small and what callers
# catch); every other public name is imported on first use, so that
# ``import caiclient`` stays cheap: ``caiclient.Session`` brings in requests,
# ``caiclient.Turn`` the models, ``caiclient.aio`` asyncio (PEP 562).
_LAZY: Dict[str, str] = {
    "Session": "caiclient.session",
    "RetryPolicy": "caiclient.transport.http",
    "Endpoints": "caiclient.endpoints",
    "diagnose": "caiclient.doctor",
    **{
        name: "caiclient.auth"
        for name in (
            "AddressRefused",
            "Auth",
            "LinkExpired",
            "LoginBlocked",
            "LoginError",
            "LoginTimeout",
            "login",
        )
    },
    **{
        name: "caiclient.models"
        for name in (
            "Account",
            "Avatar",
            "Candidate",
            "Character",
            "Chat",
            "ChatHistory",
            "Persona",
            "PublicUser",
            "Settings",
            "Turn",
            "TurnPage",
            "Voice",
        )
    },
}
_SUBMODULES = ("aio", "models")


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"caiclient.{name}")
    else:
        raise AttributeError(f"module 'caiclient' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
