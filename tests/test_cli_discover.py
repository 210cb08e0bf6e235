"""Finding things from the CLI: names for ids, ``chats``, ``voices``, ``tts --last``, completion."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable, List

import pytest
from cli_support import ADA, SEED_CHAT, SEED_REPLY, SHERLOCK, Result
from support import mp3_frames

from caiclient.cli import build_parser
from caiclient.cli.completion import SHELLS, script, spec
from caiclient.emulator import Emulator

# ------------------------------------------------------------------ a name for an id


def test_chat_by_name_picks_the_exact_match(run: Callable[..., Result]) -> None:
    code, out, err = run("chat", "ada", "--chat", SEED_CHAT, stdin=None)
    assert code == 0, err
    assert out.startswith(f"Continuing chat {SEED_CHAT} with Ada.")
    code, out, err = run("chat", "Dungeon Master", "--new")
    assert code == 0, err and "with Dungeon Master." in out


def test_chat_by_an_ambiguous_name_lists_the_candidates(run: Callable[..., Result]) -> None:
    code, out, err = run("chat", "a")
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0].startswith("error: ") and "characters match 'a'" in lines[0]
    listed = [line for line in lines if line.startswith("  ")]
    assert len(listed) >= 2
    assert any(ADA in line and "Ada" in line for line in listed)
    assert any(SHERLOCK in line and "Sherlock" in line for line in listed)
    assert lines[-1] == "hint: pass the id of the one you mean"


def test_chat_by_a_name_nobody_has(run: Callable[..., Result]) -> None:
    code, _, err = run("chat", "Nobody At All")
    assert code == 1 and err.splitlines()[0] == "error: no character named 'Nobody At All'"


def test_an_id_still_wins(run: Callable[..., Result]) -> None:
    code, _, err = run("character", SHERLOCK)
    assert code == 0, err


# ------------------------------------------------------------------ chats


def test_chats_lists_recent_chats_with_ids(run: Callable[..., Result]) -> None:
    code, out, err = run("chats")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["CHAT", "ID", "CHARACTER", "CREATED", "LAST", "MESSAGE"]
    assert any(line.startswith(SEED_CHAT) and "Ada" in line for line in lines[1:])


def test_chats_with_one_character_by_name(
    run: Callable[..., Result], cai_emulator: Emulator
) -> None:
    code, out, _ = run("chat", "Sherlock", "--new")
    assert code == 0
    code, out, err = run("chats", "sherlock")
    assert code == 0, err
    rows = out.splitlines()[1:]
    assert rows and all("Sherlock" in r for r in rows)
    assert SEED_CHAT not in out
    code, out, _ = run("chats", "Ada", "--json")
    assert code == 0 and SEED_CHAT in out


def test_chats_needs_an_account(run: Callable[..., Result]) -> None:
    code, _, err = run("chats", token=None)
    assert code == 3 and "needs an account" in err


# ------------------------------------------------------------------ voices


def test_voices_search_and_mine(run: Callable[..., Result]) -> None:
    code, out, err = run("voices", "calm", token=None)
    assert code == 0, err
    assert out.splitlines()[0].split()[:3] == ["NAME", "ID", "GENDER"]
    assert "Calm" in out
    code, out, err = run("voices")
    assert code == 0, err
    assert "Alice Voice" in out and "Bob Voice" not in out
    code, _, err = run("voices", token=None)
    assert code == 3
    code, out, _ = run("voices", "no such voice at all")
    assert code == 0 and out == ""


# ------------------------------------------------------------------ tts --last


def test_tts_last_speaks_the_latest_reply(run: Callable[..., Result], tmp_path: Path) -> None:
    code, _, _ = run("chat", ADA, "--chat", SEED_CHAT, stdin=None)
    target = tmp_path / "last.mp3"
    code, _, err = run("tts", "--last", "--voice", "sys-voice-calm", "-o", str(target))
    assert code == 0, err
    assert mp3_frames(target.read_bytes()) > 0  # the service's replayUrl is an MP3
    code, _, err = run("tts", "--last", SEED_CHAT, "-o", str(target))
    assert code == 2 and "--last takes no" in err
    code, _, err = run("tts", "-o", str(target))
    assert code == 2 and "--last" in err


def test_tts_voice_defaults_to_the_characters(run: Callable[..., Result], tmp_path: Path) -> None:
    default = tmp_path / "default.mp3"
    code, _, err = run("tts", SEED_CHAT, SEED_REPLY, "-o", str(default))
    assert code == 0, err  # Ada's default voice is sys-voice-calm
    calm = tmp_path / "calm.mp3"
    code, _, _ = run("tts", SEED_CHAT, SEED_REPLY, "--voice", "sys-voice-calm", "-o", str(calm))
    assert code == 0 and default.read_bytes() == calm.read_bytes()
    code, _, _ = run("chat", "Sherlock", "--new", stdin=io.StringIO("hello\n"))
    assert code == 0
    code, _, err = run("tts", "--last", "-o", str(tmp_path / "sherlock.mp3"))
    assert code == 2 and "--voice" in err and "caiclient voices" in err  # Sherlock has none


# ------------------------------------------------------------------ completion


def test_completion_covers_every_command_and_option() -> None:
    specs = spec(build_parser())
    names = [s.name for s in specs[1:]]
    assert {"chat", "chats", "voices", "tts", "export", "completion", "emulator"} <= set(names)
    for shell in SHELLS:
        text = script(shell)
        for s in specs:
            assert s.name in text
            for o in s.options:
                for flag in o.flags:
                    needle = flag if shell != "fish" else flag.lstrip("-")
                    assert needle in text, (shell, s.name, flag)


def test_completion_command_prints_it(run: Callable[..., Result]) -> None:
    code, out, _ = run("completion", "bash", url=False)
    assert code == 0 and "complete -o default -F _caiclient caiclient" in out
    code, _, err = run("completion", "tcsh", url=False)
    assert code == 2 and "invalid choice" in err


def _bash_complete(words: List[str], tmp_path: Path) -> List[str]:
    """What bash offers for the last word of ``words`` (through the generated function)."""
    path = tmp_path / "caiclient.bash"
    path.write_text(script("bash"), encoding="utf-8")
    line = " ".join(w or repr(w) for w in words)
    program = (
        f"source {path}\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in words)})\n"
        f"COMP_CWORD={len(words) - 1}\n"
        f"COMP_LINE={line!r}\n"
        "_caiclient\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    proc = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    return [w for w in proc.stdout.splitlines() if w]


def test_bash_completion_really_completes(tmp_path: Path) -> None:
    assert _bash_complete(["caiclient", "ch"], tmp_path) == ["chat", "chats", "character"]
    assert _bash_complete(["caiclient", "export", "x", "--fo"], tmp_path) == ["--format"]
    assert _bash_complete(["caiclient", "export", "--format", ""], tmp_path) == [
        "json",
        "md",
        "html",
    ]
    assert _bash_complete(["caiclient", "-v", "tts", "--la"], tmp_path) == ["--last"]
    assert _bash_complete(["caiclient", "completion", "z"], tmp_path) == ["zsh"]
    assert _bash_complete(["caiclient", "emulator", "--se"], tmp_path) == ["--seed"]
    (tmp_path / "notes.md").write_text("x", encoding="utf-8")
    assert "notes.md" in _bash_complete(["caiclient", "export", "c", "-o", "no"], tmp_path)


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_parse(shell: str, tmp_path: Path) -> None:
    text = script(shell)
    assert text.endswith("\n") and "caiclient" in text.splitlines()[0]
    binary = shutil.which(shell)
    if binary is None:  # the shell is not installed here: the text checks above stand
        return
    path = tmp_path / f"caiclient.{shell}"
    path.write_text(text, encoding="utf-8")
    proc = subprocess.run(
        [binary, "-n", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
