"""Shared fixtures: sessions wired to ``responses`` (no network), and helpers."""

from __future__ import annotations

import json
from typing import Any, Iterator, List

import pytest
import responses

import caiclient
from caiclient.transport.http import RetryPolicy

TOKEN = "0123456789abcdef0123456789abcdef01234567"
PLUS = "https://plus.character.ai"
NEO = "https://neo.character.ai"
WEB = "https://character.ai"
CDN = "https://characterai.io"


class Sleeps(List[float]):
    """Records the delays a RetryPolicy asked for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


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


def sent_json(call: Any) -> Any:
    """The JSON body of a recorded responses call."""
    body = call.request.body
    if body is None:
        return None
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return json.loads(body)


def account_body(user_id: int = 123456789, username: str = "alice") -> dict:
    """A ``GET /chat/user/`` answer (both nesting levels, like the service)."""
    return {
        "user": {
            "user": {
                "username": username,
                "id": user_id,
                "first_name": "Alice",
                "account": {
                    "name": "Alice",
                    "avatar_type": "UPLOADED",
                    "avatar_file_name": "uploaded/a.webp",
                },
            },
            "name": "Alice",
            "bio": "hi",
            "email": "alice@example.com",
            "is_human": True,
        }
    }
