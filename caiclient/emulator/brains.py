"""Reply generators ("brains") of the emulator.

A brain turns a character, the chat history and the user's text into the
reply text. The emulator streams that text as cumulative chunks.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.request
from typing import Optional, Protocol, runtime_checkable

__all__ = ["Brain", "CharacterBrain", "EchoBrain", "OpenAIBrain", "chunks"]


@runtime_checkable
class Brain(Protocol):
    """What the emulator needs from a reply generator.

    ``character`` has at least ``name``, ``title``, ``greeting``, ``description``
    and ``definition``; ``history`` is a list of ``{"role": "user"|"character",
    "name": str, "text": str}`` oldest first (not including ``user_text``);
    ``variant`` is 0 for a first reply and grows for regenerated candidates.
    Set a class attribute ``blocking = True`` if :meth:`reply` does I/O: it is
    then run in a worker thread.
    """

    def reply(self, character: dict, history: list, user_text: str, variant: int = 0) -> str:
        """Return the full reply text."""
        ...


_GESTURES = (
    "tilts {pr} head",
    "smiles warmly",
    "leans forward, interested",
    "taps {pr} chin thoughtfully",
    "raises an eyebrow",
    "laughs softly",
)
_OPENERS = (
    "That is a fine thing to bring up.",
    "I have been waiting for someone to ask me that.",
    "Let me think about it for a moment.",
    "What a curious way to put it.",
)
_CLOSERS = (
    "Tell me more, and we shall see where it leads.",
    "What made you think of it just now?",
    "Shall we explore it together?",
    "I would love to hear what you make of it.",
)


def _pick(options: tuple, key: str) -> str:
    return options[hashlib.sha256(key.encode()).digest()[0] % len(options)]


def _first_sentence(text: str) -> str:
    text = (text or "").replace("{{char}}", "I").replace("{{user}}", "you").strip()
    text = text.splitlines()[0] if text else ""
    m = re.match(r"(.+?[.!?])(\s|$)", text)
    return (m.group(1) if m else text).strip()


class CharacterBrain:
    """Deterministic, in-character replies built from the character and the user's text.

    Example: ``*Ada tilts their head.* You say: "hi" That is a fine thing to bring
    up. I am a warm, precise mathematician ... Tell me more, ...``. The same
    inputs always give the same text; ``variant`` changes it (regenerations).
    """

    blocking = False

    def reply(self, character: dict, history: list, user_text: str, variant: int = 0) -> str:
        """Build the reply text."""
        name = character.get("name") or "Character"
        key = f"{name}|{user_text}|{variant}|{len(history)}"
        gesture = _pick(_GESTURES, key + "g").format(pr="their")
        opener = _pick(_OPENERS, key + "o")
        closer = _pick(_CLOSERS, key + "c")
        about = _first_sentence(character.get("description") or character.get("definition") or "")
        if about:
            about = about[0].lower() + about[1:] if about[:2] != "I " else about
            about = (
                f"As you know, I am {about.rstrip('.')}." if not about.startswith("I ") else about
            )
        said = user_text.strip() or "nothing at all"
        verb = "ask" if said.endswith("?") else "say"
        parts = [f"*{name} {gesture}.*", f'You {verb}: "{said}"', opener]
        if about:
            parts.append(about)
        if variant:
            parts.append(f"(Take {variant + 1}.)")
        parts.append(closer)
        return " ".join(parts)


class EchoBrain(CharacterBrain):
    """Alias of :class:`CharacterBrain` (kept for readability in tests)."""


class OpenAIBrain:
    """Replies from an OpenAI-compatible ``POST {base_url}/chat/completions`` endpoint.

    Args:
        base_url: e.g. ``http://127.0.0.1:8000/v1``.
        model: model name sent in the request.
        api_key: bearer token, or ``None`` for no ``Authorization`` header.
        timeout: seconds for the HTTP call.
    """

    blocking = True

    def __init__(
        self, base_url: str, model: str, api_key: Optional[str] = None, timeout: float = 60.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout

    @classmethod
    def from_env(cls, base_url: str, model: str, api_key_env: Optional[str] = None) -> OpenAIBrain:
        """Build one reading the API key from the environment variable ``api_key_env``."""
        return cls(base_url, model, os.environ.get(api_key_env) if api_key_env else None)

    def messages(self, character: dict, history: list, user_text: str) -> list:
        """The chat-completions ``messages`` for a request."""
        name = character.get("name") or "Character"
        system = (
            (
                f"You are {name}, {character.get('title') or 'a character'}. Stay in character.\n"
                f"Description: {character.get('description') or ''}\n"
                f"Definition: {character.get('definition') or ''}"
            )
            .replace("{{char}}", name)
            .replace("{{user}}", "the user")
        )
        msgs = [{"role": "system", "content": system}]
        for item in history:
            role = "user" if item.get("role") == "user" else "assistant"
            msgs.append({"role": role, "content": item.get("text", "")})
        msgs.append({"role": "user", "content": user_text})
        return msgs

    def reply(self, character: dict, history: list, user_text: str, variant: int = 0) -> str:
        """Call the endpoint and return the first choice's content."""
        body = {
            "model": self.model,
            "messages": self.messages(character, history, user_text),
            "stream": False,
        }
        if variant:
            body["temperature"] = 1.0
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(
            self.base_url + "/chat/completions", data=json.dumps(body).encode(), headers=headers
        )
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            data = json.loads(resp.read().decode("utf-8"))
        return str(data["choices"][0]["message"]["content"])


def chunks(text: str, min_frames: int = 3, words_per_frame: int = 4) -> list:
    """Cumulative prefixes of ``text`` cut at word boundaries (the streamed frames).

    Returns at least ``min_frames`` prefixes when the text has that many words;
    the last one is the whole text.
    """
    ends = [m.end() for m in re.finditer(r"\S+", text)]
    if not ends:
        return [text]
    step = words_per_frame
    if len(ends) < min_frames * step:
        step = max(1, len(ends) // min_frames)
    cuts = ends[step - 1 :: step]
    if not cuts or cuts[-1] != ends[-1]:
        cuts.append(ends[-1])
    out = [text[:c] for c in cuts]
    out[-1] = text
    return out
