"""CAINode 1.2.2 (npm, unmodified) drives its group-chat calls against the emulator.

node/rooms.mjs runs the calls; the base URLs are swapped by node/to_emulator.mjs like for the
DM tests (test_cainode.py). What CAINode sends and reads: cainode.md sections 5.1-5.8.
"""

from __future__ import annotations

from typing import Any

from conftest import run_node

from caiclient.emulator import Emulator


def _turn_of(frame: Any) -> dict:
    return ((frame or {}).get("push") or {}).get("pub", {}).get("data", {}).get("turn") or {}


def test_group_chat(emu: Emulator) -> None:
    chars = list(emu.character_ids[:3])
    out = run_node(emu, "rooms.mjs", CAI_CHARACTERS=",".join(chars))
    rpcs = [
        e["command"]["rpc"]["data"]
        for e in emu.log.entries()
        if e["kind"] == "rooms_ws" and "rpc" in e["command"]
    ]
    room = out["create"]
    assert out["login"] is True
    assert out["list_before"] == {"rooms": []}
    assert [c["id"] for c in room["characters"]] == chars[:2]
    assert "subscribe" in out["connect"] and not out["connect"].get("error")
    # Client bug (cainode.md 5.8): group_chat.send_message throws before sending in 1.2.2.
    assert out["send_message"].startswith("threw")
    reset = _turn_of(out["reset"])
    assert reset.get("context_reset") is True and reset["author"]["is_human"]
    select = _turn_of(out["select"])
    assert select["author"]["author_id"] == chars[1] and select["candidates"][0]["is_final"]
    smart = _turn_of(out["smart"])
    assert not smart["author"]["is_human"] and smart["candidates"][0]["is_final"]
    regen = _turn_of(out["regenerate"])
    assert regen["turn_key"] == select["turn_key"]
    assert regen["candidates"][0]["raw_content"] != select["candidates"][0]["raw_content"]
    assert out["rename"]["title"] == "Renamed by CAINode"
    assert out["char_add"]["characters"]["added"] == [chars[2]]
    assert len(out["turns"]["turns"]) == 5
    listed = out["list_after_rename"]["rooms"]
    assert [r["title"] for r in listed] == ["Renamed by CAINode"]
    assert [c["id"] for c in listed[0]["characters"]] == chars
    assert out["delete"]["id"] == room["id"] and out["list_after"] == {"rooms": []}
    commands = [d.get("command") for d in rpcs]
    assert commands == ["create_turn", "generate_turn", "generate_turn", "generate_turn_candidate"]
