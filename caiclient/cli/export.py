"""``caiclient export CHAT_ID [--format json|md|html] [-o FILE] [--progress]``: a chat to a file."""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import sys
import tempfile
from datetime import datetime, timezone
from typing import Any, Dict, List, Tuple

import caiclient
from caiclient import errors
from caiclient.cli._core import EXIT_OK, EXIT_USAGE, CliError, Command, stream_is_tty
from caiclient.cli._output import Progress, atomic_output, jsonable, when
from caiclient.cli._session import Context
from caiclient.models import Chat, Turn

EXPORT_FORMATS = ("json", "md", "html")
_FORMAT_BY_SUFFIX = {
    ".json": "json",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
}


def _turn_dict(turn: Turn) -> Dict[str, Any]:
    data: Dict[str, Any] = jsonable(turn)
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
            "chat": jsonable(self.chat),
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
            f"- Exported: {when(self.exported)}",
            "",
            "---",
            "",
            "",
        ]
        return "\n".join(lines)

    def turn(self, turn: Turn) -> str:
        who = _md_inline(turn.author_name or ("You" if turn.author_is_human else "Character"))
        meta = " · ".join(
            p for p in (when(turn.create_time), "pinned" if turn.is_pinned else "") if p
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
            f"&middot; exported {e(when(self.exported))}</p>\n</header>\n<main>\n"
        )

    def turn(self, turn: Turn) -> str:
        e = html.escape
        classes = "turn " + ("human" if turn.author_is_human else "character")
        if turn.is_pinned:
            classes += " pinned"
        who = turn.author_name or ("You" if turn.author_is_human else "Character")
        stamp = ""
        if turn.create_time is not None:
            stamp = (
                f' <time datetime="{e(turn.create_time.isoformat())}">'
                f"{e(when(turn.create_time))}</time>"
            )
        pin = ' <span class="pin">(pinned)</span>' if turn.is_pinned else ""
        return (
            f'<article class="{classes}" id="turn-{e(turn.turn_id)}">'
            f'<div class="meta"><span class="author">{e(who)}</span>{stamp}{pin}</div>'
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


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Write a chat's whole history (oldest first) as JSON, Markdown or HTML.

    The turns are fetched page by page (newest first); each is rendered
    right away into an anonymous spool file, so memory stays flat however
    long the chat is, then the chunks are written out in reverse order to
    a temp file that replaces the output only once complete.
    """
    session = ctx.session(needs_account=True)
    _export_format(args)  # a bad file name fails before anything is fetched
    chat = session.chats.get(args.chat_id)
    character_name = chat.character_name or ""
    if not character_name and chat.character_id:
        with contextlib.suppress(errors.CaiError):
            character_name = session.characters.get(chat.character_id).name
    return write_export(args, session, chat, character_name or "a character")


def write_export(
    args: argparse.Namespace,
    session: caiclient.Session,
    chat: Chat,
    character_name: str,
    *,
    noun: str = "chat",
) -> int:
    """Write ``chat``'s turns to ``args.output`` in ``args.format`` (the options of
    :func:`configure_output`); also used by ``caiclient room export``."""
    fmt = _export_format(args)
    show = bool(args.progress) or stream_is_tty(sys.stderr)
    fetching = Progress(sys.stderr, show, "fetching turns:")
    offsets: List[Tuple[int, int]] = []
    exported = datetime.now(timezone.utc).replace(microsecond=0)
    renderer = _RENDERERS[fmt](chat, character_name, 0, exported)
    with tempfile.TemporaryFile() as spool:
        try:
            for turn in session.chats.turns(chat.chat_id):
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
        print(f"exported {total} turns of {noun} {chat.chat_id} to {args.output}", file=sys.stderr)
    return EXIT_OK


def configure(p: argparse.ArgumentParser) -> None:
    """``CHAT_ID``, ``--format``, ``-o``, ``--progress``."""
    p.add_argument("chat_id", metavar="CHAT_ID")
    configure_output(p)


def configure_output(p: argparse.ArgumentParser) -> None:
    """``--format``, ``-o``, ``--progress`` (read by :func:`write_export`)."""
    p.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        help="json, md or html (default: from the file's extension; json for stdout)",
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", default="-", help="output file ('-' = stdout, default)"
    )
    p.add_argument(
        "--progress", action="store_true", help="show progress even when stderr is not a terminal"
    )


COMMAND = Command("export", "write a chat's whole history to a file (oldest first)", configure, run)
