"""Per-call overhead of a REST call through caiclient vs the same request with raw requests,
and the cost of each turn of a chat's history (``chats.turns()``: paged HTTP + parsing).

    python bench/rest_overhead.py [--iterations 1000] [--history 150]

The emulator runs in another process. Both sides use one pooled keep-alive
connection and send the same headers (the library's own, token included);
calls alternate between the two so machine noise hits both alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any, Dict, List

import requests
from _common import EmulatorProcess, machine, ms, session, summary, verdict

from caiclient.transport.http import build_headers

TARGET = 1.25
HISTORY_TARGET = 1.5  # CPU per history turn <= 1.5x raw requests + json


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=1000, help="calls per operation and side")
    ap.add_argument("--history", type=int, default=150, help="messages in the history chat")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    with EmulatorProcess() as emu:
        s = session(emu)
        cid = emu.character_ids[0]
        raw = requests.Session()
        neo = s.endpoints.neo
        ops = {
            "chats.recent()": (
                lambda: s.chats.recent(),
                lambda: raw.get(
                    neo + "/chats/recent/",
                    timeout=(10, 60),
                    headers=build_headers(neo + "/chats/recent/", s.endpoints, s.credentials),
                ).json(),
            ),
            "characters.get(id)": (
                lambda: s.characters.get(cid),
                lambda: raw.post(
                    neo + "/character/v1/get_character_info",
                    timeout=(10, 60),
                    data=json.dumps({"external_id": cid}).encode(),
                    headers=build_headers(
                        neo + "/character/v1/get_character_info", s.endpoints, s.credentials
                    ),
                ).json(),
            ),
        }
        worst = 0.0
        for name, (lib, base) in ops.items():
            for _ in range(30):  # warm up both connections and caches
                lib()
                base()
            t_lib, t_raw = [], []
            for _ in range(args.iterations):
                t0 = time.perf_counter()
                lib()
                t1 = time.perf_counter()
                base()
                t2 = time.perf_counter()
                t_lib.append(t1 - t0)
                t_raw.append(t2 - t1)
            a, b = summary(t_lib), summary(t_raw)
            ratio = a["median"] / b["median"]
            worst = max(worst, ratio)
            print(f"\n{name}  ({args.iterations} calls each)")
            print(f"  caiclient      median {ms(a['median'])}  p90 {ms(a['p90'])}")
            print(f"  raw requests   median {ms(b['median'])}  p90 {ms(b['p90'])}")
            print(f"  overhead       {ms(a['median'] - b['median'])} per call")
            print(
                f"  ratio          {ratio:.3f}x median, {a['p90'] / b['p90']:.3f}x p90  "
                f"{verdict(ratio, TARGET)}"
            )
        history(s, cid, max(1, args.history), max(5, args.iterations // 50))
        s.close()
        print(f"\nworst median ratio: {worst:.3f}x  {verdict(worst, TARGET)}")
    return 0


def history(s: Any, cid: str, messages: int, rounds: int) -> None:
    """Iterating a chat's turns: caiclient vs raw requests paging + json (per turn)."""
    chat_id = s.chats.create(cid, greeting=False)[0].chat_id
    for k in range(messages):
        s.chats.send(cid, chat_id, f"message {k} of the history")
    raw = requests.Session()
    url = s.endpoints.neo + f"/turns/{chat_id}/"
    headers = build_headers(url, s.endpoints, s.credentials)

    def lib() -> int:
        return sum(isinstance(t.text, str) for t in s.chats.turns(chat_id))

    def base() -> int:
        n, token = 0, None
        while True:
            params = {"next_token": token} if token else None
            body = raw.get(url, params=params, headers=headers, timeout=(10, 60)).json()
            turns = body.get("turns") or []
            for turn in turns:  # what a raw client reads of each turn: its text
                n += isinstance(turn["candidates"][0].get("raw_content"), str)
            token = (body.get("meta") or {}).get("next_token")
            if not turns or not token:
                return n

    assert lib() == base() == 2 * messages
    wall: Dict[str, List[float]] = {"lib": [], "raw": []}
    cpu: Dict[str, List[float]] = {"lib": [], "raw": []}
    for r in range(rounds):
        for name, fn in (
            (("lib", lib), ("raw", base)) if r % 2 == 0 else (("raw", base), ("lib", lib))
        ):
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            wall[name].append((time.perf_counter() - t0) / (2 * messages))
            cpu[name].append((time.process_time() - c0) / (2 * messages))
    w_lib, w_raw = statistics.median(wall["lib"]), statistics.median(wall["raw"])
    c_lib, c_raw = statistics.median(cpu["lib"]), statistics.median(cpu["raw"])
    print(f"\nhistory: {2 * messages} turns, pages of 50, {rounds} interleaved rounds (per turn)")
    print(f"  caiclient      {w_lib * 1e6:7.1f} µs wall  {c_lib * 1e6:7.1f} µs CPU")
    print(f"  raw requests   {w_raw * 1e6:7.1f} µs wall  {c_raw * 1e6:7.1f} µs CPU  (+ json)")
    print(
        f"  ratio          {w_lib / w_raw:.2f}x wall, {c_lib / c_raw:.2f}x CPU  "
        f"{verdict(c_lib / c_raw, HISTORY_TARGET)}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
