"""Command line of the emulator (``python -m caiclient.emulator`` / ``caiclient emulator``)."""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Optional

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
    if args.fault_drop_socket_after is not None:
        f.drop_socket_after(args.fault_drop_socket_after)
    for kind in args.fault_ws_handshake:
        f.refuse_ws_handshake(kind)


def main(argv: Optional[list] = None, stop: Optional[threading.Event] = None) -> int:
    """Run the emulator, print its URL and tokens, and serve until Ctrl-C.

    ``stop`` (an event) ends serving when set (used by tests).
    """
    args = build_parser().parse_args(argv)
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
    emu = Emulator(
        port=args.port, db=args.db, seed=args.seed, delay=args.delay, brain=brain, host=args.host
    )
    try:
        emu.start()
    except Exception as e:
        print(f"cannot start the emulator: {e}", file=sys.stderr)
        return 1
    emu.outbox.subscribe(lambda mail: print(f"login link for {mail.to}: {mail.link}", flush=True))
    try:
        _apply_faults(emu, args)
        print(f"Character.AI emulator listening on {emu.url}")
        print(
            f"  plus: {emu.url}/plus   neo: {emu.url}/neo   web: {emu.url}/web   cdn: {emu.url}/cdn"
        )
        print(f"  websocket: {emu.ws_url}")
        print(f"  token (alice): {emu.token}")
        print(f"  other token (bob): {emu.other_token}")
        print(f"  characters: {', '.join(emu.character_ids)}")
        print("Press Ctrl-C to stop.", flush=True)
        waiter = stop or threading.Event()
        try:
            while not waiter.wait(0.5):
                pass
        except KeyboardInterrupt:
            print("stopping", flush=True)
    finally:
        emu.stop()
    return 0
