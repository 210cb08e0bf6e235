"""Fork safety (issue 10): a Session used before ``os.fork()`` gives the child fresh HTTP
pools and a fresh websocket on first use and leaves the parent's alone. Proven with
multiprocessing (fork) and with real gunicorn ``--preload -w 2`` (sync and gthread)."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List

import pytest
from reliability_support import emu_session

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")


def _child(session: Any, cid: str, chat_id: str, out: Any) -> None:
    try:
        me = session.account.me().username
        reply = session.chats.send(cid, chat_id, "from the child")
        out.put(
            {
                "me": me,
                "reply_chat": reply.chat_id,
                "opened": session.ws.connections_opened,
                "pid": os.getpid(),
            }
        )
    except BaseException as exc:  # report, never hang the parent
        out.put({"error": repr(exc)})


def test_a_forked_child_gets_its_own_connections_and_the_parent_keeps_its(
    cai_emulator: Any,
) -> None:
    emu = cai_emulator
    cid = emu.character_ids[0]
    ctx = multiprocessing.get_context("fork")
    with emu_session(emu, reply_timeout=20.0) as s:
        chat, _ = s.chats.create(cid)  # the parent's websocket and reader are live
        s.chats.send(cid, chat.chat_id, "before the fork")
        assert s.ws.connections_opened == 1
        handshakes = len([e for e in emu.log.entries() if e["kind"] == "ws_connect"])
        out = ctx.Queue()
        proc = ctx.Process(target=_child, args=(s, cid, chat.chat_id, out))
        proc.start()
        result = out.get(timeout=60)
        proc.join(30)
        assert "error" not in result, result
        assert result["reply_chat"] == chat.chat_id and result["me"]
        assert result["opened"] == 1  # the child's own first socket
        # the child shook hands on a socket of its own
        now = len([e for e in emu.log.entries() if e["kind"] == "ws_connect"])
        assert now == handshakes + 1
        # the parent is untouched: same socket, still answering its own replies
        reply = s.chats.send(cid, chat.chat_id, "after the fork")
        assert reply.is_final and s.ws.connections_opened == 1
        assert s.account.me().username == result["me"]


APP = textwrap.dedent(
    """
    import json
    import os

    import caiclient

    CID = os.environ["FORK_CID"]
    SESSION = caiclient.Session(
        os.environ["FORK_TOKEN"],
        endpoints=caiclient.Endpoints.for_emulator(os.environ["FORK_URL"]),
        timeout=(5, 10),
        reply_timeout=15,
    )
    # Used before the fork (gunicorn --preload): pooled HTTP, websocket, reader thread.
    SESSION.account.me()
    CHAT, _ = SESSION.chats.create(CID)


    def app(environ, start_response):
        chat, _ = SESSION.chats.create(CID)
        reply = SESSION.chats.send(CID, chat.chat_id, "hello from " + str(os.getpid()))
        body = json.dumps(
            {
                "pid": os.getpid(),
                "ok": reply.chat_id == chat.chat_id and reply.is_final,
                "me": SESSION.account.me().username,
            }
        ).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> Dict[str, Any]:
    with urllib.request.urlopen(url, timeout=40) as r:
        return dict(json.loads(r.read()))


@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_gunicorn_preload_two_workers(cai_emulator: Any, tmp_path: Path, worker: str) -> None:
    pytest.importorskip("gunicorn")
    emu = cai_emulator
    (tmp_path / "forkapp.py").write_text(APP, encoding="utf-8")
    port = _free_port()
    env = dict(
        os.environ,
        FORK_CID=emu.character_ids[0],
        FORK_TOKEN=emu.token,
        FORK_URL=emu.url,
        PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]),
    )
    cmd = [
        sys.executable, "-m", "gunicorn", "--preload", "-w", "2", "-k", worker,
        "--threads", "4", "-b", f"127.0.0.1:{port}", "--timeout", "60",
        "--chdir", str(tmp_path), "forkapp:app",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        first = None
        while first is None:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            try:
                first = _get(url)
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        results: List[Dict[str, Any]] = [first]
        with ThreadPoolExecutor(8) as pool:
            while len({r["pid"] for r in results}) < 2 and len(results) < 80:
                results += list(pool.map(lambda _: _get(url), range(8)))
        pids = {r["pid"] for r in results}
        assert len(pids) == 2, pids  # both workers answered ...
        assert proc.pid not in pids
        assert all(r["ok"] and r["me"] for r in results), results  # ... each its own replies
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait(10)
        if proc.stdout:
            proc.stdout.close()


def _room_child(session: Any, room_id: str, out: Any) -> None:
    try:
        mine = session.rooms.send(room_id, "from the child")
        out.put({"turn": mine.turn_id, "opened": session.room_ws.connections_opened})
    except BaseException as exc:  # report, never hang the parent
        out.put({"error": repr(exc)})


def test_a_forked_child_gets_its_own_room_socket(cai_emulator: Any) -> None:
    emu = cai_emulator
    ctx = multiprocessing.get_context("fork")
    with emu_session(emu, reply_timeout=20.0) as s:
        room = s.rooms.create("fork", list(emu.character_ids[:2]))
        s.rooms.send(room.room_id, "before the fork")  # the parent's room socket is live
        assert s.room_ws.connections_opened == 1
        out = ctx.Queue()
        proc = ctx.Process(target=_room_child, args=(s, room.room_id, out))
        # Fork while another thread of the parent is in the middle of a room handshake.
        assert s.room_ws._handshake_lock.acquire(timeout=5)
        try:
            proc.start()
        finally:
            s.room_ws._handshake_lock.release()
        result = out.get(timeout=60)
        proc.join(30)
        assert "error" not in result, result
        assert result["opened"] == 1  # the child's own first socket, its own handshake
        after = s.rooms.send(room.room_id, "after the fork")  # the parent's socket still works
        assert s.room_ws.connections_opened == 1
        texts = [t.text for t in s.rooms.turns(room.room_id)]
        assert texts.count("from the child") == 1 and after.text in texts
