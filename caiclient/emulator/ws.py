"""The chat websocket ``/neo/ws/`` (neo.md section 3).

Each command runs in its own task (commands of one connection may be in
flight concurrently, matched by ``request_id``); work on one chat is
serialised by a per-chat lock. Frames carry ``command`` and the echoed
``request_id`` at the top level; non-final stream frames omit ``is_final``.
A generation continues and is stored even if the socket goes away.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Any, Optional

from aiohttp import WSMsgType, web

from caiclient.emulator.app import CTX, Ctx
from caiclient.emulator.brains import chunks
from caiclient.emulator.chats import (
    CHAT_INFO,
    brain_character,
    greeting_text,
    history_before,
    new_turn,
    owned_chat,
    primary_text,
)
from caiclient.emulator.common import visible_character
from caiclient.emulator.util import dumps, loads, new_id, now_ts

__all__ = ["handler", "parse_ws_token"]

logger = logging.getLogger("caiclient.emulator")


def parse_ws_token(cookie_header: str) -> Optional[str]:
    """The token in a ``Cookie`` header's ``HTTP_AUTHORIZATION`` (quoted or not)."""
    for part in cookie_header.split(";"):
        name, sep, value = part.strip().partition("=")
        if not sep or name.strip() != "HTTP_AUTHORIZATION":
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        value = value.strip()
        if value.lower().startswith("token "):
            value = value[6:].strip()
        return value or None
    return None


def _cookie_values(cookie_header: str) -> dict:
    """The ``name=value`` pairs of a ``Cookie`` header (last one wins)."""
    out = {}
    for part in cookie_header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name.strip():
            out[name.strip()] = value.strip().strip('"')
    return out


def _obj(value: Any) -> dict:
    """``value`` if it is a JSON object, else an empty dict."""
    return value if isinstance(value, dict) else {}


class FlowError(Exception):
    """Ends a flow with one ``neo_error`` frame."""

    def __init__(self, comment: str, code: int = 400) -> None:
        super().__init__(comment)
        self.comment = comment
        self.code = code


class Conn:
    """One websocket connection."""

    def __init__(self, ctx: Ctx, ws: web.WebSocketResponse, user: dict, transport: Any) -> None:
        self.ctx = ctx
        self.ws = ws
        self.user = user
        self.transport = transport
        self.dead = False
        self.send_lock = asyncio.Lock()

    def abort(self) -> None:
        """Close the socket abruptly (no close frame)."""
        if self.dead:
            return
        self.dead = True
        if self.transport is not None:
            self.transport.close()

    def dispatch(self, frame: dict, budget: Optional[int]) -> None:
        """Start processing one command in its own task."""
        self.ctx.spawn(self._run(frame, budget))

    async def _run(self, frame: dict, budget: Optional[int]) -> None:
        flow = Flow(self, frame, budget)
        command = frame.get("command")
        flows = {
            "create_chat": create_chat,
            "create_and_generate_turn": create_and_generate_turn,
            "create_turn": create_turn,
            "generate_turn_candidate": generate_turn_candidate,
            "edit_turn_candidate": edit_turn_candidate,
            "update_primary_candidate": update_primary_candidate,
            "set_turn_pin": set_turn_pin,
            "remove_turns": remove_turns,
        }
        fn = flows.get(command) if isinstance(command, str) else None
        payload = frame.get("payload")
        try:
            if fn is None:
                raise FlowError(f"unknown command: {command!r}" if command else "missing command")
            if not isinstance(payload, dict):
                raise FlowError("payload must be an object")
            chat_id = _chat_id_of(str(command), payload)
            if command == "create_chat" and not chat_id:
                chat_id = new_id()
                chat = payload.get("chat")
                if isinstance(chat, dict):
                    chat["chat_id"] = chat_id
                else:
                    payload["chat"] = {"chat_id": chat_id}
            if chat_id:
                async with self.ctx.chat_lock(chat_id):
                    await fn(self, flow, payload)
            else:
                await fn(self, flow, payload)
        except FlowError as e:
            await flow.send({"command": "neo_error", "comment": e.comment, "error_code": e.code})
        except asyncio.CancelledError:
            raise
        except Exception:  # pragma: no cover - defensive
            logger.error("emulator websocket flow failed:\n%s", traceback.format_exc())
            await flow.send(
                {"command": "neo_error", "comment": "internal error", "error_code": 500}
            )


def _chat_id_of(command: str, payload: dict) -> Optional[str]:
    if command == "create_chat":
        chat = payload.get("chat")
        value = chat.get("chat_id") if isinstance(chat, dict) else None
    elif command in ("create_and_generate_turn", "create_turn"):
        turn = _obj(payload.get("turn"))
        tk = _obj(turn.get("turn_key"))
        value = tk.get("chat_id") or payload.get("chat_id")
    elif command == "remove_turns":
        value = payload.get("chat_id")
    else:
        tk = _obj(payload.get("turn_key"))
        value = tk.get("chat_id")
    return value if isinstance(value, str) and value else None


def _owned_turn(ctx: Any, user: dict, payload: dict) -> tuple:
    """``(chat, turn)`` named by ``payload.turn_key``, if the user owns the chat."""
    tk = _obj(payload.get("turn_key"))
    chat = owned_chat(ctx, tk.get("chat_id"), user)
    if chat is None:
        raise FlowError("chat not found", 404)
    turn_id = tk.get("turn_id")
    turn = ctx.state.get_turn(chat["chat_id"], turn_id) if isinstance(turn_id, str) else None
    if turn is None:
        raise FlowError("turn not found", 404)
    return chat, turn


class Flow:
    """Sends the frames of one command: echoes ``request_id``, applies faults."""

    def __init__(self, conn: Conn, frame: dict, budget: Optional[int]) -> None:
        self.conn = conn
        rid = frame.get("request_id")
        self.request_id = rid if rid is not None else None
        self.budget = budget
        self.sent = 0

    async def send(self, frame: dict) -> None:
        """Send one frame (no-op once the socket is gone)."""
        out = {"command": frame.pop("command")}
        if self.request_id is not None:
            out["request_id"] = self.request_id
        out.update(frame)
        conn = self.conn
        if self.budget is not None and self.sent >= self.budget:
            conn.abort()
        if conn.dead or conn.ws.closed:
            return
        latency = conn.ctx.faults.latency_seconds
        if latency:
            await asyncio.sleep(latency)
        async with conn.send_lock:
            if conn.dead or conn.ws.closed:
                return
            try:
                await conn.ws.send_str(dumps(out))
            except Exception:
                conn.dead = True
                return
        self.sent += 1
        if self.budget is not None and self.sent >= self.budget:
            conn.abort()


def _turn_frame(command: str, turn: dict) -> dict:
    return {"command": command, "turn": turn, "chat_info": dict(CHAT_INFO)}


def _human_author(user: dict, given: Any) -> dict:
    name = given.get("name") if isinstance(given, dict) else None
    return {"author_id": str(user["id"]), "name": name or user.get("name", ""), "is_human": True}


def _char_author(char: dict) -> dict:
    return {"author_id": char["external_id"], "name": char["name"], "is_human": False}


# -- flows --------------------------------------------------------------------------------


async def create_chat(conn: Conn, flow: Flow, payload: dict) -> None:
    """``create_chat`` -> ``create_chat_response`` (+ greeting ``add_turn``)."""
    ctx, user = conn.ctx, conn.user
    chat_in = _obj(payload.get("chat"))
    character_id = chat_in.get("character_id") or payload.get("character_id")
    char = visible_character(ctx, character_id, user) if isinstance(character_id, str) else None
    if char is None:
        raise FlowError("character not found", 404)
    chat_id = chat_in["chat_id"]
    if ctx.state.meta("chat", chat_id) is not None:
        raise FlowError("chat already exists", 409)
    visibility = chat_in.get("visibility") or "VISIBILITY_PRIVATE"
    if visibility not in ("VISIBILITY_PRIVATE", "VISIBILITY_PUBLIC", "VISIBILITY_UNLISTED"):
        raise FlowError("invalid visibility")
    chat = {
        "chat_id": chat_id,
        "create_time": now_ts(),
        "creator_id": str(user["id"]),
        "character_id": char["external_id"],
        "state": "STATE_ACTIVE",
        "type": chat_in.get("type") or "TYPE_ONE_ON_ONE",
        "visibility": visibility,
    }
    if chat_in.get("preferred_model_type"):
        chat["preferred_model_type"] = chat_in["preferred_model_type"]
    ctx.state.put("chat", chat_id, chat, owner=user["id"], ref=char["external_id"])
    greeting = payload.get("with_greeting", True)
    turn = None
    if greeting:
        cand = {
            "candidate_id": new_id(),
            "create_time": now_ts(),
            "raw_content": greeting_text(char, user),
            "is_final": True,
            "safety_truncated": False,
        }
        turn = new_turn(chat_id, new_id(), _char_author(char), cand)
        ctx.state.add_turn(chat_id, turn)
    await flow.send({"command": "create_chat_response", "chat": dict(chat)})
    if turn is not None:
        await flow.send(_turn_frame("add_turn", turn))


async def _brain_reply(ctx: Ctx, char: dict, history: list, text: str, variant: int) -> str:
    brain = ctx.brain
    args = (brain_character(char), history, text, variant)
    try:
        if getattr(brain, "blocking", False):
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, lambda: brain.reply(*args))
        return brain.reply(*args)
    except Exception as e:
        logger.warning("emulator brain failed: %r", e)
        raise FlowError("generation failed", 500) from e


def _truncate(text: str) -> str:
    words = text.split()
    keep = max(1, len(words) // 3)
    return " ".join(words[:keep])


async def _stream(
    conn: Conn,
    flow: Flow,
    chat_id: str,
    turn: dict,
    cand_id: str,
    text: str,
    filtered: bool,
    first_command: str,
    keep_candidates: list,
) -> None:
    """Stream ``text`` as cumulative frames of candidate ``cand_id`` of ``turn`` and store it."""
    ctx = conn.ctx
    parts = chunks(text)
    cand_time = now_ts()
    for i, part in enumerate(parts):
        final = i == len(parts) - 1
        if i and ctx.delay:
            await asyncio.sleep(ctx.delay)
        cand = {"candidate_id": cand_id, "create_time": cand_time, "raw_content": part}
        if final:
            cand["is_final"] = True
        cand["safety_truncated"] = filtered
        # A frame carries the turn as it is stored: the candidate being written first,
        # then the turn's earlier candidates (a regeneration keeps them). Clients read
        # candidates[0] (PyCharacterAI's stream end, CAINode's F1) or the primary
        # candidate (PyCharacterAI's final, ours): both are the new one, and the frame
        # agrees with GET /turns/ (issue 16).
        frame_turn = dict(turn)
        frame_turn["candidates"] = [cand, *keep_candidates]
        frame_turn["primary_candidate_id"] = cand_id
        frame_turn["last_update_time"] = now_ts()
        # No deep copies: save_turn serializes at once, a frame when it is sent, and
        # nothing changes the shared parts in between (deep copies were a third of
        # the emulator's CPU per message). Only the stored candidate differs.
        stored = dict(frame_turn, candidates=[dict(cand, is_final=final), *keep_candidates])
        ctx.state.save_turn(chat_id, stored)
        await flow.send(_turn_frame(first_command if i == 0 else "update_turn", frame_turn))


def _chat_and_character(conn: Conn, payload: dict) -> tuple:
    """``(chat, character)`` a turn command names (``turn.turn_key.chat_id``)."""
    ctx, user = conn.ctx, conn.user
    turn_in = _obj(payload.get("turn"))
    tk = _obj(turn_in.get("turn_key"))
    chat = owned_chat(ctx, tk.get("chat_id") or payload.get("chat_id"), user)
    if chat is None:
        raise FlowError("chat not found", 404)
    char = ctx.state.get("character", payload.get("character_id") or chat["character_id"])
    if char is None or char["external_id"] != chat["character_id"]:
        char = ctx.state.get("character", chat["character_id"])
    if char is None:
        raise FlowError("character not found", 404)
    return chat, char


def _user_turn(conn: Conn, chat: dict, payload: dict) -> dict:
    """The user's turn a ``create_turn`` / ``create_and_generate_turn`` carries, checked.

    Empty ``turn_id`` / ``candidate_id`` (CAINode's manual mode sends ``""`` for
    both, cainode.md 4.1) get server-chosen ids.
    """
    ctx = conn.ctx
    chat_id = str(chat["chat_id"])
    turn_in = _obj(payload.get("turn"))
    tk = _obj(turn_in.get("turn_key"))
    turn_id = tk.get("turn_id") or new_id()
    if not isinstance(turn_id, str):
        raise FlowError("invalid turn_id")
    if ctx.state.get_turn(chat_id, turn_id) is not None:
        ctx.event("turn already exists", chat_id=chat_id, turn_id=turn_id)
        raise FlowError("turn already exists", 409)
    cands = turn_in.get("candidates") if isinstance(turn_in.get("candidates"), list) else []
    c0 = cands[0] if cands and isinstance(cands[0], dict) else {}
    text = c0.get("raw_content")
    if not isinstance(text, str):
        raise FlowError("message is empty")
    if len(text) > 32000:
        raise FlowError("message is too long")
    cand_id = c0.get("candidate_id") or turn_in.get("primary_candidate_id") or new_id()
    cand = {"candidate_id": cand_id, "create_time": now_ts(), "raw_content": text, "is_final": True}
    if c0.get("tti_image_rel_path"):
        cand["tti_image_rel_path"] = c0["tti_image_rel_path"]
    return new_turn(chat_id, turn_id, _human_author(conn.user, turn_in.get("author")), cand)


async def create_turn(conn: Conn, flow: Flow, payload: dict) -> None:
    """``create_turn``: store the user's turn without generating; one ``add_turn`` echo.

    CAINode's manual mode (``send_message(text, manual=true)``, cainode.md 4.2) sends
    the ``create_and_generate_turn`` payload under this name and takes the first frame.
    The reply is asked for later with an empty ``create_and_generate_turn``.
    """
    ctx = conn.ctx
    chat, _char = _chat_and_character(conn, payload)
    turn = _user_turn(conn, chat, payload)
    if not primary_text(turn).strip():
        raise FlowError("message is empty")
    ctx.state.add_turn(chat["chat_id"], turn)
    ctx.state.put("chat", chat["chat_id"], chat)  # touch: most recent activity
    await flow.send(_turn_frame("add_turn", turn))  # stored serialized: no copy needed


async def create_and_generate_turn(conn: Conn, flow: Flow, payload: dict) -> None:
    """``create_and_generate_turn``: human echo, then the streamed reply.

    An empty ``raw_content`` asks for a reply without a new message (CAINode's
    ``generate_turn()`` after manual turns, cainode.md 4.2/4.4): nothing is stored
    for the user and nothing echoed; the character answers the chat as it stands.
    Whether the service stores an empty human turn is not known (cainode.md 10);
    storing none keeps every client's history free of blank messages.
    """
    ctx = conn.ctx
    chat, char = _chat_and_character(conn, payload)
    chat_id = str(chat["chat_id"])
    user_turn = _user_turn(conn, chat, payload)
    text = primary_text(user_turn)
    fault = ctx.faults.take_filter()
    if fault == "input" and text.strip():
        await flow.send(
            {"command": "filter_user_input_self_harm", "comment": "Self harm message detected"}
        )
        return
    seq_before = ctx.state.next_seq()
    if text.strip():
        ctx.state.add_turn(chat_id, user_turn)
        ctx.state.put("chat", chat_id, chat)  # touch: most recent activity
        history = history_before(ctx, chat_id, before_seq=seq_before)
        await flow.send(_turn_frame("add_turn", user_turn))  # stored serialized already
    else:
        history = history_before(ctx, chat_id, before_seq=seq_before)
        last_user = [h for h in history if h["role"] == "user"]
        text = last_user[-1]["text"] if last_user else ""
        if last_user:  # answer the last message: the brain gets it as the user's text
            idx = max(i for i, h in enumerate(history) if h["role"] == "user")
            history = history[:idx]
    reply = await _brain_reply(ctx, char, history, text, 0)
    filtered = fault == "output"
    if filtered:
        reply = _truncate(reply)
    reply_turn = new_turn(
        chat_id,
        new_id(),
        _char_author(char),
        {"candidate_id": new_id(), "create_time": now_ts(), "raw_content": ""},
    )
    reply_cand_id = reply_turn["primary_candidate_id"]
    ctx.state.add_turn(chat_id, reply_turn)
    await _stream(conn, flow, chat_id, reply_turn, reply_cand_id, reply, filtered, "add_turn", [])


async def generate_turn_candidate(conn: Conn, flow: Flow, payload: dict) -> None:
    """``generate_turn_candidate``: ``update_turn`` frames with a new candidate at ``[0]``."""
    ctx, user = conn.ctx, conn.user
    chat, turn = _owned_turn(ctx, user, payload)
    chat_id = chat["chat_id"]
    if (turn.get("author") or {}).get("is_human"):
        raise FlowError("cannot generate a candidate for a human turn")
    char = ctx.state.get("character", chat["character_id"])
    if char is None:
        raise FlowError("character not found", 404)
    seq = ctx.state.turn_seq(chat_id, turn["turn_key"]["turn_id"])
    earlier = ctx.state.turns_page(chat_id, before_seq=seq, limit=40)
    user_text, hist_seq = "", seq
    for s, t in earlier:
        if (t.get("author") or {}).get("is_human"):
            user_text, hist_seq = primary_text(t), s
            break
    history = history_before(ctx, chat_id, before_seq=hist_seq)
    old = turn.get("candidates") or []
    reply = await _brain_reply(ctx, char, history, user_text, len(old))
    new_cand_id = new_id()
    base = {k: v for k, v in turn.items() if k != "candidates"}
    await _stream(conn, flow, chat_id, base, new_cand_id, reply, False, "update_turn", old)


async def edit_turn_candidate(conn: Conn, flow: Flow, payload: dict) -> None:
    """``edit_turn_candidate``: exactly one ``update_turn`` with the edited candidate."""
    ctx, user = conn.ctx, conn.user
    chat, turn = _owned_turn(ctx, user, payload)
    text = payload.get("new_candidate_raw_content")
    if not isinstance(text, str) or not text.strip():
        raise FlowError("new_candidate_raw_content is empty")
    cand_id = payload.get("current_candidate_id") or turn.get("primary_candidate_id")
    cands = turn.get("candidates") or []
    match = [c for c in cands if c.get("candidate_id") == cand_id]
    if not match:
        raise FlowError("candidate not found", 404)
    cand = match[0]
    cand["raw_content"] = text
    cand["is_final"] = True
    cand["editor"] = {"author_id": str(user["id"]), "name": user.get("name", "")}
    turn["candidates"] = [cand] + [c for c in cands if c is not cand]
    turn["primary_candidate_id"] = cand_id
    turn["last_update_time"] = now_ts()
    ctx.state.save_turn(chat["chat_id"], turn)
    await flow.send(_turn_frame("update_turn", turn))


async def update_primary_candidate(conn: Conn, flow: Flow, payload: dict) -> None:
    """``update_primary_candidate``: exactly one ``ok``."""
    ctx, user = conn.ctx, conn.user
    chat, turn = _owned_turn(ctx, user, payload)
    cand_id = payload.get("candidate_id")
    if not any(c.get("candidate_id") == cand_id for c in turn.get("candidates") or []):
        raise FlowError("candidate not found", 404)
    turn["primary_candidate_id"] = cand_id
    turn["last_update_time"] = now_ts()
    ctx.state.save_turn(chat["chat_id"], turn)
    await flow.send({"command": "ok"})


async def set_turn_pin(conn: Conn, flow: Flow, payload: dict) -> None:
    """``set_turn_pin``: exactly one ``update_turn`` with ``is_pinned``."""
    ctx, user = conn.ctx, conn.user
    chat, turn = _owned_turn(ctx, user, payload)
    turn["is_pinned"] = bool(payload.get("is_pinned"))
    ctx.state.save_turn(chat["chat_id"], turn)
    await flow.send(_turn_frame("update_turn", turn))


async def remove_turns(conn: Conn, flow: Flow, payload: dict) -> None:
    """Legacy ``remove_turns`` -> ``remove_turns_response``."""
    ctx, user = conn.ctx, conn.user
    chat = owned_chat(ctx, payload.get("chat_id"), user)
    if chat is None:
        raise FlowError("chat not found", 404)
    ids = payload.get("turn_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise FlowError("turn_ids must be a list of strings")
    ctx.state.delete_turns(chat["chat_id"], ids)
    await flow.send(
        {"command": "remove_turns_response", "chat_id": chat["chat_id"], "turn_ids": ids}
    )


# -- handshake and receive loop -----------------------------------------------------------


async def handler(request: web.Request) -> web.StreamResponse:
    """The ``/neo/ws/`` endpoint: cookie auth, then the command loop."""
    ctx: Ctx = request.app[CTX]
    cookie = "; ".join(request.headers.getall("Cookie", []))
    token = parse_ws_token(cookie)
    user = ctx.state.user_by_token(token) if token else None
    ctx.log.append(
        {
            "kind": "ws_connect",
            "path": request.path,
            "headers": {k.lower(): v for k, v in request.headers.items()},
        }
    )
    if request.headers.get("Upgrade", "").lower() != "websocket":
        return web.Response(
            text=dumps({"command": "neo_error", "comment": "expected a websocket upgrade"}),
            status=400,
            content_type="application/json",
        )
    if user is None:
        return web.Response(
            text=dumps(
                {"command": "neo_error", "comment": "Authentication credentials were not provided."}
            ),
            status=403,
            content_type="application/json",
        )
    refusal = ctx.faults.take_ws_handshake(
        _cookie_values(cookie), request.headers.get("User-Agent", "")
    )
    if refusal is not None:
        # A valid token, refused anyway (a fault: the service's edge does this, issue 16).
        ctx.event("websocket handshake refused by a fault", reason=refusal)
        return web.Response(text="Forbidden", status=403, content_type="text/plain")
    ws = web.WebSocketResponse(autoping=True, max_msg_size=8 * 1024 * 1024, compress=False)
    await ws.prepare(request)
    conn = Conn(ctx, ws, user, request.transport)
    ctx.sockets.add(ws)
    try:
        async for msg in ws:
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                data = (
                    msg.data if msg.type == WSMsgType.TEXT else msg.data.decode("utf-8", "replace")
                )
                try:
                    frame = loads(data)
                except ValueError:  # includes JSON nested too deep: a neo_error, not a drop
                    frame = None
                big = len(data) > ctx.log.max_body
                if not isinstance(frame, dict):
                    raw = {"size": len(data), "truncated": True} if big else {"raw": data}
                    ctx.log.append({"kind": "ws", "command": raw, "dropped": False})
                    await Flow(conn, {}, None).send(
                        {"command": "neo_error", "comment": "invalid JSON frame"}
                    )
                    continue
                dropped = ctx.faults.take_drop_on_receive()
                logged = frame
                if big:
                    logged = {
                        "command": frame.get("command"),
                        "request_id": frame.get("request_id"),
                        "size": len(data),
                        "truncated": True,
                    }
                ctx.log.append({"kind": "ws", "command": logged, "dropped": dropped})
                if dropped:
                    conn.abort()
                    break
                conn.dispatch(frame, ctx.faults.take_drop_after())
            elif msg.type in (
                WSMsgType.ERROR,
                WSMsgType.CLOSE,
                WSMsgType.CLOSING,
                WSMsgType.CLOSED,
            ):
                break
            if conn.dead:
                break
    finally:
        ctx.sockets.discard(ws)
    return ws
