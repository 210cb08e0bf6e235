"""The ``caiclient`` command (also ``python -m caiclient``).

Commands::

    caiclient demo [--fast]
    caiclient chat CHARACTER [--chat CHAT_ID] [--new]       (a name or an id)
    caiclient chats [CHARACTER] [--json]
    caiclient search QUERY [--creators] [--json]
    caiclient character ID [--json]
    caiclient voices [QUERY] [--json]
    caiclient export CHAT_ID [--format json|md|html] [-o FILE] [--progress]
    caiclient tts (CHAT_ID TURN_ID | --last) [--voice ID] [--candidate ID] -o FILE
    caiclient completion bash|zsh|fish
    caiclient emulator [emulator options]

Global options (before or after the command): ``--token-file PATH``,
``--emulator``, ``--emulator-url URL``, ``--timeout SECONDS``, ``-v``.

Exit codes: 0 ok, 1 service/API error, 2 usage error, 3 authentication
error, 4 network error or timeout, 130 interrupted.

Layout: one module per command, ``caiclient/cli/NAME.py`` (``chat.py``,
``export.py``, ...), and a small shared core:

- ``_core.py``: exit codes, :class:`CliError`, error reporting
  (:func:`~caiclient.cli._core.report`, ``exit_code_for``), the
  :class:`~caiclient.cli._core.Command` record, terminal checks;
- ``_session.py``: opening the session from the global options, the token
  included (:class:`~caiclient.cli._session.Context`, ``open_session``);
- ``_output.py``: JSON, short formats, tables, a progress line, ``atomic_output``;
- ``_lookup.py``: a character by name or id (``resolve_character``);
- ``_app.py``: the registry (``COMMAND_MODULES``), the argparse assembly
  (:func:`build_parser`) and :func:`main`.

Adding a command is one module plus one line in the registry:

1. Write ``caiclient/cli/NAME.py`` ending with::

       def configure(p: argparse.ArgumentParser) -> None:
           p.add_argument("query", metavar="QUERY")

       def run(args: argparse.Namespace, ctx: Context) -> int:
           session = ctx.session(needs_account=True)  # opened on first use
           ...
           return EXIT_OK

       COMMAND = Command("NAME", "one line for --help", configure, run)

   ``run`` returns the exit code; for an expected failure it raises
   :class:`CliError` (message, exit code, hint) or lets a
   :mod:`caiclient.errors` error through: :func:`main` prints one
   ``error:`` line (and a ``hint:`` line) and picks the exit code. The
   global options are added to every command's parser for you.
   A module that holds a family of commands (``login``, ``logout``,
   ``whoami``) defines ``COMMANDS = (Command(...), ...)`` instead.
2. Add ``"NAME",`` to ``COMMAND_MODULES`` in ``caiclient/cli/_app.py``
   where it reads best in ``caiclient --help``.
3. Document it in ``docs/cli.rst`` (a test checks every command and option
   is there) and test it in ``tests/test_cli.py`` or a file of its own.
"""

from __future__ import annotations

from caiclient.cli._app import build_parser, main
from caiclient.cli._core import (
    EXIT_API,
    EXIT_AUTH,
    EXIT_INTERRUPTED,
    EXIT_NETWORK,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
)

__all__ = [
    "EXIT_API",
    "EXIT_AUTH",
    "EXIT_INTERRUPTED",
    "EXIT_NETWORK",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliError",
    "build_parser",
    "main",
]
