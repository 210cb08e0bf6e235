"""The chat REPL in a pseudo-terminal: Ctrl-C, Ctrl-D, history, wrapping, styles.

Each test runs ``python -m caiclient chat`` on a pty against an emulator
served by the test (slow streaming, so Ctrl-C lands mid-reply), once with
prompt_toolkit (the ``cli`` extra) and once with the stdlib readline.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest
from cli_support import ADA, SEED_CHAT, SEED_REPLY, Result
from pty_support import Terminal, caiclient_argv

from caiclient import emulator

EDITORS = ["prompt_toolkit", "readline"]
PROMPT = re.compile(r"(?m)^>")  # prompt_toolkit may draw the space as a cursor move


@pytest.fixture(scope="module")
def slow_emulator() -> Iterator[Any]:
    with emulator.serve(delay=0.15) as emu:
        yield emu


def _turn_texts(emu: Any, chat_id: str) -> List[str]:
    out = []
    for t in emu.state.turns(chat_id):
        cands = t.get("candidates") or []
        prim = t.get("primary_candidate_id")
        c = next((c for c in cands if c.get("candidate_id") == prim), cands[0] if cands else {})
        out.append(c.get("raw_content", ""))
    return out


@pytest.fixture
def chat(slow_emulator: Any, tmp_path: Path) -> Iterator[Callable[..., Terminal]]:
    opened: List[Terminal] = []

    def start(
        editor: str, *args: str, cols: int = 80, env: Optional[Dict[str, str]] = None
    ) -> Terminal:
        full = {k: v for k, v in os.environ.items() if not k.startswith(("CAI_", "CAICLIENT_"))}
        full.pop("NO_COLOR", None)
        full.update(
            {
                "CAI_TOKEN": slow_emulator.token,
                "CAI_EMULATOR_URL": slow_emulator.url,
                "CAICLIENT_HISTORY_FILE": str(tmp_path / "history"),
                "CAICLIENT_LINE_EDITOR": editor,
                "PROMPT_TOOLKIT_NO_CPR": "1",
                "TERM": "xterm",
                "HOME": str(tmp_path),
            }
        )
        full.pop("COLUMNS", None)
        full.pop("LINES", None)
        full.update(env or {})
        term = Terminal(caiclient_argv("chat", *args), full, cols=cols)
        opened.append(term)
        return term

    yield start
    for term in opened:
        term.close()


@pytest.mark.parametrize("editor", EDITORS)
def test_ctrl_c_stops_a_reply_and_the_chat_goes_on(
    chat: Callable[..., Terminal], slow_emulator: Any, editor: str
) -> None:
    new = chat(editor, ADA, "--new")
    new.expect("Started chat ")
    chat_id = new.expect(re.compile(r"[0-9a-f-]{36}")).group(0)
    new.expect(PROMPT)
    new.send("Tell me a long story\r")
    new.expect(re.compile(r"Ada: \S+"))  # the reply is streaming
    new.send("\x03")
    new.expect("(stopped: the reply was cut short)")
    new.expect(PROMPT)
    assert new.status is None  # still running
    new.send("/history 2\r")
    new.expect(re.compile(r"[0-9a-f]{8}  Alice: Tell me a long story"))
    new.expect(PROMPT)
    new.send("\x04")  # Ctrl-D leaves
    assert new.wait() == 0
    assert "Traceback" not in new.text and "interrupted" not in new.text
    assert "Tell me a long story" in _turn_texts(slow_emulator, chat_id)


@pytest.mark.parametrize("editor", EDITORS)
def test_ctrl_c_clears_a_half_typed_line_and_quit_leaves(
    chat: Callable[..., Terminal], slow_emulator: Any, editor: str
) -> None:
    term = chat(editor, ADA, "--new")
    chat_id = term.expect(re.compile(r"Started chat ([0-9a-f-]{36})")).group(1)
    term.expect(PROMPT)
    term.send("half typed")
    term.expect("half typed")
    term.send("\x03")  # prompt_toolkit: a fresh prompt; readline: the line cleared in place
    term.send("hello\r")
    term.expect(re.compile(r"Ada: .+\n"))
    term.expect(PROMPT)
    term.send("/quit\r")
    assert term.wait() == 0
    sent = _turn_texts(slow_emulator, chat_id)
    assert "hello" in sent
    assert not any("half typed" in t for t in sent)


@pytest.mark.parametrize("editor", EDITORS)
def test_history_is_kept_across_sessions(
    chat: Callable[..., Terminal], slow_emulator: Any, tmp_path: Path, editor: str
) -> None:
    first = chat(editor, ADA, "--new")
    chat_id = first.expect(re.compile(r"Started chat ([0-9a-f-]{36})")).group(1)
    first.expect(PROMPT)
    first.send("remember this line\r")
    first.expect(re.compile(r"Ada: .+\n"))
    first.expect(PROMPT)
    first.send("\x04")
    assert first.wait() == 0
    history = tmp_path / "history"
    assert "remember this line" in history.read_text(encoding="utf-8")
    assert stat.S_IMODE(history.stat().st_mode) == 0o600

    second = chat(editor, ADA, "--chat", chat_id)
    second.expect("Continuing chat")
    second.expect("Alice: remember this line")  # the last turns come first
    second.expect(PROMPT)
    second.send("\x1b[A")  # up arrow: the line typed in the first session
    second.expect("remember this line")
    second.send("\r")
    second.expect(re.compile(r"Ada: .+\n"))
    second.expect(PROMPT)
    second.send("\x04")
    assert second.wait() == 0
    assert _turn_texts(slow_emulator, chat_id).count("remember this line") == 2


def _reply_block(text: str) -> List[str]:
    """The lines of the last ``Ada:`` reply (up to the next prompt)."""
    start = text.rindex("Ada: ")
    end = text.find("\n>", start)
    end = len(text) if end < 0 else end
    return text[start:end].rstrip("\n").split("\n")


def test_replies_wrap_on_words_at_the_terminal_width(
    chat: Callable[..., Terminal], slow_emulator: Any
) -> None:
    term = chat("readline", ADA, "--new", cols=40)
    chat_id = term.expect(re.compile(r"Started chat ([0-9a-f-]{36})")).group(1)
    term.expect(PROMPT)
    term.send("Please describe the analytical engine in detail\r")
    term.expect(re.compile(r"Ada: "))
    term.expect(PROMPT)
    lines = _reply_block(term.text)
    reply = _turn_texts(slow_emulator, chat_id)[0]
    assert len(lines) > 1 and all(len(line) <= 40 for line in lines)
    assert " ".join(" ".join(lines)[len("Ada: ") :].split()) == " ".join(reply.split())
    words = set(reply.split())
    for line in lines[1:]:  # every line starts and ends on a whole word
        assert line.split()[0] in words and line.split()[-1] in words
    term.send("\x04")
    assert term.wait() == 0


def test_names_and_actions_are_styled_unless_no_color(chat: Callable[..., Terminal]) -> None:
    styled = chat("readline", ADA, "--chat", SEED_CHAT)
    styled.expect(PROMPT)
    styled.send("hello\r")
    styled.expect(re.compile(r"Ada: .+\n"))
    styled.expect(PROMPT)
    styled.send("\x04")
    assert styled.wait() == 0
    raw = styled.raw.decode()
    assert "\x1b[1;35mAda\x1b[0m: " in raw  # the name
    assert "\x1b[3;36m*" in raw  # an *action*

    plain = chat("readline", ADA, "--chat", SEED_CHAT, env={"NO_COLOR": "1"})
    plain.expect(PROMPT)
    plain.send("hello\r")
    plain.expect(re.compile(r"Ada: .+\n"))
    plain.expect(PROMPT)
    plain.send("\x04")
    assert plain.wait() == 0
    raw = plain.raw.decode()
    assert "\x1b[1;35m" not in raw and "\x1b[3;36m" not in raw and "\x1b[2m" not in raw
    assert "Ada: *" in plain.text


# ------------------------------------------------------------------ /tts and /voice (in-process)


def _fake_player(folder: Path) -> Path:
    """A player script that copies the file it is given to ``folder/played``."""
    folder.mkdir()
    script = folder / "player.sh"
    cp = shutil.which("cp")
    script.write_text(f'for f; do last="$f"; done\n{cp} "$last" {folder}/played\n')
    return script


def test_a_player_on_the_path_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from caiclient.cli.chat import find_player

    monkeypatch.delenv("CAICLIENT_PLAYER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_player() is None
    (tmp_path / "aplay").write_text("")
    (tmp_path / "aplay").chmod(0o755)
    assert find_player() == ["aplay", "-q"]
    monkeypatch.setenv("CAICLIENT_PLAYER", "mpv --quiet")
    assert find_player() == ["mpv", "--quiet"]


def test_tts_plays_the_last_reply_when_a_player_exists(
    run: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = _fake_player(tmp_path / "bin")
    played = tmp_path / "bin" / "played"
    # Run through sh: a script exec'd right after it was written can hit ETXTBSY
    # when another thread forks meanwhile.
    monkeypatch.setenv("CAICLIENT_PLAYER", f"{shutil.which('sh')} {script}")
    code, out, err = run("chat", ADA, "--chat", SEED_CHAT, stdin=io.StringIO("/tts\n"))
    assert code == 0, err
    assert "(played with " in out
    first = played.read_bytes()
    assert first[:4] == b"RIFF" or first[:3] == b"ID3"  # WAV or MP3
    code, out, err = run(
        "chat", ADA, "--chat", SEED_CHAT, stdin=io.StringIO("/voice sys-voice-bright\n")
    )
    assert code == 0, err
    assert "(voice: " in out and "(played with " in out
    assert played.read_bytes() != first  # another voice, other audio


def test_tts_saves_the_audio_without_a_player(
    run: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("CAICLIENT_PLAYER", raising=False)
    monkeypatch.chdir(tmp_path)
    stdin = io.StringIO(f"/history 1\n/tts {SEED_REPLY[-8:]}\n")
    code, out, err = run("chat", ADA, "--chat", SEED_CHAT, stdin=stdin)
    assert code == 0, err
    (saved,) = [p.name for p in tmp_path.glob(f"caiclient-{SEED_REPLY[-8:]}.*")]
    assert saved.endswith((".wav", ".mp3"))
    assert f"(saved the audio to {saved}: no audio player found)" in out
    head = (tmp_path / saved).read_bytes()[:4]
    assert head == b"RIFF" if saved.endswith(".wav") else head[:3] == b"ID3"
    assert f"{SEED_REPLY[-8:]}  Ada: " in out  # /history shows the id /tts takes
    code, _, err = run("chat", ADA, "--chat", SEED_CHAT, stdin=io.StringIO("/tts zzzz\n"))
    assert code == 2 and "no turn with an id like 'zzzz'" in err
