"""The smallest useful caiclient script: find a character, start a chat, say hello.

Run it against the real service with your token::

    CAI_TOKEN=... python examples/minimal.py

or against the bundled emulator (no account, no network)::

    caiclient emulator --port 8765 &
    CAI_EMULATOR_URL=http://127.0.0.1:8765 CAI_TOKEN=<token it printed> python examples/minimal.py
"""

from __future__ import annotations

import sys

import caiclient


def main(query: str = "detective") -> int:
    with caiclient.Session.from_env() as session:
        if session.is_guest:
            print("set CAI_TOKEN first (see docs/token.rst)", file=sys.stderr)
            return 2
        found = session.characters.search(query)
        if not found:
            print(f"no character matches {query!r}", file=sys.stderr)
            return 1
        character = found[0]
        print(f"character: {character.name} ({character.character_id})")

        chat, greeting = session.chats.create(character.character_id)
        print(f"chat: {chat.chat_id}")
        if greeting is not None:
            print(f"{character.name}: {greeting.text}")

        reply = session.chats.send(character.character_id, chat.chat_id, "Hello!")
        print("you: Hello!")
        print(f"{reply.author_name or character.name}: {reply.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
