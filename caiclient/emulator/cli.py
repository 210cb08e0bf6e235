"""Command line of the emulator (``python -m caiclient.emulator`` / ``caiclient emulator``)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
from typing import Any, Optional

__all__ = ["build_parser", "main"]


def build_parser(prog: str = "python -m caiclient.emulator") -> argparse.ArgumentParser:
    """The argument parser (reusable by the ``caiclient emulator`` subcommand)."""
    p = argparse.ArgumentParser(
        prog=prog, description="Run a local emulator of the Character.AI web API."
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free port)")
    p.add_argument("--db", default=None, help="SQLite file to keep state across restarts")
    p.add_argument("--seed", default=None, help="JSON file merged over the bundled seed")
    p.add_argument("--delay", type=float, default=0.0, help="seconds between streamed frames")
    p.add_argument(
        "--openai-base-url", default=None, help="use an OpenAI-compatible endpoint for replies"
    )
    p.add_argument("--openai-model", default=None, help="model name for --openai-base-url")
    p.add_argument(
        "--openai-api-key-env", default=None, help="environment variable holding the API key"
    )
    p.add_argument(
        "--fault-latency",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="latency before every HTTP response and websocket frame",
    )
    p.add_argument(
        "--fault-http-errors",
        action="append",
        default=[],
        metavar="PREFIX:STATUS[,STATUS...]",
        help="next requests under PREFIX get these statuses (repeatable)",
    )
    p.add_argument(
        "--fault-retry-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="Retry-After for --fault-http-errors",
    )
    p.add_argument(
        "--fault-html-block",
        action="append",
        default=[],
        metavar="PREFIX[:KIND]",
        help="Cloudflare-like HTML page for PREFIX (KIND challenge|access_denied|waiting_room)",
    )
    p.add_argument(
        "--fault-malformed",
        action="append",
        default=[],
        metavar="PREFIX[:KIND]",
        help="next response under PREFIX is broken (KIND truncated|invalid|empty)",
    )
    p.add_argument(
        "--fault-drift",
        action="append",
        default=[],
        metavar="PREFIX:OP:FIELD[=VALUE]",
        help="change the JSON under PREFIX (OP rename|drop|retype|add; FIELD a dotted path, "
        "* for list items; rename takes the new name as VALUE) (repeatable)",
    )
    p.add_argument(
        "--fault-drop-socket-after",
        type=int,
        default=None,
        metavar="FRAMES",
        help="close the websocket after FRAMES frames of the next command",
    )
    p.add_argument(
        "--fault-ws-handshake",
        action="append",
        default=[],
        choices=("always", "no_rollout", "no_browser_ua"),
        help="refuse websocket handshakes with 403: always, without the edge_rollout cookie, "
        "or without a browser User-Agent (repeatable)",
    )
    return p


def _json_or_text(value: str):
    try:
        return json.loads(value)
    except ValueError:
        return value


def _apply_faults(emu, args: argparse.Namespace) -> None:
    f = emu.faults
    if args.fault_latency:
        f.latency(args.fault_latency)
    for spec in args.fault_http_errors:
        prefix, _, statuses = spec.rpartition(":")
        if not prefix or not statuses:
            raise SystemExit(f"--fault-http-errors expects PREFIX:STATUS[,STATUS...], got {spec!r}")
        f.http_errors(
            prefix, [int(s) for s in statuses.split(",") if s], retry_after=args.fault_retry_after
        )
    for spec in args.fault_html_block:
        prefix, sep, kind = spec.partition(":")
        f.html_block(prefix, kind=kind if sep and kind else "challenge")
    for spec in args.fault_malformed:
        prefix, sep, kind = spec.partition(":")
        f.malformed(prefix, kind=kind if sep and kind else "truncated")
    for spec in args.fault_drift:
        prefix, _, rest = spec.partition(":")
        op, _, target = rest.partition(":")
        field, has_value, value = target.partition("=")
        try:
            f.drift(prefix, op, field, _json_or_text(value) if has_value else None)
        except ValueError as exc:
            raise SystemExit(f"--fault-drift {spec!r}: {exc}") from None
    if args.fault_drop_socket_after is not None:
        f.drop_socket_after(args.fault_drop_socket_after)
    for kind in args.fault_ws_handshake:
        f.refuse_ws_handshake(kind)


def _seed_problem(path: str, exc: BaseException) -> str:
    """One line saying why the ``--seed`` file cannot be used."""
    if isinstance(exc, OSError):
        return f"--seed {path}: {exc.strerror or exc}"
    if isinstance(exc, json.JSONDecodeError):
        return f"--seed {path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    if isinstance(exc, UnicodeDecodeError):
        return f"--seed {path}: not UTF-8 text"
    if isinstance(exc, KeyError):
        return f"--seed {path}: a record lacks the field {exc}"
    return f"--seed {path}: malformed seed ({type(exc).__name__}: {exc})"


def main(
    argv: Optional[list] = None,
    stop: Optional[threading.Event] = None,
    *,
    prog: str = "python -m caiclient.emulator",
) -> int:
    """Run the emulator, print its URL and tokens, and serve until Ctrl-C.

    ``stop`` (an event) ends serving when set (used by tests); ``prog`` names
    the command in usage lines. A bad ``--seed`` file, a failed start or a
    closed stdout is one ``error:`` line on stderr and exit code 1 (2 for a
    seed that cannot be read), never a traceback.
    """
    args = build_parser(prog).parse_args(argv)
    from caiclient.emulator.app import Emulator
    from caiclient.emulator.brains import OpenAIBrain

    brain = None
    if args.openai_base_url:
        if not args.openai_model:
            print("--openai-model is required with --openai-base-url", file=sys.stderr)
            return 2
        brain = OpenAIBrain.from_env(
            args.openai_base_url, args.openai_model, args.openai_api_key_env
        )
    try:
        emu = Emulator(
            port=args.port,
            db=args.db,
            seed=args.seed,
            delay=args.delay,
            brain=brain,
            host=args.host,
        )
    except (OSError, ValueError, TypeError) as e:
        if args.seed is None:
            raise
        print(f"error: {_seed_problem(args.seed, e)}", file=sys.stderr)
        return 2
    try:
        emu.start()
    except Exception as e:
        problem = _seed_problem(args.seed, e) if args.seed else f"{type(e).__name__}: {e}"
        print(f"error: cannot start the emulator: {problem}", file=sys.stderr)
        return 1
    emu.outbox.subscribe(lambda mail: print(f"login link for {mail.to}: {mail.link}", flush=True))
    try:
        _apply_faults(emu, args)
        _announce(emu)
        waiter = stop or threading.Event()
        try:
            while not waiter.wait(0.5):
                pass
        except KeyboardInterrupt:
            with contextlib.suppress(OSError):
                print("stopping", flush=True)
    except BrokenPipeError:
        _silence_stdout()
        print("error: stdout was closed: stopping the emulator", file=sys.stderr)
        return 1
    finally:
        emu.stop()
    return 0


def _announce(emu: Any) -> None:
    print(f"Character.AI emulator listening on {emu.url}")
    print(f"  plus: {emu.url}/plus   neo: {emu.url}/neo   web: {emu.url}/web   cdn: {emu.url}/cdn")
    print(f"  websocket: {emu.ws_url}")
    print(f"  token (alice): {emu.token}")
    print(f"  other token (bob): {emu.other_token}")
    print(f"  characters: {', '.join(emu.character_ids)}")
    print("Press Ctrl-C to stop.", flush=True)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush does not fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
