"""The argparse assembly, the command registry and :func:`main`."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import caiclient
from caiclient import errors
from caiclient.cli._core import (
    EXIT_API,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CliError,
    Command,
    exit_code_for,
    log,
    report,
)
from caiclient.cli._session import Context

# The registry: one line per command module (caiclient/cli/NAME.py, which
# defines COMMAND, or COMMANDS for a family), in the order `caiclient --help`
# lists them.
COMMAND_MODULES = (
    "demo",
    "chat",
    "chats",
    "room",
    "search",
    "character",
    "voices",
    "export",
    "tts",
    "completion",
    "emulator",
    "login",
    "doctor",
)


def commands() -> Dict[str, Command]:
    """Every registered command by name, in the registry's order."""
    found: Dict[str, Command] = {}
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"caiclient.cli.{name}")
        family: Sequence[Command] = getattr(module, "COMMANDS", None) or (module.COMMAND,)
        for command in family:
            found[command.name] = command
    return found


def _positive_float(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {value!r}")
    return seconds


_GLOBAL_WITH_VALUE = ("--token-file", "--emulator-url", "--timeout", "--profile")
_GLOBAL_FLAGS = ("--emulator", "-v", "--verbose")


def _add_global_options(p: argparse.ArgumentParser, *, in_command: bool) -> None:
    """The options every command takes (in a command, they override the ones before it)."""
    d: Dict[str, Any] = {"default": argparse.SUPPRESS} if in_command else {}
    g = p.add_argument_group("global options")
    g.add_argument(
        "--token-file",
        metavar="PATH",
        help="read the token from the first line of PATH (default: $CAI_TOKEN, else a prompt)",
        **({"default": None} if not in_command else d),
    )
    g.add_argument(
        "--emulator",
        action="store_true",
        help="run against a fresh in-process emulator (no account or network needed)",
        **({"default": False} if not in_command else d),
    )
    g.add_argument(
        "--emulator-url",
        metavar="URL",
        help="use an emulator already running at URL (default: $CAI_EMULATOR_URL)",
        **({"default": None} if not in_command else d),
    )
    g.add_argument(
        "--profile",
        metavar="NAME",
        help="which stored login to use (`caiclient login`; default: $CAI_PROFILE, else default)",
        **({"default": None} if not in_command else d),
    )
    g.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="SECONDS",
        help="timeout of every network call",
        **({"default": None} if not in_command else d),
    )
    g.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="debug logging (and tracebacks) on stderr",
        **({"default": False} if not in_command else d),
    )


EPILOG = """\
exit codes: 0 ok, 1 service/API error, 2 usage error, 3 authentication error,
4 network error or timeout, 130 interrupted.
The token comes from --token-file, else $CAI_TOKEN, else the login stored by
`caiclient login` (--profile NAME), else a hidden prompt."""


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser (every registered command a sub-parser)."""
    p = argparse.ArgumentParser(
        prog="caiclient",
        description="Character.AI from the command line.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"caiclient {caiclient.__version__}")
    _add_global_options(p, in_command=False)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for command in commands().values():
        if command.passthrough:
            sub.add_parser(command.name, help=command.help, add_help=False)
            continue
        c = sub.add_parser(command.name, help=command.help, description=command.help)
        command.configure(c)
        _add_global_options(c, in_command=True)
    return p


def _passthrough_argv(
    argv: Sequence[str], table: Dict[str, Command]
) -> Optional[Tuple[Command, List[str]]]:
    """If the command parses its own arguments, it and everything after its name; else ``None``."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in table:
            command = table[arg]
            return (command, list(argv[i + 1 :])) if command.passthrough else None
        if arg in _GLOBAL_WITH_VALUE:
            i += 2
            continue
        if arg in _GLOBAL_FLAGS or any(arg.startswith(o + "=") for o in _GLOBAL_WITH_VALUE):
            i += 1
            continue
        return None
    return None


@contextlib.contextmanager
def _verbose_logging(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    previous = log.level
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(previous)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the parsed command (errors propagate; :func:`main` turns them into exit codes)."""
    command = commands().get(args.command or "")
    if command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    with contextlib.ExitStack() as stack:
        return command.run(args, Context(args, stack))


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``caiclient`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough = _passthrough_argv(argv, commands())
    if passthrough is not None:
        command, rest = passthrough
        args = argparse.Namespace(command=command.name, rest=rest, verbose=False)
        with contextlib.ExitStack() as stack:
            return command.run(args, Context(args, stack))
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    verbose = bool(args.verbose)
    with _verbose_logging(verbose):
        try:
            return run(args, parser)
        except KeyboardInterrupt:
            print(file=sys.stderr)
            print("interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            # The reader went away (e.g. `| head`): stop quietly.
            with contextlib.suppress(OSError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            return EXIT_API
        except (errors.CaiError, CliError, OSError) as exc:
            report(exc, verbose=verbose)
            return exit_code_for(exc)
