"""``caiclient chat CHARACTER [--chat CHAT_ID] [--new]``: talk with a character (name or id).

Streamed replies and slash commands (``/help``); see :class:`ChatRepl`. On a
terminal: line editing and a history kept across sessions (``_input.py``),
replies wrapped at the terminal's width with names and ``*actions*`` styled
(``_render.py``), Ctrl-C stops a reply (or clears a half-typed line) and the
chat goes on, Ctrl-D or ``/quit`` leaves.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Callable, Dict, List, Optional

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
from caiclient.cli._input import LineReader, history_path, read_piped_line
from caiclient.cli._lookup import resolve_character
from caiclient.cli._output import when
from caiclient.cli._render import Renderer
from caiclient.cli._session import Context
from caiclient.cli.tts import default_voice, primary_candidate_id, speech
from caiclient.models import Character, Turn
from caiclient.resources._replies import ReplyStream

HISTORY_DEFAULT = 10
CONTEXT_TURNS = 4
"""How many turns a continued chat shows first (on a terminal)."""

PLAYERS = (
    ("paplay",),
    ("aplay", "-q"),
    ("afplay",),
    ("ffplay", "-nodisp", "-autoexit", "-loglevel", "quiet"),
    ("mpv", "--no-video", "--really-quiet"),
    ("play", "-q"),
)
"""Audio players tried in order (``CAICLIENT_PLAYER`` names another command)."""

CHAT_HELP = """\
Type a message and press Enter to send it. Commands:
  /regen          regenerate the last reply (shows the candidate number)
  /edit TEXT      replace the text of the last reply
  /pin, /unpin    pin or unpin the last reply
  /history [N]    show the last N turns with their ids (default 10)
  /tts [TURN]     speak the last reply (or turn TURN: an id or its start)
  /voice [ID]     speak with voice ID from now on (and say the last reply)
  /chats          list your chats with this character
  /switch CHAT_ID continue another chat
  /new            start a new chat with this character
  /help           this help
  /quit           leave (also Ctrl-D)
Ctrl-C stops a reply or clears the line. Start a message with // to send
one that begins with a slash."""


def audio_suffix(audio: bytes) -> str:
    """A file extension for audio bytes, from their first bytes."""
    if audio[:4] == b"RIFF":
        return ".wav"
    if audio[:3] == b"ID3" or audio[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return ".mp3"
    if audio[:4] == b"OggS":
        return ".ogg"
    return ".audio"


def find_player() -> Optional[List[str]]:
    """The command line of an audio player on this machine (without the file), or ``None``."""
    custom = os.environ.get("CAICLIENT_PLAYER")
    if custom:
        return custom.split()
    for argv in PLAYERS:
        if shutil.which(argv[0]):
            return list(argv)
    return None


def _names(turn_id: str, given: str) -> bool:
    """Whether ``given`` names ``turn_id``: all of it, its start, or its end (as /history shows)."""
    return turn_id.startswith(given) or turn_id.endswith(given)


class ChatRepl:
    """The interactive loop of ``caiclient chat``: messages and slash commands.

    When stdin is a terminal a prompt is shown, a failed command is
    reported and the session goes on, and Ctrl-C stops what is running
    (a reply, a command) or clears the line being typed; otherwise (piped
    input) lines are read without a prompt and the first failure (or a
    Ctrl-C) ends the command with its exit code.
    """

    PROMPT = "> "
    reader: Optional[LineReader] = None
    _out: Optional[Renderer] = None

    @property
    def out(self) -> Renderer:
        """Where messages are written (styled and wrapped on a terminal)."""
        if self._out is None:
            self._out = Renderer.for_stream(sys.stdout)
        return self._out

    def __init__(
        self,
        session: caiclient.Session,
        character: Character,
        chat_id: str,
        *,
        interactive: bool,
        renderer: Optional[Renderer] = None,
    ) -> None:
        self.session = session
        self.character_id = character.character_id
        self.character_name = character.name or "Character"
        self.voice_id: Optional[str] = None
        self.chat_id = chat_id
        self.interactive = interactive
        self._out = renderer
        self.commands: Dict[str, Callable[[str], Optional[int]]] = {
            "regen": self.do_regen,
            "edit": self.do_edit,
            "pin": lambda arg: self.do_pin(arg, True),
            "unpin": lambda arg: self.do_pin(arg, False),
            "history": self.do_history,
            "tts": self.do_tts,
            "voice": self.do_voice,
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
        if not self.interactive:
            return read_piped_line()
        if self.reader is None:
            real = sys.stdin is sys.__stdin__
            self.reader = LineReader(history=history_path() if real else None, plain=not real)
        return self.reader.read(self.PROMPT)

    def run(self) -> int:
        """Read and handle lines until ``/quit`` or end of input; returns the exit code."""
        try:
            return self._loop()
        finally:
            if self.reader is not None:
                self.reader.close()

    def _loop(self) -> int:
        while True:
            try:
                line = self.read_line()
            except KeyboardInterrupt:
                if not self.interactive:
                    raise
                print()  # the half-typed line is dropped: a fresh prompt
                continue
            if line is None:
                return EXIT_OK
            try:
                code = self.handle(line)
            except KeyboardInterrupt:
                if not self.interactive:
                    raise
                self.out.note("\n(interrupted)")
                continue
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

    def _stream(self, reply: ReplyStream) -> Optional[Turn]:
        """Print a reply as it streams; Ctrl-C (on a terminal) stops it, the chat goes on."""
        with reply:
            self.out.begin(self.character_name)
            try:
                for piece in reply.text_deltas():
                    self.out.feed(piece)
            except KeyboardInterrupt:
                if not self.interactive:
                    raise
                self.out.end()
                self.out.note("(stopped: the reply was cut short)")
                return None
            self.out.end()
        if reply.turn is not None and reply.turn.is_filtered:
            self.out.note("  (the service's filter cut this reply short)")
        return reply.turn

    def _who(self, turn: Turn) -> str:
        return turn.author_name or ("You" if turn.author_is_human else self.character_name)

    def _show_turn(self, turn: Turn, *, with_id: bool = False) -> None:
        pin = " (pinned)" if turn.is_pinned else ""
        prefix = self.out.dim(turn.turn_id[-8:]) + "  " if with_id else ""
        self.out.message(
            self._who(turn),
            turn.text,
            human=turn.author_is_human,
            prefix=prefix,
            suffix=pin,
        )

    def banner(self, continued: bool) -> None:
        """Say which chat this is (and, continuing on a terminal, where it left off)."""
        how = "Continuing" if continued else "Started"
        print(f"{how} chat {self.chat_id} with {self.character_name}.", flush=True)
        if not self.interactive:
            return
        if continued:
            turns = self.session.chats.page(self.chat_id).turns[:CONTEXT_TURNS]
            if turns:
                self.out.note("...")
            for turn in reversed(turns):
                self._show_turn(turn)
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

    def find_turn(self, prefix: str) -> Turn:
        """The turn whose id is, starts or ends with ``prefix`` (``/history`` shows the end)."""
        found = [t for t in self.session.chats.turns(self.chat_id) if _names(t.turn_id, prefix)]
        if len(found) != 1:
            what = "no turn" if not found else f"{len(found)} turns"
            raise CliError(
                f"{what} with an id like {prefix!r}", EXIT_USAGE, hint="see /history"
            )
        return found[0]

    # -- commands

    def do_regen(self, arg: str) -> None:
        """``/regen``: a new candidate for the last reply, streamed, with its number."""
        last = self.last_reply()
        number = len(last.candidates) + 1
        turn = self._stream(
            self.session.chats.stream_regenerate(self.character_id, self.chat_id, last.turn_id)
        )
        if turn is not None:
            self.out.note(f"(candidate {number})")

    def do_edit(self, arg: str) -> None:
        """``/edit TEXT``: replace the text of the last reply's primary candidate."""
        if not arg:
            raise CliError("/edit needs the new text: /edit TEXT", EXIT_USAGE)
        last = self.last_reply()
        candidate = last.primary_candidate
        if candidate is None:
            raise CliError("the last reply has no candidate to edit", EXIT_API)
        turn = self.session.chats.edit(self.chat_id, last.turn_id, candidate.candidate_id, arg)
        self.out.message(self.character_name, turn.text, prefix="(edited) ")

    def do_pin(self, arg: str, pinned: bool) -> None:
        """``/pin`` and ``/unpin``: (un)pin the last reply."""
        last = self.last_reply()
        chats = self.session.chats
        (chats.pin if pinned else chats.unpin)(self.chat_id, last.turn_id)
        print("(pinned the last reply)" if pinned else "(unpinned the last reply)")

    def do_history(self, arg: str) -> None:
        """``/history [N]``: the last N turns, oldest first, each with the end of its id."""
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
            self._show_turn(turn, with_id=True)

    def do_tts(self, arg: str) -> None:
        """``/tts [TURN]``: the last reply (or turn TURN) read aloud: played, or saved."""
        turn = self.find_turn(arg) if arg else self.last_reply()
        voice = self.voice_id or default_voice(self.session, self.character_id)
        audio = speech(self.session, self.chat_id, turn.turn_id, primary_candidate_id(turn), voice)
        self.play(audio, turn)

    def do_voice(self, arg: str) -> None:
        """``/voice [ID]``: speak with voice ``ID`` from now on, and say the last reply."""
        if arg:
            voice = self.session.voices.get(arg)
            self.voice_id = voice.voice_id
            self.out.note(f"(voice: {voice.name or voice.voice_id})")
        elif self.voice_id is None:
            self.out.note("(voice: the character's own; /voice ID picks another)")
        self.do_tts("")

    def play(self, audio: bytes, turn: Turn) -> None:
        """Play ``audio`` with a player found here, else save it in the current folder."""
        suffix = audio_suffix(audio)
        player = find_player()
        if player is not None:
            fd, path = tempfile.mkstemp(prefix="caiclient-", suffix=suffix)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(audio)
                done = subprocess.run(
                    [*player, path],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=600,
                    check=False,
                )
                if done.returncode == 0:
                    self.out.note(f"(played with {player[0]})")
                    return
            except (OSError, subprocess.TimeoutExpired):
                pass
            finally:
                os.unlink(path)
        target = f"caiclient-{turn.turn_id[-8:]}{suffix}"
        with open(target, "wb") as f:
            f.write(audio)
        why = "no audio player found" if player is None else f"{player[0]} failed"
        self.out.note(f"(saved the audio to {target}: {why})")

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
            self.out.message(self.character_name, greeting.text)

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
        repl.out.message(repl.character_name, greeting.text)
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
