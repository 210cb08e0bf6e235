"""``session.voices``: find, upload, change and delete voices."""

from __future__ import annotations

import email
import email.policy
import io
import json
from datetime import datetime, timezone
from typing import Any, Dict, Tuple

import pytest
from responses import matchers
from support import NEO, TOKEN, sent_json

from caiclient import errors

BASE = f"{NEO}/multimodal/api/v1/voices/"
AUDIO = b"ID3\x04\x00fake-mp3-\x00\xff\xfe-bytes"


def voice_json(voice_id: str = "v-123", **extra: Any) -> Dict[str, Any]:
    body = {
        "id": voice_id,
        "name": "Calm",
        "description": "A calm voice",
        "gender": "neutral",
        "visibility": "public",
        "previewAudioURI": "https://storage.example/preview.mp3",
        "previewText": "Good day! Here to make life a little less complicated.",
        "creatorInfo": {"id": "123456789", "source": "user", "username": "alice"},
        "internalStatus": "active",
        "lastUpdateTime": "2025-01-01T12:00:00.123456Z",
        "audioSourceType": "file",
        "backendId": voice_id,
        "backendProvider": "cai",
    }
    body.update(extra)
    return body


def multipart_parts(request: Any) -> Dict[str, Tuple[Any, str, bytes]]:
    """``{name: (filename, content type, bytes)}`` of a multipart request."""
    ctype = request.headers["Content-Type"]
    assert ctype.startswith("multipart/form-data; boundary=")
    body = request.body if isinstance(request.body, bytes) else request.body.encode()
    msg = email.message_from_bytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body, policy=email.policy.HTTP
    )
    assert msg.is_multipart()
    parts = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        parts[name] = (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
    return parts


def auth_of(call: Any) -> Any:
    return call.request.headers.get("authorization")


# ------------------------------------------------------------------ reads


def test_get_parses_voice(session, rsps):
    rsps.get(f"{BASE}v-123", json={"voice": voice_json()})
    voice = session.voices.get("v-123")
    assert auth_of(rsps.calls[0]) == f"Token {TOKEN}"
    assert rsps.calls[0].request.headers["Content-Type"] == "application/json"
    assert voice.voice_id == "v-123"
    assert voice.name == "Calm"
    assert voice.visibility == "public"
    assert voice.preview_audio_url == "https://storage.example/preview.mp3"
    assert voice.creator_id == "123456789" and voice.creator_username == "alice"
    assert voice.last_update_time == datetime(2025, 1, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    assert voice.last_update_time.tzinfo is not None
    assert voice.raw["backendProvider"] == "cai"


def test_get_defaults_on_missing_and_null_fields(session, rsps):
    rsps.get(
        f"{BASE}v-1",
        json={"voice": {"id": "v-1", "name": None, "description": None, "gender": None}},
    )
    voice = session.voices.get("v-1")
    assert voice.name == "" and voice.description == ""
    assert voice.gender == "neutral"
    assert voice.visibility == "private"
    assert voice.internal_status == "active"
    assert voice.creator_id is None and voice.last_update_time is None


@pytest.mark.parametrize(
    ("call", "url", "query"),
    [
        (lambda vs: vs.search("calm voice"), f"{BASE}search", {"query": "calm voice"}),
        (lambda vs: vs.for_character("My Bot"), f"{BASE}search", {"characterName": "My Bot"}),
        (lambda vs: vs.system(), f"{BASE}system", {}),
        (lambda vs: vs.featured(), f"{BASE}featured", {}),
        (lambda vs: vs.mine(), f"{BASE}user", {}),
    ],
)
def test_lists(session, rsps, call, url, query):
    rsps.get(
        url,
        match=[matchers.query_param_matcher(query, strict_match=True)],
        json={"voices": [voice_json("v1"), voice_json("v2", name="Other")]},
    )
    voices = call(session.voices)
    assert [v.voice_id for v in voices] == ["v1", "v2"]
    assert voices[1].name == "Other"
    assert auth_of(rsps.calls[0]) == f"Token {TOKEN}"


def test_search_query_is_url_encoded(session, rsps):
    rsps.get(
        f"{BASE}search",
        match=[matchers.query_param_matcher({"query": "a&b=c #d"}, strict_match=True)],
        json={"voices": None},
    )
    assert session.voices.search("a&b=c #d") == []


@pytest.mark.parametrize(
    ("call", "url"),
    [
        (lambda vs: vs.get("v-9"), f"{BASE}v-9"),
        (lambda vs: vs.search("calm"), f"{BASE}search"),
        (lambda vs: vs.for_character("Bot"), f"{BASE}search"),
        (lambda vs: vs.system(), f"{BASE}system"),
        (lambda vs: vs.featured(), f"{BASE}featured"),
    ],
)
def test_public_reads_work_for_guests_without_authorization(guest, rsps, call, url):
    rsps.get(url, json={"voice": voice_json("v-9"), "voices": [voice_json("v-9")]})
    result = call(guest.voices)
    assert result
    assert "authorization" not in rsps.calls[0].request.headers


@pytest.mark.parametrize(
    "call",
    [
        lambda vs: vs.mine(),
        lambda vs: vs.upload(AUDIO, "Calm"),
        lambda vs: vs.update("v-1", name="Calm"),
        lambda vs: vs.delete("v-1"),
    ],
)
def test_account_methods_refuse_guests(guest, rsps, call):
    with pytest.raises(errors.AuthRequiredError):
        call(guest.voices)
    assert len(rsps.calls) == 0


# ------------------------------------------------------------------ upload


@pytest.mark.parametrize("status", [200, 201])
@pytest.mark.parametrize("kind", ["bytes", "path", "file"])
def test_upload_multipart_without_follow_up(session, rsps, tmp_path, status, kind):
    if kind == "bytes":
        source: Any = AUDIO
        filename, mime = "input.mp3", "audio/mpeg"
    elif kind == "path":
        source = tmp_path / "sample.wav"
        source.write_bytes(AUDIO)
        filename, mime = "sample.wav", "audio/x-wav"
    else:
        source = io.BytesIO(AUDIO)
        filename, mime = "input.mp3", "audio/mpeg"
    created = voice_json(
        "v-new", name="Calm", description="Soft", visibility="private", internalStatus="draft"
    )
    rsps.post(BASE, status=status, json={"voice": created})
    voice = session.voices.upload(source, "Calm", description="Soft")
    assert len(rsps.calls) == 1  # the stored values match: no PUT
    req = rsps.calls[0].request
    assert req.headers["authorization"] == f"Token {TOKEN}"
    assert req.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    parts = multipart_parts(req)
    assert set(parts) == {"file", "json"}
    fname, ftype, fdata = parts["file"]
    assert fdata == AUDIO
    assert fname == filename
    assert ftype in (mime, "audio/wav") if kind == "path" else ftype == mime
    meta = json.loads(parts["json"][2])
    assert meta == {
        "voice": {
            "name": "Calm",
            "description": "Soft",
            "gender": "neutral",
            "visibility": "private",
            "previewText": "Good day! Here to make life a little less complicated.",
            "audioSourceType": "file",
        }
    }
    assert parts["json"][0] is None
    assert voice.voice_id == "v-new" and voice.internal_status == "draft"


def test_upload_options_are_sent(session, rsps, tmp_path):
    created = voice_json("v-new", name="Loud", description="", visibility="public", gender="male")
    rsps.post(BASE, json={"voice": created})
    session.voices.upload(
        AUDIO, "Loud", visibility="PUBLIC", gender="Male", preview_text="Hello there"
    )
    meta = json.loads(multipart_parts(rsps.calls[0].request)["json"][2])["voice"]
    assert meta["visibility"] == "public"
    assert meta["gender"] == "male"
    assert meta["previewText"] == "Hello there"
    assert meta["description"] == ""


@pytest.mark.parametrize(
    "stored",
    [
        {"name": "name"},  # the placeholder some versions store
        {"description": ""},
        {"visibility": "public"},
    ],
)
def test_upload_publishes_real_values_when_they_differ(session, rsps, stored):
    created = voice_json("v-new", name="Calm", description="Soft", visibility="private")
    created.update(stored)
    rsps.post(BASE, status=201, json={"voice": created})
    expected_doc = dict(created)
    expected_doc.update(
        {"id": "v-new", "name": "Calm", "description": "Soft", "visibility": "private"}
    )
    rsps.put(
        f"{BASE}v-new",
        match=[matchers.json_params_matcher({"voice": expected_doc})],
        json={"voice": expected_doc},
    )
    voice = session.voices.upload(AUDIO, "Calm", description="Soft")
    assert [c.request.method for c in rsps.calls] == ["POST", "PUT"]
    put = rsps.calls[1].request
    assert put.headers["authorization"] == f"Token {TOKEN}"
    assert put.headers["Content-Type"] == "application/json"
    assert (voice.name, voice.description, voice.visibility) == ("Calm", "Soft", "private")


def test_upload_error_is_mapped(session, rsps):
    rsps.post(BASE, status=400, json={"command": "neo_error", "comment": "audio too short"})
    with pytest.raises(errors.BadRequest) as info:
        session.voices.upload(AUDIO, "Calm")
    assert info.value.message == "audio too short"
    assert info.value.path == "/multimodal/api/v1/voices/"
    assert len(rsps.calls) == 1


# ------------------------------------------------------------------ update / delete


def test_update_gets_then_puts_full_document_with_new_values(session, rsps):
    current = voice_json("v-123")
    rsps.get(f"{BASE}v-123", json={"voice": current})
    expected = dict(current)
    expected["description"] = "A brand new description"
    rsps.put(
        f"{BASE}v-123",
        match=[matchers.json_params_matcher({"voice": expected})],
        json={"voice": expected},
    )
    voice = session.voices.update("v-123", description="A brand new description")
    assert [c.request.method for c in rsps.calls] == ["GET", "PUT"]
    sent = sent_json(rsps.calls[1])["voice"]
    assert sent["description"] == "A brand new description"  # the NEW value, not the old one
    assert sent["name"] == "Calm" and sent["visibility"] == "public"  # kept
    assert sent["backendProvider"] == "cai"  # the rest of the document is sent back
    assert rsps.calls[1].request.headers["authorization"] == f"Token {TOKEN}"
    assert voice.description == "A brand new description"


def test_update_name_and_visibility(session, rsps):
    current = voice_json("v-123", visibility="PUBLIC")
    rsps.get(f"{BASE}v-123", json={"voice": current})
    expected = dict(current, name="Renamed", visibility="private")
    rsps.put(
        f"{BASE}v-123",
        match=[matchers.json_params_matcher({"voice": expected})],
        json={"voice": expected},
    )
    voice = session.voices.update("v-123", name="Renamed", visibility="Private")
    assert voice.name == "Renamed" and voice.visibility == "private"


def test_delete(session, rsps):
    rsps.delete(f"{BASE}v-123", body="")
    assert session.voices.delete("v-123") is None
    req = rsps.calls[0].request
    assert req.headers["authorization"] == f"Token {TOKEN}"
    assert not req.body


# ------------------------------------------------------------------ errors


def test_get_not_found(session, rsps):
    rsps.get(
        f"{BASE}nope",
        status=404,
        json={"command": "neo_error", "comment": "voice not found"},
        headers={"cf-ray": "ray-1"},
    )
    with pytest.raises(errors.NotFound) as info:
        session.voices.get("nope")
    err = info.value
    assert (err.status, err.method, err.path) == (404, "GET", "/multimodal/api/v1/voices/nope")
    assert err.message == "voice not found"
    assert str(err) == "[404 GET /multimodal/api/v1/voices/nope] voice not found (request_id=ray-1)"
    assert TOKEN not in str(err) and TOKEN not in repr(err)


def test_delete_forbidden(session, rsps):
    rsps.delete(f"{BASE}v-1", status=403, json={"command": "neo_error", "comment": "not yours"})
    with pytest.raises(errors.PermissionDenied) as info:
        session.voices.delete("v-1")
    assert info.value.method == "DELETE" and info.value.message == "not yours"


def test_search_non_json_is_parse_error(session, rsps):
    rsps.get(f"{BASE}search", body="oops", content_type="text/plain")
    with pytest.raises(errors.ParseError):
        session.voices.search("calm")


def test_get_retried_after_503(session, rsps, sleeps):
    rsps.get(f"{BASE}v-1", status=503, json={})
    rsps.get(f"{BASE}v-1", json={"voice": voice_json("v-1")})
    assert session.voices.get("v-1").voice_id == "v-1"
    assert len(sleeps) == 1


def test_upload_not_retried_after_503(session, rsps, sleeps):
    rsps.post(BASE, status=503, json={})
    with pytest.raises(errors.ServerError):
        session.voices.upload(AUDIO, "Calm")
    assert len(rsps.calls) == 1 and sleeps == []


def test_featured_429_waits_retry_after(guest, rsps, sleeps):
    rsps.get(f"{BASE}featured", status=429, json={}, headers={"Retry-After": "3"})
    rsps.get(f"{BASE}featured", json={"voices": []})
    assert guest.voices.featured() == []
    assert sleeps == [3.0]


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda vs: vs.get(""), "voice_id"),
        (lambda vs: vs.get(42), "voice_id"),
        (lambda vs: vs.get("."), "voice_id"),
        (lambda vs: vs.get(".."), "voice_id"),
        (lambda vs: vs.search(""), "query"),
        (lambda vs: vs.search(None), "query"),
        (lambda vs: vs.for_character(""), "character_name"),
        (lambda vs: vs.delete(""), "voice_id"),
        (lambda vs: vs.delete(".."), "voice_id"),
        (lambda vs: vs.upload(AUDIO, "ab"), "name"),
        (lambda vs: vs.upload(AUDIO, "x" * 21), "name"),
        (lambda vs: vs.upload(AUDIO, "Calm", description="d" * 121), "description"),
        (lambda vs: vs.upload(AUDIO, "Calm", visibility="unlisted"), "visibility"),
        (lambda vs: vs.upload(AUDIO, "Calm", gender="robot"), "gender"),
        (lambda vs: vs.upload(AUDIO, "Calm", preview_text=""), "preview_text"),
        (lambda vs: vs.upload(b"", "Calm"), "audio"),
        (lambda vs: vs.upload(io.BytesIO(b""), "Calm"), "audio"),
        (lambda vs: vs.upload("https://example.com/a.mp3", "Calm"), "audio"),
        (lambda vs: vs.upload("/no/such/file.mp3", "Calm"), "audio"),
        (lambda vs: vs.upload(io.StringIO("text"), "Calm"), "audio"),
        (lambda vs: vs.upload(12345, "Calm"), "audio"),
        (lambda vs: vs.update("", name="Calm"), "voice_id"),
        (lambda vs: vs.update("v-1", name="ab"), "name"),
        (lambda vs: vs.update("v-1", description="d" * 121), "description"),
        (lambda vs: vs.update("v-1", visibility="secret"), "visibility"),
    ],
)
def test_validation_before_sending(session, rsps, call, field):
    with pytest.raises(errors.ValidationError) as info:
        call(session.voices)
    assert info.value.field == field
    assert len(rsps.calls) == 0


def test_upload_accepts_name_bounds(session, rsps):
    rsps.post(
        BASE, json={"voice": voice_json("v1", name="abc", description="", visibility="private")}
    )
    assert session.voices.upload(AUDIO, "abc").name == "abc"
    rsps.post(
        BASE,
        json={
            "voice": voice_json("v2", name="x" * 20, description="d" * 120, visibility="private")
        },
    )
    assert session.voices.upload(AUDIO, "x" * 20, description="d" * 120).voice_id == "v2"


@pytest.mark.parametrize(
    ("voice_id", "path"),
    [("../x?y=1#z", "..%2Fx%3Fy%3D1%23z"), ("a/b", "a%2Fb")],
)
def test_voice_ids_are_percent_encoded(session, rsps, voice_id, path):
    rsps.get(f"{BASE}{path}", json={"voice": voice_json(voice_id)})
    rsps.delete(f"{BASE}{path}", json={})
    assert session.voices.get(voice_id).voice_id == voice_id
    session.voices.delete(voice_id)
    for c in rsps.calls:
        assert c.request.url == f"{BASE}{path}"
