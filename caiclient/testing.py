"""pytest plugin of caiclient (registered through the ``pytest11`` entry point).

Fixtures:

* ``cai_emulator`` -- a fresh, seeded :class:`caiclient.emulator.Emulator`
  (in-memory SQLite, no delay, no faults) started for the test and stopped
  after it. Attributes: ``url``, ``token``, ``other_token``,
  ``character_ids``, ``faults``, ``state``, ``log``.
* ``cai_emulator_url`` -- its base URL (``http://127.0.0.1:PORT``).

aiohttp (the ``emulator`` extra) is imported only when a fixture is used, so
loading this plugin costs nothing for projects that do not use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from caiclient.emulator import Emulator

__all__ = ["cai_emulator", "cai_emulator_url"]


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
# The lead adds ``cai_session`` (a caiclient.Session bound to cai_emulator with
# Endpoints.for_emulator(cai_emulator.url) and cai_emulator.token) and
# ``cai_client`` here.
