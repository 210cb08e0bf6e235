"""Print a character's reply as it is written, then show the finished turn.

``chats.stream()`` sends the message at once and returns a ReplyStream: an
iterator of growing snapshots of the reply. ``text_deltas()`` turns them into
the new pieces of text, ready to print.

    CAI_TOKEN=... python examples/streaming.py [CHARACTER_ID]
"""

from __future__ import annotations

import sys
from typing import Optional

import caiclient


def main(character_id: Optional[str] = None) -> int:
    with caiclient.Session.from_env() as session:
        if session.is_guest:
            print("set CAI_TOKEN first (see docs/token.rst)", file=sys.stderr)
            return 2
        if character_id is None:
            character_id = session.characters.search("detective")[0].character_id
        character = session.characters.get(character_id)
        chat, _ = session.chats.create(character_id, greeting=False)

        for text in ("Hello! Who are you?", "Tell me something surprising."):
            print(f"you: {text}")
            print(f"{character.name}: ", end="", flush=True)
            with session.chats.stream(character_id, chat.chat_id, text) as reply:
                for piece in reply.text_deltas():
                    print(piece, end="", flush=True)
            print()
            turn = reply.turn
            if turn is not None:
                if turn.is_filtered:
                    print("  (the service's filter cut this reply short)")
                size = len(turn.text)
                print(f"  [turn {turn.turn_id}: {size} characters, final={turn.is_final}]")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
