"""Reading the chat's input lines: line editing and a history kept across sessions.

With the ``cli`` extra (prompt_toolkit) the prompt has full line editing,
history search (Ctrl-R) and suggestions from the history; without it the
stdlib ``readline`` gives line editing and the history; where neither
exists a plain ``input()`` is used. ``CAICLIENT_LINE_EDITOR=readline`` (or
``plain``) picks a simpler one. The history lives in
``$CAICLIENT_HISTORY_FILE``, else ``$XDG_STATE_HOME/caiclient/chat_history``
(``~/.local/state/...``), created with mode 0600: it holds what you typed.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, Callable, Optional

HISTORY_LENGTH = 2000


def history_path() -> str:
    """Where the chat's input history is kept."""
    explicit = os.environ.get("CAICLIENT_HISTORY_FILE")
    if explicit:
        return explicit
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(state, "caiclient", "chat_history")


def _input_with_ctrl_c_as_a_key(prompt: str) -> str:
    """``input()`` with the terminal's interrupt character disabled meanwhile (on a terminal)."""
    try:
        import termios

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
    except (ImportError, OSError, ValueError, AttributeError):
        return input(prompt)
    quiet = list(saved)
    quiet[6] = list(saved[6])
    quiet[6][termios.VINTR] = b"\x00"  # no interrupt character (readline keeps ISIG on)
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        return input(prompt)
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


def _private_file(path: str) -> bool:
    """Create ``path`` (and its directory) readable by the user only; False if impossible."""
    try:
        os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
        return True
    except OSError:
        return False


class LineReader:
    """``read(prompt)``: the next line, ``None`` at end of input (Ctrl-D).

    Ctrl-C on a half-typed line drops it: with prompt_toolkit (and a plain
    ``input()``) by raising :class:`KeyboardInterrupt`, after which the
    caller prompts again; with readline the line is cleared in place.
    """

    def __init__(self, *, history: Optional[str] = None, plain: bool = False) -> None:
        self.kind = "plain"
        self.history = history
        self._read: Callable[[str], str] = input
        self._close: Callable[[], None] = lambda: None
        wanted = "plain" if plain else os.environ.get("CAICLIENT_LINE_EDITOR", "").lower()
        if wanted not in ("readline", "plain") and self._try_prompt_toolkit():
            return
        if wanted != "plain":
            self._try_readline()

    def _try_prompt_toolkit(self) -> bool:
        try:
            from prompt_toolkit import PromptSession
            from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
            from prompt_toolkit.history import FileHistory, InMemoryHistory
        except ImportError:
            return False
        hist: Any = InMemoryHistory()
        if self.history and _private_file(self.history):
            hist = FileHistory(self.history)
        session: Any = PromptSession(history=hist, auto_suggest=AutoSuggestFromHistory())
        self._read = lambda prompt: str(session.prompt(prompt))
        self.kind = "prompt_toolkit"
        return True

    def _try_readline(self) -> None:
        try:
            import readline
        except ImportError:
            return
        self.kind = "readline"
        # Ctrl-C while typing is a key that clears the line (readline's own
        # kill-whole-line), not a SIGINT: a signal that lands while readline is
        # between two reads of the terminal would only be seen after Enter.
        readline.parse_and_bind(r'"\C-c": kill-whole-line')
        self._read = _input_with_ctrl_c_as_a_key
        path = self.history
        if not path or not _private_file(path):
            return
        with contextlib.suppress(OSError):
            readline.read_history_file(path)
        readline.set_history_length(HISTORY_LENGTH)

        def save() -> None:
            with contextlib.suppress(OSError):
                readline.write_history_file(path)
                os.chmod(path, 0o600)

        self._close = save

    def read(self, prompt: str) -> Optional[str]:
        """The next line without its newline, or ``None`` at end of input."""
        try:
            return self._read(prompt)
        except EOFError:
            print()
            return None

    def close(self) -> None:
        """Save the history."""
        self._close()


def read_piped_line() -> Optional[str]:
    """The next line of piped input, or ``None`` at its end."""
    line = sys.stdin.readline()
    if not line:
        return None
    return line.rstrip("\r\n")
