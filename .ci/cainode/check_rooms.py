"""CAINode 1.2.2, unmodified, drives its group-chat calls against the emulator.

A CI step (``.ci/run``), not part of the pytest suite (it needs Node and
``npm install`` first)::

    npm install --prefix .ci/cainode --omit=optional --ignore-scripts cainode@1.2.2
    python .ci/cainode/check_rooms.py

CAINode's hard-coded URLs are pointed at the emulator from outside
(``register.mjs``: the global ``fetch`` and a ``ws`` module hook); its own
file is used as published. Exits non-zero, saying what differed, on failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, List

from caiclient.emulator import serve

HERE = Path(__file__).resolve().parent


def check(problems: List[str], ok: bool, what: str) -> None:
    if not ok:
        problems.append(what)


def turn_of(frame: Any) -> dict:
    return ((frame or {}).get("push") or {}).get("pub", {}).get("data", {}).get("turn") or {}


def main() -> int:
    with serve() as emu:
        chars = list(emu.character_ids[:3])
        env = dict(os.environ, CAI_EMULATOR_URL=emu.url, CAI_TOKEN=emu.token)
        env["CAI_CHARACTERS"] = ",".join(chars)
        proc = subprocess.run(
            ["node", "--import", "./register.mjs", "rooms.mjs"],
            cwd=str(HERE), env=env, capture_output=True, text=True, timeout=90,
        )  # fmt: skip
        if proc.returncode != 0:
            print(f"CAINode failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
            return 1
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        rpcs = [
            e["command"]["rpc"]["data"]
            for e in emu.log.entries()
            if e["kind"] == "rooms_ws" and "rpc" in e["command"]
        ]
        rest = [e["path"] for e in emu.log.http("/neo/muroom")]
    p: List[str] = []
    room = out["create"]
    check(p, out["login"] is True, "login")
    check(p, out["list_before"] == {"rooms": []}, f"list before: {out['list_before']}")
    check(p, [c["id"] for c in room["characters"]] == chars[:2], "create: characters")
    check(p, "subscribe" in out["connect"] and not out["connect"].get("error"), "connect")
    check(p, out["send_message"].startswith("threw"), "send_message is broken in 1.2.2")
    reset = turn_of(out["reset"])
    check(p, reset.get("context_reset") is True and reset["author"]["is_human"], "reset turn")
    select = turn_of(out["select"])
    check(p, select["author"]["author_id"] == chars[1] and select["candidates"][0]["is_final"],
          f"select_turn answered by {select.get('author')}")  # fmt: skip
    smart = turn_of(out["smart"])
    check(p, not smart["author"]["is_human"] and smart["candidates"][0]["is_final"], "smart")
    regen = turn_of(out["regenerate"])
    check(p, regen["turn_key"] == select["turn_key"], "regenerate: same turn")
    check(p, regen["candidates"][0]["raw_content"] != select["candidates"][0]["raw_content"],
          "regenerate: a new candidate")  # fmt: skip
    check(p, out["rename"]["title"] == "Renamed by CAINode", "rename")
    check(p, out["char_add"]["characters"]["added"] == [chars[2]], "char_add")
    check(p, len(out["turns"]["turns"]) == 5, f"history: {len(out['turns']['turns'])} turns")
    listed = out["list_after_rename"]["rooms"]
    check(p, [r["title"] for r in listed] == ["Renamed by CAINode"], "list after rename")
    check(p, [c["id"] for c in listed[0]["characters"]] == chars, "list: characters")
    check(p, out["delete"]["id"] == room["id"] and out["list_after"] == {"rooms": []}, "delete")
    commands = [d.get("command") for d in rpcs]
    expected = ["create_turn", "generate_turn", "generate_turn", "generate_turn_candidate"]
    check(p, commands == expected, f"rpc commands: {commands}")
    if p:
        print("CAINode against the emulator: " + "; ".join(p))
        return 1
    print(
        f"CAINode 1.2.2 drove {len(rpcs)} room commands and {len(rest)} room REST calls "
        f"against the emulator: ok ({select['author']['name']} answered, "
        f"then {smart['author']['name']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
