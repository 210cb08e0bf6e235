"""caiclient._json: one nesting limit for the client and the emulator, on every Python."""

from __future__ import annotations

import pytest

from caiclient import _json


def test_deeper_than_the_limit_is_too_deep_on_every_version() -> None:
    n = _json.MAX_DEPTH
    assert isinstance(_json.loads("[" * n + "]" * n), list)
    for depth in (n + 1, 1000, 100_000):
        with pytest.raises(_json.TooDeep):
            _json.loads("[" * depth + "]" * depth)
    with pytest.raises(ValueError):  # TooDeep is a ValueError, like any bad JSON
        _json.loads(b'{"a":' * 1000 + b"1" + b"}" * 1000)


def test_brackets_inside_strings_do_not_count() -> None:
    text = '{"t": "' + "[{" * 2000 + '\\"' + '"}'
    assert _json.loads(text)["t"].startswith("[{[{")
    assert _json.loads('{"a": [1, {"b": [2]}]}') == {"a": [1, {"b": [2]}]}


def test_bad_json_is_a_value_error() -> None:
    for bad in ("{", b"\xff", "nope"):
        with pytest.raises(ValueError):
            _json.loads(bad)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '  {"a": [1, 2.5, "x\\u00e9", null, true]}\n',  # whitespace either side
        "[]",
        '"just a string"',
        "12",
        '{"é": "ünïcode", "n": -1e3}',
    ],
)
def test_loads_agrees_with_json_loads(text: str) -> None:
    import json

    assert _json.loads(text) == json.loads(text)
    assert _json.loads(text.encode()) == json.loads(text)


@pytest.mark.parametrize("bad", ['{"a": 1} x', '{"a": 1}{"b": 2}', '{"a": }', "[1,]", ""])
def test_trailing_data_and_errors_are_reported_like_json_loads(bad: str) -> None:
    import json

    with pytest.raises(json.JSONDecodeError) as ours:
        _json.loads(bad)
    with pytest.raises(json.JSONDecodeError) as theirs:
        json.loads(bad)
    assert str(ours.value) == str(theirs.value)
