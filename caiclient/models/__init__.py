"""Typed models of what the service sends.

All models are frozen attrs classes (plain data, slots) with defaults on every
field but their identity, parsed by one tolerant converter: nulls, missing and
unknown fields never crash, and ``model.raw`` keeps the JSON object as
received. Behaviour lives in the resources (``session.chats`` ...), not here.
"""

from __future__ import annotations

import contextlib
import contextvars
from datetime import datetime
from typing import Any, Dict, Iterator, List, Mapping, Optional

import attrs

from caiclient._display import Speech, TurnList
from caiclient.models._base import Model, model, parse, parse_list, parse_timestamp, wire

__all__ = [
    "Account",
    "Annotation",
    "Avatar",
    "Candidate",
    "Character",
    "Chat",
    "ChatHistory",
    "Creator",
    "HistoryMessage",
    "Migration",
    "Model",
    "Persona",
    "PublicUser",
    "Settings",
    "Turn",
    "TurnPage",
    "UserPage",
    "UserSummary",
    "Voice",
    "cdn_for_parsing",
    "converter",
    "parse",
    "parse_list",
    "parse_timestamp",
]

DEFAULT_CDN = "https://characterai.io"

_CDN: contextvars.ContextVar[str] = contextvars.ContextVar("caiclient_cdn", default=DEFAULT_CDN)


@contextlib.contextmanager
def cdn_for_parsing(cdn: str) -> Iterator[None]:
    """Avatars parsed inside this block remember ``cdn`` as their CDN.

    The resources parse every answer inside it with their session's
    ``endpoints.cdn``, so ``avatar.url()`` of a model read from an emulator
    points at the emulator's CDN, not the service's.
    """
    token = _CDN.set(cdn)
    try:
        yield
    finally:
        _CDN.reset(token)


def __getattr__(name: str) -> Any:
    # ``converter`` is built on first use (see caiclient.models._base).
    if name == "converter":
        from caiclient.models import _base

        return _base.converter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@model
class Avatar(Model):
    """An image stored on the service's CDN, known by its file name (``avatar_rel_path``).

    ``cdn`` is the CDN of the session that read it (the service's by default).
    """

    file_name: str = wire("file_name", "avatar_file_name")
    cdn: str = attrs.field(factory=_CDN.get, eq=False, kw_only=True)

    @classmethod
    def _prepare(cls, value: Any) -> Dict[str, Any]:
        return {"file_name": str(value)}

    def url(self, size: int = 400, animated: bool = False, *, cdn: Optional[str] = None) -> str:
        """The image's URL at ``size`` pixels (the site uses 80, 200 and 400).

        ``cdn`` overrides the CDN base; by default it is the CDN of the
        session the avatar was read with (e.g. the emulator's).
        """
        base = self.cdn if cdn is None else cdn
        return (
            f"{base.rstrip('/')}/i/{int(size)}/static/avatars/{self.file_name}"
            f"?webp=true&anim={1 if animated else 0}"
        )

    def __str__(self) -> str:
        return self.file_name


def _avatar_finish(kwargs: Dict[str, Any], _data: Mapping[str, Any]) -> Dict[str, Any]:
    # An empty file name means "no avatar".
    av = kwargs.get("avatar")
    if av is not None and not av.file_name:
        kwargs["avatar"] = None
    return kwargs


@model
class Account(Model):
    """Your own account (``GET /chat/user/`` -> ``user``).

    The service nests the data in two levels (``user`` and ``user.user``,
    plus ``user.user.account``); every field is looked up in each of them.
    """

    account_id: Optional[int] = wire("user.id", "id", default=None)
    username: str = wire("user.username", "username", default="")
    name: str = wire("user.account.name", "name", "user.name", default="")
    first_name: Optional[str] = wire("user.first_name", "first_name", default=None)
    bio: str = wire("bio", "user.bio", default="")
    email: Optional[str] = wire("email", "user.email", default=None)
    avatar: Optional[Avatar] = wire(
        "user.account.avatar_file_name", "user.avatar_file_name", "avatar_file_name", default=None
    )
    avatar_type: str = wire("user.account.avatar_type", "avatar_type", default="DEFAULT")
    is_human: bool = wire("is_human", "user.is_human", default=True)
    is_staff: bool = wire("user.is_staff", "is_staff", default=False)
    hidden_characters: List[Any] = wire("hidden_characters", factory=list)
    blocked_users: List[Any] = wire("blocked_users", factory=list)

    _finish = staticmethod(_avatar_finish)


@model
class Character(Model):
    """A character, from a list (search, featured, ...) or in full (``characters.get``).

    List items carry fewer fields; the others keep their defaults.
    """

    def _repr_html_(self) -> str:
        """Jupyter: a card with avatar, name, title and counts (see ``caiclient._display``)."""
        from caiclient._display import character_html

        return character_html(self)


    character_id: str = wire("external_id", "character_id")
    name: str = wire("participant__name", "name", "character_name", default="")
    title: str = wire("title", default="")
    description: str = wire("description", default="")
    greeting: str = wire("greeting", default="")
    definition: str = wire("definition", default="")
    visibility: str = wire("visibility", "character_visibility", default="PUBLIC")
    avatar: Optional[Avatar] = wire("avatar_file_name", "character_avatar_uri", default=None)
    author_username: Optional[str] = wire("user__username", default=None)
    upvotes: Optional[int] = wire("upvotes", "num_likes", default=None)
    num_interactions: Optional[int] = wire(
        "participant__num_interactions", "num_interactions", default=None
    )
    copyable: bool = wire("copyable", default=False)
    identifier: str = wire("identifier", default="")
    img_gen_enabled: bool = wire("img_gen_enabled", default=False)
    base_img_prompt: str = wire("base_img_prompt", default="")
    img_prompt_regex: str = wire("img_prompt_regex", default="")
    strip_img_prompt_from_msg: bool = wire("strip_img_prompt_from_msg", default=False)
    starter_prompts: Dict[str, Any] = wire("starter_prompts", factory=dict)
    comments_enabled: bool = wire("comments_enabled", default=False)
    internal_id: str = wire("participant__user__username", default="")
    voice_id: str = wire("voice_id", default="")
    default_voice_id: str = wire("default_voice_id", default="")
    songs: List[Any] = wire("songs", factory=list)

    _finish = staticmethod(_avatar_finish)


@model
class PublicUser(Model):
    """Another user's public profile (``users.get(username)``)."""

    username: str = wire("username", default="")
    name: str = wire("name", default="")
    bio: str = wire("bio", default="")
    avatar: Optional[Avatar] = wire("avatar_file_name", default=None)
    num_following: int = wire("num_following", default=0)
    num_followers: int = wire("num_followers", default=0)
    characters: List[Character] = wire("characters", factory=list)
    subscription_type: str = wire("subscription_type", default="NONE")

    _finish = staticmethod(_avatar_finish)


@model
class UserSummary(Model):
    """A user in a public followers/following list (``users.followers(username)``)."""

    username: str = wire("username")
    avatar: Optional[Avatar] = wire("account__avatar_file_name", "avatar_file_name", default=None)
    bio: str = wire("account__bio", "bio", default="")

    _finish = staticmethod(_avatar_finish)


@model
class UserPage(Model):
    """One page of a public followers/following list and whether more pages follow."""

    users: List[UserSummary] = wire("users", factory=list)
    has_next_page: bool = wire("has_next_page", default=False)


@model
class Creator(Model):
    """A creator found by ``characters.search_creators``."""

    username: str = wire("username", "name")


@model
class Persona(Model):
    """One of your personas (how characters see you)."""

    persona_id: str = wire("external_id", "persona_id")
    name: str = wire("participant__name", "name", default="")
    title: str = wire("title", default="")
    definition: str = wire("definition", default="")
    greeting: str = wire("greeting", default="")
    description: str = wire("description", default="")
    avatar: Optional[Avatar] = wire("avatar_file_name", default=None)
    author_username: Optional[str] = wire("user__username", default=None)
    visibility: str = wire("visibility", default="PRIVATE")
    voice_id: str = wire("voice_id", "default_voice_id", default="")

    _finish = staticmethod(_avatar_finish)


def _settings_finish(kwargs: Dict[str, Any], _data: Mapping[str, Any]) -> Dict[str, Any]:
    # An empty default_persona_id means "none".
    if kwargs.get("default_persona_id") == "":
        kwargs["default_persona_id"] = None
    return kwargs


@model
class Settings(Model):
    """Account settings: default persona, per-character persona and voice overrides."""

    default_persona_id: Optional[str] = wire("default_persona_id", default=None)
    persona_overrides: Dict[str, str] = wire("personaOverrides", factory=dict)
    voice_overrides: Dict[str, str] = wire("voiceOverrides", factory=dict)
    enable_tts: Optional[bool] = wire("enable_tts", default=None)
    # cainode.md 6.3: the "muted words" live in outputStylePreferences.bannedWords.
    muted_words: List[str] = wire("outputStylePreferences.bannedWords", factory=list)

    _finish = staticmethod(_settings_finish)


@model
class Candidate(Model):
    """One candidate reply of a turn (a turn has one per regeneration or edit)."""

    candidate_id: str = wire("candidate_id")
    text: str = wire("raw_content", default="")
    is_final: bool = wire("is_final", default=False)
    is_filtered: bool = wire("safety_truncated", default=False)
    create_time: Optional[datetime] = wire("create_time", default=None)
    base_candidate_id: Optional[str] = wire("base_candidate_id", default=None)


@model
class Turn(Model):
    """A message in a chat (chat v2): the user's or the character's.

    ``text`` is the primary candidate's text; ``candidates`` are all the
    candidates in the order the service lists them.
    """

    def _repr_html_(self) -> str:
        """Jupyter: a chat bubble (see ``caiclient._display``)."""
        from caiclient._display import turn_html

        return turn_html(self)


    chat_id: str = wire("turn_key.chat_id")
    turn_id: str = wire("turn_key.turn_id")
    create_time: Optional[datetime] = wire("create_time", default=None)
    last_update_time: Optional[datetime] = wire("last_update_time", default=None)
    state: Optional[str] = wire("state", default=None)
    author_id: str = wire("author.author_id", default="")
    author_name: str = wire("author.name", default="")
    author_is_human: bool = wire("author.is_human", default=False)
    candidates: List[Candidate] = wire("candidates", factory=list)
    primary_candidate_id: Optional[str] = wire("primary_candidate_id", default=None)
    is_pinned: bool = wire("is_pinned", default=False)

    @property
    def primary_candidate(self) -> Optional[Candidate]:
        """The candidate shown in the chat (``primary_candidate_id``), else the first one."""
        for c in self.candidates:
            if c.candidate_id == self.primary_candidate_id:
                return c
        return self.candidates[0] if self.candidates else None

    @property
    def text(self) -> str:
        """The primary candidate's text ("" when there is no candidate)."""
        c = self.primary_candidate
        return c.text if c is not None else ""

    @property
    def is_final(self) -> bool:
        """True when the primary candidate is complete (streaming has ended)."""
        c = self.primary_candidate
        return bool(c and c.is_final)

    @property
    def is_filtered(self) -> bool:
        """True when the service's safety filter cut the primary candidate short."""
        c = self.primary_candidate
        return bool(c and c.is_filtered)

    def candidate(self, candidate_id: str) -> Optional[Candidate]:
        """The candidate with this id, or ``None``."""
        for c in self.candidates:
            if c.candidate_id == candidate_id:
                return c
        return None


def _page_finish(kwargs: Dict[str, Any], _data: Mapping[str, Any]) -> Dict[str, Any]:
    # An empty next_token means "no more pages".
    if not kwargs.get("next_token"):
        kwargs["next_token"] = None
    return kwargs


@model
class TurnPage(Model):
    """One page of a chat's turns (newest first) and the token of the next page."""

    def _repr_html_(self) -> str:
        """Jupyter: the turns as chat bubbles, oldest first (see ``caiclient._display``)."""
        from caiclient._display import turns_html

        return turns_html(self.turns[::-1])


    turns: List[Turn] = wire("turns", factory=list)
    next_token: Optional[str] = wire("meta.next_token", default=None)

    _finish = staticmethod(_page_finish)


@model
class Chat(Model):
    """A conversation with a character (chat v2)."""

    chat_id: str = wire("chat_id")
    character_id: Optional[str] = wire("character_id", default=None)
    creator_id: Optional[str] = wire("creator_id", default=None)
    create_time: Optional[datetime] = wire("create_time", default=None)
    state: Optional[str] = wire("state", default=None)
    chat_type: Optional[str] = wire("type", default=None)
    visibility: Optional[str] = wire("visibility", default=None)
    name: Optional[str] = wire("name", default=None)
    preview_turns: List[Turn] = wire("preview_turns", factory=list)
    character_name: Optional[str] = wire("character_name", default=None)
    character_avatar: Optional[Avatar] = wire("character_avatar_uri", default=None)
    preferred_model_type: Optional[str] = wire("preferred_model_type", default=None)

    @property
    def is_archived(self) -> bool:
        """True when the chat is archived (``state == "STATE_ARCHIVED"``)."""
        return self.state == "STATE_ARCHIVED"


@model
class HistoryMessage(Model):
    """A message of a legacy (chat v1) history."""

    uuid: Optional[str] = wire("uuid", default=None)
    id: Optional[int] = wire("id", default=None)
    text: str = wire("text", default="")
    src: Optional[Dict[str, Any]] = wire("src", default=None)
    tgt: Optional[Dict[str, Any]] = wire("tgt", default=None)
    is_alternative: Optional[bool] = wire("is_alternative", default=None)
    image_rel_path: str = wire("image_rel_path", default="")
    created: Optional[datetime] = wire("created", default=None)
    display_name: Optional[str] = wire("display_name", "src__name", default=None)

    @property
    def author_is_human(self) -> Optional[bool]:
        """Whether a human wrote this message (``src.is_human``), if known."""
        value = (self.src or {}).get("is_human")
        return value if isinstance(value, bool) else None


@model
class ChatHistory(Model):
    """A legacy (chat v1) conversation with a character, with preview messages."""

    history_id: str = wire("external_id", "history_id")
    create_time: Optional[datetime] = wire("created", default=None)
    last_interaction: Optional[datetime] = wire("last_interaction", default=None)
    messages: List[HistoryMessage] = wire("msgs", "messages", factory=list)


@model
class Migration(Model):
    """The state of migrating a legacy (chat v1) history to a chat v2."""

    migration_id: Optional[str] = wire("migrationId", "migration_id", default=None)
    status: Optional[str] = wire("status", default=None)
    create_time: Optional[datetime] = wire("createTime", default=None)
    last_update_time: Optional[datetime] = wire("lastUpdateTime", default=None)
    properties: Dict[str, Any] = wire("properties", factory=dict)


@model
class Annotation(Model):
    """A rating (stars or a label) put on a candidate."""

    annotation_id: str = wire("annotation_id", "id")
    annotation_type: Optional[str] = wire("annotation_type", default=None)
    annotation_value: Optional[int] = wire("annotation_value", default=None)


@model
class Voice(Model):
    """A voice usable for text-to-speech."""

    def _repr_html_(self) -> str:
        """Jupyter: the voice's name, description and preview (see ``caiclient._display``)."""
        from caiclient._display import voice_html

        return voice_html(self)


    voice_id: str = wire("id", "voice_id")
    name: str = wire("name", default="")
    description: str = wire("description", default="")
    gender: str = wire("gender", default="neutral")
    visibility: str = wire("visibility", default="private")
    preview_audio_url: Optional[str] = wire("previewAudioURI", default=None)
    preview_text: str = wire("previewText", default="")
    creator_id: Optional[str] = wire("creatorInfo.id", default=None)
    creator_username: Optional[str] = wire("creatorInfo.username", default=None)
    internal_status: str = wire("internalStatus", default="active")
    last_update_time: Optional[datetime] = wire("lastUpdateTime", default=None)


# -- group chats ("rooms"; cainode.md 5.2: shapes from CAINode's JSDoc, read liberally) --------


@model
class RoomCharacter(Model):
    """A character taking part in a room."""

    character_id: str = wire("id", "external_id", "character_id")
    name: str = wire("name", "participant__name", default="")
    avatar_url: Optional[str] = wire("avatar_url", "url", "avatar_file_name", default=None)


@model
class RoomMember(Model):
    """A person in a room (``role`` e.g. ``"owner"``/``"member"``)."""

    user_id: str = wire("id", "user_id")
    username: str = wire("username", default="")
    name: str = wire("name", default="")
    avatar_url: Optional[str] = wire("avatar_url", default=None)
    role: Optional[str] = wire("role", default=None)
    state: Optional[str] = wire("state", default=None)


@model
class RoomSettings(Model):
    """A room's settings; ``join_token`` is its invite code."""

    anyone_can_join: bool = wire("anyone_can_join", default=False)
    require_approval: bool = wire("require_approval", default=False)
    auto_smart_reply: bool = wire("auto_smart_reply", default=False)
    join_token: Optional[str] = wire("join_token", default=None)
    user_limit: Optional[int] = wire("user_limit", default=None)
    character_limit: Optional[int] = wire("character_limit", default=None)


@model
class Room(Model):
    """A group chat: several characters and people in one conversation.

    Its turns are read like a chat's (``rooms.turns(room.room_id)``).
    """

    room_id: str = wire("id", "room_id", "chat_id")
    title: str = wire("title", "name", default="")
    description: str = wire("description", default="")
    visibility: Optional[str] = wire("visibility", default=None)
    picture: Optional[str] = wire("picture", default=None)
    last_updated: Optional[datetime] = wire("last_updated", default=None)
    characters: List[RoomCharacter] = wire("characters", factory=list)
    members: List[RoomMember] = wire("users", "members", factory=list)
    settings: Optional[RoomSettings] = wire("settings", default=None)
    preview_turns: List[Turn] = wire("preview_turns.turns", factory=list)

    @property
    def character_ids(self) -> List[str]:
        """The ids of the room's characters, in the room's order."""
        return [c.character_id for c in self.characters]

    @property
    def join_token(self) -> Optional[str]:
        """The room's invite code (what :meth:`Rooms.join <caiclient.resources.rooms.Rooms.join>`
        takes), when the service shares it."""
        return self.settings.join_token if self.settings is not None else None


__all__ += ["Room", "RoomCharacter", "RoomMember", "RoomSettings"]
__all__ += ["Speech", "TurnList"]
