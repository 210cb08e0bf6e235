"""``session.personas``: A2/A3/A4 bodies, the A5 settings round-trip, validation, guests."""

from __future__ import annotations

from typing import Any, Callable, Dict

import pytest
from responses import matchers
from support import AUTH, PLUS, TOKEN, UUID_ID, account_body, sent_json

from caiclient import errors
from caiclient.models import Persona, Settings
from caiclient.resources.personas import Personas

PERSONA_URL = f"{PLUS}/chat/persona/"
UPDATE_URL = f"{PLUS}/chat/persona/update/"
CREATE_URL = f"{PLUS}/chat/persona/create/"
SETTINGS_URL = f"{PLUS}/chat/user/settings/"
UPDATE_SETTINGS_URL = f"{PLUS}/chat/user/update_settings/"

PERSONA = {
    "external_id": "pers123",
    "participant__name": "Me",
    "name": "Me",
    "title": "Me",
    "definition": "I am a tester",
    "greeting": "Hello! This is my persona",
    "description": "This is my persona.",
    "avatar_file_name": "uploaded/p.webp",
    "visibility": "PRIVATE",
    "user__username": "alice",
    "identifier": "id:x",
    "voice_id": "",
    "unknown_new_key": [1, 2],
}


def assert_api_headers(call: Any, *, json_body: bool = False) -> None:
    headers = call.request.headers
    assert headers["authorization"] == f"Token {TOKEN}"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("Mozilla/5.0")
    if not json_body:
        assert not call.request.body


def register_get(rsps, persona: Any = PERSONA, pid: str = "pers123") -> None:
    rsps.get(
        PERSONA_URL,
        json={"persona": persona},
        match=[matchers.query_param_matcher({"id": pid}), matchers.header_matcher(AUTH)],
    )


# ------------------------------------------------------------------ list / get


def test_list(session, rsps):
    rsps.get(
        f"{PLUS}/chat/personas/",
        json={"personas": [PERSONA, {"external_id": "p2", "name": "Only name"}]},
        match=[
            matchers.query_param_matcher({"force_refresh": "1"}),
            matchers.header_matcher(AUTH),
        ],
    )
    personas = session.personas.list()
    assert [type(p) for p in personas] == [Persona, Persona]
    assert [p.persona_id for p in personas] == ["pers123", "p2"]
    assert personas[1].name == "Only name"  # falls back to name
    assert personas[1].definition == ""
    assert personas[1].avatar is None
    assert personas[1].author_username is None
    assert_api_headers(rsps.calls[0])


def test_list_missing_key_is_empty(session, rsps):
    rsps.get(f"{PLUS}/chat/personas/", json={})
    assert session.personas.list() == []


def test_get(session, rsps):
    register_get(rsps)
    p = session.personas.get("pers123")
    assert isinstance(p, Persona)
    assert p.persona_id == "pers123"
    assert p.name == "Me"
    assert p.definition == "I am a tester"
    assert p.avatar is not None and p.avatar.file_name == "uploaded/p.webp"
    assert p.author_username == "alice"
    assert p.raw["unknown_new_key"] == [1, 2]
    assert_api_headers(rsps.calls[0])


def test_get_id_is_query_encoded(session, rsps):
    register_get(rsps, dict(PERSONA, external_id="a&b=c#d"), pid="a&b=c#d")
    assert session.personas.get("a&b=c#d").persona_id == "a&b=c#d"
    assert "a%26b%3Dc%23d" in rsps.calls[0].request.url


@pytest.mark.parametrize("answer", [{"persona": None}, {"persona": {}}, {}, {"persona": ""}])
def test_get_falsy_persona_is_not_found(session, rsps, answer):
    rsps.get(PERSONA_URL, json=answer)
    with pytest.raises(errors.NotFound):
        session.personas.get("nope")


@pytest.mark.parametrize("bad", ["", " pers", 5, None])
def test_get_bad_id(session, rsps, bad):
    with pytest.raises(errors.ValidationError) as ei:
        session.personas.get(bad)
    assert ei.value.field == "persona_id"
    assert len(rsps.calls) == 0


def test_401_is_authentication_error_without_the_token(session, rsps):
    rsps.get(f"{PLUS}/chat/personas/", status=401, json={"error": "bad token"})
    with pytest.raises(errors.AuthenticationError) as ei:
        session.personas.list()
    assert TOKEN not in str(ei.value)
    assert TOKEN not in repr(ei.value)


# ------------------------------------------------------------------ create (A2)

A2_REST = {
    "avatar_file_name": "",
    "avatar_rel_path": "",
    "base_img_prompt": "",
    "categories": [],
    "copyable": False,
    "definition": "",
    "description": "This is my persona.",
    "greeting": "Hello! This is my persona",
    "img_gen_enabled": False,
    "name": "Hero",
    "strip_img_prompt_from_msg": False,
    "title": "Hero",
    "visibility": "PRIVATE",
    "voice_id": "",
}


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"definition": "A brave hero", "avatar_rel_path": "uploaded/h.webp"},
    ],
)
def test_create(session, rsps, kwargs):
    expected = dict(A2_REST, **kwargs)
    rsps.post(
        CREATE_URL,
        json={"status": "OK", "persona": dict(PERSONA, external_id="new1", name="Hero")},
        match=[
            matchers.json_params_matcher(expected, strict_match=False),
            matchers.header_matcher(AUTH),
        ],
    )
    p = session.personas.create("Hero", **kwargs)
    assert isinstance(p, Persona)
    assert p.persona_id == "new1"
    sent = sent_json(rsps.calls[0])
    assert set(sent) == set(expected) | {"identifier"}
    assert UUID_ID.match(sent["identifier"])
    assert_api_headers(rsps.calls[0], json_body=True)


def test_create_identifier_is_fresh_each_time(session, rsps):
    for _ in range(2):
        rsps.post(CREATE_URL, json={"status": "OK", "persona": PERSONA})
    session.personas.create("Hero")
    session.personas.create("Hero")
    ids = {sent_json(c)["identifier"] for c in rsps.calls}
    assert len(ids) == 2


def test_create_not_ok_is_action_failed(session, rsps):
    rsps.post(CREATE_URL, json={"status": "NOT_OK", "error": "too many personas"})
    with pytest.raises(errors.ActionFailed) as ei:
        session.personas.create("Hero")
    assert ei.value.message == "too many personas"
    assert "too many personas" in str(ei.value)


def test_create_ok_without_persona_is_a_typed_error(session, rsps):
    rsps.post(CREATE_URL, json={"status": "OK", "persona": None})
    with pytest.raises(errors.ParseError):
        session.personas.create("Hero")


@pytest.mark.parametrize(
    "args,kwargs,field",
    [
        (("Me",), {}, "name"),
        (("x" * 21,), {}, "name"),
        ((None,), {}, "name"),
        (("Hero", "d" * 751), {}, "definition"),
        (("Hero", None), {}, "definition"),
        (("Hero",), {"avatar_rel_path": 3}, "avatar_rel_path"),
    ],
)
def test_create_validation(session, rsps, args, kwargs, field):
    with pytest.raises(errors.ValidationError) as ei:
        session.personas.create(*args, **kwargs)
    assert isinstance(ei.value, ValueError)
    assert ei.value.field == field
    assert len(rsps.calls) == 0


@pytest.mark.parametrize("name,definition", [("abc", ""), ("n" * 20, "d" * 750)])
def test_create_accepts_limits(session, rsps, name, definition):
    rsps.post(
        CREATE_URL,
        json={"status": "OK", "persona": PERSONA},
        match=[
            matchers.json_params_matcher(
                {"name": name, "title": name, "definition": definition}, strict_match=False
            )
        ],
    )
    session.personas.create(name, definition)


# ------------------------------------------------------------------ update (A3) / delete (A4)

A3_OLD = {
    "avatar_file_name": "uploaded/p.webp",
    "avatar_rel_path": "uploaded/p.webp",
    "copyable": False,
    "default_voice_id": "",
    "definition": "I am a tester",
    "description": "This is my persona.",
    "enabled": False,
    "external_id": "pers123",
    "greeting": "Hello! This is my persona",
    "img_gen_enabled": False,
    "is_persona": True,
    "name": "Me",
    "participant__name": "Me",
    "participant__num_interactions": 0,
    "title": "Me",
    "user__id": "123456789",
    "user__username": "alice",
    "visibility": "PRIVATE",
}


@pytest.mark.parametrize(
    "kwargs,changes",
    [
        ({"definition": "new def"}, {"definition": "new def"}),
        ({"name": "Myself"}, {"name": "Myself", "participant__name": "Myself", "title": "Myself"}),
        (
            {"avatar_rel_path": "uploaded/new.webp"},
            {"avatar_file_name": "uploaded/new.webp", "avatar_rel_path": "uploaded/new.webp"},
        ),
        ({"avatar_rel_path": ""}, {"avatar_file_name": "", "avatar_rel_path": ""}),
        ({}, {}),
    ],
)
def test_update_sends_merged_body(session, rsps, kwargs, changes):
    register_get(rsps)
    rsps.get(f"{PLUS}/chat/user/", json=account_body())
    expected = dict(A3_OLD, **changes)
    rsps.post(
        UPDATE_URL,
        json={"status": "OK", "persona": dict(PERSONA, **{"definition": "changed"})},
        match=[matchers.json_params_matcher(expected), matchers.header_matcher(AUTH)],
    )
    p = session.personas.update("pers123", **kwargs)
    assert isinstance(p, Persona)
    assert p.definition == "changed"
    assert [c.request.method for c in rsps.calls] == ["GET", "GET", "POST"]
    assert_api_headers(rsps.calls[2], json_body=True)


def test_update_old_persona_without_avatar_or_author(session, rsps):
    register_get(rsps, {"external_id": "pers123", "name": "Me"})
    rsps.get(f"{PLUS}/chat/user/", json=account_body(user_id=5))
    rsps.post(UPDATE_URL, json={"status": "OK", "persona": PERSONA})
    session.personas.update("pers123", definition="d")
    sent = sent_json(rsps.calls[2])
    assert sent["avatar_file_name"] == "" and sent["avatar_rel_path"] == ""
    assert sent["user__username"] == ""
    assert sent["user__id"] == "5"
    assert sent["definition"] == "d"
    assert sent["name"] == "Me"


def test_update_unknown_persona_is_not_found(session, rsps):
    rsps.get(PERSONA_URL, json={"persona": None})
    with pytest.raises(errors.NotFound):
        session.personas.update("gone", name="Myself")
    assert len(rsps.calls) == 1


def test_update_not_ok_is_action_failed(session, rsps):
    register_get(rsps)
    rsps.get(f"{PLUS}/chat/user/", json=account_body())
    rsps.post(UPDATE_URL, json={"status": "NOT_OK", "error": "bad name"})
    with pytest.raises(errors.ActionFailed) as ei:
        session.personas.update("pers123", name="Myself")
    assert ei.value.message == "bad name"


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"name": "ab"}, "name"),
        ({"name": "n" * 21}, "name"),
        ({"name": 1}, "name"),
        ({"definition": "d" * 751}, "definition"),
        ({"definition": 1}, "definition"),
        ({"avatar_rel_path": 1}, "avatar_rel_path"),
    ],
)
def test_update_validation_before_sending(session, rsps, kwargs, field):
    with pytest.raises(errors.ValidationError) as ei:
        session.personas.update("pers123", **kwargs)
    assert ei.value.field == field
    assert len(rsps.calls) == 0


def test_update_empty_id_is_refused(session, rsps):
    with pytest.raises(errors.ValidationError) as ei:
        session.personas.update("", name="Myself")
    assert ei.value.field == "persona_id"
    assert len(rsps.calls) == 0


def test_delete_sends_a4_body(session, rsps):
    register_get(rsps)
    rsps.get(f"{PLUS}/chat/user/", json=account_body())
    expected = {
        "archived": True,
        "avatar_file_name": "uploaded/p.webp",
        "copyable": False,
        "default_voice_id": "",
        "definition": "I am a tester",
        "description": "This is my persona.",
        "external_id": "pers123",
        "greeting": "Hello! This is my persona",
        "img_gen_enabled": False,
        "is_persona": True,
        "name": "Me",
        "participant__name": "Me",
        "participant__num_interactions": 0,
        "title": "Me",
        "user__id": "123456789",
        "user__username": "alice",
        "visibility": "PRIVATE",
    }
    rsps.post(
        UPDATE_URL,
        json={"status": "OK", "persona": PERSONA},
        match=[matchers.json_params_matcher(expected), matchers.header_matcher(AUTH)],
    )
    assert session.personas.delete("pers123") is None
    assert_api_headers(rsps.calls[2], json_body=True)


def test_delete_not_ok_is_action_failed(session, rsps):
    register_get(rsps)
    rsps.get(f"{PLUS}/chat/user/", json=account_body())
    rsps.post(UPDATE_URL, json={"status": "NOT_OK", "error": "cannot delete"})
    with pytest.raises(errors.ActionFailed) as ei:
        session.personas.delete("pers123")
    assert ei.value.message == "cannot delete"


def test_delete_unknown_persona_is_not_found(session, rsps):
    rsps.get(PERSONA_URL, json={})
    with pytest.raises(errors.NotFound):
        session.personas.delete("gone")
    assert len(rsps.calls) == 1


# ------------------------------------------------------------------ A5 settings round-trip

SETTINGS = {
    "default_persona_id": "old",
    "enable_tts": False,
    "personaOverrides": {"c1": "p1", "c2": "p2"},
    "voiceOverrides": {"c1": "v1"},
    "somethingNew": {"keep": True},
}


def register_round_trip(rsps, before: Dict[str, Any], after: Dict[str, Any]) -> None:
    rsps.get(SETTINGS_URL, json=before, match=[matchers.header_matcher(AUTH)])
    rsps.post(
        UPDATE_SETTINGS_URL,
        json={"success": True, "settings": after},
        match=[matchers.json_params_matcher(after), matchers.header_matcher(AUTH)],
    )


@pytest.mark.parametrize("pid,sent", [("p9", "p9"), (None, "")])
def test_set_default(session, rsps, pid, sent):
    after = dict(SETTINGS, default_persona_id=sent)
    register_round_trip(rsps, SETTINGS, after)
    s = session.personas.set_default(pid)
    assert isinstance(s, Settings)
    assert s.default_persona_id == (pid or None)
    assert s.persona_overrides == SETTINGS["personaOverrides"]
    assert [c.request.method for c in rsps.calls] == ["GET", "POST"]
    assert_api_headers(rsps.calls[0])
    assert_api_headers(rsps.calls[1], json_body=True)


@pytest.mark.parametrize(
    "before_overrides,cid,pid,after_overrides",
    [
        ({"c1": "p1", "c2": "p2"}, "c3", "p3", {"c1": "p1", "c2": "p2", "c3": "p3"}),
        ({"c1": "p1", "c2": "p2"}, "c1", "p9", {"c1": "p9", "c2": "p2"}),
        ({"c1": "p1", "c2": "p2"}, "c1", None, {"c2": "p2"}),
        ({"c1": "p1"}, "absent", None, {"c1": "p1"}),
        (None, "c1", "p1", {"c1": "p1"}),
        ("MISSING", "c1", "p1", {"c1": "p1"}),
    ],
)
def test_set_for_character(session, rsps, before_overrides, cid, pid, after_overrides):
    before = dict(SETTINGS)
    if before_overrides == "MISSING":
        del before["personaOverrides"]
    else:
        before["personaOverrides"] = before_overrides
    after = dict(SETTINGS, personaOverrides=after_overrides)
    register_round_trip(rsps, before, after)
    s = session.personas.set_for_character(cid, pid)
    assert s.persona_overrides == after_overrides
    assert s.default_persona_id == "old"
    assert sent_json(rsps.calls[1]) == after  # the ENTIRE document


def test_set_for_character_none_removes_the_key(session, rsps):
    register_round_trip(rsps, dict(SETTINGS), dict(SETTINGS, personaOverrides={"c2": "p2"}))
    session.personas.set_for_character("c1", None)
    assert "c1" not in sent_json(rsps.calls[1])["personaOverrides"]


@pytest.mark.parametrize(
    "call",
    [lambda p: p.set_default("p1"), lambda p: p.set_for_character("c1", "p1")],
    ids=["set_default", "set_for_character"],
)
def test_settings_success_false_is_action_failed(session, rsps, call):
    rsps.get(SETTINGS_URL, json=dict(SETTINGS))
    rsps.post(UPDATE_SETTINGS_URL, json={"success": False})
    with pytest.raises(errors.ActionFailed):
        call(session.personas)


@pytest.mark.parametrize(
    "call,field",
    [
        (lambda p: p.set_default(""), "persona_id"),
        (lambda p: p.set_default(3), "persona_id"),
        (lambda p: p.set_for_character("", "p1"), "character_id"),
        (lambda p: p.set_for_character(None, "p1"), "character_id"),
        (lambda p: p.set_for_character("c1", ""), "persona_id"),
    ],
)
def test_settings_validation_before_sending(session, rsps, call, field):
    with pytest.raises(errors.ValidationError) as ei:
        call(session.personas)
    assert ei.value.field == field
    assert len(rsps.calls) == 0


# ------------------------------------------------------------------ guests

GUEST_CALLS: Dict[str, Callable[[Any], Any]] = {
    "list": lambda p: p.list(),
    "get": lambda p: p.get("pers123"),
    "create": lambda p: p.create("Hero"),
    "update": lambda p: p.update("pers123", name="Myself"),
    "delete": lambda p: p.delete("pers123"),
    "set_default": lambda p: p.set_default("pers123"),
    "set_for_character": lambda p: p.set_for_character("c1", "pers123"),
}


@pytest.mark.parametrize("name", sorted(GUEST_CALLS))
def test_guest_is_refused_before_sending(guest, rsps, name):
    with pytest.raises(errors.AuthRequiredError):
        GUEST_CALLS[name](guest.personas)
    assert len(rsps.calls) == 0


def test_all_public_methods_are_covered_for_guests():
    assert {n for n in dir(Personas) if not n.startswith("_")} == set(GUEST_CALLS)
