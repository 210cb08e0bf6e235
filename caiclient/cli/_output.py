"""Output helpers shared by the commands: JSON, short formats, a progress line, safe file writes."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import tempfile
import time
from datetime import datetime, timezone
from typing import IO, Any, Dict, Iterator, List, Mapping, Optional, Sequence, TextIO, cast

import attrs

from caiclient.cli._core import EXIT_API, EXIT_USAGE, CliError
from caiclient.models import Avatar, Model
from caiclient.resources._replies import ReplyStream


def jsonable(value: Any) -> Any:
    """A model (or anything inside one) as plain JSON data, without ``raw``."""
    if isinstance(value, Avatar):
        return value.file_name
    if isinstance(value, Model):
        return {
            f.name: jsonable(getattr(value, f.name))
            for f in attrs.fields(cast(Any, type(value)))
            if f.name != "raw"
        }
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON."""
    print(json.dumps(data, indent=2, ensure_ascii=False))


def when(value: Optional[datetime]) -> str:
    """A timestamp to the minute (UTC when it has a zone), or ``""``."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.strftime("%Y-%m-%d %H:%M")


def count(n: Optional[int]) -> str:
    """A count with thousands separators, ``-`` when unknown."""
    return "-" if n is None else f"{n:,}"


def clip(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with ``...``."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 3)] + "..."


def table(rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()) -> List[str]:
    """Rows as aligned lines: every column but the last padded (``right`` ones to the right)."""
    if not rows:
        return []
    last = len(rows[0]) - 1
    widths = [max(len(r[i]) for r in rows) for i in range(last)]
    lines = []
    for row in rows:
        cells = [
            f"{cell:>{widths[i]}}" if i in right else f"{cell:<{widths[i]}}"
            for i, cell in enumerate(row[:last])
        ]
        lines.append("  ".join([*cells, row[last]]).rstrip())
    return lines


def print_stream(reply: ReplyStream, name: str) -> None:
    """Print a streamed reply as it arrives, after ``name: ``."""
    print(f"{name}: ", end="", flush=True)
    for piece in reply.text_deltas():
        print(piece, end="", flush=True)
    print()
    if reply.turn is not None and reply.turn.is_filtered:
        print("  (the service's filter cut this reply short)")


class Progress:
    """A minimal progress line on a stream: a counter, or a bar once the total is known.

    Disabled (does nothing) unless ``enabled``. Redraws at most every
    ``interval`` seconds, and always on :meth:`done`.
    """

    def __init__(
        self, stream: TextIO, enabled: bool, label: str, *, width: int = 30, interval: float = 0.1
    ) -> None:
        self.stream = stream
        self.enabled = enabled
        self.label = label
        self.width = width
        self.interval = interval
        self._last = 0.0
        self._shown = 0

    def update(self, done: int, total: Optional[int] = None, *, force: bool = False) -> None:
        """Show ``done`` items (of ``total`` when known)."""
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        if total:
            filled = min(self.width, self.width * done // total)
            bar = "#" * filled + "-" * (self.width - filled)
            line = f"{self.label} [{bar}] {done}/{total} {100 * done // total:3d}%"
        else:
            line = f"{self.label} {done}..."
        pad = " " * max(0, self._shown - len(line))
        self.stream.write("\r" + line + pad)
        self.stream.flush()
        self._shown = len(line)

    def clear(self) -> None:
        """Erase the progress line."""
        if self.enabled and self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self.stream.flush()
            self._shown = 0


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_in_place(path: str) -> bool:
    """Whether ``path`` is something to write to, not a file to replace (a FIFO, a device...)."""
    try:
        st = os.stat(path)
    except OSError:
        return False  # not there yet: a new regular file
    if not stat.S_ISREG(st.st_mode):
        return True
    # /dev/stdout redirected to a file is regular, but it is a stream to write to.
    special = ("/dev/", "/proc/")
    return os.path.abspath(path).startswith(special) or os.path.realpath(path).startswith(special)


_TEXT: Dict[str, Any] = {"encoding": "utf-8", "newline": "\n"}


def _cannot_write(path: str, exc: OSError) -> CliError:
    return CliError(f"cannot write {path}: {exc.strerror or exc}", EXIT_API)


@contextlib.contextmanager
def atomic_output(path: str, *, binary: bool = False) -> Iterator[IO[Any]]:
    """Write ``path`` all at once: a temp file in the same directory, then ``os.replace``.

    If the block fails, the temp file is removed and ``path`` is left as it
    was. ``"-"`` writes to stdout instead; a path that is not a regular file
    (a FIFO, ``/dev/stdout``, a device) is written to directly, never
    replaced. A symlink keeps pointing where it did: its target is replaced.
    A file that cannot be written is a :class:`CliError` (exit code 1)
    naming ``path`` as the user gave it.
    """
    if path == "-":
        if binary:
            out: IO[Any] = getattr(sys.stdout, "buffer", sys.stdout)
            yield out
            out.flush()
        else:
            yield sys.stdout
            sys.stdout.flush()
        return
    if os.path.isdir(path):
        raise CliError(f"cannot write {path}: it is a directory", EXIT_USAGE)
    if _write_in_place(path):
        try:
            f: IO[Any] = open(  # noqa: SIM115 - closed below, after the yield
                path, "wb" if binary else "w", **({} if binary else _TEXT)
            )
        except OSError as exc:
            raise _cannot_write(path, exc) from None
        with f:
            yield f
        return
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise CliError(f"cannot write {path}: no such directory {directory}", EXIT_USAGE)
    try:
        mode = os.stat(target).st_mode & 0o777
    except OSError:
        mode = 0o666 & ~_umask()
    try:
        fd, tmp = tempfile.mkstemp(
            prefix="." + os.path.basename(target) + ".", suffix=".tmp", dir=directory
        )
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    try:
        f = os.fdopen(fd, "wb" if binary else "w", **({} if binary else _TEXT))
        with f:
            yield f
            try:
                f.flush()
                os.fsync(f.fileno())
            except OSError as exc:
                raise _cannot_write(path, exc) from None
        try:
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except OSError as exc:
            raise _cannot_write(path, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
