"""Reading websocket frames (RFC 6455) from a socket, buffered.

websocket-client reads every frame with three or more ``recv`` calls (the
header, the length, the payload), each through several layers of Python.
The chat's replies are bursts of small frames, so that cost was most of the
client's CPU per message. :class:`FrameReader` reads what the socket has in
one ``recv`` and cuts the frames out of it: one call per burst, a few
operations per frame.

It only reads; sending (and the handshake) stays with websocket-client. A
timeout while a frame is half read loses nothing: the bytes stay buffered
and the next :meth:`FrameReader.recv` goes on from there.
"""

from __future__ import annotations

import select
import ssl
import sys
from typing import Any, Callable, List, Optional, Union

from caiclient import errors

__all__ = ["FrameReader", "FrameTooLarge", "ProtocolError", "unmask"]

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_CHUNK = 256 * 1024  # the most asked of the socket at once


class FrameTooLarge(Exception):
    """A websocket message over the size limit (the connection is failed)."""


class ProtocolError(errors.ParseError):
    """The peer broke the websocket framing rules (the connection is failed)."""


def unmask(key: bytes, data: bytes) -> bytes:
    """``data`` XOR the 4-byte ``key`` repeated (masking is its own inverse)."""
    n = len(data)
    if not n:
        return b""
    order = sys.byteorder
    repeated = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, order) ^ int.from_bytes(repeated, order)).to_bytes(n, order)


class FrameReader:
    """The messages arriving on ``sock``, one :meth:`recv` at a time.

    ``on_control(opcode, payload)`` is called for each ping, pong and close
    frame (answer pings there); a close frame also ends :meth:`recv` with
    ``None``. Text messages are decoded (invalid UTF-8 is a
    :class:`~caiclient.errors.ParseError`); a message announcing more than
    ``max_message_size`` bytes raises :class:`FrameTooLarge` before its
    payload is read. ``recv`` is not thread-safe: one reader per socket.
    """

    __slots__ = ("_buf", "_max", "_on_control", "_opcode", "_parts", "_pos", "_size", "_sock")

    def __init__(
        self,
        sock: Any,
        max_message_size: int,
        on_control: Optional[Callable[[int, bytes], Any]] = None,
    ) -> None:
        self._sock = sock
        self._max = max_message_size
        self._on_control = on_control
        self._buf = b""
        self._pos = 0
        self._parts: List[bytes] = []  # the fragments of a message in progress
        self._size = 0
        self._opcode = 0

    def recv(self) -> Union[str, bytes, None]:
        """The next message: ``str`` (text), ``bytes`` (binary), ``None`` (closed by the peer).

        Raises what the socket raises (its timeout included), ``ConnectionError``
        when the peer goes away mid-stream, :class:`FrameTooLarge` and
        :class:`ProtocolError`.
        """
        while True:
            buf, pos = self._buf, self._pos
            avail = len(buf) - pos
            if avail < 2:
                self._fill(2 - avail)
                continue
            b0, b1 = buf[pos], buf[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length >= 126:
                head = 4 if length == 126 else 10
                if avail < head:
                    self._fill(head - avail)
                    continue
                length = int.from_bytes(buf[pos + 2 : pos + head], "big")
            if b1 & 0x80:
                head += 4
            if b0 & 0x70:
                raise ProtocolError("a websocket frame sets reserved bits (no extension agreed)")
            opcode = b0 & 0x0F
            if opcode < OP_CLOSE and self._size + length > self._max:
                raise FrameTooLarge(
                    f"a websocket message of {self._size + length} bytes or more, over the "
                    f"limit of {self._max}"
                )
            end = pos + head + length
            if len(buf) < end:
                if opcode >= OP_CLOSE and length > 125:
                    raise ProtocolError("a websocket control frame longer than 125 bytes")
                self._fill(end - len(buf))
                continue
            payload = buf[pos + head : end]
            self._pos = end
            if b1 & 0x80:  # servers do not mask, but a masked frame is still readable
                payload = unmask(buf[pos + head - 4 : pos + head], payload)
            fin = b0 & 0x80
            if opcode == OP_TEXT and fin and not self._parts:  # the chat's every frame
                return _text(payload)
            message = self._frame(opcode, fin, payload)
            if message is not _MORE:
                return message

    def _frame(self, opcode: int, fin: int, payload: bytes) -> Any:
        """Any frame but an unfragmented text one: a message, ``None`` or :data:`_MORE`."""
        if opcode >= OP_CLOSE:
            if not fin or len(payload) > 125 or opcode > OP_PONG:
                raise ProtocolError(f"a malformed websocket control frame (opcode {opcode:#x})")
            if self._on_control is not None:
                self._on_control(opcode, payload)
            return None if opcode == OP_CLOSE else _MORE
        if opcode == OP_CONT:
            if not self._parts:
                raise ProtocolError("a websocket continuation frame with no message to continue")
        elif opcode in (OP_TEXT, OP_BINARY):
            if self._parts:
                raise ProtocolError("a new websocket message before the last one ended")
            self._opcode = opcode
        else:
            raise ProtocolError(f"a websocket frame of unknown opcode {opcode:#x}")
        if not fin:
            self._parts.append(payload)
            self._size += len(payload)
            return _MORE
        parts, self._parts, self._size = self._parts, [], 0
        data = b"".join(parts) + payload if parts else payload
        return _text(data) if self._opcode == OP_TEXT else data

    def _fill(self, need: int) -> None:
        """Read until at least ``need`` more bytes are buffered (kept even if a read fails)."""
        rest = self._buf[self._pos :] if self._pos else self._buf
        chunks = [rest]
        got = 0
        try:
            while got < need:
                chunk = self._read(min(max(need - got, 65536), _CHUNK))
                if not chunk:
                    raise ConnectionResetError("the websocket peer closed the connection")
                chunks.append(chunk)
                got += len(chunk)
        finally:
            self._buf = b"".join(chunks) if len(chunks) > 1 else rest
            self._pos = 0

    def _read(self, size: int) -> bytes:
        sock = self._sock
        try:
            return sock.recv(size)
        except ssl.SSLWantReadError:  # TLS wants more bytes before it has a record
            if not select.select([sock], [], [], sock.gettimeout())[0]:
                raise TimeoutError("timed out reading the websocket") from None
            return sock.recv(size)


_MORE = object()


def _text(payload: bytes) -> str:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.ParseError("a websocket text frame is not valid UTF-8") from None
