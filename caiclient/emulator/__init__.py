"""Local emulator of the Character.AI web API (``caiclient.emulator``).

STATUS: core complete -- auth, SQLite state, every REST route of neo.md and the
still-live ones of others.md, the websocket flows, faults, media, brains, CLI.

A real aiohttp server on 127.0.0.1 speaking the service's HTTP routes and
websocket flows, one port for every upstream host::

    https://plus.character.ai  ->  {url}/plus/...
    https://neo.character.ai   ->  {url}/neo/...     (websocket: {url}/neo/ws/)
    https://character.ai       ->  {url}/web/...
    https://characterai.io     ->  {url}/cdn/...

Usage::

    from caiclient import emulator
    with emulator.serve() as emu:
        emu.url, emu.token, emu.other_token, emu.character_ids
        emu.faults.http_errors("/plus/chat/user/", [429], retry_after=1)
        emu.state.turns(chat_id)
        emu.log.ws("create_and_generate_turn")

Command line: ``python -m caiclient.emulator --port 8765``.
"""

from __future__ import annotations

from caiclient.emulator.app import Emulator, RequestLog, serve
from caiclient.emulator.brains import Brain, CharacterBrain, EchoBrain, OpenAIBrain
from caiclient.emulator.cli import main
from caiclient.emulator.faults import Faults
from caiclient.emulator.state import State

__all__ = [
    "Brain",
    "CharacterBrain",
    "EchoBrain",
    "Emulator",
    "Faults",
    "OpenAIBrain",
    "RequestLog",
    "State",
    "main",
    "serve",
]
