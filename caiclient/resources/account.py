"""``session.account``: your own account."""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

from caiclient import _validate as v
from caiclient import errors
from caiclient.models import Account as AccountModel
from caiclient.models import Character, Settings, Voice
from caiclient.resources._base import Resource

__all__ = ["Account"]


def _usernames(items: Any) -> List[str]:
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and isinstance(item.get("username"), str):
            out.append(item["username"])
    return out


class Account(Resource):
    """Your account: profile, settings, social graph, your characters and voices.

    Every method needs a token (a guest session raises
    :class:`~caiclient.errors.AuthRequiredError` before sending).
    """

    def me(self) -> AccountModel:
        """Your account's profile (``GET plus /chat/user/``)."""
        body = self._call("GET", self._plus("/chat/user/"), what="account.me()")
        return self._one(AccountModel, body, "user")

    def settings(self) -> Settings:
        """Your settings: default persona, per-character persona and voice overrides."""
        body = self._call("GET", self._plus("/chat/user/settings/"), what="account.settings()")
        return self._one(Settings, body, None)

    def update(
        self,
        *,
        name: Optional[str] = None,
        username: Optional[str] = None,
        bio: Optional[str] = None,
        avatar_rel_path: Optional[str] = None,
    ) -> AccountModel:
        """Change your display name, username, bio or avatar; returns the updated account.

        Arguments left out keep their current value. ``name`` is 2-50
        characters, ``username`` 2-20, ``bio`` at most 500. ``avatar_rel_path``
        is a file name from :meth:`Media.upload_avatar
        <caiclient.resources.media.Media.upload_avatar>` (``""`` resets it).
        """
        self._session.require_account("account.update()")
        if name is not None:
            v.text(name, "name", min_len=2, max_len=50)
        if username is not None:
            v.text(username, "username", min_len=2, max_len=20)
        if bio is not None:
            v.text(bio, "bio", max_len=500)
        if avatar_rel_path is not None:
            v.text(avatar_rel_path, "avatar_rel_path", max_len=512)
        current = self.me()
        if avatar_rel_path is None:
            avatar_rel_path = current.avatar.file_name if current.avatar else ""
        body: Dict[str, Any] = {
            "avatar_type": "UPLOADED" if avatar_rel_path else "DEFAULT",
            "bio": current.bio if bio is None else bio,
            "name": current.name if name is None else name,
            "username": current.username if username is None else username,
        }
        if avatar_rel_path:
            body["avatar_rel_path"] = avatar_rel_path
        self._call("POST", self._plus("/chat/user/update/"), json=body, check="status")
        return self.me()

    def followers(self) -> List[str]:
        """Usernames of the users who follow you."""
        body = self._call("GET", self._plus("/chat/user/followers/"), what="account.followers()")
        return _usernames(body.get("followers") if isinstance(body, dict) else None)

    def following(self) -> List[str]:
        """Usernames of the users you follow."""
        body = self._call("GET", self._plus("/chat/user/following/"), what="account.following()")
        return _usernames(body.get("following") if isinstance(body, dict) else None)

    def characters(self) -> List[Character]:
        """The characters you created."""
        body = self._call(
            "GET",
            self._plus("/chat/characters/"),
            params={"scope": "user"},
            what="account.characters()",
        )
        return self._many(Character, body, "characters")

    def upvoted_characters(self) -> List[Character]:
        """The characters you liked."""
        body = self._call(
            "GET", self._plus("/chat/user/characters/upvoted/"), what="account.upvoted_characters()"
        )
        return self._many(Character, body, "characters")

    def voices(self) -> List[Voice]:
        """The voices you created."""
        body = self._call(
            "GET", self._neo("/multimodal/api/v1/voices/user"), what="account.voices()"
        )
        return self._many(Voice, body, "voices")

    def muted_words(self) -> List[str]:
        """The words you muted: characters avoid them in their replies."""
        return self.settings().muted_words

    def set_muted_words(self, words: Sequence[str]) -> List[str]:
        """Replace your muted words with ``words``; returns the new list.

        Each word is non-empty and has no spaces (the site's rule); ``[]``
        clears them. The service keeps them in the settings'
        ``outputStylePreferences.bannedWords`` (cainode.md 6.3).
        """
        if isinstance(words, (str, bytes)) or not isinstance(words, Iterable):
            raise errors.ValidationError("words must be a list of words", field="words")
        clean: List[str] = []
        for w in words:
            v.text(w, "words", min_len=1, max_len=100)
            if any(ch.isspace() for ch in w):
                raise errors.ValidationError(f"a muted word has no spaces: {w!r}", field="words")
            if w not in clean:
                clean.append(w)

        def change(doc: Dict[str, Any]) -> None:
            prefs = doc.get("outputStylePreferences")
            prefs = dict(prefs) if isinstance(prefs, dict) else {}
            prefs["bannedWords"] = clean
            doc["outputStylePreferences"] = prefs

        return self.update_settings(change).muted_words

    def update_settings(self, change: Callable[[Dict[str, Any]], None]) -> Settings:
        """Read your settings, let ``change`` edit the raw dict in place, write them back.

        The service replaces the whole settings object, so every write is a
        read-modify-write of the complete document. Used by
        :meth:`Personas.set_default <caiclient.resources.personas.Personas.set_default>`
        and :meth:`Personas.set_for_character
        <caiclient.resources.personas.Personas.set_for_character>`.
        """
        if not callable(change):
            raise errors.ValidationError(
                "change must be a function that edits the settings dict", field="change"
            )
        current = self._call(
            "GET", self._plus("/chat/user/settings/"), what="account.update_settings()"
        )
        doc: Dict[str, Any] = dict(current) if isinstance(current, dict) else {}
        change(doc)
        body = self._call(
            "POST", self._plus("/chat/user/update_settings/"), json=doc, check="success"
        )
        settings = body.get("settings") if isinstance(body, dict) else None
        return self._one(Settings, settings if isinstance(settings, dict) else doc, None)
