"""Group chats (``session.rooms``), end to end against the emulator over real sockets."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any, Dict, Iterator, List

import pytest
from support import UUID4

import caiclient
from caiclient import errors
from caiclient.aio import Client
from caiclient.emulator.app import wait_until
from caiclient.models import Room, Turn


def _session(emu: Any, token: str) -> caiclient.Session:
    return caiclient.Session(
        token, endpoints=caiclient.Endpoints.for_emulator(emu.url), timeout=(5, 5)
    )


@pytest.fixture
def alice(cai_emulator: Any) -> Iterator[caiclient.Session]:
    with _session(cai_emulator, cai_emulator.token) as s:
        yield s


@pytest.fixture
def bob(cai_emulator: Any) -> Iterator[caiclient.Session]:
    with _session(cai_emulator, cai_emulator.other_token) as s:
        yield s


@pytest.fixture
def chars(cai_emulator: Any) -> List[str]:
    return [str(c) for c in cai_emulator.character_ids[:2]]


@pytest.fixture
def room(alice: caiclient.Session, chars: List[str]) -> Room:
    return alice.rooms.create("Tea party", chars)


def _stored(emu: Any, room_id: str) -> List[Dict[str, Any]]:
    """The room's turns as the emulator stores them, oldest first."""
    return list(reversed(emu.state.turns(room_id)))


def _rpcs(emu: Any, command: str) -> List[Dict[str, Any]]:
    return [
        e["command"]["rpc"]["data"]
        for e in emu.log.entries()
        if e["kind"] == "rooms_ws" and "rpc" in e["command"]
        and e["command"]["rpc"].get("data", {}).get("command") == command
    ]  # fmt: skip


class _Listen(threading.Thread):
    """Runs ``rooms.listen`` in a thread, collecting turns."""

    def __init__(self, session: caiclient.Session, room_id: str, **kw: Any) -> None:
        super().__init__(daemon=True)
        self.turns: List[Turn] = []
        self.listener = session.rooms.listen(room_id, **kw)

    def run(self) -> None:
        for turn in self.listener:
            self.turns.append(turn)


# ------------------------------------------------------------------ REST


def test_create_list_get_and_the_wire(
    alice: caiclient.Session, cai_emulator: Any, chars: List[str]
) -> None:
    room = alice.rooms.create("Tea party", chars)
    assert room.title == "Tea party" and room.character_ids == chars
    assert UUID4.match(room.room_id) and room.join_token
    assert [m.username for m in room.members] == ["alice"] and room.members[0].role == "owner"
    sent = cai_emulator.log.http("/neo/muroom/create")[0]["json"]
    assert sent == {
        "characters": chars,
        "title": "Tea party",
        "settings": {"anyone_can_join": True, "require_approval": False},
        "visibility": "VISIBILITY_UNLISTED",
        "with_greeting": True,
    }
    greetings = list(alice.rooms.turns(room.room_id))
    assert sorted(t.author_id for t in greetings) == sorted(chars)
    assert all(t.is_final and not t.author_is_human for t in greetings)
    assert [r.room_id for r in alice.rooms.list()] == [room.room_id]
    assert cai_emulator.log.http("/neo/murooms/")[0]["query"] == {"include_turns": ["false"]}
    assert alice.rooms.get(room.room_id).title == "Tea party"
    quiet = alice.rooms.create("Quiet", chars[:1], greeting=False)
    assert list(alice.rooms.turns(quiet.room_id)) == []


def test_rename_and_characters(
    alice: caiclient.Session, cai_emulator: Any, room: Room, chars: List[str]
) -> None:
    alice.rooms.rename(room.room_id, "Mad tea party")
    third = str(cai_emulator.character_ids[2])
    alice.rooms.add_character(room.room_id, third)
    assert alice.rooms.get(room.room_id).character_ids == [*chars, third]
    alice.rooms.remove_character(room.room_id, chars[0])
    got = alice.rooms.get(room.room_id)
    assert got.title == "Mad tea party" and got.character_ids == [chars[1], third]
    patches = [e["json"] for e in cai_emulator.log.http(f"/neo/muroom/{room.room_id}/")]
    base = f"/muroom/{room.room_id}"
    assert patches == [
        [{"op": "replace", "path": base, "value": {"title": "Mad tea party"}}],
        [{"op": "add", "path": base + "/characters", "value": {"id": third}}],
        [{"op": "remove", "path": base + "/characters", "value": {"id": chars[0]}}],
    ]
    with pytest.raises(errors.NotFound):
        alice.rooms.add_character(room.room_id, "no-such-character")


def test_rooms_are_private_to_members(
    alice: caiclient.Session, bob: caiclient.Session, room: Room
) -> None:
    assert bob.rooms.list() == []
    with pytest.raises(errors.NotFound):
        bob.rooms.get(room.room_id)
    with pytest.raises(errors.NotFound):
        list(bob.rooms.turns(room.room_id))
    with pytest.raises(errors.NotFound):
        bob.rooms.rename(room.room_id, "mine now")
    with pytest.raises(errors.NotFound):
        bob.rooms.delete(room.room_id)
    with pytest.raises(errors.PermissionDenied):
        bob.rooms.send(room.room_id, "let me in")
    with pytest.raises(errors.PermissionDenied):
        bob.rooms.listen(room.room_id, timeout=1)
    with pytest.raises(errors.NotFound):
        bob.rooms.join("not-a-code")
    joined = bob.rooms.join(str(room.join_token))
    assert sorted(m.username for m in joined.members) == ["alice", "bob"]
    assert len(list(bob.rooms.turns(room.room_id))) == 2
    with pytest.raises(errors.PermissionDenied):
        bob.rooms.delete(room.room_id)  # members may not delete the owner's room
    bob.rooms.leave(room.room_id)
    assert [m.username for m in alice.rooms.get(room.room_id).members] == ["alice"]
    with pytest.raises(errors.NotFound):
        list(bob.rooms.turns(room.room_id))
    alice.rooms.delete(room.room_id)
    assert alice.rooms.list() == []


def test_bad_input_and_guests_fail_before_sending(
    cai_emulator: Any, alice: caiclient.Session
) -> None:
    before = len(cai_emulator.log)
    with pytest.raises(errors.ValidationError):
        alice.rooms.create("", ["x"])
    with pytest.raises(errors.ValidationError):
        alice.rooms.create("t", "a-lone-string-id")
    with pytest.raises(errors.ValidationError):
        alice.rooms.send("room", "")
    with pytest.raises(errors.ValidationError):
        alice.rooms.reply(" room", None)
    with pytest.raises(errors.ValidationError):
        alice.rooms.listen("room", timeout=0)
    with pytest.raises(errors.ValidationError):
        alice.rooms.rename("../x", "y" * 101)
    assert len(cai_emulator.log) == before
    with _session(cai_emulator, None) as guest:  # type: ignore[arg-type]
        with pytest.raises(errors.AuthRequiredError):
            guest.rooms.list()
        with pytest.raises(errors.AuthRequiredError):
            guest.rooms.send("room", "hi")
    assert len(cai_emulator.log) == before


# ------------------------------------------------------------------ talking


def test_send_and_streamed_replies(
    alice: caiclient.Session, cai_emulator: Any, room: Room, chars: List[str]
) -> None:
    mine = alice.rooms.send(room.room_id, "Hello, everyone!")
    assert mine.author_is_human and mine.text == "Hello, everyone!" and mine.is_final
    assert UUID4.match(mine.turn_id)
    with alice.rooms.stream_reply(room.room_id, chars[1]) as stream:
        snaps = list(stream)
    assert len(snaps) >= 3 and snaps[-1].is_final and not any(s.is_final for s in snaps[:-1])
    assert all(snaps[i + 1].text.startswith(snaps[i].text) for i in range(len(snaps) - 1))
    assert {s.author_id for s in snaps} == {chars[1]} and {s.turn_id for s in snaps} == {
        snaps[0].turn_id
    }
    assert 'You say: "Hello, everyone!"' in snaps[-1].text
    stored = _stored(cai_emulator, room.room_id)
    assert [t["turn_key"]["turn_id"] for t in stored[-2:]] == [mine.turn_id, snaps[-1].turn_id]
    created = _rpcs(cai_emulator, "create_turn")[0]
    assert created["payload"]["chat_type"] == "TYPE_MU_ROOM"
    turn = created["payload"]["turn"]
    assert turn["turn_key"] == {"turn_id": mine.turn_id, "chat_id": room.room_id}
    assert turn["candidates"][0]["candidate_id"] == mine.turn_id == turn["primary_candidate_id"]
    assert turn["author"] == {"author_id": alice.account_id, "is_human": True, "name": "alice"}
    assert created["request_id"].endswith(room.room_id.split("-")[4])
    generated = _rpcs(cai_emulator, "generate_turn")[0]["payload"]
    assert generated == {
        "chat_type": "TYPE_MU_ROOM",
        "character_id": chars[1],
        "chat_id": room.room_id,
    }
    rpc = [e["command"] for e in cai_emulator.log.entries() if e["kind"] == "rooms_ws"]
    assert rpc[0]["connect"] == {"name": "js"}
    assert {"subscribe": {"channel": f"room:{room.room_id}"}}.items() <= rpc[1].items()


def test_smart_reply_lets_the_named_characters_answer_in_turn(
    alice: caiclient.Session, bob: caiclient.Session, cai_emulator: Any, room: Room
) -> None:
    names = [c.name for c in room.characters]
    bob.rooms.join(str(room.join_token))
    heard = _Listen(bob, room.room_id, timeout=10)
    heard.start()
    alice.rooms.send(room.room_id, f"{names[1]} and {names[0]}, what do you think?")
    first = alice.rooms.reply(room.room_id)  # smart reply: both are named, in the room's order
    assert first.author_name == names[0] and first.is_final
    assert wait_until(lambda: len(heard.turns) >= 3, timeout=10)
    heard.listener.close()
    heard.join(5)
    assert [t.author_name for t in heard.turns] == ["alice", *names]
    assert all(t.is_final for t in heard.turns)
    smart = _rpcs(cai_emulator, "generate_turn")[0]["payload"]
    assert smart["smart_reply"] == "CHARACTERS" and smart["user_name"] == "alice"
    # Nobody named: the character quiet longest answers.
    alice.rooms.send(room.room_id, "Anyone?")
    assert alice.rooms.reply(room.room_id).author_name == names[0]


def test_two_accounts_see_each_others_turns_live(
    alice: caiclient.Session, bob: caiclient.Session, room: Room, chars: List[str]
) -> None:
    bob.rooms.join(str(room.join_token))
    at_bob = _Listen(bob, room.room_id, timeout=10)
    at_alice = _Listen(alice, room.room_id, timeout=10, partial=True)
    at_bob.start()
    at_alice.start()
    alice.rooms.send(room.room_id, "Hi Bob")
    bob.rooms.send(room.room_id, "Hi Alice")
    answer = bob.rooms.reply(room.room_id, chars[0])
    assert wait_until(
        lambda: len(at_bob.turns) >= 2 and any(t.is_final for t in at_alice.turns[1:]), timeout=10
    )
    for listen in (at_bob, at_alice):
        listen.listener.close()
        listen.join(5)
    assert [(t.author_name, t.text) for t in at_bob.turns] == [
        ("alice", "Hi Bob"), (answer.author_name, answer.text),
    ]  # fmt: skip
    # Alice's own message is left out; she sees Bob's and the answer grow (partial=True).
    assert at_alice.turns[0].text == "Hi Alice"
    growing = [t for t in at_alice.turns if t.turn_id == answer.turn_id]
    assert len(growing) >= 3 and growing[-1].text == answer.text and not growing[0].is_final


def test_listen_ends_after_its_timeout_and_on_close(alice: caiclient.Session, room: Room) -> None:
    t0 = time.monotonic()
    assert list(alice.rooms.listen(room.room_id, timeout=0.3)) == []
    assert time.monotonic() - t0 < 5
    heard = _Listen(alice, room.room_id, timeout=60)
    heard.start()
    heard.listener.close()
    heard.join(5)
    assert not heard.is_alive()


def test_keepalive_is_answered(cai_emulator: Any, alice: caiclient.Session, room: Room) -> None:
    cai_emulator.ctx.room_ping_interval = 0.05
    alice.room_ws.disconnect()  # the next use opens a socket that gets the fast pings
    alice.rooms.send(room.room_id, "ping?")
    pongs = lambda: [  # noqa: E731
        e for e in cai_emulator.log.entries() if e["kind"] == "rooms_ws" and e["command"] == {}
    ]
    assert wait_until(lambda: len(pongs()) >= 3, timeout=10)
    assert alice.room_ws.pings_answered >= 3


def test_errors_are_typed(alice: caiclient.Session, room: Room, cai_emulator: Any) -> None:
    with pytest.raises(errors.NotFound, match="not in the room"):
        alice.rooms.reply(room.room_id, str(cai_emulator.character_ids[2]))
    cai_emulator.faults.filter_next("input")
    with pytest.raises(errors.ContentFiltered):
        alice.rooms.send(room.room_id, "something bad")
    assert [t["author"]["is_human"] for t in _stored(cai_emulator, room.room_id)] == [False, False]


# ------------------------------------------------------------------ drops


@pytest.mark.parametrize("frames", [0, 1])
def test_a_send_survives_a_drop_exactly_once(
    alice: caiclient.Session, cai_emulator: Any, room: Room, frames: int
) -> None:
    alice.rooms.list()
    cai_emulator.faults.drop_socket_after(frames)
    turn = alice.rooms.send(room.room_id, "Still there?")
    humans = [t for t in _stored(cai_emulator, room.room_id) if t["author"]["is_human"]]
    assert [t["turn_key"]["turn_id"] for t in humans] == [turn.turn_id]
    assert len(_rpcs(cai_emulator, "create_turn")) == 1  # the service had it: not sent again


def test_a_send_the_service_never_got_is_sent_again_once(
    alice: caiclient.Session, cai_emulator: Any, room: Room
) -> None:
    alice.rooms.send(room.room_id, "warm up")  # the socket is open
    cai_emulator.faults.drop_on_receive()
    turn = alice.rooms.send(room.room_id, "Did you get this?")
    humans = [t for t in _stored(cai_emulator, room.room_id) if t["author"]["is_human"]]
    assert [t["candidates"][0]["raw_content"] for t in humans] == ["warm up", "Did you get this?"]
    assert humans[-1]["turn_key"]["turn_id"] == turn.turn_id
    sent = [d["payload"]["turn"]["turn_key"]["turn_id"] for d in _rpcs(cai_emulator, "create_turn")]
    assert sent[1:] == [turn.turn_id, turn.turn_id]  # dropped unprocessed, then once more


@pytest.mark.parametrize("frames", [2, 4])
def test_a_reply_survives_a_drop_mid_stream(
    alice: caiclient.Session, cai_emulator: Any, room: Room, chars: List[str], frames: int
) -> None:
    alice.rooms.send(room.room_id, "Tell me a story")
    cai_emulator.faults.drop_socket_after(frames)
    answer = alice.rooms.reply(room.room_id, chars[0])
    stored = _stored(cai_emulator, room.room_id)[-1]
    assert stored["turn_key"]["turn_id"] == answer.turn_id and answer.is_final
    assert stored["candidates"][0]["raw_content"] == answer.text
    assert len([t for t in _stored(cai_emulator, room.room_id) if not t["author"]["is_human"]]) == 3
    assert len(_rpcs(cai_emulator, "generate_turn")) == 1
    assert alice.rooms.send(room.room_id, "and then?").text == "and then?"  # reconnected


def test_a_listener_resubscribes_after_a_drop_and_misses_nothing(
    alice: caiclient.Session, bob: caiclient.Session, cai_emulator: Any, room: Room
) -> None:
    bob.rooms.join(str(room.join_token))
    heard = _Listen(bob, room.room_id, timeout=10)
    heard.start()
    alice.rooms.send(room.room_id, "one")
    assert wait_until(lambda: len(heard.turns) == 1, timeout=10)
    opened = bob.room_ws.connections_opened
    bob.room_ws.disconnect()
    alice.rooms.send(room.room_id, "two")  # may land while Bob is away: caught up over HTTP
    assert wait_until(lambda: bob.room_ws.connections_opened > opened, timeout=10)
    alice.rooms.send(room.room_id, "three")
    assert wait_until(lambda: len(heard.turns) >= 3, timeout=10)
    heard.listener.close()
    heard.join(5)
    assert [t.text for t in heard.turns] == ["one", "two", "three"]
    subs = [
        e["command"] for e in cai_emulator.log.entries()
        if e["kind"] == "rooms_ws" and "subscribe" in e["command"]
        and e["command"]["subscribe"]["channel"] == f"room:{room.room_id}"
    ]  # fmt: skip
    assert len(subs) >= 3  # alice once; bob before and after the drop


def test_closing_the_session_ends_listeners_and_threads(
    cai_emulator: Any, chars: List[str]
) -> None:
    s = _session(cai_emulator, cai_emulator.token)
    room = s.rooms.create("Short-lived", chars)
    heard = _Listen(s, room.room_id, timeout=60)
    heard.start()
    transport = s.room_ws
    assert list(transport.threads())
    s.close()
    heard.join(5)
    assert not heard.is_alive() and not list(transport.threads())


# ------------------------------------------------------------------ asyncio


def test_the_async_face(cai_emulator: Any, chars: List[str]) -> None:
    async def main() -> None:
        ep = caiclient.Endpoints.for_emulator(cai_emulator.url)
        async with (
            Client(cai_emulator.token, endpoints=ep, timeout=(5, 5)) as a,
            Client(cai_emulator.other_token, endpoints=ep, timeout=(5, 5)) as b,
        ):
            room = await a.rooms.create("Async tea", chars)
            await b.rooms.join(str(room.join_token))
            heard: List[Turn] = []

            async def collect(turns: Any) -> None:
                async for turn in turns:
                    heard.append(turn)

            # Entering the listener subscribes: nothing said after this line is missed.
            async with b.rooms.listen(room.room_id, timeout=10) as listener:
                assert f"room:{room.room_id}" in list(b.session.room_ws.channels())
                task = asyncio.ensure_future(collect(listener))
                await a.rooms.send(room.room_id, "Hello from asyncio")
                pieces = []
                async with a.rooms.stream_reply(room.room_id, chars[0]) as reply:
                    async for piece in reply.text_deltas():
                        pieces.append(piece)
                final = reply.turn
                assert final is not None and final.is_final and "".join(pieces) == final.text
                again = await a.rooms.reply(room.room_id, chars[1])
                assert again.author_id == chars[1]
                for _ in range(200):
                    if len(heard) >= 3:
                        break
                    await asyncio.sleep(0.05)
                t0 = time.monotonic()
                assert not task.done(), task
                task.cancel()  # cancelling a waiting listener closes it at once
                with pytest.raises(asyncio.CancelledError):
                    await task
                assert time.monotonic() - t0 < 3
            assert [t.text for t in heard[:3]] == ["Hello from asyncio", final.text, again.text]
            assert len([t async for t in a.rooms.turns(room.room_id)]) == 5

    asyncio.run(main())


def test_edit_and_regenerate_in_a_room(
    alice: caiclient.Session,
    bob: caiclient.Session,
    cai_emulator: Any,
    room: Room,
    chars: List[str],
) -> None:
    bob.rooms.join(str(room.join_token))
    alice.rooms.send(room.room_id, "Tell us a riddle")
    answer = alice.rooms.reply(room.room_id, chars[0])
    again = alice.rooms.regenerate(room.room_id, answer.turn_id, chars[0])
    assert again.turn_id == answer.turn_id and again.text != answer.text and again.is_final
    stored = cai_emulator.state.turn(room.room_id, answer.turn_id)
    assert (
        len(stored["candidates"]) == 2
        and stored["primary_candidate_id"] == again.primary_candidate_id
    )
    cand = again.primary_candidate
    assert cand is not None
    edited = bob.rooms.edit(room.room_id, answer.turn_id, cand.candidate_id, "A shorter riddle.")
    assert edited.text == "A shorter riddle." and edited.turn_id == answer.turn_id
    assert alice.rooms.page(room.room_id).turns[0].text == "A shorter riddle."
    with pytest.raises(errors.NotFound, match="candidate not found"):
        alice.rooms.edit(room.room_id, answer.turn_id, "no-such-candidate", "x")


def test_delete_turns_in_a_room(
    alice: caiclient.Session, bob: caiclient.Session, cai_emulator: Any, room: Room
) -> None:
    mine = alice.rooms.send(room.room_id, "oops")
    with pytest.raises(errors.NotFound):
        bob.rooms.delete_turns(room.room_id, [mine.turn_id])
    alice.rooms.delete_turns(room.room_id, [mine.turn_id])
    assert mine.turn_id not in [
        t["turn_key"]["turn_id"] for t in _stored(cai_emulator, room.room_id)
    ]
    with pytest.raises(errors.ValidationError):
        alice.rooms.delete_turns(room.room_id, mine.turn_id)  # a lone string


def test_a_member_who_left_hears_nothing_more(
    alice: caiclient.Session,
    bob: caiclient.Session,
    cai_emulator: Any,
    room: Room,
    chars: List[str],
) -> None:
    import websocket

    bob.rooms.join(str(room.join_token))
    raw = websocket.create_connection(  # Bob's own socket stays subscribed after he leaves
        cai_emulator.url.replace("http", "ws", 1) + "/neo/connection/websocket",
        cookie=f"HTTP_AUTHORIZATION=Token {cai_emulator.other_token}",
        timeout=10,
    )
    try:

        def until_reply(cid: int) -> List[str]:
            texts = []
            while True:
                frame = json.loads(raw.recv())
                if frame.get("id") == cid:
                    return texts
                turn = ((frame.get("push") or {}).get("pub") or {}).get("data", {}).get("turn")
                if turn:
                    texts.append(turn["candidates"][0]["raw_content"])

        raw.send(json.dumps({"id": 1, "connect": {}}))
        until_reply(1)
        raw.send(json.dumps({"id": 2, "subscribe": {"channel": f"room:{room.room_id}"}}))
        until_reply(2)
        alice.rooms.send(room.room_id, "before")
        bob.rooms.leave(room.room_id)
        alice.rooms.send(room.room_id, "after")
        alice.rooms.send(room.room_id, "and after")  # the room's commands run in order
        raw.send(
            json.dumps({"id": 3, "subscribe": {"channel": f"user#{cai_emulator.other_user_id}"}})
        )
        assert until_reply(3) == ["before"]
    finally:
        raw.close()
    for c in chars:
        alice.rooms.remove_character(room.room_id, c)
    with pytest.raises(errors.GenerationError, match="no characters"):
        alice.rooms.reply(room.room_id)


def test_many_threads_share_one_room_socket(
    alice: caiclient.Session, cai_emulator: Any, room: Room, chars: List[str]
) -> None:
    texts = [f"message {t}-{i}" for t in range(6) for i in range(3)]
    answers: List[Turn] = []
    failures: List[BaseException] = []

    def worker(t: int) -> None:
        try:
            for i in range(3):
                alice.rooms.send(room.room_id, f"message {t}-{i}")
            answers.append(alice.rooms.reply(room.room_id, chars[t % 2]))
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert not failures and len(answers) == 6
    stored = _stored(cai_emulator, room.room_id)
    humans = sorted(t["candidates"][0]["raw_content"] for t in stored if t["author"]["is_human"])
    assert humans == sorted(texts)  # each exactly once
    assert all(a.is_final for a in answers) and len({a.turn_id for a in answers}) == 6
    assert alice.room_ws.connections_opened == 1


def test_a_reply_lost_before_it_started_is_a_typed_error(
    alice: caiclient.Session, cai_emulator: Any, room: Room, chars: List[str]
) -> None:
    alice.rooms.send(room.room_id, "Anyone?")
    cai_emulator.faults.drop_on_receive()  # the service never gets the request
    with pytest.raises(errors.ConnectionLost) as info:
        alice.rooms.reply(room.room_id, chars[0])
    assert info.value.message_delivered is None and info.value.partial is None
    assert [t["author"]["is_human"] for t in _stored(cai_emulator, room.room_id)][-1] is True
    assert alice.rooms.reply(room.room_id, chars[0]).is_final  # the next one reconnects


def test_the_room_socket_handshake_is_the_chat_sockets(
    alice: caiclient.Session, cai_emulator: Any, room: Room
) -> None:
    alice.rooms.send(room.room_id, "hi")
    alice.chats.create(str(cai_emulator.character_ids[0]), greeting=False)
    shakes = {
        e["path"]: e["headers"] for e in cai_emulator.log.entries() if e["kind"] == "ws_connect"
    }
    chat, group = shakes["/neo/ws/"], shakes["/neo/connection/websocket"]
    for name in ("cookie", "user-agent", "origin"):
        assert group.get(name) == chat.get(name), name
    assert "HTTP_AUTHORIZATION" in group["cookie"]
