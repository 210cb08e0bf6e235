"""``session.voices``: voices for text-to-speech."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from caiclient import _validate as v
from caiclient.models import Voice
from caiclient.resources._base import Resource
from caiclient.resources._files import Source, read_source

__all__ = ["Voices"]

NAME_MIN, NAME_MAX = 3, 20
DESCRIPTION_MAX = 120
VISIBILITIES = ("private", "public")
GENDERS = ("neutral", "male", "female")
PREVIEW_TEXT = "Good day! Here to make life a little less complicated."


class Voices(Resource):
    """Find, create, change and delete voices."""

    _BASE = "/multimodal/api/v1/voices/"

    def get(self, voice_id: str) -> Voice:
        """A voice by id (works for guests)."""
        seg = v.segment(voice_id, "voice_id")
        body = self._call("GET", self._neo(f"{self._BASE}{seg}"), account=False)
        return self._one(Voice, body, "voice")

    def search(self, query: str) -> List[Voice]:
        """Search public voices by name (works for guests)."""
        q = v.text(query, "query", min_len=1, max_len=200)
        body = self._call(
            "GET", self._neo(f"{self._BASE}search"), params={"query": q}, account=False
        )
        return self._many(Voice, body, "voices")

    def for_character(self, character_name: str) -> List[Voice]:
        """Voices made for a character, by the character's name (works for guests)."""
        q = v.text(character_name, "character_name", min_len=1, max_len=200)
        body = self._call(
            "GET", self._neo(f"{self._BASE}search"), params={"characterName": q}, account=False
        )
        return self._many(Voice, body, "voices")

    def system(self) -> List[Voice]:
        """The service's built-in voices (works for guests)."""
        body = self._call("GET", self._neo(f"{self._BASE}system"), account=False)
        return self._many(Voice, body, "voices")

    def featured(self) -> List[Voice]:
        """Featured voices (works for guests)."""
        body = self._call("GET", self._neo(f"{self._BASE}featured"), account=False)
        return self._many(Voice, body, "voices")

    def mine(self) -> List[Voice]:
        """The voices you created."""
        body = self._call("GET", self._neo(f"{self._BASE}user"), what="voices.mine()")
        return self._many(Voice, body, "voices")

    def upload(
        self,
        audio: Source,
        name: str,
        *,
        description: str = "",
        visibility: str = "private",
        gender: str = "neutral",
        preview_text: str = PREVIEW_TEXT,
    ) -> Voice:
        """Create a voice from an audio sample (bytes, a path or a binary file).

        ``name`` 3-20 characters, ``description`` at most 120, ``visibility``
        ``private`` or ``public``.
        """
        self._session.require_account("voices.upload()")
        v.text(name, "name", min_len=NAME_MIN, max_len=NAME_MAX)
        v.text(description, "description", max_len=DESCRIPTION_MAX)
        vis = v.choice(visibility, "visibility", VISIBILITIES)
        gen = v.choice(gender, "gender", GENDERS)
        v.text(preview_text, "preview_text", min_len=1, max_len=500)
        data, mime, filename = read_source(audio, "audio", "audio/mpeg")
        meta = {
            "voice": {
                "name": name,
                "description": description,
                "gender": gen,
                "visibility": vis,
                "previewText": preview_text,
                "audioSourceType": "file",
            }
        }
        files = {
            "file": (filename if "." in filename else "input.mp3", data, mime),
            "json": (None, json.dumps(meta), None),
        }
        body = self._call("POST", self._neo(self._BASE), files=files)
        voice = self._one(Voice, body, "voice")
        if (voice.name, voice.description, voice.visibility.lower()) != (name, description, vis):
            # Some versions of the service store placeholders first; publish the real values.
            voice = self._put(voice, name=name, description=description, visibility=vis)
        return voice

    def update(
        self,
        voice_id: str,
        *,
        name: Optional[str] = None,
        description: Optional[str] = None,
        visibility: Optional[str] = None,
    ) -> Voice:
        """Change a voice you own; arguments left out keep their value."""
        self._session.require_account("voices.update()")
        v.identifier(voice_id, "voice_id")
        if name is not None:
            v.text(name, "name", min_len=NAME_MIN, max_len=NAME_MAX)
        if description is not None:
            v.text(description, "description", max_len=DESCRIPTION_MAX)
        vis = v.choice(visibility, "visibility", VISIBILITIES) if visibility is not None else None
        current = self.get(voice_id)
        return self._put(current, name=name, description=description, visibility=vis)

    def _put(
        self,
        current: Voice,
        *,
        name: Optional[str],
        description: Optional[str],
        visibility: Optional[str],
    ) -> Voice:
        doc: Dict[str, Any] = dict(current.raw)
        doc.update(
            {
                "id": current.voice_id,
                "name": current.name if name is None else name,
                "description": current.description if description is None else description,
                "visibility": (current.visibility if visibility is None else visibility).lower(),
            }
        )
        seg = v.segment(current.voice_id, "voice_id")
        body = self._call("PUT", self._neo(f"{self._BASE}{seg}"), json={"voice": doc})
        return self._one(Voice, body, "voice")

    def delete(self, voice_id: str) -> None:
        """Delete a voice you own."""
        seg = v.segment(voice_id, "voice_id")
        self._call("DELETE", self._neo(f"{self._BASE}{seg}"), what="voices.delete()")
