"""``session.characters``: info, tRPC searches, discovery lists, votes, C1/C2 bodies, voices."""

from __future__ import annotations

import json
from typing import Any, Callable, Dict
from urllib.parse import parse_qs, urlsplit

import pytest
from responses import matchers
from support import AUTH, NEO, PLUS, TOKEN, UUID_ID, WEB, sent_json

import caiclient
from caiclient import errors
from caiclient.models import Character, Creator
from caiclient.resources.characters import Characters
from caiclient.transport.http import RetryPolicy

INFO_URL = f"{NEO}/character/v1/get_character_info"
CREATE_URL = f"{PLUS}/chat/character/create/"
UPDATE_URL = f"{PLUS}/chat/character/update/"
SEARCH_URL = f"{WEB}/api/trpc/search.search"
CREATORS_URL = f"{WEB}/api/trpc/search.searchCreators"
NEO_SEARCH_URL = f"{NEO}/search/v1/character"
NEO_CREATORS_URL = f"{NEO}/search/v1/creator"
NEO_OF = {SEARCH_URL: NEO_SEARCH_URL, CREATORS_URL: NEO_CREATORS_URL}


def neo_fails(rsps: Any, trpc_url: str, status: int = 404) -> None:
    """The neo search route fails, so the tRPC fallback runs."""
    rsps.get(NEO_OF[trpc_url], status=status, json={"command": "neo_error", "comment": "gone"})

# neo.md §4.6
FULL = {
    "external_id": "char123",
    "title": "A friendly bot",
    "name": "MyBot",
    "participant__name": "MyBot",
    "visibility": "PUBLIC",
    "greeting": "Hello!",
    "description": "Desc",
    "definition": "{{char}}: ...",
    "upvotes": 1200,
    "user__username": "alice",
    "participant__num_interactions": 50000,
    "avatar_file_name": "uploaded/2025/1/1/abc.webp",
    "copyable": False,
    "identifier": "id:abc",
    "img_gen_enabled": False,
    "base_img_prompt": "",
    "img_prompt_regex": "",
    "strip_img_prompt_from_msg": False,
    "starter_prompts": {},
    "comments_enabled": True,
    "participant__user__username": "internal_id_xyz",
    "voice_id": "",
    "default_voice_id": "",
    "songs": [],
    "a_future_key": "kept",
}

SHORT = {
    "external_id": "c2",
    "title": "Tagline",
    "participant__name": "Other",
    "visibility": "PUBLIC",
    "num_likes": 7,
    "user__username": "bob",
}


def headers_of(call: Any) -> Dict[str, str]:
    return {k.lower(): v for k, v in call.request.headers.items()}


def assert_browser_ua(call: Any) -> None:
    ua = headers_of(call)["user-agent"]
    assert ua.startswith("Mozilla/5.0") and "python-requests" not in ua


def assert_api_headers(call: Any, *, json_body: bool = False) -> None:
    h = headers_of(call)
    assert h["authorization"] == f"Token {TOKEN}"
    assert h["content-type"] == "application/json"
    assert_browser_ua(call)
    if not json_body:
        assert not call.request.body


def assert_no_auth(call: Any) -> None:
    assert "authorization" not in headers_of(call)
    assert_browser_ua(call)


def trpc(key: str, items: Any) -> Any:
    return [{"result": {"data": {"json": {key: items}}}}]


# ------------------------------------------------------------------ get


@pytest.mark.parametrize("who", ["session", "guest"])
def test_get(request, rsps, who):
    s = request.getfixturevalue(who)
    rsps.post(
        INFO_URL,
        json={"character": FULL},
        match=[matchers.json_params_matcher({"external_id": "char123"})],
    )
    c = s.characters.get("char123")
    assert isinstance(c, Character)
    assert c.character_id == "char123"
    assert c.name == "MyBot"
    assert c.title == "A friendly bot"
    assert c.description == "Desc"
    assert c.definition == "{{char}}: ..."
    assert c.greeting == "Hello!"
    assert c.upvotes == 1200
    assert c.num_interactions == 50000
    assert c.author_username == "alice"
    assert c.avatar is not None and c.avatar.file_name == "uploaded/2025/1/1/abc.webp"
    assert c.comments_enabled is True
    assert c.internal_id == "internal_id_xyz"
    assert c.identifier == "id:abc"
    assert c.raw["a_future_key"] == "kept"
    call = rsps.calls[0]
    assert call.request.method == "POST"
    assert headers_of(call)["content-type"] == "application/json"
    if who == "session":
        assert_api_headers(call, json_body=True)
    else:
        assert_no_auth(call)


def test_get_defaults_for_missing_and_null(session, rsps):
    rsps.post(
        INFO_URL,
        json={
            "character": {
                "external_id": "c",
                "title": None,
                "participant__name": None,
                "name": "Fallback",
                "avatar_file_name": "",
                "starter_prompts": None,
            }
        },
    )
    c = session.characters.get("c")
    assert c.name == "Fallback"
    assert c.title == ""
    assert c.avatar is None
    assert c.starter_prompts == {}
    assert c.songs == []
    assert (c.copyable, c.img_gen_enabled, c.comments_enabled) == (False, False, False)
    assert (c.voice_id, c.default_voice_id, c.internal_id) == ("", "", "")
    assert c.upvotes is None and c.author_username is None


def test_get_not_ok_is_not_found(session, rsps):
    rsps.post(INFO_URL, json={"status": "NOT_OK", "error": "Character not found"})
    with pytest.raises(errors.NotFound) as ei:
        session.characters.get("missing")
    assert ei.value.message == "Character not found"
    assert ei.value.body == {"status": "NOT_OK", "error": "Character not found"}


@pytest.mark.parametrize("answer", [{}, {"character": None}, {"character": "x"}, []])
def test_get_without_character_is_not_found(session, rsps, answer):
    rsps.post(INFO_URL, json=answer)
    with pytest.raises(errors.NotFound):
        session.characters.get("missing")


def test_get_401_hides_token(session, rsps):
    rsps.post(INFO_URL, status=401, json={"command": "neo_error", "comment": "unauthorized"})
    with pytest.raises(errors.AuthenticationError) as ei:
        session.characters.get("char123")
    assert TOKEN not in str(ei.value)
    assert TOKEN not in repr(ei.value)
    assert len(rsps.calls) == 1


# ------------------------------------------------------------------ tRPC searches


def trpc_query(call: Any) -> Any:
    qs = parse_qs(urlsplit(call.request.url).query)
    assert qs["batch"] == ["1"]
    return json.loads(qs["input"][0])


@pytest.mark.parametrize("who", ["session", "guest"])
@pytest.mark.parametrize("query", ["Hatsune Miku", "a&b=c?#%", "Ünïcödé"])
def test_search_trpc_fallback(request, rsps, who, query):
    s = request.getfixturevalue(who)
    neo_fails(rsps, SEARCH_URL)
    rsps.get(
        SEARCH_URL,
        json=trpc("characters", [dict(FULL), SHORT]),
        match=[
            matchers.query_param_matcher(
                {
                    "batch": "1",
                    "input": json.dumps(
                        {"0": {"json": {"searchQuery": query}}}, separators=(",", ":")
                    ),
                }
            )
        ],
    )
    found = s.characters.search(query)
    assert [c.character_id for c in found] == ["char123", "c2"]
    assert found[1].upvotes == 7  # num_likes fallback
    assert found[1].name == "Other"
    assert trpc_query(rsps.calls[1]) == {"0": {"json": {"searchQuery": query}}}
    assert_no_auth(rsps.calls[1])  # never the token, even on an authenticated session
    assert "cookie" not in headers_of(rsps.calls[1])


def test_search_sends_web_next_auth_cookie(sleeps, rsps):
    with caiclient.Session(token=TOKEN, web_next_auth="WNA", retry=RetryPolicy(sleep=sleeps)) as s:
        neo_fails(rsps, SEARCH_URL)
        rsps.get(SEARCH_URL, json=trpc("characters", []))
        assert s.characters.search("x") == []
    h = headers_of(rsps.calls[1])
    assert h["cookie"] == "web-next-auth=WNA"
    assert "authorization" not in h


@pytest.mark.parametrize("who", ["session", "guest"])
def test_search_creators_trpc_fallback(request, rsps, who):
    s = request.getfixturevalue(who)
    neo_fails(rsps, CREATORS_URL, status=502)
    rsps.get(
        CREATORS_URL,
        json=trpc("creators", [{"username": "alice"}, {"username": "alicia", "extra": 1}]),
        match=[
            matchers.query_param_matcher(
                {"batch": "1", "input": '{"0":{"json":{"searchQuery":"ali"}}}'}
            )
        ],
    )
    found = s.characters.search_creators("ali")
    assert all(isinstance(c, Creator) for c in found)
    assert [c.username for c in found] == ["alice", "alicia"]
    assert found[1].raw["extra"] == 1
    assert_no_auth(rsps.calls[-1])


@pytest.mark.parametrize("method,url", [("search", SEARCH_URL), ("search_creators", CREATORS_URL)])
@pytest.mark.parametrize("answer", [[], {}, [{"result": {}}], [{"error": {"message": "x"}}]])
def test_search_unexpected_shape_is_parse_error(guest, rsps, method, url, answer):
    neo_fails(rsps, url)
    rsps.get(url, json=answer)
    with pytest.raises(errors.ParseError):
        getattr(guest.characters, method)("x")


@pytest.mark.parametrize("method", ["search", "search_creators"])
@pytest.mark.parametrize("bad", ["", "q" * 201, None, 3])
def test_search_bad_query(guest, rsps, method, bad):
    with pytest.raises(errors.ValidationError) as ei:
        getattr(guest.characters, method)(bad)
    assert ei.value.field == "query"
    assert len(rsps.calls) == 0


# ------------------------------------------------------------------ discovery lists


@pytest.mark.parametrize("who", ["session", "guest"])
@pytest.mark.parametrize(
    "method,url",
    [
        ("featured", f"{NEO}/recommendation/v1/featured"),
        ("similar", f"{NEO}/recommendation/v1/character/char123"),
    ],
)
def test_guest_capable_lists(request, rsps, who, method, url):
    s = request.getfixturevalue(who)
    rsps.get(url, json={"characters": [FULL, SHORT]})
    args = ("char123",) if method == "similar" else ()
    chars = getattr(s.characters, method)(*args)
    assert [c.character_id for c in chars] == ["char123", "c2"]
    assert all(isinstance(c, Character) for c in chars)
    call = rsps.calls[0]
    assert call.request.method == "GET"
    if who == "session":
        assert_api_headers(call)
    else:
        assert_no_auth(call)


def test_recommended(session, rsps):
    rsps.get(
        f"{NEO}/recommendation/v1/user",
        json={"characters": [SHORT]},
        match=[matchers.header_matcher(AUTH)],
    )
    assert [c.character_id for c in session.characters.recommended()] == ["c2"]
    assert_api_headers(rsps.calls[0])


@pytest.mark.parametrize(
    "method,url,args",
    [
        ("featured", f"{NEO}/recommendation/v1/featured", ()),
        ("recommended", f"{NEO}/recommendation/v1/user", ()),
        ("similar", f"{NEO}/recommendation/v1/character/c", ("c",)),
    ],
)
def test_lists_missing_key_is_empty(session, rsps, method, url, args):
    rsps.get(url, json={})
    assert getattr(session.characters, method)(*args) == []


@pytest.mark.parametrize("who", ["session", "guest"])
def test_by_category(request, rsps, who):
    s = request.getfixturevalue(who)
    rsps.get(
        f"{PLUS}/chat/curated_categories/characters/",
        json={"characters_by_curated_category": {"Helpers": [FULL], "Games": [SHORT, FULL]}},
    )
    groups = s.characters.by_category()
    assert set(groups) == {"Helpers", "Games"}
    assert [c.character_id for c in groups["Helpers"]] == ["char123"]
    assert [c.character_id for c in groups["Games"]] == ["c2", "char123"]
    assert all(isinstance(c, Character) for g in groups.values() for c in g)
    if who == "guest":
        assert_no_auth(rsps.calls[0])
    else:
        assert_api_headers(rsps.calls[0])


@pytest.mark.parametrize("answer", [{}, {"characters_by_curated_category": None}, []])
def test_by_category_empty(guest, rsps, answer):
    rsps.get(f"{PLUS}/chat/curated_categories/characters/", json=answer)
    assert guest.characters.by_category() == {}


@pytest.mark.parametrize("who", ["session", "guest"])
@pytest.mark.parametrize(
    "answer,expected",
    [
        ({"categories": ["Anime", "Games"]}, ["Anime", "Games"]),
        ({"categories": [{"name": "Anime"}, "Games"]}, ["Anime", "Games"]),
        ({}, []),
        ({"categories": None}, []),
    ],
)
def test_categories(request, rsps, who, answer, expected):
    s = request.getfixturevalue(who)
    rsps.get(f"{NEO}/recommendation/v1/category", json=answer)
    assert s.characters.categories() == expected
    if who == "guest":
        assert_no_auth(rsps.calls[0])


# ------------------------------------------------------------------ path safety


@pytest.mark.parametrize(
    "cid,encoded",
    [
        ("../x?y=1#z", "..%2Fx%3Fy%3D1%23z"),
        ("a/b", "a%2Fb"),
        ("100%", "100%25"),
        ("a b", "a%20b"),
    ],
)
@pytest.mark.parametrize(
    "name,template,call",
    [
        (
            "similar",
            NEO + "/recommendation/v1/character/{}",
            lambda c, cid: c.similar(cid),
        ),
        ("my_vote", PLUS + "/chat/character/{}/voted/", lambda c, cid: c.my_vote(cid)),
        (
            "set_voice",
            PLUS + "/chat/character/{}/voice_override/update/",
            lambda c, cid: c.set_voice(cid, "v-1"),
        ),
        (
            "unset_voice",
            PLUS + "/chat/character/{}/voice_override/delete/",
            lambda c, cid: c.set_voice(cid, None),
        ),
    ],
)
def test_ids_in_paths_are_percent_encoded(session, rsps, cid, encoded, name, template, call):
    url = template.format(encoded)
    answer = {"success": True} if "voice" in name else {"characters": [], "vote": None}
    method = rsps.post if "voice" in name else rsps.get
    method(url, json=answer)
    call(session.characters, cid)
    sent = urlsplit(rsps.calls[0].request.url)
    assert sent.query == "" and sent.fragment == ""
    assert rsps.calls[0].request.url == url


@pytest.mark.parametrize("cid", [".", "..", "", " a", "a\n", None, 7])
@pytest.mark.parametrize(
    "call",
    [
        lambda c, cid: c.similar(cid),
        lambda c, cid: c.my_vote(cid),
        lambda c, cid: c.set_voice(cid, "v-1"),
        lambda c, cid: c.set_voice(cid, None),
    ],
    ids=["similar", "my_vote", "set_voice", "unset_voice"],
)
def test_dot_segments_and_bad_ids_refused(session, rsps, cid, call):
    with pytest.raises(errors.ValidationError) as ei:
        call(session.characters, cid)
    assert ei.value.field == "character_id"
    assert len(rsps.calls) == 0


# ------------------------------------------------------------------ votes


@pytest.mark.parametrize("vote", [True, False, None])
def test_vote(session, rsps, vote):
    rsps.post(
        f"{PLUS}/chat/character/vote/",
        json={"status": "OK"},
        match=[
            matchers.json_params_matcher({"external_id": "char123", "vote": vote}),
            matchers.header_matcher(AUTH),
        ],
    )
    assert session.characters.vote("char123", vote) is None
    assert_api_headers(rsps.calls[0], json_body=True)


def test_vote_not_ok_is_action_failed(session, rsps):
    rsps.post(f"{PLUS}/chat/character/vote/", json={"status": "NOT_OK", "error": "no votes"})
    with pytest.raises(errors.ActionFailed) as ei:
        session.characters.vote("char123", True)
    assert ei.value.message == "no votes"


@pytest.mark.parametrize("bad", [1, 0, "yes", "true"])
def test_vote_must_be_bool_or_none(session, rsps, bad):
    with pytest.raises(errors.ValidationError) as ei:
        session.characters.vote("char123", bad)
    assert ei.value.field == "vote"
    assert len(rsps.calls) == 0


@pytest.mark.parametrize(
    "answer,expected",
    [
        ({"vote": True}, True),
        ({"vote": False}, False),
        ({"vote": None}, None),
        ({}, None),
        ({"vote": "weird"}, None),
    ],
)
def test_my_vote(session, rsps, answer, expected):
    rsps.get(
        f"{PLUS}/chat/character/char123/voted/", json=answer, match=[matchers.header_matcher(AUTH)]
    )
    assert session.characters.my_vote("char123") is expected
    assert_api_headers(rsps.calls[0])


# ------------------------------------------------------------------ create (C1)

C1_DEFAULTS = {
    "avatar_rel_path": "",
    "base_img_prompt": "",
    "categories": [],
    "copyable": False,
    "default_voice_id": "",
    "definition": "",
    "description": "",
    "greeting": "Hello there!",
    "img_gen_enabled": False,
    "name": "MyBot",
    "strip_img_prompt_from_msg": False,
    "title": "",
    "visibility": "PRIVATE",
    "voice_id": "",
}


@pytest.mark.parametrize(
    "kwargs,changes",
    [
        ({}, {}),
        (
            {
                "title": "A bot",
                "description": "d",
                "definition": "{{char}}: hi",
                "copyable": True,
                "visibility": "Public",
                "avatar_rel_path": "uploaded/x.webp",
                "default_voice_id": "v-1",
            },
            {
                "title": "A bot",
                "description": "d",
                "definition": "{{char}}: hi",
                "copyable": True,
                "visibility": "PUBLIC",
                "avatar_rel_path": "uploaded/x.webp",
                "default_voice_id": "v-1",
            },
        ),
        ({"visibility": "UNLISTED"}, {"visibility": "UNLISTED"}),
        ({"visibility": "private"}, {"visibility": "PRIVATE"}),
    ],
)
def test_create(session, rsps, kwargs, changes):
    expected = dict(C1_DEFAULTS, **changes)
    rsps.post(
        CREATE_URL,
        json={"status": "OK", "character": dict(FULL, external_id="new1")},
        match=[
            matchers.json_params_matcher(expected, strict_match=False),
            matchers.header_matcher(AUTH),
        ],
    )
    c = session.characters.create("MyBot", "Hello there!", **kwargs)
    assert isinstance(c, Character) and c.character_id == "new1"
    sent = sent_json(rsps.calls[0])
    assert set(sent) == set(expected) | {"identifier"}
    assert UUID_ID.match(sent["identifier"])
    assert_api_headers(rsps.calls[0], json_body=True)


def test_create_not_ok_is_action_failed(session, rsps):
    rsps.post(CREATE_URL, json={"status": "NOT_OK", "error": "name not allowed"})
    with pytest.raises(errors.ActionFailed) as ei:
        session.characters.create("MyBot", "Hello there!")
    assert ei.value.message == "name not allowed"
    assert "name not allowed" in str(ei.value)


CHARACTER_LIMIT_CASES = [
    ({"name": "ab"}, "name"),
    ({"name": "n" * 21}, "name"),
    ({"name": None}, "name"),
    ({"greeting": "hi"}, "greeting"),
    ({"greeting": "g" * 4097}, "greeting"),
    ({"greeting": 5}, "greeting"),
    ({"title": "ab"}, "title"),
    ({"title": "t" * 51}, "title"),
    ({"description": "d" * 501}, "description"),
    ({"definition": "d" * 32001}, "definition"),
    ({"visibility": "secret"}, "visibility"),
    ({"visibility": None}, "visibility"),
    ({"copyable": "yes"}, "copyable"),
    ({"avatar_rel_path": 1}, "avatar_rel_path"),
    ({"default_voice_id": 1}, "default_voice_id"),
]

CHARACTER_LIMIT_OK = [
    {"name": "abc"},
    {"name": "n" * 20},
    {"greeting": "hey"},
    {"greeting": "g" * 4096},
    {"title": ""},
    {"title": "abc"},
    {"title": "t" * 50},
    {"description": "d" * 500},
    {"definition": "d" * 32000},
    {"visibility": "UnListed"},
]


@pytest.mark.parametrize("change,field", CHARACTER_LIMIT_CASES)
def test_create_validation_before_sending(session, rsps, change, field):
    args = {"name": "MyBot", "greeting": "Hello there!"}
    args.update(change)
    with pytest.raises(errors.ValidationError) as ei:
        session.characters.create(**args)
    assert isinstance(ei.value, ValueError)
    assert ei.value.field == field
    assert len(rsps.calls) == 0


@pytest.mark.parametrize("change", CHARACTER_LIMIT_OK)
def test_create_accepts_limits(session, rsps, change):
    args = {"name": "MyBot", "greeting": "Hello there!"}
    args.update(change)
    expected = dict(change)
    if "visibility" in expected:
        expected["visibility"] = expected["visibility"].upper()
    rsps.post(
        CREATE_URL,
        json={"status": "OK", "character": FULL},
        match=[matchers.json_params_matcher(expected, strict_match=False)],
    )
    session.characters.create(**args)


# ------------------------------------------------------------------ update (C2)

C2_FROM_FULL = {
    "archived": False,
    "avatar_rel_path": "uploaded/2025/1/1/abc.webp",
    "base_img_prompt": "",
    "categories": [],
    "copyable": False,
    "default_voice_id": "",
    "definition": "{{char}}: ...",
    "description": "Desc",
    "external_id": "char123",
    "greeting": "Hello!",
    "img_gen_enabled": False,
    "name": "MyBot",
    "strip_img_prompt_from_msg": False,
    "title": "A friendly bot",
    "visibility": "PUBLIC",
    "voice_id": "",
}


@pytest.mark.parametrize(
    "kwargs,changes",
    [
        ({}, {}),
        ({"name": "NewName"}, {"name": "NewName"}),
        ({"visibility": "private", "copyable": True}, {"visibility": "PRIVATE", "copyable": True}),
        ({"title": "", "description": ""}, {"title": "", "description": ""}),
        ({"avatar_rel_path": ""}, {"avatar_rel_path": ""}),
        ({"archived": True}, {"archived": True}),
        (
            {"greeting": "Hi you", "definition": "new", "default_voice_id": "v-9"},
            {"greeting": "Hi you", "definition": "new", "default_voice_id": "v-9"},
        ),
    ],
)
def test_update_sends_merged_body(session, rsps, kwargs, changes):
    rsps.post(
        INFO_URL,
        json={"character": FULL},
        match=[matchers.json_params_matcher({"external_id": "char123"})],
    )
    expected = dict(C2_FROM_FULL, **changes)
    rsps.post(
        UPDATE_URL,
        json={"status": "OK", "character": dict(FULL, participant__name="NewName")},
        match=[matchers.json_params_matcher(expected), matchers.header_matcher(AUTH)],
    )
    c = session.characters.update("char123", **kwargs)
    assert isinstance(c, Character) and c.name == "NewName"
    assert [urlsplit(x.request.url).path for x in rsps.calls] == [
        "/character/v1/get_character_info",
        "/chat/character/update/",
    ]
    assert "identifier" not in sent_json(rsps.calls[1])
    assert_api_headers(rsps.calls[1], json_body=True)


def test_update_keeps_current_image_and_voice_settings(session, rsps):
    current = dict(
        FULL,
        img_gen_enabled=True,
        base_img_prompt="anime",
        strip_img_prompt_from_msg=True,
        voice_id="v-old",
        visibility="UNLISTED",
    )
    rsps.post(INFO_URL, json={"character": current})
    rsps.post(UPDATE_URL, json={"status": "OK", "character": current})
    session.characters.update("char123", name="Renamed")
    sent = sent_json(rsps.calls[1])
    assert sent["img_gen_enabled"] is True
    assert sent["base_img_prompt"] == "anime"
    assert sent["strip_img_prompt_from_msg"] is True
    assert sent["voice_id"] == "v-old"
    assert sent["visibility"] == "UNLISTED"
    assert sent["name"] == "Renamed"


def test_update_unknown_character_is_not_found(session, rsps):
    rsps.post(INFO_URL, json={"status": "NOT_OK", "error": "no such character"})
    with pytest.raises(errors.NotFound):
        session.characters.update("gone", name="NewName")
    assert len(rsps.calls) == 1


def test_update_not_ok_is_action_failed(session, rsps):
    rsps.post(INFO_URL, json={"character": FULL})
    rsps.post(UPDATE_URL, json={"status": "NOT_OK", "error": "not yours"})
    with pytest.raises(errors.ActionFailed) as ei:
        session.characters.update("char123", name="NewName")
    assert ei.value.message == "not yours"


@pytest.mark.parametrize(
    "change,field",
    # None means "keep the current value" for update, so those cases do not apply.
    [c for c in CHARACTER_LIMIT_CASES if None not in c[0].values()]
    + [({"archived": "false"}, "archived"), ({"archived": None}, "archived")],
)
def test_update_validation_before_sending(session, rsps, change, field):
    with pytest.raises(errors.ValidationError) as ei:
        session.characters.update("char123", **change)
    assert ei.value.field == field
    assert len(rsps.calls) == 0


def test_update_keeps_server_values_outside_client_limits(session, rsps):
    # A character stored with values today's client-side limits would refuse
    # (older limits, or edited on the website) can still be renamed: only what
    # the caller passes is checked. (Regression: the merged document used to be
    # re-validated, blaming a field the caller never passed.)
    current = dict(FULL, title="ab", description="d" * 600, greeting="g" * 5000)
    rsps.post(INFO_URL, json={"character": current})
    rsps.post(UPDATE_URL, json={"status": "OK", "character": current})
    session.characters.update("char123", name="Renamed")
    sent = sent_json(rsps.calls[1])
    assert (sent["title"], sent["description"], sent["greeting"]) == (
        "ab",
        "d" * 600,
        "g" * 5000,
    )
    assert sent["name"] == "Renamed"


@pytest.mark.parametrize("bad", ["", " c", None, 3])
def test_update_bad_id(session, rsps, bad):
    with pytest.raises(errors.ValidationError) as ei:
        session.characters.update(bad, name="NewName")
    assert ei.value.field == "character_id"
    assert len(rsps.calls) == 0


# ------------------------------------------------------------------ set_voice


def test_set_voice(session, rsps):
    rsps.post(
        f"{PLUS}/chat/character/char123/voice_override/update/",
        json={"success": True},
        match=[
            matchers.json_params_matcher({"voice_id": "v-1"}),
            matchers.header_matcher(AUTH),
        ],
    )
    assert session.characters.set_voice("char123", "v-1") is None
    assert_api_headers(rsps.calls[0], json_body=True)


def test_unset_voice_sends_no_body(session, rsps):
    rsps.post(
        f"{PLUS}/chat/character/char123/voice_override/delete/",
        json={"success": True},
        match=[matchers.header_matcher(AUTH)],
    )
    session.characters.set_voice("char123", None)
    assert_api_headers(rsps.calls[0])  # asserts the empty body too


@pytest.mark.parametrize(
    "voice,suffix", [("v-1", "update"), (None, "delete")], ids=["update", "delete"]
)
def test_set_voice_success_false_is_action_failed(session, rsps, voice, suffix):
    rsps.post(
        f"{PLUS}/chat/character/char123/voice_override/{suffix}/",
        json={"success": False, "error": "bad voice"},
    )
    with pytest.raises(errors.ActionFailed) as ei:
        session.characters.set_voice("char123", voice)
    assert ei.value.message == "bad voice"


@pytest.mark.parametrize("bad", ["", " v", 3])
def test_set_voice_bad_voice_id(session, rsps, bad):
    with pytest.raises(errors.ValidationError) as ei:
        session.characters.set_voice("char123", bad)
    assert ei.value.field == "voice_id"
    assert len(rsps.calls) == 0


# ------------------------------------------------------------------ guests

ACCOUNT_ONLY: Dict[str, Callable[[Any], Any]] = {
    "recommended": lambda c: c.recommended(),
    "vote": lambda c: c.vote("char123", True),
    "my_vote": lambda c: c.my_vote("char123"),
    "create": lambda c: c.create("MyBot", "Hello there!"),
    "update": lambda c: c.update("char123", name="NewName"),
    "set_voice": lambda c: c.set_voice("char123", "v-1"),
    "report": lambda c: c.report("char123", "SPAM"),
    "voice": lambda c: c.voice("char123"),
}
GUEST_OK = {
    "get",
    "search",
    "search_creators",
    "featured",
    "similar",
    "by_category",
    "categories",
    "trending",
    "vote_count",
    "vote_counts",
}


@pytest.mark.parametrize("name", sorted(ACCOUNT_ONLY))
def test_guest_is_refused_before_sending(guest, rsps, name):
    with pytest.raises(errors.AuthRequiredError):
        ACCOUNT_ONLY[name](guest.characters)
    assert len(rsps.calls) == 0


def test_guest_unset_voice_is_refused(guest, rsps):
    with pytest.raises(errors.AuthRequiredError):
        guest.characters.set_voice("char123", None)
    assert len(rsps.calls) == 0


def test_every_public_method_is_classified():
    public = {n for n in dir(Characters) if not n.startswith("_")}
    assert public == set(ACCOUNT_ONLY) | GUEST_OK


def test_report(session, rsps) -> None:
    from responses import matchers

    rsps.post(
        f"{NEO}/report/create",
        json={"report": {"report_id": "r-1"}},
        match=[
            matchers.json_params_matcher(
                {
                    "category": "SPAM",
                    "comments": "ads",
                    "reported_resource_id": "c1",
                    "type": "CHARACTER",
                }
            )
        ],
    )
    assert session.characters.report("c1", "SPAM", "ads") == "r-1"
    with pytest.raises(errors.ValidationError):
        session.characters.report("c1", "", "x")


# ------------------------------------------------------------------ neo search (default)


@pytest.mark.parametrize("who", ["session", "guest"])
def test_search_uses_neo_first(request, rsps, who):
    s = request.getfixturevalue(who)
    rsps.get(
        NEO_SEARCH_URL,
        match=[matchers.query_param_matcher({"query": "Hatsune Miku"}, strict_match=True)],
        json={"characters": [dict(FULL, document_id="char123", score=0.9), SHORT], "tags": []},
    )
    found = s.characters.search("Hatsune Miku")
    assert [c.character_id for c in found] == ["char123", "c2"]
    assert len(rsps.calls) == 1  # no tRPC call
    if who == "guest":
        assert_no_auth(rsps.calls[0])


def test_search_neo_empty_answer_is_no_result(guest, rsps):
    rsps.get(NEO_SEARCH_URL, json={})  # protobuf-style: nothing found
    assert guest.characters.search("nothing") == []
    assert len(rsps.calls) == 1


def test_search_creators_uses_neo_first(guest, rsps):
    rsps.get(
        NEO_CREATORS_URL,
        match=[matchers.query_param_matcher({"query": "ali"}, strict_match=True)],
        json={"creators": [{"name": "alice", "score": 1, "visibility": "PUBLIC"}]},
    )
    assert [c.username for c in guest.characters.search_creators("ali")] == ["alice"]
    assert len(rsps.calls) == 1


def test_search_does_not_fall_back_on_rate_limits(guest, rsps):
    rsps.get(NEO_SEARCH_URL, status=429, headers={"Retry-After": "0"}, json={})
    with pytest.raises(errors.RateLimited):
        guest.characters.search("x")
    assert all("trpc" not in c.request.url for c in rsps.calls)


def test_search_falls_back_on_an_unreadable_neo_answer(guest, rsps):
    rsps.get(NEO_SEARCH_URL, json={"characters": "nope"})
    rsps.get(SEARCH_URL, json=trpc("characters", [SHORT]))
    assert [c.character_id for c in guest.characters.search("x")] == ["c2"]


def test_trending(guest, rsps):
    rsps.get(f"{PLUS}/chat/characters/trending/", json={"trending_characters": [FULL, SHORT]})
    assert [c.character_id for c in guest.characters.trending()] == ["char123", "c2"]
    assert_no_auth(rsps.calls[0])


def test_vote_count(guest, rsps):
    rsps.get(f"{PLUS}/chat/character/char123/votes/", json={"status": "OK", "votes": 41})
    assert guest.characters.vote_count("char123") == 41


@pytest.mark.parametrize(
    "answer,exc",
    [
        ({"status": "NOT_OK", "error": "Character not found"}, errors.NotFound),
        ({"status": "OK"}, errors.ParseError),
        ({"status": "OK", "votes": "many"}, errors.ParseError),
    ],
)
def test_vote_count_errors(guest, rsps, answer, exc):
    rsps.get(f"{PLUS}/chat/character/c/votes/", json=answer)
    with pytest.raises(exc):
        guest.characters.vote_count("c")


def test_vote_counts(guest, rsps):
    rsps.post(
        f"{PLUS}/chat/characters/votes/",
        match=[matchers.json_params_matcher({"character_ids": ["a", "b"]})],
        json={"status": "OK", "upvotes_per_character": {"a": 3, "b": 0, "x": "bad"}},
    )
    assert guest.characters.vote_counts(["a", "b"]) == {"a": 3, "b": 0}
    with pytest.raises(errors.ValidationError):
        guest.characters.vote_counts("a")  # a lone string is a common mistake


@pytest.mark.parametrize("answer,expected", [({"voice_id": "v1"}, "v1"), ({"voice_id": ""}, None)])
def test_voice(session, rsps, answer, expected):
    rsps.get(
        f"{PLUS}/chat/character/char123/voice_override/",
        json={"character_external_id": "char123", **answer},
    )
    assert session.characters.voice("char123") == expected
