"""``session.personas``: who characters think they are talking to."""

from __future__ import annotations

import uuid
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

from caiclient import _validate as v
from caiclient import errors
from caiclient.models import Persona, Settings
from caiclient.resources._base import Resource

__all__ = ["Personas"]

NAME_MIN, NAME_MAX = 3, 20
DEFINITION_MAX = 750


class Personas(Resource):
    """Your personas: list, get, create, update, delete, and where they apply."""

    def list(self) -> List[Persona]:
        """All your personas."""
        body = self._call(
            "GET",
            self._plus("/chat/personas/"),
            params={"force_refresh": "1"},
            what="personas.list()",
        )
        return self._many(Persona, body, "personas")

    def get(self, persona_id: str) -> Persona:
        """One persona by id; :class:`~caiclient.errors.NotFound` if there is none."""
        pid = v.identifier(persona_id, "persona_id")
        url = self._plus("/chat/persona/")
        body = self._call("GET", url, params={"id": pid}, what="personas.get()")
        if not isinstance(body, dict) or not body.get("persona"):
            raise errors.NotFound(
                f"no persona with id {pid!r}",
                status=200,
                method="GET",
                path=urlsplit(url).path,
                body=body,
            )
        return self._one(Persona, body, "persona")

    def create(self, name: str, definition: str = "", *, avatar_rel_path: str = "") -> Persona:
        """Create a persona (``name`` 3-20 characters, ``definition`` at most 750)."""
        self._session.require_account("personas.create()")
        v.text(name, "name", min_len=NAME_MIN, max_len=NAME_MAX)
        v.text(definition, "definition", max_len=DEFINITION_MAX)
        v.text(avatar_rel_path, "avatar_rel_path", max_len=512)
        body = {
            "avatar_file_name": "",
            "avatar_rel_path": avatar_rel_path,
            "base_img_prompt": "",
            "categories": [],
            "copyable": False,
            "definition": definition,
            "description": "This is my persona.",
            "greeting": "Hello! This is my persona",
            "identifier": f"id:{uuid.uuid4()}",
            "img_gen_enabled": False,
            "name": name,
            "strip_img_prompt_from_msg": False,
            "title": name,
            "visibility": "PRIVATE",
            "voice_id": "",
        }
        resp = self._call("POST", self._plus("/chat/persona/create/"), json=body, check="status")
        return self._one(Persona, resp, "persona")

    def _update_body(self, old: Persona, **changes: Any) -> Dict[str, Any]:
        avatar = old.avatar.file_name if old.avatar else ""
        body: Dict[str, Any] = {
            "avatar_file_name": avatar,
            "avatar_rel_path": avatar,
            "copyable": False,
            "default_voice_id": "",
            "definition": old.definition,
            "description": "This is my persona.",
            "enabled": False,
            "external_id": old.persona_id,
            "greeting": "Hello! This is my persona",
            "img_gen_enabled": False,
            "is_persona": True,
            "name": old.name,
            "participant__name": old.name,
            "participant__num_interactions": 0,
            "title": old.name,
            "user__id": self._session.account_id,
            "user__username": old.author_username or "",
            "visibility": "PRIVATE",
        }
        body.update(changes)
        return body

    def update(
        self,
        persona_id: str,
        *,
        name: Optional[str] = None,
        definition: Optional[str] = None,
        avatar_rel_path: Optional[str] = None,
    ) -> Persona:
        """Change a persona; arguments left out keep their value. Returns the updated persona."""
        self._session.require_account("personas.update()")
        if name is not None:
            v.text(name, "name", min_len=NAME_MIN, max_len=NAME_MAX)
        if definition is not None:
            v.text(definition, "definition", max_len=DEFINITION_MAX)
        if avatar_rel_path is not None:
            v.text(avatar_rel_path, "avatar_rel_path", max_len=512)
        old = self.get(persona_id)
        changes: Dict[str, Any] = {}
        if name is not None:
            changes.update(name=name, participant__name=name, title=name)
        if definition is not None:
            changes["definition"] = definition
        if avatar_rel_path is not None:
            changes.update(avatar_file_name=avatar_rel_path, avatar_rel_path=avatar_rel_path)
        body = self._update_body(old, **changes)
        resp = self._call("POST", self._plus("/chat/persona/update/"), json=body, check="status")
        return self._one(Persona, resp, "persona")

    def delete(self, persona_id: str) -> None:
        """Delete (archive) a persona."""
        self._session.require_account("personas.delete()")
        old = self.get(persona_id)
        body = self._update_body(old, archived=True)
        body.pop("enabled", None)
        body.pop("avatar_rel_path", None)
        self._call("POST", self._plus("/chat/persona/update/"), json=body, check="status")

    def set_default(self, persona_id: Optional[str]) -> Settings:
        """Make a persona your default (``None`` for no default). Returns the new settings."""
        self._session.require_account("personas.set_default()")
        pid = "" if persona_id is None else v.identifier(persona_id, "persona_id")

        def change(doc: Dict[str, Any]) -> None:
            doc["default_persona_id"] = pid

        return self._session.account.update_settings(change)

    def set_for_character(self, character_id: str, persona_id: Optional[str]) -> Settings:
        """Use a persona with one character (``None`` removes the override)."""
        self._session.require_account("personas.set_for_character()")
        cid = v.identifier(character_id, "character_id")
        pid = None if persona_id is None else v.identifier(persona_id, "persona_id")

        def change(doc: Dict[str, Any]) -> None:
            overrides = doc.get("personaOverrides")
            overrides = dict(overrides) if isinstance(overrides, dict) else {}
            if pid is None:
                overrides.pop(cid, None)
            else:
                overrides[cid] = pid
            doc["personaOverrides"] = overrides

        return self._session.account.update_settings(change)
