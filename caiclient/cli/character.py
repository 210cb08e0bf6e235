"""``caiclient character ID [--json]``: one character's details."""

from __future__ import annotations

import argparse
from typing import List, Tuple

from caiclient.cli._core import EXIT_OK, Command
from caiclient.cli._lookup import get_character
from caiclient.cli._output import count, jsonable, print_json
from caiclient.cli._session import Context


def configure(p: argparse.ArgumentParser) -> None:
    """``ID``, ``--json``."""
    p.add_argument("id", metavar="ID")
    p.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Print one character's details."""
    session = ctx.session()
    c = get_character(args, session, args.id)
    if args.json:
        print_json(jsonable(c))
        return EXIT_OK
    print(f"{c.name}" + (f" - {c.title}" if c.title else ""))
    fields: List[Tuple[str, str]] = [
        ("id", c.character_id),
        ("creator", c.author_username or ""),
        ("interactions", count(c.num_interactions)),
        ("likes", count(c.upvotes)),
        ("visibility", c.visibility),
        ("voice", c.voice_id or c.default_voice_id),
        ("avatar", session.avatar_url(c.avatar) if c.avatar else ""),
    ]
    for label, value in fields:
        if value:
            print(f"  {label + ':':<14}{value}")
    for label, text in (
        ("Description", c.description),
        ("Greeting", c.greeting),
        ("Definition", c.definition),
    ):
        if text:
            print()
            print(f"{label}:")
            for line in text.splitlines():
                print(f"  {line}")
    return EXIT_OK


COMMAND = Command("character", "show one character", configure, run)
