"""Base URLs of every host the service uses."""

from __future__ import annotations

from typing import Optional
from urllib.parse import urlsplit

import attrs

from caiclient.errors import ValidationError

__all__ = ["Endpoints"]


def _strip(url: str) -> str:
    return url.rstrip("/")


def _check_base(name: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc:
        raise ValidationError(f"Endpoints.{name} must be an absolute URL, got {url!r}", field=name)


@attrs.frozen
class Endpoints:
    """Base URLs of the service's hosts.

    The defaults are the real service. :meth:`for_emulator` points every host
    at one emulator (``caiclient.emulator``) under path prefixes.

    Attributes:
        plus: the legacy REST API (``https://plus.character.ai``).
        neo: the current API (``https://neo.character.ai``).
        ws: the chat websocket (``wss://neo.character.ai/ws/``).
        web: the website's tRPC API (``https://character.ai``).
        cdn: the static image CDN (``https://characterai.io``).
        rooms_ws: the group-chat socket, Centrifugo-style
            (``wss://neo.character.ai/connection/websocket``; cainode.md 5.3).
        beta: the old name of ``plus`` (``https://beta.character.ai``, the same
            paths), which some clients still use, e.g. for image uploads
            (node_characterai 2.0: others.md 2.7). An API host: it gets the token.
        identity: Google's identity host, which turns the code of an email
            sign-in link into a Google identity token (the email-link login,
            :mod:`caiclient.auth`). It never receives the API token.
    """

    plus: str = attrs.field(default="https://plus.character.ai", converter=_strip)
    neo: str = attrs.field(default="https://neo.character.ai", converter=_strip)
    ws: str = "wss://neo.character.ai/ws/"
    web: str = attrs.field(default="https://character.ai", converter=_strip)
    cdn: str = attrs.field(default="https://characterai.io", converter=_strip)
    rooms_ws: str = "wss://neo.character.ai/connection/websocket"
    beta: str = attrs.field(default="https://beta.character.ai", converter=_strip)
    identity: str = attrs.field(default="https://identitytoolkit.googleapis.com", converter=_strip)

    def __attrs_post_init__(self) -> None:
        for name in ("plus", "neo", "ws", "web", "cdn", "rooms_ws", "beta", "identity"):
            _check_base(name, getattr(self, name))

    @classmethod
    def for_emulator(cls, url: str) -> Endpoints:
        """Endpoints of an emulator listening at ``url`` (e.g. ``http://127.0.0.1:8765``).

        The hosts map to ``/plus``, ``/neo``, ``/web``, ``/cdn``, ``/beta`` and
        ``/google`` (the identity host) and the websockets to ``/neo/ws/`` and
        ``/neo/connection/websocket`` on the same port.
        """
        base = _strip(url)
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationError(f"emulator URL must be http(s)://host:port, got {url!r}")
        ws_scheme = "wss" if parts.scheme == "https" else "ws"
        return cls(
            plus=f"{base}/plus",
            neo=f"{base}/neo",
            ws=f"{ws_scheme}://{parts.netloc}{parts.path}/neo/ws/",
            web=f"{base}/web",
            cdn=f"{base}/cdn",
            rooms_ws=f"{ws_scheme}://{parts.netloc}{parts.path}/neo/connection/websocket",
            beta=f"{base}/beta",
            identity=f"{base}/google",
        )

    def is_service_url(self, url: str) -> bool:
        """True if ``url`` belongs to one of the hosts that receive the token.

        Only the API hosts (``plus``, ``neo``, ``web``, ``beta``) receive the
        token; the CDN and any URL the service hands back (audio, images) do not.
        """
        return any(
            url == base or url.startswith(base + "/") or url.startswith(base + "?")
            for base in (self.plus, self.neo, self.web, self.beta)
        )

    def avatar_url(self, file_name: str, size: int = 400, animated: bool = False) -> str:
        """URL of an avatar image on the CDN (sizes used by the site: 80, 200, 400)."""
        return (
            f"{self.cdn}/i/{int(size)}/static/avatars/{file_name}"
            f"?webp=true&anim={1 if animated else 0}"
        )

    def host_of(self, url: str) -> Optional[str]:
        """Which host (``"plus"``, ``"neo"``, ...) a URL belongs to, or ``None``."""
        for name in ("plus", "neo", "web", "cdn", "beta"):
            base = getattr(self, name)
            if url == base or url.startswith(base + "/") or url.startswith(base + "?"):
                return name
        return None
