"""The model base: frozen attrs classes filled by one tolerant cattrs converter.

Every model field names the JSON key(s) it comes from (``wire(...)``). The
converter takes the first key present with a non-null value, structures it to
the field's type, and falls back to the field's default when the key is
missing, null or of an unusable type: the service adds, drops and changes
fields without notice, and a missing detail must never make a whole call
fail. Only identity fields (those without a default) are required; when one is
missing, a :class:`~caiclient.errors.ParseError` names the path.

The JSON object a model was built from stays reachable as ``model.raw``.
"""

from __future__ import annotations

import logging
import re
import types
from datetime import datetime, timezone
from typing import (
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
    get_args,
    get_origin,
)

import attrs
import cattrs
from typing_extensions import dataclass_transform

from caiclient.errors import ParseError

__all__ = ["Model", "converter", "model", "parse", "parse_list", "parse_timestamp", "wire"]

log = logging.getLogger("caiclient.models")

T = TypeVar("T")
M = TypeVar("M", bound="Model")

_WIRE = "caiclient.wire"
_NOTHING = attrs.NOTHING


def wire(*keys: str, default: Any = _NOTHING, factory: Optional[Callable[[], Any]] = None) -> Any:
    """Declare a model field read from the first present JSON key of ``keys``.

    A key may be a dotted path (``"turn_key.chat_id"``). With neither
    ``default`` nor ``factory`` the field is required.
    """
    meta = {_WIRE: tuple(tuple(k.split(".")) for k in keys)}
    if factory is not None:
        return attrs.field(factory=factory, metadata=meta)
    return attrs.field(default=default, metadata=meta)


@dataclass_transform(
    frozen_default=True, kw_only_default=True, field_specifiers=(attrs.field, wire)
)
def model(cls: Type[T]) -> Type[T]:
    """Class decorator of every model: a frozen, slotted, keyword-only attrs class.

    The repr is :meth:`Model.__repr__` (short), not attrs' (every field).
    """
    return attrs.frozen(kw_only=True, repr=False)(cls)


def _raw_field() -> Any:
    return attrs.field(
        factory=lambda: types.MappingProxyType({}), repr=False, eq=False, kw_only=True
    )


@model
class Model:
    """Base of every model: plain, immutable data.

    ``raw`` is the JSON object the model was parsed from (read-only), so a
    field the service added before this library knew of it is still
    reachable: ``character.raw["new_field"]``.
    """

    raw: Mapping[str, Any] = _raw_field()

    def __repr__(self) -> str:
        """Only the fields that differ from their defaults; long text is shortened."""
        parts = []
        for f in attrs.fields(type(self)):  # type: ignore[arg-type]
            if f.name == "raw":
                continue
            value = getattr(self, f.name)
            default: Any = f.default
            if default is not _NOTHING:
                if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                    default = default.factory()
                if value == default:
                    continue
            parts.append(f"{f.name}={_short_repr(value)}")
        return f"{type(self).__name__}({', '.join(parts)})"

    @classmethod
    def from_dict(cls: Type[M], data: Any) -> M:
        """Parse a JSON object (a dict) into this model; see :func:`parse`."""
        return parse(cls, data)


def _short_repr(value: Any, limit: int = 60) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(value, str) and len(value) > limit:
        return repr(value[: limit - 3] + "...")
    if isinstance(value, list) and len(value) > 3:
        return f"[{', '.join(_short_repr(v) for v in value[:3])}, ... ({len(value)} items)]"
    if isinstance(value, list):
        return f"[{', '.join(_short_repr(v) for v in value)}]"
    return repr(value)


# ---------------------------------------------------------------- timestamps

_TS_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_timestamp(value: Any) -> Optional[datetime]:
    """Parse the service's ISO-8601 timestamps into aware UTC datetimes.

    Accepts ``2025-01-01T12:00:00.123456Z``, any fraction length, offsets,
    no fraction, and epoch seconds. Returns ``None`` for anything else
    (the raw value stays in ``model.raw``).
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    m = _TS_RE.match(value.strip())
    if not m:
        return None
    y, mo, d, h, mi, s, frac, tz = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    try:
        dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), micro)
    except ValueError:
        return None
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        from datetime import timedelta

        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        try:
            return (dt - sign * offset).replace(tzinfo=timezone.utc)
        except OverflowError:
            return None
    return dt.replace(tzinfo=timezone.utc)


# ---------------------------------------------------------------- converter


class _Unusable(Exception):
    """A value cannot be converted to the field's type (the field gets its default)."""


def _str(value: Any, _t: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise _Unusable(f"expected a string, got {type(value).__name__}")


def _int(value: Any, _t: Any) -> int:
    if isinstance(value, bool):
        raise _Unusable("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _Unusable(f"expected an integer, got {value!r:.40}")


def _float(value: Any, _t: Any) -> float:
    if isinstance(value, bool):
        raise _Unusable("expected a number, got a boolean")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise _Unusable(f"expected a number, got {value!r:.40}")


def _bool(value: Any, _t: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _Unusable(f"expected a boolean, got {value!r:.40}")


def _datetime(value: Any, _t: Any) -> datetime:
    dt = parse_timestamp(value)
    if dt is None:
        raise _Unusable(f"not a timestamp: {value!r:.40}")
    return dt


def _any(value: Any, _t: Any) -> Any:
    return value


converter = cattrs.Converter()
"""The one converter every model is parsed with (tolerant by design)."""

converter.register_structure_hook(str, _str)
converter.register_structure_hook(int, _int)
converter.register_structure_hook(float, _float)
converter.register_structure_hook(bool, _bool)
converter.register_structure_hook(datetime, _datetime)
# typing.Any is not a class on Python 3.9: register it by predicate.
converter.register_structure_hook_func(lambda t: t is Any, _any)


def _is_optional(tp: Any) -> Tuple[bool, Any]:
    if get_origin(tp) is Union:
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) != len(get_args(tp)):
            return True, (args[0] if len(args) == 1 else Union[tuple(args)])
    return False, tp


Structurer = Callable[[Any, str], Any]
_COMPILED: Dict[Any, Structurer] = {}


def _structurer(tp: Any) -> Structurer:
    """The (cached) function that structures a value of type ``tp``.

    It raises ``_Unusable`` (the field then gets its default) or
    :class:`~caiclient.errors.ParseError`. ``path`` is only used in messages.
    """
    fn = _COMPILED.get(tp)
    if fn is None:
        fn = _build(tp)
        _COMPILED[tp] = fn
    return fn


def _build(tp: Any) -> Structurer:
    optional, inner = _is_optional(tp)
    base = _build_inner(inner)
    if optional:

        def maybe(value: Any, path: str) -> Any:
            return None if value is None else base(value, path)

        return maybe

    def required(value: Any, path: str) -> Any:
        if value is None:
            raise _Unusable("null")
        return base(value, path)

    return required


def _build_inner(inner: Any) -> Structurer:
    origin = get_origin(inner)
    args = get_args(inner)
    if origin in (list, List, Sequence, tuple) or inner in (list, tuple):
        item_t = args[0] if args else Any
        as_tuple = origin is tuple or inner is tuple

        def sequence(value: Any, path: str) -> Any:
            if not isinstance(value, list):
                raise _Unusable(f"expected a list, got {type(value).__name__}")
            item = _structurer(item_t)
            out = []
            for i, element in enumerate(value):
                try:
                    out.append(item(element, path))
                except (_Unusable, ParseError) as exc:
                    log.debug("dropping unusable item %s[%d]: %s", path, i, exc)
            return tuple(out) if as_tuple else out

        return sequence
    if origin in (dict, Dict, Mapping) or inner in (dict, Mapping):
        val_t = args[1] if len(args) == 2 else Any

        def mapping(value: Any, path: str) -> Any:
            if not isinstance(value, dict):
                raise _Unusable(f"expected an object, got {type(value).__name__}")
            item = _structurer(val_t)
            result: Dict[str, Any] = {}
            for k, v in value.items():
                try:
                    result[str(k)] = item(v, path)
                except (_Unusable, ParseError) as exc:
                    log.debug("dropping unusable entry %s.%s: %s", path, k, exc)
            return result

        return mapping
    if isinstance(inner, type) and issubclass(inner, Model):

        def model_(value: Any, path: str) -> Any:
            return _structure_model(value, inner, path)

        return model_
    if origin is Union:
        members = args

        def union(value: Any, path: str) -> Any:
            for arg in members:
                try:
                    return _structurer(arg)(value, path)
                except (_Unusable, ParseError):
                    continue
            raise _Unusable("no member of the union fits")

        return union
    hook = converter.get_structure_hook(inner)

    def primitive(value: Any, path: str) -> Any:
        try:
            return hook(value, inner)
        except _Unusable:
            raise
        except Exception as exc:  # a hook of another type failed
            raise _Unusable(str(exc)) from exc

    return primitive


def _getter(keys: Sequence[Tuple[str, ...]]) -> Callable[[Mapping[str, Any]], Any]:
    """Read the first present, non-null key path of ``keys`` from an object."""
    if len(keys) == 1 and len(keys[0]) == 1:
        key = keys[0][0]
        return lambda data: data.get(key)

    def lookup(data: Mapping[str, Any]) -> Any:
        for path in keys:
            node: Any = data
            for part in path:
                if not isinstance(node, Mapping) or part not in node:
                    node = None
                    break
                node = node[part]
            if node is not None:
                return node
        return None

    return lookup


_Plan = List[Tuple[str, Callable[[Mapping[str, Any]], Any], Structurer, bool, str]]
_PLANS: Dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    """How to fill each field of a model (computed once per class)."""
    plan = _PLANS.get(cls)
    if plan is None:
        attrs.resolve_types(cls)
        plan = []
        for f in attrs.fields(cls):
            if f.name == "raw":
                continue
            keys = f.metadata.get(_WIRE) or ((f.name,),)
            plan.append(
                (
                    f.name,
                    _getter(keys),
                    _structurer(f.type),
                    f.default is _NOTHING,
                    ".".join(keys[0]),
                )
            )
        _PLANS[cls] = plan
    return plan


def _structure_model(data: Any, cls: Type[M], path: str) -> M:
    prepare = getattr(cls, "_prepare", None)
    if prepare is not None and isinstance(data, str):
        data = prepare(data)
    if not isinstance(data, Mapping):
        raise ParseError(
            f"{path}: expected a JSON object for {cls.__name__}, got {type(data).__name__}",
            path=path,
            body=data,
        )
    kwargs: Dict[str, Any] = {"raw": types.MappingProxyType(dict(data))}
    for name, get, structure, required, key in _plan(cls):
        value = get(data)
        if value is None:
            if required:
                fpath = f"{path}.{key}"
                raise ParseError(
                    f"{fpath}: required field is missing or null", path=fpath, body=data
                )
            continue
        try:
            kwargs[name] = structure(value, f"{path}.{key}")
        except _Unusable as exc:
            if required:
                fpath = f"{path}.{key}"
                raise ParseError(f"{fpath}: {exc}", path=fpath, body=data) from None
            log.debug("using the default for %s.%s: %s", path, key, exc)
    post = getattr(cls, "_finish", None)
    if post is not None:
        kwargs = post(kwargs, data)
    return cls(**kwargs)


def parse(cls: Type[M], data: Any, *, path: Optional[str] = None) -> M:
    """Parse one JSON object into ``cls``.

    Raises :class:`~caiclient.errors.ParseError` (with the path of the
    problem) when ``data`` is not an object or a required field is missing;
    every other oddity falls back to defaults.
    """
    return _structure_model(data, cls, path or cls.__name__)


def parse_list(cls: Type[M], data: Any, *, path: Optional[str] = None) -> List[M]:
    """Parse a JSON array of objects; items that cannot be parsed are skipped (and logged)."""
    where = path or f"{cls.__name__}[]"
    if data is None:
        return []
    if not isinstance(data, list):
        raise ParseError(
            f"{where}: expected a JSON array, got {type(data).__name__}", path=where, body=data
        )
    out: List[M] = []
    for i, item in enumerate(data):
        try:
            out.append(_structure_model(item, cls, f"{where}[{i}]"))
        except ParseError as exc:
            log.warning("skipping an item the library cannot read: %s", exc)
    return out
