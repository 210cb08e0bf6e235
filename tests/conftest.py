"""Shared fixtures: sessions wired to ``responses`` (no network), and helpers."""

from __future__ import annotations

from typing import Iterator

import pytest
import responses
from cli_support import run  # noqa: F401  (the CLI tests' fixture)
from support import TOKEN, Sleeps

import caiclient
from caiclient.transport.http import RetryPolicy


@pytest.fixture(autouse=True)
def _own_credentials(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own (empty) credentials file and no OS keyring: a login the
    developer stored never leaks into a test, and no test touches the real one."""
    monkeypatch.setenv("CAI_CONFIG", str(tmp_path_factory.mktemp("config") / "credentials.json"))
    monkeypatch.setenv("CAI_KEYRING", "0")
    monkeypatch.delenv("CAI_PROFILE", raising=False)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """A responses mock that fails the test if a registered call was not made."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def session(sleeps: Sleeps) -> Iterator[caiclient.Session]:
    """An authenticated session against the default (service) endpoints, retries not sleeping."""
    s = caiclient.Session(token=TOKEN, retry=RetryPolicy(max_retries=2, sleep=sleeps))
    yield s
    s.close()


@pytest.fixture
def guest(sleeps: Sleeps) -> Iterator[caiclient.Session]:
    """A guest session (no token)."""
    s = caiclient.Session(retry=RetryPolicy(max_retries=2, sleep=sleeps))
    yield s
    s.close()
