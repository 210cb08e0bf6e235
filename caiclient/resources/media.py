"""``session.media``: images and speech."""

from __future__ import annotations

import base64
from typing import List

from caiclient import _validate as v
from caiclient import errors
from caiclient._display import Speech
from caiclient.models import Avatar
from caiclient.resources._base import Resource
from caiclient.resources._files import Source, read_source

__all__ = ["Media"]


class Media(Resource):
    """Generate and upload images, turn messages into speech."""

    def generate_image(self, prompt: str, n: int = 4) -> List[str]:
        """Generate ``n`` (1-8) candidate images from a prompt; returns their URLs."""
        p = v.text(prompt, "prompt", min_len=1, max_len=1000)
        count = v.integer(n, "n", minimum=1, maximum=8)
        body = self._call(
            "POST",
            self._plus("/chat/character/generate-avatar-options"),
            json={"prompt": p, "num_candidates": count, "model_version": "v1"},
            what="media.generate_image()",
        )
        results = body.get("result") if isinstance(body, dict) else None
        return [
            r["url"]
            for r in results or []
            if isinstance(r, dict) and isinstance(r.get("url"), str) and r["url"]
        ]

    def generate_chat_image(self, description: str) -> str:
        """Generate an image to show in a chat from a description; returns its URL.

        ``plus /chat/generate-image/`` (kramcat ``create_image``, node_characterai 1.x,
        CAINode 1.2.2: others.md 2.7). Download it with ``session.http.download(url)``
        (the token is not sent along).
        """
        d = v.text(description, "description", min_len=1, max_len=1000)
        body = self._call(
            "POST",
            self._plus("/chat/generate-image/"),
            json={"image_description": d},
            what="media.generate_chat_image()",
        )
        url = body.get("image_rel_path") if isinstance(body, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise errors.ParseError("the image answer has no image_rel_path URL", body=body)
        return url

    def upload_avatar(self, image: Source, *, check: bool = True) -> Avatar:
        """Upload an image (bytes, a path or a binary file) to use as an avatar.

        Needs ``web_next_auth`` on the session (the site's cookie). With
        ``check`` the uploaded file is fetched back from the CDN to make sure
        the service accepted it. The result's ``file_name`` is what
        ``avatar_rel_path`` arguments take.
        """
        self._session.require_account("media.upload_avatar()")
        wna = self._session.credentials.web_next_auth
        if not wna:
            raise errors.AuthRequiredError(
                "media.upload_avatar() needs the site's web-next-auth cookie: "
                "Session(token=..., web_next_auth=...)"
            )
        data, mime, _ = read_source(image, "image", "image/png")
        if not mime.startswith("image/"):
            raise errors.ValidationError(f"image must be an image, got {mime}", field="image")
        url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        body = self._call(
            "POST",
            self._web("/api/trpc/user.uploadAvatar"),
            params={"batch": "1"},
            json={"0": {"json": {"imageDataUrl": url}}},
            headers={"Cookie": f"web-next-auth={wna}"},
        )
        try:
            name = body[0]["result"]["data"]["json"]
        except (KeyError, IndexError, TypeError):
            raise errors.ParseError("unexpected answer to the avatar upload", body=body) from None
        if not isinstance(name, str) or not name:
            raise errors.ParseError("the avatar upload returned no file name", body=body)
        avatar = Avatar(file_name=name, cdn=self._session.endpoints.cdn)
        if check:
            self._session.http.download(self._session.avatar_url(avatar, size=400))
        return avatar

    def upload_image(self, image: Source) -> str:
        """Upload an image (bytes, a path or a binary file); returns its relative path."""
        self._session.require_account("media.upload_image()")
        data, mime, filename = read_source(image, "image", "image/png")
        if not mime.startswith("image/"):
            raise errors.ValidationError(f"image must be an image, got {mime}", field="image")
        body = self._call(
            "POST",
            self._plus("/chat/upload-image/"),
            files={"image": (filename if "." in filename else "image.png", data, mime)},
            check="status",
        )
        value = body.get("value") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise errors.ParseError("the image upload returned no path", body=body)
        return value

    def speech_url(self, chat_id: str, turn_id: str, candidate_id: str, voice_id: str) -> str:
        """The URL of a message read aloud by a voice (see :meth:`speech`)."""
        body = {
            "candidateId": v.identifier(candidate_id, "candidate_id"),
            "roomId": v.identifier(chat_id, "chat_id"),
            "turnId": v.identifier(turn_id, "turn_id"),
            "voiceId": v.identifier(voice_id, "voice_id"),
        }
        resp = self._call(
            "POST", self._neo("/multimodal/api/v1/memo/replay"), json=body, what="media.speech()"
        )
        url = resp.get("replayUrl") if isinstance(resp, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise errors.ParseError("the speech answer has no replayUrl", body=resp)
        return url

    def speech(self, chat_id: str, turn_id: str, candidate_id: str, voice_id: str) -> bytes:
        """A message (one candidate of a turn) read aloud by a voice, as audio bytes.

        The audio is downloaded from the URL the service returns, without
        the token. The result is :class:`bytes` that a notebook shows as a
        player (:class:`~caiclient.models.Speech`).
        """
        return Speech(
            self._session.http.download(self.speech_url(chat_id, turn_id, candidate_id, voice_id))
        )
