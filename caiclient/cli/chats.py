"""``caiclient chats [CHARACTER] [--json]``: your chats (newest first), with their ids."""

from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Tuple

from caiclient.cli._core import EXIT_OK, Command
from caiclient.cli._lookup import resolve_character
from caiclient.cli._output import clip, jsonable, print_json, table, when
from caiclient.cli._session import Context
from caiclient.models import Chat


def configure(p: argparse.ArgumentParser) -> None:
    """``[CHARACTER]``, ``--json``."""
    p.add_argument(
        "character",
        metavar="CHARACTER",
        nargs="?",
        help="only your chats with this character (a name or an id)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")


def _last_line(chat: Chat) -> str:
    turns = chat.preview_turns
    return turns[0].text if turns else ""


def run(args: argparse.Namespace, ctx: Context) -> int:
    """List your recent chats (one per character), or all your chats with one character."""
    session = ctx.session(needs_account=True)
    names: Dict[str, str] = {}
    if args.character:
        character = resolve_character(args, session, args.character)
        names[character.character_id] = character.name
        chats = session.chats.list(character.character_id, preview_turns=1)
    else:
        chats = session.chats.recent()
    if args.json:
        print_json([jsonable(c) for c in chats])
        return EXIT_OK
    if not chats:
        print("no chats yet: start one with `caiclient chat NAME`", file=sys.stderr)
        return EXIT_OK
    rows: List[Tuple[str, str, str, str]] = [("CHAT ID", "CHARACTER", "CREATED", "LAST MESSAGE")]
    for chat in chats:
        name = chat.character_name or names.get(chat.character_id or "", "") or ""
        rows.append(
            (chat.chat_id, clip(name, 20), when(chat.create_time), clip(_last_line(chat), 50))
        )
    for line in table(rows):
        print(line)
    return EXIT_OK


COMMAND = Command("chats", "your chats, newest first, with their ids", configure, run)
