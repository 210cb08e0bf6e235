"""Sphinx configuration of the caiclient documentation.

Build: ``sphinx-build -n -W --keep-going -b html docs docs/_build/html``
(or ``tox -e docs``). No extension fetches anything from the network.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.abspath("_ext"))

import caiclient

project = "caiclient"
author = "the caiclient authors"
copyright = "the caiclient authors"
release = caiclient.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "executed",  # docs/_ext/executed.py: cells run at build time (the Notebooks page)
]

# One docstring style: Google ("Args:", "Attributes:", "Returns:").
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True
napoleon_use_rtype = False

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
}

# Annotations written as strings under TYPE_CHECKING, resolved to the
# documented objects (``Account`` would otherwise be ambiguous between the
# model and the resource).
autodoc_type_aliases = {
    "Account": "caiclient.resources.account.Account",
    "WebSocketTransport": "caiclient.transport.ws.WebSocketTransport",
}

nitpicky = True
nitpick_ignore = [
    # The standard library: intersphinx would link these, but the docs build
    # must not fetch anything from the network.
    ("py:class", "datetime.datetime"),
    ("py:class", "pathlib.Path"),
    ("py:class", "os.PathLike"),
    ("py:class", "threading.Thread"),
    # Type variables of generic signatures (``Session.from_env() -> S``, ...).
    ("py:class", "caiclient.session.S"),
    ("py:class", "caiclient.models._base.M"),
    ("py:class", "caiclient.aio.C"),
    ("py:class", "caiclient.aio.T"),
    ("py:obj", "caiclient.aio.T"),
    # Private helpers of caiclient.aio that appear in signatures.
    ("py:class", "caiclient.aio._Runner"),
    ("py:class", "caiclient.aio._Deltas"),
    # The typed async resources exist only in the stub file caiclient/_aio_types.pyi.
    ("py:class", "AsyncAccount"),
    ("py:class", "AsyncPersonas"),
    ("py:class", "AsyncUsers"),
    ("py:class", "AsyncCharacters"),
    ("py:class", "AsyncChats"),
    ("py:class", "AsyncRooms"),
    ("py:class", "AsyncVoices"),
    ("py:class", "AsyncMedia"),
    ("py:class", "AsyncAuth"),
    # The ``ws_connect``/``connect`` arguments are typed with the alias
    # caiclient.transport.ws.Connect, imported under TYPE_CHECKING (a
    # callable alias cannot be a py:class target; it is documented as data).
    ("py:class", "Connect"),
]
nitpick_ignore_regex: list = []

exclude_patterns = ["_build"]
templates_path: list = []

html_theme = "furo"
html_title = f"caiclient {release}"
html_static_path: list = []

