"""``caiclient room create|list|join|chat|export``: group chats from the command line.

``room chat ROOM_ID`` is a REPL (see :class:`RoomRepl`): what you type goes
into the room, a character answers, streamed (the one the service picks, or
the one ``/ask NAME`` names); in a terminal, what other members and
characters add to the room is printed as it arrives.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import threading
from typing import Callable, Dict, Optional, Set

import caiclient
from caiclient import errors
from caiclient.cli._core import EXIT_OK, EXIT_USAGE, CliError, Command, stdin_is_tty
from caiclient.cli._output import jsonable, print_json
from caiclient.cli._session import Context
from caiclient.cli.chat import ChatRepl
from caiclient.models import Chat, Room, Turn, parse
from caiclient.resources._replies import ReplyStream

HISTORY_DEFAULT = 10

ROOM_HELP = """\
Type a message and press Enter to post it; a character answers (the service picks who).
Commands:
  /ask NAME       let this character answer now (a name or an id)
  /quiet          post your next messages without asking for an answer (again: /quiet)
  /who            the room's characters and members
  /history [N]    show the last N turns (default 10)
  /invite         the room's invite code (for `caiclient room join`)
  /help           this help
  /quit           leave (also Ctrl-D)
Start a message with // to post one that begins with a slash."""


class RoomRepl(ChatRepl):
    """The interactive loop of ``caiclient room chat``.

    ``caiclient chat``'s loop (:class:`~caiclient.cli.chat.ChatRepl`: input,
    slash commands, errors), with the room's commands; in a terminal the
    turns others add are printed as they arrive.
    """

    def __init__(self, session: caiclient.Session, room: Room, *, interactive: bool) -> None:
        self.session = session
        self.room = room
        self.interactive = interactive
        self.quiet = False
        self._mine: Set[str] = set()  # turn ids this REPL printed itself
        self._busy = threading.Condition()
        self._streaming = False
        self._listener: Optional[threading.Thread] = None
        self._stop: Optional[Callable[[], None]] = None
        self.commands: Dict[str, Callable[[str], Optional[int]]] = {
            "ask": self.do_ask,
            "quiet": self.do_quiet,
            "who": self.do_who,
            "history": self.do_history,
            "invite": self.do_invite,
            "help": self.do_help,
            "quit": self.do_quit,
            "exit": self.do_quit,
        }

    def run(self) -> int:
        """Like ``caiclient chat``'s loop; in a terminal, others' turns print meanwhile."""
        if self.interactive:
            self.start_listening()
        try:
            return super().run()
        finally:
            self.stop_listening()

    # -- talking

    def send(self, text: str) -> None:
        """Post a message; unless ``/quiet``, let the service pick who answers."""
        turn = self.session.rooms.send(self.room.room_id, text)
        self._mine.add(turn.turn_id)
        if not self.quiet:
            self.answer(None)

    def answer(self, character_id: Optional[str]) -> None:
        """Print one character's answer as it is written."""
        with self._busy:
            self._streaming = True
        try:
            with self.session.rooms.stream_reply(self.room.room_id, character_id) as reply:
                self._print_stream(reply)
        finally:
            with self._busy:
                self._streaming = False
                self._busy.notify_all()

    def _print_stream(self, reply: ReplyStream) -> None:
        first = next(iter(reply), None)
        if first is None:
            return
        self._mine.add(first.turn_id)
        print(f"{first.author_name or 'Character'}: {first.text}", end="", flush=True)
        seen = first.text
        for turn in reply:
            text = turn.text
            print(text[len(seen) :] if text.startswith(seen) else text, end="", flush=True)
            seen = text
        print(flush=True)

    # -- what others add

    def start_listening(self) -> None:
        """Print the turns others add, from a background thread."""
        listener = self.session.rooms.listen(self.room.room_id, timeout=24 * 3600)
        self._stop = getattr(listener, "close", None)

        def loop() -> None:
            with contextlib.suppress(errors.CaiError):
                for turn in listener:
                    self._show_live(turn)

        self._listener = threading.Thread(target=loop, name="caiclient-room-listen", daemon=True)
        self._listener.start()

    def _show_live(self, turn: Turn) -> None:
        if not turn.author_is_human:
            # An answer this REPL is streaming: wait until it is printed, then skip it.
            with self._busy:
                self._busy.wait_for(lambda: not self._streaming, timeout=self.session.reply_timeout)
        if turn.turn_id in self._mine:
            return
        print(f"\r{turn.author_name or 'Someone'}: {turn.text}", flush=True)

    def stop_listening(self) -> None:
        """End the background listener (bounded)."""
        if self._stop is not None:
            self._stop()
        if self._listener is not None:
            self._listener.join(5)

    # -- commands

    def _character(self, arg: str) -> str:
        room = self.session.rooms.get(self.room.room_id)
        for c in room.characters:
            if arg in (c.character_id, c.name) or c.name.lower().startswith(arg.lower()):
                return c.character_id
        names = ", ".join(c.name for c in room.characters) or "none"
        raise CliError(f"no character {arg!r} in this room", EXIT_USAGE, hint=f"in it: {names}")

    def do_ask(self, arg: str) -> None:
        """``/ask NAME``: that character answers now."""
        if not arg:
            raise CliError("/ask needs a character: /ask NAME", EXIT_USAGE)
        self.answer(self._character(arg))

    def do_quiet(self, arg: str) -> None:
        """``/quiet``: toggle asking for an answer after each message."""
        self.quiet = not self.quiet
        print("(quiet: messages get no answer until /ask)" if self.quiet else "(answers on)")

    def do_who(self, arg: str) -> None:
        """``/who``: the room's characters and members."""
        room = self.session.rooms.get(self.room.room_id)
        print("characters: " + (", ".join(c.name for c in room.characters) or "none"))
        print("members: " + (", ".join(m.username for m in room.members) or "none"))

    def do_history(self, arg: str) -> None:
        """``/history [N]``: the last N turns, oldest first."""
        n = HISTORY_DEFAULT
        if arg:
            n = int(arg) if arg.isdigit() else 0
            if n < 1:
                raise CliError("/history takes a positive number of turns", EXIT_USAGE)
        turns = list(itertools.islice(self.session.rooms.turns(self.room.room_id), n))
        for turn in reversed(turns):
            who = turn.author_name or ("You" if turn.author_is_human else "Character")
            print(f"{who}: {turn.text}")

    def do_invite(self, arg: str) -> None:
        """``/invite``: the invite code."""
        token = self.session.rooms.get(self.room.room_id).join_token
        print(f"invite code: {token}" if token else "(the service shared no invite code)")

    def do_help(self, arg: str) -> None:
        """``/help``."""
        print(ROOM_HELP)


# -- the sub-commands ------------------------------------------------------------------------


def _show_room(room: Room) -> None:
    names = ", ".join(c.name for c in room.characters) or "no characters"
    print(f"{room.room_id}  {room.title}  ({names})")


def run_create(args: argparse.Namespace, ctx: Context) -> int:
    """``room create NAME CHARACTER_ID...``."""
    session = ctx.session(needs_account=True)
    room = session.rooms.create(args.name, args.character_ids, greeting=not args.no_greeting)
    _show_room(room)
    if room.join_token:
        print(f"invite code: {room.join_token}")
    return EXIT_OK


def run_list(args: argparse.Namespace, ctx: Context) -> int:
    """``room list [--json]``."""
    rooms = ctx.session(needs_account=True).rooms.list()
    if args.json:
        print_json([jsonable(r) for r in rooms])
        return EXIT_OK
    if not rooms:
        print("(no rooms)")
    for room in rooms:
        _show_room(room)
    return EXIT_OK


def run_join(args: argparse.Namespace, ctx: Context) -> int:
    """``room join INVITE_CODE``."""
    _show_room(ctx.session(needs_account=True).rooms.join(args.join_token))
    return EXIT_OK


def run_chat(args: argparse.Namespace, ctx: Context) -> int:
    """``room chat ROOM_ID``: the REPL."""
    session = ctx.session(needs_account=True)
    room = session.rooms.get(args.room_id)
    interactive = stdin_is_tty()
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (line editing for input())
    names = ", ".join(c.name for c in room.characters) or "no characters"
    print(f"Room {room.title} ({room.room_id}) with {names}.", flush=True)
    if interactive:
        print("Type /help for commands, /quit to leave.", flush=True)
    return RoomRepl(session, room, interactive=interactive).run()


def run_export(args: argparse.Namespace, ctx: Context) -> int:
    """``room export ROOM_ID``: the room's history, as ``caiclient export`` writes a chat's."""
    from caiclient.cli.export import write_export

    session = ctx.session(needs_account=True)
    room = session.rooms.get(args.room_id)
    chat = parse(Chat, {"chat_id": room.room_id, "name": room.title, "type": "TYPE_MU_ROOM"})
    names = " & ".join(c.name for c in room.characters) or "nobody"
    return write_export(args, session, chat, names, noun="room")


_SUBCOMMANDS = {
    "create": run_create,
    "list": run_list,
    "join": run_join,
    "chat": run_chat,
    "export": run_export,
}


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Dispatch to the sub-command."""
    fn = _SUBCOMMANDS.get(getattr(args, "room_command", None) or "")
    if fn is None:
        raise CliError(
            "which room command?", EXIT_USAGE, hint="caiclient room create|list|join|chat|export"
        )
    return fn(args, ctx)


def configure(p: argparse.ArgumentParser) -> None:
    """The sub-commands, each with the global options too."""
    from caiclient.cli._app import _add_global_options
    from caiclient.cli.export import configure_output

    sub = p.add_subparsers(dest="room_command", metavar="ROOM_COMMAND")
    c = sub.add_parser("create", help="create a room with characters", description="create a room")
    c.add_argument("name", metavar="NAME", help="the room's title")
    c.add_argument("character_ids", metavar="CHARACTER_ID", nargs="+")
    c.add_argument("--no-greeting", action="store_true", help="the characters do not greet")
    lst = sub.add_parser("list", help="your rooms", description="your rooms")
    lst.add_argument("--json", action="store_true", help="the rooms as JSON")
    j = sub.add_parser("join", help="join a room by invite code", description="join a room")
    j.add_argument("join_token", metavar="INVITE_CODE")
    ch = sub.add_parser("chat", help="talk in a room (a REPL)", description="talk in a room")
    ch.add_argument("room_id", metavar="ROOM_ID")
    ex = sub.add_parser("export", help="write a room's history to a file", description="export")
    ex.add_argument("room_id", metavar="ROOM_ID")
    configure_output(ex)
    for parser in (c, lst, j, ch, ex):
        _add_global_options(parser, in_command=True)


COMMAND = Command("room", "group chats: create, list, join, chat (a REPL), export", configure, run)
