"""The ``caiclient`` command, run in-process against the ``cai_emulator`` fixture.

A few runs go through the real console entry point (``python -m caiclient``)
in a subprocess, for ``--emulator``, exit codes and Ctrl-C.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import pytest
from cli_support import (
    ADA,
    SEED_CHAT,
    SEED_REPLY,
    SHERLOCK,
    Result,
    ScriptedStdin,
    TtyStdin,
    primary,
    texts,
)
from support import mp3_frames

import caiclient
from caiclient.cli import _session as cli_session
from caiclient.cli import chat as cli_chat
from caiclient.cli import export as cli_export
from caiclient.emulator import Emulator

# ------------------------------------------------------------------ basics


def test_version_and_help(run: Callable[..., Result]) -> None:
    code, out, _ = run("--version", url=False)
    assert code == 0 and caiclient.__version__ in out
    code, out, _ = run("--help", url=False)
    assert code == 0
    for name in ("chat", "search", "character", "export", "tts", "emulator", "exit codes"):
        assert name in out


def test_unknown_command_is_a_usage_error(run: Callable[..., Result]) -> None:
    code, _, err = run("frobnicate", url=False)
    assert code == 2
    assert "invalid choice" in err
    code, _, err = run("search", url=False)  # missing QUERY
    assert code == 2 and "QUERY" in err
    code, _, err = run("search", "x", "--timeout", "-1")
    assert code == 2 and "--timeout" in err


def test_no_command_prints_help(run: Callable[..., Result]) -> None:
    code, _, err = run(url=False)
    assert code == 2 and "COMMAND" in err


# ------------------------------------------------------------------ search / character


def test_search_characters_table_as_guest(run: Callable[..., Result]) -> None:
    code, out, err = run("search", "Ada", token=None)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "ID", "INTERACTIONS", "TITLE"]
    row = next(line for line in lines if ADA in line)
    assert row.startswith("Ada ")
    assert "2,400,311" in row and "Analytical engine enthusiast" in row


def test_search_json_and_creators(run: Callable[..., Result]) -> None:
    code, out, _ = run("search", "Ada", "--json")
    assert code == 0
    found = json.loads(out)
    ada = next(c for c in found if c["character_id"] == ADA)
    assert ada["name"] == "Ada" and ada["num_interactions"] == 2400311
    assert "raw" not in ada

    code, out, _ = run("search", "car", "--creators")
    assert code == 0 and out.split() == ["carol"]
    code, out, _ = run("search", "car", "--creators", "--json")
    assert json.loads(out) == [{"username": "carol"}]

    code, out, err = run("search", "zzzz-no-such-thing")
    assert code == 0 and out == "" and "no characters found" in err


def test_character_details_and_json(run: Callable[..., Result]) -> None:
    code, out, _ = run("character", ADA, token=None)
    assert code == 0
    assert out.startswith("Ada - Analytical engine enthusiast")
    assert ADA in out and "carol" in out and "Hello! I am Ada." in out

    code, out, _ = run("character", ADA, "--json")
    data = json.loads(out)
    assert data["character_id"] == ADA and data["greeting"].startswith("Hello! I am Ada.")


def test_unknown_character_is_an_api_error_with_a_hint(run: Callable[..., Result]) -> None:
    code, _, err = run("chat", "no-such-character")
    assert code == 1
    assert err.splitlines()[0] == "error: no character with id 'no-such-character'"
    assert "hint: find ids with `caiclient search NAME`" in err
    assert "Traceback" not in err


# ------------------------------------------------------------------ chat


def test_chat_every_slash_command(run: Callable[..., Result], cai_emulator: Emulator) -> None:
    state = cai_emulator.state
    assert state is not None
    base = state.turns(SEED_CHAT)
    snaps: Dict[int, List[Dict[str, Any]]] = {}
    lines = [
        "Hello Ada",  # 0
        "/regen",  # 1
        "/edit A better answer.",  # 2
        "/pin",  # 3
        "/unpin",  # 4
        "/history 2",  # 5
        "/chats",  # 6
        "/help",  # 7
        "/new",  # 8
        "Hi again",  # 9
        f"/switch {SEED_CHAT}",  # 10
        "//slash message",  # 11
        "",  # 12 (blank lines are ignored)
        "/quit",  # 13
        "never sent",  # 14
    ]
    stdin = ScriptedStdin(lines, lambda i: snaps.__setitem__(i, state.turns(SEED_CHAT)))
    code, out, err = run("chat", ADA, "--chat", SEED_CHAT, stdin=stdin)
    assert code == 0, err
    assert err == ""
    assert "> " not in out  # no prompt when stdin is not a terminal
    assert out.startswith(f"Continuing chat {SEED_CHAT} with Ada.\n")

    # a message: the user's turn and the streamed reply are stored
    after_send = snaps[1]
    assert len(after_send) == len(base) + 2
    assert texts(after_send[1:2]) == ["Hello Ada"] and after_send[1]["author"]["is_human"]
    reply = after_send[0]
    assert not reply["author"]["is_human"]
    assert '"Hello Ada"' in texts([reply])[0]
    assert f"Ada: {texts([reply])[0]}\n" in out

    # /regen: a second candidate, now primary, printed
    after_regen = snaps[2]
    assert len(after_regen) == len(after_send)
    regen = after_regen[0]
    assert regen["turn_key"] == reply["turn_key"]
    assert len(regen["candidates"]) == 2
    assert regen["primary_candidate_id"] != reply["primary_candidate_id"]
    assert "(Take 2.)" in texts([regen])[0]
    assert f"Ada: {texts([regen])[0]}\n" in out
    assert f"Ada: {texts([regen])[0]}\n(candidate 2)\n" in out

    # /edit: the primary candidate's text replaced
    after_edit = snaps[3][0]
    assert after_edit["primary_candidate_id"] == regen["primary_candidate_id"]
    assert primary(after_edit)["raw_content"] == "A better answer."
    assert "(edited) Ada: A better answer.\n" in out

    # /pin, /unpin
    assert snaps[4][0]["is_pinned"] is True
    assert snaps[5][0]["is_pinned"] is False
    assert "(pinned the last reply)" in out and "(unpinned the last reply)" in out

    # /history 2: oldest first, each line with the end of the turn's id
    ids = [t["turn_key"]["turn_id"][-8:] for t in snaps[6][:2]]
    assert f"{ids[1]}  Alice: Hello Ada\n{ids[0]}  Ada: A better answer.\n" in out

    # /chats lists the current chat, starred
    assert re.search(rf"^\* {SEED_CHAT} .*Seeded chat with Ada$", out, re.M)

    # /help
    assert "/regen" in out and "/switch CHAT_ID" in out

    # /new: a new chat with a greeting; the next message goes there
    m = re.search(r"^\(new chat ([0-9a-f-]+)\)$", out, re.M)
    assert m, out
    new_chat = m.group(1)
    assert new_chat != SEED_CHAT
    new_turns = state.turns(new_chat)
    assert texts(new_turns)[1:] == [
        "Hi again",
        "Hello! I am Ada. Shall we compute something wonderful today?",
    ]
    assert snaps[10] == snaps[9]  # nothing went to the seeded chat meanwhile

    # /switch back: "//" sends a message starting with one slash
    final = state.turns(SEED_CHAT)
    assert texts(final[1:2]) == ["/slash message"]
    assert f"(switched to chat {SEED_CHAT} with Ada)" in out

    # /quit stops reading
    assert stdin.served == 14
    all_texts = [t for c in state.chats() for t in texts(state.turns(c["chat_id"]))]
    assert "never sent" not in all_texts


def test_chat_continues_latest_or_creates(
    run: Callable[..., Result], cai_emulator: Emulator
) -> None:
    state = cai_emulator.state
    assert state is not None
    # Ada: alice's latest chat is the seeded one
    code, out, _ = run("chat", ADA, stdin=io.StringIO("hi\n"))
    assert code == 0
    assert out.startswith(f"Continuing chat {SEED_CHAT} with Ada.")
    assert texts(state.turns(SEED_CHAT)[1:2]) == ["hi"]

    # Sherlock: no chat yet -> a new one, greeting printed; EOF ends the session
    before = {c["chat_id"] for c in state.chats()}
    code, out, _ = run("chat", SHERLOCK)
    assert code == 0
    created = {c["chat_id"] for c in state.chats()} - before
    assert len(created) == 1
    chat_id = created.pop()
    greeting = texts(state.turns(chat_id))[0]
    assert out == f"Started chat {chat_id} with Sherlock.\nSherlock: {greeting}\n"

    # --new always creates one
    code, out, _ = run("chat", ADA, "--new")
    assert code == 0 and out.startswith("Started chat ") and SEED_CHAT not in out

    code, _, err = run("chat", ADA, "--new", "--chat", SEED_CHAT)
    assert code == 2 and "exclude" in err


def test_chat_piped_errors_end_the_session(run: Callable[..., Result]) -> None:
    code, _, err = run("chat", ADA, "--chat", SEED_CHAT, stdin=io.StringIO("/bogus\nhello\n"))
    assert code == 2 and "error: unknown command /bogus" in err and "/help" in err

    code, _, err = run("chat", ADA, "--chat", SEED_CHAT, stdin=io.StringIO("/edit\n"))
    assert code == 2 and "/edit needs the new text" in err

    code, _, err = run("chat", ADA, "--chat", SEED_CHAT, stdin=io.StringIO("/switch nope\n"))
    assert code == 1 and err.startswith("error: ") and "Traceback" not in err

    code, _, err = run("chat", ADA, "--chat", SEED_CHAT, stdin=io.StringIO("/history zero\n"))
    assert code == 2 and "positive number" in err


def test_chat_reply_commands_need_a_reply(
    run: Callable[..., Result], cai_emulator: Emulator
) -> None:
    assert cai_emulator.state is not None
    cai_emulator.state.add_turn(
        SEED_CHAT,
        {
            "turn_key": {"chat_id": SEED_CHAT, "turn_id": "unanswered"},
            "author": {"author_id": cai_emulator.user_id, "name": "Alice", "is_human": True},
            "candidates": [
                {"candidate_id": "c-unanswered", "raw_content": "hm?", "is_final": True}
            ],
            "primary_candidate_id": "c-unanswered",
        },
    )
    for command in ("/regen", "/pin", "/edit x"):
        code, _, err = run("chat", ADA, "--chat", SEED_CHAT, stdin=io.StringIO(command + "\n"))
        assert code == 2 and "the newest message is yours" in err
    assert texts(cai_emulator.state.turns(SEED_CHAT)[:2]) == [
        "hm?",
        "An engine is a machine that turns one thing into another, dear. Mine turns numbers into patterns.",
    ]


def test_emulator_command_passes_everything_on(run: Callable[..., Result]) -> None:
    code, out, _ = run("emulator", "--help", url=False)
    assert code == 0 and "--port" in out and "--fault-http-errors" in out
    code, out, _ = run("-v", "emulator", "--help", url=False)
    assert code == 0 and "--port" in out
    code, _, err = run("emulator", "--no-such-option", url=False)
    assert code == 2 and "--no-such-option" in err


def test_chat_interactive_prompts_and_survives_errors(
    run: Callable[..., Result], cai_emulator: Emulator
) -> None:
    code, out, err = run("chat", ADA, "--chat", SEED_CHAT, stdin=TtyStdin("/bogus\nhow are you\n"))
    assert code == 0
    assert "Type /help for commands" in out
    assert out.count("> ") >= 3  # a prompt before every line and at EOF
    assert "error: unknown command /bogus" in err
    assert cai_emulator.state is not None
    assert texts(cai_emulator.state.turns(SEED_CHAT)[1:2]) == ["how are you"]


def test_chat_ctrl_c_exits_130(run: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(self: Any) -> Optional[str]:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_chat.ChatRepl, "read_line", interrupt)
    code, _, err = run("chat", ADA, "--chat", SEED_CHAT)
    assert code == 130
    assert "interrupted" in err and "Traceback" not in err


# ------------------------------------------------------------------ export


def _long_chat(cai_emulator: Emulator, n: int) -> str:
    """A chat of alice's with Ada holding a greeting and ``n`` more turns (several pages)."""
    with caiclient.Session(
        cai_emulator.token, endpoints=caiclient.Endpoints.for_emulator(cai_emulator.url)
    ) as s:
        chat, _ = s.chats.create(ADA)
    state = cai_emulator.state
    assert state is not None
    for i in range(n):
        human = i % 2 == 0
        text = f"message {i:03d}"
        if i == 3:
            text += " <script>alert(\"x\")</script> & *stars* 'q'\nsecond line"
        state.add_turn(
            chat.chat_id,
            {
                "turn_key": {"chat_id": chat.chat_id, "turn_id": f"turn-{i:03d}"},
                "create_time": f"2025-02-01T10:{i // 60:02d}:{i % 60:02d}.000000Z",
                "last_update_time": f"2025-02-01T10:{i // 60:02d}:{i % 60:02d}.000000Z",
                "state": "STATE_OK",
                "author": (
                    {"author_id": cai_emulator.user_id, "name": "Alice", "is_human": True}
                    if human
                    else {"author_id": ADA, "name": "Ada", "is_human": False}
                ),
                "candidates": [
                    {"candidate_id": f"cand-{i:03d}", "raw_content": text, "is_final": True}
                ],
                "primary_candidate_id": f"cand-{i:03d}",
                "is_pinned": i == 5,
            },
        )
    return chat.chat_id


def _in_order(text: str, needles: Sequence[str]) -> bool:
    positions = [text.index(n) for n in needles]
    return positions == sorted(positions)


N_TURNS = 120  # + the greeting: three pages of 50


def test_export_json(run: Callable[..., Result], cai_emulator: Emulator, tmp_path: Path) -> None:
    chat_id = _long_chat(cai_emulator, N_TURNS)
    out_file = tmp_path / "chat.json"
    code, out, err = run("export", chat_id, "--format", "json", "-o", str(out_file))
    assert code == 0, err
    assert out == ""
    assert f"exported {N_TURNS + 1} turns" in err
    assert "fetching" not in err  # no progress: stderr is not a terminal
    data = json.loads(out_file.read_text(encoding="utf-8"))
    assert data["chat"]["chat_id"] == chat_id and data["character_name"] == "Ada"
    assert data["turn_count"] == N_TURNS + 1 == len(data["turns"])
    assert data["turns"][0]["text"].startswith("Hello! I am Ada.")  # oldest first
    assert [t["text"][:11] for t in data["turns"][1:]] == [
        f"message {i:03d}" for i in range(N_TURNS)
    ]
    assert data["turns"][4]["text"].endswith("'q'\nsecond line")
    assert data["turns"][6]["is_pinned"] is True
    assert data["turns"][1]["author_is_human"] is True
    assert sorted(os.listdir(tmp_path)) == ["chat.json"]  # no temp file left


def test_export_markdown_with_progress(
    run: Callable[..., Result], cai_emulator: Emulator, tmp_path: Path
) -> None:
    chat_id = _long_chat(cai_emulator, N_TURNS)
    out_file = tmp_path / "chat.md"  # format from the extension
    code, _, err = run("export", chat_id, "-o", str(out_file), "--progress")
    assert code == 0, err
    assert "fetching turns:" in err and f"[{'#' * 30}] {N_TURNS + 1}/{N_TURNS + 1} 100%" in err
    md = out_file.read_text(encoding="utf-8")
    assert md.startswith("# Chat with Ada\n")
    assert f"- Chat: `{chat_id}`" in md and f"- Turns: {N_TURNS + 1}" in md
    assert _in_order(md, ["Hello! I am Ada.", "message 000", "message 001", "message 119"])
    assert "**Alice** (2025-02-01 10:00 UTC)\n\nmessage 000\n" in md
    assert "**Ada** (2025-02-01 10:00 UTC · pinned)\n\nmessage 005\n" in md
    assert "&amp; *stars* 'q'  \nsecond line" in md or "& *stars* 'q'  \nsecond line" in md
    assert sorted(os.listdir(tmp_path)) == ["chat.md"]


def test_export_html_is_escaped(
    run: Callable[..., Result], cai_emulator: Emulator, tmp_path: Path
) -> None:
    chat_id = _long_chat(cai_emulator, N_TURNS)
    out_file = tmp_path / "page.html"
    code, _, err = run("export", chat_id, "--format", "html", "-o", str(out_file))
    assert code == 0, err
    page = out_file.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<title>Chat with Ada</title>" in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; *stars* &#x27;q&#x27;" in page
    assert page.count('<article class="turn ') == N_TURNS + 1
    assert 'class="turn character pinned" id="turn-turn-005"' in page
    assert _in_order(page, ['id="turn-turn-000"', 'id="turn-turn-001"', 'id="turn-turn-119"'])
    assert sorted(os.listdir(tmp_path)) == ["page.html"]


def test_export_to_stdout(run: Callable[..., Result]) -> None:
    code, out, err = run("export", SEED_CHAT, "-o", "-")
    assert code == 0 and err == ""
    data = json.loads(out)  # json by default on stdout
    assert [t["turn_id"][-2:] for t in data["turns"]] == ["a1", "a2", "a3"]
    code, out, _ = run("export", SEED_CHAT, "--format", "md")
    assert code == 0 and _in_order(out, ["Hello! I am Ada.", "what is an engine?", "Mine turns"])


def test_export_failure_leaves_nothing_behind(
    run: Callable[..., Result], cai_emulator: Emulator, tmp_path: Path
) -> None:
    target = tmp_path / "chat.md"
    cai_emulator.faults.http_errors("/neo/turns/", [500, 500, 500])
    code, _, err = run("export", SEED_CHAT, "-o", str(target))
    assert code == 1
    assert err.startswith("error: [500 GET /neo/turns/") and "Traceback" not in err
    assert os.listdir(tmp_path) == []

    # an existing file is untouched when writing fails half-way
    target.write_text("old content", encoding="utf-8")

    def disk_full(self: Any) -> str:
        raise OSError(28, "No space left on device")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli_export._MarkdownRenderer, "tail", disk_full)
        code, _, err = run("export", SEED_CHAT, "-o", str(target))
    assert code == 1 and "error: No space left on device" in err
    assert target.read_text(encoding="utf-8") == "old content"
    assert os.listdir(tmp_path) == ["chat.md"]


def test_export_usage_errors(run: Callable[..., Result], tmp_path: Path) -> None:
    code, _, err = run("export", SEED_CHAT, "-o", str(tmp_path / "chat.txt"))
    assert code == 2 and "--format" in err
    code, _, err = run("export", SEED_CHAT, "-o", str(tmp_path / "missing" / "c.json"))
    assert code == 2 and "no such directory" in err
    code, _, err = run("export", SEED_CHAT, "--format", "pdf")
    assert code == 2


# ------------------------------------------------------------------ tts


def test_tts_writes_an_mp3(
    run: Callable[..., Result], cai_emulator: Emulator, tmp_path: Path
) -> None:
    target = tmp_path / "reply.mp3"
    code, _, err = run("tts", SEED_CHAT, SEED_REPLY, "--voice", "sys-voice-calm", "-o", str(target))
    assert code == 0, err
    assert "bytes of audio" in err
    assert mp3_frames(target.read_bytes()) > 0  # the service's replayUrl is an MP3
    assert os.listdir(tmp_path) == ["reply.mp3"]

    assert cai_emulator.state is not None
    seeded = cai_emulator.state.turn(SEED_CHAT, SEED_REPLY)
    assert seeded is not None
    candidate = seeded["candidates"][0]["candidate_id"]
    again = tmp_path / "again.mp3"
    code, _, _ = run(
        "tts", SEED_CHAT, SEED_REPLY, "--voice", "sys-voice-bright",
        "--candidate", candidate, "-o", str(again),
    )  # fmt: skip
    assert code == 0 and mp3_frames(again.read_bytes()) > 0


def test_tts_errors(run: Callable[..., Result], tmp_path: Path) -> None:
    target = tmp_path / "x.wav"
    code, _, err = run(
        "tts", SEED_CHAT, "no-such-turn", "--voice", "sys-voice-calm", "-o", str(target)
    )
    assert code == 1 and "has no turn no-such-turn" in err
    code, _, err = run("tts", SEED_CHAT, SEED_REPLY, "--voice", "no-such-voice", "-o", str(target))
    assert code == 1 and "voice not found" in err
    code, _, err = run("tts", SEED_CHAT, "-o", str(target))
    assert code == 2 and "CHAT_ID TURN_ID, or --last" in err
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------ auth and exit codes


def test_bad_token_exits_3(run: Callable[..., Result]) -> None:
    bad = "0123456789abcdef0123456789abcdef01234567"
    for args in (("chat", ADA), ("export", SEED_CHAT), ("-v", "export", SEED_CHAT)):
        code, out, err = run(*args, token=bad)
        assert code == 3, err
        assert "error: " in err and "hint: check CAI_TOKEN / --token-file" in err
        assert bad not in out + err
    code, _, err = run("export", SEED_CHAT, token="not a token")
    assert code == 3 and "not a token" not in err


def test_guest_needing_an_account_exits_3(run: Callable[..., Result]) -> None:
    for args in (
        ("chat", ADA),
        ("export", SEED_CHAT),
        ("tts", "c", "t", "--voice", "v", "-o", "-"),
    ):
        code, _, err = run(*args, token=None)
        assert code == 3
        assert err.splitlines()[0] == f"error: `caiclient {args[0]}` needs an account"
        assert "CAI_TOKEN" in err and "--token-file" in err


def test_token_file(run: Callable[..., Result], cai_emulator: Emulator, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(cai_emulator.token + "\nsecond line ignored\n", encoding="utf-8")
    code, out, _ = run("export", SEED_CHAT, "--token-file", str(token_file), token="wrong")
    assert code == 0 and json.loads(out)["chat"]["chat_id"] == SEED_CHAT
    code, _, err = run("--token-file", str(tmp_path / "nope"), "export", SEED_CHAT)
    assert code == 2 and "no such file" in err
    (tmp_path / "empty").write_text("\n", encoding="utf-8")
    code, _, err = run("export", SEED_CHAT, "--token-file", str(tmp_path / "empty"))
    assert code == 3 and "holds no token" in err


def test_getpass_prompt_when_interactive(
    run: Callable[..., Result], cai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: List[str] = []

    def fake_getpass(prompt: str = "") -> str:
        asked.append(prompt)
        return cai_emulator.token

    monkeypatch.setattr(cli_session.getpass, "getpass", fake_getpass)
    code, out, _ = run("chat", ADA, "--chat", SEED_CHAT, token=None, stdin=TtyStdin("/quit\n"))
    assert code == 0 and len(asked) == 1 and "token" in asked[0]
    assert f"Continuing chat {SEED_CHAT}" in out


def test_unreachable_service_exits_4(run: Callable[..., Result]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _, err = run("search", "Ada", "--emulator-url", f"http://127.0.0.1:{port}", url=False)
    assert code == 4
    assert err.startswith("error: ") and "Traceback" not in err


def test_verbose_logs_and_tracebacks_without_the_token(run: Callable[..., Result]) -> None:
    code, _, err = run("-v", "export", SEED_CHAT, "--format", "md", "-o", "-")
    assert code == 0 and "caiclient.http DEBUG" in err
    code, _, err = run("export", "no-such-chat", "-v")
    assert code == 1 and "Traceback" in err and "error: " in err


# ------------------------------------------------------------------ the real command


def _env() -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAI_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _command(*args: str, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "caiclient", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(),
    )


def test_console_chat_on_a_fresh_emulator() -> None:
    proc = _command("chat", "--emulator", ADA, stdin="Hello there\n/history 1\n/quit\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"Continuing chat {SEED_CHAT} with Ada.\n")
    assert "Ada: *Ada" in proc.stdout and '"Hello there"' in proc.stdout
    assert proc.stderr == ""


def test_console_exit_codes() -> None:
    assert _command("frobnicate").returncode == 2
    proc = _command("export", "some-chat")  # no token, stdin not a terminal
    assert proc.returncode == 3 and "needs an account" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = _command("character", "--emulator", "nope")
    assert proc.returncode == 1 and "the emulator's characters: " + ADA in proc.stderr


def test_console_demo_still_works() -> None:
    proc = _command("demo", "--fast")
    assert proc.returncode == 0, proc.stderr
    assert "The chat now holds 7 turns." in proc.stdout


def test_console_ctrl_c_exits_130() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "caiclient", "chat", "--emulator", ADA],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("Continuing chat")  # waiting for input now
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert "interrupted" in err and "Traceback" not in err
