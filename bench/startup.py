"""Import time: ``import caiclient`` (and what a program touches next) vs ``import requests``.

    python bench/startup.py [--rounds 15]

Each statement runs in a fresh interpreter that times it itself (the
interpreter's own start is left out); the statements take turns within each
round, and the median and spread (p10-p90) over the rounds are printed.

Modules are imported from byte code, as from an installed package (a
cache of the bench's own, written on a first run, whatever
``PYTHONDONTWRITEBYTECODE`` says).

``import caiclient`` imports only the package and its errors: ``Session``
(requests), the models (attrs) and ``caiclient.aio`` (asyncio) are imported
when first touched, so the rows after it show what a program pays next.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional, Sequence

from _common import machine, pct

STATEMENTS = {
    "import requests": "import requests",
    "import caiclient": "import caiclient",
    "+ caiclient.Session": "import caiclient; caiclient.Session",
    "+ caiclient.Session, caiclient.Turn": "import caiclient; caiclient.Session; caiclient.Turn",
    "import caiclient.aio": "import caiclient.aio",
    "import asyncio; caiclient.Session, .Turn": (
        "import asyncio; import caiclient; caiclient.Session; caiclient.Turn"
    ),
    "import asyncio; import caiclient.aio": "import asyncio; import caiclient.aio",
}
CHILD = (
    "import sys, time; t = time.perf_counter(); exec(sys.argv[1]); print(time.perf_counter() - t)"
)
TARGET_IMPORT = 1.3  # import caiclient <= 1.3x import requests
TARGET_AIO_MS = 10.0  # import caiclient.aio adds <= 10 ms


# Byte code as an installed package has it (pip compiles at install time): written to
# a cache of our own on the first run, whatever PYTHONDONTWRITEBYTECODE says, so that
# no statement pays for compiling its modules from source.
_CACHE = tempfile.mkdtemp(prefix="caiclient-bench-pycache-")
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
_ENV["PYTHONPYCACHEPREFIX"] = _CACHE


def run_once(statement: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, statement],
        capture_output=True,
        text=True,
        check=True,
        env=_ENV,
    )
    return float(out.stdout.strip())


def measure(rounds: int) -> Dict[str, List[float]]:
    times: Dict[str, List[float]] = {name: [] for name in STATEMENTS}
    names = list(STATEMENTS)
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]  # interleaved, rotating
        for name in order:
            times[name].append(run_once(STATEMENTS[name]))
    return times


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args(argv)
    for statement in STATEMENTS.values():  # compile the byte code first
        run_once(statement)
    try:
        times = measure(args.rounds)
    finally:
        shutil.rmtree(_CACHE, ignore_errors=True)
    med = {name: statistics.median(v) for name, v in times.items()}
    base = med["import requests"]
    print(f"machine: {machine()}; {args.rounds} interleaved rounds, fresh interpreters")
    print(f"{'statement':40} {'median':>9} {'p10-p90':>15} {'vs requests':>12}")
    for name, values in times.items():
        spread = f"{pct(values, 10) * 1000:.1f}-{pct(values, 90) * 1000:.1f}"
        print(f"{name:40} {med[name] * 1000:6.1f} ms {spread:>12} ms {med[name] / base:10.2f}x")
    ratio = med["import caiclient"] / base
    sync_client = med["import asyncio; caiclient.Session, .Turn"]
    aio_ms = (med["import asyncio; import caiclient.aio"] - sync_client) * 1000
    verdict = "MET" if ratio <= TARGET_IMPORT else "MISSED"
    print(f"import caiclient: {ratio:.2f}x import requests: {verdict} (target <= {TARGET_IMPORT}x)")
    verdict = "MET" if aio_ms <= TARGET_AIO_MS else "MISSED"
    print(
        f"caiclient.aio adds {aio_ms:.1f} ms to the sync client (Session and models), asyncio "
        f"loaded: {verdict} (target <= {TARGET_AIO_MS:.0f} ms); asyncio itself adds "
        f"{(sync_client - med['+ caiclient.Session, caiclient.Turn']) * 1000:.1f} ms"
    )
    print(json.dumps({k: round(v * 1000, 2) for k, v in med.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
