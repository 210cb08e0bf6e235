"""The cells of ``.. executed::`` run here: no Sphinx or docutils needed, so the test suite
(tests/test_docs_pages.py) runs the same cells with only the ``test`` extra installed."""

from __future__ import annotations

import ast
import base64
import contextlib
import html as html_lib
import io
import re
from typing import Any, Dict, Optional, Tuple

_EMULATOR: Any = None


def _namespace() -> Dict[str, Any]:
    global _EMULATOR
    import caiclient
    from caiclient import emulator

    if _EMULATOR is None:
        _EMULATOR = emulator.serve().start()
    session = caiclient.Session(
        _EMULATOR.token, endpoints=caiclient.Endpoints.for_emulator(_EMULATOR.url)
    )
    return {"caiclient": caiclient, "emu": _EMULATOR, "s": session}


def stop() -> None:
    """Stop the build's emulator (when the build ends)."""
    global _EMULATOR
    if _EMULATOR is not None:
        _EMULATOR.stop()
        _EMULATOR = None


def run_cell(code: str, namespace: Dict[str, Any]) -> Tuple[str, Optional[str], Optional[str]]:
    """Run ``code``: (what it printed, the result's HTML, the result's text)."""
    from IPython.lib.pretty import pretty

    tree = ast.parse(code)
    last: Optional[ast.expr] = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body.pop().value
    out = io.StringIO()
    result: Any = None
    with contextlib.redirect_stdout(out):
        exec(compile(tree, "<cell>", "exec"), namespace)
        if last is not None:
            result = eval(compile(ast.Expression(last), "<cell>", "eval"), namespace)
    if result is None:
        return out.getvalue(), None, None
    html = getattr(result, "_repr_html_", None)
    rendered = html() if callable(html) else None
    if rendered and _EMULATOR is not None:
        rendered = _inline_images(rendered, _EMULATOR.url)
    return out.getvalue(), rendered, None if rendered else pretty(result)


def _inline_images(page: str, base: str) -> str:
    """Images served by the build's emulator, embedded (it is gone once the build ends)."""
    import requests

    def embed(found: re.Match[str]) -> str:
        url = html_lib.unescape(found.group(1))
        resp = requests.get(url, timeout=10)
        kind = resp.headers.get("Content-Type", "image/png").split(";")[0]
        data = base64.b64encode(resp.content).decode("ascii")
        return f'src="data:{kind};base64,{data}"'

    return re.sub(r'src="(' + re.escape(base) + r'[^"]*)"', embed, page)
