"""The recipe in docs/testing.rst ("Using the emulator with other clients") works as written."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import PyCharacterAI
import PyCharacterAI.requester
import pytest

from caiclient.emulator import Emulator

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.rst"


def _python_blocks(text: str) -> list:
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text)
    return [re.sub(r"^    ", "", b, flags=re.M) for b in blocks]


def test_the_documented_recipe_points_pycharacterai_at_the_emulator(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe = next(b for b in _python_blocks(DOC.read_text()) if "PyCharacterAI.requester" in b)
    assert "http://127.0.0.1:8765" in recipe
    # Keep the module as it was after the test, whatever the recipe assigns.
    monkeypatch.setattr(PyCharacterAI.requester, "curl_cffi", PyCharacterAI.requester.curl_cffi)
    exec(compile(recipe.replace("http://127.0.0.1:8765", emu.url), str(DOC), "exec"), {})

    async def main() -> tuple:
        client = await PyCharacterAI.get_client(token=emu.token)
        try:
            me = await client.account.fetch_me()
            _chat, greeting = await client.chat.create_chat(emu.character_ids[0])
            return me.username, greeting.get_primary_candidate().text
        finally:
            await client.close_session()

    username, greeting = asyncio.run(asyncio.wait_for(main(), 30))
    assert username == "alice"
    assert greeting == emu.seed_data["characters"][0]["greeting"]
    assert emu.log.http("/plus/chat/user/") and emu.log.ws("create_chat")
