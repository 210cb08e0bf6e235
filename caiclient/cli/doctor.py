"""``caiclient doctor [--json] [--character ID]``: check the setup, print a report safe to share."""

from __future__ import annotations

import argparse

from caiclient.cli._core import Command
from caiclient.cli._session import Context


def configure(p: argparse.ArgumentParser) -> None:
    """``--json``, ``--character ID``."""
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--character",
        metavar="ID",
        default=None,
        help="the public character whose JSON the schema check reads (default: a recent or "
        "featured one)",
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Run :func:`caiclient.diagnose` and print its report; exit 1 when a check failed."""
    from caiclient.doctor import diagnose

    session = ctx.session()
    kwargs = {"timeout": args.timeout} if args.timeout is not None else {}
    report = diagnose(session, character_id=args.character, **kwargs)
    print(report.to_json() if args.json else report.to_text())
    return report.exit_code


COMMAND = Command(
    "doctor",
    "check network, bot protection, token, websocket and the service's JSON; "
    "print a report that is safe to share",
    configure,
    run,
)
