"""``caiclient search QUERY [--creators] [--json]``: find characters (or creators)."""

from __future__ import annotations

import argparse
import sys

from caiclient.cli._core import EXIT_OK, Command
from caiclient.cli._lookup import character_lines
from caiclient.cli._output import jsonable, print_json
from caiclient.cli._session import Context


def configure(p: argparse.ArgumentParser) -> None:
    """``QUERY``, ``--creators``, ``--json``."""
    p.add_argument("query", metavar="QUERY")
    p.add_argument("--creators", action="store_true", help="search creators instead")
    p.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Search characters (or creators with ``--creators``) and print them."""
    session = ctx.session()
    if args.creators:
        creators = session.characters.search_creators(args.query)
        if args.json:
            print_json([jsonable(c) for c in creators])
        elif not creators:
            print(f"no creators found for {args.query!r}", file=sys.stderr)
        else:
            for c in creators:
                print(c.username)
        return EXIT_OK
    characters = session.characters.search(args.query)
    if args.json:
        print_json([jsonable(c) for c in characters])
        return EXIT_OK
    if not characters:
        print(f"no characters found for {args.query!r}", file=sys.stderr)
        return EXIT_OK
    for line in character_lines(characters, header=True):
        print(line)
    return EXIT_OK


COMMAND = Command("search", "search characters (or creators)", configure, run)
