"""An emulator process that also takes fault commands, one JSON object per stdin line.

    python bench/_emu_proc.py --port P [--db PATH]
    stdin: {"fault": "drop_socket_after", "args": [3]} | {"fault": "clear"} ...

Prints the same banner as ``python -m caiclient.emulator`` (the bench scripts parse it).
"""

from __future__ import annotations

import argparse
import json
import sys

from caiclient.emulator import Emulator


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--db", default=None)
    ap.add_argument("--delay", type=float, default=0.0)
    args = ap.parse_args()
    emu = Emulator(port=args.port, db=args.db, delay=args.delay).start()
    print(f"Character.AI emulator listening on {emu.url}")
    print(f"  token (alice): {emu.token}")
    print(f"  characters: {', '.join(emu.character_ids)}")
    print("Press Ctrl-C to stop.", flush=True)
    allowed = {"drop_socket_after", "drop_on_receive", "http_errors", "latency", "clear"}
    try:
        for line in sys.stdin:
            cmd = json.loads(line)
            if cmd.get("fault") in allowed:
                getattr(emu.faults, cmd["fault"])(*cmd.get("args", []))
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
