"""Model parsing: CPU per snapshot and memory per turn, against json.loads and cattrs.

    python bench/parsing.py [--rounds 5] [--number 20000]

No emulator: this measures the library's reading of what the service sends.
Rows (medians over interleaved rounds, spread = max-min):

- a streamed ``update_turn`` frame: ``json.loads`` of it, and ``json.loads`` +
  ``parse(Turn, ...)`` (what the client does per frame);
- a ``Candidate``: our generated parser against cattrs' own generated hook
  (``make_dict_structure_fn`` with renames, over the same tolerant primitive
  hooks), the alternative STYLE.md asks us to weigh;
- memory: 2,000 history turns as parsed ``Turn`` objects (with the raw JSON
  they keep) against the raw dicts alone (tracemalloc).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import timeit
import tracemalloc
import uuid
from typing import Any, Callable, Dict, List

from caiclient.models import Candidate, Turn, _base, parse


def turn_json(i: int, text: str) -> Dict[str, Any]:
    ts = f"2025-01-01T12:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000000:06d}Z"
    cand = str(uuid.uuid4())
    return {
        "turn_key": {"chat_id": "3f1b8c1e-0b7a-4a57", "turn_id": str(uuid.uuid4())},
        "create_time": ts,
        "last_update_time": ts,
        "state": "STATE_OK",
        "author": {"author_id": "char-1", "name": "Ada", "is_human": False},
        "candidates": [
            {
                "candidate_id": cand,
                "create_time": ts,
                "raw_content": text,
                "is_final": True,
                "safety_truncated": False,
            }
        ],
        "primary_candidate_id": cand,
        "is_pinned": False,
    }


def cattrs_candidate() -> Callable[[Dict[str, Any]], Any]:
    """cattrs' generated structuring hook for Candidate, with our tolerant primitives."""
    from cattrs.gen import make_dict_structure_fn, override

    conv = _base.converter
    fn = make_dict_structure_fn(
        Candidate,
        conv,
        raw=override(omit=True),
        text=override(rename="raw_content"),
        is_filtered=override(rename="safety_truncated"),
    )
    return lambda d: fn(d, Candidate)


def per_call(fn: Callable[[], Any], number: int) -> float:
    return timeit.timeit(fn, number=number) / number


def memory_of(build: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = build()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return after - before


def main(argv: Any = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--number", type=int, default=5000, help="calls per timing")
    args = ap.parse_args(argv)
    frame = json.dumps(
        {"command": "update_turn", "turn": turn_json(1, "Hello there, traveller. " * 8)}
    )
    cand = json.loads(frame)["turn"]["candidates"][0]
    theirs = cattrs_candidate()
    assert theirs(cand).text == parse(Candidate, cand).text
    rows: Dict[str, List[float]] = {
        "json.loads(frame)": [],
        "json.loads + parse(Turn)": [],
        "parse(Candidate), ours": [],
        "Candidate, cattrs make_dict_structure_fn": [],
    }
    for _ in range(args.rounds):
        rows["json.loads(frame)"].append(per_call(lambda: json.loads(frame), args.number))
        rows["json.loads + parse(Turn)"].append(
            per_call(lambda: parse(Turn, json.loads(frame)["turn"]), args.number)
        )
        rows["parse(Candidate), ours"].append(per_call(lambda: parse(Candidate, cand), args.number))
        rows["Candidate, cattrs make_dict_structure_fn"].append(
            per_call(lambda: theirs(cand), args.number)
        )
    print(f"python {sys.version.split()[0]}; {args.rounds} rounds x {args.number} calls")
    print(f"{'':44} {'median':>10} {'spread':>10}")
    for name, values in rows.items():
        spread = max(values) - min(values)
        print(f"{name:44} {statistics.median(values) * 1e6:8.2f} µs {spread * 1e6:8.2f} µs")
    raw_floor = statistics.median(rows["json.loads(frame)"])
    ours = statistics.median(rows["json.loads + parse(Turn)"])
    print(f"per frame: {ours / raw_floor:.2f}x json.loads alone")
    cat = statistics.median(rows["Candidate, cattrs make_dict_structure_fn"])
    mine = statistics.median(rows["parse(Candidate), ours"])
    print(f"Candidate: ours {mine * 1e6:.2f} µs, cattrs {cat * 1e6:.2f} µs ({cat / mine:.1f}x)")

    page = json.dumps([turn_json(i, f"reply number {i} " * 6) for i in range(2000)])
    raw_bytes = memory_of(lambda: json.loads(page))
    turns_bytes = memory_of(lambda: [parse(Turn, t) for t in json.loads(page)])
    print(
        f"memory, 2,000 turns: raw dicts {raw_bytes / 2000:.0f} B/turn, "
        f"Turns (raw kept) {turns_bytes / 2000:.0f} B/turn: {turns_bytes / raw_bytes:.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
