"""Throughput (messages/s) of many concurrent conversations on ONE Session (threads) and
on one caiclient.aio.Client (asyncio.gather), vs raw websocket-client connections.

    python bench/concurrency.py [--workers 1,8,32,64] [--messages 8]

The emulator (``--delay 0``) runs in another process. Each worker has its own
chat and sends ``--messages`` messages one after the other. The baseline is
the emulator's ceiling: one raw websocket-client connection per worker
thread speaking the protocol directly. The emulator's CPU time is printed
too: when it is close to 1 CPU-second per wall second, the emulator (one
asyncio thread) is the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import threading
import time
from typing import Any, Callable, List, Tuple

from _common import EmulatorProcess, RawChat, machine, session, verdict

TARGET = 0.8


def timed(emu: EmulatorProcess, fn: Callable[[], None]) -> Tuple[float, str]:
    cpu0, me0, t0 = emu.cpu_seconds(), time.process_time(), time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    return wall, load(emu, cpu0, me0, wall)


def load(emu: EmulatorProcess, cpu0: float, me0: float, wall: float) -> str:
    """CPU use of the emulator / of this (client) process during a run, in cores."""
    return f"{(emu.cpu_seconds() - cpu0) / wall:.2f}/{(time.process_time() - me0) / wall:.2f}"


def run_threads(n: int, target: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", default="1,8,32,64", help="comma-separated worker counts")
    ap.add_argument("--messages", type=int, default=8, help="messages per worker")
    args = ap.parse_args()
    counts = [int(x) for x in args.workers.split(",")]
    has_aio = importlib.util.find_spec("caiclient.aio") is not None
    print(f"machine: {machine()}")
    rows: List[Any] = []
    with EmulatorProcess() as emu:
        cid = emu.character_ids[0]
        s = session(emu)
        account_id = s.account_id
        for n in counts:
            total = n * args.messages
            # raw baseline: one connection per worker
            raws = [RawChat(emu, account_id) for _ in range(n)]
            raw_chats = [r.create_chat(cid) for r in raws]

            def raw_worker(i: int, raws: Any = raws, raw_chats: Any = raw_chats) -> None:
                for k in range(args.messages):
                    raws[i].send(cid, raw_chats[i], f"message {k} from worker {i}")

            raw_wall, raw_cpu = timed(emu, lambda: run_threads(n, raw_worker))  # noqa: B023
            for r in raws:
                r.close()
            # caiclient, threads sharing one Session
            chats = [s.chats.create(cid)[0].chat_id for _ in range(n)]

            def lib_worker(i: int, chats: Any = chats) -> None:
                for k in range(args.messages):
                    s.chats.send(cid, chats[i], f"message {k} from worker {i}")

            lib_wall, lib_cpu = timed(emu, lambda: run_threads(n, lib_worker))  # noqa: B023
            row = [n, total / raw_wall, raw_cpu, total / lib_wall, lib_cpu]
            if has_aio:
                from caiclient import aio

                async def aio_run(n: int = n, row: Any = row, total: int = total) -> None:
                    async with aio.Client.wrap(session(emu), max_workers=max(n, 4)) as c:
                        chats = [(await c.chats.create(cid))[0].chat_id for _ in range(n)]

                        async def task(i: int) -> None:
                            for k in range(args.messages):
                                await c.chats.send(cid, chats[i], f"message {k} from task {i}")

                        await c.account_id()
                        cpu0, me0, t0 = emu.cpu_seconds(), time.process_time(), time.perf_counter()
                        await asyncio.gather(*(task(i) for i in range(n)))
                        wall = time.perf_counter() - t0
                        row.extend([total / wall, load(emu, cpu0, me0, wall)])

                asyncio.run(aio_run())
            rows.append(row)
        s.close()
    print("\nmessages/s  [CPU use in cores: emulator process / client process]")
    head = f"{'workers':>7} | {'raw ws ceiling':>22} | {'Session threads':>22} | {'ratio':>6}"
    if has_aio:
        head += f" | {'aio.Client':>22} | {'ratio':>6}"
    print(head)
    worst = float("inf")
    for row in rows:
        n, raw_tp, raw_cpu, lib_tp, lib_cpu = row[:5]
        line = (
            f"{n:>7} | {raw_tp:9.1f} [{raw_cpu}] | {lib_tp:9.1f} [{lib_cpu}] | "
            f"{lib_tp / raw_tp:5.2f}x"
        )
        worst = min(worst, lib_tp / raw_tp)
        if has_aio:
            aio_tp, aio_cpu = row[5:7]
            line += f" | {aio_tp:9.1f} [{aio_cpu}] | {aio_tp / raw_tp:5.2f}x"
            worst = min(worst, aio_tp / raw_tp)
        print(line)
    if not has_aio:
        print("(caiclient.aio not available: asyncio column skipped)")
    print(f"\nworst ratio: {worst:.2f}x  {verdict(worst, TARGET, higher_is_better=True)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
