"""pytest plugin of caiclient (registered through the ``pytest11`` entry point).

Fixtures:

* ``cai_emulator`` -- a fresh, seeded :class:`caiclient.emulator.Emulator`
  (in-memory SQLite, no delay, no faults) started for the test and stopped
  after it. Attributes: ``url``, ``token``, ``other_token``,
  ``character_ids``, ``faults``, ``state``, ``log``.
* ``cai_emulator_url`` -- its base URL (``http://127.0.0.1:PORT``).
* ``cai_session`` -- a :class:`caiclient.Session` signed in to it.
* ``cai_client`` -- a :class:`caiclient.aio.Client` signed in to it.

aiohttp (the ``emulator`` extra) is imported only when a fixture is used, so
loading this plugin costs nothing for projects that do not use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from caiclient.aio import Client
    from caiclient.emulator import Emulator
    from caiclient.session import Session

__all__ = ["cai_client", "cai_emulator", "cai_emulator_url", "cai_session"]


@pytest.fixture
def cai_emulator() -> Iterator[Emulator]:
    """A fresh seeded emulator for one test (starts in a few tens of milliseconds)."""
    try:
        from caiclient.emulator import serve
    except ImportError as e:  # pragma: no cover - depends on the environment
        pytest.skip(f"the caiclient emulator needs the 'emulator' extra (aiohttp): {e}")
    with serve() as emu:
        yield emu


@pytest.fixture
def cai_emulator_url(cai_emulator: Emulator) -> str:
    """Base URL of the ``cai_emulator`` fixture's server."""
    return cai_emulator.url


# --- client fixtures --------------------------------------------------------------------------


@pytest.fixture
def cai_session(cai_emulator: Emulator) -> Iterator[Session]:
    """A :class:`caiclient.Session` signed in to ``cai_emulator`` as its seeded user.

    Short timeouts (5 s) so a test that goes wrong fails fast; closed after the test.
    """
    from caiclient import Endpoints, Session

    session = Session(
        cai_emulator.token, endpoints=Endpoints.for_emulator(cai_emulator.url), timeout=(5, 5)
    )
    yield session
    session.close()


@pytest.fixture
def cai_client(cai_emulator: Emulator) -> Iterator[Client]:
    """A :class:`caiclient.aio.Client` signed in to ``cai_emulator``.

    Use it inside your own event loop (``asyncio.run`` or pytest-asyncio);
    it is closed after the test.
    """
    import asyncio

    from caiclient import Endpoints
    from caiclient.aio import Client

    client = Client(
        cai_emulator.token, endpoints=Endpoints.for_emulator(cai_emulator.url), timeout=(5, 5)
    )
    yield client
    if not client.closed:
        asyncio.run(client.aclose())
