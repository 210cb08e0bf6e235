"""The pytest plugin's client fixtures, used the way a bot's own tests would."""

from __future__ import annotations

import asyncio
from typing import Any

import caiclient
from caiclient.aio import Client


def test_cai_session_is_signed_in(cai_session: caiclient.Session, cai_emulator: Any) -> None:
    assert cai_session.is_authenticated
    assert cai_session.account.me().username
    cid = cai_emulator.character_ids[0]
    chat, _ = cai_session.chats.create(cid)
    assert "bot test" in cai_session.chats.send(cid, chat.chat_id, "bot test").text


def test_cai_client_runs_in_your_loop(cai_client: Client, cai_emulator: Any) -> None:
    async def bot_logic() -> str:
        chat, _ = await cai_client.chats.create(cai_emulator.character_ids[0], greeting=False)
        reply = await cai_client.chats.send(cai_emulator.character_ids[0], chat.chat_id, "ping?")
        return reply.text

    assert "ping?" in asyncio.run(bot_logic())
