"""``.. executed::``: a Python cell run at build time, shown with its real output.

The cells of one page share a namespace that starts with ``caiclient``, a
bundled emulator (``emu``, started once per build, no network) and a
session on it (``s``). A cell's last line, if it is an expression, is its
result: shown as the HTML a notebook would show (``_repr_html_``), else as
IPython's pretty text; what the cell prints is shown too. Tests call
:func:`run_cell` on the same cells (tests/test_docs.py).
"""

from __future__ import annotations

import ast
import base64
import contextlib
import html as html_lib
import io
import re
from typing import Any, Dict, List, Optional, Tuple

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

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


class Executed(SphinxDirective):
    """The directive: the cell's code, then what it printed and its result."""

    has_content = True

    def run(self) -> List[nodes.Node]:
        env = self.env
        if not hasattr(env, "executed_docs"):
            env.executed_docs = set()
        env.executed_docs.add(env.docname)
        spaces = env.temp_data.setdefault("executed_namespaces", {})
        namespace = spaces.get(env.docname)
        if namespace is None:
            namespace = spaces[env.docname] = _namespace()
        code = "\n".join(self.content)
        printed, html, text = run_cell(code, namespace)
        shown: List[nodes.Node] = [nodes.literal_block(code, code, language="python")]
        if printed:
            shown.append(nodes.literal_block(printed, printed, language="text"))
        if html:
            box = f'<div class="executed-output">{html}</div>'
            shown.append(nodes.raw("", box, format="html"))
        elif text:
            shown.append(nodes.literal_block(text, text, language="text"))
        return shown


def setup(app: Any) -> Dict[str, Any]:
    app.add_directive("executed", Executed)
    app.connect("build-finished", lambda app, exc: stop())
    # Pages with cells are run again on every build (their output is live).
    app.connect(
        "env-get-outdated",
        lambda app, env, added, changed, removed: sorted(getattr(env, "executed_docs", ())),
    )
    return {"parallel_read_safe": False, "parallel_write_safe": True}
