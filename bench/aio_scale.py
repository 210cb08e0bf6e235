"""Many concurrent conversations: one aio.Client (asyncio tasks) vs one Session (threads).

    python bench/aio_scale.py [--conversations 1024] [--messages 8] [--rounds 3]
                              [--max-workers 64] [--no-pin]

Each conversation has its own chat and sends ``--messages`` messages one after
the other; all conversations start at once. Per message, the latency to the
complete reply is recorded: from the round's start for the first message of
each conversation (so the time a thread waits to be scheduled counts, as the
time a task waits for the loop does), from the previous reply for the others.
The baseline is the threaded face in the same run: one Session shared by one
thread per conversation. Rounds are interleaved (threads, aio, aio, threads,
...) and the median and spread over rounds of each face's p50 latency are
printed, with p90, the first messages' own p50, throughput, the library's
threads at the peak and the CPU of both processes. The emulator runs on a CPU
of its own and the bench on the others (``--no-pin`` to share them).

With very few messages a conversation, the p50 mostly reflects how the first
burst of 1,024 sends reaches the emulator, which serves commands in the order
they arrive: the aio face gets all of them out at once, so its first replies
come sooner and its second messages queue behind the rest of the burst; a
thread per conversation gets its first messages out more slowly (the first-
message column) and its later ones meet a shorter queue. From about eight
messages a conversation the figures describe the steady state.

Issue 13's target: p50 latency of the aio face no worse than the threaded
face's at 1,024 conversations, with the default ``max_workers`` (64): aio
replies hold no thread while they wait. Run with ``PYTHONPATH`` pointing at an
older checkout's library to see its behaviour (there, every waiting reply held
one of the 64 pool threads).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import threading
import time
from typing import Any, Dict, List

from _common import EmulatorProcess, cpu_split, machine, pct, session

import caiclient


def lib_threads() -> int:
    return sum(t.name.startswith("caiclient-") for t in threading.enumerate())


class Peak:
    """The most library threads alive at once while a round runs (sampled)."""

    def __init__(self) -> None:
        self.value = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.value = max(self.value, lib_threads())

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def threads_round(emu: EmulatorProcess, cid: str, chats: List[str], messages: int) -> Dict:
    lat: List[float] = []
    first: List[float] = []
    errors: List[BaseException] = []
    lock = threading.Lock()
    s = session(emu, reply_timeout=300.0)
    s.account_id  # noqa: B018 - fetched once, outside the measurement
    start = threading.Event()
    begun: List[float] = []

    def worker(i: int) -> None:
        start.wait()
        for k in range(messages):
            # the first message is wanted when the round starts (not when this thread runs)
            t0 = begun[0] if k == 0 else time.perf_counter()
            try:
                s.chats.send(cid, chats[i], f"thread {i} message {k}")
            except caiclient.CaiError as exc:
                with lock:
                    errors.append(exc)
                continue
            with lock:
                lat.append(time.perf_counter() - t0)
                if k == 0:
                    first.append(lat[-1])

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(len(chats))]
    for w in workers:
        w.start()
    with Peak() as peak:
        cpu0, me0, t0 = emu.cpu_seconds(), time.process_time(), time.perf_counter()
        begun.append(t0)
        start.set()
        for w in workers:
            w.join()
        wall = time.perf_counter() - t0
    cpu = (emu.cpu_seconds() - cpu0, time.process_time() - me0)
    s.close()
    return {
        "lat": lat, "first": first, "errors": errors, "wall": wall, "peak": peak.value, "cpu": cpu
    }  # fmt: skip


def aio_round(
    emu: EmulatorProcess, cid: str, chats: List[str], messages: int, max_workers: int
) -> Dict:
    from caiclient import aio

    out: Dict[str, Any] = {}

    async def main() -> None:
        lat: List[float] = []
        first: List[float] = []
        errors: List[BaseException] = []
        async with aio.Client.wrap(session(emu, reply_timeout=300.0), max_workers=max_workers) as c:
            await c.account_id()

            begun: List[float] = []

            async def task(i: int) -> None:
                for k in range(messages):
                    t0 = begun[0] if k == 0 else time.perf_counter()
                    try:
                        await c.chats.send(cid, chats[i], f"task {i} message {k}")
                    except caiclient.CaiError as exc:
                        errors.append(exc)
                        continue
                    lat.append(time.perf_counter() - t0)
                    if k == 0:
                        first.append(lat[-1])

            with Peak() as peak:
                cpu0, me0, t0 = emu.cpu_seconds(), time.process_time(), time.perf_counter()
                begun.append(t0)
                await asyncio.gather(*(task(i) for i in range(len(chats))))
                wall = time.perf_counter() - t0
            cpu = (emu.cpu_seconds() - cpu0, time.process_time() - me0)
        out.update(lat=lat, first=first, errors=errors, wall=wall, peak=peak.value, cpu=cpu)

    asyncio.run(main())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conversations", type=int, default=1024)
    ap.add_argument("--messages", type=int, default=8, help="messages per conversation")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per face (interleaved)")
    ap.add_argument("--max-workers", type=int, default=64, help="the aio.Client's pool")
    ap.add_argument("--no-pin", action="store_true", help="emulator and bench share every CPU")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    split = None if args.no_pin else cpu_split()
    if split:
        os.sched_setaffinity(0, split[1])  # this process (both faces) off the emulator's CPU
        print(f"CPUs: the emulator on {sorted(split[0])}, the bench on {sorted(split[1])}")
    n, m = args.conversations, args.messages
    results: Dict[str, List[Dict]] = {"threads": [], "aio": []}
    with EmulatorProcess(cpus=split[0] if split else None) as emu:
        cid = emu.character_ids[0]
        with session(emu) as s:
            chats = [s.chats.create(cid, greeting=False)[0].chat_id for _ in range(n)]
        order = ["threads", "aio"]
        for r in range(args.rounds):
            for face in order if r % 2 == 0 else order[::-1]:
                if face == "threads":
                    res = threads_round(emu, cid, chats, m)
                else:
                    res = aio_round(emu, cid, chats, m, args.max_workers)
                results[face].append(res)
                print(
                    f"  round {r + 1} {face:>7}: p50 {statistics.median(res['lat']):.3f}s "
                    f"p90 {pct(res['lat'], 90):.3f}s, {len(res['lat']) / res['wall']:.0f} msg/s, "
                    f"{len(res['errors'])} errors, peak {res['peak']} library threads",
                    flush=True,
                )
    print(f"\n{n} conversations x {m} messages, {args.rounds} rounds per face "
          f"(aio max_workers={args.max_workers})")  # fmt: skip
    head = f"{'face':>8} | {'p50 latency (median [min-max] of rounds)':>40} | {'p90':>7} | "
    head += f"{'1st p50':>7} | "
    print(head + f"{'msg/s':>6} | {'CPU s emu/client':>16} | {'threads':>7} | errors")
    p50s: Dict[str, float] = {}
    for face, rounds in results.items():
        per = [statistics.median(r["lat"]) for r in rounds]
        p50s[face] = statistics.median(per)
        p90 = statistics.median(pct(r["lat"], 90) for r in rounds)
        first = statistics.median(statistics.median(r["first"]) for r in rounds)
        tput = statistics.median(len(r["lat"]) / r["wall"] for r in rounds)
        cpu_e = statistics.median(r["cpu"][0] for r in rounds)
        cpu_c = statistics.median(r["cpu"][1] for r in rounds)
        peak = max(r["peak"] for r in rounds)
        errs = sum(len(r["errors"]) for r in rounds)
        line = f"{face:>8} | {p50s[face]:>17.3f}s [{min(per):.3f}-{max(per):.3f}]{'':>6} | "
        line += f"{p90:6.3f}s | {first:6.3f}s | {tput:6.0f} | {cpu_e:7.1f}/{cpu_c:<8.1f} | "
        line += f"{peak:>7} | {errs}"
        print(line)
    ratio = p50s["aio"] / p50s["threads"]
    verdict = "met" if ratio <= 1.0 else ("within noise" if ratio <= 1.05 else "MISSED")
    print(f"\naio p50 / threads p50 = {ratio:.2f}x (target <= 1.0x: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
