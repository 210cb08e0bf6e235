"""Notebook output: ``_repr_pretty_``, ``_repr_html_``, speech that plays, streams shown in place."""

from __future__ import annotations

import base64
import subprocess
import sys
from typing import Any, List

import pytest
from IPython.lib.pretty import pretty

import caiclient
from caiclient.models import Speech, TurnList


@pytest.fixture
def ada(cai_session: caiclient.Session) -> caiclient.models.Character:
    return cai_session.characters.search("Ada")[0]


def test_import_does_not_import_ipython() -> None:
    code = "import sys, caiclient, caiclient.models; print('IPython' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_pretty_is_multi_line_and_skips_defaults(ada: Any) -> None:
    text = pretty(ada)
    lines = text.splitlines()
    assert lines[0] == "Character("
    assert lines[1].strip().startswith("character_id='")
    assert any(line.strip().startswith("name='Ada'") for line in lines)
    assert "raw=" not in text and "copyable=" not in text  # defaults and raw left out
    assert text.endswith(")")


def test_character_html_card(ada: Any, cai_emulator: Any) -> None:
    page = ada._repr_html_()
    assert "<b>Ada</b>" in page and "Analytical engine enthusiast" in page
    assert f'<img src="{cai_emulator.url}/cdn/' in page  # the emulator's CDN, not the real one
    assert "interactions" in page and "likes" in page
    assert ada.character_id in page


def test_html_is_escaped(cai_session: caiclient.Session, ada: Any) -> None:
    chat, _ = cai_session.chats.create(ada.character_id)
    turn = cai_session.chats.send(ada.character_id, chat.chat_id, "<script>alert(1)</script>")
    mine = cai_session.chats.page(chat.chat_id).turns[1]
    assert "<script>" not in mine._repr_html_() and "&lt;script&gt;" in mine._repr_html_()
    assert "caiclient-turn" in turn._repr_html_()


def test_turns_as_bubbles(cai_session: caiclient.Session, ada: Any) -> None:
    chat, greeting = cai_session.chats.create(ada.character_id)
    cai_session.chats.send(ada.character_id, chat.chat_id, "Hello there")
    page = cai_session.chats.page(chat.chat_id)
    html = page._repr_html_()
    assert html.count('class="caiclient-turn"') == len(page.turns) == 3
    assert html.index(greeting.text[:20]) < html.index("Hello there")  # oldest first
    assert "align-self:flex-end" in html  # yours on the right
    turns = TurnList(cai_session.chats.turns(chat.chat_id))[::-1]
    assert isinstance(turns, TurnList) and len(turns) == 3
    assert turns._repr_html_().count('class="caiclient-turn"') == 3


def test_voice_html(cai_session: caiclient.Session) -> None:
    voice = cai_session.voices.search("Calm")[0]
    html = voice._repr_html_()
    assert "Calm" in html and voice.voice_id in html and 'class="caiclient-voice"' in html


def test_speech_plays_in_a_notebook_and_stays_bytes(cai_session: caiclient.Session) -> None:
    from IPython.display import Audio

    chat = cai_session.chats.recent()[0]
    turn = cai_session.chats.page(chat.chat_id).turns[0]
    audio = cai_session.media.speech(
        chat.chat_id, turn.turn_id, turn.primary_candidate_id or "", "sys-voice-calm"
    )
    assert isinstance(audio, Speech) and isinstance(audio, bytes)
    assert audio.mimetype in ("audio/wav", "audio/mpeg")
    html = audio._repr_html_()
    assert f"data:{audio.mimetype};base64," in html
    encoded = html.split("base64,")[1].split('"')[0]
    assert base64.b64decode(encoded) == bytes(audio)
    assert Audio(data=audio).data == bytes(audio)
    assert repr(audio).startswith("<Speech audio/")


class _Handle:
    def __init__(self) -> None:
        self.updates: List[str] = []

    def update(self, obj: Any) -> None:
        self.updates.append(obj.data)


def test_stream_display_updates_one_output_in_place(
    cai_session: caiclient.Session, ada: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import IPython
    import IPython.display

    shown: List[Any] = []
    handle = _Handle()

    def display(obj: Any, display_id: bool = False) -> _Handle:
        shown.append(obj)
        assert display_id is True
        return handle

    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", display)
    chat, _ = cai_session.chats.create(ada.character_id)
    final = cai_session.chats.stream(ada.character_id, chat.chat_id, "Hello").display()
    assert len(shown) == 1  # one output...
    assert len(handle.updates) >= 2  # ...redrawn as the reply grew
    assert final.text and final.text[-20:] in handle.updates[-1].replace("&#x27;", "'")


def test_stream_display_outside_a_notebook_prints(
    cai_session: caiclient.Session, ada: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    chat, _ = cai_session.chats.create(ada.character_id)
    final = cai_session.chats.stream(ada.character_id, chat.chat_id, "Hello").display()
    assert capsys.readouterr().out == final.text + "\n"
