"""Where a streamed send spends the client's CPU: cProfile of the caller and the reader thread.

    python bench/profile_send.py [--messages 300] [--top 15]

The emulator (``--delay 0``) runs in its own process. One Session streams
``--messages`` replies (about 12 frames each) with ``chats.stream``; the
calling thread and the websocket reader thread are both profiled, by their
own CPU time (``time.thread_time``: waiting in ``recv`` or on a lock costs
nothing), and their statistics merged. Printed: the functions with the most time of their own
(microseconds per message), the share of each area (caiclient, the websocket
framing, JSON, threading, the rest) and whether websocket-client's UTF-8
validation ran at all (it should not: decoding the frame validates it).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from _common import EmulatorProcess, machine

AREAS = (
    ("websocket framing", (f"{os.sep}websocket{os.sep}", "_frames.py", "of '_socket", "ssl")),
    ("caiclient", (f"{os.sep}caiclient{os.sep}", "<caiclient ")),
    ("json", (f"{os.sep}json{os.sep}", "_json.", "Scanner", "make_encoder")),
    ("threading, queues", ("threading.py", "queue.py", "_thread.", "time.sleep")),
)  # fmt: skip


def area(key: Tuple[str, int, str]) -> str:
    where = f"{key[0]}:{key[2]}"
    for name, marks in AREAS:
        if any(m in where for m in marks):
            return name
    return "other"


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=300)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args(argv)

    import caiclient
    from caiclient.transport import ws as ws_module

    profiles: List[cProfile.Profile] = []
    real_loop = ws_module._Connection._read_loop

    def profiled_loop(self: Any) -> None:  # the reader thread, under its own profiler
        prof = cProfile.Profile(time.thread_time)  # CPU, not waiting
        profiles.append(prof)
        prof.enable()
        try:
            real_loop(self)
        finally:
            prof.disable()

    ws_module._Connection._read_loop = profiled_loop  # type: ignore[method-assign]
    print(f"machine: {machine()}")
    with EmulatorProcess() as emu:
        s = caiclient.Session(emu.token, endpoints=caiclient.Endpoints.for_emulator(emu.url))
        cid = emu.character_ids[0]
        chat, _ = s.chats.create(cid, greeting=False)
        list(s.chats.stream(cid, chat.chat_id, "warm up"))  # the reader's profile has it too
        caller = cProfile.Profile(time.thread_time)
        caller.enable()
        frames = 0
        for i in range(args.messages):
            for _ in s.chats.stream(cid, chat.chat_id, f"message {i}"):
                frames += 1
        caller.disable()
        s.close()
    stats = pstats.Stats(caller)
    for prof in profiles:
        stats.add(prof)
    raw: Dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())
    n = args.messages
    print(
        f"{n} streamed sends, {frames / n:.1f} snapshots each; profiled CPU {total / n * 1e6:.0f} "
        "µs a message (cProfile's own overhead included: read the shares, not the totals)"
    )
    print(f"\n{'own µs/msg':>10} {'calls/msg':>9}  function")
    for key, v in sorted(raw.items(), key=lambda kv: -kv[1][2])[: args.top]:
        fn = f"{os.path.basename(key[0])}:{key[1]} {key[2]}"
        print(f"{v[2] / n * 1e6:10.1f} {v[1] / n:9.1f}  {fn}")
    shares: Dict[str, float] = {}
    for key, v in raw.items():
        callers = v[4]
        if key[0] == "~" and area(key) == "other" and callers:
            # A builtin (dict.get, isinstance, ...): its time goes to its callers' areas.
            calls = sum(c[1] for c in callers.values()) or 1
            for caller, c in callers.items():
                shares[area(caller)] = shares.get(area(caller), 0.0) + v[2] * c[1] / calls
        else:
            shares[area(key)] = shares.get(area(key), 0.0) + v[2]
    print("\nshare of the client's CPU by area (builtins counted with their callers):")
    for name, t in sorted(shares.items(), key=lambda kv: -kv[1]):
        print(f"  {name:20} {t / total:6.1%}")
    utf8 = sum(v[2] for k, v in raw.items() if "validate_utf8" in k[2] or "_validate_utf8" in k[2])
    print(f"\nwebsocket-client UTF-8 validation: {utf8 / total:.1%} of the CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
