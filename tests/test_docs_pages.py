"""The docs show what the library really does: executed cells, and no repr it no longer prints."""

from __future__ import annotations

import importlib.util
import re
import textwrap
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import attrs
import pytest

import caiclient
from caiclient import models

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = [*sorted(DOCS.glob("*.rst")), DOCS.parent / "README.rst"]


def _executed_module() -> Any:
    path = DOCS / "_ext" / "executed_cells.py"  # needs no Sphinx: the `test` extra runs it
    spec = importlib.util.spec_from_file_location("executed_cells", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cells(page: Path) -> List[str]:
    """The code of the page's ``.. executed::`` cells."""
    cells = []
    lines = page.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.strip() == ".. executed::":
            body = []
            for follow in lines[i + 1 :]:
                if follow and not follow.startswith(" "):
                    break
                body.append(follow)
            cells.append(textwrap.dedent("\n".join(body)).strip())
    return cells


@pytest.fixture(scope="module")
def executed() -> Iterator[Any]:
    module = _executed_module()
    yield module
    module.stop()


def test_the_notebooks_page_runs_and_shows_real_output(executed: Any) -> None:
    cells = _cells(DOCS / "notebooks.rst")
    assert len(cells) >= 6
    namespace: Dict[str, Any] = executed._namespace()
    outputs: List[Tuple[str, Any, Any]] = [executed.run_cell(c, namespace) for c in cells]
    html = "".join(o[1] or "" for o in outputs)
    text = "".join((o[0] or "") + (o[2] or "") for o in outputs)
    assert "<caiclient.Session authenticated at " in text
    assert 'class="caiclient-character"' in html and "<b>Ada</b>" in html
    assert 'src="data:image/' in html  # the avatar is embedded: the build's emulator is gone later
    assert html.count('class="caiclient-turn"') >= 3 and 'class="caiclient-voice"' in html
    assert 'class="caiclient-speech"' in html and "base64," in html
    assert "Character(\n    character_id=" in text
    assert "<Conversation character=" in text and "<ReplyStream chat=" in text
    assert caiclient.Session.__name__ in text


# -- reprs written in the docs -----------------------------------------------------------

REPR_SHAPES = {
    "<caiclient.Session": re.compile(r"<caiclient\.Session (guest|authenticated) at [^\s>]+>"),
    "<ReplyStream": re.compile(r"<ReplyStream chat=\S+ (done|closed|streaming) text='[^']*'?>"),
    "<Conversation": re.compile(r"<Conversation character=\S+ chat=\S+>"),
    "<Speech": re.compile(r"<Speech audio/\w+ [\d,]+ bytes>"),
}


def _literal_lines(page: Path) -> Iterator[Tuple[int, str]]:
    yield from enumerate(page.read_text(encoding="utf-8").splitlines(), 1)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_no_page_shows_a_repr_the_library_no_longer_prints(page: Path) -> None:
    problems = []
    model_names = {name for name in models.__all__ if attrs.has(getattr(models, name, None))}
    for n, line in _literal_lines(page):
        for start, shape in REPR_SHAPES.items():
            for found in re.finditer(re.escape(start) + r" [^>`]*>", line):  # a repr, not a role
                if "..." in found.group(0):  # an abbreviation in prose
                    continue
                if not shape.fullmatch(found.group(0)):
                    problems.append(f"{page.name}:{n}: {found.group(0)}")
        for found in re.finditer(r"\b([A-Z][A-Za-z]+)\((\w+)=", line):
            name, field = found.groups()
            if name in model_names:
                fields = {f.name for f in attrs.fields(getattr(models, name))}
                if field not in fields:
                    problems.append(f"{page.name}:{n}: {name} has no field {field!r}")
    assert not problems


def test_the_repr_check_catches_an_old_repr(tmp_path: Path) -> None:
    page = tmp_path / "old.rst"
    page.write_text("    <caiclient.Session token=abc>\n    Character(id='x')\n", encoding="utf-8")
    with pytest.raises(AssertionError):
        test_no_page_shows_a_repr_the_library_no_longer_prints(page)


# -- tools/docs_check.py's page checks (the browser part needs Chromium; these need none) ---


def _docs_check() -> Any:
    path = DOCS.parent / "tools" / "docs_check.py"
    spec = importlib.util.spec_from_file_location("docs_check", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _table(rows: List[List[str]]) -> str:
    cells = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<html><body><table>{cells}</table></body></html>"


def test_docs_check_finds_a_split_guest_table_and_error_boxes() -> None:
    check = _docs_check().check_page
    good = [
        ["works as a guest", "needs a token"],
        ["characters.get, search", "chats.* (create)"],
        ["users.get", "users.follow"],
        ["voices.get", "voices.mine"],
        ["ping()", "media.*"],
    ]
    assert check("quickstart.html", _table(good)) == []
    split = [*good[:2], ["search_creators, featured,", "history, ...), account.*,"], *good[2:]]
    assert check("quickstart.html", _table(split))  # one item over two rows
    boxed = '<div class="system-message">ERROR</div>'
    assert check("api.html", boxed) == ["api.html: a docutils error box is shown"]
    assert len(check("notebooks.html", "<p>no output</p>")) == 4
