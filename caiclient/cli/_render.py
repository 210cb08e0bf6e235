"""Terminal output for the chat: speaker names and ``*actions*`` styled, replies wrapped on words.

Styling is plain ANSI (SGR) codes, used only when stdout is a terminal,
``NO_COLOR`` is unset and ``TERM`` is not ``dumb``. Wrapping follows the
terminal's width; when stdout is not a terminal the text goes out exactly as
received (no codes, no added line breaks), so scripts read what the service
sent.
"""

from __future__ import annotations

import os
import shutil
from typing import List, Optional, TextIO

from caiclient.cli._core import stream_is_tty

RESET = "\x1b[0m"
NAME_STYLES = ("\x1b[1;35m", "\x1b[1;32m")  # a character's name, yours
ACTION_STYLE = "\x1b[3;36m"  # *actions*: italic, cyan
DIM_STYLE = "\x1b[2m"


def wants_color(stream: TextIO) -> bool:
    """Whether to style output on ``stream`` (a terminal, no ``NO_COLOR``, not ``TERM=dumb``)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    return stream_is_tty(stream)


class Renderer:
    """Writes chat messages to ``out``: whole ones (:meth:`message`) or streamed (:meth:`begin`).

    Args:
        out: the stream.
        color: use ANSI styles.
        width: wrap at this many columns (``None``: never wrap).
    """

    def __init__(self, out: TextIO, *, color: bool, width: Optional[int]) -> None:
        self.out = out
        self.color = color
        self.width = width if width and width > 10 else None
        self._col = 0
        self._word: List[str] = []
        self._space = False
        self._in_action = False

    @classmethod
    def for_stream(cls, out: TextIO) -> Renderer:
        """Styled and wrapped on a terminal, plain and unwrapped anywhere else."""
        if not stream_is_tty(out):
            return cls(out, color=False, width=None)
        width = shutil.get_terminal_size((80, 24)).columns
        return cls(out, color=wants_color(out), width=width)

    # -- styles

    def style(self, text: str, sgr: str) -> str:
        """``text`` in an SGR style (unchanged without colour)."""
        return f"{sgr}{text}{RESET}" if self.color and text else text

    def dim(self, text: str) -> str:
        """Secondary information (ids, notes)."""
        return self.style(text, DIM_STYLE)

    def note(self, text: str) -> None:
        """A line of secondary information, such as ``(stopped)``."""
        self.out.write(self.dim(text) + "\n")
        self.out.flush()

    # -- messages

    def begin(self, who: str, *, human: bool = False, prefix: str = "") -> None:
        """Start a message: ``prefix`` then the speaker's name and ``": "``."""
        head = prefix + self.style(who, NAME_STYLES[1 if human else 0]) + ": "
        self.out.write(head)
        self.out.flush()
        self._col = len(prefix) + len(who) + 2
        self._word, self._space, self._in_action = [], False, False

    def feed(self, text: str) -> None:
        """More of the message's text."""
        if self.width is None and not self.color:
            self.out.write(text)
            self.out.flush()
            return
        for ch in text:
            if ch == "\n":
                self._flush_word()
                self._newline()
            elif ch in " \t":
                self._flush_word()
                self._space = True
            else:
                self._word.append(ch)
        self.out.flush()

    def end(self, suffix: str = "") -> None:
        """Finish the message (``suffix``, e.g. ``" (pinned)"``, dimmed after it)."""
        self._flush_word()
        if self.color and self._in_action:
            self.out.write(RESET)
        self._in_action = False
        self.out.write(self.dim(suffix) + "\n" if suffix else "\n")
        self.out.flush()
        self._col = 0

    def message(
        self, who: str, text: str, *, human: bool = False, prefix: str = "", suffix: str = ""
    ) -> None:
        """A whole message."""
        self.begin(who, human=human, prefix=prefix)
        self.feed(text)
        self.end(suffix)

    # -- wrapping

    def _newline(self) -> None:
        if self.color and self._in_action:
            self.out.write(RESET + "\n" + ACTION_STYLE)
        else:
            self.out.write("\n")
        self._col = 0
        self._space = False

    def _styled(self, word: str) -> str:
        if not self.color:
            return word
        out = []
        for ch in word:
            if ch == "*":
                if self._in_action:
                    out.append("*" + RESET)
                else:
                    out.append(ACTION_STYLE + "*")
                self._in_action = not self._in_action
            else:
                out.append(ch)
        return "".join(out)

    def _flush_word(self) -> None:
        if not self._word:
            return
        word = "".join(self._word)
        self._word = []
        space = 1 if self._space and self._col > 0 else 0
        width = self.width
        if width is not None:
            if self._col + space + len(word) > width and self._col > 0:
                self._newline()
                space = 0
            while len(word) > width:  # longer than a line: cut it
                head, word = word[: width - self._col], word[width - self._col :]
                self.out.write(self._styled(head))
                self._newline()
        if space:
            self.out.write(" ")
        self.out.write(self._styled(word))
        self._col += space + len(word)
        self._space = False
