"""``caiclient tts CHAT_ID TURN_ID --voice ID [--candidate ID] -o FILE``: a message read aloud."""

from __future__ import annotations

import argparse
import sys
from typing import Optional

from caiclient.cli._core import EXIT_API, EXIT_OK, CliError, Command
from caiclient.cli._output import atomic_output
from caiclient.cli._session import Context
from caiclient.models import Turn


def configure(p: argparse.ArgumentParser) -> None:
    """``CHAT_ID TURN_ID``, ``--voice``, ``--candidate``, ``-o``."""
    p.add_argument("chat_id", metavar="CHAT_ID")
    p.add_argument("turn_id", metavar="TURN_ID")
    p.add_argument("--voice", required=True, metavar="ID", help="the voice's id")
    p.add_argument(
        "--candidate", metavar="ID", help="the candidate to read (default: the turn's primary)"
    )
    p.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="output file ('-' = stdout)"
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Fetch one message read aloud by a voice and write the audio to a file."""
    session = ctx.session(needs_account=True)
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


COMMAND = Command("tts", "a message read aloud by a voice, to an audio file", configure, run)
