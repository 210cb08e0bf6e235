"""``session.media``: image generation, uploads and speech."""

from __future__ import annotations

import base64
import email
import email.policy
import io
from typing import Any, Dict, Iterator, Tuple

import pytest
from responses import matchers
from support import CDN, NEO, PLUS, TOKEN, WEB

import caiclient
from caiclient import errors
from caiclient.transport.http import RetryPolicy

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00fake-png-data\xff"
WNA = "eyJhbGciOi.web-next-auth-value"
AVATAR_NAME = "uploaded/2025/1/1/new.webp"
REPLAY_URL = "https://storage.googleapis.com/tts/replay-123.mp3"


@pytest.fixture
def wna_session(sleeps: Any) -> Iterator[caiclient.Session]:
    s = caiclient.Session(
        token=TOKEN, web_next_auth=WNA, retry=RetryPolicy(max_retries=2, sleep=sleeps)
    )
    yield s
    s.close()


def multipart_parts(request: Any) -> Dict[str, Tuple[Any, str, bytes]]:
    """``{name: (filename, content type, bytes)}`` of a multipart request."""
    ctype = request.headers["Content-Type"]
    assert ctype.startswith("multipart/form-data; boundary=")
    body = request.body if isinstance(request.body, bytes) else request.body.encode()
    msg = email.message_from_bytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body, policy=email.policy.HTTP
    )
    parts = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        parts[name] = (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
    return parts


def assert_api_headers(call: Any) -> None:
    assert call.request.headers["authorization"] == f"Token {TOKEN}"
    assert call.request.headers["Content-Type"] == "application/json"


# ------------------------------------------------------------------ generate_image


@pytest.mark.parametrize("n", [1, 4, 8])
def test_generate_image(session, rsps, n):
    rsps.post(
        f"{PLUS}/chat/character/generate-avatar-options",
        match=[
            matchers.json_params_matcher(
                {"prompt": "a red fox", "num_candidates": n, "model_version": "v1"}
            )
        ],
        json={
            "result": [
                {"prompt": "a red fox", "url": "https://img.example/1.webp"},
                {"prompt": "a red fox", "url": ""},
                {"prompt": "a red fox"},
                {"url": "https://img.example/2.webp"},
            ]
        },
    )
    urls = session.media.generate_image("a red fox", n=n)
    assert urls == ["https://img.example/1.webp", "https://img.example/2.webp"]
    assert_api_headers(rsps.calls[0])


def test_generate_image_default_is_4_and_missing_result(session, rsps):
    rsps.post(
        f"{PLUS}/chat/character/generate-avatar-options",
        match=[
            matchers.json_params_matcher(
                {"prompt": "p", "num_candidates": 4, "model_version": "v1"}
            )
        ],
        json={"result": None},
    )
    assert session.media.generate_image("p") == []


def test_generate_image_is_not_retried(session, rsps, sleeps):
    rsps.post(f"{PLUS}/chat/character/generate-avatar-options", status=503, json={})
    with pytest.raises(errors.ServerError):
        session.media.generate_image("p")
    assert len(rsps.calls) == 1 and sleeps == []


# ------------------------------------------------------------------ upload_avatar


def _register_avatar_upload(rsps: Any, data_url: str) -> None:
    rsps.post(
        f"{WEB}/api/trpc/user.uploadAvatar",
        match=[
            matchers.query_param_matcher({"batch": "1"}, strict_match=True),
            matchers.json_params_matcher({"0": {"json": {"imageDataUrl": data_url}}}),
        ],
        json=[{"result": {"data": {"json": AVATAR_NAME}}}],
    )


@pytest.mark.parametrize("kind", ["bytes", "path", "file"])
def test_upload_avatar_then_checks_cdn(wna_session, rsps, tmp_path, kind):
    if kind == "bytes":
        source: Any = PNG
    elif kind == "path":
        source = tmp_path / "me.png"
        source.write_bytes(PNG)
    else:
        source = io.BytesIO(PNG)
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode("ascii")
    _register_avatar_upload(rsps, data_url)
    rsps.get(
        f"{CDN}/i/400/static/avatars/{AVATAR_NAME}",
        match=[matchers.query_param_matcher({"webp": "true", "anim": "0"}, strict_match=True)],
        body=b"RIFF....WEBP",
        content_type="image/webp",
    )
    avatar = wna_session.media.upload_avatar(source)
    assert avatar.file_name == AVATAR_NAME
    upload, check = rsps.calls
    assert_api_headers(upload)
    assert upload.request.headers["Cookie"] == f"web-next-auth={WNA}"
    assert check.request.method == "GET"
    assert "authorization" not in check.request.headers
    assert "web-next-auth" not in check.request.headers.get("Cookie", "")


def test_upload_avatar_without_check(wna_session, rsps):
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode("ascii")
    _register_avatar_upload(rsps, data_url)
    avatar = wna_session.media.upload_avatar(PNG, check=False)
    assert str(avatar) == AVATAR_NAME
    assert len(rsps.calls) == 1


def test_upload_avatar_jpeg_path_mime_from_extension(wna_session, rsps, tmp_path):
    jpeg = b"\xff\xd8\xff\xe0fake-jpeg"
    path = tmp_path / "face.jpg"
    path.write_bytes(jpeg)
    _register_avatar_upload(
        rsps, "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
    )
    assert wna_session.media.upload_avatar(str(path), check=False).file_name == AVATAR_NAME


def test_upload_avatar_failed_cdn_check(wna_session, rsps):
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode("ascii")
    _register_avatar_upload(rsps, data_url)
    rsps.get(f"{CDN}/i/400/static/avatars/{AVATAR_NAME}", status=404, body="")
    with pytest.raises(errors.NotFound):
        wna_session.media.upload_avatar(PNG)


@pytest.mark.parametrize(
    "body", [[], {}, [{"result": {"data": {}}}], [{"result": {"data": {"json": ""}}}]]
)
def test_upload_avatar_unexpected_answer(wna_session, rsps, body):
    rsps.post(f"{WEB}/api/trpc/user.uploadAvatar", json=body)
    with pytest.raises(errors.ParseError):
        wna_session.media.upload_avatar(PNG)


def test_upload_avatar_needs_web_next_auth(session, rsps):
    with pytest.raises(errors.AuthRequiredError) as info:
        session.media.upload_avatar(PNG)
    assert "web_next_auth" in str(info.value)
    assert len(rsps.calls) == 0


def test_upload_avatar_refuses_non_images(wna_session, rsps):
    with pytest.raises(errors.ValidationError) as info:
        wna_session.media.upload_avatar(b"ID3 an mp3 file")
    assert info.value.field == "image"
    assert len(rsps.calls) == 0


def test_upload_avatar_errors_never_show_secrets(wna_session, rsps):
    rsps.post(
        f"{WEB}/api/trpc/user.uploadAvatar",
        status=401,
        json=[{"error": {"json": {"message": "UNAUTHORIZED"}}}],
    )
    with pytest.raises(errors.AuthenticationError) as info:
        wna_session.media.upload_avatar(PNG)
    err = info.value
    assert err.path == "/api/trpc/user.uploadAvatar"
    for secret in (TOKEN, WNA):
        assert secret not in str(err) and secret not in repr(err)


# ------------------------------------------------------------------ upload_image


@pytest.mark.parametrize("kind", ["bytes", "path", "file"])
def test_upload_image(session, rsps, tmp_path, kind):
    if kind == "bytes":
        source: Any = PNG
        filename = "image.png"
    elif kind == "path":
        source = tmp_path / "pic.png"
        source.write_bytes(PNG)
        filename = "pic.png"
    else:
        source = io.BytesIO(PNG)
        filename = "image.png"
    rsps.post(f"{PLUS}/chat/upload-image/", json={"status": "OK", "value": "abc/pic.png"})
    assert session.media.upload_image(source) == "abc/pic.png"
    req = rsps.calls[0].request
    assert req.headers["authorization"] == f"Token {TOKEN}"
    parts = multipart_parts(req)
    assert set(parts) == {"image"}
    assert parts["image"] == (filename, "image/png", PNG)


def test_upload_image_status_not_ok(session, rsps):
    rsps.post(f"{PLUS}/chat/upload-image/", json={"status": "ERROR", "error": "too big"})
    with pytest.raises(errors.ActionFailed) as info:
        session.media.upload_image(PNG)
    assert info.value.message == "too big"


def test_upload_image_without_value(session, rsps):
    rsps.post(f"{PLUS}/chat/upload-image/", json={"status": "OK"})
    with pytest.raises(errors.ParseError):
        session.media.upload_image(PNG)


# ------------------------------------------------------------------ speech

SPEECH_BODY = {"candidateId": "cand1", "roomId": "chat1", "turnId": "turn1", "voiceId": "v-1"}


def test_speech_url(session, rsps):
    rsps.post(
        f"{NEO}/multimodal/api/v1/memo/replay",
        match=[matchers.json_params_matcher(SPEECH_BODY)],
        json={"replayUrl": REPLAY_URL},
    )
    assert session.media.speech_url("chat1", "turn1", "cand1", "v-1") == REPLAY_URL
    assert_api_headers(rsps.calls[0])


@pytest.mark.parametrize(
    "replay_url",
    [REPLAY_URL, f"{NEO}/multimodal/api/v1/memo/audio/replay-123.mp3"],
    ids=["foreign-host", "service-host"],
)
def test_speech_downloads_without_authorization(session, rsps, replay_url):
    rsps.post(
        f"{NEO}/multimodal/api/v1/memo/replay",
        match=[matchers.json_params_matcher(SPEECH_BODY)],
        json={"replayUrl": replay_url},
    )
    rsps.get(replay_url, body=b"ID3-audio-bytes", content_type="audio/mpeg")
    audio = session.media.speech("chat1", "turn1", "cand1", "v-1")
    assert audio == b"ID3-audio-bytes"
    replay, download = rsps.calls
    assert_api_headers(replay)
    assert download.request.url == replay_url
    assert "authorization" not in download.request.headers
    assert TOKEN not in str(download.request.headers)


@pytest.mark.parametrize("body", [{}, {"replayUrl": ""}, {"replayUrl": "file:///etc/passwd"}])
def test_speech_url_missing(session, rsps, body):
    rsps.post(f"{NEO}/multimodal/api/v1/memo/replay", json=body)
    with pytest.raises(errors.ParseError):
        session.media.speech("chat1", "turn1", "cand1", "v-1")
    assert len(rsps.calls) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"command": "neo_error", "comment": "voice unavailable"}, "voice unavailable"),
        ({"error": {"message": "quota exceeded"}}, "quota exceeded"),
        ({"message": "plain message"}, "plain message"),
        ({"error": "a string error"}, "a string error"),
    ],
)
def test_speech_error_messages(session, rsps, body, message):
    rsps.post(f"{NEO}/multimodal/api/v1/memo/replay", status=400, json=body)
    with pytest.raises(errors.BadRequest) as info:
        session.media.speech("chat1", "turn1", "cand1", "v-1")
    assert info.value.message == message
    assert info.value.path == "/multimodal/api/v1/memo/replay"


def test_speech_download_failure(session, rsps):
    rsps.post(f"{NEO}/multimodal/api/v1/memo/replay", json={"replayUrl": REPLAY_URL})
    rsps.get(REPLAY_URL, status=403, body="<Error>AccessDenied</Error>", content_type="text/xml")
    with pytest.raises(errors.PermissionDenied) as info:
        session.media.speech("chat1", "turn1", "cand1", "v-1")
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)


def test_speech_download_retried_after_503(session, rsps, sleeps):
    rsps.post(f"{NEO}/multimodal/api/v1/memo/replay", json={"replayUrl": REPLAY_URL})
    rsps.get(REPLAY_URL, status=503, body="")
    rsps.get(REPLAY_URL, body=b"audio")
    assert session.media.speech("chat1", "turn1", "cand1", "v-1") == b"audio"
    assert len(sleeps) == 1


def test_cloudflare_page_is_blocked_error(session, rsps):
    rsps.post(
        f"{NEO}/multimodal/api/v1/memo/replay",
        status=403,
        body="<html><head><title>Just a moment...</title></head></html>",
        content_type="text/html",
    )
    with pytest.raises(errors.BlockedError) as info:
        session.media.speech_url("chat1", "turn1", "cand1", "v-1")
    assert info.value.kind == "challenge"


def test_replay_429_waits_retry_after(session, rsps, sleeps):
    rsps.post(
        f"{NEO}/multimodal/api/v1/memo/replay", status=429, json={}, headers={"Retry-After": "3"}
    )
    rsps.post(f"{NEO}/multimodal/api/v1/memo/replay", json={"replayUrl": REPLAY_URL})
    assert session.media.speech_url("chat1", "turn1", "cand1", "v-1") == REPLAY_URL
    assert sleeps == [3.0]


# ------------------------------------------------------------------ validation / guests


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda m: m.generate_image("", n=4), "prompt"),
        (lambda m: m.generate_image("p", n=0), "n"),
        (lambda m: m.generate_image("p", n=9), "n"),
        (lambda m: m.generate_image("p", n=True), "n"),
        (lambda m: m.generate_image("p", n="4"), "n"),
        (lambda m: m.upload_image(b""), "image"),
        (lambda m: m.upload_image("https://example.com/a.png"), "image"),
        (lambda m: m.upload_image("/no/such/file.png"), "image"),
        (lambda m: m.upload_image(b"ID3 an mp3, not an image"), "image"),
        (lambda m: m.speech_url("", "t", "c", "v"), "chat_id"),
        (lambda m: m.speech_url("ch", "", "c", "v"), "turn_id"),
        (lambda m: m.speech_url("ch", "t", None, "v"), "candidate_id"),
        (lambda m: m.speech("ch", "t", "c", ""), "voice_id"),
    ],
)
def test_validation_before_sending(session, rsps, call, field):
    with pytest.raises(errors.ValidationError) as info:
        call(session.media)
    assert info.value.field == field
    assert len(rsps.calls) == 0


@pytest.mark.parametrize(
    "source", [b"", io.BytesIO(b""), "https://example.com/a.png", "http://x/y.png"]
)
def test_upload_avatar_validation(wna_session, rsps, source):
    with pytest.raises(errors.ValidationError) as info:
        wna_session.media.upload_avatar(source)
    assert info.value.field == "image"
    assert len(rsps.calls) == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.generate_image("p"),
        lambda m: m.upload_avatar(PNG),
        lambda m: m.upload_image(PNG),
        lambda m: m.speech_url("ch", "t", "c", "v"),
        lambda m: m.speech("ch", "t", "c", "v"),
    ],
)
def test_guest_needs_account(guest, rsps, call):
    with pytest.raises(errors.AuthRequiredError):
        call(guest.media)
    assert len(rsps.calls) == 0
