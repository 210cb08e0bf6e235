"""One contender of bench/concurrency.py, run in its own process.

    python bench/_contenders.py KIND CONFIG_JSON

The process connects and creates its conversations (not timed), prints
``READY``, waits for ``GO`` on stdin (the parent samples the emulator's CPU
then), has ``n`` conversations each send ``messages`` messages one after the
other, and prints one JSON line: ``{"ok", "wall", "cpu", "wrong", "failed"}``.
``wrong`` counts replies that belong to another caller's chat.

KIND is one of ``raw-aiohttp``, ``raw-wsclient``, ``caiclient-threads``,
``caiclient-aio``, ``pycai-lock``, ``pycai-nolock``. The PyCharacterAI kinds
run in their own virtual environment (bench/.venv-pycai) and import nothing
of caiclient; the raw kinds speak the protocol (neo.md section 3) directly.
With ``"stream": true`` each reply is read snapshot by snapshot (every frame
parsed) instead of waiting for the final one.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

ANNOTATIONS = [
    "bad_memory",
    "boring",
    "ends_chat_early",
    "funny",
    "helpful",
    "inaccurate",
    "interesting",
    "long",
    "not_bad_memory",
    "not_boring",
    "not_ends_chat_early",
    "not_funny",
    "not_helpful",
    "not_inaccurate",
    "not_interesting",
    "not_long",
    "not_out_of_character",
    "not_repetitive",
    "not_short",
    "out_of_character",
    "repetitive",
    "short",
]


def send_command(cfg: Dict[str, Any], chat_id: str, text: str) -> Tuple[str, str]:
    """(request_id, the create_and_generate_turn command) for a raw client."""
    rid, cand = str(uuid.uuid4()), str(uuid.uuid4())
    turn = {
        "author": {"author_id": cfg["account_id"], "is_human": True, "name": ""},
        "candidates": [{"candidate_id": cand, "raw_content": text}],
        "primary_candidate_id": cand,
        "turn_key": {"chat_id": chat_id, "turn_id": str(uuid.uuid4())},
    }
    payload = {
        "character_id": cfg["character_id"],
        "num_candidates": 1,
        "previous_annotations": {k: 0 for k in ANNOTATIONS},
        "selected_language": "",
        "tts_enabled": False,
        "user_name": "",
        "turn": turn,
    }
    cmd = {
        "command": "create_and_generate_turn",
        "request_id": rid,
        "origin_id": "web-next",
        "payload": payload,
    }
    return rid, json.dumps(cmd)


def create_command(cfg: Dict[str, Any]) -> Tuple[str, str, str]:
    """(request_id, chat_id, the create_chat command) for a raw client."""
    rid, chat_id = str(uuid.uuid4()), str(uuid.uuid4())
    chat = {
        "chat_id": chat_id,
        "creator_id": cfg["account_id"],
        "visibility": "VISIBILITY_PRIVATE",
        "character_id": cfg["character_id"],
        "type": "TYPE_ONE_ON_ONE",
    }
    cmd = {
        "command": "create_chat",
        "request_id": rid,
        "origin_id": "web-next",
        "payload": {"chat": chat, "with_greeting": False},
    }
    return rid, chat_id, json.dumps(cmd)


def reply_of(frame: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The character's turn in a frame, or None (the human echo, other commands)."""
    if frame.get("command") not in ("add_turn", "update_turn"):
        if frame.get("command") == "neo_error":
            raise RuntimeError(f"neo_error: {frame.get('comment')}")
        return None
    turn = frame["turn"]
    if turn["author"].get("is_human"):
        return None
    return turn  # type: ignore[no-any-return]


def is_final(turn: Dict[str, Any]) -> bool:
    return bool(turn["candidates"][0].get("is_final"))


class Tally:
    def __init__(self) -> None:
        self.ok = self.wrong = self.failed = 0
        self.lock = threading.Lock()

    def add(self, expected_chat: str, got_chat: Optional[str]) -> None:
        with self.lock:
            if got_chat is None:
                self.failed += 1
            elif got_chat == expected_chat:
                self.ok += 1
            else:
                self.wrong += 1


def handshake(cfg: Dict[str, Any]) -> Tuple[str, Dict[str, str]]:
    return cfg["ws_url"], {
        "Cookie": f"HTTP_AUTHORIZATION=Token {cfg['token']}",
        "Origin": "https://character.ai",
    }


def ready_then_go() -> None:
    print("READY", flush=True)
    sys.stdin.readline()


def timed(run: Callable[[], None]) -> Dict[str, float]:
    cpu0, t0 = time.process_time(), time.perf_counter()
    run()
    return {"wall": time.perf_counter() - t0, "cpu": time.process_time() - cpu0}


def texts(cfg: Dict[str, Any], i: int) -> List[str]:
    base = cfg.get("text") or "message {k} from conversation {i}"
    return [base.format(i=i, k=k) for k in range(cfg["messages"])]


async def timed_conversations(
    cfg: Dict[str, Any],
    tally: Tally,
    chats: List[str],
    send: Callable[[str, str], Awaitable[Optional[str]]],
) -> Dict[str, float]:
    """READY, wait for GO, then every conversation's messages, each reply bounded; timed."""
    import asyncio

    async def conversation(i: int) -> None:
        for text in texts(cfg, i):
            try:
                got = await asyncio.wait_for(send(chats[i], text), cfg["timeout"])
            except Exception:
                got = None
            tally.add(chats[i], got)

    loop = asyncio.get_running_loop()
    print("READY", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)
    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(conversation(i) for i in range(cfg["n"])))
    return {"wall": time.perf_counter() - t0, "cpu": time.process_time() - cpu0}


# ------------------------------------------------------------------ raw aiohttp


def raw_aiohttp(cfg: Dict[str, Any], tally: Tally) -> Dict[str, float]:
    import asyncio

    import aiohttp

    async def main() -> Dict[str, float]:
        url, headers = handshake(cfg)
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(url, headers=headers, max_msg_size=0)
            queues: Dict[str, asyncio.Queue] = {}

            async def reader() -> None:
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        frame = json.loads(msg.data)
                        q = queues.get(frame.get("request_id"))
                        if q is not None:
                            q.put_nowait(frame)

            task = asyncio.ensure_future(reader())

            async def create() -> str:
                rid, chat_id, cmd = create_command(cfg)
                q = queues[rid] = asyncio.Queue()
                await ws.send_str(cmd)
                while (await q.get()).get("command") != "create_chat_response":
                    pass
                del queues[rid]
                return chat_id

            async def send(chat_id: str, text: str) -> Optional[str]:
                rid, cmd = send_command(cfg, chat_id, text)
                q = queues[rid] = asyncio.Queue()
                try:
                    await ws.send_str(cmd)
                    while True:
                        turn = reply_of(await q.get())
                        if turn is not None and is_final(turn):
                            return turn["turn_key"]["chat_id"]  # type: ignore[no-any-return]
                finally:
                    del queues[rid]

            chats = [await create() for _ in range(cfg["n"])]
            await send(chats[0], "warm up")

            result = await timed_conversations(cfg, tally, chats, send)
            task.cancel()
            await ws.close()
            return result

    return asyncio.run(main())


# ------------------------------------------------------------------ raw websocket-client


def raw_wsclient(cfg: Dict[str, Any], tally: Tally) -> Dict[str, float]:
    import queue

    import websocket

    url, headers = handshake(cfg)
    ws = websocket.create_connection(
        url,
        header=[f"{k}: {v}" for k, v in headers.items()],
        timeout=60,
        skip_utf8_validation=True,
        enable_multithread=True,
    )
    queues: Dict[str, queue.Queue[Dict[str, Any]]] = {}

    def reader() -> None:
        while True:
            try:
                data = ws.recv()
            except Exception:
                return
            if not data:  # closed
                return
            frame = json.loads(data)
            q = queues.get(frame.get("request_id"))
            if q is not None:
                q.put(frame)

    threading.Thread(target=reader, daemon=True).start()

    def create() -> str:
        rid, chat_id, cmd = create_command(cfg)
        q = queues[rid] = queue.Queue()
        ws.send(cmd)
        while q.get(timeout=30).get("command") != "create_chat_response":
            pass
        del queues[rid]
        return chat_id

    def send(chat_id: str, text: str) -> Optional[str]:
        rid, cmd = send_command(cfg, chat_id, text)
        q = queues[rid] = queue.Queue()
        try:
            ws.send(cmd)
            while True:
                turn = reply_of(q.get(timeout=cfg["timeout"]))
                if turn is not None and is_final(turn):
                    return turn["turn_key"]["chat_id"]  # type: ignore[no-any-return]
        except queue.Empty:
            return None
        finally:
            del queues[rid]

    chats = [create() for _ in range(cfg["n"])]
    send(chats[0], "warm up")

    def conversation(i: int) -> None:
        for text in texts(cfg, i):
            tally.add(chats[i], send(chats[i], text))

    ready_then_go()
    result = timed(lambda: run_threads(cfg["n"], conversation))
    ws.close()
    return result


def run_threads(n: int, target: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# ------------------------------------------------------------------ caiclient


def caiclient_session(cfg: Dict[str, Any]) -> Any:
    import caiclient

    return caiclient.Session(
        cfg["token"],
        endpoints=caiclient.Endpoints.for_emulator(cfg["http_url"]),
        timeout=(10.0, cfg["timeout"]),
    )


def caiclient_threads(cfg: Dict[str, Any], tally: Tally) -> Dict[str, float]:
    s = caiclient_session(cfg)
    cid = cfg["character_id"]
    chats = [s.chats.create(cid, greeting=False)[0].chat_id for _ in range(cfg["n"])]
    s.chats.send(cid, chats[0], "warm up")
    stream = cfg.get("stream")

    def one(chat_id: str, text: str) -> Optional[str]:
        try:
            if stream:
                last = None
                for turn in s.chats.stream(cid, chat_id, text):
                    last = turn
                return last.chat_id if last is not None and last.is_final else None
            return s.chats.send(cid, chat_id, text).chat_id  # type: ignore[no-any-return]
        except Exception as exc:
            print(f"caiclient: {exc!r}", file=sys.stderr)
            return None

    def conversation(i: int) -> None:
        for text in texts(cfg, i):
            tally.add(chats[i], one(chats[i], text))

    ready_then_go()
    result = timed(lambda: run_threads(cfg["n"], conversation))
    s.close()
    return result


def caiclient_aio(cfg: Dict[str, Any], tally: Tally) -> Dict[str, float]:
    import asyncio

    import caiclient.aio

    async def main() -> Dict[str, float]:
        cid = cfg["character_id"]
        async with caiclient.aio.Client.wrap(caiclient_session(cfg)) as c:
            chats = []
            for _ in range(cfg["n"]):
                chats.append((await c.chats.create(cid, greeting=False))[0].chat_id)
            await c.chats.send(cid, chats[0], "warm up")
            stream = cfg.get("stream")

            async def one(chat_id: str, text: str) -> Optional[str]:
                try:
                    if stream:
                        last = None
                        async with c.chats.stream(cid, chat_id, text) as replies:
                            async for turn in replies:
                                last = turn
                        return last.chat_id if last is not None and last.is_final else None
                    return (await c.chats.send(cid, chat_id, text)).chat_id  # type: ignore[no-any-return]
                except Exception as exc:
                    print(f"caiclient.aio: {exc!r}", file=sys.stderr)
                    return None

            async def conversation(i: int) -> None:
                for text in texts(cfg, i):
                    tally.add(chats[i], await one(chats[i], text))

            loop = asyncio.get_running_loop()
            print("READY", flush=True)
            await loop.run_in_executor(None, sys.stdin.readline)
            cpu0, t0 = time.process_time(), time.perf_counter()
            await asyncio.gather(*(conversation(i) for i in range(cfg["n"])))
            return {"wall": time.perf_counter() - t0, "cpu": time.process_time() - cpu0}

    return asyncio.run(main())


# ------------------------------------------------------------------ PyCharacterAI 2.2.50


def pycai(cfg: Dict[str, Any], tally: Tally, locked: bool) -> Dict[str, float]:
    """PyCharacterAI, unmodified; its base URLs swapped at run time (curl_cffi rewritten)."""
    import asyncio
    import types
    from urllib.parse import urlsplit

    import curl_cffi
    import PyCharacterAI
    import PyCharacterAI.requester

    pairs = sorted(cfg["url_map"].items(), key=lambda kv: -len(kv[0]))

    def rewrite(url: str) -> str:
        for base, local in pairs:
            if url == base or url.startswith((base + "/", base + "?")):
                url = local + url[len(base) :]
                break
        if urlsplit(url).hostname != "127.0.0.1":
            raise RuntimeError(f"bench: refusing to contact {urlsplit(url).hostname}")
        return url

    class Redirecting(curl_cffi.AsyncSession):  # type: ignore[misc]
        async def request(self, method: Any, url: str, *args: Any, **kwargs: Any) -> Any:
            return await super().request(method, rewrite(url), *args, **kwargs)

        async def ws_connect(self, url: str, *args: Any, **kwargs: Any) -> Any:
            return await super().ws_connect(rewrite(url), *args, **kwargs)

    names = {n: getattr(curl_cffi, n) for n in dir(curl_cffi) if not n.startswith("__")}
    names["AsyncSession"] = Redirecting
    PyCharacterAI.requester.curl_cffi = types.SimpleNamespace(**names)  # type: ignore[attr-defined]

    async def main() -> Dict[str, float]:
        client = await PyCharacterAI.get_client(token=cfg["token"])
        cid = cfg["character_id"]
        chats = []
        for _ in range(cfg["n"]):
            chat, _greeting = await client.chat.create_chat(cid, greeting=False)
            chats.append(chat.chat_id)
        lock = asyncio.Lock()

        async def one(chat_id: str, text: str) -> Optional[str]:
            if locked:
                async with lock:
                    turn = await client.chat.send_message(cid, chat_id, text)
            else:
                turn = await client.chat.send_message(cid, chat_id, text)
            return turn.chat_id  # type: ignore[no-any-return]

        await one(chats[0], "warm up")

        result = await timed_conversations(cfg, tally, chats, one)
        try:
            await asyncio.wait_for(client.close_session(), 5)
        except Exception:
            pass
        return result

    return asyncio.run(main())


KINDS: Dict[str, Callable[[Dict[str, Any], Tally], Dict[str, float]]] = {
    "raw-aiohttp": raw_aiohttp,
    "raw-wsclient": raw_wsclient,
    "caiclient-threads": caiclient_threads,
    "caiclient-aio": caiclient_aio,
    "pycai-lock": lambda cfg, tally: pycai(cfg, tally, locked=True),
    "pycai-nolock": lambda cfg, tally: pycai(cfg, tally, locked=False),
}


def main() -> int:
    kind, cfg = sys.argv[1], json.loads(sys.argv[2])
    tally = Tally()
    result = KINDS[kind](cfg, tally)
    result.update(ok=tally.ok, wrong=tally.wrong, failed=tally.failed)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
