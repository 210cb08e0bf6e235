"""``caiclient room ...``, run in-process against the ``cai_emulator`` fixture."""

from __future__ import annotations

import io
import json
import sys
from typing import Any, Callable, List, Optional, Sequence, Tuple

import pytest

import caiclient
from caiclient import cli
from caiclient.emulator import Emulator
from caiclient.emulator.app import wait_until

Result = Tuple[int, str, str]


class Lines(io.StringIO):
    """Piped input calling ``before_line(i)`` before line ``i``; ``tty`` claims a terminal."""

    def __init__(
        self, lines: Sequence[str], before_line: Optional[Callable[[int], None]] = None, tty=False
    ) -> None:
        super().__init__("".join(line + "\n" for line in lines))
        self.before_line = before_line
        self.served = 0
        self.tty = tty

    def readline(self, size: Optional[int] = -1) -> str:  # type: ignore[override]
        if self.before_line is not None:
            self.before_line(self.served)
        self.served += 1
        return super().readline(-1 if size is None else size)

    def isatty(self) -> bool:
        return self.tty


@pytest.fixture
def run(
    cai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Result]:
    """``run(*args, stdin=...)`` -> (exit code, stdout, stderr), as alice."""
    monkeypatch.delenv("CAI_EMULATOR_URL", raising=False)
    monkeypatch.setenv("CAI_TOKEN", cai_emulator.token)

    def _run(*args: str, stdin: Any = None) -> Result:
        monkeypatch.setattr(sys, "stdin", stdin if stdin is not None else io.StringIO(""))
        code = cli.main([*args, "--emulator-url", cai_emulator.url])
        out, err = capsys.readouterr()
        assert cai_emulator.token not in out + err
        return code, out, err

    return _run


def _rooms(emu: Emulator) -> List[dict]:
    assert emu.state is not None
    return emu.state.list("room")


def _texts(emu: Emulator, room_id: str) -> List[Tuple[str, str]]:
    assert emu.state is not None
    out = []
    for t in reversed(emu.state.turns(room_id)):
        cand = next(c for c in t["candidates"] if c["candidate_id"] == t["primary_candidate_id"])
        out.append((t["author"]["name"], cand["raw_content"]))
    return out


def test_create_list_join_export(
    run: Callable[..., Result], cai_emulator: Emulator, tmp_path: Any
) -> None:
    ada, sherlock = cai_emulator.character_ids[:2]
    code, out, _ = run("room", "create", "Tea party", ada, sherlock)
    assert code == 0
    room = _rooms(cai_emulator)[0]
    assert out.splitlines() == [
        f"{room['id']}  Tea party  (Ada, Sherlock)",
        f"invite code: {room['settings']['join_token']}",
    ]
    assert run("room", "create", "Quiet", ada, "--no-greeting")[0] == 0
    code, out, _ = run("room", "list")
    assert code == 0 and "  Tea party  (Ada, Sherlock)" in out and "  Quiet  (Ada)" in out
    code, out, _ = run("room", "list", "--json")
    assert code == 0 and {r["title"] for r in json.loads(out)} == {"Tea party", "Quiet"}
    target = tmp_path / "room.html"
    code, _, err = run("room", "export", room["id"], "-o", str(target))
    assert code == 0 and f"exported 2 turns of room {room['id']}" in err
    page = target.read_text(encoding="utf-8")
    assert "Chat with Ada &amp; Sherlock" in page and "Afghanistan" in page
    with caiclient.Session(
        cai_emulator.other_token, endpoints=caiclient.Endpoints.for_emulator(cai_emulator.url)
    ) as bob:
        assert bob.rooms.list() == []
    code, _, err = run("room", "export", room["id"], "--format", "md")
    assert code == 0


def test_chat_piped(run: Callable[..., Result], cai_emulator: Emulator) -> None:
    ada, sherlock = cai_emulator.character_ids[:2]
    run("room", "create", "Tea party", ada, sherlock, "--no-greeting")
    room_id = _rooms(cai_emulator)[0]["id"]
    lines = ["Hello, Ada", "/ask sher", "/quiet", "just saying", "/who", "/history 2", "/invite"]
    code, out, err = run("room", "chat", room_id, stdin=Lines([*lines, "/quit", "never read"]))
    assert code == 0, err
    stored = _texts(cai_emulator, room_id)
    assert [who for who, _ in stored] == ["alice", "Ada", "Sherlock", "alice"]
    assert stored[3] == ("alice", "just saying")
    got = out.splitlines()
    assert got[0] == f"Room Tea party ({room_id}) with Ada, Sherlock."
    assert got[1] == "Ada: " + stored[1][1] and got[2] == "Sherlock: " + stored[2][1]
    assert "(quiet: messages get no answer until /ask)" in got
    assert "characters: Ada, Sherlock" in got and "members: alice" in got
    assert got[-3:-1] == ["Sherlock: " + stored[2][1], "alice: just saying"]
    assert got[-1].startswith("invite code: ")


def test_chat_errors(run: Callable[..., Result], cai_emulator: Emulator) -> None:
    run("room", "create", "Tea party", cai_emulator.character_ids[0])
    room_id = _rooms(cai_emulator)[0]["id"]
    code, _, err = run("room", "chat", room_id, stdin=Lines(["/ask Moriarty"]))
    assert code == 2 and "no character 'Moriarty' in this room" in err
    code, _, err = run("room", "chat", "0000-no-such-room")
    assert code == 1 and "error:" in err
    code, _, err = run("room")
    assert code == 2 and "caiclient room create|list|join|chat|export" in err


def test_chat_in_a_terminal_shows_other_members_live(
    run: Callable[..., Result], cai_emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    ada = cai_emulator.character_ids[0]
    run("room", "create", "Tea party", ada, "--no-greeting")
    room = _rooms(cai_emulator)[0]
    bob = caiclient.Session(
        cai_emulator.other_token, endpoints=caiclient.Endpoints.for_emulator(cai_emulator.url)
    )
    bob.rooms.join(room["settings"]["join_token"])
    seen: List[str] = []

    def before(i: int) -> None:
        if i == 1:  # after alice's first message and Ada's answer
            bob.rooms.send(room["id"], "Hi from Bob")
            assert wait_until(
                lambda: seen.append(capsys.readouterr().out) or "Hi from Bob" in "".join(seen),
                timeout=10,
            )

    try:
        code, out, err = run(
            "room", "chat", room["id"], stdin=Lines(["Hello", "/quit"], before, tty=True)
        )
    finally:
        bob.close()
    assert code == 0, err
    text = "".join(seen) + out
    assert "bob: Hi from Bob" in text
    assert text.count("Ada: ") == 1  # Ada's streamed answer is not printed twice
    assert "Type /help for commands" in text
