"""Per-call overhead of a REST call through caiclient vs the same request with raw requests.

    python bench/rest_overhead.py [--iterations 1000]

The emulator runs in another process. Both sides use one pooled keep-alive
connection and send the same headers (the library's own, token included);
calls alternate between the two so machine noise hits both alike.
"""

from __future__ import annotations

import argparse
import json
import time

import requests
from _common import EmulatorProcess, machine, ms, session, summary, verdict

from caiclient.transport.http import build_headers

TARGET = 1.25


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=1000, help="calls per operation and side")
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
        s.close()
        print(f"\nworst median ratio: {worst:.3f}x  {verdict(worst, TARGET)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
