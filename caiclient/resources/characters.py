"""``session.characters``: find, read, create and update characters."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Dict, List, Optional, Sequence, Type, TypeVar
from urllib.parse import urlsplit

from caiclient import _validate as v
from caiclient import errors
from caiclient.models import Character, Creator, Model
from caiclient.resources._base import Resource

__all__ = ["Characters"]

log = logging.getLogger("caiclient.characters")
M = TypeVar("M", bound=Model)

NAME_MIN, NAME_MAX = 3, 20
GREETING_MIN, GREETING_MAX = 3, 4096
TITLE_MIN, TITLE_MAX = 3, 50
DESCRIPTION_MAX = 500
DEFINITION_MAX = 32000
VISIBILITIES = ("public", "unlisted", "private")


def _trpc_input(query: str) -> str:
    return json.dumps({"0": {"json": {"searchQuery": query}}}, separators=(",", ":"))


def _trpc_data(body: Any, what: str) -> Any:
    try:
        return body[0]["result"]["data"]["json"]
    except (KeyError, IndexError, TypeError):
        raise errors.ParseError(
            f"unexpected tRPC answer to {what}", path="[0].result.data.json", body=body
        ) from None


class Characters(Resource):
    """Characters: info, search, discovery lists, votes, create, update, voice."""

    def get(self, character_id: str) -> Character:
        """A character's full information (works for guests)."""
        cid = v.identifier(character_id, "character_id")
        url = self._neo("/character/v1/get_character_info")
        body = self._call("POST", url, json={"external_id": cid}, account=False, idempotent=True)
        if (
            (isinstance(body, dict)
            and body.get("status") == "NOT_OK")
            or not (isinstance(body, dict) and isinstance(body.get("character"), dict))
        ):
            raise errors.NotFound(
                (body.get("error") if isinstance(body, dict) else None)
                or f"no character with id {cid!r}",
                status=200,
                method="POST",
                path=urlsplit(url).path,
                body=body,
            )
        return self._one(Character, body, "character")

    # Current endpoints (issue 16). Search: the site searches with neo
    # ``GET /search/v1/character?query=`` (node_characterai 2.0, Nov 2025: others.md
    # 2.2), while the tRPC ``search.search`` PyCharacterAI 2.2.50 uses is reported
    # failing: neo is tried first, tRPC when neo answers 403/404/5xx or an unreadable
    # body. Creators: neo ``GET /search/v1/creator?query=`` (CAINode 1.2.0, Jan 2025:
    # cainode.md 6.1; ``name`` holds the username) first, tRPC
    # ``search.searchCreators`` (PyCharacterAI, Apr 2025) as the fallback.
    _FALLBACK = (errors.NotFound, errors.PermissionDenied, errors.ServerError, errors.ParseError)

    def search(self, query: str) -> List[Character]:
        """Search characters by name (works for guests)."""
        q = v.text(query, "query", min_len=1, max_len=200)
        return self._neo_then_trpc(
            "/search/v1/character", "search.search", q, Character, "characters"
        )

    def search_creators(self, query: str) -> List[Creator]:
        """Search creators by username (works for guests)."""
        q = v.text(query, "query", min_len=1, max_len=200)
        return self._neo_then_trpc(
            "/search/v1/creator", "search.searchCreators", q, Creator, "creators"
        )

    def _neo_then_trpc(
        self, path: str, procedure: str, query: str, cls: Type[M], key: str
    ) -> List[M]:
        try:
            body = self._call("GET", self._neo(path), params={"query": query}, account=False)
            if not isinstance(body, dict) or not isinstance(body.get(key, []), list):
                raise errors.ParseError(f"unexpected answer to neo {path}", path=key, body=body)
        except self._FALLBACK as exc:
            log.debug("neo %s failed (%s): trying tRPC %s", path, exc, procedure)
            body = self._trpc_search(procedure, query)
        return self._many(cls, body, key)

    def _trpc_search(self, procedure: str, q: str) -> Any:
        """One of the website's tRPC searches: no token, the site cookie if there is one."""
        body = self._call(
            "GET",
            self._web(f"/api/trpc/{procedure}"),
            params={"batch": "1", "input": _trpc_input(q)},
            account=False,
            auth=False,
            headers=self._web_cookie(),
        )
        return _trpc_data(body, procedure)

    def _web_cookie(self) -> Dict[str, str]:
        wna = self._session.credentials.web_next_auth
        return {"Cookie": f"web-next-auth={wna}"} if wna else {}

    def featured(self) -> List[Character]:
        """The characters the service features (works for guests)."""
        # plus /chat/characters/featured_v2/ is reported dead (others.md 2.2: N1 only,
        # "dead"); the newer clients read neo /recommendation/v1/featured (N2
        # getFeaturedCharacters, CAINode 1.2.2: cainode.md 6.2).
        body = self._call("GET", self._neo("/recommendation/v1/featured"), account=False)
        return self._many(Character, body, "characters")

    def trending(self) -> List[Character]:
        """The characters trending now (works for guests).

        ``plus /chat/characters/trending/`` (kramcat, others.md 2.2).
        """
        body = self._call("GET", self._plus("/chat/characters/trending/"), account=False)
        return self._many(Character, body, "trending_characters")

    def vote_count(self, character_id: str) -> int:
        """How many likes a character has (works for guests)."""
        seg = v.segment(character_id, "character_id")
        path = f"/chat/character/{seg}/votes/"
        body = self._call("GET", self._plus(path), account=False)
        if isinstance(body, dict) and body.get("status") not in (None, "OK"):
            raise errors.NotFound(
                str(body.get("error") or f"no character with id {character_id!r}"),
                status=200,
                method="GET",
                path=path,
                body=body,
            )
        votes = body.get("votes") if isinstance(body, dict) else None
        if isinstance(votes, bool) or not isinstance(votes, (int, float)):
            raise errors.ParseError("the votes answer has no count", path="votes", body=body)
        return int(votes)

    def vote_counts(self, character_ids: Sequence[str]) -> Dict[str, int]:
        """Likes of several characters at once: ``{character_id: count}`` (works for guests).

        Characters the service does not know are left out.
        """
        ids = v.id_list(character_ids, "character_ids")
        body = self._call(
            "POST",
            self._plus("/chat/characters/votes/"),
            json={"character_ids": ids},
            account=False,
            idempotent=True,
            check="status",
        )
        counts = body.get("upvotes_per_character") if isinstance(body, dict) else None
        return {
            str(k): int(n)
            for k, n in (counts if isinstance(counts, dict) else {}).items()
            if isinstance(n, (int, float)) and not isinstance(n, bool)
        }

    def recommended(self) -> List[Character]:
        """Characters recommended for you."""
        body = self._call(
            "GET", self._neo("/recommendation/v1/user"), what="characters.recommended()"
        )
        return self._many(Character, body, "characters")

    def similar(self, character_id: str) -> List[Character]:
        """Characters similar to one (works for guests)."""
        seg = v.segment(character_id, "character_id")
        body = self._call("GET", self._neo(f"/recommendation/v1/character/{seg}"), account=False)
        return self._many(Character, body, "characters")

    def by_category(self) -> Dict[str, List[Character]]:
        """The curated categories and their characters (works for guests)."""
        body = self._call("GET", self._plus("/chat/curated_categories/characters/"), account=False)
        groups = body.get("characters_by_curated_category") if isinstance(body, dict) else None
        if not isinstance(groups, dict):
            return {}
        return {
            str(name): self._many(Character, {"c": items}, "c") for name, items in groups.items()
        }

    def categories(self) -> List[str]:
        """The names of the character categories (works for guests)."""
        body = self._call("GET", self._neo("/recommendation/v1/category"), account=False)
        cats = body.get("categories") if isinstance(body, dict) else None
        return [
            c if isinstance(c, str) else str(c.get("name", c)) if isinstance(c, dict) else str(c)
            for c in (cats or [])
        ]

    def vote(self, character_id: str, vote: Optional[bool]) -> None:
        """Like (``True``), dislike (``False``) or remove your vote (``None``)."""
        cid = v.identifier(character_id, "character_id")
        if vote is not None and not isinstance(vote, bool):
            raise errors.ValidationError("vote must be True, False or None", field="vote")
        self._call(
            "POST",
            self._plus("/chat/character/vote/"),
            json={"external_id": cid, "vote": vote},
            what="characters.vote()",
            check="status",
        )

    def my_vote(self, character_id: str) -> Optional[bool]:
        """Your vote on a character: ``True`` (like), ``False`` (dislike) or ``None``."""
        seg = v.segment(character_id, "character_id")
        body = self._call(
            "GET", self._plus(f"/chat/character/{seg}/voted/"), what="characters.my_vote()"
        )
        vote = body.get("vote") if isinstance(body, dict) else None
        return vote if isinstance(vote, bool) else None

    @staticmethod
    def _check_fields(fields: Dict[str, Any]) -> None:
        v.text(fields["name"], "name", min_len=NAME_MIN, max_len=NAME_MAX)
        v.text(fields["greeting"], "greeting", min_len=GREETING_MIN, max_len=GREETING_MAX)
        v.text(fields["title"], "title", min_len=TITLE_MIN, max_len=TITLE_MAX, allow_empty=True)
        v.text(fields["description"], "description", max_len=DESCRIPTION_MAX)
        v.text(fields["definition"], "definition", max_len=DEFINITION_MAX)
        v.text(fields["avatar_rel_path"], "avatar_rel_path", max_len=512)
        v.text(fields["default_voice_id"], "default_voice_id", max_len=512)
        if not isinstance(fields["copyable"], bool):
            raise errors.ValidationError("copyable must be True or False", field="copyable")
        fields["visibility"] = v.choice(
            fields["visibility"], "visibility", VISIBILITIES, upper=True
        )

    def create(
        self,
        name: str,
        greeting: str,
        *,
        title: str = "",
        description: str = "",
        definition: str = "",
        copyable: bool = False,
        visibility: str = "private",
        avatar_rel_path: str = "",
        default_voice_id: str = "",
    ) -> Character:
        """Create a character.

        Limits (checked before sending): ``name`` 3-20 characters,
        ``greeting`` 3-4096, ``title`` empty or 3-50, ``description`` at most
        500, ``definition`` at most 32000; ``visibility`` is ``public``,
        ``unlisted`` or ``private``.
        """
        self._session.require_account("characters.create()")
        fields = dict(
            name=name,
            greeting=greeting,
            title=title,
            description=description,
            definition=definition,
            copyable=copyable,
            visibility=visibility,
            avatar_rel_path=avatar_rel_path,
            default_voice_id=default_voice_id,
        )
        self._check_fields(fields)
        body = {
            "avatar_rel_path": fields["avatar_rel_path"],
            "base_img_prompt": "",
            "categories": [],
            "copyable": fields["copyable"],
            "default_voice_id": fields["default_voice_id"],
            "definition": fields["definition"],
            "description": fields["description"],
            "greeting": fields["greeting"],
            "identifier": f"id:{uuid.uuid4()}",
            "img_gen_enabled": False,
            "name": fields["name"],
            "strip_img_prompt_from_msg": False,
            "title": fields["title"],
            "visibility": fields["visibility"],
            "voice_id": "",
        }
        resp = self._call("POST", self._plus("/chat/character/create/"), json=body, check="status")
        return self._one(Character, resp, "character")

    def update(
        self,
        character_id: str,
        *,
        name: Optional[str] = None,
        greeting: Optional[str] = None,
        title: Optional[str] = None,
        description: Optional[str] = None,
        definition: Optional[str] = None,
        copyable: Optional[bool] = None,
        visibility: Optional[str] = None,
        avatar_rel_path: Optional[str] = None,
        default_voice_id: Optional[str] = None,
        archived: bool = False,
    ) -> Character:
        """Change one of your characters; arguments left out keep their value.

        The same limits as :meth:`create` apply. ``archived=True`` deletes it.
        """
        self._session.require_account("characters.update()")
        cid = v.identifier(character_id, "character_id")
        given = dict(
            name=name,
            greeting=greeting,
            title=title,
            description=description,
            definition=definition,
            copyable=copyable,
            visibility=visibility,
            avatar_rel_path=avatar_rel_path,
            default_voice_id=default_voice_id,
        )
        # Check what was given before fetching anything.
        probe = {
            "name": "abc",
            "greeting": "abc",
            "title": "",
            "description": "",
            "definition": "",
            "copyable": False,
            "visibility": "private",
            "avatar_rel_path": "",
            "default_voice_id": "",
        }
        probe.update({k: val for k, val in given.items() if val is not None})
        self._check_fields(probe)
        if not isinstance(archived, bool):
            raise errors.ValidationError("archived must be True or False", field="archived")
        cur = self.get(cid)
        fields = {
            "name": cur.name,
            "greeting": cur.greeting,
            "title": cur.title,
            "description": cur.description,
            "definition": cur.definition,
            "copyable": cur.copyable,
            "visibility": cur.visibility.lower(),
            "avatar_rel_path": cur.avatar.file_name if cur.avatar else "",
            "default_voice_id": cur.default_voice_id,
        }
        fields.update({k: val for k, val in given.items() if val is not None})
        # What the caller gave was checked above; what the service holds is kept
        # as it is (it may predate today's client-side limits).
        fields["visibility"] = str(fields["visibility"]).upper()
        body = {
            "archived": archived,
            "avatar_rel_path": fields["avatar_rel_path"],
            "base_img_prompt": cur.base_img_prompt,
            "categories": [],
            "copyable": fields["copyable"],
            "default_voice_id": fields["default_voice_id"],
            "definition": fields["definition"],
            "description": fields["description"],
            "external_id": cid,
            "greeting": fields["greeting"],
            "img_gen_enabled": cur.img_gen_enabled,
            "name": fields["name"],
            "strip_img_prompt_from_msg": cur.strip_img_prompt_from_msg,
            "title": fields["title"],
            "visibility": fields["visibility"],
            "voice_id": cur.voice_id,
        }
        resp = self._call("POST", self._plus("/chat/character/update/"), json=body, check="status")
        return self._one(Character, resp, "character")

    def report(self, character_id: str, reason: str, comments: str = "") -> str:
        """Report a character to the service's moderators; returns the report's id.

        ``reason`` is the service's category code for the problem (for example
        ``"SPAM"``); ``comments`` (at most 1000 characters) explains it.
        """
        cid = v.identifier(character_id, "character_id")
        category = v.identifier(reason, "reason")
        v.text(comments, "comments", max_len=1000)
        body = self._call(
            "POST",
            self._neo("/report/create"),
            json={
                "category": category,
                "comments": comments,
                "reported_resource_id": cid,
                "type": "CHARACTER",
            },
            what="characters.report()",
        )
        report = body.get("report") if isinstance(body, dict) else None
        rid = report.get("report_id") if isinstance(report, dict) else None
        if not isinstance(rid, str) or not rid:
            raise errors.ParseError("the report answer has no report_id", body=body)
        return rid

    def voice(self, character_id: str) -> Optional[str]:
        """The voice you chose for a character with :meth:`set_voice`, or ``None``."""
        seg = v.segment(character_id, "character_id")
        body = self._call(
            "GET",
            self._plus(f"/chat/character/{seg}/voice_override/"),
            what="characters.voice()",
        )
        vid = body.get("voice_id") if isinstance(body, dict) else None
        return vid if isinstance(vid, str) and vid else None

    def set_voice(self, character_id: str, voice_id: Optional[str]) -> None:
        """Use a voice for a character's speech (``None`` removes your override)."""
        seg = v.segment(character_id, "character_id")
        if voice_id is None:
            self._call(
                "POST",
                self._plus(f"/chat/character/{seg}/voice_override/delete/"),
                what="characters.set_voice()",
                check="success",
            )
            return
        vid = v.identifier(voice_id, "voice_id")
        self._call(
            "POST",
            self._plus(f"/chat/character/{seg}/voice_override/update/"),
            json={"voice_id": vid},
            what="characters.set_voice()",
            check="success",
        )
