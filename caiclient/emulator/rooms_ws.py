"""The group-chat socket ``/neo/connection/websocket`` (cainode.md 3, 5.3-5.6).

Centrifugo-style JSON: ``connect``, ``subscribe`` / ``unsubscribe`` (channels
``room:<id>`` for members, ``user#<own id>``), ``rpc`` carrying a neo command
in ``data``; every reply echoes the command's ``id`` (CAINode sends ``1``
every time: replies go out in request order, one JSON object per frame).
Turns go to every connection subscribed to the room as publication pushes
``{"push": {"channel", "pub": {"data": {"turn", "chat_info", "command",
"request_id"}, "offset"}}}``. The server sends ``{}`` every
``ctx.room_ping_interval`` seconds; clients answer ``{}``.

Faults: ``faults.drop_on_receive()`` closes the socket when an ``rpc``
arrives (nothing done); ``faults.drop_socket_after(n)`` closes the socket of
the connection that sent the ``rpc`` after ``n`` frames of that command
reached it (the rpc reply and pushes); the work still completes and is
stored, and the other members keep getting their pushes.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import logging
import re
import traceback
from typing import Any, Dict, List, Optional, Set

from aiohttp import WSMsgType, web

from caiclient.emulator.app import CTX, Ctx
from caiclient.emulator.brains import chunks
from caiclient.emulator.chats import history_before, new_turn, primary_text
from caiclient.emulator.rooms import CHAT_TYPE, member_room
from caiclient.emulator.util import dumps, new_id, now_ts
from caiclient.emulator.ws import Conn, FlowError, _brain_reply, parse_ws_token
from caiclient.transport.rooms import split_frames

__all__ = ["DEFAULT_PING_INTERVAL", "handler"]

logger = logging.getLogger("caiclient.emulator")

DEFAULT_PING_INTERVAL = 25.0
PERMISSION_DENIED = {"code": 103, "message": "permission denied"}


class _Hub:
    """Which connections listen to which channel, and each channel's push offset."""

    def __init__(self) -> None:
        self.channels: Dict[str, Set[RoomConn]] = {}
        self.offsets: Dict[str, itertools.count] = {}

    def offset(self, channel: str) -> int:
        return next(self.offsets.setdefault(channel, itertools.count(1)))


def hub(ctx: Ctx) -> _Hub:
    """The emulator's push hub (created on first use)."""
    h = getattr(ctx, "room_hub", None)
    if h is None:
        h = _Hub()
        ctx.room_hub = h  # type: ignore[attr-defined]
    return h


class RoomConn(Conn):
    """One connection to the room socket (the DM socket's connection, plus channels)."""

    def __init__(self, ctx: Ctx, ws: web.WebSocketResponse, user: dict, transport: Any) -> None:
        super().__init__(ctx, ws, user, transport)
        self.channels: Set[str] = set()
        self.pongs = 0

    async def send(self, obj: Any) -> bool:
        """Send one JSON object as one text frame; False once the socket is gone."""
        if self.dead or self.ws.closed:
            return False
        latency = self.ctx.faults.latency_seconds
        if latency:
            await asyncio.sleep(latency)
        async with self.send_lock:
            if self.dead or self.ws.closed:
                return False
            try:
                await self.ws.send_str(obj if isinstance(obj, str) else dumps(obj))
            except Exception:
                self.dead = True
                return False
        return True


class Rpc:
    """One rpc in progress: replies to its sender, pushes to the room, applies the fault."""

    def __init__(self, conn: RoomConn, cid: Any, data: dict, budget: Optional[int]) -> None:
        self.conn = conn
        self.cid = cid
        self.request_id = data.get("request_id")
        self.budget = budget
        self.sent = 0

    async def _to_sender(self, obj: Any) -> None:
        if self.budget is not None and self.sent >= self.budget:
            self.conn.abort()
        if await self.conn.send(obj):
            self.sent += 1
        if self.budget is not None and self.sent >= self.budget:
            self.conn.abort()

    async def reply(self, data: Optional[dict] = None, error: Optional[dict] = None) -> None:
        """The rpc's reply (``rpc.data``, or a Centrifugo ``error``)."""
        out: Dict[str, Any] = {"id": self.cid}
        if error is not None:
            out["error"] = error
        else:
            body = dict(data or {"command": "ok"})
            if self.request_id is not None:
                body.setdefault("request_id", self.request_id)
            out["rpc"] = {"data": body}
        await self._to_sender(out)

    async def push(self, room_id: str, command: str, turn: dict) -> None:
        """Publish a turn on the room's channel (to every subscribed connection)."""
        channel = f"room:{room_id}"
        data = {
            "turn": copy.deepcopy(turn),
            "chat_info": {"type": CHAT_TYPE},
            "command": command,
            "request_id": self.request_id,
        }
        frame = {
            "push": {
                "channel": channel,
                "pub": {"data": data, "offset": hub(self.conn.ctx).offset(channel)},
            }
        }
        text = dumps(frame)
        room = self.conn.ctx.state.get("room", room_id) or {"members": []}
        members = {m["id"] for m in room["members"]}  # who left no longer hears the room
        for other in list(hub(self.conn.ctx).channels.get(channel, ())):
            if str(other.user["id"]) not in members:
                continue
            if other is self.conn:
                await self._to_sender(text)
            else:
                await other.send(text)


# -- rpc commands ---------------------------------------------------------------------------


def _obj(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _room(rpc: Rpc, room_id: Any) -> dict:
    room = member_room(rpc.conn.ctx, room_id, rpc.conn.user)
    if room is None:
        raise FlowError("room not found", 404)
    return room


async def create_turn(rpc: Rpc, payload: dict) -> None:
    """``create_turn``: store the user's turn, push it to the room."""
    ctx, user = rpc.conn.ctx, rpc.conn.user
    turn_in = _obj(payload.get("turn"))
    tk = _obj(turn_in.get("turn_key"))
    room = _room(rpc, tk.get("chat_id") or payload.get("chat_id"))
    room_id = room["id"]
    turn_id = tk.get("turn_id") or new_id()  # CAINode may send "" (cainode.md 4.1)
    if not isinstance(turn_id, str):
        raise FlowError("invalid turn_id")
    if ctx.state.get_turn(room_id, turn_id) is not None:
        ctx.event("turn already exists", chat_id=room_id, turn_id=turn_id)
        raise FlowError("turn already exists", 409)
    cands = turn_in.get("candidates") if isinstance(turn_in.get("candidates"), list) else []
    c0 = cands[0] if cands and isinstance(cands[0], dict) else {}
    text = c0.get("raw_content")
    if not isinstance(text, str) or not text.strip():
        raise FlowError("message is empty")
    if len(text) > 32000:
        raise FlowError("message is too long")
    if ctx.faults.take_filter() == "input":
        await rpc.reply(
            {"command": "filter_user_input_self_harm", "comment": "Self harm message detected"}
        )
        return
    cand = {"candidate_id": c0.get("candidate_id") or turn_id, "create_time": now_ts(),
            "raw_content": text, "is_final": True}  # fmt: skip
    if c0.get("tti_image_rel_path"):
        cand["tti_image_rel_path"] = c0["tti_image_rel_path"]
    given = _obj(turn_in.get("author"))
    author = {"author_id": str(user["id"]), "name": given.get("name") or user.get("username", ""),
              "is_human": True}  # fmt: skip
    turn = new_turn(room_id, turn_id, author, cand)
    if turn_in.get("context_reset"):
        turn["context_reset"] = True
    ctx.state.add_turn(room_id, turn)
    await rpc.reply()
    await rpc.push(room_id, "add_turn", turn)


def _last_human_text(ctx: Ctx, room_id: str) -> str:
    for _, t in ctx.state.turns_page(room_id, limit=40):
        if (t.get("author") or {}).get("is_human"):
            return "" if t.get("context_reset") else primary_text(t)
    return ""


def _smart_pick(ctx: Ctx, room: dict) -> List[str]:
    """Who answers a smart reply: the characters the last message names (in the room's
    order), else the one that has been quiet longest."""
    text = _last_human_text(ctx, room["id"]).lower()
    named = []
    for cid in room["characters"]:
        name = ((ctx.state.get("character", cid) or {}).get("name") or "").lower()
        first = name.split()[0] if name.split() else ""
        if first and re.search(r"\b" + re.escape(first) + r"\b", text):
            named.append(cid)
    if named:
        return named
    last_spoke: Dict[str, int] = {cid: -1 for cid in room["characters"]}
    for seq, t in ctx.state.turns_page(room["id"], limit=200):
        aid = (t.get("author") or {}).get("author_id")
        if aid in last_spoke and last_spoke[aid] < 0:
            last_spoke[aid] = seq
    return [min(room["characters"], key=lambda c: last_spoke[c])] if room["characters"] else []


async def _answer(rpc: Rpc, room: dict, cid: str, turn: Optional[dict] = None) -> None:
    """One character writes (a new turn, or a new candidate of ``turn``), streamed."""
    ctx = rpc.conn.ctx
    char = ctx.state.get("character", cid)
    if char is None:
        raise FlowError("character not found", 404)
    room_id = room["id"]
    history = history_before(ctx, room_id)
    variant = len(turn["candidates"]) if turn is not None else 0
    text = await _brain_reply(ctx, char, history, _last_human_text(ctx, room_id), variant)
    cand_id = new_id()
    if turn is None:
        author = {"author_id": cid, "name": char.get("name", ""), "is_human": False}
        turn = new_turn(room_id, new_id(), author, {"candidate_id": cand_id, "raw_content": ""})
        ctx.state.add_turn(room_id, turn)
        keep: list = []
        first = "add_turn"
    else:
        keep = list(turn["candidates"])
        first = "update_turn"
    parts = chunks(text)
    created = now_ts()
    for i, part in enumerate(parts):
        final = i == len(parts) - 1
        if i and ctx.delay:
            await asyncio.sleep(ctx.delay)
        cand = {"candidate_id": cand_id, "create_time": created, "raw_content": part}
        if final:
            cand["is_final"] = True
        frame_turn = dict(turn, candidates=[cand], primary_candidate_id=cand_id,
                          last_update_time=now_ts())  # fmt: skip
        stored = copy.deepcopy(frame_turn)
        stored["candidates"] = [dict(cand, is_final=final), *keep]
        ctx.state.save_turn(room_id, stored)
        await rpc.push(room_id, first if i == 0 else "update_turn", frame_turn)


async def generate_turn(rpc: Rpc, payload: dict) -> None:
    """``generate_turn``: the named character answers, or (smart reply) those picked."""
    room = _room(rpc, payload.get("chat_id"))
    cid = payload.get("character_id")
    if cid is not None:
        if cid not in room["characters"]:
            raise FlowError("character is not in the room", 404)
        picked = [cid]
    else:
        picked = _smart_pick(rpc.conn.ctx, room)
    if not picked:
        raise FlowError("the room has no characters")
    await rpc.reply()
    for one in picked:
        await _answer(rpc, room, one)


async def generate_turn_candidate(rpc: Rpc, payload: dict) -> None:
    """``generate_turn_candidate``: a new candidate for a character's turn, streamed."""
    tk = _obj(payload.get("turn_key"))
    room = _room(rpc, tk.get("chat_id"))
    turn = rpc.conn.ctx.state.get_turn(room["id"], tk.get("turn_id") or "")
    if turn is None or (turn.get("author") or {}).get("is_human"):
        raise FlowError("turn not found", 404)
    await rpc.reply()
    await _answer(rpc, room, turn["author"]["author_id"], turn)


async def edit_turn_candidate(rpc: Rpc, payload: dict) -> None:
    """``edit_turn_candidate``: replace a candidate's text; push the turn."""
    tk = _obj(payload.get("turn_key"))
    room = _room(rpc, tk.get("chat_id"))
    ctx = rpc.conn.ctx
    turn = ctx.state.get_turn(room["id"], tk.get("turn_id") or "")
    text = payload.get("new_candidate_raw_content")
    if turn is None:
        raise FlowError("turn not found", 404)
    if not isinstance(text, str) or not text.strip():
        raise FlowError("new_candidate_raw_content is empty")
    cand_id = payload.get("current_candidate_id") or turn.get("primary_candidate_id")
    match = [c for c in turn.get("candidates") or [] if c.get("candidate_id") == cand_id]
    if not match:
        raise FlowError("candidate not found", 404)
    match[0].update(raw_content=text, is_final=True, editor={"author_id": str(rpc.conn.user["id"])})
    turn["primary_candidate_id"] = cand_id
    turn["last_update_time"] = now_ts()
    ctx.state.save_turn(room["id"], turn)
    await rpc.reply()
    await rpc.push(room["id"], "update_turn", turn)


COMMANDS = {
    "create_turn": create_turn,
    "generate_turn": generate_turn,
    "generate_turn_candidate": generate_turn_candidate,
    "edit_turn_candidate": edit_turn_candidate,
}


async def _run_rpc(rpc: Rpc, data: dict) -> None:
    command = data.get("command")
    fn = COMMANDS.get(command) if isinstance(command, str) else None
    payload = data.get("payload")
    try:
        if fn is None:
            raise FlowError(f"unknown command: {command!r}" if command else "missing command")
        if not isinstance(payload, dict):
            raise FlowError("payload must be an object")
        tk = _obj(_obj(payload.get("turn")).get("turn_key")) or _obj(payload.get("turn_key"))
        room_id = tk.get("chat_id") or payload.get("chat_id")
        if isinstance(room_id, str) and room_id:
            async with rpc.conn.ctx.chat_lock(room_id):
                await fn(rpc, payload)
        else:
            await fn(rpc, payload)
    except FlowError as e:
        await rpc.reply({"command": "neo_error", "comment": e.comment, "error_code": e.code})
    except asyncio.CancelledError:
        raise
    except Exception:  # pragma: no cover - defensive
        logger.error("emulator room rpc failed:\n%s", traceback.format_exc())
        await rpc.reply({"command": "neo_error", "comment": "internal error", "error_code": 500})


# -- the socket -----------------------------------------------------------------------------


async def _command(conn: RoomConn, cmd: dict) -> None:
    ctx, user = conn.ctx, conn.user
    cid = cmd.get("id")
    if "connect" in cmd:
        interval = getattr(ctx, "room_ping_interval", DEFAULT_PING_INTERVAL)
        reply = {"client": new_id(), "version": "emulator", "ping": int(max(1, interval))}
        await conn.send({"id": cid, "connect": dict(reply, pong=True)})
    elif "subscribe" in cmd:
        channel = str(_obj(cmd.get("subscribe")).get("channel") or "")
        allowed = bool(channel) and (
            channel == f"user#{user['id']}"
            or (channel.startswith("room:") and member_room(ctx, channel[5:], user) is not None)
        )
        if not allowed:
            await conn.send({"id": cid, "error": PERMISSION_DENIED})
            return
        conn.channels.add(channel)
        hub(ctx).channels.setdefault(channel, set()).add(conn)
        done = {"recoverable": False, "epoch": "emulator", "positioned": False}
        await conn.send({"id": cid, "subscribe": done})
    elif "unsubscribe" in cmd:
        channel = str(_obj(cmd.get("unsubscribe")).get("channel") or "")
        conn.channels.discard(channel)
        hub(ctx).channels.get(channel, set()).discard(conn)
        await conn.send({"id": cid, "unsubscribe": {}})
    elif "rpc" in cmd:
        data = _obj(_obj(cmd.get("rpc")).get("data"))
        dropped = ctx.faults.take_drop_on_receive()
        ctx.log.append({"kind": "rooms_ws", "command": cmd, "dropped": dropped})
        if dropped:
            conn.abort()
            return
        rpc = Rpc(conn, cid, data, ctx.faults.take_drop_after())
        ctx.spawn(_run_rpc(rpc, data))
        return
    else:
        await conn.send({"id": cid, "error": {"code": 1001, "message": "unknown command"}})


async def _pinger(conn: RoomConn) -> None:
    while not conn.dead and not conn.ws.closed:
        await asyncio.sleep(getattr(conn.ctx, "room_ping_interval", DEFAULT_PING_INTERVAL))
        await conn.send("{}")


async def handler(request: web.Request) -> web.StreamResponse:
    """``/neo/connection/websocket``: cookie auth, then Centrifugo commands."""
    ctx: Ctx = request.app[CTX]
    cookie = "; ".join(request.headers.getall("Cookie", []))
    token = parse_ws_token(cookie)
    user = ctx.state.user_by_token(token) if token else None
    ctx.log.append({"kind": "ws_connect", "path": request.path,
                    "headers": {k.lower(): v for k, v in request.headers.items()}})  # fmt: skip
    if request.headers.get("Upgrade", "").lower() != "websocket":
        return web.Response(text=dumps({"error": "expected a websocket upgrade"}), status=400,
                            content_type="application/json")  # fmt: skip
    if user is None:
        return web.Response(text=dumps({"error": "Authentication credentials were not provided."}),
                            status=403, content_type="application/json")  # fmt: skip
    ws = web.WebSocketResponse(autoping=True, max_msg_size=8 * 1024 * 1024, compress=False)
    await ws.prepare(request)
    conn = RoomConn(ctx, ws, user, request.transport)
    ctx.sockets.add(ws)
    pinger = ctx.spawn(_pinger(conn))
    try:
        async for msg in ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                break
            data = msg.data if msg.type == WSMsgType.TEXT else msg.data.decode("utf-8", "replace")
            try:
                cmds = split_frames(data)
            except ValueError:
                ctx.log.append({"kind": "rooms_ws", "command": {"raw": data}, "dropped": False})
                continue
            for cmd in cmds:
                if not isinstance(cmd, dict):
                    continue
                if not cmd:
                    conn.pongs += 1  # the client's answer to our keep-alive
                    ctx.log.append({"kind": "rooms_ws", "command": {}, "dropped": False})
                    continue
                if "rpc" not in cmd:  # an rpc is logged with its fault (see _command)
                    ctx.log.append({"kind": "rooms_ws", "command": cmd, "dropped": False})
                await _command(conn, cmd)
            if conn.dead:
                break
    finally:
        conn.dead = True
        pinger.cancel()
        for channel in conn.channels:
            hub(ctx).channels.get(channel, set()).discard(conn)
        ctx.sockets.discard(ws)
    return ws
