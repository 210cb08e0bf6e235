"""JSON decoding with a nesting limit, shared by the client's transports and the emulator.

``json.loads`` on deeply nested input raises ``RecursionError`` on some Python
versions and parses it on others (3.9 accepts 1,000 levels that 3.11 refuses),
and code walking the result may recurse further. Nothing the service sends
nests anywhere near :data:`MAX_DEPTH`, so deeper input is refused up front, the
same way on every version, as a :class:`TooDeep` (a ``ValueError``).
"""

from __future__ import annotations

import json
import json.scanner
from typing import Any, Union

__all__ = ["MAX_DEPTH", "TooDeep", "loads"]

MAX_DEPTH = 512
"""The deepest nesting of arrays and objects accepted."""


# What json.loads runs inside (typeshed types make_scanner as a class).
_scan_once = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


class TooDeep(ValueError):
    """The JSON nests deeper than :data:`MAX_DEPTH`."""


def loads(data: Union[str, bytes, bytearray]) -> Any:
    """``json.loads`` that refuses nesting deeper than :data:`MAX_DEPTH` (``TooDeep``)."""
    text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    if _depth_exceeds(text, MAX_DEPTH):
        raise TooDeep(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        # The decoder's C scanner straight away: json.loads adds a few layers of
        # Python (type checks, two whitespace matches) per call, and the chat
        # decodes a frame every few microseconds. Anything unusual (leading or
        # trailing whitespace, an error to report) takes json.loads's own path.
        obj, end = _scan_once(text, 0)
        if end == len(text):
            return obj
    except StopIteration:
        pass
    except RecursionError:
        raise TooDeep("JSON nested too deeply") from None
    except ValueError:
        pass  # json.loads below reports it in its own words
    try:
        return json.loads(text)
    except RecursionError:
        raise TooDeep("JSON nested too deeply") from None


def _depth_exceeds(text: str, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than ``limit`` (a quick scan)."""
    if text.count("[") + text.count("{") <= limit:
        return False  # the common case: too few brackets to be that deep
    depth = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False
