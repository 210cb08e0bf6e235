"""The ``caiclient`` command (also ``python -m caiclient``)."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional, Sequence

import caiclient
from caiclient import errors
from caiclient.resources._replies import ReplyStream

__all__ = ["main"]

DEMO_LINES = (
    "Hello! Who are you?",
    "What do you enjoy most?",
    "Tell me something surprising.",
)


def _print_stream(reply: ReplyStream, name: str) -> None:
    print(f"{name}: ", end="", flush=True)
    for piece in reply.text_deltas():
        print(piece, end="", flush=True)
    print()
    if reply.turn is not None and reply.turn.is_filtered:
        print("  (the service's filter cut this reply short)")


def cmd_demo(args: argparse.Namespace) -> int:
    """Start the bundled emulator in-process and play a short streamed conversation."""
    try:
        from caiclient import emulator
    except ImportError:  # pragma: no cover - depends on the install
        print(
            "the demo needs the emulator extra: pip install 'caiclient[emulator]'", file=sys.stderr
        )
        return 2
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
                    _print_stream(reply, character.name)
            turns = sum(1 for _ in session.chats.turns(chat.chat_id))
            print()
            print(f"The chat now holds {turns} turns.")
    return 0


def cmd_emulator(args: argparse.Namespace, rest: Sequence[str]) -> int:
    """Run the emulator until Ctrl-C (options of ``python -m caiclient.emulator``)."""
    try:
        from caiclient.emulator import main as emulator_main
    except ImportError:  # pragma: no cover - depends on the install
        print("the emulator needs its extra: pip install 'caiclient[emulator]'", file=sys.stderr)
        return 2
    return emulator_main(list(rest))


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    p = argparse.ArgumentParser(prog="caiclient", description="Character.AI from the command line.")
    p.add_argument("--version", action="version", version=f"caiclient {caiclient.__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="a streamed conversation on the bundled emulator")
    demo.add_argument("--fast", action="store_true", help="no pause between streamed frames")
    sub.add_parser(
        "emulator", help="run the local emulator (see `caiclient emulator --help`)", add_help=False
    )
    return p


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``caiclient`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "emulator":
        return cmd_emulator(argparse.Namespace(), argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return cmd_demo(args)
        parser.print_help()
        return 2
    except KeyboardInterrupt:
        return 130
    except errors.CaiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
