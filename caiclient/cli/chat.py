"""``caiclient chat CHARACTER [--chat CHAT_ID] [--new]``: talk with a character (name or id).

Streamed replies and slash commands (``/help``); see :class:`ChatRepl`.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import logging
import sys
from typing import Callable, Dict, Optional

import caiclient
from caiclient import errors
from caiclient.cli._core import (
    EXIT_API,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    Command,
    log,
    report,
    stdin_is_tty,
)
from caiclient.cli._lookup import resolve_character
from caiclient.cli._output import print_stream, when
from caiclient.cli._session import Context
from caiclient.models import Character, Turn
from caiclient.resources._replies import ReplyStream

HISTORY_DEFAULT = 10

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
            print_stream(reply, self.character_name)

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
                f"{mark} {chat.chat_id}  {when(chat.create_time):<20}  {chat.name or ''}".rstrip()
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


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Chat with a character: streamed replies and slash commands."""
    session = ctx.session(needs_account=True)
    if args.chat and args.new:
        raise CliError("--chat and --new exclude each other", EXIT_USAGE)
    character = resolve_character(args, session, args.character)
    interactive = stdin_is_tty()
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


def configure(p: argparse.ArgumentParser) -> None:
    """``CHARACTER`` (a name or an id), ``--chat``, ``--new``."""
    p.add_argument("character", metavar="CHARACTER", help="the character's name or id")
    p.add_argument(
        "--chat", metavar="CHAT_ID", help="continue this chat (default: your latest one)"
    )
    p.add_argument("--new", action="store_true", help="start a new chat")


COMMAND = Command(
    "chat", "chat with a character (streamed replies, /help for commands)", configure, run
)
