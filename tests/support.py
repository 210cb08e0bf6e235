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


# MPEG-1 Layer III bitrates (kbit/s) and sample rates (Hz) by header index (ISO 11172-3).
_MP3_BITRATES = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MP3_RATES = (44100, 48000, 32000)


def mp3_frames(data: bytes) -> int:
    """The number of MPEG-1 Layer III frames in an MP3 file; ``ValueError`` if it is not one.

    Skips an ID3v2 tag, then walks frame by frame from each header's bitrate,
    sample rate and padding, and requires the frames to fill the file exactly.
    """
    pos = 0
    if data[:3] == b"ID3":
        size = 0
        for b in data[6:10]:
            if b & 0x80:
                raise ValueError("ID3 size is not syncsafe")
            size = (size << 7) | b
        pos = 10 + size
    frames = 0
    while pos < len(data):
        h = data[pos : pos + 4]
        if len(h) < 4 or h[0] != 0xFF or (h[1] & 0xE0) != 0xE0:
            raise ValueError(f"no frame sync at byte {pos}")
        if (h[1] >> 3) & 0b11 != 0b11 or (h[1] >> 1) & 0b11 != 0b01:
            raise ValueError("not MPEG-1 Layer III")
        bitrate_i, rate_i, padding = h[2] >> 4, (h[2] >> 2) & 0b11, (h[2] >> 1) & 1
        if not 0 < bitrate_i < 15 or rate_i > 2:
            raise ValueError("bad bitrate or sample rate index")
        length = 144 * _MP3_BITRATES[bitrate_i] * 1000 // _MP3_RATES[rate_i] + padding
        if pos + length > len(data):
            raise ValueError("truncated frame")
        pos += length
        frames += 1
    if frames == 0:
        raise ValueError("no MP3 frames")
    return frames


async def async_wait_until(pred: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``pred`` on the event loop until it holds or ``timeout`` passes (bounded)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        await asyncio.sleep(0.01)
    return pred()
