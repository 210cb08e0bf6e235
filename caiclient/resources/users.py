"""``session.users``: other people's public profiles."""

from __future__ import annotations

from typing import List

from caiclient import _validate as v
from caiclient import errors
from caiclient.models import PublicUser, Voice
from caiclient.resources._base import Resource

__all__ = ["Users"]


class Users(Resource):
    """Public profiles, their voices, and following."""

    def get(self, username: str) -> PublicUser:
        """A user's public profile (works for guests).

        Raises :class:`~caiclient.errors.NotFound` for an unknown username
        (the service answers those with HTTP 500).
        """
        name = v.identifier(username, "username")
        url = self._plus("/chat/user/public/")
        try:
            body = self._call("POST", url, json={"username": name}, account=False, idempotent=False)
        except errors.ServerError as exc:
            if exc.status == 500:
                raise errors.NotFound(
                    f"no user named {name!r}",
                    status=500,
                    method="POST",
                    path=exc.path,
                    request_id=exc.request_id,
                    body=exc.body,
                ) from exc
            raise
        public = body.get("public_user") if isinstance(body, dict) else None
        if not isinstance(public, dict) or not public:
            raise errors.NotFound(
                f"no user named {name!r}",
                status=200,
                method="POST",
                path="/chat/user/public/",
                body=body,
            )
        return self._one(PublicUser, public, None)

    def voices(self, username: str) -> List[Voice]:
        """The public voices a user created."""
        name = v.identifier(username, "username")
        body = self._call(
            "GET",
            self._neo("/multimodal/api/v1/voices/search"),
            params={"creatorInfo.username": name},
            account=False,
        )
        return self._many(Voice, body, "voices")

    def follow(self, username: str) -> None:
        """Follow a user."""
        name = v.identifier(username, "username")
        self._call(
            "POST",
            self._plus("/chat/user/follow/"),
            json={"username": name},
            what="users.follow()",
            check="status",
        )

    def unfollow(self, username: str) -> None:
        """Stop following a user."""
        name = v.identifier(username, "username")
        self._call(
            "POST",
            self._plus("/chat/user/unfollow/"),
            json={"username": name},
            what="users.unfollow()",
            check="status",
        )
