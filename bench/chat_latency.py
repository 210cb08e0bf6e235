"""Time to the first streamed frame and to the final reply: caiclient vs raw websocket-client.

    python bench/chat_latency.py [--messages 60]

The emulator (``--delay 0``) runs in another process. The baseline speaks
the protocol directly (neo.md section 3) over one websocket-client
connection; caiclient uses ``session.chats.stream``. Each side has its own
chat with the same history, and messages alternate between the sides.
"""

from __future__ import annotations

import argparse
import sys
import time

from _common import EmulatorProcess, RawChat, machine, print_latency_ratios, session

TARGET = 1.25


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=60, help="messages per side")
    ap.add_argument(
        "--delay",
        type=float,
        default=0.0,
        help="emulator seconds between streamed frames (default 0)",
    )
    ap.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        help="sys.setswitchinterval for this process (profiling the GIL handoff)",
    )
    args = ap.parse_args()
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    print(
        f"machine: {machine()}; emulator --delay {args.delay:g}; "
        f"switch interval {sys.getswitchinterval() * 1000:g} ms"
    )
    with EmulatorProcess(delay=args.delay) as emu:
        s = session(emu)
        cid = emu.character_ids[0]
        raw = RawChat(emu, s.account_id)
        lib_chat = s.chats.create(cid)[0].chat_id
        raw_chat = raw.create_chat(cid)
        for i in range(5):  # warm up
            s.chats.send(cid, lib_chat, f"warm up {i}")
            raw.send(cid, raw_chat, f"warm up {i}")
        lib_first, lib_final, raw_first, raw_final = [], [], [], []
        for i in range(args.messages):
            text = f"Tell me something about number {i}"
            t0 = time.perf_counter()
            first = None
            with s.chats.stream(cid, lib_chat, text) as reply:
                for _turn in reply:
                    if first is None:
                        first = time.perf_counter() - t0
            lib_final.append(time.perf_counter() - t0)
            lib_first.append(first or 0.0)
            r = raw.send(cid, raw_chat, text)
            raw_first.append(r["first"])
            raw_final.append(r["final"])
            assert reply.turn is not None and reply.turn.text == r["text"], "different replies"
        raw.close()
        s.close()
    pairs = (("first frame", lib_first, raw_first), ("final reply", lib_final, raw_final))
    print_latency_ratios(pairs, args.messages, TARGET)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
