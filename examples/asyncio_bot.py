"""A chat-bot skeleton for asyncio frameworks (discord.py, aiogram, ...).

Messages from several users arrive on one asyncio queue. A router hands each
user's messages to that user's own task, so one user's messages are answered
in order while different users are served at the same time. Every user gets
their own chat with the character, and replies are streamed.

One ``caiclient.aio.Client`` serves everybody: it is safe to share, every
call runs in its thread pool and the event loop never blocks.

In a real bot, ``incoming`` is filled by the framework's message handler and
``deliver`` sends text back to the user. Here a fixed set of demo messages is
queued and the bot stops once they are answered.

    CAI_TOKEN=... python examples/asyncio_bot.py [CHARACTER_ID]
"""

from __future__ import annotations

import asyncio
import sys
from typing import Dict, List, Optional, Tuple

import caiclient
from caiclient.aio import Client

DEMO_MESSAGES: List[Tuple[str, str]] = [
    ("ana", "Hello! Who are you?"),
    ("ben", "Good evening."),
    ("chloe", "Can you help me with a mystery?"),
    ("ana", "What do you enjoy most?"),
    ("ben", "Tell me something surprising."),
    ("chloe", "The cake vanished from the kitchen."),
]

Message = Optional[Tuple[str, str]]  # (user, text); None ends the stream


class Bot:
    """One character, one Client, one chat per user."""

    def __init__(self, client: Client, character_id: str) -> None:
        self.client = client
        self.character_id = character_id
        self.chats: Dict[str, str] = {}  # user -> chat_id
        self.answered = 0

    async def chat_for(self, user: str) -> str:
        chat_id = self.chats.get(user)
        if chat_id is None:
            chat, _greeting = await self.client.chats.create(self.character_id, greeting=False)
            chat_id = self.chats[user] = chat.chat_id
        return chat_id

    async def answer(self, user: str, text: str) -> None:
        chat_id = await self.chat_for(user)
        pieces: List[str] = []
        try:
            async with self.client.chats.stream(self.character_id, chat_id, text) as reply:
                async for piece in reply.text_deltas():
                    pieces.append(piece)  # a real bot would edit its message here
        except caiclient.ContentFiltered:
            await deliver(user, "(that message was refused by the content filter)")
            return
        except caiclient.RateLimited as exc:
            await deliver(user, f"(busy, try again in {exc.retry_after or 'a few'} seconds)")
            return
        except caiclient.CaiError as exc:
            await deliver(user, f"(something went wrong: {type(exc).__name__})")
            return
        self.answered += 1
        await deliver(user, "".join(pieces))

    async def serve_user(self, user: str, inbox: asyncio.Queue[Message]) -> None:
        while True:
            item = await inbox.get()
            if item is None:
                return
            await self.answer(*item)

    async def run(self, incoming: asyncio.Queue[Message]) -> None:
        """Route messages to per-user tasks until ``None`` arrives, then let them finish."""
        inboxes: Dict[str, asyncio.Queue[Message]] = {}
        tasks: List[asyncio.Task[None]] = []
        while True:
            item = await incoming.get()
            if item is None:
                break
            user = item[0]
            if user not in inboxes:
                inboxes[user] = asyncio.Queue()
                tasks.append(asyncio.create_task(self.serve_user(user, inboxes[user])))
            inboxes[user].put_nowait(item)
        for inbox in inboxes.values():
            inbox.put_nowait(None)
        await asyncio.gather(*tasks)


async def deliver(user: str, text: str) -> None:
    """Send a reply to a user (print it, in this demo)."""
    print(f"[to {user}] {text}", flush=True)


async def main(character_id: Optional[str] = None) -> int:
    async with Client.from_env() as client:
        if client.is_guest:
            print("set CAI_TOKEN first (see docs/token.rst)", file=sys.stderr)
            return 2
        if character_id is None:
            character_id = (await client.characters.search("detective"))[0].character_id
        bot = Bot(client, character_id)

        incoming: asyncio.Queue[Message] = asyncio.Queue()
        for message in DEMO_MESSAGES:
            incoming.put_nowait(message)
        incoming.put_nowait(None)  # end of the demo

        await asyncio.wait_for(bot.run(incoming), timeout=120)
        print(f"answered {bot.answered} messages for {len(bot.chats)} users", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:2])))
