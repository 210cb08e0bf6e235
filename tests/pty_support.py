"""Running the ``caiclient`` command in a pseudo-terminal, with bounded waits (no sleeps)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from typing import Dict, List, Optional, Pattern, Union

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\x1b[=>]|\x1b\][^\x07]*\x07|\r")


def plain(text: str) -> str:
    """``text`` without terminal escape sequences and carriage returns."""
    return ANSI.sub("", text)


class Terminal:
    """A child process on a pseudo-terminal of ``cols`` x ``rows``; its output is accumulated."""

    def __init__(
        self, argv: List[str], env: Dict[str, str], *, cols: int = 80, rows: int = 24
    ) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: the pty is its controlling terminal
            try:
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid = pid
        self.fd = fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.raw = b""
        self.mark = 0  # expect() looks from here on
        self.status: Optional[int] = None

    @property
    def text(self) -> str:
        """Everything printed so far, escapes removed."""
        return plain(self.raw.decode("utf-8", "replace"))

    def _pump(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            data = b""
        if not data:
            raise EOFError
        self.raw += data
        return True

    def expect(self, pattern: Union[str, Pattern[str]], timeout: float = 30) -> re.Match[str]:
        """Wait (at most ``timeout`` s) until ``pattern`` appears after the mark; move the mark."""
        regex = re.compile(re.escape(pattern)) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            found = regex.search(self.text, self.mark)
            if found:
                self.mark = found.end()
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{regex.pattern!r} not seen in {timeout}s; got:\n{self.text}")
            try:
                self._pump(min(left, 0.5))
            except EOFError:
                raise AssertionError(
                    f"the program ended before {regex.pattern!r}:\n{self.text}"
                ) from None

    def send(self, data: str) -> None:
        """Type ``data`` (``"\\x03"`` is Ctrl-C, ``"\\x04"`` Ctrl-D, ``"\\r"`` Enter)."""
        os.write(self.fd, data.encode("utf-8"))

    def wait(self, timeout: float = 30) -> int:
        """Wait for the child to exit (reading what it prints); its exit code."""
        deadline = time.monotonic() + timeout
        while self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"still running after {timeout}s:\n{self.text}")
            try:
                self._pump(0.2)
            except EOFError:
                pid, status = os.waitpid(self.pid, 0)
                self.status = os.waitstatus_to_exitcode(status)
        with_rest = True
        while with_rest:
            try:
                with_rest = self._pump(0)
            except EOFError:
                break
        return self.status

    def close(self) -> None:
        """Kill the child if it still runs, and close the terminal."""
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(self.fd)


def caiclient_argv(*args: str) -> List[str]:
    """The command line of ``python -m caiclient ARGS``."""
    return [sys.executable, "-m", "caiclient", *args]
