"""``.. executed::``: a Python cell run at build time, shown with its real output.

The cells of one page share a namespace that starts with ``caiclient``, a
bundled emulator (``emu``, started once per build, no network) and a
session on it (``s``). A cell's last line, if it is an expression, is its
result: shown as the HTML a notebook would show (``_repr_html_``), else as
IPython's pretty text; what the cell prints is shown too. Running a cell
lives in ``executed_cells.py``, which the tests call on the same cells.
"""

from __future__ import annotations

from typing import Any, Dict, List

from docutils import nodes
from executed_cells import _namespace, run_cell, stop
from sphinx.util.docutils import SphinxDirective


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
