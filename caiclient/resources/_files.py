"""Reading the bytes of an upload from bytes, a path or a file object."""

from __future__ import annotations

import mimetypes
import os
from typing import IO, Optional, Tuple, Union

from caiclient.errors import ValidationError

Source = Union[bytes, bytearray, str, os.PathLike, IO[bytes]]
"""What an upload accepts: bytes, a path (str or path-like) or a binary file object."""

MAX_UPLOAD = 50 * 1024 * 1024


def read_source(source: Source, name: str, default_mime: str) -> Tuple[bytes, str, str]:
    """``(bytes, mime type, file name)`` of an upload source.

    Accepts raw bytes, a path to a local file, or a binary file object.
    URLs are not fetched (download the file yourself: the library does not
    fetch arbitrary URLs on your behalf).
    """
    filename = "upload"
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if path.startswith(("http://", "https://")):
            raise ValidationError(
                f"{name}: URLs are not fetched; download the file and pass its bytes or path",
                field=name,
            )
        if not os.path.isfile(path):
            raise ValidationError(f"{name}: no such file: {path}", field=name)
        with open(path, "rb") as fh:
            data = fh.read(MAX_UPLOAD + 1)
        filename = os.path.basename(path)
    elif hasattr(source, "read"):
        data = source.read(MAX_UPLOAD + 1)
        if not isinstance(data, bytes):
            raise ValidationError(f"{name}: the file must be opened in binary mode", field=name)
        filename = os.path.basename(str(getattr(source, "name", filename)))
    else:
        raise ValidationError(f"{name} must be bytes, a file path or a binary file", field=name)
    if not data:
        raise ValidationError(f"{name} is empty", field=name)
    if len(data) > MAX_UPLOAD:
        raise ValidationError(
            f"{name} is larger than {MAX_UPLOAD // (1024 * 1024)} MiB", field=name
        )
    mime: Optional[str] = mimetypes.guess_type(filename)[0] if filename != "upload" else None
    return data, mime or sniff_mime(data) or default_mime, filename


def sniff_mime(data: bytes) -> Optional[str]:
    """Guess a media type from the first bytes of a file."""
    signatures = (
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF8", "image/gif"),
        (b"ID3", "audio/mpeg"),
        (b"\xff\xfb", "audio/mpeg"),
        (b"OggS", "audio/ogg"),
        (b"fLaC", "audio/flac"),
    )
    for sig, mime in signatures:
        if data.startswith(sig):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    return None
