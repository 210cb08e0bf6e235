"""Finding what the user named: a character by name or id."""

from __future__ import annotations

import argparse
import re
from typing import List

import caiclient
from caiclient import errors
from caiclient.cli._core import EXIT_API, EXIT_USAGE, CliError
from caiclient.cli._output import clip, count, table
from caiclient.models import Character

_ID_LIKE = re.compile(r"[A-Za-z0-9_-]+")
MAX_CANDIDATES = 10


def _not_found_hint(args: argparse.Namespace) -> str:
    ids = getattr(args, "emulator_character_ids", None)
    if ids:
        return f"the emulator's characters: {', '.join(ids)}"
    return "find ids with `caiclient search NAME`"


def get_character(args: argparse.Namespace, session: caiclient.Session, cid: str) -> Character:
    """The character ``cid``; a missing one is a :class:`CliError` with a hint where to look."""
    try:
        return session.characters.get(cid)
    except errors.NotFound:
        raise CliError(
            f"no character with id {cid!r}", EXIT_API, hint=_not_found_hint(args)
        ) from None


def character_lines(characters: List[Character], *, header: bool = False) -> List[str]:
    """One aligned line per character: name, id, interactions, title (a header line first)."""
    rows = [("NAME", "ID", "INTERACTIONS", "TITLE")] if header else []
    rows += [
        (clip(c.name, 24), c.character_id, count(c.num_interactions), clip(c.title, 50))
        for c in characters
    ]
    return table(rows, right=(2,))


def best_match(query: str, found: List[Character]) -> List[Character]:
    """The characters ``query`` may mean, best first: one when it is clear.

    A name equal to the query (ignoring case and spaces at the ends) wins
    when it is the only one; otherwise one search result is clear enough;
    anything else is ambiguous.
    """
    wanted = query.strip().casefold()
    exact = [c for c in found if c.name.strip().casefold() == wanted]
    if len(exact) == 1:
        return exact
    return exact or found


def resolve_character(
    args: argparse.Namespace, session: caiclient.Session, name_or_id: str
) -> Character:
    """The character a user named by id or by name (searching, picking the best match).

    Something shaped like an id is tried as one first. A name with several
    plausible matches is a usage error listing them (exit code 2).
    """
    text = name_or_id.strip()
    if not text:
        raise CliError("the character's name or id is empty", EXIT_USAGE)
    id_like = bool(_ID_LIKE.fullmatch(text))
    if id_like:
        try:
            return session.characters.get(text)
        except (errors.NotFound, errors.ValidationError):
            pass
    matches = best_match(text, session.characters.search(text))
    if len(matches) == 1:
        return matches[0]
    if not matches:
        what = f"with id {text!r}" if id_like else f"named {text!r}"
        raise CliError(f"no character {what}", EXIT_API, hint=_not_found_hint(args))
    shown = matches[:MAX_CANDIDATES]
    more = f" (the first {len(shown)} shown)" if len(matches) > len(shown) else ""
    raise CliError(
        f"{len(matches)} characters match {text!r}{more}",
        EXIT_USAGE,
        hint="pass the id of the one you mean",
        details=character_lines(shown),
    )
