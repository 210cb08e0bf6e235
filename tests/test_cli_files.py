"""``-o`` targets and the ``caiclient emulator`` command's failures (one ``error:`` line each)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest
from cli_support import SEED_CHAT, Result


def _env() -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAI_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


# ------------------------------------------------------------------ -o PATH


def test_unwritable_output_is_exit_1_naming_the_given_path(
    run: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(tmp_path / ".chat.json.x.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    given = str(tmp_path / "chat.json")
    code, _, err = run("export", SEED_CHAT, "-o", given)
    assert code == 1
    assert err.splitlines()[0] == f"error: cannot write {given}: Permission denied"
    assert ".tmp" not in err
    assert os.listdir(tmp_path) == []


def test_output_through_a_symlink_replaces_its_target(
    run: Callable[..., Result], tmp_path: Path
) -> None:
    target = tmp_path / "real.json"
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    code, _, err = run("export", SEED_CHAT, "-o", str(link))
    assert code == 0, err
    assert link.is_symlink()
    assert json.loads(target.read_text(encoding="utf-8"))["chat"]["chat_id"] == SEED_CHAT


def test_output_to_a_fifo_is_written_directly(run: Callable[..., Result], tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: List[bytes] = []

    def reader() -> None:
        with open(fifo, "rb") as f:
            got.append(f.read())

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    code, _, err = run("export", SEED_CHAT, "--format", "json", "-o", str(fifo))
    t.join(timeout=30)
    assert not t.is_alive()
    assert code == 0, err
    assert json.loads(got[0])["chat"]["chat_id"] == SEED_CHAT
    assert fifo.is_fifo()  # not replaced by a regular file
    assert sorted(os.listdir(tmp_path)) == ["pipe"]


def test_output_to_dev_stdout_goes_to_stdout() -> None:
    args = ["--emulator", "export", SEED_CHAT, "--format", "md", "-o", "/dev/stdout"]
    proc = subprocess.run(
        [sys.executable, "-m", "caiclient", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# Chat with Ada")


# ------------------------------------------------------------------ caiclient emulator


def _one_error(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_emulator_bad_seed_files(run: Callable[..., Result], tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.json")
    code, _, err = run("emulator", "--port", "0", "--seed", missing, url=False)
    assert code == 2 and _one_error(err) == f"error: --seed {missing}: No such file or directory"

    bad = tmp_path / "bad.json"
    bad.write_text("{oops", encoding="utf-8")
    code, _, err = run("emulator", "--port", "0", "--seed", str(bad), url=False)
    assert code == 2 and "not valid JSON" in _one_error(err) and "line 1" in err

    code, _, err = run("emulator", "--port", "0", "--seed", str(tmp_path), url=False)
    assert code == 2 and _one_error(err).startswith(f"error: --seed {tmp_path}: ")

    not_object = tmp_path / "list.json"
    not_object.write_text("[1, 2]", encoding="utf-8")
    code, _, err = run("emulator", "--port", "0", "--seed", str(not_object), url=False)
    assert code == 2 and "malformed seed" in _one_error(err)


def test_emulator_malformed_seed(run: Callable[..., Result], tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"characters": [{"name": "no id"}]}), encoding="utf-8")
    code, _, err = run("emulator", "--port", "0", "--seed", str(seed), url=False)
    assert code == 1
    line = _one_error(err)
    assert line.startswith("error: cannot start the emulator: --seed ") and "lacks" in line


def test_emulator_usage_names_caiclient_emulator(run: Callable[..., Result]) -> None:
    code, _, err = run("emulator", "--bogus", url=False)
    assert code == 2 and err.startswith("usage: caiclient emulator ")


def test_emulator_with_a_closed_stdout() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "caiclient", "emulator", "--port", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert proc.stdout is not None
        proc.stdout.close()  # the reader went away before the banner
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1
    assert _one_error(err) == "error: stdout was closed: stopping the emulator"


# ------------------------------------------------------------------ install hints


@pytest.mark.parametrize(
    "args",
    [("demo", "--fast"), ("--emulator", "search", "x"), ("emulator", "--port", "0")],
    ids=["demo", "--emulator", "emulator"],
)
def test_a_missing_extra_names_an_install_command_that_works_from_a_checkout(
    run: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, args: Tuple[str, ...]
) -> None:
    import caiclient

    monkeypatch.delattr(caiclient, "emulator", raising=False)
    monkeypatch.setitem(sys.modules, "caiclient.emulator", None)  # an install without the extra
    code, _, err = run(*args, url=False)
    assert code == 2
    lines = err.splitlines()
    assert lines[0].startswith("error: ") and "needs the emulator extra" in lines[0]
    assert lines[1] == (
        "hint: pip install 'caiclient[emulator]' (from a checkout: pip install '.[emulator]')"
    )
