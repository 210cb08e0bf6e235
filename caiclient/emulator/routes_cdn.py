"""Routes of the CDN ``https://characterai.io`` under ``/cdn`` (no auth)."""

from __future__ import annotations

import re

from aiohttp import web

from caiclient.emulator import media
from caiclient.emulator.common import ctx_of, jr

__all__ = ["setup"]

P = "/cdn"


async def image(request: web.Request) -> web.Response:
    """GET /i/{size}/static/{avatars|user}/{file} (query ``webp``/``anim`` ignored)."""
    size = request.match_info["size"]
    kind = request.match_info["kind"]
    name = request.match_info["file"]
    if not size.isdigit() or kind not in ("avatars", "user") or ".." in name.split("/"):
        return jr({"error": "Not Found"}, status=404)
    blob = ctx_of(request).state.get_blob(f"{kind}/{name}")
    if blob is None:
        return jr({"error": "Not Found"}, status=404)
    mime, data = blob
    return web.Response(
        body=data, content_type=mime, headers={"cache-control": "public, max-age=31536000"}
    )


async def audio(request: web.Request) -> web.Response:
    """GET /audio/{id}.mp3 (TTS replays and voice previews; ``.wav`` too, for old links).

    The service's ``replayUrl`` is an MP3 file (others.md 2.7); a generated one is served.
    """
    ctx = ctx_of(request)
    audio_id = request.match_info["audio_id"]
    if not re.fullmatch(r"[\w-]{1,80}", audio_id):
        return jr({"error": "Not Found"}, status=404)
    if audio_id.startswith("voice-"):
        v = ctx.state.get("voice", audio_id[len("voice-") :])
        if v is None:
            return jr({"error": "Not Found"}, status=404)
        text = v.get("previewText", "") + v["id"]
    else:
        doc = ctx.state.get("audio", audio_id)
        if doc is None:
            return jr({"error": "Not Found"}, status=404)
        text = doc["text"] + "|" + doc.get("voice_id", "")
    if request.match_info.get("ext") == "wav":
        return web.Response(body=media.wav(text), content_type="audio/wav")
    return web.Response(body=media.mp3(text), content_type="audio/mpeg")


def setup(app: web.Application) -> None:
    """Register the CDN routes."""
    app.router.add_get(P + "/i/{size}/static/{kind}/{file:.+}", image)
    app.router.add_get(P + "/audio/{audio_id}.{ext:mp3|wav}", audio)
