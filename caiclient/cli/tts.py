"""``caiclient tts (CHAT_ID TURN_ID | --last) [--voice ID] [--candidate ID] -o FILE``.

A message read aloud by a voice, to an audio file. :func:`default_voice` and
:func:`speech` also serve the chat REPL's ``/tts``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Tuple

import caiclient
from caiclient.cli._core import EXIT_API, EXIT_OK, EXIT_USAGE, CliError, Command
from caiclient.cli._output import atomic_output
from caiclient.cli._session import Context
from caiclient.models import Turn


def configure(p: argparse.ArgumentParser) -> None:
    """``CHAT_ID TURN_ID`` or ``--last``, ``--voice``, ``--candidate``, ``-o``."""
    p.add_argument("chat_id", metavar="CHAT_ID", nargs="?")
    p.add_argument("turn_id", metavar="TURN_ID", nargs="?")
    p.add_argument(
        "--last", action="store_true", help="the latest reply of your latest chat (no ids needed)"
    )
    p.add_argument(
        "--voice", metavar="ID", help="the voice's id (default: the character's own voice)"
    )
    p.add_argument(
        "--candidate", metavar="ID", help="the candidate to read (default: the turn's primary)"
    )
    p.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="output file ('-' = stdout)"
    )


def default_voice(session: caiclient.Session, character_id: Optional[str]) -> str:
    """The voice a character speaks with; a :class:`CliError` when it has none."""
    if character_id:
        character = session.characters.get(character_id)
        voice = character.voice_id or character.default_voice_id
        if voice:
            return voice
    raise CliError(
        "the character has no voice of its own: pass --voice ID",
        EXIT_USAGE,
        hint="find voice ids with `caiclient voices QUERY`",
    )


def primary_candidate_id(turn: Turn) -> str:
    """The id of the candidate a turn shows; a :class:`CliError` when it has none."""
    primary = turn.primary_candidate
    if primary is None:
        raise CliError(f"turn {turn.turn_id} has no candidate to read", EXIT_API)
    return primary.candidate_id


def speech(
    session: caiclient.Session, chat_id: str, turn_id: str, candidate_id: str, voice_id: str
) -> bytes:
    """One candidate of a turn read aloud by a voice; never empty."""
    audio = session.media.speech(chat_id, turn_id, candidate_id, voice_id)
    if not audio:
        raise CliError("the service returned no audio", EXIT_API)
    return bytes(audio)


def _latest_reply(session: caiclient.Session) -> Tuple[str, Optional[str], Turn]:
    recent = session.chats.recent()
    if not recent:
        raise CliError("you have no chats yet", EXIT_API, hint="start one: caiclient chat NAME")
    chat = recent[0]
    for turn in session.chats.page(chat.chat_id).turns:
        if not turn.author_is_human:
            return chat.chat_id, chat.character_id, turn
    raise CliError(f"your latest chat ({chat.chat_id}) has no reply yet", EXIT_API)


def _named_turn(session: caiclient.Session, chat_id: str, turn_id: str) -> Turn:
    for turn in session.chats.turns(chat_id):
        if turn.turn_id == turn_id:
            return turn
    raise CliError(
        f"chat {chat_id} has no turn {turn_id}",
        EXIT_API,
        hint="see the turn ids with /history in `caiclient chat`, or `caiclient tts --last`",
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Fetch one message read aloud by a voice and write the audio to a file."""
    session = ctx.session(needs_account=True)
    character_id: Optional[str] = None
    if args.last:
        if args.chat_id or args.turn_id:
            raise CliError("--last takes no CHAT_ID or TURN_ID", EXIT_USAGE)
        chat_id, character_id, turn = _latest_reply(session)
        turn_id = turn.turn_id
        candidate_id = args.candidate or primary_candidate_id(turn)
    else:
        if not (args.chat_id and args.turn_id):
            raise CliError("name the message: CHAT_ID TURN_ID, or --last", EXIT_USAGE)
        chat_id, turn_id = args.chat_id, args.turn_id
        candidate_id = args.candidate or primary_candidate_id(
            _named_turn(session, chat_id, turn_id)
        )
    voice = args.voice or default_voice(
        session, character_id or session.chats.get(chat_id).character_id
    )
    audio = speech(session, chat_id, turn_id, candidate_id, voice)
    with atomic_output(args.output, binary=True) as out:
        out.write(audio)
    if args.output != "-":
        print(f"wrote {len(audio)} bytes of audio to {args.output}", file=sys.stderr)
    return EXIT_OK


COMMAND = Command("tts", "a message read aloud by a voice, to an audio file", configure, run)
