"""``session.users``: other people's public profiles."""

from __future__ import annotations

from typing import Iterator, List
from urllib.parse import urlsplit

from caiclient import _validate as v
from caiclient import errors
from caiclient.models import PublicUser, UserPage, UserSummary, Voice
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
                path=urlsplit(url).path,
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

    # Public lists of any user: POST plus /chat/user/public/followers/ and /following/
    # {"username", "pageParam": 1-based} -> {"users": [...], "has_next_page"}
    # (CAINode 1.2.2, cainode.md 6.1; N2 posts the same body without "public").

    def followers_page(self, username: str, page: int = 1) -> UserPage:
        """One page (1-based) of the users who follow ``username``."""
        return self._follow_page("followers", username, page)

    def following_page(self, username: str, page: int = 1) -> UserPage:
        """One page (1-based) of the users ``username`` follows."""
        return self._follow_page("following", username, page)

    def followers(self, username: str) -> Iterator[UserSummary]:
        """Every user who follows ``username``, fetched a page at a time as you iterate."""
        v.identifier(username, "username")
        self._session.require_account("users.followers()")
        return self._iter_follows("followers", username)

    def following(self, username: str) -> Iterator[UserSummary]:
        """Every user ``username`` follows, fetched a page at a time as you iterate."""
        v.identifier(username, "username")
        self._session.require_account("users.following()")
        return self._iter_follows("following", username)

    def _follow_page(self, kind: str, username: str, page: int) -> UserPage:
        name = v.identifier(username, "username")
        n = v.integer(page, "page", minimum=1, maximum=100_000)
        body = self._call(
            "POST",
            self._plus(f"/chat/user/public/{kind}/"),
            json={"username": name, "pageParam": n},
            idempotent=True,
            what=f"users.{kind}()",
        )
        return self._one(UserPage, body if isinstance(body, dict) else {}, None)

    def _iter_follows(self, kind: str, username: str) -> Iterator[UserSummary]:
        page = 1
        while True:
            got = self._follow_page(kind, username, page)
            yield from got.users
            if not got.has_next_page or not got.users:
                return
            page += 1
