"""Shared plumbing of the bench scripts: an emulator in another process, stats, raw clients."""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import requests

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_split() -> Optional[Tuple[Set[int], Set[int]]]:
    """(the emulator's CPU, the clients' CPUs), or None where that cannot be arranged.

    On a machine with two or more CPUs (and ``os.sched_setaffinity``), the
    emulator gets one to itself and the clients the others: neither side's
    threads then preempt the other's, so a client's cost shows as its own CPU
    time rather than as the emulator's.
    """
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    return {cpus[0]}, set(cpus[1:])


def pinned(cpus: Optional[Set[int]]) -> Any:
    """A ``preexec_fn`` for ``subprocess.Popen``: the child runs on ``cpus`` (None: anywhere)."""
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


class EmulatorProcess:
    """``python -m caiclient.emulator --port P --delay 0`` in a child process.

    With ``control=True`` it runs ``bench/_emu_proc.py`` instead, which also
    takes fault commands (JSON lines) on stdin.
    """

    def __init__(
        self,
        *,
        db: Optional[str] = None,
        control: bool = False,
        delay: float = 0.0,
        cpus: Optional[Set[int]] = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if control:
            cmd = [sys.executable, os.path.join(HERE, "_emu_proc.py"), "--port", str(self.port)]
        else:
            cmd = [sys.executable, "-m", "caiclient.emulator", "--port", str(self.port)]
            cmd += ["--delay", str(delay)]
        if db:
            cmd += ["--db", db]
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            preexec_fn=pinned(cpus),  # on these CPUs only (its threads too)
        )
        self.token = ""
        self.character_ids: List[str] = []
        deadline = time.monotonic() + 30
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the emulator process exited")
            if "token (alice):" in line:
                self.token = line.split(":", 1)[1].strip()
            elif line.strip().startswith("characters:"):
                self.character_ids = [c.strip() for c in line.split(":", 1)[1].split(",")]
            elif line.startswith("Press Ctrl-C"):
                break
        self._wait_ready(deadline)

    def _wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/neo/ping/", timeout=1).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("the emulator did not answer")

    def command(self, **cmd: Any) -> None:
        """Send a fault command to a ``control=True`` emulator."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the emulator process used so far."""
        with open(f"/proc/{self.proc.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def session(emu: EmulatorProcess, **kw: Any) -> Any:
    import caiclient

    return caiclient.Session(emu.token, endpoints=caiclient.Endpoints.for_emulator(emu.url), **kw)


def pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(values: Sequence[float]) -> Dict[str, float]:
    return {"median": statistics.median(values), "p90": pct(values, 90), "n": len(values)}


def ms(x: float) -> str:
    return f"{x * 1000:8.3f} ms"


def machine() -> str:
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def verdict(ratio: float, target: float, higher_is_better: bool = False) -> str:
    ok = ratio >= target if higher_is_better else ratio <= target
    sign = ">=" if higher_is_better else "<="
    return f"{'MET' if ok else 'MISSED'} (target {sign} {target:.2f}x)"


def print_latency_ratios(
    pairs: Sequence[Tuple[str, Sequence[float], Sequence[float]]],
    messages: int,
    target: float,
    prefix: str = "",
) -> None:
    """caiclient's and the raw client's latencies side by side (``(label, ours, raw)``
    each), then the worst median ratio against ``target``."""
    worst = 0.0
    for label, a, b in pairs:
        x, y = summary(a), summary(b)
        ratio = x["median"] / y["median"]
        worst = max(worst, ratio)
        print(f"\n{prefix}time to {label}  ({messages} messages each)")
        print(f"  caiclient         median {ms(x['median'])}  p90 {ms(x['p90'])}")
        print(f"  raw websocket     median {ms(y['median'])}  p90 {ms(y['p90'])}")
        print(
            f"  ratio             {ratio:.3f}x median, {x['p90'] / y['p90']:.3f}x p90  "
            f"{verdict(ratio, target)}"
        )
    print(f"\nworst median ratio: {worst:.3f}x  {verdict(worst, target)}")


# ------------------------------------------------------------------ raw websocket


# The turn annotations the service's frames carry: one list, in the contenders' script
# (which runs in other interpreters and imports nothing of ours).
from _contenders import ANNOTATIONS as ANNOTATION_KEYS  # noqa: E402


class RawChat:
    """The protocol spoken directly with websocket-client (neo.md section 3): the baseline."""

    def __init__(self, emu: EmulatorProcess, account_id: str) -> None:
        import websocket

        self.account_id = account_id
        self.ws = websocket.create_connection(
            emu.url.replace("http", "ws", 1) + "/neo/ws/",
            cookie=f"HTTP_AUTHORIZATION=Token {emu.token}",
            origin="https://character.ai",
            timeout=30,
            skip_utf8_validation=True,  # decoding the frame to str validates it anyway
        )

    def create_chat(self, character_id: str) -> str:
        rid, chat_id = str(uuid.uuid4()), str(uuid.uuid4())
        self.ws.send(
            json.dumps(
                {
                    "command": "create_chat",
                    "request_id": rid,
                    "origin_id": "web-next",
                    "payload": {
                        "chat": {
                            "chat_id": chat_id,
                            "creator_id": self.account_id,
                            "visibility": "VISIBILITY_PRIVATE",
                            "character_id": character_id,
                            "type": "TYPE_ONE_ON_ONE",
                        },
                        "with_greeting": True,
                    },
                }
            )
        )
        while True:
            frame = json.loads(self.ws.recv())
            if frame.get("request_id") == rid and frame.get("command") == "add_turn":
                return chat_id

    def send(self, character_id: str, chat_id: str, text: str) -> Dict[str, Any]:
        """Send a message; returns {"first": s, "final": s, "text": str} (times from sending)."""
        rid, turn_id, cand_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
        started = time.perf_counter()
        self.ws.send(
            json.dumps(
                {
                    "command": "create_and_generate_turn",
                    "request_id": rid,
                    "origin_id": "web-next",
                    "payload": {
                        "character_id": character_id,
                        "num_candidates": 1,
                        "previous_annotations": {k: 0 for k in ANNOTATION_KEYS},
                        "selected_language": "",
                        "tts_enabled": False,
                        "user_name": "",
                        "turn": {
                            "author": {"author_id": self.account_id, "is_human": True, "name": ""},
                            "candidates": [{"candidate_id": cand_id, "raw_content": text}],
                            "primary_candidate_id": cand_id,
                            "turn_key": {"chat_id": chat_id, "turn_id": turn_id},
                        },
                    },
                }
            ),
        )
        first = None
        while True:
            frame = json.loads(self.ws.recv())
            if frame.get("request_id") != rid:
                continue
            if frame.get("command") not in ("add_turn", "update_turn"):
                raise RuntimeError(f"unexpected frame {frame.get('command')}")
            turn = frame["turn"]
            if turn["author"].get("is_human"):
                continue
            if first is None:
                first = time.perf_counter() - started
            cand = turn["candidates"][0]
            if cand.get("is_final"):
                return {
                    "first": first,
                    "final": time.perf_counter() - started,
                    "text": cand["raw_content"],
                }

    def close(self) -> None:
        self.ws.close()
