"""``caiclient demo``: a streamed conversation on the bundled emulator (no account, no network)."""

from __future__ import annotations

import argparse

import caiclient
from caiclient.cli._core import EXIT_OK, Command, needs_extra
from caiclient.cli._output import print_stream
from caiclient.cli._session import Context

DEMO_LINES = (
    "Hello! Who are you?",
    "What do you enjoy most?",
    "Tell me something surprising.",
)


def configure(p: argparse.ArgumentParser) -> None:
    """``--fast``."""
    p.add_argument("--fast", action="store_true", help="no pause between streamed frames")


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Start the bundled emulator in-process and play a short streamed conversation."""
    try:
        from caiclient import emulator
    except ImportError:
        raise needs_extra("`caiclient demo`", "emulator") from None
    delay = 0.0 if args.fast else 0.04
    with emulator.serve(delay=delay) as emu:
        endpoints = caiclient.Endpoints.for_emulator(emu.url)
        with caiclient.Session(emu.token, endpoints=endpoints) as session:
            me = session.account.me()
            character = session.characters.get(emu.character_ids[0])
            print(f"caiclient {caiclient.__version__} demo: the bundled emulator at {emu.url}")
            print(
                f"Signed in as {me.username}; chatting with {character.name} ({character.title})."
            )
            print()
            chat, greeting = session.chats.create(character.character_id)
            if greeting is not None:
                print(f"{character.name}: {greeting.text}")
            for line in DEMO_LINES:
                print(f"{me.username}: {line}")
                with session.chats.stream(character.character_id, chat.chat_id, line) as reply:
                    print_stream(reply, character.name)
            turns = sum(1 for _ in session.chats.turns(chat.chat_id))
            print()
            print(f"The chat now holds {turns} turns.")
    return EXIT_OK


COMMAND = Command("demo", "a streamed conversation on the bundled emulator", configure, run)
