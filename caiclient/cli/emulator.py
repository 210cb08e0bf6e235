"""``caiclient emulator [options]``: run the local emulator until Ctrl-C.

Its options are those of ``python -m caiclient.emulator`` (it parses them itself).
"""

from __future__ import annotations

import argparse

from caiclient.cli._core import EXIT_USAGE, Command, needs_extra, report
from caiclient.cli._session import Context


def configure(p: argparse.ArgumentParser) -> None:
    """Nothing: the emulator parses its own options."""


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Run the emulator with ``args.rest`` as its command line."""
    try:
        from caiclient.emulator import main as emulator_main
    except ImportError:
        report(needs_extra("`caiclient emulator`", "emulator"))
        return EXIT_USAGE
    try:
        return emulator_main(list(args.rest), prog="caiclient emulator")
    except SystemExit as exc:  # the emulator's --help and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE


COMMAND = Command(
    "emulator",
    "run the local emulator (see `caiclient emulator --help`)",
    configure,
    run,
    passthrough=True,
)
