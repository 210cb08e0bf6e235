"""Patience that delivers (issue 10): the recovery check keeps looking within the deadline."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

import caiclient
from caiclient import errors
from caiclient.transport.http import RetryPolicy


@pytest.fixture
def s(cai_emulator: Any) -> Iterator[caiclient.Session]:
    with caiclient.Session(
        cai_emulator.token,
        endpoints=caiclient.Endpoints.for_emulator(cai_emulator.url),
        timeout=(5, 5),
        retry=RetryPolicy(max_retries=2, backoff=0.01),
        reply_timeout=30.0,
    ) as session:
        yield session


def _human_texts(emu: Any, chat_id: str) -> list:
    out = []
    for t in emu.state.turns(chat_id):
        if t["author"].get("is_human"):
            cands = {c["candidate_id"]: c for c in t["candidates"]}
            out.append(cands[t["primary_candidate_id"]]["raw_content"])
    return out


@pytest.mark.parametrize("status", [503, 429])
def test_recovery_outlasts_a_storm_of_errors(
    s: caiclient.Session, cai_emulator: Any, status: int
) -> None:
    """The message is stored but its frames are lost; then the chat's history answers
    with errors for longer than the normal HTTP retries (3 tries) last."""
    cid = cai_emulator.character_ids[0]
    chat, _ = s.chats.create(cid)
    cai_emulator.faults.http_errors(
        f"/neo/turns/{chat.chat_id}", [status] * 8, retry_after=0.05 if status == 429 else None
    )
    cai_emulator.faults.drop_socket_after(0)
    reply = s.chats.send(cid, chat.chat_id, "delivered anyway")
    assert "delivered anyway" in reply.text and reply.is_final
    assert _human_texts(cai_emulator, chat.chat_id).count("delivered anyway") == 1
    assert len(cai_emulator.log.ws("create_and_generate_turn")) == 1  # never resent


def test_unknown_only_when_the_deadline_ran_out(cai_emulator: Any) -> None:
    cid = cai_emulator.character_ids[0]
    with caiclient.Session(
        cai_emulator.token,
        endpoints=caiclient.Endpoints.for_emulator(cai_emulator.url),
        timeout=(5, 5),
        retry=RetryPolicy(max_retries=0),
        reply_timeout=1.5,
    ) as s:
        chat, _ = s.chats.create(cid)
        cai_emulator.faults.http_errors(f"/neo/turns/{chat.chat_id}", [503] * 10_000)
        cai_emulator.faults.drop_socket_after(0)
        with pytest.raises(errors.ConnectionLost) as info:
            s.chats.send(cid, chat.chat_id, "cannot tell")
        cai_emulator.faults.clear()
    assert info.value.message_delivered is None
    assert "deadline" in str(info.value) and info.value.user_turn_id
