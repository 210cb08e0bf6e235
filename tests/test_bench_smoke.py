"""The bench scripts start and print their tables (tiny sizes: this checks they run, not speed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _run(*args: str) -> str:
    out = subprocess.run(
        [sys.executable, str(BENCH / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=str(BENCH),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_concurrency_bench_prints_its_table() -> None:
    text = _run(
        "concurrency.py",
        "--conversations", "2",
        "--total", "4",
        "--min-messages", "1",
        "--rounds", "1",
        "--only", "raw-aiohttp,raw-wsclient,caiclient-threads,caiclient-aio",
        "--no-pycai",
        "--no-long-reply",
    )  # fmt: skip
    assert "2 conversations x 2 messages" in text
    for kind in ("raw-aiohttp", "raw-wsclient", "caiclient-threads", "caiclient-aio"):
        row = next(line for line in text.splitlines() if line.startswith(kind))
        assert row.split()[6:8] == ["0", "0"], row  # no reply to the wrong caller, none failed
    assert "emulator:" in text and "verdicts:" in text


def test_parsing_and_startup_benches_print_their_figures() -> None:
    text = _run("parsing.py", "--rounds", "1", "--number", "50")
    assert "json.loads + parse(Turn)" in text and "memory, 2,000 turns" in text
    text = _run("startup.py", "--rounds", "1")
    assert "import caiclient: " in text and "caiclient.aio adds" in text


def test_the_send_profile_names_its_areas_and_finds_no_utf8_validation() -> None:
    text = _run("profile_send.py", "--messages", "5", "--top", "5")
    assert "5 streamed sends" in text and "share of the client's CPU by area" in text
    assert "caiclient" in text and "websocket framing" in text
    assert "websocket-client UTF-8 validation: 0.0% of the CPU" in text


def test_the_aio_scale_bench_compares_both_faces() -> None:
    text = _run("aio_scale.py", "--conversations", "4", "--messages", "2", "--rounds", "1")
    rows = [line for line in text.splitlines() if line.strip().startswith(("threads |", "aio |"))]
    assert len(rows) == 2, text
    assert all(row.rstrip().endswith("| 0") for row in rows), rows  # no errors
    assert "aio p50 / threads p50" in text
