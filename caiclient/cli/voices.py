"""``caiclient voices [QUERY] [--json]``: search voices, or list yours."""

from __future__ import annotations

import argparse
import sys

from caiclient.cli._core import EXIT_OK, Command
from caiclient.cli._output import clip, jsonable, print_json, table
from caiclient.cli._session import Context


def configure(p: argparse.ArgumentParser) -> None:
    """``[QUERY]``, ``--json``."""
    p.add_argument(
        "query", metavar="QUERY", nargs="?", help="search public voices (default: list yours)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Search public voices by name, or (without a query) list the voices you made."""
    if args.query:
        voices = ctx.session().voices.search(args.query)
    else:
        voices = ctx.session(needs_account=True).voices.mine()
    if args.json:
        print_json([jsonable(v) for v in voices])
        return EXIT_OK
    if not voices:
        what = (
            f"for {args.query!r}"
            if args.query
            else "of yours (search with `caiclient voices QUERY`)"
        )
        print(f"no voices {what}", file=sys.stderr)
        return EXIT_OK
    rows = [("NAME", "ID", "GENDER", "CREATOR", "DESCRIPTION")] + [
        (
            clip(v.name, 24),
            v.voice_id,
            v.gender,
            v.creator_username or "",
            clip(v.description, 40),
        )
        for v in voices
    ]
    for line in table(rows):
        print(line)
    return EXIT_OK


COMMAND = Command("voices", "search voices (or list yours), with their ids", configure, run)
