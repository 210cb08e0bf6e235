"""``caiclient search QUERY [--creators] [--json]``: find characters (or creators)."""

from __future__ import annotations

import argparse
import sys

from caiclient.cli._core import EXIT_OK, Command
from caiclient.cli._output import clip, count, jsonable, print_json
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
    rows = [("NAME", "ID", "INTERACTIONS", "TITLE")] + [
        (clip(c.name, 24), c.character_id, count(c.num_interactions), clip(c.title, 50))
        for c in characters
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for name, cid, n, title in rows:
        print(f"{name:<{widths[0]}}  {cid:<{widths[1]}}  {n:>{widths[2]}}  {title}".rstrip())
    return EXIT_OK


COMMAND = Command("search", "search characters (or creators)", configure, run)
