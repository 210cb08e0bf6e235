"""A group chat: a room with two characters, each answering in turn, streamed.

``rooms.send()`` posts your message into the room; characters answer only
when asked: ``rooms.stream_reply(room_id, character_id)`` streams one
character's answer, ``rooms.reply(room_id)`` lets the service pick who
answers ("smart reply").

    CAI_TOKEN=... python examples/group_chat.py [CHARACTER_ID CHARACTER_ID]
"""

from __future__ import annotations

import sys

import caiclient


def main(*character_ids: str) -> int:
    with caiclient.Session.from_env() as session:
        if session.is_guest:
            print("set CAI_TOKEN first (see docs/token.rst)", file=sys.stderr)
            return 2
        ids = list(character_ids) or [c.character_id for c in session.characters.featured()[:2]]
        room = session.rooms.create("Tea party", ids, greeting=False)
        names = ", ".join(c.name for c in room.characters)
        print(f"room: {room.title} ({room.room_id}) with {names}")
        print(f"invite code for a friend: {room.join_token}")

        text = "Hello, both of you! What brings you here?"
        session.rooms.send(room.room_id, text)
        print(f"you: {text}")
        for character in room.characters:
            print(f"{character.name}: ", end="", flush=True)
            with session.rooms.stream_reply(room.room_id, character.character_id) as reply:
                for piece in reply.text_deltas():
                    print(piece, end="", flush=True)
            print()

        text = "Who wants to go next?"
        session.rooms.send(room.room_id, text)
        print(f"you: {text}")
        turn = session.rooms.reply(room.room_id)  # the service picks who answers
        print(f"{turn.author_name} (picked by the service): {turn.text}")

        count = sum(1 for _ in session.rooms.turns(room.room_id))
        print(f"{count} turns in the room")
        session.rooms.delete(room.room_id)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
