"""The package's public names: all reachable from ``caiclient``, the heavy ones imported on first use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import caiclient


def _fresh(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return out.stdout.strip()


def test_import_caiclient_imports_no_heavy_dependency() -> None:
    loaded = json.loads(
        _fresh(
            "import json, sys, caiclient; "
            "print(json.dumps([m for m in ('requests', 'attrs', 'cattrs', 'asyncio', "
            "'websocket', 'caiclient.models', 'caiclient.session') if m in sys.modules]))"
        )
    )
    assert loaded == []


def test_names_are_imported_when_first_touched() -> None:
    out = _fresh(
        "import sys, caiclient; c = caiclient.aio.Client; t = caiclient.Turn; "
        "print(c.__module__, t.__module__, 'requests' in sys.modules, "
        "caiclient.Session is sys.modules['caiclient.session'].Session)"
    )
    assert out == "caiclient.aio caiclient.models True True"


def test_every_public_name_resolves_and_is_listed() -> None:
    for name in caiclient.__all__:
        assert getattr(caiclient, name) is not None, name
    assert set(caiclient.__all__) <= set(dir(caiclient))
    assert caiclient.models.Turn is caiclient.Turn
    assert caiclient.ParseError is caiclient.errors.ParseError


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        caiclient.no_such_thing  # noqa: B018
