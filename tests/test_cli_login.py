"""``caiclient login / logout / whoami``: end to end in a pseudo-terminal, and their failures.

The pseudo-terminal runs use the real entry point (``python -m caiclient``) in a
child process whose terminal is a pty, and wait for each line with a deadline.
"""

from __future__ import annotations

import io
import json
import os
import select
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import pytest
import requests

import caiclient
from caiclient import cli
from caiclient.credentials import CredentialStore, target_of
from caiclient.emulator import Emulator

pty = pytest.importorskip("pty")  # POSIX only

Result = Tuple[int, str, str]


class Terminal:
    """A child ``caiclient`` process on a pseudo-terminal; every wait has a deadline."""

    def __init__(self, args: List[str], env: Dict[str, str]) -> None:
        master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "caiclient", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            close_fds=True,
        )
        os.close(slave)
        self.master = master
        self.buf = b""

    def _read(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        ready, _, _ = select.select([self.master], [], [], remaining)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        if not chunk:
            return False
        self.buf += chunk
        return True

    def expect(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.buf:
            if not self._read(deadline):
                raise AssertionError(f"no {text!r} within {timeout} s; got {self.output!r}")
        return self.output

    def send(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def finish(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while self._read(deadline):
            pass
        try:
            return self.proc.wait(max(0.1, deadline - time.monotonic()))
        finally:
            os.close(self.master)

    @property
    def output(self) -> str:
        return self.buf.decode("utf-8", "replace")


@pytest.fixture
def env(cai_emulator: Emulator) -> Dict[str, str]:
    e = dict(os.environ)  # CAI_CONFIG is this test's own (conftest)
    e.pop("CAI_TOKEN", None)
    e["CAI_EMULATOR_URL"] = cai_emulator.url
    e["PYTHONUNBUFFERED"] = "1"
    return e


def caiclient_cmd(args: List[str], env: Dict[str, str], stdin: str = "") -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "caiclient", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_login_then_chat_with_no_token_on_the_command_line(
    cai_emulator: Emulator, env: Dict[str, str]
) -> None:
    term = Terminal(["login", "--email", "me@example.com"], env)
    term.expect("Check your inbox at me@example.com")
    term.expect("Waiting for you to open it")
    mail = cai_emulator.outbox.wait_for("me@example.com", timeout=10)
    requests.get(mail.link, timeout=5).raise_for_status()  # the user clicks
    term.expect("Logged in as me (me@example.com)")
    assert term.finish() == 0
    path = Path(env["CAI_CONFIG"])
    assert f"stored in {path}" in term.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = CredentialStore().load(
        target=target_of(caiclient.Endpoints.for_emulator(cai_emulator.url))
    )
    assert stored is not None and stored.username == "me"
    token = stored.token
    assert token not in term.output

    ada = cai_emulator.character_ids[0]
    code, out, err = caiclient_cmd(["chat", ada, "--new"], env, stdin="hello there\n")
    assert code == 0, err
    state = cai_emulator.state
    assert state is not None
    me_user = state.user("me")
    assert me_user is not None
    (chat,) = state.chats(me_user["id"])  # the new account's chat, with its message
    said = [c.get("raw_content") for t in state.turns(chat["chat_id"]) for c in t["candidates"]]
    assert "hello there" in said

    code, out, err = caiclient_cmd(["whoami"], env)
    assert (code, out) == (0, "me\ntoken from: stored login (profile default)\n"), err

    code, out, err = caiclient_cmd(["logout"], env)
    assert code == 0 and "Logged out me (profile default)" in out, err
    code, out, err = caiclient_cmd(["whoami"], env)
    assert code == 3 and "not logged in" in err and "caiclient login" in err
    for text in (out, err):
        assert token not in text
    # the service no longer takes the token
    endpoints = caiclient.Endpoints.for_emulator(cai_emulator.url)
    with (
        caiclient.Session(token, endpoints=endpoints) as s,
        pytest.raises(caiclient.AuthenticationError),
    ):
        s.account.me()


def test_login_prompts_for_the_address_and_takes_the_pasted_link(
    cai_emulator: Emulator, env: Dict[str, str]
) -> None:
    term = Terminal(["login", "--paste", "--profile", "work"], env)
    term.expect("Email address")
    term.send("alice@example.com")
    term.expect("Paste the link from the email here: ")
    term.send(cai_emulator.outbox.wait_for("alice@example.com", timeout=10).link)
    term.expect("Logged in as alice (alice@example.com)")
    term.expect("(profile work)")
    assert term.finish() == 0
    assert cai_emulator.token not in term.output
    code, out, _ = caiclient_cmd(["whoami", "--json", "--profile", "work"], env)
    assert code == 0 and json.loads(out) == {
        "username": "alice",
        "name": "Alice",
        "source": "stored login (profile work)",
    }
    assert caiclient_cmd(["whoami"], env)[0] == 3  # the default profile has no login


# ------------------------------------------------------------------ in-process, the failures


@pytest.fixture
def run(
    cai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Result]:
    monkeypatch.delenv("CAI_TOKEN", raising=False)
    monkeypatch.setenv("CAI_EMULATOR_URL", cai_emulator.url)

    def _run(*args: str, stdin: str = "") -> Result:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        for secret in (cai_emulator.token, cai_emulator.other_token):
            assert secret not in out and secret not in err
        return code, out, err

    return _run


def click_when_sent(emu: Emulator, to: str) -> threading.Thread:
    def user() -> None:
        requests.get(emu.outbox.wait_for(to, timeout=10).link, timeout=5)

    t = threading.Thread(target=user, daemon=True)
    t.start()
    return t


def test_login_in_process_and_the_stored_token_is_used(
    run: Callable[..., Result], cai_emulator: Emulator
) -> None:
    user = click_when_sent(cai_emulator, "bob@example.com")
    code, out, err = run("-v", "login", "--email", "bob@example.com", "--wait", "10")
    user.join(5)
    assert code == 0, err
    assert "Logged in as bob" in out
    assert "POST /google/v1/accounts:signInWithEmailLink" in err  # the debug log ran
    secrets = [a.oob_code for a in cai_emulator.login.attempts.values()]
    secrets += [*cai_emulator.login.id_tokens, cai_emulator.other_token]
    assert secrets and not [x for x in secrets if x in out or x in err]
    code, out, _ = run("whoami")
    assert code == 0 and out.startswith("bob (Bob)\n")


def test_login_needs_an_address(run: Callable[..., Result]) -> None:
    code, _, err = run("login")
    assert code == 2 and "needs --email ADDR" in err
    code, _, err = run("login", "--email", "not-an-address")
    assert code == 2 and "not an email address" in err
    code, _, err = run("login", "--email", "a@b.co", "--wait", "0")
    assert code == 2


def test_login_failures_say_what_to_do(run: Callable[..., Result], cai_emulator: Emulator) -> None:
    cai_emulator.login.refuse("x@refused.example")
    code, _, err = run("login", "--email", "x@refused.example")
    assert code == 3 and "could not send" in err and "hint: check the address" in err

    code, _, err = run("login", "--email", "alice@example.com", "--wait", "0.3")
    assert code == 4 and "was not opened within 0.3 s" in err
    assert "hint: run `caiclient login` again" in err

    link = cai_emulator.outbox.last("alice@example.com")
    assert link is not None
    cai_emulator.login.expire()
    code, _, err = run("login", "--email", "alice@example.com", "--link", link.link)
    assert code == 3 and "expired" in err and "for a new link" in err

    cai_emulator.faults.html_block("/web/api/trpc/auth.login")
    code, _, err = run("login", "--email", "alice@example.com")
    assert code == 1 and "bot protection" in err and "impersonate" in err
    assert CredentialStore().profiles() == {}  # nothing was stored


def test_login_paste_without_a_terminal_fails_cleanly(run: Callable[..., Result]) -> None:
    code, _, err = run("login", "--email", "alice@example.com", "--paste")
    assert code == 2 and "no link was pasted" in err


def test_logout_without_a_login(run: Callable[..., Result]) -> None:
    code, out, _ = run("logout")
    assert code == 0 and "Not logged in" in out


def test_logout_forgets_the_token_even_when_the_service_already_did(
    run: Callable[..., Result], cai_emulator: Emulator
) -> None:
    target = target_of(caiclient.Endpoints.for_emulator(cai_emulator.url))
    CredentialStore().save("0" * 40, target=target, username="ghost")
    code, out, err = run("logout")
    assert code == 0 and "Logged out ghost" in out and err == ""
    assert CredentialStore().load(target=target) is None


def test_a_corrupted_config_stops_every_command_clearly(
    run: Callable[..., Result], cai_emulator: Emulator
) -> None:
    path = Path(os.environ["CAI_CONFIG"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"version": 1, "profiles": {"default": ', encoding="utf-8")
    before = path.read_bytes()
    for args in (("whoami",), ("search", "ada"), ("logout",)):
        code, _, err = run(*args)
        assert code == 1, args
        assert f"error: {path} is not a valid caiclient credentials file" in err
    # login stops before sending anything: it could not store the token
    code, _, err = run("login", "--email", "alice@example.com", "--wait", "10")
    assert code == 1 and "left as it is" in err
    assert len(cai_emulator.outbox) == 0
    assert path.read_bytes() == before


def test_cai_token_wins_over_the_stored_login(
    run: Callable[..., Result], cai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = target_of(caiclient.Endpoints.for_emulator(cai_emulator.url))
    CredentialStore().save(cai_emulator.other_token, target=target)
    code, out, _ = run("whoami")
    assert code == 0 and out.startswith("bob")
    monkeypatch.setenv("CAI_TOKEN", cai_emulator.token)
    code, out, _ = run("whoami")
    assert code == 0 and out == "alice (Alice)\ntoken from: CAI_TOKEN\n"


def test_spinner_only_on_a_terminal() -> None:
    from caiclient.cli.login import Spinner

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    quiet = io.StringIO()
    with Spinner("waiting", quiet) as spinner:
        assert not spinner.enabled
    assert quiet.getvalue() == ""
    tty = Tty()
    with Spinner("waiting", tty):
        deadline = time.monotonic() + 5
        while "waiting" not in tty.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
    assert "waiting (0 s)" in tty.getvalue() and tty.getvalue().endswith("\r\x1b[K")


def test_login_against_a_fresh_in_process_emulator(env: Dict[str, str]) -> None:
    env = dict(env)
    env.pop("CAI_EMULATOR_URL")
    term = Terminal(["--emulator", "login", "--email", "me@example.com", "--paste"], env)
    out = term.expect("Paste the link from the email here: ")
    link = out.split("(emulator) login link for me@example.com: ", 1)[1].split()[0]
    term.send(link)
    term.expect("Logged in as me (me@example.com)")
    term.expect("run `caiclient emulator`")
    assert term.finish() == 0


def test_the_emulator_console_prints_each_login_link(env: Dict[str, str]) -> None:
    term = Terminal(["emulator", "--port", "0"], env)
    try:
        out = term.expect("Press Ctrl-C to stop.")
        url = out.split("listening on ", 1)[1].split()[0]
        with caiclient.Session(endpoints=caiclient.Endpoints.for_emulator(url)) as guest:
            guest.auth.send_link("me@example.com")
        out = term.expect("login link for me@example.com: ")
        link = out.split("login link for me@example.com: ", 1)[1].split()[0]
        assert link.startswith(url + "/web/login/")
    finally:
        term.proc.send_signal(signal.SIGINT)
    assert term.finish() == 0
