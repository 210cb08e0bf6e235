"""Chatting over the websocket, end to end against the bundled emulator (real sockets)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any, Dict, Iterator, List

import pytest
from support import UUID4

import caiclient
from caiclient import errors


@pytest.fixture
def s(cai_emulator: Any) -> Iterator[caiclient.Session]:
    endpoints = caiclient.Endpoints.for_emulator(cai_emulator.url)
    with caiclient.Session(cai_emulator.token, endpoints=endpoints, timeout=(5, 5)) as session:
        yield session


@pytest.fixture
def cid(cai_emulator: Any) -> str:
    return str(cai_emulator.character_ids[0])


def _history(emu: Any, chat_id: str) -> List[Dict[str, Any]]:
    """The chat's turns as the emulator stores them, oldest first."""
    return list(reversed(emu.state.turns(chat_id)))


def _texts(emu: Any, chat_id: str) -> List[str]:
    out = []
    for t in _history(emu, chat_id):
        cands = {c["candidate_id"]: c for c in t["candidates"]}
        out.append(cands[t["primary_candidate_id"]]["raw_content"])
    return out


def test_create_with_and_without_greeting(
    s: caiclient.Session, cai_emulator: Any, cid: str
) -> None:
    chat, greeting = s.chats.create(cid)
    character = s.characters.get(cid)
    assert chat.character_id == cid
    assert greeting is not None and greeting.text == character.greeting
    assert not greeting.author_is_human and greeting.is_final
    chat2, none = s.chats.create(cid, greeting=False, model_type="MODEL_TYPE_SMART")
    assert none is None and chat2.chat_id != chat.chat_id
    sent = cai_emulator.log.ws("create_chat")
    assert sent[0]["payload"]["with_greeting"] is True
    assert sent[1]["payload"]["chat"]["preferred_model_type"] == "MODEL_TYPE_SMART"
    assert sent[1]["payload"]["chat"]["creator_id"] == s.account_id
    assert UUID4.match(sent[0]["payload"]["chat"]["chat_id"])
    assert UUID4.match(sent[0]["request_id"])


def test_send_returns_the_final_reply_and_the_wire_is_right(
    s: caiclient.Session, cai_emulator: Any, cid: str
) -> None:
    chat, _ = s.chats.create(cid)
    reply = s.chats.send(cid, chat.chat_id, "What is two plus two?")
    assert reply.is_final and not reply.author_is_human
    assert "two plus two" in reply.text
    assert reply.chat_id == chat.chat_id
    msg = cai_emulator.log.ws("create_and_generate_turn")[-1]
    assert msg["origin_id"] == "web-next" and UUID4.match(msg["request_id"])
    payload = msg["payload"]
    assert payload["character_id"] == cid and payload["num_candidates"] == 1
    assert len(payload["previous_annotations"]) == 22
    assert set(payload["previous_annotations"].values()) == {0}
    turn = payload["turn"]
    assert turn["author"] == {"author_id": s.account_id, "is_human": True, "name": ""}
    assert UUID4.match(turn["turn_key"]["turn_id"]) and turn["turn_key"]["chat_id"] == chat.chat_id
    assert turn["candidates"][0]["raw_content"] == "What is two plus two?"
    assert turn["primary_candidate_id"] == turn["candidates"][0]["candidate_id"]
    assert _texts(cai_emulator, chat.chat_id)[-2:] == ["What is two plus two?", reply.text]


def test_stream_yields_growing_snapshots(s: caiclient.Session, cai_emulator: Any, cid: str) -> None:
    chat, _ = s.chats.create(cid)
    with s.chats.stream(cid, chat.chat_id, "Tell me a story") as reply:
        snaps = list(reply)
    assert len(snaps) >= 3
    assert all(not t.is_final for t in snaps[:-1]) and snaps[-1].is_final
    for a, b in zip(snaps, snaps[1:]):
        assert b.text.startswith(a.text) and len(b.text) > len(a.text)
    assert reply.done and reply.turn is snaps[-1] and reply.delivered
    again = s.chats.stream(cid, chat.chat_id, "More!")
    assert "".join(again.text_deltas()) == again.turn.text
    assert again.user_turn_id is not None and UUID4.match(again.user_turn_id)


def test_regenerate_edit_pin_primary(s: caiclient.Session, cai_emulator: Any, cid: str) -> None:
    chat, _ = s.chats.create(cid)
    reply = s.chats.send(cid, chat.chat_id, "hello")
    first = reply.primary_candidate
    assert first is not None
    regen = s.chats.regenerate(cid, chat.chat_id, reply.turn_id)
    assert regen.turn_id == reply.turn_id and regen.is_final
    assert regen.primary_candidate_id != first.candidate_id
    snaps = list(s.chats.stream_regenerate(cid, chat.chat_id, reply.turn_id))
    assert snaps[-1].is_final and snaps[-1].turn_id == reply.turn_id
    stored = cai_emulator.state.turn(chat.chat_id, reply.turn_id)
    assert len(stored["candidates"]) == 3

    s.chats.set_primary_candidate(chat.chat_id, reply.turn_id, first.candidate_id)
    assert (
        cai_emulator.state.turn(chat.chat_id, reply.turn_id)["primary_candidate_id"]
        == first.candidate_id
    )
    assert cai_emulator.log.ws("update_primary_candidate")[-1]["request_id"]

    edited = s.chats.edit(chat.chat_id, reply.turn_id, first.candidate_id, "Edited words.")
    assert edited.candidate(first.candidate_id).text == "Edited words."

    assert s.chats.pin(chat.chat_id, reply.turn_id).is_pinned
    assert [t.turn_id for t in s.chats.pinned(chat.chat_id)] == [reply.turn_id]
    assert not s.chats.unpin(chat.chat_id, reply.turn_id).is_pinned
    assert s.chats.pinned(chat.chat_id) == []


def test_errors_from_the_socket(s: caiclient.Session, cid: str) -> None:
    chat, _ = s.chats.create(cid)
    # Unknown turns and chats are NotFound (issue 10), like over HTTP.
    with pytest.raises(errors.NotFound):
        s.chats.edit(chat.chat_id, str(uuid.uuid4()), str(uuid.uuid4()), "nope")
    with pytest.raises(errors.NotFound):
        s.chats.send(cid, str(uuid.uuid4()), "a chat that does not exist")


def test_validation_before_sending(s: caiclient.Session, cai_emulator: Any, cid: str) -> None:
    before = len(cai_emulator.log.ws())
    for call in (
        lambda: s.chats.send(cid, "chat", ""),
        lambda: s.chats.send(cid, "chat", "x" * 32001),
        lambda: s.chats.send("", "chat", "hi"),
        lambda: s.chats.send(cid, "chat", 42),
        lambda: s.chats.stream(cid, " chat", "hi"),
        lambda: s.chats.edit("c", "t", "", "hi"),
        lambda: s.chats.create(cid, model_type=""),
    ):
        with pytest.raises(errors.ValidationError):
            call()
    assert len(cai_emulator.log.ws()) == before


def test_content_filters(s: caiclient.Session, cai_emulator: Any, cid: str) -> None:
    chat, _ = s.chats.create(cid)
    n = len(_history(cai_emulator, chat.chat_id))
    cai_emulator.faults.filter_next("input")
    with pytest.raises(errors.ContentFiltered) as info:
        s.chats.send(cid, chat.chat_id, "something the filter dislikes")
    assert info.value.kind == "filter_user_input_self_harm"
    assert len(_history(cai_emulator, chat.chat_id)) == n
    cai_emulator.faults.filter_next("output")
    reply = s.chats.send(cid, chat.chat_id, "tell me")
    assert reply.is_filtered and reply.is_final
    # the session still works afterwards
    assert s.chats.send(cid, chat.chat_id, "ok?").text


def test_bad_token_is_refused_at_the_handshake(cai_emulator: Any, cid: str) -> None:
    endpoints = caiclient.Endpoints.for_emulator(cai_emulator.url)
    with caiclient.Session(cai_emulator.token, endpoints=endpoints) as good:
        account_id = good.account_id
    with caiclient.Session("X" * 40, endpoints=endpoints) as bad:
        bad._account_id = account_id  # skip the HTTP lookup: test the socket itself
        with pytest.raises(errors.AuthenticationError):
            bad.chats.create(cid)


def test_abandoned_stream_does_not_leak_into_the_next_call(cai_emulator: Any, cid: str) -> None:
    endpoints = caiclient.Endpoints.for_emulator(cai_emulator.url)
    with caiclient.Session(cai_emulator.token, endpoints=endpoints, timeout=(5, 5)) as s:
        chat, _ = s.chats.create(cid)
        cai_emulator.faults.latency(0.02)
        with s.chats.stream(cid, chat.chat_id, "first question") as first:
            assert "first question" in next(iter(first)).text or True
        # leave the ``with``: abandoned; its remaining frames arrive while the next call runs
        second = s.chats.send(cid, chat.chat_id, "second question")
        cai_emulator.faults.latency(0)
        assert "second question" in second.text and "first question" not in second.text
        deadline = time.monotonic() + 5
        while s.ws.discarded_frames == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert s.ws.discarded_frames > 0
        assert s.ws.in_flight() == 0
        assert s.ws.connections_opened == 1


def test_many_threads_one_session_no_cross_talk(
    s: caiclient.Session, cai_emulator: Any, cid: str
) -> None:
    chats = [s.chats.create(cid, greeting=False)[0].chat_id for _ in range(4)]
    results: Dict[int, str] = {}
    failures: List[BaseException] = []

    def worker(i: int) -> None:
        try:
            for round_ in range(3):
                text = f"thread {i} round {round_} marker-{i}-{round_}"
                reply = s.chats.send(cid, chats[i % 4], text)
                assert f"marker-{i}-{round_}" in reply.text, (text, reply.text)
                results[i * 10 + round_] = reply.turn_id
        except BaseException as exc:  # collected and re-raised in the main thread
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures, failures[0]
    assert len(results) == 48 and len(set(results.values())) == 48
    assert s.ws.connections_opened == 1
    for chat_id in chats:
        texts = _texts(cai_emulator, chat_id)
        user = [t for t in texts if t.startswith("thread ")]
        assert len(user) == len(set(user)) == 12  # every message exactly once


def test_conversation_handle(s: caiclient.Session, cid: str) -> None:
    conv = s.chats.conversation(cid)
    assert conv.greeting is None
    reply = conv.send("hi there")
    assert conv.greeting is not None and reply.text
    again = conv.regenerate()
    assert again.turn_id == reply.turn_id
    history = list(conv.history())
    assert [t.author_is_human for t in history][:2] == [False, True]
    assert "hi there" in [t.text for t in history]


def test_close_stops_the_reader_thread(cai_emulator: Any, cid: str) -> None:
    endpoints = caiclient.Endpoints.for_emulator(cai_emulator.url)
    s = caiclient.Session(cai_emulator.token, endpoints=endpoints)
    s.chats.create(cid, greeting=False)
    readers = list(s.ws.threads())
    assert len(readers) == 1
    s.close()
    readers[0].join(timeout=5)
    assert not readers[0].is_alive()


# ---------------------------------------------------------------- faults


@pytest.mark.parametrize("frames", [0, 1, 2, 3, 5])
def test_drop_mid_reply_recovers_exactly_once(
    s: caiclient.Session, cai_emulator: Any, cid: str, frames: int
) -> None:
    chat, _ = s.chats.create(cid)
    cai_emulator.faults.drop_socket_after(frames)
    reply = s.chats.send(cid, chat.chat_id, f"drop after {frames}")
    assert reply.is_final and f"drop after {frames}" in reply.text
    texts = _texts(cai_emulator, chat.chat_id)
    assert texts.count(f"drop after {frames}") == 1
    assert texts[-1] == reply.text
    assert len(cai_emulator.log.ws("create_and_generate_turn")) == 1  # never resent
    # and the next message goes through a new connection
    assert s.chats.send(cid, chat.chat_id, "after the drop").text
    assert s.ws.connections_opened == 2


def test_drop_before_the_service_got_it_resends_once(
    s: caiclient.Session, cai_emulator: Any, cid: str
) -> None:
    chat, _ = s.chats.create(cid)
    cai_emulator.faults.drop_on_receive(1)
    reply = s.chats.send(cid, chat.chat_id, "lost on the way")
    assert "lost on the way" in reply.text
    assert _texts(cai_emulator, chat.chat_id).count("lost on the way") == 1
    sent = cai_emulator.log.ws("create_and_generate_turn")
    assert len(sent) == 2
    assert sent[0]["payload"]["turn"]["turn_key"] == sent[1]["payload"]["turn"]["turn_key"]


def test_streaming_drop_finishes_with_the_recovered_reply(
    s: caiclient.Session, cai_emulator: Any, cid: str
) -> None:
    chat, _ = s.chats.create(cid)
    cai_emulator.faults.drop_socket_after(3)
    snaps = list(s.chats.stream(cid, chat.chat_id, "stream then drop"))
    assert snaps[-1].is_final and "stream then drop" in snaps[-1].text
    assert _texts(cai_emulator, chat.chat_id).count("stream then drop") == 1


def test_socket_that_keeps_dropping_gives_connection_lost(
    cai_emulator: Any, cid: str
) -> None:
    endpoints = caiclient.Endpoints.for_emulator(cai_emulator.url)
    # Resends are limited by the reply deadline (issue 10), not by a count.
    with caiclient.Session(
        cai_emulator.token, endpoints=endpoints, timeout=(5, 5), reply_timeout=6.0
    ) as s:
        chat, _ = s.chats.create(cid)
        cai_emulator.faults.drop_on_receive(1000)
        with pytest.raises(errors.ConnectionLost) as info:
            s.chats.send(cid, chat.chat_id, "never arrives")
        cai_emulator.faults.clear()
    assert info.value.message_delivered is False
    assert "deadline" in str(info.value)
    assert info.value.user_turn_id and UUID4.match(info.value.user_turn_id)
    assert "never arrives" not in _texts(cai_emulator, chat.chat_id)
    sent = cai_emulator.log.ws("create_and_generate_turn")
    assert len(sent) > 3  # more than the first try + 2 resends of old
    assert len({json.dumps(m["payload"]["turn"]["turn_key"]) for m in sent}) == 1


def test_resends_go_on_while_the_deadline_allows(
    s: caiclient.Session, cai_emulator: Any, cid: str
) -> None:
    chat, _ = s.chats.create(cid)
    cai_emulator.faults.drop_on_receive(5)  # the old count (2 resends) gave up here
    reply = s.chats.send(cid, chat.chat_id, "patience")
    assert "patience" in reply.text
    assert _texts(cai_emulator, chat.chat_id).count("patience") == 1
    assert len(cai_emulator.log.ws("create_and_generate_turn")) == 6


def test_drop_during_create_chat(s: caiclient.Session, cai_emulator: Any, cid: str) -> None:
    cai_emulator.faults.drop_socket_after(1)
    chat, greeting = s.chats.create(cid)
    assert greeting is not None and greeting.is_final
    assert cai_emulator.state.chat(chat.chat_id) is not None
    assert len(_history(cai_emulator, chat.chat_id)) == 1
    cai_emulator.faults.drop_on_receive(1)
    chat2, _ = s.chats.create(cid, greeting=False)
    assert cai_emulator.state.chat(chat2.chat_id) is not None


@pytest.mark.parametrize("retry", ["pin", "primary"])
def test_idempotent_commands_are_retried_after_a_drop(
    s: caiclient.Session, cai_emulator: Any, cid: str, retry: str
) -> None:
    chat, _ = s.chats.create(cid)
    reply = s.chats.send(cid, chat.chat_id, "hi")
    cai_emulator.faults.drop_on_receive(1)
    if retry == "pin":
        assert s.chats.pin(chat.chat_id, reply.turn_id).is_pinned
    else:
        s.chats.set_primary_candidate(chat.chat_id, reply.turn_id, reply.candidates[0].candidate_id)


def test_edit_after_a_drop_is_checked_and_retried(
    s: caiclient.Session, cai_emulator: Any, cid: str
) -> None:
    chat, _ = s.chats.create(cid)
    reply = s.chats.send(cid, chat.chat_id, "hi")
    cand = reply.candidates[0].candidate_id
    cai_emulator.faults.drop_on_receive(2)  # never applied: sent again, twice
    edited = s.chats.edit(chat.chat_id, reply.turn_id, cand, "x")
    assert edited.candidate(cand) is not None and edited.candidate(cand).text == "x"
    assert len(cai_emulator.log.ws("edit_turn_candidate")) == 3
    cai_emulator.faults.drop_socket_after(0)  # applied, answer lost: HTTP shows it, no resend
    assert s.chats.edit(chat.chat_id, reply.turn_id, cand, "y").text == "y"
    assert len(cai_emulator.log.ws("edit_turn_candidate")) == 4
    assert _texts(cai_emulator, chat.chat_id)[-1] == "y"


def test_latency_past_the_timeout_raises_timeout(cai_emulator: Any, cid: str) -> None:
    endpoints = caiclient.Endpoints.for_emulator(cai_emulator.url)
    with caiclient.Session(cai_emulator.token, endpoints=endpoints, timeout=(5, 0.3)) as s:
        chat, _ = s.chats.create(cid)
        cai_emulator.faults.latency(1.0)
        started = time.monotonic()
        with pytest.raises(errors.Timeout) as info:
            s.chats.send(cid, chat.chat_id, "slow")
        assert time.monotonic() - started < 1.0
        assert info.value.user_turn_id


def test_reply_deadline_bounds_the_whole_reply(cai_emulator: Any, cid: str) -> None:
    endpoints = caiclient.Endpoints.for_emulator(cai_emulator.url)
    with caiclient.Session(
        cai_emulator.token, endpoints=endpoints, timeout=(5, 5), reply_timeout=0.3
    ) as s:
        chat, _ = s.chats.create(cid)
        cai_emulator.faults.latency(0.1)
        with pytest.raises(errors.Timeout):
            s.chats.send(cid, chat.chat_id, "a long reply")
