"""Peak RSS while iterating a 50,000-turn chat lazily vs building the whole list,
(import time: ``bench/startup.py``).

    python bench/memory.py [--turns 50000]

The history is seeded straight into the emulator's SQLite file (``--db``):
one chat created over the websocket, then the turns inserted with sqlite3
while the emulator is stopped, then the emulator restarted on the file.
Every measurement runs in a fresh subprocess.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import uuid

from _common import EmulatorProcess, machine, session

CHILD = r"""
import json, resource, sys, time
import caiclient
def rss_kb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * (resource.getpagesize() // 1024)
url, token, chat_id, mode = sys.argv[1:5]
s = caiclient.Session(token, endpoints=caiclient.Endpoints.for_emulator(url))
s.chats.page(chat_id)  # warm up: connection, converter, first page
before = rss_kb()
peak = before
t0 = time.perf_counter()
# The peak is sampled during the run (every 250 turns): ru_maxrss would also
# count whatever the interpreter touched before ``before`` was taken.
if mode == "lazy":
    n = 0
    for turn in s.chats.turns(chat_id):
        n += 1
        if n % 250 == 0:
            peak = max(peak, rss_kb())
else:
    turns = []
    for turn in s.chats.turns(chat_id):
        turns.append(turn)
        if len(turns) % 250 == 0:
            peak = max(peak, rss_kb())
    n = len(turns)
peak = max(peak, rss_kb())
elapsed = time.perf_counter() - t0
print(json.dumps({"n": n, "growth_kb": peak - before, "seconds": elapsed}))
"""


def seed(db: str, chat_id: str, character_id: str, author_id: str, n: int) -> None:
    conn = sqlite3.connect(db)
    (seq,) = conn.execute(
        "SELECT max(s) FROM (SELECT max(seq) AS s FROM docs UNION ALL SELECT max(seq) FROM turns)"
    ).fetchone()
    rows = []
    for i in range(n):
        human = i % 2 == 0
        tid, cand = str(uuid.uuid4()), str(uuid.uuid4())
        author = (
            {"author_id": author_id, "name": "alice", "is_human": True}
            if human
            else {"author_id": character_id, "name": "Bot", "is_human": False}
        )
        text = (f"message {i}: " + "lorem ipsum dolor sit amet " * 6).strip()
        turn = {
            "turn_key": {"chat_id": chat_id, "turn_id": tid},
            "create_time": "2024-01-01T00:00:00.000000Z",
            "last_update_time": "2024-01-01T00:00:00.000000Z",
            "state": "STATE_OK",
            "author": author,
            "is_pinned": False,
            "candidates": [
                {
                    "candidate_id": cand,
                    "create_time": "2024-01-01T00:00:00.000000Z",
                    "raw_content": text,
                    "is_final": True,
                }
            ],
            "primary_candidate_id": cand,
        }
        rows.append((chat_id, tid, seq + 1 + i, 0, json.dumps(turn)))
    conn.executemany(
        "INSERT INTO turns (chat_id, turn_id, seq, pinned, data) VALUES (?,?,?,?,?)", rows
    )
    conn.commit()
    conn.close()


def child(emu: EmulatorProcess, chat_id: str, mode: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, emu.url, emu.token, chat_id, mode],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=50000)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "emulator.sqlite3")
        with EmulatorProcess(db=db) as emu:
            s = session(emu)
            cid = emu.character_ids[0]
            chat_id = s.chats.create(cid, greeting=False)[0].chat_id
            author = s.account_id
            s.close()
        seed(db, chat_id, cid, author, args.turns)
        with EmulatorProcess(db=db) as emu:
            lazy = child(emu, chat_id, "lazy")
            full = child(emu, chat_id, "list")
    assert lazy["n"] == full["n"] == args.turns, (lazy, full)
    print(f"\nhistory of {args.turns} turns (pages of 50, newest first)")
    print(
        f"  lazy  s.chats.turns():       peak RSS growth {lazy['growth_kb'] / 1024:7.1f} MiB"
        f"  in {lazy['seconds']:.1f}s"
    )
    print(
        f"  list(s.chats.turns()):       peak RSS growth {full['growth_kb'] / 1024:7.1f} MiB"
        f"  in {full['seconds']:.1f}s"
    )
    ratio = max(lazy["growth_kb"], 1) / max(full["growth_kb"], 1)
    print(
        f"  ratio lazy / list:           {ratio:.3f}x  "
        f"({'flat' if lazy['growth_kb'] < 4096 else 'NOT flat'}: < 4 MiB growth)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
