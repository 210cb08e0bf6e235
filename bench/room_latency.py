"""A group-chat turn (post, stream one character's answer): caiclient vs raw websocket-client.

    python bench/room_latency.py [--messages 60] [--delay 0]

The emulator runs in another process. The baseline speaks the room socket's
protocol directly (cainode.md 5.3-5.5: Centrifugo connect, subscribe, ``rpc``
``create_turn`` then ``generate_turn``, pushes) over one websocket-client
connection; caiclient uses ``session.rooms.send`` and
``session.rooms.stream_reply``. Each side has its own room with the same
characters and history, and messages alternate between the sides.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
import uuid
from typing import Any, Dict

from _common import EmulatorProcess, machine, print_latency_ratios, session

TARGET = 1.25


class RawRoom:
    """The room socket spoken directly with websocket-client: the baseline."""

    def __init__(self, emu: EmulatorProcess, account_id: str, room_id: str) -> None:
        import websocket

        self.account_id, self.room_id = account_id, room_id
        self.ids = itertools.count(1)
        self.ws = websocket.create_connection(
            emu.url.replace("http", "ws", 1) + "/neo/connection/websocket",
            cookie=f"HTTP_AUTHORIZATION=Token {emu.token}",
            timeout=30,
        )
        self._command({"connect": {"name": "js"}})
        self._command({"subscribe": {"channel": f"room:{room_id}"}})

    def _command(self, body: Dict[str, Any]) -> None:
        cid = next(self.ids)
        self.ws.send(json.dumps({"id": cid, **body}))
        while json.loads(self.ws.recv()).get("id") != cid:
            pass

    def _rpc(self, data: Dict[str, Any]) -> None:
        self.ws.send(
            json.dumps({"id": next(self.ids), "rpc": {"method": "unused_command", "data": data}})
        )

    def _pushes(self, rid: str):
        while True:
            text = self.ws.recv()
            if text == "{}":
                self.ws.send("{}")
                continue
            frame = json.loads(text)
            data = (frame.get("push") or {}).get("pub", {}).get("data")
            if data and data.get("request_id") == rid:
                yield data["turn"]

    def turn(self, character_id: str, text: str) -> Dict[str, Any]:
        """Post ``text``, let ``character_id`` answer; times from sending."""
        started = time.perf_counter()
        rid, turn_id = str(uuid.uuid4()), str(uuid.uuid4())
        human = {"author_id": self.account_id, "is_human": True, "name": "alice"}
        payload = {
            "chat_type": "TYPE_MU_ROOM",
            "num_candidates": 1,
            "user_name": "alice",
            "turn": {
                "turn_key": {"turn_id": turn_id, "chat_id": self.room_id},
                "author": human,
                "candidates": [{"candidate_id": turn_id, "raw_content": text}],
                "primary_candidate_id": turn_id,
            },
        }
        self._rpc({"command": "create_turn", "request_id": rid, "payload": payload})
        next(t for t in self._pushes(rid) if t["turn_key"]["turn_id"] == turn_id)
        rid = str(uuid.uuid4())
        self._rpc({"command": "generate_turn", "request_id": rid, "origin_id": "web-next",
                   "payload": {"chat_type": "TYPE_MU_ROOM", "character_id": character_id,
                               "chat_id": self.room_id}})  # fmt: skip
        first = None
        for turn in self._pushes(rid):
            first = first if first is not None else time.perf_counter() - started
            cand = turn["candidates"][0]
            if cand.get("is_final"):
                return {"first": first, "final": time.perf_counter() - started,
                        "text": cand["raw_content"]}  # fmt: skip
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.ws.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=60, help="messages per side")
    ap.add_argument("--delay", type=float, default=0.0, help="emulator seconds between frames")
    args = ap.parse_args()
    print(f"machine: {machine()}; emulator --delay {args.delay:g}")
    with EmulatorProcess(delay=args.delay) as emu:
        s = session(emu)
        cid = emu.character_ids[0]
        lib_room = s.rooms.create("bench", emu.character_ids[:2], greeting=False).room_id
        raw = RawRoom(
            emu,
            s.account_id,
            s.rooms.create("bench", emu.character_ids[:2], greeting=False).room_id,
        )
        for i in range(5):  # warm up
            s.rooms.send(lib_room, f"warm up {i}")
            s.rooms.reply(lib_room, cid)
            raw.turn(cid, f"warm up {i}")
        lib_first, lib_final, raw_first, raw_final = [], [], [], []
        for i in range(args.messages):
            text = f"Tell me something about number {i}"
            t0 = time.perf_counter()
            first = None
            s.rooms.send(lib_room, text)
            with s.rooms.stream_reply(lib_room, cid) as reply:
                for _turn in reply:
                    if first is None:
                        first = time.perf_counter() - t0
            lib_final.append(time.perf_counter() - t0)
            lib_first.append(first or 0.0)
            r = raw.turn(cid, text)
            raw_first.append(r["first"])
            raw_final.append(r["final"])
            assert reply.turn is not None and reply.turn.text == r["text"], "different answers"
        raw.close()
        s.close()
    pairs = (("first frame", lib_first, raw_first), ("final answer", lib_final, raw_final))
    print_latency_ratios(pairs, args.messages, TARGET, prefix="post + ")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
