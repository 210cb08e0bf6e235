"""What every command shares: exit codes, :class:`CliError`, error reporting, :class:`Command`."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from typing import IO, TYPE_CHECKING, Any, Callable, Optional, Sequence

import attrs

from caiclient import errors

if TYPE_CHECKING:  # pragma: no cover
    from caiclient.cli._session import Context

log = logging.getLogger("caiclient")

EXIT_OK = 0
"""Success."""
EXIT_API = 1
"""The service (or the emulator) answered with a failure, or a file could not be written."""
EXIT_USAGE = 2
"""Bad arguments (argparse errors, invalid ids, missing files)."""
EXIT_AUTH = 3
"""No token where one is needed, or the token was refused."""
EXIT_NETWORK = 4
"""Could not reach the service, the connection dropped, or it timed out."""
EXIT_INTERRUPTED = 130
"""Interrupted (Ctrl-C)."""

AUTH_HINT = (
    "log in with `caiclient login`, or pass a token: set CAI_TOKEN or use --token-file PATH "
    "(or try it on the bundled emulator with --emulator)"
)
BAD_TOKEN_HINT = (
    "check CAI_TOKEN / --token-file, or run `caiclient login` again "
    "(the token may be wrong or expired)"
)


def install_hint(extra: str) -> str:
    """How to install an extra, from PyPI or from a checkout of the source."""
    return f"pip install 'caiclient[{extra}]' (from a checkout: pip install '.[{extra}]')"


def needs_extra(what: str, extra: str) -> CliError:
    """The error for a command that needs an extra that is not installed."""
    return CliError(f"{what} needs the {extra} extra", EXIT_USAGE, hint=install_hint(extra))


class CliError(Exception):
    """An expected failure of the command: one line on stderr and an exit code.

    Attributes:
        message: what went wrong (printed after ``error:``).
        code: the exit code.
        hint: an optional suggestion printed on the last line.
        details: lines printed between the two (e.g. the candidates of an
            ambiguous name).
    """

    def __init__(
        self,
        message: str,
        code: int = EXIT_USAGE,
        hint: Optional[str] = None,
        details: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.hint = hint
        self.details = list(details)


@attrs.frozen
class Command:
    """One ``caiclient`` command, as a command module declares it (``COMMAND = Command(...)``).

    Attributes:
        name: the word after ``caiclient``.
        help: one line for ``caiclient --help`` (also the command's description).
        configure: adds the command's own arguments to its parser.
        run: does the work; returns the exit code, raises :class:`CliError`
            or a :mod:`caiclient.errors` error for an expected failure.
        passthrough: the command parses its own arguments: ``run`` gets
            everything after its name, untouched, as ``args.rest``.
    """

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Context], int]
    passthrough: bool = False


def stream_is_tty(stream: Optional[IO[Any]]) -> bool:
    """Whether ``stream`` is an open terminal."""
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):
        return False


def stdin_is_tty() -> bool:
    """Whether stdin is a terminal (a person may be asked something)."""
    return stream_is_tty(sys.stdin)


# ----------------------------------------------------------------------- errors


def exit_code_for(exc: BaseException) -> int:
    """The exit code for an exception the command ended with."""
    if isinstance(exc, CliError):
        return exc.code
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, (errors.AuthenticationError, errors.AuthRequiredError)):
        return EXIT_AUTH
    if isinstance(exc, errors.TransportError):
        return EXIT_NETWORK
    if isinstance(exc, errors.ValidationError):
        return EXIT_USAGE
    return EXIT_API


def _hint_for(exc: BaseException) -> Optional[str]:
    if isinstance(exc, CliError):
        return exc.hint
    if isinstance(exc, errors.AuthenticationError):
        return BAD_TOKEN_HINT
    if isinstance(exc, errors.AuthRequiredError):
        return AUTH_HINT
    if isinstance(exc, errors.RateLimited):
        after = f" (the service asks for {exc.retry_after:g}s)" if exc.retry_after else ""
        return f"wait a little and try again{after}"
    if isinstance(exc, errors.Timeout):
        return "the service was too slow: try again, or raise --timeout"
    if isinstance(exc, errors.NetworkError):
        return "check your connection (or the --emulator-url / CAI_EMULATOR_URL)"
    if isinstance(exc, errors.ServerError):
        return "the service failed: try again later"
    return None


def _message_for(exc: BaseException) -> str:
    if isinstance(exc, CliError):
        return exc.message
    if isinstance(exc, errors.AuthRequiredError):
        return "this needs an account (a token)"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return str(exc) or type(exc).__name__


def report(exc: BaseException, *, verbose: bool = False) -> None:
    """Print an expected error as one ``error:`` line (and a hint line) on stderr."""
    if verbose and not isinstance(exc, KeyboardInterrupt):
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    print(f"error: {_message_for(exc)}", file=sys.stderr)
    for line in getattr(exc, "details", ()):
        print(f"  {line}", file=sys.stderr)
    hint = _hint_for(exc)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    sys.stderr.flush()
