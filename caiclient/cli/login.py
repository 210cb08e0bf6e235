"""``caiclient login``, ``logout`` and ``whoami``: the email-link login and the stored token.

``login`` asks the service to email a sign-in link, waits (with a spinner)
until the user has opened it, or takes the pasted link (``--paste`` /
``--link URL``), and stores the token (:mod:`caiclient.credentials`): every
command then uses it when neither ``--token-file`` nor ``CAI_TOKEN`` gives
one. The token is never printed.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import sys
import threading
import time
from typing import IO, Any, Iterator, Optional

from caiclient import errors
from caiclient.auth import (
    DEFAULT_LOGIN_TIMEOUT,
    DEFAULT_POLL_INTERVAL,
    AddressRefused,
    LinkExpired,
    LoginBlocked,
    LoginTimeout,
    check_email,
)
from caiclient.cli._core import (
    EXIT_API,
    EXIT_AUTH,
    EXIT_NETWORK,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    Command,
    stdin_is_tty,
    stream_is_tty,
)
from caiclient.cli._output import print_json
from caiclient.cli._session import Context
from caiclient.credentials import CredentialStore, default_profile, target_of

_FRAMES = "|/-\\"


class Spinner:
    """A one-line spinner on a terminal (nothing when ``stream`` is not one)."""

    def __init__(self, text: str, stream: IO[str]) -> None:
        self.text = text
        self.stream = stream
        self.enabled = stream_is_tty(stream)
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._started = time.monotonic()

    def _run(self) -> None:
        i = 0
        while not self._stop.wait(0.1):
            elapsed = int(time.monotonic() - self._started)
            self.stream.write(f"\r{_FRAMES[i % len(_FRAMES)]} {self.text} ({elapsed} s)")
            self.stream.flush()
            i += 1

    def __enter__(self) -> Spinner:
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="caiclient-spinner", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _profile(args: argparse.Namespace) -> str:
    return getattr(args, "profile", None) or default_profile()


def _ask(prompt: str, *, secret: bool = False) -> str:
    if not stdin_is_tty():
        raise EOFError
    if secret:
        return getpass.getpass(prompt)
    print(prompt, end="", flush=True)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.strip()


@contextlib.contextmanager
def _login_errors() -> Iterator[None]:
    """The login's failures as one line and a hint each."""
    try:
        yield
    except LoginTimeout as exc:
        raise CliError(str(exc), EXIT_NETWORK, hint="run `caiclient login` again") from None
    except LinkExpired as exc:
        hint = "run `caiclient login` for a new link"
        raise CliError(exc.message, EXIT_AUTH, hint=hint) from None
    except AddressRefused as exc:
        raise CliError(exc.message, EXIT_AUTH, hint="check the address") from None
    except LoginBlocked as exc:
        raise CliError(
            "the service's bot protection blocked the login",
            EXIT_API,
            hint=exc.message.split("; ", 1)[-1],
        ) from None


# ------------------------------------------------------------------ login


def configure_login(p: argparse.ArgumentParser) -> None:
    """``--email``, ``--paste``, ``--link``, ``--wait``, ``--profile``."""
    p.add_argument("--email", metavar="ADDR", help="the account's email address (else a prompt)")
    p.add_argument(
        "--paste",
        action="store_true",
        help="paste the link from the email instead of waiting for it to be opened",
    )
    p.add_argument(
        "--link", metavar="URL", help="finish with this link from the email (sends no new one)"
    )
    p.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_LOGIN_TIMEOUT,
        metavar="SECONDS",
        help=f"how long to wait for the link to be opened (default {DEFAULT_LOGIN_TIMEOUT:g})",
    )


def run_login(args: argparse.Namespace, ctx: Context) -> int:
    """Log in by email and store the token."""
    if not args.wait > 0:
        raise CliError("--wait must be a positive number of seconds", EXIT_USAGE)
    email = args.email
    if email is None:
        try:
            email = _ask("Email address of your Character.AI account: ")
        except EOFError:
            raise CliError("`caiclient login` needs --email ADDR", EXIT_USAGE) from None
    try:
        email = check_email(email)
    except errors.ValidationError:
        raise CliError(f"not an email address: {email!r}", EXIT_USAGE) from None
    guest = ctx.session()
    auth = guest.auth
    outbox = getattr(args, "emulator_outbox", None)
    if outbox is not None:  # --emulator: its "email" arrives on this terminal
        outbox.subscribe(lambda mail: print(f"(emulator) login link for {mail.to}: {mail.link}"))
    with _login_errors():
        if args.link:
            token = auth.exchange(email, args.link)
        else:
            print(f"Sending a sign-in link to {email}...", flush=True)
            link = auth.send_link(email)
            print(
                f"Check your inbox at {email} and open the link in the email "
                "(in any browser, on any device).",
                flush=True,
            )
            if args.paste:
                try:
                    pasted = _ask("Paste the link from the email here: ")
                except EOFError:
                    raise CliError("no link was pasted", EXIT_USAGE) from None
                token = auth.exchange(email, pasted)
            else:
                print("Waiting for you to open it (Ctrl-C to stop)...", flush=True)
                with Spinner("waiting for the link to be opened", sys.stderr):
                    # A short --wait polls more often (never slower than the site's 2 s).
                    interval = min(DEFAULT_POLL_INTERVAL, args.wait / 10)
                    sign_in = auth.wait(link, timeout=args.wait, interval=interval)
                token = auth.exchange(email, sign_in)
    session = guest.with_token(token)
    ctx.stack.callback(session.close)
    me = session.account.me()
    stored = CredentialStore().save(
        token,
        profile=_profile(args),
        target=target_of(session.endpoints),
        email=email,
        username=me.username,
    )
    where = "the OS keyring" if stored.in_keyring else str(CredentialStore().path)
    print(f"Logged in as {me.username} ({email}). The token is stored in {where}", end="")
    print(f" (profile {stored.profile})." if stored.profile != "default" else ".")
    if outbox is not None:
        print(
            "Note: --emulator's emulator stops with this command. To keep using the login, "
            "run `caiclient emulator` and log in with --emulator-url (or CAI_EMULATOR_URL)."
        )
    return EXIT_OK


# ------------------------------------------------------------------ logout


def configure_logout(p: argparse.ArgumentParser) -> None:
    """``--profile`` (a global option)."""


def run_logout(args: argparse.Namespace, ctx: Context) -> int:
    """Log the stored token out at the service and forget it."""
    guest = ctx.session()
    store = CredentialStore()
    profile, target = _profile(args), target_of(guest.endpoints)
    login = store.load(profile, target)
    if login is None:
        print(f"Not logged in (profile {profile}): nothing to do.")
        return EXIT_OK
    session = guest.with_token(login.token)
    ctx.stack.callback(session.close)
    warning = None
    try:
        session.auth.logout()
    except errors.AuthenticationError:
        pass  # the service no longer knows the token: forgetting it is all that is left
    except errors.CaiError as exc:
        warning = f"the service did not confirm the logout ({type(exc).__name__})"
    store.delete(profile, target)
    who = login.username or login.email or "the account"
    print(f"Logged out {who} (profile {profile}); the stored token was removed.")
    if warning:
        print(f"warning: {warning}: the token may still be valid", file=sys.stderr)
    return EXIT_OK


# ------------------------------------------------------------------ whoami


def configure_whoami(p: argparse.ArgumentParser) -> None:
    """``--json``."""
    p.add_argument("--json", action="store_true", help="print JSON")


def run_whoami(args: argparse.Namespace, ctx: Context) -> int:
    """Who the token in use belongs to (and where it came from)."""
    session = ctx.session()
    if session.is_guest:
        raise CliError("not logged in", EXIT_AUTH, hint="run `caiclient login`")
    if getattr(args, "token_file", None):
        source = f"--token-file {args.token_file}"
    elif getattr(args, "emulator", False):
        source = "the fresh emulator's seeded account"
    elif os.environ.get("CAI_TOKEN", "").strip():
        source = "CAI_TOKEN"
    else:
        source = f"stored login (profile {_profile(args)})"
    me = session.account.me()
    if args.json:
        print_json({"username": me.username, "name": me.name, "source": source})
    else:
        print(f"{me.username} ({me.name})" if me.name and me.name != me.username else me.username)
        print(f"token from: {source}")
    return EXIT_OK


COMMANDS = (
    Command("login", "log in by email and store the token", configure_login, run_login),
    Command("logout", "log out and forget the stored token", configure_logout, run_logout),
    Command("whoami", "show who the token in use belongs to", configure_whoami, run_whoami),
)

__all__ = ["COMMANDS", "Spinner"]
