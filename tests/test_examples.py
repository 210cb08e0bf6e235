"""The scripts in ``examples/`` run to completion against the emulator.

Each example is run as a subprocess (``python examples/X.py``) with
``CAI_TOKEN`` and ``CAI_EMULATOR_URL`` pointing at the ``cai_emulator``
fixture, exactly as a user would run it.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Dict, Iterator, Sequence

import pytest

from caiclient import errors

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# Run a script with `import flask` failing, as on a machine without Flask.
NO_FLASK = """
import runpy, sys
class _NoFlask:
    def find_spec(self, name, path=None, target=None):
        if name == "flask" or name.startswith("flask."):
            raise ImportError("No module named 'flask' (blocked by the test)")
        return None
sys.meta_path.insert(0, _NoFlask())
sys.argv = [sys.argv[1]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_example(
    emu, name: str, *args: str, prefix: Sequence[str] = ()
) -> subprocess.CompletedProcess:
    env: Dict[str, str] = dict(os.environ)
    env.update(CAI_TOKEN=emu.token, CAI_EMULATOR_URL=emu.url, PYTHONUNBUFFERED="1")
    env.pop("CAI_WEB_NEXT_AUTH", None)
    return subprocess.run(
        [sys.executable, *prefix, str(EXAMPLES / name), *args],
        env=env,
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, (
        f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )
    return proc.stdout


def test_every_example_is_tested() -> None:
    tested = {"minimal.py", "streaming.py", "asyncio_bot.py", "flask_app.py", "group_chat.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_minimal(cai_emulator) -> None:
    out = ok(run_example(cai_emulator, "minimal.py"))
    assert "character: Sherlock" in out
    assert "chat: " in out
    assert "you: Hello!" in out
    # The emulator's default brain quotes the user's text in its reply.
    assert "Sherlock: " in out and '"Hello!"' in out
    # One chat created, one message sent.
    assert len(cai_emulator.log.ws("create_chat")) == 1
    assert len(cai_emulator.log.ws("create_and_generate_turn")) == 1


def test_minimal_without_token_says_so(cai_emulator) -> None:
    env = dict(os.environ, CAI_EMULATOR_URL=cai_emulator.url)
    env.pop("CAI_TOKEN", None)
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "minimal.py")],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "CAI_TOKEN" in proc.stderr


def test_streaming(cai_emulator) -> None:
    out = ok(run_example(cai_emulator, "streaming.py", cai_emulator.character_ids[0]))
    assert out.count("final=True") == 2
    assert '"Hello! Who are you?"' in out
    assert '"Tell me something surprising."' in out
    # The reply was printed piece by piece: the emulator sent several frames per reply.
    sent = cai_emulator.log.ws("create_and_generate_turn")
    assert len(sent) == 2


def test_streaming_shows_a_filtered_reply(cai_emulator) -> None:
    cai_emulator.faults.filter_next("output")
    out = ok(run_example(cai_emulator, "streaming.py"))
    assert "filter cut this reply short" in out


def test_asyncio_bot(cai_emulator) -> None:
    out = ok(run_example(cai_emulator, "asyncio_bot.py"))
    lines = [line for line in out.splitlines() if line.startswith("[to ")]
    assert len(lines) == 6
    for user in ("ana", "ben", "chloe"):
        mine = [line for line in lines if line.startswith(f"[to {user}]")]
        assert len(mine) == 2
    # One user's messages are answered in order.
    ana = [line for line in lines if line.startswith("[to ana]")]
    assert '"Hello! Who are you?"' in ana[0] and '"What do you enjoy most?"' in ana[1]
    assert "answered 6 messages for 3 users" in out
    # One chat per user, every message sent exactly once.
    assert len(cai_emulator.log.ws("create_chat")) == 3
    assert len(cai_emulator.log.ws("create_and_generate_turn")) == 6


def test_asyncio_bot_reports_a_filtered_message(cai_emulator) -> None:
    cai_emulator.faults.filter_next("input")
    out = ok(run_example(cai_emulator, "asyncio_bot.py"))
    assert "refused by the content filter" in out
    assert "answered 5 messages for 3 users" in out


def _check_flask_output(out: str) -> None:
    lines = [line for line in out.splitlines() if line.startswith("POST /chat")]
    assert len(lines) == 3, out
    assert "-> 200 " in lines[0] and '"chat_id"' in lines[0] and '\\"Hello!\\"' in lines[0]
    assert "-> 400 " in lines[1] and "invalid_request" in lines[1]
    assert "-> 404 " in lines[2] and "not_found" in lines[2]


def test_flask_app(cai_emulator) -> None:
    import flask  # the `test` extra installs it, so this example always runs in CI

    assert flask
    out = ok(run_example(cai_emulator, "flask_app.py"))
    assert "Flask is not installed" not in out
    _check_flask_output(out)


def test_flask_app_without_flask(cai_emulator) -> None:
    out = ok(run_example(cai_emulator, "flask_app.py", prefix=["-c", NO_FLASK]))
    assert "Flask is not installed" in out
    _check_flask_output(out)


@pytest.fixture
def flask_example(monkeypatch) -> Iterator[ModuleType]:
    """The flask_app example imported in-process (a guest Session; nothing is sent)."""
    monkeypatch.delenv("CAI_TOKEN", raising=False)
    monkeypatch.delenv("CAI_EMULATOR_URL", raising=False)
    spec = importlib.util.spec_from_file_location("example_flask_app", EXAMPLES / "flask_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    module.session.close()


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (errors.ValidationError("bad"), 400),
        (errors.BadRequest(status=400), 400),
        (errors.ContentFiltered("no", kind="filter_user_input_self_harm"), 422),
        (errors.GenerationError("failed"), 502),
        (errors.NotFound(status=404), 404),
        (errors.PermissionDenied(status=403), 403),
        (errors.Conflict(status=409), 409),
        (errors.RateLimited(status=429, retry_after=2.5), 429),
        (errors.AuthRequiredError("guest"), 500),
        (errors.AuthenticationError(status=401), 502),
        (errors.BlockedError(status=403, kind="challenge"), 503),
        (errors.ServerError(status=503), 502),
        (errors.ActionFailed(status=200), 502),
        (errors.ParseError("?"), 502),
        (errors.Timeout("slow"), 504),
        (errors.ConnectionLost("gone", message_delivered=True), 502),
        (errors.NetworkError("down"), 502),
        (errors.CaiError("?"), 500),
    ],
)
def test_flask_error_mapping(flask_example: ModuleType, exc: errors.CaiError, status: int) -> None:
    got, body, headers = flask_example.error_response(exc)
    assert got == status
    assert body["detail"] == str(exc)
    if isinstance(exc, errors.RateLimited):
        assert headers == {"Retry-After": "3"}
    if isinstance(exc, errors.ConnectionLost):
        assert body["message_delivered"] is True


def test_group_chat(cai_emulator) -> None:
    out = ok(run_example(cai_emulator, "group_chat.py"))
    lines = out.splitlines()
    assert lines[0].startswith("room: Tea party (")
    names = lines[0].split(" with ", 1)[1].split(", ")
    assert len(names) == 2
    answers = [line for line in lines if line.startswith(tuple(n + ": " for n in names))]
    # Each character answered in turn, quoting the message (the emulator's brain).
    assert [a.split(":")[0] for a in answers] == names
    assert all('"Hello, both of you! What brings you here?"' in a for a in answers)
    assert "(picked by the service)" in out
    assert "5 turns in the room" in out  # 2 messages, 3 answers, no greetings
    assert not cai_emulator.state.list("room")  # the example deleted its room
