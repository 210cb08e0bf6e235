"""``session.chats``: the REST methods (the websocket ones are tested elsewhere)."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional
from urllib.parse import unquote, urlsplit

import pytest
import responses
from hypothesis import given, settings
from hypothesis import strategies as st
from responses import matchers
from support import NEO, PLUS, TOKEN, sent_json

import caiclient
from caiclient import errors
from caiclient.transport.http import RetryPolicy

CHAT_ID = "2f0c-chat"
CHAR_ID = "char123"


# ------------------------------------------------------------------ helpers


def turn_json(
    turn_id: str,
    text: str = "hello",
    *,
    chat_id: str = CHAT_ID,
    pinned: bool = False,
    human: bool = False,
) -> Dict[str, Any]:
    return {
        "turn_key": {"chat_id": chat_id, "turn_id": turn_id},
        "create_time": "2025-01-01T12:00:01.000000Z",
        "last_update_time": "2025-01-01T12:00:03.000000Z",
        "state": "STATE_OK",
        "author": {"author_id": "123" if human else CHAR_ID, "name": "MyBot", "is_human": human},
        "candidates": [
            {"candidate_id": f"{turn_id}-a", "raw_content": "other", "is_final": True},
            {
                "candidate_id": f"{turn_id}-b",
                "raw_content": text,
                "is_final": True,
                "create_time": "2025-01-01T12:00:02Z",
            },
        ],
        "primary_candidate_id": f"{turn_id}-b",
        "is_pinned": pinned,
    }


def chat_json(chat_id: str = CHAT_ID, **extra: Any) -> Dict[str, Any]:
    body = {
        "chat_id": chat_id,
        "create_time": "2025-01-01T12:00:00.123456Z",
        "creator_id": "123456789",
        "character_id": CHAR_ID,
        "state": "STATE_ACTIVE",
        "type": "TYPE_ONE_ON_ONE",
        "visibility": "VISIBILITY_PRIVATE",
        "name": "My chat",
        "character_name": "MyBot",
        "character_avatar_uri": "uploaded/2025/1/1/abc.webp",
        "preview_turns": [turn_json("t1", "Hi there, friend.")],
        "some_new_field": {"x": 1},
    }
    body.update(extra)
    return body


def assert_api_headers(call: Any, *, json_type: bool = True) -> None:
    headers = call.request.headers
    assert headers["authorization"] == f"Token {TOKEN}"
    if json_type:
        assert headers["Content-Type"] == "application/json"


def aware(dt: Optional[datetime]) -> datetime:
    assert dt is not None
    assert dt.tzinfo is not None and dt.utcoffset() is not None
    return dt


def no_query() -> Any:
    return matchers.query_string_matcher("")


# ------------------------------------------------------------------ reads


def test_list_sends_character_and_preview_count(session, rsps):
    rsps.get(
        f"{NEO}/chats/",
        match=[
            matchers.query_param_matcher(
                {"character_ids": CHAR_ID, "num_preview_turns": "5"}, strict_match=True
            )
        ],
        json={"chats": [chat_json("c1"), chat_json("c2", state="STATE_ARCHIVED")]},
    )
    chats = session.chats.list(CHAR_ID, preview_turns=5)
    assert [c.chat_id for c in chats] == ["c1", "c2"]
    assert_api_headers(rsps.calls[0])
    first = chats[0]
    assert first.character_id == CHAR_ID
    assert first.name == "My chat"
    assert first.chat_type == "TYPE_ONE_ON_ONE"
    assert aware(first.create_time) == datetime(2025, 1, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    assert first.preview_turns[0].text == "Hi there, friend."
    assert first.character_avatar is not None
    assert first.character_avatar.file_name == "uploaded/2025/1/1/abc.webp"
    assert first.raw["some_new_field"] == {"x": 1}
    assert not first.is_archived and chats[1].is_archived


def test_list_default_preview_turns_is_2(session, rsps):
    rsps.get(
        f"{NEO}/chats/",
        match=[matchers.query_param_matcher({"character_ids": CHAR_ID, "num_preview_turns": "2"})],
        json={"chats": []},
    )
    assert session.chats.list(CHAR_ID) == []


def test_get_parses_chat_and_defaults(session, rsps):
    rsps.get(
        f"{NEO}/chat/{CHAT_ID}/",
        json={"chat": {"chat_id": CHAT_ID, "name": None, "preview_turns": None}},
    )
    chat = session.chats.get(CHAT_ID)
    assert_api_headers(rsps.calls[0])
    assert chat.chat_id == CHAT_ID
    assert chat.name is None
    assert chat.preview_turns == []
    assert chat.create_time is None
    assert chat.character_avatar is None
    assert chat.raw == {"chat_id": CHAT_ID, "name": None, "preview_turns": None}


def test_get_empty_chat_is_not_found(session, rsps):
    rsps.get(f"{NEO}/chat/{CHAT_ID}/", json={"chat": None})
    with pytest.raises(errors.NotFound) as info:
        session.chats.get(CHAT_ID)
    assert info.value.path == f"/chat/{CHAT_ID}/"


@pytest.mark.parametrize(
    ("character_id", "url"),
    [(None, f"{NEO}/chats/recent/"), (CHAR_ID, f"{NEO}/chats/recent/{CHAR_ID}")],
)
def test_recent(session, rsps, character_id, url):
    rsps.get(url, match=[no_query()], json={"chats": [chat_json("c1"), chat_json("c2")]})
    chats = session.chats.recent(character_id)
    assert [c.chat_id for c in chats] == ["c1", "c2"]
    assert chats[0].character_name == "MyBot"
    assert_api_headers(rsps.calls[0])


@pytest.mark.parametrize(("body", "expected"), [({"chats": [chat_json("c9")]}, "c9"), ({}, None)])
def test_latest(session, rsps, body, expected):
    rsps.get(f"{NEO}/chats/recent/{CHAR_ID}", json=body)
    latest = session.chats.latest(CHAR_ID)
    assert (latest.chat_id if latest else None) == expected


def test_histories(session, rsps):
    rsps.post(
        f"{PLUS}/chat/character/histories_v2/",
        match=[matchers.json_params_matcher({"external_id": CHAR_ID, "number": 7})],
        json={
            "histories": [
                {
                    "external_id": "hist123",
                    "created": "2024-05-01T10:00:00.000000Z",
                    "last_interaction": "2024-05-02T10:00:00.000000Z",
                    "msgs": [
                        {
                            "uuid": "u1",
                            "id": 987654,
                            "text": "Hello",
                            "is_alternative": False,
                            "image_rel_path": "",
                            "src": {"is_human": False, "name": "MyBot"},
                            "tgt": {"is_human": True, "name": "alice"},
                        }
                    ],
                },
                {"external_id": "hist2", "msgs": None},
            ]
        },
    )
    hists = session.chats.histories(CHAR_ID, amount=7)
    assert_api_headers(rsps.calls[0])
    assert [h.history_id for h in hists] == ["hist123", "hist2"]
    assert aware(hists[0].create_time).day == 1
    assert aware(hists[0].last_interaction).day == 2
    msg = hists[0].messages[0]
    assert (msg.uuid, msg.id, msg.text) == ("u1", 987654, "Hello")
    assert msg.author_is_human is False
    assert hists[1].messages == []


def test_histories_default_amount_is_50(session, rsps):
    rsps.post(
        f"{PLUS}/chat/character/histories_v2/",
        match=[matchers.json_params_matcher({"external_id": CHAR_ID, "number": 50})],
        json={"histories": []},
    )
    assert session.chats.histories(CHAR_ID) == []


# ------------------------------------------------------------------ pages


def test_page_first_page_has_no_query(session, rsps):
    rsps.get(
        f"{NEO}/turns/{CHAT_ID}/",
        match=[no_query()],
        json={"turns": [turn_json("t2", "newest"), turn_json("t1")], "meta": {"next_token": "N1"}},
    )
    page = session.chats.page(CHAT_ID)
    assert_api_headers(rsps.calls[0])
    assert [t.turn_id for t in page.turns] == ["t2", "t1"]
    turn = page.turns[0]
    assert turn.text == "newest"  # the primary candidate, not the first one
    assert turn.chat_id == CHAT_ID
    assert turn.author_name == "MyBot" and turn.author_is_human is False
    assert aware(turn.create_time) == datetime(2025, 1, 1, 12, 0, 1, tzinfo=timezone.utc)
    assert aware(turn.primary_candidate.create_time).second == 2
    assert turn.candidates[0].text == "other" and turn.is_final
    assert turn.raw["is_pinned"] is False
    assert page.next_token == "N1"


def test_page_next_token_is_quoted(session, rsps):
    token = "a/b+c=d&e f?#"
    rsps.get(
        f"{NEO}/turns/{CHAT_ID}/",
        match=[matchers.query_param_matcher({"next_token": token}, strict_match=True)],
        json={"turns": [], "meta": {"next_token": None}},
    )
    page = session.chats.page(CHAT_ID, token)
    url = rsps.calls[0].request.url
    # The raw query keeps the token in one parameter: '+', '&', '#' are escaped.
    assert "%2B" in url and "%26" in url and "%23" in url
    assert page.turns == [] and page.next_token is None


@pytest.mark.parametrize("meta", [{"next_token": ""}, {}, None])
def test_page_missing_or_empty_token_is_none(session, rsps, meta):
    body: Dict[str, Any] = {"turns": [turn_json("t1")]}
    if meta is not None:
        body["meta"] = meta
    rsps.get(f"{NEO}/turns/{CHAT_ID}/", json=body)
    assert session.chats.page(CHAT_ID).next_token is None


def test_page_pinned_only_filters_and_sends_flag(session, rsps):
    rsps.get(
        f"{NEO}/turns/{CHAT_ID}/",
        match=[matchers.query_param_matcher({"pinned_only": "true"}, strict_match=True)],
        json={
            "turns": [turn_json("t3", pinned=True), turn_json("t2"), turn_json("t1", pinned=True)],
            "meta": {"next_token": "X"},
        },
    )
    page = session.chats.page(CHAT_ID, pinned_only=True)
    assert [t.turn_id for t in page.turns] == ["t3", "t1"]
    assert all(t.is_pinned for t in page.turns)
    assert page.next_token == "X"


def _register_pages(rsps: responses.RequestsMock, tokens: List[Optional[str]]) -> None:
    """Page i (0-based) is requested with tokens[i-1] and answers with tokens[i]."""
    sent: Optional[str] = None
    for i, nxt in enumerate(tokens):
        match = (
            [no_query()]
            if sent is None
            else [matchers.query_param_matcher({"next_token": sent}, strict_match=True)]
        )
        rsps.get(
            f"{NEO}/turns/{CHAT_ID}/",
            match=match,
            json={
                "turns": [turn_json(f"p{i}-a", f"page {i} a"), turn_json(f"p{i}-b")],
                "meta": {"next_token": nxt},
            },
        )
        sent = nxt


@pytest.mark.parametrize("last", [None, ""])
def test_turns_is_lazy_and_follows_next_token(session, rsps, last):
    _register_pages(rsps, ["T1", "T2", last])
    it = session.chats.turns(CHAT_ID)
    assert len(rsps.calls) == 0  # nothing is fetched before iterating
    first = next(it)
    assert first.turn_id == "p0-a" and first.text == "page 0 a"
    assert len(rsps.calls) == 1  # only the first page so far
    assert next(it).turn_id == "p0-b"
    assert len(rsps.calls) == 1
    assert next(it).turn_id == "p1-a"
    assert len(rsps.calls) == 2
    rest = list(it)
    assert [t.turn_id for t in rest] == ["p1-b", "p2-a", "p2-b"]
    assert len(rsps.calls) == 3
    assert all(c.request.headers["authorization"] == f"Token {TOKEN}" for c in rsps.calls)


@pytest.mark.parametrize(
    "end", [{}, {"turns": []}, {"turns": [], "meta": {"next_token": "T9"}}, {"meta": {}}]
)
def test_turns_stops_on_an_empty_page_after_a_token_on_the_last_page(session, rsps, end):
    """The service gives a token on every page with turns; the end is a page with none."""
    rsps.get(
        f"{NEO}/turns/{CHAT_ID}/",
        match=[no_query()],
        json={"turns": [turn_json("a")], "meta": {"next_token": "T1"}},
    )
    rsps.get(
        f"{NEO}/turns/{CHAT_ID}/",
        match=[matchers.query_param_matcher({"next_token": "T1"}, strict_match=True)],
        json={"turns": [turn_json("b")], "meta": {"next_token": "T2"}},
    )
    rsps.get(
        f"{NEO}/turns/{CHAT_ID}/",
        match=[matchers.query_param_matcher({"next_token": "T2"}, strict_match=True)],
        json=end,
    )
    got = [t.turn_id for t in itertools.islice(session.chats.turns(CHAT_ID), 10)]
    assert got == ["a", "b"] and len(rsps.calls) == 3


def test_turns_stops_on_repeated_token(session, rsps):
    rsps.get(
        f"{NEO}/turns/{CHAT_ID}/",
        match=[no_query()],
        json={"turns": [turn_json("a")], "meta": {"next_token": "SAME"}},
    )
    rsps.get(
        f"{NEO}/turns/{CHAT_ID}/",
        match=[matchers.query_param_matcher({"next_token": "SAME"})],
        json={"turns": [turn_json("b")], "meta": {"next_token": "SAME"}},
    )
    # islice: a client looping on the repeated token fails here instead of hanging.
    got = [t.turn_id for t in itertools.islice(session.chats.turns(CHAT_ID), 10)]
    assert got == ["a", "b"]
    assert len(rsps.calls) == 2


def test_pinned_collects_pinned_turns_of_every_page(session, rsps):
    rsps.get(
        f"{NEO}/turns/{CHAT_ID}/",
        match=[matchers.query_param_matcher({"pinned_only": "true"}, strict_match=True)],
        json={"turns": [turn_json("a", pinned=True), turn_json("b")], "meta": {"next_token": "K"}},
    )
    rsps.get(
        f"{NEO}/turns/{CHAT_ID}/",
        match=[
            matchers.query_param_matcher(
                {"pinned_only": "true", "next_token": "K"}, strict_match=True
            )
        ],
        json={"turns": [turn_json("c"), turn_json("d", pinned=True)], "meta": {}},
    )
    assert [t.turn_id for t in session.chats.pinned(CHAT_ID)] == ["a", "d"]


# ------------------------------------------------------------------ changes


def test_rename(session, rsps):
    rsps.patch(
        f"{NEO}/chat/{CHAT_ID}/update_name",
        match=[matchers.json_params_matcher({"name": "New name"})],
        json={},
    )
    assert session.chats.rename(CHAT_ID, "New name") is None
    assert_api_headers(rsps.calls[0])


@pytest.mark.parametrize("action", ["archive", "unarchive"])
def test_archive_unarchive_send_empty_body(session, rsps, action):
    rsps.patch(f"{NEO}/chat/{CHAT_ID}/{action}", body="")
    assert getattr(session.chats, action)(CHAT_ID) is None
    req = rsps.calls[0].request
    assert not req.body
    assert req.headers["Content-Length"] == "0"
    assert_api_headers(rsps.calls[0])


def test_copy_returns_new_chat_id(session, rsps):
    rsps.post(
        f"{NEO}/chat/{CHAT_ID}/copy",
        match=[matchers.json_params_matcher({"end_turn_id": "t5"})],
        json={"new_chat_id": "new-uuid"},
    )
    assert session.chats.copy(CHAT_ID, "t5") == "new-uuid"
    assert_api_headers(rsps.calls[0])


def test_copy_without_new_id_is_parse_error(session, rsps):
    rsps.post(f"{NEO}/chat/{CHAT_ID}/copy", json={})
    with pytest.raises(errors.ParseError):
        session.chats.copy(CHAT_ID, "t5")


@pytest.mark.parametrize("ids", [["t1", "t2"], ("t1",)])
def test_delete_turns(session, rsps, ids):
    rsps.post(
        f"{NEO}/turns/{CHAT_ID}/remove",
        match=[matchers.json_params_matcher({"turn_ids": list(ids)})],
        json={},
    )
    assert session.chats.delete_turns(CHAT_ID, ids) is None
    assert_api_headers(rsps.calls[0])


def test_available_models(session, rsps):
    body = {"available_models": ["MODEL_TYPE_FAST", "MODEL_TYPE_SMART"], "default_model_type": "X"}
    rsps.get(f"{NEO}/get-available-models", json=body)
    assert session.chats.available_models() == body
    assert_api_headers(rsps.calls[0])


def test_set_model(session, rsps):
    rsps.patch(
        f"{NEO}/chat/{CHAT_ID}/preferred-model-type",
        match=[matchers.json_params_matcher({"preferred_model_type": "MODEL_TYPE_SMART"})],
        json={},
    )
    session.chats.set_model(CHAT_ID, "MODEL_TYPE_SMART")
    assert_api_headers(rsps.calls[0])


@pytest.mark.parametrize(
    ("rating", "annotation"),
    [
        (0, {"annotation_type": "star", "annotation_value": 0}),
        (4, {"annotation_type": "star", "annotation_value": 4}),
        (
            "funny",
            {"annotation_type": "funny", "annotation_raw_content": "funny", "annotation_value": 1},
        ),
        (
            "Bad_Memory",
            {
                "annotation_type": "bad_memory",
                "annotation_raw_content": "bad_memory",
                "annotation_value": 1,
            },
        ),
    ],
)
def test_rate(session, rsps, rating, annotation):
    expected = {
        "annotation": annotation,
        "candidate_id": "cand1",
        "turn_key": {"chat_id": CHAT_ID, "turn_id": "t1"},
    }
    rsps.post(
        f"{NEO}/annotation/create",
        match=[matchers.json_params_matcher(expected)],
        json={"annotation": {"annotation_id": "ann1", **annotation}},
    )
    ann = session.chats.rate(CHAT_ID, "t1", "cand1", rating)
    assert_api_headers(rsps.calls[0])
    assert ann.annotation_id == "ann1"
    assert ann.annotation_type == annotation["annotation_type"]
    assert ann.annotation_value == annotation["annotation_value"]


def test_unrate(session, rsps):
    rsps.post(
        f"{NEO}/annotation/remove",
        match=[
            matchers.json_params_matcher(
                {
                    "annotation_id": "ann1",
                    "candidate_id": "cand1",
                    "turn_key": {"chat_id": CHAT_ID, "turn_id": "t1"},
                }
            )
        ],
        json={},
    )
    session.chats.unrate(CHAT_ID, "t1", "cand1", "ann1")
    assert_api_headers(rsps.calls[0])


def _migration(status: str) -> Dict[str, Any]:
    return {
        "migration": {
            "migrationId": "m1",
            "status": status,
            "createTime": "2025-01-01T12:00:00Z",
            "lastUpdateTime": "2025-01-01T12:00:05Z",
            "properties": {"chatId": "new-chat"},
        }
    }


def test_migrate_posts_true_then_polls_until_done(session, rsps):
    url = f"{NEO}/migration/hist123"
    rsps.post(url, body="")
    rsps.get(url, json=_migration("STATUS_IN_PROGRESS"))
    rsps.get(url, json=_migration("STATUS_IN_PROGRESS"))
    rsps.get(url, json=_migration("STATUS_DONE"))
    mig = session.chats.migrate("hist123", poll_interval=0.0, timeout=5)
    methods = [c.request.method for c in rsps.calls]
    assert methods == ["POST", "GET", "GET", "GET"]
    post = rsps.calls[0].request
    assert post.body in (b"true", "true")
    assert sent_json(rsps.calls[0]) is True
    assert_api_headers(rsps.calls[0])
    assert mig.status == "STATUS_DONE"
    assert mig.migration_id == "m1"
    assert mig.properties == {"chatId": "new-chat"}
    assert aware(mig.last_update_time).second == 5


def test_migrate_without_wait_returns_first_state(session, rsps):
    url = f"{NEO}/migration/hist123"
    rsps.post(url, json={})
    rsps.get(url, json=_migration("STATUS_IN_PROGRESS"))
    mig = session.chats.migrate("hist123", wait=False)
    assert mig.status == "STATUS_IN_PROGRESS"
    assert len(rsps.calls) == 2


def test_migrate_failed(session, rsps):
    url = f"{NEO}/migration/hist123"
    rsps.post(url, json={})
    rsps.get(url, json=_migration("STATUS_FAILED"))
    with pytest.raises(errors.ActionFailed):
        session.chats.migrate("hist123", poll_interval=0.0)


def test_migrate_times_out(session, rsps):
    url = f"{NEO}/migration/hist123"
    rsps.post(url, json={})
    rsps.get(url, json=_migration("STATUS_IN_PROGRESS"))
    with pytest.raises(errors.Timeout):
        session.chats.migrate("hist123", poll_interval=0.0, timeout=0.0)


# ------------------------------------------------------------------ errors


def _neo_error(comment: str) -> Dict[str, str]:
    return {"command": "neo_error", "comment": comment}


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequest),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDenied),
        (404, errors.NotFound),
        (409, errors.Conflict),
    ],
)
def test_neo_error_maps_status(session, rsps, status, cls):
    rsps.get(
        f"{NEO}/chat/abc/",
        status=status,
        json=_neo_error("no such chat"),
        headers={"cf-ray": "8f1a2b3c4d-AMS"},
    )
    with pytest.raises(cls) as info:
        session.chats.get("abc")
    err = info.value
    assert isinstance(err, errors.APIError)
    assert err.message == "no such chat"
    assert err.status == status
    assert err.method == "GET"
    assert err.path == "/chat/abc/"
    assert err.request_id == "8f1a2b3c4d-AMS"
    assert err.body == _neo_error("no such chat")
    hint = f"; {errors.DOCTOR_HINT}" if isinstance(err, errors.AuthenticationError) else ""
    assert str(err) == f"[{status} GET /chat/abc/] no such chat (request_id=8f1a2b3c4d-AMS){hint}"
    assert TOKEN not in str(err) and TOKEN not in repr(err)
    assert len(rsps.calls) == 1  # 4xx (but 429) is not retried


def test_error_path_has_no_query_and_no_host(session, rsps):
    rsps.get(f"{NEO}/chats/", status=404, json=_neo_error("nope"))
    with pytest.raises(errors.NotFound) as info:
        session.chats.list(CHAR_ID)
    assert info.value.path == "/chats/"
    assert "character_ids" not in str(info.value)
    assert "neo.character.ai" not in str(info.value)


def test_server_error_after_retries(session, rsps, sleeps):
    rsps.get(f"{NEO}/chat/abc/", status=500, json=_neo_error("boom"))
    with pytest.raises(errors.ServerError) as info:
        session.chats.get("abc")
    assert info.value.status == 500 and info.value.message == "boom"
    assert len(rsps.calls) == 3  # max_retries=2
    assert len(sleeps) == 2


def test_rate_limited_with_long_retry_after_is_raised_at_once(session, rsps, sleeps):
    rsps.get(
        f"{NEO}/chat/abc/",
        status=429,
        json=_neo_error("slow down"),
        headers={"Retry-After": "120"},
    )
    with pytest.raises(errors.RateLimited) as info:
        session.chats.get("abc")
    assert info.value.retry_after == 120.0
    assert info.value.message == "slow down"
    assert sleeps == []


def test_ok_status_with_non_json_body_is_parse_error(session, rsps):
    rsps.get(f"{NEO}/chat/abc/", body="definitely not json", content_type="text/plain")
    with pytest.raises(errors.ParseError) as info:
        session.chats.get("abc")
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)


def test_cloudflare_challenge_is_blocked_error(session, rsps):
    page = "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body></body></html>"
    rsps.get(
        f"{NEO}/chat/abc/",
        status=403,
        body=page,
        content_type="text/html",
        headers={"cf-ray": "abc-CDG"},
    )
    with pytest.raises(errors.BlockedError) as info:
        session.chats.get("abc")
    err = info.value
    assert err.kind == "challenge"
    assert err.status == 403
    assert err.request_id == "abc-CDG"
    assert TOKEN not in str(err) and TOKEN not in repr(err)


# ------------------------------------------------------------------ retries


def test_get_retried_after_503(session, rsps, sleeps):
    rsps.get(f"{NEO}/chat/abc/", status=503, json=_neo_error("busy"))
    rsps.get(f"{NEO}/chat/abc/", json={"chat": chat_json("abc")})
    assert session.chats.get("abc").chat_id == "abc"
    assert len(rsps.calls) == 2
    assert len(sleeps) == 1 and sleeps[0] > 0


def test_histories_post_is_retried_as_a_read(session, rsps, sleeps):
    rsps.post(f"{PLUS}/chat/character/histories_v2/", status=503, json={})
    rsps.post(f"{PLUS}/chat/character/histories_v2/", json={"histories": []})
    assert session.chats.histories(CHAR_ID) == []
    assert len(sleeps) == 1


def test_post_is_not_retried_after_503(session, rsps, sleeps):
    rsps.post(f"{NEO}/chat/abc/copy", status=503, json=_neo_error("busy"))
    with pytest.raises(errors.ServerError) as info:
        session.chats.copy("abc", "t1")
    assert info.value.method == "POST"
    assert len(rsps.calls) == 1
    assert sleeps == []


def test_429_waits_retry_after(session, rsps, sleeps):
    rsps.get(f"{NEO}/chats/recent/", status=429, json={}, headers={"Retry-After": "3"})
    rsps.get(f"{NEO}/chats/recent/", json={"chats": []})
    assert session.chats.recent() == []
    assert sleeps == [3.0]


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.get(""), "chat_id"),
        (lambda c: c.get(None), "chat_id"),
        (lambda c: c.get(123), "chat_id"),
        (lambda c: c.get(" abc"), "chat_id"),
        (lambda c: c.get("a\nb"), "chat_id"),
        (lambda c: c.get("."), "chat_id"),
        (lambda c: c.get(".."), "chat_id"),
        (lambda c: c.page(".."), "chat_id"),
        (lambda c: c.page("abc", ""), "next_token"),
        (lambda c: c.list(""), "character_id"),
        (lambda c: c.list(CHAR_ID, preview_turns=-1), "preview_turns"),
        (lambda c: c.list(CHAR_ID, preview_turns=51), "preview_turns"),
        (lambda c: c.list(CHAR_ID, preview_turns=True), "preview_turns"),
        (lambda c: c.recent(""), "character_id"),
        (lambda c: c.recent(".."), "character_id"),
        (lambda c: c.histories(CHAR_ID, amount=0), "amount"),
        (lambda c: c.turns(""), "chat_id"),
        (lambda c: c.rename("abc", ""), "name"),
        (lambda c: c.rename("abc", "x" * 201), "name"),
        (lambda c: c.archive(""), "chat_id"),
        (lambda c: c.unarchive(".."), "chat_id"),
        (lambda c: c.copy("abc", ""), "end_turn_id"),
        (lambda c: c.delete_turns("abc", "t1"), "turn_ids"),
        (lambda c: c.delete_turns("abc", []), "turn_ids"),
        (lambda c: c.delete_turns("abc", ["t1", ""]), "turn_ids"),
        (lambda c: c.set_model("abc", ""), "model_type"),
        (lambda c: c.rate("abc", "t1", "c1", 5), "rating"),
        (lambda c: c.rate("abc", "t1", "c1", -1), "rating"),
        (lambda c: c.rate("abc", "t1", "c1", True), "rating"),
        (lambda c: c.rate("abc", "t1", "c1", "great"), "rating"),
        (lambda c: c.rate("abc", "", "c1", 3), "turn_id"),
        (lambda c: c.rate("abc", "t1", "", 3), "candidate_id"),
        (lambda c: c.unrate("abc", "t1", "c1", ""), "annotation_id"),
        (lambda c: c.migrate(""), "history_id"),
        (lambda c: c.migrate(".."), "history_id"),
    ],
)
def test_validation_before_sending(session, rsps, call, field):
    with pytest.raises(errors.ValidationError) as info:
        call(session.chats)
    assert info.value.field == field
    assert isinstance(info.value, ValueError)
    assert len(rsps.calls) == 0


@pytest.mark.parametrize(
    ("call", "path"),
    [
        (lambda c: c.get("../x?y=1#z"), "/chat/..%2Fx%3Fy%3D1%23z/"),
        (lambda c: c.get("a/b"), "/chat/a%2Fb/"),
        (lambda c: c.page("a/b"), "/turns/a%2Fb/"),
        (lambda c: c.recent("../x?y=1#z"), "/chats/recent/..%2Fx%3Fy%3D1%23z"),
        (lambda c: c.rename("a/b", "n"), "/chat/a%2Fb/update_name"),
        (lambda c: c.archive("a/b"), "/chat/a%2Fb/archive"),
        (lambda c: c.delete_turns("a/../b", ["t"]), "/turns/a%2F..%2Fb/remove"),
        (lambda c: c.migrate("a/b", wait=False), "/migration/a%2Fb"),
    ],
)
def test_ids_are_percent_encoded_in_paths(session, rsps, call, path):
    body = {"chat": chat_json(), "chats": [], "turns": [], "migration": {"status": "DONE"}}
    for method in ("GET", "POST", "PATCH"):
        rsps.add(method, f"{NEO}{path}", json=body)
    rsps.assert_all_requests_are_fired = False
    call(session.chats)
    assert rsps.calls
    for c in rsps.calls:
        url = c.request.url
        assert url.startswith(f"{NEO}{path}")
        assert "?" not in url and "#" not in url


@settings(max_examples=150, deadline=None)
@given(
    st.text(min_size=1, max_size=40)
    .filter(lambda s: s == s.strip() and s not in (".", ".."))
    .filter(lambda s: not any(ord(ch) < 32 or ord(ch) == 127 for ch in s))
)
def test_any_valid_id_stays_one_path_segment(chat_id):
    s = caiclient.Session(token=TOKEN, retry=RetryPolicy(max_retries=0))
    try:
        with responses.RequestsMock() as mock:
            mock.get(re.compile(re.escape(NEO) + r"/chat/.*"), json={"chat": chat_json()})
            s.chats.get(chat_id)
            parts = urlsplit(mock.calls[0].request.url)
    finally:
        s.close()
    assert parts.query == "" and parts.fragment == ""
    assert parts.path.startswith("/chat/") and parts.path.endswith("/")
    segment = parts.path[len("/chat/") : -1]
    assert "/" not in segment
    assert unquote(segment) == chat_id


# ------------------------------------------------------------------ guests


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.list(CHAR_ID),
        lambda c: c.get(CHAT_ID),
        lambda c: c.recent(),
        lambda c: c.recent(CHAR_ID),
        lambda c: c.latest(CHAR_ID),
        lambda c: c.histories(CHAR_ID),
        lambda c: c.page(CHAT_ID),
        lambda c: c.turns(CHAT_ID),
        lambda c: c.pinned(CHAT_ID),
        lambda c: c.rename(CHAT_ID, "x"),
        lambda c: c.archive(CHAT_ID),
        lambda c: c.unarchive(CHAT_ID),
        lambda c: c.copy(CHAT_ID, "t1"),
        lambda c: c.delete_turns(CHAT_ID, ["t1"]),
        lambda c: c.available_models(),
        lambda c: c.set_model(CHAT_ID, "MODEL_TYPE_SMART"),
        lambda c: c.rate(CHAT_ID, "t1", "c1", 3),
        lambda c: c.unrate(CHAT_ID, "t1", "c1", "a1"),
        lambda c: c.migrate("hist1"),
    ],
)
def test_guest_needs_account(guest, rsps, call):
    with pytest.raises(errors.AuthRequiredError):
        call(guest.chats)
    assert len(rsps.calls) == 0


def test_hide_recent(session, rsps) -> None:
    rsps.put(f"{NEO}/chats/recent/c%2F1/hide", json={})
    assert session.chats.hide_recent("c/1") is None
    assert rsps.calls[0].request.headers["authorization"] == f"Token {TOKEN}"
