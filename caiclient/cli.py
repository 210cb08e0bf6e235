"""The ``caiclient`` command (also ``python -m caiclient``).

Commands::

    caiclient demo [--fast]
    caiclient chat CHARACTER_ID [--chat CHAT_ID] [--new]
    caiclient search QUERY [--creators] [--json]
    caiclient character ID [--json]
    caiclient export CHAT_ID [--format json|md|html] [-o FILE] [--progress]
    caiclient tts CHAT_ID TURN_ID --voice ID [--candidate ID] -o FILE
    caiclient emulator [emulator options]

Global options (before or after the command): ``--token-file PATH``,
``--emulator``, ``--emulator-url URL``, ``--timeout SECONDS``, ``-v``.

Exit codes: 0 ok, 1 service/API error, 2 usage error, 3 authentication
error, 4 network error or timeout, 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import html
import itertools
import json
import logging
import os
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from typing import (
    IO,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    TextIO,
    Tuple,
    cast,
)

import attrs

import caiclient
from caiclient import errors
from caiclient.models import Avatar, Character, Chat, Model, Turn
from caiclient.resources._replies import ReplyStream

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

DEMO_LINES = (
    "Hello! Who are you?",
    "What do you enjoy most?",
    "Tell me something surprising.",
)

AUTH_HINT = (
    "pass a token: set CAI_TOKEN or use --token-file PATH "
    "(or try it on the bundled emulator with --emulator)"
)
BAD_TOKEN_HINT = "check CAI_TOKEN / --token-file (the token may be wrong or expired)"

EXPORT_FORMATS = ("json", "md", "html")
_FORMAT_BY_SUFFIX = {
    ".json": "json",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
}

HISTORY_DEFAULT = 10


class CliError(Exception):
    """An expected failure of the command: one line on stderr and an exit code.

    Attributes:
        message: what went wrong (printed after ``error:``).
        code: the exit code.
        hint: an optional suggestion printed on a second line.
    """

    def __init__(self, message: str, code: int = EXIT_USAGE, hint: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.hint = hint


# ---------------------------------------------------------------------------- demo


def _print_stream(reply: ReplyStream, name: str) -> None:
    print(f"{name}: ", end="", flush=True)
    for piece in reply.text_deltas():
        print(piece, end="", flush=True)
    print()
    if reply.turn is not None and reply.turn.is_filtered:
        print("  (the service's filter cut this reply short)")


def cmd_demo(args: argparse.Namespace) -> int:
    """Start the bundled emulator in-process and play a short streamed conversation."""
    try:
        from caiclient import emulator
    except ImportError:  # pragma: no cover - depends on the install
        print(
            "the demo needs the emulator extra: pip install 'caiclient[emulator]'", file=sys.stderr
        )
        return 2
    delay = 0.0 if args.fast else 0.04
    with emulator.serve(delay=delay) as emu:
        endpoints = caiclient.Endpoints.for_emulator(emu.url)
        with caiclient.Session(emu.token, endpoints=endpoints) as session:
            me = session.account.me()
            character = session.characters.get(emu.character_ids[0])
            print(f"caiclient {caiclient.__version__} demo: the bundled emulator at {emu.url}")
            print(
                f"Signed in as {me.username}; chatting with {character.name} ({character.title})."
            )
            print()
            chat, greeting = session.chats.create(character.character_id)
            if greeting is not None:
                print(f"{character.name}: {greeting.text}")
            for line in DEMO_LINES:
                print(f"{me.username}: {line}")
                with session.chats.stream(character.character_id, chat.chat_id, line) as reply:
                    _print_stream(reply, character.name)
            turns = sum(1 for _ in session.chats.turns(chat.chat_id))
            print()
            print(f"The chat now holds {turns} turns.")
    return 0


def cmd_emulator(args: argparse.Namespace, rest: Sequence[str]) -> int:
    """Run the emulator until Ctrl-C (options of ``python -m caiclient.emulator``)."""
    try:
        from caiclient.emulator import main as emulator_main
    except ImportError:  # pragma: no cover - depends on the install
        print("the emulator needs its extra: pip install 'caiclient[emulator]'", file=sys.stderr)
        return 2
    return emulator_main(list(rest))


# ------------------------------------------------------------------- the session


def _stdin_is_tty() -> bool:
    try:
        return bool(sys.stdin is not None and sys.stdin.isatty())
    except (AttributeError, ValueError):
        return False


def _stream_is_tty(stream: Optional[IO[Any]]) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):
        return False


def _read_token_file(path: str) -> str:
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
    except ImportError:  # pragma: no cover - depends on the install
        raise CliError(
            "--emulator needs the emulator extra",
            EXIT_USAGE,
            hint="pip install 'caiclient[emulator]'",
        ) from None
    with emulator.serve(delay=delay) as emu:
        log.info("started an emulator at %s (characters: %s)", emu.url, emu.character_ids)
        yield emu


def open_session(
    args: argparse.Namespace, stack: contextlib.ExitStack, *, needs_account: bool
) -> caiclient.Session:
    """Build the command's :class:`~caiclient.Session` from the global options.

    The token comes from ``--token-file``, else ``CAI_TOKEN``, else (when
    the command needs an account and stdin is a terminal) a no-echo
    prompt. ``--emulator`` starts a fresh in-process emulator (and uses its
    token unless ``--token-file`` is given); ``--emulator-url`` or
    ``CAI_EMULATOR_URL`` points at a running one. Everything opened is
    closed by ``stack``.
    """
    endpoints: Optional[caiclient.Endpoints] = None
    token: Optional[str] = None
    if args.emulator:
        delay = 0.02 if _stream_is_tty(sys.stdout) and args.command == "chat" else 0.0
        emu = stack.enter_context(_fresh_emulator(delay))
        endpoints = caiclient.Endpoints.for_emulator(emu.url)
        token = emu.token
        args.emulator_character_ids = list(emu.character_ids)
    else:
        url = args.emulator_url or os.environ.get("CAI_EMULATOR_URL") or None
        if url:
            try:
                endpoints = caiclient.Endpoints.for_emulator(url)
            except errors.ValidationError as exc:
                raise CliError(f"--emulator-url: {exc}", EXIT_USAGE) from None
    if args.token_file:
        token = _read_token_file(args.token_file)
    elif token is None:
        token = os.environ.get("CAI_TOKEN", "").strip() or None
    if token is None and needs_account and _stdin_is_tty():
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


# --------------------------------------------------------------------- helpers


def _jsonable(value: Any) -> Any:
    """A model (or anything inside one) as plain JSON data, without ``raw``."""
    if isinstance(value, Avatar):
        return value.file_name
    if isinstance(value, Model):
        return {
            f.name: _jsonable(getattr(value, f.name))
            for f in attrs.fields(cast(Any, type(value)))
            if f.name != "raw"
        }
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _when(value: Optional[datetime]) -> str:
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.strftime("%Y-%m-%d %H:%M")


def _count(n: Optional[int]) -> str:
    return "-" if n is None else f"{n:,}"


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 3)] + "..."


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


@contextlib.contextmanager
def atomic_output(path: str, *, binary: bool = False) -> Iterator[IO[Any]]:
    """Write ``path`` all at once: a temp file in the same directory, then ``os.replace``.

    If the block fails, the temp file is removed and ``path`` is left as it
    was. ``"-"`` writes to stdout instead.
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
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CliError(f"cannot write {path}: no such directory {directory}", EXIT_USAGE)
    if os.path.isdir(path):
        raise CliError(f"cannot write {path}: it is a directory", EXIT_USAGE)
    try:
        mode = os.stat(path).st_mode & 0o777
    except OSError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(
        prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory
    )
    try:
        f: IO[Any] = (
            os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        )
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------------- search


def cmd_search(args: argparse.Namespace, session: caiclient.Session) -> int:
    """Search characters (or creators with ``--creators``) and print them."""
    if args.creators:
        creators = session.characters.search_creators(args.query)
        if args.json:
            _print_json([_jsonable(c) for c in creators])
        elif not creators:
            print(f"no creators found for {args.query!r}", file=sys.stderr)
        else:
            for c in creators:
                print(c.username)
        return EXIT_OK
    characters = session.characters.search(args.query)
    if args.json:
        _print_json([_jsonable(c) for c in characters])
        return EXIT_OK
    if not characters:
        print(f"no characters found for {args.query!r}", file=sys.stderr)
        return EXIT_OK
    rows = [("NAME", "ID", "INTERACTIONS", "TITLE")] + [
        (_clip(c.name, 24), c.character_id, _count(c.num_interactions), _clip(c.title, 50))
        for c in characters
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for name, cid, n, title in rows:
        print(f"{name:<{widths[0]}}  {cid:<{widths[1]}}  {n:>{widths[2]}}  {title}".rstrip())
    return EXIT_OK


# ------------------------------------------------------------------- character


def cmd_character(args: argparse.Namespace, session: caiclient.Session) -> int:
    """Print one character's details."""
    c = _get_character(args, session, args.id)
    if args.json:
        _print_json(_jsonable(c))
        return EXIT_OK
    print(f"{c.name}" + (f" - {c.title}" if c.title else ""))
    fields: List[Tuple[str, str]] = [
        ("id", c.character_id),
        ("creator", c.author_username or ""),
        ("interactions", _count(c.num_interactions)),
        ("likes", _count(c.upvotes)),
        ("visibility", c.visibility),
        ("voice", c.voice_id or c.default_voice_id),
        ("avatar", session.avatar_url(c.avatar) if c.avatar else ""),
    ]
    for label, value in fields:
        if value:
            print(f"  {label + ':':<14}{value}")
    for label, text in (
        ("Description", c.description),
        ("Greeting", c.greeting),
        ("Definition", c.definition),
    ):
        if text:
            print()
            print(f"{label}:")
            for line in text.splitlines():
                print(f"  {line}")
    return EXIT_OK


# ---------------------------------------------------------------------- export


def _turn_dict(turn: Turn) -> Dict[str, Any]:
    data: Dict[str, Any] = _jsonable(turn)
    data["text"] = turn.text
    return data


class _Renderer:
    """Renders an export: a head, one chunk per turn, separators and a tail."""

    separator = ""

    def __init__(self, chat: Chat, character_name: str, count: int, exported: datetime) -> None:
        self.chat = chat
        self.character_name = character_name
        self.count = count
        self.exported = exported

    @property
    def title(self) -> str:
        return f"Chat with {self.character_name}"

    def head(self) -> str:
        raise NotImplementedError  # pragma: no cover

    def turn(self, turn: Turn) -> str:
        raise NotImplementedError  # pragma: no cover

    def tail(self) -> str:
        return ""


class _JsonRenderer(_Renderer):
    separator = ",\n"

    def head(self) -> str:
        meta = {
            "format": "caiclient-chat-export",
            "version": 1,
            "exported_at": self.exported.isoformat(),
            "chat": _jsonable(self.chat),
            "character_name": self.character_name,
            "turn_count": self.count,
        }
        body = json.dumps(meta, indent=2, ensure_ascii=False)
        return body[: body.rindex("}")].rstrip() + ',\n  "turns": [\n'

    def turn(self, turn: Turn) -> str:
        return "    " + json.dumps(_turn_dict(turn), ensure_ascii=False)

    def tail(self) -> str:
        return "\n  ]\n}\n"


def _md_inline(text: str) -> str:
    out = []
    for ch in text:
        if ch in "\\`*_[]<>#|":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


class _MarkdownRenderer(_Renderer):
    separator = "\n"

    def head(self) -> str:
        lines = [f"# {_md_inline(self.title)}", ""]
        if self.chat.name:
            lines += [f"*{_md_inline(self.chat.name)}*", ""]
        lines += [
            f"- Chat: `{self.chat.chat_id}`",
            f"- Character: {_md_inline(self.character_name)}"
            + (f" (`{self.chat.character_id}`)" if self.chat.character_id else ""),
            f"- Turns: {self.count}",
            f"- Exported: {_when(self.exported)}",
            "",
            "---",
            "",
            "",
        ]
        return "\n".join(lines)

    def turn(self, turn: Turn) -> str:
        who = _md_inline(turn.author_name or ("You" if turn.author_is_human else "Character"))
        meta = " · ".join(
            p for p in (_when(turn.create_time), "pinned" if turn.is_pinned else "") if p
        )
        header = f"**{who}**" + (f" ({meta})" if meta else "")
        text = turn.text.rstrip("\n")
        # Hard line breaks so the message keeps its lines when rendered.
        body = "  \n".join(text.split("\n")) if text else "*(empty)*"
        return f"{header}\n\n{body}\n"


_HTML_STYLE = """\
body { font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.5; color: #222; }
header p { color: #666; }
.turn { margin: 1rem 0; padding: .75rem 1rem; border-radius: .5rem; background: #f3f3f6; }
.turn.human { background: #e6f0ff; margin-left: 3rem; }
.turn.pinned { border-left: 4px solid #d9a400; }
.turn .meta { font-size: .85rem; color: #555; margin-bottom: .25rem; }
.turn .author { font-weight: 600; }
.turn .text { white-space: pre-wrap; overflow-wrap: anywhere; }
"""


class _HtmlRenderer(_Renderer):
    separator = "\n"

    def head(self) -> str:
        e = html.escape
        sub = f"<p>{e(self.chat.name)}</p>\n" if self.chat.name else ""
        return (
            "<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{e(self.title)}</title>\n<style>\n{_HTML_STYLE}</style>\n</head>\n<body>\n"
            f"<header>\n<h1>{e(self.title)}</h1>\n{sub}"
            f"<p>chat <code>{e(self.chat.chat_id)}</code> &middot; {self.count} turns "
            f"&middot; exported {e(_when(self.exported))}</p>\n</header>\n<main>\n"
        )

    def turn(self, turn: Turn) -> str:
        e = html.escape
        classes = "turn " + ("human" if turn.author_is_human else "character")
        if turn.is_pinned:
            classes += " pinned"
        who = turn.author_name or ("You" if turn.author_is_human else "Character")
        when = ""
        if turn.create_time is not None:
            when = (
                f' <time datetime="{e(turn.create_time.isoformat())}">'
                f"{e(_when(turn.create_time))}</time>"
            )
        pin = ' <span class="pin">(pinned)</span>' if turn.is_pinned else ""
        return (
            f'<article class="{classes}" id="turn-{e(turn.turn_id)}">'
            f'<div class="meta"><span class="author">{e(who)}</span>{when}{pin}</div>'
            f'<div class="text">{e(turn.text)}</div></article>'
        )

    def tail(self) -> str:
        return "\n</main>\n</body>\n</html>\n"


_RENDERERS = {"json": _JsonRenderer, "md": _MarkdownRenderer, "html": _HtmlRenderer}


def _export_format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    if args.output != "-":
        suffix = os.path.splitext(args.output)[1].lower()
        if suffix in _FORMAT_BY_SUFFIX:
            return _FORMAT_BY_SUFFIX[suffix]
        raise CliError(
            f"cannot tell the format from {args.output!r}",
            EXIT_USAGE,
            hint="pass --format json, md or html",
        )
    return "json"


def cmd_export(args: argparse.Namespace, session: caiclient.Session) -> int:
    """Write a chat's whole history (oldest first) as JSON, Markdown or HTML.

    The turns are fetched page by page (newest first); each is rendered
    right away into an anonymous spool file, so memory stays flat however
    long the chat is, then the chunks are written out in reverse order to
    a temp file that replaces the output only once complete.
    """
    fmt = _export_format(args)
    chat = session.chats.get(args.chat_id)
    character_name = chat.character_name or ""
    if not character_name and chat.character_id:
        with contextlib.suppress(errors.CaiError):
            character_name = session.characters.get(chat.character_id).name
    character_name = character_name or "a character"
    show = bool(args.progress) or _stream_is_tty(sys.stderr)
    fetching = Progress(sys.stderr, show, "fetching turns:")
    offsets: List[Tuple[int, int]] = []
    exported = datetime.now(timezone.utc).replace(microsecond=0)
    renderer = _RENDERERS[fmt](chat, character_name, 0, exported)
    with tempfile.TemporaryFile() as spool:
        try:
            for turn in session.chats.turns(args.chat_id):
                chunk = renderer.turn(turn).encode("utf-8")
                offsets.append((spool.tell(), len(chunk)))
                spool.write(chunk)
                fetching.update(len(offsets))
            fetching.update(len(offsets), force=True)
        finally:
            fetching.clear()
        total = len(offsets)
        renderer.count = total
        writing = Progress(sys.stderr, show, "writing:")
        try:
            with atomic_output(args.output) as out:
                out.write(renderer.head())
                for i, (offset, length) in enumerate(reversed(offsets)):
                    spool.seek(offset)
                    if i:
                        out.write(renderer.separator)
                    out.write(spool.read(length).decode("utf-8"))
                    writing.update(i + 1, total)
                out.write(renderer.tail())
                writing.update(total, total, force=True)
        finally:
            writing.clear()
    if args.output != "-":
        print(f"exported {total} turns of chat {chat.chat_id} to {args.output}", file=sys.stderr)
    return EXIT_OK


# ------------------------------------------------------------------------- tts


def cmd_tts(args: argparse.Namespace, session: caiclient.Session) -> int:
    """Fetch one message read aloud by a voice and write the audio to a file."""
    candidate_id = args.candidate
    if candidate_id is None:
        found: Optional[Turn] = None
        for turn in session.chats.turns(args.chat_id):
            if turn.turn_id == args.turn_id:
                found = turn
                break
        if found is None:
            raise CliError(
                f"chat {args.chat_id} has no turn {args.turn_id}",
                EXIT_API,
                hint="see the turn ids with `caiclient export CHAT_ID --format json -o -`",
            )
        primary = found.primary_candidate
        if primary is None:
            raise CliError(f"turn {args.turn_id} has no candidate to read", EXIT_API)
        candidate_id = primary.candidate_id
    audio = session.media.speech(args.chat_id, args.turn_id, candidate_id, args.voice)
    if not audio:
        raise CliError("the service returned no audio", EXIT_API)
    with atomic_output(args.output, binary=True) as out:
        out.write(audio)
    if args.output != "-":
        print(f"wrote {len(audio)} bytes of audio to {args.output}", file=sys.stderr)
    return EXIT_OK


# ------------------------------------------------------------------------ chat

CHAT_HELP = """\
Type a message and press Enter to send it. Commands:
  /regen          regenerate the last reply
  /edit TEXT      replace the text of the last reply
  /pin, /unpin    pin or unpin the last reply
  /history [N]    show the last N turns (default 10)
  /chats          list your chats with this character
  /switch CHAT_ID continue another chat
  /new            start a new chat with this character
  /help           this help
  /quit           leave (also Ctrl-D)
Start a message with // to send one that begins with a slash."""


class ChatRepl:
    """The interactive loop of ``caiclient chat``: messages and slash commands.

    When stdin is a terminal a prompt is shown and a failed command is
    reported and the session goes on; otherwise (piped input) lines are
    read without a prompt and the first failure ends the command with its
    exit code.
    """

    PROMPT = "> "

    def __init__(
        self,
        session: caiclient.Session,
        character: Character,
        chat_id: str,
        *,
        interactive: bool,
    ) -> None:
        self.session = session
        self.character_id = character.character_id
        self.character_name = character.name or "Character"
        self.chat_id = chat_id
        self.interactive = interactive
        self.commands: Dict[str, Callable[[str], Optional[int]]] = {
            "regen": self.do_regen,
            "edit": self.do_edit,
            "pin": lambda arg: self.do_pin(arg, True),
            "unpin": lambda arg: self.do_pin(arg, False),
            "history": self.do_history,
            "chats": self.do_chats,
            "switch": self.do_switch,
            "new": self.do_new,
            "help": self.do_help,
            "quit": self.do_quit,
            "exit": self.do_quit,
        }

    # -- input

    def read_line(self) -> Optional[str]:
        """The next line of input without its newline, or ``None`` at end of input."""
        if self.interactive:
            try:
                return input(self.PROMPT)
            except EOFError:
                print()
                return None
        line = sys.stdin.readline()
        if not line:
            return None
        return line.rstrip("\r\n")

    def run(self) -> int:
        """Read and handle lines until ``/quit`` or end of input; returns the exit code."""
        while True:
            line = self.read_line()
            if line is None:
                return EXIT_OK
            try:
                code = self.handle(line)
            except (errors.AuthenticationError, errors.AuthRequiredError):
                raise
            except (errors.CaiError, CliError) as exc:
                if not self.interactive:
                    raise
                report(exc, verbose=log.isEnabledFor(logging.DEBUG))
                continue
            if code is not None:
                return code

    def handle(self, line: str) -> Optional[int]:
        """Handle one line: a message or a slash command. An int means: exit with it."""
        text = line.strip()
        if not text:
            return None
        if text.startswith("//"):
            self.send(text[1:])
            return None
        if text.startswith("/"):
            name, _, arg = text[1:].partition(" ")
            command = self.commands.get(name.lower())
            if command is None:
                raise CliError(f"unknown command /{name}", EXIT_USAGE, hint="/help lists them")
            return command(arg.strip())
        self.send(text)
        return None

    # -- output

    def _stream(self, reply: ReplyStream) -> None:
        with reply:
            _print_stream(reply, self.character_name)

    def _show_turn(self, turn: Turn) -> None:
        who = turn.author_name or ("You" if turn.author_is_human else self.character_name)
        pin = " (pinned)" if turn.is_pinned else ""
        print(f"{who}: {turn.text}{pin}")

    def banner(self, continued: bool) -> None:
        """Say which chat this is."""
        how = "Continuing" if continued else "Started"
        print(f"{how} chat {self.chat_id} with {self.character_name}.", flush=True)
        if self.interactive:
            print("Type /help for commands, /quit to leave.", flush=True)

    # -- messages

    def send(self, text: str) -> None:
        """Send a message and print the streamed reply."""
        self._stream(self.session.chats.stream(self.character_id, self.chat_id, text))

    def last_reply(self) -> Turn:
        """The newest turn of the chat, which must be the character's."""
        turns = self.session.chats.page(self.chat_id).turns
        if not turns:
            raise CliError("the chat is empty", EXIT_USAGE, hint="send a message first")
        if turns[0].author_is_human:
            raise CliError(
                f"the newest message is yours, not a reply from {self.character_name}", EXIT_USAGE
            )
        return turns[0]

    # -- commands

    def do_regen(self, arg: str) -> None:
        """``/regen``: a new candidate for the last reply, streamed."""
        last = self.last_reply()
        self._stream(
            self.session.chats.stream_regenerate(self.character_id, self.chat_id, last.turn_id)
        )

    def do_edit(self, arg: str) -> None:
        """``/edit TEXT``: replace the text of the last reply's primary candidate."""
        if not arg:
            raise CliError("/edit needs the new text: /edit TEXT", EXIT_USAGE)
        last = self.last_reply()
        candidate = last.primary_candidate
        if candidate is None:
            raise CliError("the last reply has no candidate to edit", EXIT_API)
        turn = self.session.chats.edit(self.chat_id, last.turn_id, candidate.candidate_id, arg)
        print(f"(edited) {self.character_name}: {turn.text}")

    def do_pin(self, arg: str, pinned: bool) -> None:
        """``/pin`` and ``/unpin``: (un)pin the last reply."""
        last = self.last_reply()
        chats = self.session.chats
        (chats.pin if pinned else chats.unpin)(self.chat_id, last.turn_id)
        print("(pinned the last reply)" if pinned else "(unpinned the last reply)")

    def do_history(self, arg: str) -> None:
        """``/history [N]``: the last N turns, oldest first."""
        n = HISTORY_DEFAULT
        if arg:
            try:
                n = int(arg)
            except ValueError:
                n = 0
            if n < 1:
                raise CliError("/history takes a positive number of turns", EXIT_USAGE)
        turns = list(itertools.islice(self.session.chats.turns(self.chat_id), n))
        for turn in reversed(turns):
            self._show_turn(turn)

    def do_chats(self, arg: str) -> None:
        """``/chats``: your chats with this character (the current one starred)."""
        chats = self.session.chats.list(self.character_id, preview_turns=0)
        if not chats:
            print("(no chats)")
        for chat in chats:
            mark = "*" if chat.chat_id == self.chat_id else " "
            print(
                f"{mark} {chat.chat_id}  {_when(chat.create_time):<20}  {chat.name or ''}".rstrip()
            )

    def do_switch(self, arg: str) -> None:
        """``/switch CHAT_ID``: continue another chat."""
        if not arg:
            raise CliError("/switch needs a chat id: /switch CHAT_ID", EXIT_USAGE)
        chat = self.session.chats.get(arg)
        if chat.character_id and chat.character_id != self.character_id:
            self.character_id = chat.character_id
            self.character_name = (
                chat.character_name
                or self.session.characters.get(chat.character_id).name
                or "Character"
            )
        self.chat_id = chat.chat_id
        print(f"(switched to chat {chat.chat_id} with {self.character_name})")

    def do_new(self, arg: str) -> None:
        """``/new``: start a new chat with the character and print its greeting."""
        chat, greeting = self.session.chats.create(self.character_id)
        self.chat_id = chat.chat_id
        print(f"(new chat {chat.chat_id})")
        if greeting is not None:
            print(f"{self.character_name}: {greeting.text}")

    def do_help(self, arg: str) -> None:
        """``/help``."""
        print(CHAT_HELP)

    def do_quit(self, arg: str) -> int:
        """``/quit``."""
        return EXIT_OK


def cmd_chat(args: argparse.Namespace, session: caiclient.Session) -> int:
    """Chat with a character: streamed replies and slash commands."""
    if args.chat and args.new:
        raise CliError("--chat and --new exclude each other", EXIT_USAGE)
    character = _get_character(args, session, args.character_id)
    interactive = _stdin_is_tty()
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (line editing for input())
    continued = True
    greeting: Optional[Turn] = None
    if args.chat:
        chat = session.chats.get(args.chat)
        if chat.character_id and chat.character_id != character.character_id:
            raise CliError(
                f"chat {chat.chat_id} is not a chat with {character.character_id}", EXIT_USAGE
            )
    else:
        latest = None if args.new else session.chats.latest(character.character_id)
        if latest is not None:
            chat = latest
        else:
            chat, greeting = session.chats.create(character.character_id)
            continued = False
    repl = ChatRepl(session, character, chat.chat_id, interactive=interactive)
    repl.banner(continued)
    if greeting is not None:
        print(f"{repl.character_name}: {greeting.text}", flush=True)
    return repl.run()


def _get_character(args: argparse.Namespace, session: caiclient.Session, cid: str) -> Character:
    try:
        return session.characters.get(cid)
    except errors.NotFound:
        ids = getattr(args, "emulator_character_ids", None)
        hint = (
            f"the emulator's characters: {', '.join(ids)}"
            if ids
            else "find ids with `caiclient search NAME`"
        )
        raise CliError(f"no character with id {cid!r}", EXIT_API, hint=hint) from None


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
    hint = _hint_for(exc)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    sys.stderr.flush()


# ----------------------------------------------------------------------- parser


def _positive_float(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {value!r}")
    return seconds


_GLOBAL_WITH_VALUE = ("--token-file", "--emulator-url", "--timeout")
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
The token comes from --token-file, else $CAI_TOKEN, else a hidden prompt."""


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    p = argparse.ArgumentParser(
        prog="caiclient",
        description="Character.AI from the command line.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"caiclient {caiclient.__version__}")
    _add_global_options(p, in_command=False)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help: str, **kw: Any) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help, description=help, **kw)
        _add_global_options(c, in_command=True)
        return c

    demo = command("demo", "a streamed conversation on the bundled emulator")
    demo.add_argument("--fast", action="store_true", help="no pause between streamed frames")

    chat = command("chat", "chat with a character (streamed replies, /help for commands)")
    chat.add_argument("character_id", metavar="CHARACTER_ID")
    chat.add_argument(
        "--chat", metavar="CHAT_ID", help="continue this chat (default: your latest one)"
    )
    chat.add_argument("--new", action="store_true", help="start a new chat")

    search = command("search", "search characters (or creators)")
    search.add_argument("query", metavar="QUERY")
    search.add_argument("--creators", action="store_true", help="search creators instead")
    search.add_argument("--json", action="store_true", help="print JSON")

    character = command("character", "show one character")
    character.add_argument("id", metavar="ID")
    character.add_argument("--json", action="store_true", help="print JSON")

    export = command("export", "write a chat's whole history to a file (oldest first)")
    export.add_argument("chat_id", metavar="CHAT_ID")
    export.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        help="json, md or html (default: from the file's extension; json for stdout)",
    )
    export.add_argument(
        "-o", "--output", metavar="FILE", default="-", help="output file ('-' = stdout, default)"
    )
    export.add_argument(
        "--progress", action="store_true", help="show progress even when stderr is not a terminal"
    )

    tts = command("tts", "a message read aloud by a voice, to an audio file")
    tts.add_argument("chat_id", metavar="CHAT_ID")
    tts.add_argument("turn_id", metavar="TURN_ID")
    tts.add_argument("--voice", required=True, metavar="ID", help="the voice's id")
    tts.add_argument(
        "--candidate", metavar="ID", help="the candidate to read (default: the turn's primary)"
    )
    tts.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="output file ('-' = stdout)"
    )

    sub.add_parser(
        "emulator", help="run the local emulator (see `caiclient emulator --help`)", add_help=False
    )
    return p


def _emulator_argv(argv: Sequence[str]) -> Optional[List[str]]:
    """If the command is ``emulator``, everything after it; else ``None``."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "emulator":
            return list(argv[i + 1 :])
        if arg in _GLOBAL_WITH_VALUE:
            i += 2
            continue
        if arg in _GLOBAL_FLAGS or any(arg.startswith(o + "=") for o in _GLOBAL_WITH_VALUE):
            i += 1
            continue
        return None
    return None


_COMMANDS: Dict[str, Tuple[Callable[[argparse.Namespace, caiclient.Session], int], bool]] = {
    "chat": (cmd_chat, True),
    "search": (cmd_search, False),
    "character": (cmd_character, False),
    "export": (cmd_export, True),
    "tts": (cmd_tts, True),
}


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
    if args.command == "demo":
        return cmd_demo(args)
    if args.command not in _COMMANDS:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if args.emulator and args.emulator_url:
        raise CliError("--emulator and --emulator-url exclude each other", EXIT_USAGE)
    func, needs_account = _COMMANDS[args.command]
    with contextlib.ExitStack() as stack:
        session = open_session(args, stack, needs_account=needs_account)
        return func(args, session)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``caiclient`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    rest = _emulator_argv(argv)
    if rest is not None:
        try:
            return cmd_emulator(argparse.Namespace(), rest)
        except SystemExit as exc:  # the emulator's --help and usage errors
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
