"""What the CLI tests share: the seeded ids, the in-process ``run`` fixture, stdin doubles.

Use with ``from cli_support import ...`` (``tests/`` is on the path); import
the ``run`` fixture by name into the test module.
"""

from __future__ import annotations

import io
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import pytest

from caiclient import cli
from caiclient.emulator import Emulator

SEED_CHAT = "0c5a7e10-5eed-4000-8000-00000000a1c0"  # alice's seeded chat with Ada (3 turns)
SEED_REPLY = "0c5a7e10-5eed-4000-8000-0000000000a3"  # its newest turn (Ada's, pinned)
SEED_CANDIDATES = Emulator().character_ids  # the seeded public characters, in seed order
ADA = SEED_CANDIDATES[0]
SHERLOCK = SEED_CANDIDATES[1]

Result = Tuple[int, str, str]


class ScriptedStdin(io.StringIO):
    """Piped input that calls ``before_line(i)`` before handing out line ``i``.

    The CLI handles each line completely before reading the next, so the
    hook sees the state left by the previous line.
    """

    def __init__(
        self, lines: Sequence[str], before_line: Optional[Callable[[int], None]] = None
    ) -> None:
        super().__init__("".join(line + "\n" for line in lines))
        self.before_line = before_line
        self.served = 0

    def readline(self, size: Optional[int] = -1) -> str:  # type: ignore[override]
        if self.before_line is not None:
            self.before_line(self.served)
        self.served += 1
        return super().readline(-1 if size is None else size)


class TtyStdin(io.StringIO):
    """Input that claims to be a terminal (to exercise the interactive mode)."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def run(
    cai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Result]:
    """``run(*args, stdin=..., token=...)`` -> (exit code, stdout, stderr), in-process."""
    monkeypatch.delenv("CAI_EMULATOR_URL", raising=False)
    monkeypatch.delenv("CAI_WEB_NEXT_AUTH", raising=False)

    def _run(
        *args: str,
        stdin: Any = None,
        token: Optional[str] = cai_emulator.token,
        url: bool = True,
    ) -> Result:
        if token is None:
            monkeypatch.delenv("CAI_TOKEN", raising=False)
        else:
            monkeypatch.setenv("CAI_TOKEN", token)
        monkeypatch.setattr(sys, "stdin", stdin if stdin is not None else io.StringIO(""))
        argv = [*args, "--emulator-url", cai_emulator.url] if url else list(args)
        code = cli.main(argv)
        out, err = capsys.readouterr()
        for secret in (cai_emulator.token, cai_emulator.other_token):
            assert secret not in out and secret not in err
        return code, out, err

    return _run


def texts(turns: List[Dict[str, Any]]) -> List[str]:
    """The primary candidate's text of raw turns."""
    out = []
    for t in turns:
        prim = t.get("primary_candidate_id")
        cands = t.get("candidates") or []
        c = next((c for c in cands if c.get("candidate_id") == prim), cands[0] if cands else {})
        out.append(c.get("raw_content", ""))
    return out


def primary(turn: Dict[str, Any]) -> Dict[str, Any]:
    return next(c for c in turn["candidates"] if c["candidate_id"] == turn["primary_candidate_id"])
