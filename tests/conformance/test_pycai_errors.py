"""PyCharacterAI 2.2.50 against the emulator: the failure paths (neo.md 1.6, 3.5, 6.2).

The client parses most neo bodies before it looks at the status, so every error must come
with a JSON body (else a raw JSONDecodeError), and a websocket error must be one ``neo_error``
frame (else the client waits forever).
"""

from __future__ import annotations

import PyCharacterAI
import pytest
from conftest import Driver
from PyCharacterAI.exceptions import (
    ActionError,
    AuthenticationError,
    CreateError,
    EditError,
    FetchError,
)

from caiclient.emulator import Emulator

MISSING_CHAT = "00000000-0000-4000-8000-000000000000"


def test_bad_token_is_an_authentication_error(cai: Driver, emu: Emulator) -> None:
    with pytest.raises(AuthenticationError):
        cai.run(PyCharacterAI.get_client(token="0" * 40))


def test_http_errors_carry_json(cai: Driver, character_id: str) -> None:
    with pytest.raises(FetchError) as info:
        cai.run(cai.client.chat.fetch_chat(MISSING_CHAT))
    assert str(info.value).startswith("Cannot fetch chat.")
    with pytest.raises(FetchError):
        cai.run(cai.client.chat.fetch_messages(MISSING_CHAT))
    with pytest.raises(FetchError):
        cai.run(cai.client.character.fetch_character_info("no-such-character"))
    with pytest.raises(ActionError):
        cai.run(cai.client.chat.copy_chat(MISSING_CHAT, MISSING_CHAT))


def test_websocket_errors_end_the_call(cai: Driver, character_id: str) -> None:
    # A neo_error frame ends each flow with the method's exception (no hang: CALL_TIMEOUT).
    with pytest.raises(ActionError) as info:
        cai.run(cai.client.chat.send_message(character_id, MISSING_CHAT, "anyone there?"))
    assert str(info.value).startswith("Cannot send message.")
    with pytest.raises(EditError):
        cai.run(cai.client.chat.edit_message(MISSING_CHAT, MISSING_CHAT, MISSING_CHAT, "x"))
    with pytest.raises(CreateError):
        cai.run(cai.client.chat.create_chat("no-such-character"))
    # ...and leaves nothing behind in the socket: the next call gets its own answer.
    chat, greeting = cai.run(cai.client.chat.create_chat(character_id))
    assert greeting is not None and greeting.chat_id == chat.chat_id


def test_content_filter(cai: Driver, emu: Emulator, character_id: str) -> None:
    chat, _ = cai.run(cai.client.chat.create_chat(character_id, greeting=False))
    emu.faults.filter_next("input")
    with pytest.raises(ActionError) as info:
        cai.run(cai.client.chat.send_message(character_id, chat.chat_id, "a blocked message"))
    assert "Self harm" in str(info.value)  # filter_user_input_self_harm (neo.md 2.4)
    reply = cai.run(cai.client.chat.send_message(character_id, chat.chat_id, "a fine message"))
    assert "a fine message" in reply.get_primary_candidate().text


def test_refused_handshake(cai: Driver, emu: Emulator, character_id: str) -> None:
    emu.faults.refuse_ws_handshake("always")
    with pytest.raises(AuthenticationError):
        cai.run(cai.client.chat.create_chat(character_id))
    emu.faults.clear()
    # PyCharacterAI impersonates firefox135 on the socket (neo.md 1.5), so the emulator's
    # "browser User-Agent" rule lets it through.
    emu.faults.refuse_ws_handshake("no_browser_ua")
    chat, _ = cai.run(cai.client.chat.create_chat(character_id, greeting=False))
    assert chat.chat_id
