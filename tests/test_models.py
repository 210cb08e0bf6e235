"""Models: tolerant parsing, defaults, raw kept; property tests with arbitrary JSON."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caiclient import errors, models
from caiclient.models import (
    Account,
    Avatar,
    Character,
    Chat,
    ChatHistory,
    Persona,
    PublicUser,
    Turn,
    TurnPage,
    Voice,
    parse,
    parse_list,
    parse_timestamp,
)

ALL_MODELS = [
    getattr(models, name)
    for name in models.__all__
    if isinstance(getattr(models, name), type)
    and issubclass(getattr(models, name), models.Model)
    and getattr(models, name) is not models.Model
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)


def _keys_of(cls: type) -> list:
    keys = []
    for f in attrs.fields(cls):
        for path in f.metadata.get("caiclient.wire", ()):
            keys.append(path)
    return keys


@st.composite
def shaped_objects(draw: Any, cls: type) -> dict:
    """Objects using the model's own keys (so parsing goes deep), with arbitrary values."""
    obj: dict = draw(st.dictionaries(st.text(max_size=8), json_values, max_size=3))
    for path in draw(st.lists(st.sampled_from(_keys_of(cls)), max_size=8, unique=True)):
        node = obj
        for part in path[:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                nxt = {}
                node[part] = nxt
            node = nxt
        node[path[-1]] = draw(json_values)
    return obj


@pytest.mark.parametrize("cls", ALL_MODELS, ids=lambda c: c.__name__)
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_arbitrary_json_gives_a_model_or_parse_error(cls: type, data: Any) -> None:
    value = data.draw(st.one_of(json_values, shaped_objects(cls)))
    try:
        result = parse(cls, value)
    except errors.ParseError as exc:
        assert exc.path
        return
    assert isinstance(result, cls)
    if isinstance(value, dict):
        assert dict(result.raw) == value
    else:  # only an Avatar may be given as its bare file name
        assert cls is Avatar and isinstance(value, str)


@pytest.mark.parametrize("cls", ALL_MODELS, ids=lambda c: c.__name__)
@settings(max_examples=40, deadline=None)
@given(value=json_values)
def test_parse_list_never_crashes(cls: type, value: Any) -> None:
    try:
        items = parse_list(cls, value)
    except errors.ParseError:
        assert not isinstance(value, list) and value is not None
        return
    assert all(isinstance(i, cls) for i in items)


TURN = {
    "turn_key": {"chat_id": "c1", "turn_id": "t1"},
    "create_time": "2025-01-01T12:00:01.000000Z",
    "author": {"author_id": "char1", "name": "Bot", "is_human": False},
    "candidates": [
        {"candidate_id": "a", "raw_content": "first", "is_final": True},
        {"candidate_id": "b", "raw_content": "second", "safety_truncated": True},
    ],
    "primary_candidate_id": "b",
    "is_pinned": True,
    "brand_new_field": {"x": 1},
}


def test_turn_helpers() -> None:
    t = parse(Turn, TURN)
    assert t.text == "second"
    assert t.is_final is False
    assert t.is_filtered is True
    assert t.candidate("a").text == "first"
    assert t.candidate("zz") is None
    assert t.is_pinned
    assert t.raw["brand_new_field"] == {"x": 1}
    assert t.create_time == datetime(2025, 1, 1, 12, 0, 1, tzinfo=timezone.utc)


def test_turn_without_primary_falls_back_to_first_candidate() -> None:
    t = parse(Turn, {**TURN, "primary_candidate_id": None})
    assert t.text == "first" and t.is_final
    empty = parse(Turn, {"turn_key": {"chat_id": "c", "turn_id": "t"}})
    assert empty.text == "" and not empty.is_final and empty.candidates == []


def test_turn_requires_its_identity() -> None:
    with pytest.raises(errors.ParseError) as info:
        parse(Turn, {"turn_key": {"chat_id": "c"}})
    assert "turn_key.turn_id" in info.value.path


def test_models_are_frozen_and_raw_is_read_only() -> None:
    c = parse(Character, {"external_id": "x", "participant__name": "N"})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        c.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        c.raw["external_id"] = "y"  # type: ignore[index]


def test_character_fallbacks_and_coercions() -> None:
    c = parse(
        Character,
        {
            "external_id": "x",
            "participant__name": None,
            "name": "Fallback",
            "num_likes": "12",
            "participant__num_interactions": 3.0,
            "avatar_file_name": "",
            "copyable": "yes?",
            "songs": None,
        },
    )
    assert c.name == "Fallback"
    assert c.upvotes == 12
    assert c.num_interactions == 3
    assert c.avatar is None
    assert c.copyable is False
    assert c.songs == []


def test_account_reads_both_nesting_levels() -> None:
    a = parse(
        Account,
        {
            "user": {
                "id": 7,
                "username": "al",
                "account": {"name": "Al", "avatar_file_name": "u/a.webp"},
            },
            "bio": "hello",
            "email": "a@example.com",
        },
    )
    assert (a.account_id, a.username, a.name, a.bio, a.email) == (
        7,
        "al",
        "Al",
        "hello",
        "a@example.com",
    )
    assert a.avatar == Avatar(file_name="u/a.webp")
    assert (
        a.avatar.url(80) == "https://characterai.io/i/80/static/avatars/u/a.webp?webp=true&anim=0"
    )


def test_chat_page_persona_voice_public_user_history() -> None:
    chat = parse(
        Chat,
        {
            "chat_id": "c",
            "state": "STATE_ARCHIVED",
            "preview_turns": [TURN, {"bad": 1}],
            "character_avatar_uri": "x.webp",
        },
    )
    assert (
        chat.is_archived
        and len(chat.preview_turns) == 1
        and chat.character_avatar.file_name == "x.webp"
    )
    page = parse(TurnPage, {"turns": [TURN], "meta": {"next_token": ""}})
    assert page.next_token is None and page.turns[0].turn_id == "t1"
    p = parse(Persona, {"external_id": "p", "name": "Me", "participant__name": None})
    assert p.name == "Me"
    v = parse(Voice, {"id": "v", "creatorInfo": None, "lastUpdateTime": "garbage"})
    assert (
        v.creator_id is None and v.last_update_time is None and v.raw["lastUpdateTime"] == "garbage"
    )
    u = parse(
        PublicUser, {"username": "carol", "characters": [{"external_id": "c1"}, {"no_id": 1}]}
    )
    assert [c.character_id for c in u.characters] == ["c1"]
    h = parse(
        ChatHistory,
        {"external_id": "h", "msgs": [{"uuid": "m", "text": "hi", "src": {"is_human": True}}]},
    )
    assert h.messages[0].author_is_human is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "2025-01-01T12:00:00.123456Z",
            datetime(2025, 1, 1, 12, 0, 0, 123456, tzinfo=timezone.utc),
        ),
        ("2025-01-01T12:00:00Z", datetime(2025, 1, 1, 12, tzinfo=timezone.utc)),
        ("2025-01-01T12:00:00.1Z", datetime(2025, 1, 1, 12, 0, 0, 100000, tzinfo=timezone.utc)),
        (
            "2025-01-01T12:00:00.123456789Z",
            datetime(2025, 1, 1, 12, 0, 0, 123456, tzinfo=timezone.utc),
        ),
        ("2025-01-01T14:00:00+02:00", datetime(2025, 1, 1, 12, tzinfo=timezone.utc)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=timezone.utc)),
        (0, datetime(1970, 1, 1, tzinfo=timezone.utc)),
        ("not a date", None),
        ("2025-13-45T99:00:00Z", None),
        (None, None),
        (True, None),
    ],
)
def test_parse_timestamp(value: Any, expected: Any) -> None:
    assert parse_timestamp(value) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_parse_timestamp_never_raises(text: str) -> None:
    result = parse_timestamp(text)
    assert result is None or result.tzinfo is not None


def test_repr_is_short_and_readable() -> None:
    long_text = "x" * 500
    c = parse(Character, {"external_id": "c1", "participant__name": "Ada", "definition": long_text})
    text = repr(c)
    assert text.startswith("Character(character_id='c1', name='Ada'")
    assert "copyable" not in text  # default values are left out
    assert len(text) < 160 and "..." in text
    t = parse(Turn, TURN)
    assert "create_time=2025-01-01T12:00:01Z" in repr(t)


def test_a_model_parses_from_another_models_raw_view() -> None:
    t = parse(Turn, TURN)
    again = parse(Turn, t.raw)  # a read-only mapping, not a dict
    assert again == t and again.candidates[1].text == "second"
    assert dict(again.raw) == TURN


def test_field_specs_say_how_each_field_is_read() -> None:
    specs = {s.name: s for s in models._base.field_specs(Turn)}
    assert "raw" not in specs
    chat_id = specs["chat_id"]
    assert chat_id.required and chat_id.key == "turn_key.chat_id"
    assert chat_id.lookup(TURN) == "c1"
    cands = specs["candidates"]
    assert not cands.required and cands.default_value() == []
    assert cands.default_value() is not cands.default_value()  # a fresh list each time
    account_name = {s.name: s for s in models._base.field_specs(Account)}["name"]
    assert account_name.lookup({"name": None, "user": {"name": "B"}}) == "B"  # null: next key


def test_converter_is_the_tolerant_cattrs_converter() -> None:
    assert models.converter is models._base.converter
    assert models.converter.structure(3, str) == "3"
    assert models.converter.structure("12", int) == 12
    with pytest.raises(AttributeError):
        models.no_such_name  # noqa: B018


def test_a_model_with_init_logic_is_built_through_its_init() -> None:
    seen = []

    @models.model
    class Checked(models.Model):
        name: str = models.wire("name", default="")

        def __attrs_post_init__(self) -> None:
            seen.append(self.name)

    assert parse(Checked, {"name": "x"}).name == "x" and seen == ["x"]


def test_repeated_timestamps_give_equal_values() -> None:
    text = "2025-03-04T05:06:07.891011Z"
    first, second = parse_timestamp(text), parse_timestamp(text)
    assert first == second == datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=timezone.utc)
    assert parse_timestamp("2025-03-04T24:06:07.891011Z") is None
    assert parse_timestamp("2025-03-04T05:06:07.89101Z") == datetime(
        2025, 3, 4, 5, 6, 7, 891010, tzinfo=timezone.utc
    )
