"""Opening the command's :class:`~caiclient.Session` from the global options (token included)."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import sys
from typing import Any, Dict, Iterator, Optional

import caiclient
from caiclient import errors
from caiclient.cli._core import (
    AUTH_HINT,
    BAD_TOKEN_HINT,
    EXIT_AUTH,
    EXIT_USAGE,
    CliError,
    log,
    needs_extra,
    stdin_is_tty,
    stream_is_tty,
)
from caiclient.credentials import stored_token


def read_token_file(path: str) -> str:
    """The first line of ``path``, stripped (never echoed anywhere)."""
    try:
        with open(path, encoding="utf-8") as f:
            first = f.readline()
    except FileNotFoundError:
        raise CliError(f"--token-file {path}: no such file", EXIT_USAGE) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
        raise CliError(f"--token-file {path}: {reason}", EXIT_USAGE) from None
    token = first.strip()
    if not token:
        raise CliError(
            f"--token-file {path}: the first line holds no token", EXIT_AUTH, hint=AUTH_HINT
        )
    return token


@contextlib.contextmanager
def _fresh_emulator(delay: float) -> Iterator[Any]:
    try:
        from caiclient import emulator
    except ImportError:
        raise needs_extra("--emulator", "emulator") from None
    with emulator.serve(delay=delay) as emu:
        log.info("started an emulator at %s (characters: %s)", emu.url, emu.character_ids)
        yield emu


def open_session(
    args: argparse.Namespace, stack: contextlib.ExitStack, *, needs_account: bool
) -> caiclient.Session:
    """Build the command's :class:`~caiclient.Session` from the global options.

    The token comes from ``--token-file``, else ``CAI_TOKEN``, else the
    login ``caiclient login`` stored for these endpoints (``--profile``),
    else (when the command needs an account and stdin is a terminal) a
    no-echo prompt. ``--emulator`` starts a fresh in-process emulator (and uses its
    token unless ``--token-file`` is given); ``--emulator-url`` or
    ``CAI_EMULATOR_URL`` points at a running one. Everything opened is
    closed by ``stack``.
    """
    endpoints: Optional[caiclient.Endpoints] = None
    token: Optional[str] = None
    if args.emulator and args.emulator_url:
        raise CliError("--emulator and --emulator-url exclude each other", EXIT_USAGE)
    if args.emulator:
        delay = 0.02 if stream_is_tty(sys.stdout) and args.command == "chat" else 0.0
        emu = stack.enter_context(_fresh_emulator(delay))
        endpoints = caiclient.Endpoints.for_emulator(emu.url)
        token = emu.token
        args.emulator_character_ids = list(emu.character_ids)
        args.emulator_outbox = emu.outbox
    else:
        url = args.emulator_url or os.environ.get("CAI_EMULATOR_URL") or None
        if url:
            try:
                endpoints = caiclient.Endpoints.for_emulator(url)
            except errors.ValidationError as exc:
                raise CliError(f"--emulator-url: {exc}", EXIT_USAGE) from None
    if args.token_file:
        token = read_token_file(args.token_file)
    elif token is None:
        token = os.environ.get("CAI_TOKEN", "").strip() or None
        if token is None:
            token = stored_token(endpoints, getattr(args, "profile", None))
    if token is None and needs_account and stdin_is_tty():
        try:
            token = getpass.getpass("Character.AI token (input hidden): ").strip() or None
        except EOFError:
            token = None
    if token is None and needs_account:
        raise CliError(f"`caiclient {args.command}` needs an account", EXIT_AUTH, hint=AUTH_HINT)
    kwargs: Dict[str, Any] = {}
    if args.timeout is not None:
        kwargs["timeout"] = args.timeout
    try:
        session = caiclient.Session(
            token,
            web_next_auth=os.environ.get("CAI_WEB_NEXT_AUTH") or None,
            endpoints=endpoints,
            **kwargs,
        )
    except errors.ValidationError as exc:
        if exc.field in ("token", "web_next_auth"):
            raise CliError(
                f"the {exc.field} is not valid: {exc}", EXIT_AUTH, BAD_TOKEN_HINT
            ) from None
        raise
    stack.callback(session.close)
    return session


class Context:
    """What a command's ``run`` gets besides its arguments: a lazily opened session.

    Attributes:
        args: the parsed command line.
        stack: closes everything the command opened, when it ends.
    """

    def __init__(self, args: argparse.Namespace, stack: contextlib.ExitStack) -> None:
        self.args = args
        self.stack = stack
        self._session: Optional[caiclient.Session] = None

    def session(self, *, needs_account: bool = False) -> caiclient.Session:
        """The command's session (opened on first use, see :func:`open_session`).

        ``needs_account`` means a guest session will not do: without a token
        the command fails with exit code 3 (or asks for one on a terminal).
        """
        if self._session is None:
            self._session = open_session(self.args, self.stack, needs_account=needs_account)
        return self._session
