"""character.ai tRPC routes (/web), the CDN (/cdn) and media."""

from __future__ import annotations

import base64
import io
import json
import wave
import zlib
from urllib.parse import quote

import pytest
from support import mp3_frames

from caiclient.emulator import media


def _trpc_input(text: str) -> str:
    # exactly what PyCharacterAI puts on the wire (neo.md 2.3)
    raw = '{"0":{"json":{"searchQuery":"' + quote(text) + '"}}}'
    return raw.replace("{", "%7B").replace("}", "%7D").replace('"', "%22")


def test_trpc_search_double_decoded(api, emu):
    url = f"{emu.url}/web/api/trpc/search.search?batch=1&input={_trpc_input('Dungeon Master')}"
    r = api.http.get(url)  # no headers at all
    assert r.status_code == 200
    chars = r.json()[0]["result"]["data"]["json"]["characters"]
    assert [c["participant__name"] for c in chars] == ["Dungeon Master"]
    assert "num_likes" in chars[0]
    url = f"{emu.url}/web/api/trpc/search.search?batch=1&input={_trpc_input('Vault')}"
    assert api.http.get(url).json()[0]["result"]["data"]["json"]["characters"] == []
    r = api.http.get(f"{emu.url}/web/api/trpc/search.search?batch=1&input=notjson")
    assert r.status_code == 400 and r.json()[0]["error"]


def test_trpc_search_creators(api, emu):
    url = f"{emu.url}/web/api/trpc/search.searchCreators?batch=1&input={_trpc_input('car')}"
    r = api.http.get(url, headers={"Content-Type": "application/json"})
    assert [c["username"] for c in r.json()[0]["result"]["data"]["json"]["creators"]] == ["carol"]


def _upload(api, emu, data_url, cookie):
    body = {"0": {"json": {"imageDataUrl": data_url}}}
    return api.post("/web/api/trpc/user.uploadAvatar?batch=1", body, headers={"cookie": cookie})


def test_upload_avatar_then_cdn(api, emu):
    png = media.png("avatar")
    data_url = "data:image/png;base64," + base64.b64encode(png).decode()
    for cookie in (emu.web_next_auth, f"web-next-auth={emu.web_next_auth}", ""):
        r = _upload(api, emu, data_url, cookie)
        assert r.status_code == 200
        name = r.json()[0]["result"]["data"]["json"]
        assert isinstance(name, str) and name.startswith("uploaded/")
        img = api.http.get(f"{emu.url}/cdn/i/400/static/avatars/{name}?webp=true&anim=0")
        assert img.status_code == 200 and img.content == png
    assert _upload(api, emu, data_url, "wrong").status_code == 401
    assert _upload(api, emu, "data:None;base64,!!!", emu.web_next_auth).status_code == 400
    r = api.post(
        "/web/api/trpc/user.uploadAvatar?batch=1",
        {"0": {"json": {"imageDataUrl": data_url}}},
        token=None,
    )
    assert r.status_code == 401


def test_upload_image_and_cdn_user(api, emu):
    png = media.png("upload")
    r = api.http.post(
        emu.url + "/plus/chat/upload-image/",
        files={"image": ("x.png", png, "image/png")},
        headers={"authorization": f"Token {emu.token}"},
    )
    assert r.status_code == 200 and r.json()["status"] == "OK"
    rel = r.json()["value"]
    assert api.http.get(f"{emu.url}/cdn/i/400/static/user/{rel}").content == png
    assert api.http.get(f"{emu.url}/cdn/i/80/static/avatars/{rel}").status_code == 200
    r = api.http.post(
        emu.url + "/plus/chat/upload-image/",
        files={"other": ("x.png", png, "image/png")},
        headers={"authorization": f"Token {emu.token}"},
    )
    assert r.status_code == 400


def test_cdn_unknown_and_seeded(api, emu):
    assert api.http.get(f"{emu.url}/cdn/i/400/static/avatars/nope.webp").status_code == 404
    assert api.http.get(f"{emu.url}/cdn/i/400/static/avatars/../x").status_code == 404
    assert api.http.get(f"{emu.url}/cdn/audio/nope.mp3").status_code == 404
    assert api.http.get(f"{emu.url}/cdn/audio/nope.wav").status_code == 404
    r = api.http.get(f"{emu.url}/cdn/i/200/static/avatars/seed/ada.png")
    assert r.status_code == 200 and r.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_generate_avatar_options(api, emu):
    r = api.post(
        "/plus/chat/character/generate-avatar-options",
        {"prompt": "a cat", "num_candidates": 3, "model_version": "v1"},
    )
    urls = [x["url"] for x in r.json()["result"]]
    assert len(urls) == 3 and all(u.startswith(emu.url + "/cdn/") for u in urls)
    img = api.http.get(urls[0])
    assert img.status_code == 200 and img.headers["content-type"] == "image/png"
    assert (
        api.post("/plus/chat/character/generate-avatar-options", {"prompt": ""}).status_code == 400
    )


def test_voice_preview_audio(api, emu):
    v = api.get("/neo/multimodal/api/v1/voices/sys-voice-calm").json()["voice"]
    assert v["previewAudioURI"].endswith(".mp3")
    r = api.http.get(v["previewAudioURI"])
    assert r.status_code == 200 and r.headers["content-type"] == "audio/mpeg"
    assert mp3_frames(r.content) > 0


def test_media_generators_are_valid():
    png = media.png("x", size=16)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # IDAT decompresses to 16 rows of 1 + 16*3 bytes
    idat_len = int.from_bytes(png[33:37], "big")
    assert png[37:41] == b"IDAT"
    assert len(zlib.decompress(png[41 : 41 + idat_len])) == 16 * (1 + 16 * 3)
    with wave.open(io.BytesIO(media.wav("hello"))) as w:
        assert w.getnchannels() == 1 and w.getnframes() > 0
    assert media.wav("a") == media.wav("a") and media.wav("a") != media.wav("b")
    song = media.mp3("hello", seconds=1.0)
    assert song[:3] == b"ID3" and mp3_frames(song) == 28  # 28 frames of 36 ms
    assert len(song) < 5000  # small
    assert media.mp3("a") == media.mp3("a") and media.mp3("a") != media.mp3("b")


def test_mp3_checker_refuses_what_is_not_mp3():
    with pytest.raises(ValueError):
        mp3_frames(media.wav("x"))
    with pytest.raises(ValueError):
        mp3_frames(media.mp3("x")[:-1])  # a truncated last frame
    with pytest.raises(ValueError):
        mp3_frames(b"ID3\x03\x00\x00\x00\x00\x00\x00")  # a tag and nothing else


def test_speech_replay_is_an_mp3(api, emu):
    chat = "0c5a7e10-5eed-4000-8000-00000000a1c0"
    turn = api.get(f"/neo/turns/{chat}/").json()["turns"][0]
    r = api.post(
        "/neo/multimodal/api/v1/memo/replay",
        {
            "candidateId": turn["primary_candidate_id"],
            "roomId": chat,
            "turnId": turn["turn_key"]["turn_id"],
            "voiceId": "sys-voice-calm",
        },
    )
    url = r.json()["replayUrl"]
    assert url.endswith(".mp3")
    audio = api.http.get(url, timeout=5)
    assert audio.headers["content-type"] == "audio/mpeg" and mp3_frames(audio.content) > 0


def test_site_root_and_log(api, emu):
    r = api.http.get(emu.url + "/web/")
    assert r.status_code == 200 and "edge_rollout" in r.cookies
    emu.log.clear()
    api.post("/plus/chat/user/public/", {"username": "carol"}, params={"x": "1"})
    entries = emu.log.http("/plus/")
    assert len(entries) == 1
    e = entries[0]
    assert (
        e["method"] == "POST"
        and e["path"] == "/plus/chat/user/public/"
        and e["query"] == {"x": ["1"]}
    )
    assert e["headers"]["authorization"] == f"Token {emu.token}"
    assert json.loads(e["body"]) == {"username": "carol"} and e["json"] == {"username": "carol"}
