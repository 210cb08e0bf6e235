"""Chat throughput with many concurrent conversations: caiclient against raw clients and
PyCharacterAI, each in its own process, interleaved rounds, median and spread.

    python bench/concurrency.py [--conversations 8,32,256] [--total 3000] [--rounds 5]
                                [--only KIND,...] [--no-pycai] [--no-long-reply]

The emulator (``--delay 0``) runs in its own process. Each contender runs in a
fresh process (bench/_contenders.py): it connects and creates its chats, then
``n`` conversations each send ``--total / n`` messages one after the other.
The contenders take turns within each round, in a rotating order.

Contenders:

- ``raw-aiohttp``: aiohttp, one socket, one reader task routing frames by
  ``request_id`` (the floor: the least a Python client can do);
- ``raw-wsclient``: websocket-client with ``skip_utf8_validation=True``, one
  socket, one reader thread routing by ``request_id``, a thread per conversation;
- ``caiclient-threads``: one ``caiclient.Session``, a thread per conversation;
- ``caiclient-aio``: one ``caiclient.aio.Client``, a task per conversation;
- ``pycai-lock`` / ``pycai-nolock``: PyCharacterAI 2.2.50 from PyPI, in its own
  virtual environment (bench/.venv-pycai, made on first use), base URLs swapped
  at run time; with its sends serialized by a lock, and without (it does not
  route frames by request, so most concurrent callers read another chat's reply:
  the ``wrong`` column).

Printed per contender: messages/s, client CPU and emulator CPU per message
(milliseconds), the emulator's CPU use in cores (near 1.0 it is the limit: one
asyncio thread) and replies that reached the wrong caller or failed.
It also measures one 2,000-frame reply (32,000 characters, cumulative) read
frame by frame (``--no-long-reply`` skips it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Set

from _common import HERE, EmulatorProcess, cpu_split, machine, pinned, session

PYCAI_VERSION = "2.2.50"
PYCAI_VENV = os.path.join(HERE, ".venv-pycai")
KINDS = (
    "raw-aiohttp",
    "raw-wsclient",
    "caiclient-threads",
    "caiclient-aio",
    "pycai-lock",
    "pycai-nolock",
)
FLOOR = "raw-aiohttp"
TARGET_FLOOR = 0.9  # throughput >= 0.9x the raw floor
TARGET_PEER = 1.5  # throughput >= 1.5x PyCharacterAI with a lock
TARGET_LONG = 2.0  # client CPU of a 2,000-frame reply <= 2x raw


def pycai_python() -> Optional[str]:
    """The interpreter of the PyCharacterAI venv, made with pip on first use (None: failed)."""
    py = os.path.join(PYCAI_VENV, "bin", "python")
    check = [py, "-c", f"import PyCharacterAI, importlib.metadata as m; "
             f"assert m.version('PyCharacterAI') == '{PYCAI_VERSION}'"]  # fmt: skip
    if os.path.exists(py) and subprocess.run(check, capture_output=True).returncode == 0:
        return py
    print(f"installing PyCharacterAI {PYCAI_VERSION} into {PYCAI_VENV} (pip, PyPI)...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", PYCAI_VENV], check=True)
        subprocess.run(
            [py, "-m", "pip", "install", "-q", f"PyCharacterAI=={PYCAI_VERSION}"],
            check=True,
            timeout=600,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"  could not install it ({exc}); its rows are skipped")
        return None
    return py


def url_map(emu_url: str) -> Dict[str, str]:
    """The service's base URLs -> the emulator's (what PyCharacterAI's URLs are rewritten by)."""
    import caiclient

    service, local = caiclient.Endpoints(), caiclient.Endpoints.for_emulator(emu_url)
    pairs = {getattr(service, h): getattr(local, h) for h in ("plus", "neo", "web", "cdn")}
    pairs[service.ws.rsplit("/ws/", 1)[0]] = local.ws.rsplit("/ws/", 1)[0]
    return pairs


def run_contender(
    emu: EmulatorProcess,
    python: str,
    kind: str,
    cfg: Dict[str, Any],
    limit: float,
    cpus: Optional[Set[int]] = None,
) -> Dict[str, Any]:
    """Run one contender process; its result plus the emulator's CPU over the timed part."""
    proc = subprocess.Popen(
        [python, os.path.join(HERE, "_contenders.py"), kind, json.dumps(cfg)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
        preexec_fn=pinned(cpus),
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        line = proc.stdout.readline()
        if line.strip() != "READY":
            raise RuntimeError(f"{kind} did not start: {line!r} {proc.communicate(timeout=10)}")
        emu0 = emu.cpu_seconds()
        proc.stdin.write("GO\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=limit)
        emu_cpu = emu.cpu_seconds() - emu0
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} failed ({proc.returncode}): {err[-2000:]}")
    result: Dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["emu_cpu"] = emu_cpu
    return result


def med_spread(values: Sequence[float]) -> str:
    return f"{statistics.median(values):7.1f} [{min(values):.0f}-{max(values):.0f}]"


def summarize(kind: str, runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    sent = [r["ok"] + r["wrong"] + r["failed"] for r in runs]
    return {
        "kind": kind,
        "rate": [r["ok"] / r["wall"] for r in runs],
        "client_ms": statistics.median(r["cpu"] / s * 1000 for r, s in zip(runs, sent)),
        "emu_ms": statistics.median(r["emu_cpu"] / s * 1000 for r, s in zip(runs, sent)),
        "emu_cores": statistics.median(r["emu_cpu"] / r["wall"] for r in runs),
        "client_cores": statistics.median(r["cpu"] / r["wall"] for r in runs),
        "wrong": sum(r["wrong"] for r in runs),
        "failed": sum(r["failed"] for r in runs),
        "sent": sum(sent),
    }


def print_table(n: int, rows: Dict[str, Dict[str, Any]], messages: int, rounds: int) -> List[str]:
    print(
        f"\n{n} conversations x {messages} messages, {rounds} rounds (median [min-max]); "
        "pycai-nolock: 2 messages each, 5 s wait"
    )
    head = (
        f"{'contender':18} {'messages/s':>18} {'client ms/msg':>13} {'emu ms/msg':>10} "
        f"{'emu cores':>9} {'wrong':>6} {'failed':>6} {'vs floor':>8} {'vs pycai':>8}"
    )
    print(head)
    floor = statistics.median(rows[FLOOR]["rate"]) if FLOOR in rows else None
    peer = statistics.median(rows["pycai-lock"]["rate"]) if "pycai-lock" in rows else None
    verdicts = []
    for kind, row in rows.items():
        rate = statistics.median(row["rate"])
        vs_floor = f"{rate / floor:7.2f}x" if floor else "      --"
        vs_peer = f"{rate / peer:7.2f}x" if peer else "      --"
        print(
            f"{kind:18} {med_spread(row['rate']):>18} {row['client_ms']:13.2f} "
            f"{row['emu_ms']:10.2f} {row['emu_cores']:9.2f} {row['wrong']:6d} "
            f"{row['failed']:6d} {vs_floor} {vs_peer}"
        )
        if kind.startswith("caiclient"):
            if floor:
                ok = rate / floor >= TARGET_FLOOR
                verdicts.append(
                    f"{kind} @{n}: {rate / floor:.2f}x raw floor "
                    f"({'MET' if ok else 'MISSED'}, target >= {TARGET_FLOOR}x)"
                )
            if peer:
                ok = rate / peer >= TARGET_PEER
                verdicts.append(
                    f"{kind} @{n}: {rate / peer:.2f}x PyCharacterAI+lock "
                    f"({'MET' if ok else 'MISSED'}, target >= {TARGET_PEER}x)"
                )
            if row["wrong"]:
                verdicts.append(f"{kind} @{n}: {row['wrong']} replies to the wrong caller")
    emu_ms = statistics.median(r["emu_ms"] for r in rows.values())
    busiest = max(rows.values(), key=lambda r: r["emu_cores"])
    ceiling = f"ceiling ~{1000 / emu_ms:.0f} messages/s" if emu_ms else "run too short to tell"
    print(
        f"emulator: {emu_ms:.2f} ms CPU per message -> {ceiling} on its one thread; "
        f"busiest at {busiest['emu_cores']:.2f} cores ({busiest['kind']})"
        + ("  <- the emulator is the limit there" if busiest["emu_cores"] >= 0.85 else "")
    )
    if floor and FLOOR in rows:
        client_floor = rows[FLOOR]["client_ms"]
        for kind, row in rows.items():
            if kind.startswith("caiclient") and client_floor:
                ratio = row["client_ms"] / client_floor
                verdicts.append(
                    f"{kind} @{n}: client CPU {row['client_ms']:.2f} ms/msg = {ratio:.2f}x "
                    f"raw aiohttp ({'MET' if ratio <= 1.25 else 'MISSED'}, target <= 1.25x)"
                )
    return verdicts


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conversations", default="8,32,256", help="comma-separated counts")
    ap.add_argument("--total", type=int, default=3000, help="messages per run (all conversations)")
    ap.add_argument(
        "--min-messages", type=int, default=16, help="at least this many per conversation"
    )
    ap.add_argument(
        "--no-pin", action="store_true",
        help="let the emulator and the contenders share every CPU (default: one CPU for the "
        "emulator, the others for the contender)",
    )  # fmt: skip
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", default="", help="comma-separated contenders (default: all)")
    ap.add_argument("--no-pycai", action="store_true", help="skip PyCharacterAI")
    ap.add_argument("--no-long-reply", action="store_true", help="skip the 2,000-frame reply")
    ap.add_argument("--timeout", type=float, default=20.0, help="longest wait for one reply")
    args = ap.parse_args(argv)
    kinds = [k for k in (args.only.split(",") if args.only else KINDS) if k]
    unknown = set(kinds) - set(KINDS)
    if unknown:
        ap.error(f"unknown contenders: {', '.join(sorted(unknown))}")
    pythons = {k: sys.executable for k in kinds}
    if args.no_pycai:
        kinds = [k for k in kinds if not k.startswith("pycai")]
    elif any(k.startswith("pycai") for k in kinds):
        py = pycai_python()
        if py is None:
            kinds = [k for k in kinds if not k.startswith("pycai")]
        for k in kinds:
            if k.startswith("pycai") and py:
                pythons[k] = py
    counts = [int(x) for x in args.conversations.split(",")]
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f} at start")
    print(f"contenders: {', '.join(kinds)}")
    verdicts: List[str] = []
    split = None if args.no_pin else cpu_split()
    emu_cpus, client_cpus = split if split else (None, None)
    if split:
        print(
            f"CPUs: the emulator on {sorted(split[0])}, each contender on {sorted(split[1])} "
            "(--no-pin to share them)"
        )
    with EmulatorProcess(cpus=emu_cpus) as emu:
        s = session(emu)
        base_cfg = {
            "ws_url": s.endpoints.ws,
            "http_url": emu.url,
            "token": emu.token,
            "account_id": s.account_id,
            "character_id": emu.character_ids[0],
            "url_map": url_map(emu.url),
            "timeout": args.timeout,
        }
        s.close()
        for n in counts:
            messages = max(1, args.min_messages, args.total // n)
            cfg = dict(base_cfg, n=n, messages=messages)
            # PyCharacterAI without a lock strands the callers whose frames another
            # caller read: two messages each and a short wait are enough to show it.
            nolock = dict(cfg, messages=min(messages, 2), timeout=min(args.timeout, 5.0))
            limit = 120 + messages * args.timeout
            runs: Dict[str, List[Dict[str, Any]]] = {k: [] for k in kinds}
            for r in range(args.rounds):
                order = kinds[r % len(kinds) :] + kinds[: r % len(kinds)]
                for kind in order:
                    kcfg = nolock if kind == "pycai-nolock" else cfg
                    runs[kind].append(
                        run_contender(emu, pythons[kind], kind, kcfg, limit, client_cpus)
                    )
            rows = {k: summarize(k, v) for k, v in runs.items()}
            verdicts += print_table(n, rows, messages, args.rounds)
        if not args.no_long_reply:
            verdicts += long_reply(emu, base_cfg, kinds, pythons, args.rounds, client_cpus)
    print("\nverdicts:")
    for v in verdicts:
        print(f"  {v}")
    return 0


def long_reply(
    emu: EmulatorProcess,
    base_cfg: Dict[str, Any],
    kinds: List[str],
    pythons: Dict[str, str],
    rounds: int,
    cpus: Optional[Set[int]] = None,
) -> List[str]:
    """One reply of 2,000 cumulative frames (about 32,000 characters), every frame read."""
    # The emulator's reply quotes the message and streams 4 words a frame: 7,990
    # words of 3 characters and a space give ~2,000 frames and ~32,000 characters.
    text = " ".join("abc" for _ in range(7990))
    cfg = dict(base_cfg, n=1, messages=1, text=text, stream=True, timeout=120.0)
    chosen = [k for k in ("raw-aiohttp", "raw-wsclient", "caiclient-threads", "caiclient-aio")]
    chosen = [k for k in chosen if k in kinds]
    runs: Dict[str, List[Dict[str, Any]]] = {k: [] for k in chosen}
    for r in range(rounds):
        for kind in chosen[r % len(chosen) :] + chosen[: r % len(chosen)]:
            runs[kind].append(run_contender(emu, pythons[kind], kind, cfg, 300, cpus))
    print("\none 2,000-frame reply (32,000 characters, cumulative), every frame read")
    print(f"{'contender':18} {'client CPU s':>14} {'wall s':>8} {'emu CPU s':>10}")
    floor = statistics.median(r["cpu"] for r in runs[FLOOR]) if FLOOR in runs else None
    verdicts = []
    for kind, rs in runs.items():
        cpu = statistics.median(r["cpu"] for r in rs)
        print(
            f"{kind:18} {cpu:14.3f} {statistics.median(r['wall'] for r in rs):8.2f} "
            f"{statistics.median(r['emu_cpu'] for r in rs):10.2f}"
        )
        if kind.startswith("caiclient") and floor:
            ok = cpu / floor <= TARGET_LONG
            verdicts.append(
                f"{kind}: 2,000-frame reply {cpu / floor:.2f}x raw aiohttp client CPU "
                f"({'MET' if ok else 'MISSED'}, target <= {TARGET_LONG}x)"
            )
    return verdicts


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    print(f"\n(done in {time.perf_counter() - started:.0f} s)")
    raise SystemExit(code)
