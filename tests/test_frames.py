"""The buffered websocket frame reader, against bytes written to a real socket pair."""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
from typing import Any, Iterator, List, Tuple

import pytest

from caiclient import errors
from caiclient.transport._frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameReader,
    FrameTooLarge,
    ProtocolError,
    unmask,
)


def frame(
    opcode: int, payload: bytes, *, fin: bool = True, mask: bytes = b"", rsv: int = 0
) -> bytes:
    """One frame, encoded independently of the reader (struct, per RFC 6455 5.2)."""
    b0 = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, bit | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", b0, bit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, bit | 127, n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + payload


@pytest.fixture
def pair() -> Iterator[Tuple[socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair()
    ours.settimeout(5)
    yield ours, theirs
    ours.close()
    theirs.close()


def reader(
    sock: socket.socket, limit: int = 1 << 20
) -> Tuple[FrameReader, List[Tuple[int, bytes]]]:
    seen: List[Tuple[int, bytes]] = []
    return FrameReader(sock, limit, lambda op, data: seen.append((op, data))), seen


def test_a_burst_of_text_frames_is_read_one_message_at_a_time(pair: Any) -> None:
    ours, theirs = pair
    texts = [json.dumps({"n": i, "text": "é" * i}, ensure_ascii=False) for i in range(50)]
    theirs.sendall(b"".join(frame(OP_TEXT, t.encode()) for t in texts))
    r, _ = reader(ours)
    assert [r.recv() for _ in texts] == texts


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 300_000])
def test_every_length_encoding(pair: Any, size: int) -> None:
    ours, theirs = pair
    body = os.urandom(size)
    sender = threading.Thread(target=theirs.sendall, args=(frame(OP_BINARY, body),))
    sender.start()  # larger than the socket buffer: written while it is read
    r, _ = reader(ours)
    assert r.recv() == body
    sender.join(5)


def test_a_frame_trickling_in_byte_by_byte_is_reassembled(pair: Any) -> None:
    ours, theirs = pair
    data = frame(OP_TEXT, "x".join(str(i) for i in range(300)).encode())

    def trickle() -> None:
        for i in range(len(data)):
            theirs.send(data[i : i + 1])

    t = threading.Thread(target=trickle)
    t.start()
    r, _ = reader(ours)
    assert r.recv() == "x".join(str(i) for i in range(300))
    t.join(5)


def test_a_timeout_mid_frame_loses_nothing(pair: Any) -> None:
    ours, theirs = pair
    data = frame(OP_TEXT, b'{"half": "and the rest"}')
    ours.settimeout(0.05)
    r, _ = reader(ours)
    theirs.sendall(data[:1])  # not even the whole header
    with pytest.raises(socket.timeout):
        r.recv()
    theirs.sendall(data[1:9])
    with pytest.raises(socket.timeout):
        r.recv()
    theirs.sendall(data[9:])
    ours.settimeout(5)
    assert r.recv() == '{"half": "and the rest"}'


def test_fragments_join_and_control_frames_may_come_between(pair: Any) -> None:
    ours, theirs = pair
    theirs.sendall(
        frame(OP_TEXT, "hé".encode()[:2], fin=False)
        + frame(OP_PING, b"are you there")
        + frame(OP_CONT, "hé".encode()[2:] + b" wor", fin=False)
        + frame(OP_PONG, b"")
        + frame(OP_CONT, b"ld")
        + frame(OP_TEXT, b"next")
    )
    r, seen = reader(ours)
    assert r.recv() == "hé world"  # the é was split between two fragments
    assert seen == [(OP_PING, b"are you there"), (OP_PONG, b"")]
    assert r.recv() == "next"


def test_a_close_frame_ends_the_stream(pair: Any) -> None:
    ours, theirs = pair
    theirs.sendall(frame(OP_CLOSE, struct.pack("!H", 1000) + b"bye"))
    r, seen = reader(ours)
    assert r.recv() is None
    assert seen == [(OP_CLOSE, struct.pack("!H", 1000) + b"bye")]


def test_a_masked_frame_is_unmasked(pair: Any) -> None:
    ours, theirs = pair
    theirs.sendall(frame(OP_TEXT, b"masked though servers do not", mask=b"\x01\x82\x33\xf4"))
    r, _ = reader(ours)
    assert r.recv() == "masked though servers do not"
    assert unmask(b"abcd", unmask(b"abcd", b"123456789")) == b"123456789"


def test_an_oversized_message_is_refused_before_its_payload_is_read(pair: Any) -> None:
    ours, theirs = pair
    theirs.sendall(struct.pack("!BBQ", 0x81, 127, 100 * 1024 * 1024))  # and nothing more
    r, _ = reader(ours, limit=1024)
    with pytest.raises(FrameTooLarge, match="over the limit of 1024"):
        r.recv()


def test_fragments_count_together_against_the_limit(pair: Any) -> None:
    ours, theirs = pair
    theirs.sendall(frame(OP_TEXT, b"a" * 600, fin=False) + frame(OP_CONT, b"b" * 600))
    r, _ = reader(ours, limit=1024)
    with pytest.raises(FrameTooLarge):
        r.recv()


@pytest.mark.parametrize(
    "data",
    [
        frame(OP_TEXT, b"x", rsv=0x40),  # compressed, though nothing was agreed
        frame(OP_CONT, b"x"),  # continues nothing
        frame(OP_TEXT, b"a", fin=False) + frame(OP_TEXT, b"b"),  # interrupts a message
        frame(0x3, b"x"),  # a reserved opcode
        frame(OP_PING, b"x", fin=False),  # a fragmented control frame
        struct.pack("!BBH", 0x89, 126, 200) + b"p" * 200,  # a long control frame
    ],
    ids=["rsv", "orphan-continuation", "interleaved", "opcode", "fragmented-ping", "long-ping"],
)
def test_protocol_violations_are_typed_errors(pair: Any, data: bytes) -> None:
    ours, theirs = pair
    theirs.sendall(data)
    r, _ = reader(ours)
    with pytest.raises(ProtocolError) as info:
        r.recv()
    assert isinstance(info.value, errors.ParseError)


def test_invalid_utf8_is_a_parse_error(pair: Any) -> None:
    ours, theirs = pair
    theirs.sendall(frame(OP_TEXT, b"{\xff}"))
    r, _ = reader(ours)
    with pytest.raises(errors.ParseError, match="UTF-8"):
        r.recv()


def test_the_peer_leaving_mid_frame_is_a_connection_error(pair: Any) -> None:
    ours, theirs = pair
    theirs.sendall(frame(OP_TEXT, b"cut short")[:5])
    theirs.shutdown(socket.SHUT_WR)
    r, _ = reader(ours)
    with pytest.raises(ConnectionError):
        r.recv()


def test_frames_read_through_tls_records_and_timeouts() -> None:
    """wss: the socket is an SSLSocket; records hold at most 16 KiB, and a record's worth of
    bytes may sit inside the TLS layer rather than the kernel."""
    import ssl

    cert = os.path.join(os.path.dirname(__file__), "data", "localhost-tls.pem")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert)
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(cert)
    raw_ours, raw_theirs = socket.socketpair()
    theirs_box: List[Any] = []

    def serve() -> None:
        theirs_box.append(server_ctx.wrap_socket(raw_theirs, server_side=True))

    t = threading.Thread(target=serve)
    t.start()
    ours = client_ctx.wrap_socket(raw_ours, server_hostname="localhost")
    t.join(10)
    theirs = theirs_box[0]
    try:
        ours.settimeout(5)
        big = json.dumps({"text": "é" * 40_000}, ensure_ascii=False)  # ~80 KB: many records
        messages = [big] + [json.dumps({"n": i}) for i in range(200)]
        data = b"".join(frame(OP_TEXT, m.encode()) for m in messages)
        sender = threading.Thread(target=theirs.sendall, args=(data,))
        sender.start()
        r, _ = reader(ours)
        assert [r.recv() for _ in messages] == messages
        sender.join(5)
        ours.settimeout(0.05)
        half = frame(OP_TEXT, b'{"after": "a timeout"}')
        theirs.sendall(half[:6])
        with pytest.raises(socket.timeout):  # what the keep-alive takes for "idle"
            r.recv()
        theirs.sendall(half[6:])
        ours.settimeout(5)
        assert r.recv() == '{"after": "a timeout"}'
    finally:
        ours.close()
        theirs.close()
