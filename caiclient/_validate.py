"""Checks on user input, done before anything is sent.

Every failure raises :class:`~caiclient.errors.ValidationError` naming the
argument. :func:`segment` is what makes an id safe to put in a URL path.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable, List, Optional, Sequence
from urllib.parse import quote

from caiclient.errors import ValidationError

__all__ = ["choice", "encodable", "id_list", "identifier", "seconds", "segment", "text"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def encodable(value: str, name: str) -> str:
    """A string UTF-8 can encode (a lone surrogate such as ``"hi \\ud800"`` cannot)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            f"{name} contains text that cannot be encoded as UTF-8 (a lone surrogate?)",
            field=name,
        ) from None
    return value


def identifier(value: Any, name: str) -> str:
    """A non-empty id string without whitespace or control characters."""
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string, got {type(value).__name__}", field=name)
    if not value or value != value.strip():
        raise ValidationError(
            f"{name} must be a non-empty id without surrounding spaces", field=name
        )
    if _CONTROL.search(value) or len(value) > 512:
        raise ValidationError(f"{name} is not a valid id", field=name)
    return encodable(value, name)


def seconds(value: Any, name: str, *, zero: bool = False) -> float:
    """A positive (or, with ``zero``, non-negative) finite number of seconds.

    Not a bool, a string, ``nan`` or ``inf``.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not zero)
    ):
        what = "a non-negative" if zero else "a positive"
        raise ValidationError(f"{name} must be {what}, finite number of seconds", field=name)
    return float(value)


def segment(value: Any, name: str) -> str:
    """An id made safe to stand as one URL path segment.

    The id is validated and percent-encoded (``/``, ``?``, ``#``, ``%`` ...
    included), and ``.``/``..`` are refused, so it can never rewrite the path
    or the query of the URL it is put in.
    """
    value = identifier(value, name)
    if value in (".", ".."):
        raise ValidationError(f"{name} is not a valid id", field=name)
    return quote(value, safe="")


def id_list(values: Any, name: str, *, min_items: int = 1) -> List[str]:
    """A list of ids (a lone string is refused: it is a common mistake)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValidationError(f"{name} must be a list of ids", field=name)
    out = [identifier(v, name) for v in values]
    if len(out) < min_items:
        raise ValidationError(f"{name} needs at least {min_items} id(s)", field=name)
    return out


def text(
    value: Any,
    name: str,
    *,
    min_len: int = 0,
    max_len: Optional[int] = None,
    allow_empty: bool = False,
) -> str:
    """A string whose length (in code points) is within bounds."""
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string, got {type(value).__name__}", field=name)
    n = len(value)
    if allow_empty and n == 0:
        return value
    if n < min_len or (max_len is not None and n > max_len):
        if max_len is None:
            bounds = f"at least {min_len}"
        elif min_len:
            bounds = f"{min_len} to {max_len}"
        else:
            bounds = f"at most {max_len}"
        raise ValidationError(f"{name} must be {bounds} characters long (got {n})", field=name)
    # Checked here, with the other bounds, so a method that reads before it writes
    # (update = get + post) refuses the text before its first request.
    return encodable(value, name)


def choice(value: Any, name: str, allowed: Sequence[str], *, upper: bool = False) -> str:
    """One of ``allowed`` (case-insensitive); returned upper- or lower-cased."""
    if not isinstance(value, str) or value.lower() not in {a.lower() for a in allowed}:
        raise ValidationError(
            f"{name} must be one of {', '.join(allowed)}; got {value!r}", field=name
        )
    return value.upper() if upper else value.lower()


def integer(value: Any, name: str, *, minimum: int = 0, maximum: Optional[int] = None) -> int:
    """An int within bounds (booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{name} must be an integer", field=name)
    if value < minimum or (maximum is not None and value > maximum):
        hi = f" and {maximum}" if maximum is not None else ""
        raise ValidationError(f"{name} must be between {minimum}{hi}, got {value}", field=name)
    return value
