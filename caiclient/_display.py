"""How models look in IPython and Jupyter: ``_repr_pretty_`` and ``_repr_html_`` bodies.

The models and :class:`~caiclient.resources._replies.ReplyStream` hold only
tiny hooks that call into this module; IPython is imported only when a
stream is displayed in a notebook, never when caiclient is imported.
"""

from __future__ import annotations

import base64
import html
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterable, List, Optional

if TYPE_CHECKING:  # pragma: no cover
    from caiclient.models import Character, Turn, Voice
    from caiclient.resources._replies import ReplyStream

_e = html.escape

_CARD = (
    "display:flex;gap:12px;align-items:center;font-family:system-ui,sans-serif;"
    "border:1px solid #ddd;border-radius:10px;padding:10px 14px;max-width:40rem"
)
_BUBBLES = "font-family:system-ui,sans-serif;max-width:42rem;display:flex;flex-direction:column"
_BUBBLE = "margin:4px 0;padding:8px 12px;border-radius:14px;max-width:80%;white-space:pre-wrap"
_HUMAN = "align-self:flex-end;background:#dbeafe"
_CHARACTER = "align-self:flex-start;background:#f1f1f4"
_META = "font-size:.8em;color:#666;margin-bottom:2px"


# ----------------------------------------------------------------- _repr_pretty_


def pretty(obj: Any, p: Any, cycle: bool) -> None:
    """IPython's pretty printer for a model: one field per line, defaults left out."""
    from caiclient.models._base import _short_repr, shown_fields

    name = type(obj).__name__
    if cycle:
        p.text(f"{name}(...)")
        return
    fields = shown_fields(obj)
    with p.group(4, f"{name}(", ")"):
        for i, (field, value) in enumerate(fields):
            if i:
                p.text(",")
            p.breakable()
            p.text(f"{field}=")
            if isinstance(value, list) and value and hasattr(value[0], "_repr_pretty_"):
                p.pretty(value)
            else:
                p.text(_short_repr(value, limit=200))


# ------------------------------------------------------------------- _repr_html_


def _count(n: Optional[int]) -> str:
    return "" if n is None else f"{n:,}"


def _when(value: Optional[datetime]) -> str:
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%d %H:%M")


def character_html(c: Character) -> str:
    """A card: avatar, name, title, creator, interactions and likes."""
    img = ""
    if c.avatar is not None:
        img = (
            f'<img src="{_e(c.avatar.url(80))}" alt="" width="64" height="64" '
            'style="border-radius:50%;object-fit:cover">'
        )
    facts = []
    if c.author_username:
        facts.append(f"by @{_e(c.author_username)}")
    if c.num_interactions is not None:
        facts.append(f"{_count(c.num_interactions)} interactions")
    if c.upvotes is not None:
        facts.append(f"{_count(c.upvotes)} likes")
    return (
        f'<div class="caiclient-character" style="{_CARD}">{img}<div>'
        f"<div><b>{_e(c.name)}</b></div>"
        f'<div style="color:#444">{_e(c.title)}</div>'
        f'<div style="font-size:.85em;color:#666">{" · ".join(facts)}</div>'
        f'<div style="font-size:.75em;color:#999"><code>{_e(c.character_id)}</code></div>'
        "</div></div>"
    )


def _bubble(t: Turn) -> str:
    who = t.author_name or ("You" if t.author_is_human else "Character")
    meta = " · ".join(p for p in (_e(who), _e(_when(t.create_time))) if p)
    if t.is_pinned:
        meta += " · 📌"
    side = _HUMAN if t.author_is_human else _CHARACTER
    return (
        f'<div class="caiclient-turn" style="{_BUBBLE};{side}">'
        f'<div style="{_META}">{meta}</div>{_e(t.text)}</div>'
    )


def turns_html(turns: Iterable[Turn]) -> str:
    """Chat bubbles, in the order given (yours on the right)."""
    return (
        f'<div class="caiclient-turns" style="{_BUBBLES}">'
        + "".join(_bubble(t) for t in turns)
        + "</div>"
    )


def turn_html(t: Turn) -> str:
    """One chat bubble."""
    return turns_html([t])


def voice_html(v: Voice) -> str:
    """A voice: name, description, gender, creator, and its preview when there is one."""
    facts = [
        p
        for p in (
            v.gender,
            v.visibility.lower(),
            f"@{v.creator_username}" if v.creator_username else "",
        )
        if p
    ]
    preview = ""
    if v.preview_audio_url:
        preview = f'<audio controls preload="none" src="{_e(v.preview_audio_url)}"></audio>'
    return (
        f'<div class="caiclient-voice" style="{_CARD}"><div>'
        f"<div><b>🔊 {_e(v.name)}</b></div>"
        f'<div style="color:#444">{_e(v.description)}</div>'
        f'<div style="font-size:.85em;color:#666">{_e(" · ".join(facts))}</div>'
        f'<div style="font-size:.75em;color:#999"><code>{_e(v.voice_id)}</code></div>'
        f"{preview}</div></div>"
    )


# ------------------------------------------------------------------------ speech


def audio_mimetype(data: bytes) -> str:
    """The MIME type of audio bytes, from their first bytes."""
    if data[:4] == b"RIFF":
        return "audio/wav"
    if data[:4] == b"OggS":
        return "audio/ogg"
    if data[:4] == b"fLaC":
        return "audio/flac"
    return "audio/mpeg"


class Speech(bytes):
    """Audio bytes that a notebook plays: ``speech`` in a cell shows a player.

    Still plain :class:`bytes` for everything else (``open(...).write(speech)``,
    ``len(speech)``), and accepted by ``IPython.display.Audio(data=speech)``.
    """

    @property
    def mimetype(self) -> str:
        """``audio/wav``, ``audio/mpeg``, ... (from the first bytes)."""
        return audio_mimetype(self)

    def _repr_html_(self) -> str:
        data = base64.b64encode(self).decode("ascii")
        return (
            f'<audio controls="controls" class="caiclient-speech">'
            f'<source src="data:{self.mimetype};base64,{data}" type="{self.mimetype}">'
            "</audio>"
        )

    def __repr__(self) -> str:
        return f"<Speech {self.mimetype} {len(self):,} bytes>"


class TurnList(List["Turn"]):
    """A list of turns that shows as chat bubbles in a notebook (oldest first as given).

    ``TurnList(session.chats.turns(chat_id))[::-1]`` is a chat, newest last.
    """

    def __getitem__(self, index: Any) -> Any:
        got = super().__getitem__(index)
        return TurnList(got) if isinstance(index, slice) else got

    def _repr_html_(self) -> str:
        return turns_html(self)


# ---------------------------------------------------------------------- streams


def display_stream(reply: ReplyStream) -> Turn:
    """Show a streamed reply in one notebook output, updated in place; return the final turn.

    Outside IPython (a plain terminal or script) the text is printed as it
    arrives instead.
    """
    shell = None
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        pass
    with reply:
        if shell is None:
            for piece in reply.text_deltas():
                print(piece, end="", flush=True)
            print()
        else:
            from IPython.display import HTML, display

            handle = display(HTML(turns_html([])), display_id=True)
            for turn in reply:
                handle.update(HTML(turn_html(turn)))
        return reply.final()
