"""An unknown character or chat gives NotFound from every websocket method (issue 10)."""

from __future__ import annotations

import uuid
from typing import Any, Callable, Dict, Iterator

import pytest

import caiclient
from caiclient import errors


@pytest.fixture
def s(cai_emulator: Any) -> Iterator[caiclient.Session]:
    endpoints = caiclient.Endpoints.for_emulator(cai_emulator.url)
    with caiclient.Session(cai_emulator.token, endpoints=endpoints, timeout=(5, 5)) as session:
        yield session


def _calls(cid: str) -> Any:
    chat = str(uuid.uuid4())
    turn = str(uuid.uuid4())
    cand = str(uuid.uuid4())
    calls: Dict[str, Callable[[caiclient.Session], Any]] = {
        "create": lambda s: s.chats.create("no-such-character-0123"),
        "send": lambda s: s.chats.send(cid, chat, "hello"),
        "stream": lambda s: s.chats.stream(cid, chat, "hello").final(),
        "regenerate": lambda s: s.chats.regenerate(cid, chat, turn),
        "edit": lambda s: s.chats.edit(chat, turn, cand, "new text"),
        "pin": lambda s: s.chats.pin(chat, turn),
        "primary": lambda s: s.chats.set_primary_candidate(chat, turn, cand),
    }
    return calls


@pytest.mark.parametrize(
    "name", ["create", "send", "stream", "regenerate", "edit", "pin", "primary"]
)
def test_unknown_character_or_chat_is_not_found(
    s: caiclient.Session, cai_emulator: Any, name: str
) -> None:
    call = _calls(str(cai_emulator.character_ids[0]))[name]
    with pytest.raises(errors.NotFound) as info:
        call(s)
    err = info.value
    text = str(err)
    assert "not found" in text
    assert not text.startswith("[200") and "None" not in text
    assert err.status is None  # not an HTTP answer
    assert err.request_id and err.request_id in text  # the command's request id


def test_a_neo_error_that_is_not_not_found_stays_a_generation_error() -> None:
    from caiclient.resources._replies import _raise_for

    with pytest.raises(errors.GenerationError) as info:
        _raise_for({"command": "neo_error", "comment": "busy", "error_code": 500}, "x")
    assert not isinstance(info.value, errors.NotFound)
    with pytest.raises(errors.NotFound):
        _raise_for({"command": "neo_error", "comment": "Chat does not exist"}, "x")
