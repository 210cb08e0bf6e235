"""Look at every page of the built docs in a real browser (headless Chromium).

Usage::

    sphinx-build -n -W -b html docs docs/_build/html
    python tools/docs_check.py [docs/_build/html] [--shots DIR]

For each page it saves a full-height screenshot (``DIR/PAGE.png``, default
``docs/_build/screenshots``) to look at, and checks the DOM the browser
rendered: no docutils error box, the quickstart's guest/token table has one
row per group of methods, the Notebooks page shows its executed output
(a character card, chat bubbles, an audio player). Exit code 1 lists the
problems. Needs Chromium (``apt-get install chromium``); it is given a fresh
profile and no network access beyond ``file://``.
"""

from __future__ import annotations

import argparse
import html.parser
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--proxy-server=127.0.0.1:9",  # nothing but file:// loads
    "--proxy-bypass-list=<-loopback>",
]
SKIP = {"genindex.html", "search.html", "py-modindex.html"}


def chromium() -> str:
    """The Chromium binary."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("docs_check: no Chromium found (apt-get install chromium)")


def _run(browser: str, profile: str, args: List[str], url: str) -> str:
    proc = subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", *args, url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"chromium failed on {url}: {proc.stderr[-500:]}")
    return proc.stdout


class _Tables(html.parser.HTMLParser):
    """Tables as lists of rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: List[List[List[str]]] = []
        self._row: Optional[List[str]] = None
        self._cell: Optional[List[str]] = None
        self.classes: Dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: List) -> None:
        for name, value in attrs:
            if name == "class" and value:
                for c in value.split():
                    self.classes[c] = self.classes.get(c, 0) + 1
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self._row = []
            self.tables[-1].append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def check_page(name: str, dom: str) -> List[str]:
    """What is wrong with one rendered page."""
    problems = []
    parsed = _Tables()
    parsed.feed(dom)
    if parsed.classes.get("system-message") or parsed.classes.get("problematic"):
        problems.append(f"{name}: a docutils error box is shown")
    if name == "quickstart.html":
        tables = [t for t in parsed.tables if t and t[0][:1] == ["works as a guest"]]
        if len(tables) != 1:
            problems.append(f"{name}: the guest/token table is missing")
        else:
            rows = tables[0]
            if len(rows) != 5 or any(len(r) != 2 for r in rows):
                problems.append(f"{name}: the guest/token table has {len(rows)} rows, not 5")
            elif not rows[1][0].startswith("characters.get") or "chats.*" not in rows[1][1]:
                problems.append(f"{name}: a guest/token row is split: {rows[1]}")
    if name == "notebooks.html":
        for cls in ("caiclient-character", "caiclient-turn", "caiclient-voice", "caiclient-speech"):
            if not parsed.classes.get(cls):
                problems.append(f"{name}: the executed output has no {cls}")
    return problems


def main(argv: Optional[List[str]] = None) -> int:
    """Screenshot and check every page; the exit code."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("html", nargs="?", default="docs/_build/html")
    p.add_argument("--shots", default="docs/_build/screenshots")
    args = p.parse_args(argv)
    root = Path(args.html).resolve()
    pages = sorted(f for f in root.glob("*.html") if f.name not in SKIP)
    if not pages:
        raise SystemExit(f"docs_check: no pages in {root} (build the docs first)")
    shots = Path(args.shots)
    shots.mkdir(parents=True, exist_ok=True)
    browser = chromium()
    problems: List[str] = []
    with tempfile.TemporaryDirectory(prefix="docs-check-") as profile:
        for page in pages:
            url = page.as_uri()
            dom = _run(browser, profile, ["--dump-dom", "--virtual-time-budget=2000"], url)
            problems += check_page(page.name, dom)
            shot = shots / (page.stem + ".png")
            _run(browser, profile, [f"--screenshot={shot}", "--window-size=1280,4000"], url)
            print(f"{page.name}: {shot}", flush=True)
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    print(f"{len(pages)} pages, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
