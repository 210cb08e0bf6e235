"""Schema drift: what the tolerant parser would silently paper over.

The converter in :mod:`caiclient.models._base` is lenient on purpose: a field
that is missing, null or of an unusable type gets its default, so a change on
the service's side never breaks a whole call. That leniency hides the change,
too. :func:`find_drift` is the strict pass over the same parse: it runs the
tolerant converter, then compares what it produced with the JSON it was given
and reports, field by field,

- ``missing_required``: an identity field is absent (the tolerant parse fails);
- ``retyped``: a value is present but of a type the field cannot use, so the
  default was used instead (or list items were dropped);
- ``missing``: an optional field is absent (the default was used; the service
  omits empty and default values, protobuf-style, so this alone is normal);
- ``new``: a key no field reads (the service added something; reachable
  through ``model.raw``).

It reports paths and JSON type names only, never values: its output is safe to
paste into an issue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union, get_args, get_origin

import attrs

from caiclient.errors import ParseError
from caiclient.models._base import _WIRE, Model, parse

__all__ = ["Drift", "find_drift"]

# How many items of a list are checked (the first ones are representative).
_LIST_SAMPLE = 5


@attrs.frozen
class Drift:
    """One difference between a JSON document and the model that reads it.

    Attributes:
        path: where, e.g. ``"Account.user.username"`` (list items as ``[0]``).
        kind: ``"missing_required"``, ``"retyped"``, ``"missing"`` or ``"new"``.
        expected: the type the model reads there (``"string"``, ``"Avatar"``...).
        got: the JSON type found there (``"object"``, ``"number"``...), if any.
    """

    path: str
    kind: str
    expected: str = ""
    got: str = ""

    def __str__(self) -> str:
        detail = {
            "missing_required": f"required {self.expected} is missing",
            "retyped": f"expected {self.expected}, got {self.got}: the default was used",
            "missing": f"{self.expected} absent: the default was used",
            "new": f"new field ({self.got}) that the library ignores",
        }.get(self.kind, self.kind)
        return f"{self.path}: {detail}"


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _unwrap(tp: Any) -> Any:
    """``Optional[X]`` -> ``X`` (other unions stay as they are)."""
    if get_origin(tp) is Union:
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _type_name(tp: Any) -> str:
    tp = _unwrap(tp)
    origin = get_origin(tp)
    if origin in (list, tuple, List, Sequence) or tp in (list, tuple):
        args = get_args(tp)
        return f"array of {_type_name(args[0])}" if args else "array"
    if origin in (dict, Dict, Mapping) or tp in (dict, Mapping):
        return "object"
    names = {str: "string", int: "integer", float: "number", bool: "boolean", datetime: "timestamp"}
    if tp in names:
        return names[tp]
    if isinstance(tp, type):
        return tp.__name__
    return "value"


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Model)


def _lookup(
    data: Mapping[str, Any], keys: Sequence[Tuple[str, ...]]
) -> Tuple[Any, Tuple[str, ...], bool]:
    """The first present, non-null value of ``keys``, the key used, and whether any was present."""
    present = False
    for key in keys:
        node: Any = data
        found = True
        for part in key:
            if not isinstance(node, Mapping) or part not in node:
                found = False
                break
            node = node[part]
        if found:
            present = True
            if node is not None:
                return node, key, True
    return None, keys[0], present


def _default_of(f: Any) -> Any:
    default = f.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return default.factory()
    return default


def _same_as_default(value: Any, default: Any) -> bool:
    """Whether a wire value is just the default spelled the wire's way (``"0"``, ``"false"``)."""
    if default is None:
        return value in ("", [], {})  # an empty value read as "none"
    if isinstance(value, Mapping) and isinstance(default, Mapping):
        return not value and not default
    try:
        if value == default:
            return True
    except Exception:  # pragma: no cover - exotic __eq__
        return False
    if isinstance(value, str) and default is not None and not isinstance(default, str):
        return value.strip().lower() == str(default).lower() or (
            isinstance(default, bool) and value.strip().lower() == str(int(default))
        )
    if isinstance(value, (list, tuple)) and isinstance(default, (list, tuple)):
        return not value and not default
    return False


def _wire_keys(f: Any) -> Tuple[Tuple[str, ...], ...]:
    keys: Tuple[Tuple[str, ...], ...] = f.metadata.get(_WIRE) or ((f.name,),)
    return keys


def find_drift(cls: type, data: Any, path: Optional[str] = None) -> List[Drift]:
    """Every difference between ``data`` (decoded JSON) and what model ``cls`` reads.

    An empty list means the tolerant parse used every value as the service
    sent it and nothing was left unread.
    """
    where = path or cls.__name__
    if not isinstance(data, Mapping):
        return [Drift(where, "retyped", expected=cls.__name__, got=json_type(data))]
    try:
        parsed: Any = parse(cls, data, path=where)
    except ParseError as exc:
        return [Drift(exc.path or where, "missing_required", expected="field")]
    out: List[Drift] = []
    read: Dict[str, Any] = {}  # a trie of the key paths the fields read
    attrs.resolve_types(cls)
    for f in attrs.fields(cls):
        if f.name == "raw":
            continue
        keys = _wire_keys(f)
        for key in keys:
            node = read
            for part in key[:-1]:
                node = node.setdefault(part, {})
                if node is _LEAF:
                    break
            else:
                node[key[-1]] = _LEAF
        value, key, present = _lookup(data, keys)
        fpath = f"{where}.{'.'.join(key)}"
        expected = _type_name(f.type)
        if value is None:
            if not present:
                out.append(Drift(fpath, "missing", expected=expected))
            continue
        out.extend(_check_value(f.type, value, getattr(parsed, f.name), _default_of(f), fpath))
    out.extend(_unread(data, read, where))
    return out


_LEAF: Dict[str, Any] = {}


def _unread(data: Mapping[str, Any], read: Dict[str, Any], where: str) -> List[Drift]:
    """Keys of ``data`` (and of the objects the key paths go through) that no field reads."""
    out: List[Drift] = []
    for k, v in data.items():
        node = read.get(k)
        if node is None:
            out.append(Drift(f"{where}.{k}", "new", got=json_type(v)))
        elif node is not _LEAF and isinstance(v, Mapping):
            out.extend(_unread(v, node, f"{where}.{k}"))
    return out


def _check_value(tp: Any, value: Any, got: Any, default: Any, path: str) -> List[Drift]:
    inner = _unwrap(tp)
    origin = get_origin(inner)
    args = get_args(inner)
    if _is_model(inner):
        if isinstance(value, Mapping):
            return find_drift(inner, value, path)
        if isinstance(value, str) and getattr(inner, "_prepare", None) is not None:
            return []
        return [Drift(path, "retyped", expected=inner.__name__, got=json_type(value))]
    if origin in (list, tuple, List, Sequence) or inner in (list, tuple):
        if not isinstance(value, list):
            return [Drift(path, "retyped", expected=_type_name(inner), got=json_type(value))]
        item_t = _unwrap(args[0]) if args else Any
        if _is_model(item_t):
            found: List[Drift] = []
            for i, item in enumerate(value[:_LIST_SAMPLE]):
                found.extend(find_drift(item_t, item, f"{path}[{i}]"))
            return found
        if isinstance(got, (list, tuple)) and len(got) < len(value):
            return [
                Drift(path, "retyped", expected=_type_name(inner), got="array with unusable items")
            ]
        return []
    fell_back = got is None or got == default
    if fell_back and not _same_as_default(value, None if got is None else default):
        return [Drift(path, "retyped", expected=_type_name(inner), got=json_type(value))]
    return []
