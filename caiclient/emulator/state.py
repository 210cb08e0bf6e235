"""SQLite state of the emulator.

One ``sqlite3`` connection (in memory by default, a file with ``db=PATH``),
guarded by a re-entrant lock, so the event loop thread and test threads can
both use it. Entities are stored as JSON documents:

* ``docs(kind, id, owner, ref, seq, data)``: users (``ref`` = token),
  characters, personas, voices, chats (``ref`` = character id), chat v1
  histories, settings, votes, follows, migrations, annotations, reports...
* ``turns(chat_id, turn_id, seq, pinned, data)``: chat v2 turns.
* ``blobs(name, mime, data)``: uploaded and generated media.

``seq`` is a global, strictly increasing counter: "newest first" means
``ORDER BY seq DESC``.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import threading
from typing import Any, Iterable, Optional

__all__ = ["State"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    kind TEXT NOT NULL, id TEXT NOT NULL, owner TEXT, ref TEXT,
    seq INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (kind, id));
CREATE INDEX IF NOT EXISTS docs_owner ON docs (kind, owner);
CREATE INDEX IF NOT EXISTS docs_ref ON docs (kind, ref);
CREATE TABLE IF NOT EXISTS turns (
    chat_id TEXT NOT NULL, turn_id TEXT NOT NULL, seq INTEGER NOT NULL,
    pinned INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL, human INTEGER, author TEXT,
    text TEXT, PRIMARY KEY (chat_id, turn_id));
CREATE INDEX IF NOT EXISTS turns_seq ON turns (chat_id, seq);
CREATE TABLE IF NOT EXISTS blobs (name TEXT PRIMARY KEY, mime TEXT NOT NULL, data BLOB NOT NULL);
"""


class State:
    """Thread-safe document store over SQLite.

    Args:
        db: path of the database file, or ``None`` for an in-memory database.
    """

    def __init__(self, db: Optional[str] = None) -> None:
        self.path = db
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            db or ":memory:", check_same_thread=False, isolation_level=None
        )
        self._conn.executescript(_SCHEMA)
        have = {r[1] for r in self._conn.execute("PRAGMA table_info(turns)")}
        for column, kind in (("human", "INTEGER"), ("author", "TEXT"), ("text", "TEXT")):
            if column not in have:  # a database file from an earlier version
                self._conn.execute(f"ALTER TABLE turns ADD COLUMN {column} {kind}")
        row = self._conn.execute(
            "SELECT max(s) FROM (SELECT max(seq) AS s FROM docs "
            "UNION ALL SELECT max(seq) FROM turns)"
        ).fetchone()
        self._seq = int(row[0] or 0)

    # -- low level ---------------------------------------------------------------
    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def next_seq(self) -> int:
        """Next value of the global ordering counter."""
        with self._lock:
            self._seq += 1
            return self._seq

    def clear(self) -> None:
        """Delete every row (used to reset a shared emulator between tests)."""
        with self._lock:
            self._conn.executescript("DELETE FROM docs; DELETE FROM turns; DELETE FROM blobs;")

    # -- documents -----------------------------------------------------------------
    def get(self, kind: str, id: Any) -> Optional[dict]:
        """The document ``kind``/``id`` or ``None``."""
        with self._lock:
            row = self._conn.execute(
                "SELECT data FROM docs WHERE kind=? AND id=?", (kind, str(id))
            ).fetchone()
        return json.loads(row[0]) if row else None

    def meta(self, kind: str, id: Any) -> Optional[tuple]:
        """``(owner, ref, seq)`` of a document or ``None``."""
        with self._lock:
            return self._conn.execute(
                "SELECT owner, ref, seq FROM docs WHERE kind=? AND id=?", (kind, str(id))
            ).fetchone()

    def put(
        self,
        kind: str,
        id: Any,
        data: dict,
        owner: Any = None,
        ref: Any = None,
        touch: bool = True,
        if_absent: bool = False,
    ) -> bool:
        """Insert or replace a document; returns False if ``if_absent`` and it existed.

        ``touch`` moves it to the front of "newest first" listings; otherwise
        an existing document keeps its position.
        """
        with self._lock:
            existing = self.meta(kind, id)
            if existing is not None and if_absent:
                return False
            if existing is not None:
                owner = existing[0] if owner is None else owner
                ref = existing[1] if ref is None else ref
            seq = self.next_seq() if (existing is None or touch) else existing[2]
            self._conn.execute(
                "INSERT OR REPLACE INTO docs (kind, id, owner, ref, seq, data) "
                "VALUES (?,?,?,?,?,?)",
                (
                    kind,
                    str(id),
                    None if owner is None else str(owner),
                    None if ref is None else str(ref),
                    seq,
                    json.dumps(data),
                ),
            )
            return True

    def delete(self, kind: str, id: Any) -> bool:
        """Delete a document; True if it existed."""
        with self._lock:
            cur = self._conn.execute("DELETE FROM docs WHERE kind=? AND id=?", (kind, str(id)))
            return cur.rowcount > 0

    def list(
        self, kind: str, owner: Any = None, ref: Any = None, limit: Optional[int] = None
    ) -> builtins.list:
        """Documents of a kind, newest first, optionally filtered by owner/ref."""
        sql = "SELECT data FROM docs WHERE kind=?"
        args: builtins.list = [kind]
        if owner is not None:
            sql += " AND owner=?"
            args.append(str(owner))
        if ref is not None:
            sql += " AND ref=?"
            args.append(str(ref))
        sql += " ORDER BY seq DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [json.loads(r[0]) for r in rows]

    def find_ref(self, kind: str, ref: Any) -> Optional[dict]:
        """The newest document of a kind with the given ``ref``."""
        found = self.list(kind, ref=ref, limit=1)
        return found[0] if found else None

    # -- turns --------------------------------------------------------------------
    def add_turn(self, chat_id: str, turn: dict) -> bool:
        """Insert a new turn as the newest of its chat; False if its id exists."""
        turn_id = turn["turn_key"]["turn_id"]
        with self._lock:
            if self.get_turn(chat_id, turn_id) is not None:
                return False
            self._conn.execute(
                "INSERT INTO turns (chat_id, turn_id, seq, pinned, data, human, author, text) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (
                    chat_id,
                    turn_id,
                    self.next_seq(),
                    int(bool(turn.get("is_pinned"))),
                    json.dumps(turn),
                    *_summary(turn),
                ),
            )
            return True

    def save_turn(self, chat_id: str, turn: dict) -> None:
        """Update an existing turn in place (keeps its position); inserts it if missing."""
        turn_id = turn["turn_key"]["turn_id"]
        with self._lock:
            cur = self._conn.execute(
                "UPDATE turns SET data=?, pinned=?, human=?, author=?, text=? "
                "WHERE chat_id=? AND turn_id=?",
                (
                    json.dumps(turn),
                    int(bool(turn.get("is_pinned"))),
                    *_summary(turn),
                    chat_id,
                    turn_id,
                ),
            )
            if cur.rowcount == 0:
                self.add_turn(chat_id, turn)

    def get_turn(self, chat_id: str, turn_id: str) -> Optional[dict]:
        """One turn or ``None``."""
        with self._lock:
            row = self._conn.execute(
                "SELECT data FROM turns WHERE chat_id=? AND turn_id=?", (chat_id, turn_id)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def turn_seq(self, chat_id: str, turn_id: str) -> Optional[int]:
        """Ordering position of a turn, or ``None``."""
        with self._lock:
            row = self._conn.execute(
                "SELECT seq FROM turns WHERE chat_id=? AND turn_id=?", (chat_id, turn_id)
            ).fetchone()
        return int(row[0]) if row else None

    def turns_page(
        self,
        chat_id: str,
        before_seq: Optional[int] = None,
        limit: Optional[int] = None,
        pinned_only: bool = False,
        upto_seq: Optional[int] = None,
    ) -> builtins.list:
        """``[(seq, turn), ...]`` newest first."""
        sql = "SELECT seq, data FROM turns WHERE chat_id=?"
        args: builtins.list = [chat_id]
        if before_seq is not None:
            sql += " AND seq<?"
            args.append(before_seq)
        if upto_seq is not None:
            sql += " AND seq<=?"
            args.append(upto_seq)
        if pinned_only:
            sql += " AND pinned=1"
        sql += " ORDER BY seq DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [(int(s), json.loads(d)) for s, d in rows]

    def history(
        self, chat_id: str, before_seq: Optional[int] = None, limit: int = 40
    ) -> builtins.list:
        """``[(is_human, author name, text), ...]`` of the turns before ``before_seq``, newest
        first: what a brain reads, without decoding whole turns (a message's biggest cost
        in the emulator when it did)."""
        sql = (
            "SELECT human, author, text, CASE WHEN text IS NULL THEN data END "
            "FROM turns WHERE chat_id=?"
        )
        args: builtins.list = [chat_id]
        if before_seq is not None:
            sql += " AND seq<?"
            args.append(before_seq)
        sql += " ORDER BY seq DESC LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [
            (bool(h), a, t) if t is not None else _summary(json.loads(d)) for h, a, t, d in rows
        ]

    def delete_turns(self, chat_id: str, turn_ids: Iterable[str]) -> int:
        """Delete turns by id; returns how many existed."""
        n = 0
        with self._lock:
            for tid in turn_ids:
                cur = self._conn.execute(
                    "DELETE FROM turns WHERE chat_id=? AND turn_id=?", (chat_id, str(tid))
                )
                n += cur.rowcount
        return n

    def count_turns(self, chat_id: str) -> int:
        """Number of turns in a chat."""
        with self._lock:
            return int(
                self._conn.execute(
                    "SELECT count(*) FROM turns WHERE chat_id=?", (chat_id,)
                ).fetchone()[0]
            )

    # -- blobs --------------------------------------------------------------------
    def put_blob(self, name: str, mime: str, data: bytes) -> None:
        """Store a media file."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO blobs (name, mime, data) VALUES (?,?,?)", (name, mime, data)
            )

    def get_blob(self, name: str) -> Optional[tuple]:
        """``(mime, bytes)`` of a stored media file, or ``None``."""
        with self._lock:
            row = self._conn.execute(
                "SELECT mime, data FROM blobs WHERE name=?", (name,)
            ).fetchone()
        return (row[0], bytes(row[1])) if row else None

    # -- inspection helpers for tests -----------------------------------------------
    def turns(self, chat_id: str) -> builtins.list:
        """All turns of a chat as raw dicts, newest first."""
        return [t for _, t in self.turns_page(chat_id)]

    def turn(self, chat_id: str, turn_id: str) -> Optional[dict]:
        """One turn as a raw dict (alias of :meth:`get_turn`)."""
        return self.get_turn(chat_id, turn_id)

    def chat(self, chat_id: str) -> Optional[dict]:
        """A chat (v2) as stored, or ``None``."""
        return self.get("chat", chat_id)

    def chats(self, user_id: Any = None) -> builtins.list:
        """Chats, newest activity first, optionally only those of one user."""
        return self.list("chat", owner=user_id)

    def character(self, character_id: str) -> Optional[dict]:
        """A character as stored, or ``None``."""
        return self.get("character", character_id)

    def user(self, username: str) -> Optional[dict]:
        """A user as stored, by username."""
        for u in self.list("user"):
            if u.get("username") == username:
                return u
        return None

    def user_by_token(self, token: str) -> Optional[dict]:
        """The user owning an API token, or ``None``."""
        if not token:
            return None
        return self.find_ref("user", token)


def primary_text(turn: dict) -> str:
    """Text of a turn's primary candidate (first candidate as a fallback)."""
    cands = turn.get("candidates") or []
    for c in cands:
        if c.get("candidate_id") == turn.get("primary_candidate_id"):
            return c.get("raw_content", "")
    return cands[0].get("raw_content", "") if cands else ""


def _summary(turn: dict) -> tuple:
    """What :meth:`State.history` returns of a turn, stored beside it."""
    author = turn.get("author") or {}
    return bool(author.get("is_human")), author.get("name", ""), primary_text(turn)
