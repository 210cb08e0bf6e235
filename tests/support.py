"""Constants and helpers shared by the tests (import with ``from support import ...``).

Kept out of ``conftest.py`` so that no test imports a conftest module (there
are several, and they would shadow each other).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any, Callable, List

TOKEN = "0123456789abcdef0123456789abcdef01234567"
PLUS = "https://plus.character.ai"
NEO = "https://neo.character.ai"
WEB = "https://character.ai"
CDN = "https://characterai.io"


AUTH = {"authorization": f"Token {TOKEN}"}
"""The header every account call must carry."""

_UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
UUID4 = re.compile(f"^{_UUID4}$")
"""A client-generated id: canonical lowercase uuid4."""
UUID_ID = re.compile(f"^id:{_UUID4}$")
"""The ``identifier`` field of created characters and personas."""


class Sleeps(List[float]):
    """Records the delays a RetryPolicy asked for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


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


async def async_wait_until(pred: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``pred`` on the event loop until it holds or ``timeout`` passes (bounded)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        await asyncio.sleep(0.01)
    return pred()
