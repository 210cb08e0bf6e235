"""Run the unmodified third-party client PyCharacterAI 2.2.50 against the bundled emulator.

Its files are not edited: it is installed from PyPI (the ``conformance`` extra)
and only its base URLs are swapped at run time. PyCharacterAI writes every URL
as a literal (``"https://neo.character.ai/..."``) and sends everything, HTTP and
the websocket, through one ``curl_cffi.AsyncSession``; so for the length of a
test its module-level ``curl_cffi`` name is pointed at a namespace whose
``AsyncSession`` rewrites the service's base URLs to the emulator's (the map is
:meth:`caiclient.Endpoints.for_emulator`, the one our own client uses) and is
otherwise curl_cffi itself, browser impersonation included.

This directory is kept out of the default ``python -m pytest`` run
(``norecursedirs`` in pyproject.toml): ``.ci/run`` installs the extra and runs
``python -m pytest tests/conformance``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import types
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Iterator, TypeVar
from urllib.parse import urlsplit

import curl_cffi
import PyCharacterAI
import PyCharacterAI.requester
import pytest

from caiclient import Endpoints
from caiclient.emulator import Emulator

T = TypeVar("T")

NODE_DIR = Path(__file__).resolve().parent / "node"
"""The Node clients (package.json pins them; ``npm ci --prefix tests/conformance/node``)."""

CALL_TIMEOUT = 30.0
"""The longest one client call may take (the client itself has no websocket timeout)."""


def service_to_emulator(emulator_url: str) -> Dict[str, str]:
    """The service's base URLs and where the emulator at ``emulator_url`` serves each."""
    service, local = Endpoints(), Endpoints.for_emulator(emulator_url)
    hosts = [h for h in ("plus", "neo", "web", "cdn", "beta") if hasattr(service, h)]
    pairs = {getattr(service, h): getattr(local, h) for h in hosts}
    # Both sockets (wss://neo.character.ai/ws/ and .../connection/websocket) live under /neo.
    pairs[service.ws.rsplit("/ws/", 1)[0]] = local.ws.rsplit("/ws/", 1)[0]
    return pairs


def make_rewriter(emulator_url: str) -> Callable[[str], str]:
    """A function mapping a service URL to the emulator's; anything else not local is refused."""
    pairs = sorted(service_to_emulator(emulator_url).items(), key=lambda kv: -len(kv[0]))

    def rewrite(url: str) -> str:
        for base, local in pairs:
            if url == base or url.startswith((base + "/", base + "?")):
                url = local + url[len(base) :]
                break
        if urlsplit(url).hostname != "127.0.0.1":
            # Never let the client reach the real service (or anything else).
            raise RuntimeError(f"conformance: refusing to contact {urlsplit(url).hostname}")
        return url

    return rewrite


def redirected_curl_cffi(rewrite: Callable[[str], str]) -> types.SimpleNamespace:
    """curl_cffi as PyCharacterAI sees it, with an ``AsyncSession`` that rewrites URLs."""

    class RedirectingAsyncSession(curl_cffi.AsyncSession):  # type: ignore[misc]
        async def request(self, method: Any, url: str, *args: Any, **kwargs: Any) -> Any:
            return await super().request(method, rewrite(url), *args, **kwargs)

        async def ws_connect(self, url: str, *args: Any, **kwargs: Any) -> Any:
            return await super().ws_connect(rewrite(url), *args, **kwargs)

    names = {n: getattr(curl_cffi, n) for n in dir(curl_cffi) if not n.startswith("__")}
    names["AsyncSession"] = RedirectingAsyncSession
    return types.SimpleNamespace(**names)


class Driver:
    """One PyCharacterAI client signed in to the emulator, and a loop to run its coroutines."""

    def __init__(self, emu: Emulator, loop: asyncio.AbstractEventLoop) -> None:
        self.emu = emu
        self.loop = loop
        self.client: Any = None

    def run(self, awaitable: Awaitable[T]) -> T:
        """Run one call of the client to completion, bounded by :data:`CALL_TIMEOUT`."""
        return self.loop.run_until_complete(asyncio.wait_for(awaitable, CALL_TIMEOUT))

    def collect(self, agen_factory: Callable[[], Awaitable[Any]]) -> list:
        """Every item of a streaming call (``await f()`` gives an async generator)."""

        async def gather() -> list:
            return [item async for item in await agen_factory()]

        return self.run(gather())


@pytest.fixture
def emu(cai_emulator: Emulator) -> Emulator:
    """The emulator (fresh and seeded for each test)."""
    return cai_emulator


@pytest.fixture
def cai(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Driver]:
    """PyCharacterAI 2.2.50, unmodified, signed in to the emulator as the seeded user."""
    monkeypatch.setattr(
        PyCharacterAI.requester, "curl_cffi", redirected_curl_cffi(make_rewriter(emu.url))
    )
    loop = asyncio.new_event_loop()
    driver = Driver(emu, loop)
    try:
        driver.client = driver.run(PyCharacterAI.get_client(token=emu.token))
        yield driver
        driver.run(driver.client.close_session())
    finally:
        loop.close()


@pytest.fixture
def character_id(emu: Emulator) -> str:
    """The first seeded character (Ada)."""
    return emu.character_ids[0]


def run_node(emu: Emulator, script: str, *args: str, **env: str) -> Dict[str, Any]:
    """Run ``node/<script>`` (an unmodified Node client) against ``emu``; its JSON output.

    The script runs with ``--import ./to_emulator.mjs`` (the service's base URLs become the
    emulator's), ``CAI_EMULATOR_URL`` and ``CAI_TOKEN`` set, plus ``env``; it prints one
    JSON object as its last line. Bounded: the run is killed after two minutes.
    """
    node = shutil.which("node")
    assert node, "the Node conformance tests need node (>= 20.6) on PATH"
    assert (NODE_DIR / "node_modules" / "cainode").is_dir(), (
        "install the Node clients first: "
        "npm ci --prefix tests/conformance/node --omit=optional --ignore-scripts"
    )
    proc = subprocess.run(
        [node, "--import", "./to_emulator.mjs", script, *args],
        cwd=NODE_DIR,
        env=dict(os.environ, CAI_EMULATOR_URL=emu.url, CAI_TOKEN=emu.token, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    out: Dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "uncaught" not in out, out["uncaught"]
    return out
