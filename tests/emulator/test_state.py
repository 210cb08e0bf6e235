"""The emulator's store: the brain's history comes from summary columns, old files included."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from caiclient.emulator.state import State


def _turn(turn_id: str, text: str, human: bool, primary: str = "c1") -> dict:
    return {
        "turn_key": {"chat_id": "chat", "turn_id": turn_id},
        "author": {"is_human": human, "name": "Ann" if human else "Bot"},
        "candidates": [
            {"candidate_id": "c0", "raw_content": f"not {text}"},
            {"candidate_id": "c1", "raw_content": text},
        ],
        "primary_candidate_id": primary,
    }


def test_history_follows_inserts_updates_and_deletes() -> None:
    st = State()
    st.add_turn("chat", _turn("t1", "hello", True))
    st.add_turn("chat", _turn("t2", "hi there", False))
    st.add_turn("chat", _turn("t3", "how are you", True))
    assert st.history("chat") == [
        (True, "Ann", "how are you"),
        (False, "Bot", "hi there"),
        (True, "Ann", "hello"),
    ]
    st.save_turn("chat", _turn("t2", "edited", False, primary="c0"))  # another candidate
    st.delete_turns("chat", ["t3"])
    assert st.history("chat") == [(False, "Bot", "not edited"), (True, "Ann", "hello")]
    seq = st.turn_seq("chat", "t2")
    assert st.history("chat", before_seq=seq) == [(True, "Ann", "hello")]
    assert st.history("chat", limit=1) == [(False, "Bot", "not edited")]
    assert st.history("other") == []


def test_a_database_file_of_an_earlier_version_gains_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE turns (
            chat_id TEXT NOT NULL, turn_id TEXT NOT NULL, seq INTEGER NOT NULL,
            pinned INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL,
            PRIMARY KEY (chat_id, turn_id));
        """
    )
    old.execute(
        "INSERT INTO turns (chat_id, turn_id, seq, pinned, data) VALUES (?,?,?,?,?)",
        ("chat", "t1", 1, 0, json.dumps(_turn("t1", "from before", True))),
    )
    old.commit()
    old.close()
    st = State(str(path))
    st.add_turn("chat", _turn("t2", "from now", False))
    assert st.history("chat") == [(False, "Bot", "from now"), (True, "Ann", "from before")]
    st.close()
