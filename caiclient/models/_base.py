"""The model base: frozen attrs classes filled by one tolerant reader.

Every model field names the JSON key(s) it comes from (``wire(...)``). A field
takes the first key present with a non-null value, structured to the field's
type, and falls back to the field's default when the key is missing, null or
of an unusable type: the service adds, drops and changes fields without
notice, and a missing detail must never make a whole call fail. Only identity
fields (those without a default) are required; when one is missing, a
:class:`~caiclient.errors.ParseError` names the path.

The JSON object a model was built from stays reachable as ``model.raw`` (a
read-only view of it, not a copy).

How a field is read is said in one place: :func:`field_specs` gives each
field's :class:`FieldSpec` (its keys, its type, whether it is required, its
default and its reader). The parser of a model is generated from those specs
once per class, on its first use: straight-line code with the keys and
defaults inlined, reading the common case (a JSON value already of the
field's type) without a call. It is our own plan, not cattrs' generated
``make_dict_structure_fn``, because it is measurably faster and cattrs has no
"first of several key paths" lookup. Measured with ``python bench/parsing.py``
(2 cores, Python 3.11): a ``Candidate`` takes 1.6 µs here against
4.2-5.7 µs with cattrs' generated hook over the same tolerant primitive
hooks; a streamed ``Turn`` snapshot 2.0-3.3 µs against 18-21 µs with the
previous per-field plan (``json.loads`` of the whole frame: 2.5-2.8 µs).
cattrs stays available as :data:`converter` (built on first use) for types
the reader does not know.
"""

from __future__ import annotations

import linecache
import logging
import re
import types
from datetime import datetime, timedelta, timezone
from typing import (
    TYPE_CHECKING,
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

from caiclient.errors import ParseError

if TYPE_CHECKING:  # pragma: no cover
    import cattrs
    from typing_extensions import dataclass_transform
else:  # a no-op at run time: it only tells type checkers how ``model`` behaves

    def dataclass_transform(**_kw: Any) -> Callable[[Any], Any]:
        return lambda fn: fn


__all__ = [
    "FieldSpec",
    "Model",
    "converter",
    "field_specs",
    "model",
    "parse",
    "parse_list",
    "parse_timestamp",
    "wire",
]

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


_EMPTY: Mapping[str, Any] = types.MappingProxyType({})


def _raw_field() -> Any:
    return attrs.field(default=_EMPTY, repr=False, eq=False, kw_only=True)


@model
class Model:
    """Base of every model: plain, immutable data.

    ``raw`` is the JSON object the model was parsed from (a read-only view),
    so a field the service added before this library knew of it is still
    reachable: ``character.raw["new_field"]``.
    """

    raw: Mapping[str, Any] = _raw_field()

    def __repr__(self) -> str:
        """Only the fields that differ from their defaults; long text is shortened."""
        parts = [f"{name}={_short_repr(value)}" for name, value in shown_fields(self)]
        return f"{type(self).__name__}({', '.join(parts)})"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython: the same fields as ``repr``, one per line (see ``caiclient._display``)."""
        from caiclient._display import pretty

        pretty(self, p, cycle)

    @classmethod
    def from_dict(cls: Type[M], data: Any) -> M:
        """Parse a JSON object (a dict) into this model; see :func:`parse`."""
        return parse(cls, data)


def shown_fields(obj: Model) -> List[Tuple[str, Any]]:
    """The fields a repr shows: every one but ``raw`` whose value differs from its default."""
    shown = []
    for f in attrs.fields(type(obj)):  # type: ignore[arg-type]
        if f.name == "raw":
            continue
        value = getattr(obj, f.name)
        default: Any = f.default
        if default is not _NOTHING:
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                default = default.factory()
            if value == default:
                continue
        shown.append((f.name, value))
    return shown


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
_TS_CACHE: Dict[str, datetime] = {}  # the service repeats a turn's timestamps in every frame
_TS_CACHE_MAX = 1024
_fromisoformat = datetime.fromisoformat


def parse_timestamp(value: Any) -> Optional[datetime]:
    """Parse the service's ISO-8601 timestamps into aware UTC datetimes.

    Accepts ``2025-01-01T12:00:00.123456Z``, any fraction length, offsets,
    no fraction, and epoch seconds. Returns ``None`` for anything else
    (the raw value stays in ``model.raw``).
    """
    if type(value) is str:
        dt = _TS_CACHE.get(value)
        if dt is None:
            dt = _parse_ts_text(value)
            if dt is not None:
                if len(_TS_CACHE) >= _TS_CACHE_MAX:
                    _TS_CACHE.clear()
                _TS_CACHE[value] = dt
        return dt
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
    return _parse_ts_text(value)


def _parse_ts_text(value: str) -> Optional[datetime]:
    if (
        len(value) == 27  # the service's own shape: 2025-01-01T12:00:00.123456Z
        and value[26] == "Z"
        and value[19] == "."
        and value[10] == "T"
        and value[4] == value[7] == "-"
        and value[13] == value[16] == ":"
        and value[11:13] != "24"
    ):
        try:
            return _fromisoformat(value[:26] + "+00:00")
        except ValueError:
            pass  # e.g. non-ASCII digits: the general reading below decides
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
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        try:
            return (dt - sign * offset).replace(tzinfo=timezone.utc)
        except OverflowError:
            return None
    return dt.replace(tzinfo=timezone.utc)


# ---------------------------------------------------------------- readers of values
#
# A reader turns a JSON value into a field's type: ``read(value, where)``.
# It raises ``_Unusable`` (the field then gets its default) or ParseError.
# ``where`` says where the value is, for messages only: a string, or a
# ``(parent_where, key)`` pair that is only formatted when a message is made.

Where = Any
Reader = Callable[[Any, Where], Any]


class _Unusable(Exception):
    """A value cannot be converted to the field's type (the field gets its default)."""


def _fmt(where: Where) -> str:
    parts = []
    while isinstance(where, tuple):
        where, key = where
        parts.append(key)
    parts.append(where)
    return ".".join(reversed(parts))


def _str(value: Any, _w: Where = None) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise _Unusable(f"expected a string, got {type(value).__name__}")


def _int(value: Any, _w: Where = None) -> int:
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


def _float(value: Any, _w: Where = None) -> float:
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


def _bool(value: Any, _w: Where = None) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _Unusable(f"expected a boolean, got {value!r:.40}")


def _datetime(value: Any, _w: Where = None) -> datetime:
    dt = parse_timestamp(value)
    if dt is None:
        raise _Unusable(f"not a timestamp: {value!r:.40}")
    return dt


def _any(value: Any, _w: Where = None) -> Any:
    return value


_PRIMITIVES: Dict[Any, Reader] = {
    str: _str,
    int: _int,
    float: _float,
    bool: _bool,
    datetime: _datetime,
}
# A JSON value already of one of these exact types is the field's value as is.
_AS_IS = (str, int, float, bool)

_CONVERTER: Optional[cattrs.Converter] = None
if TYPE_CHECKING:  # pragma: no cover
    converter: cattrs.Converter
    """The cattrs converter with the tolerant primitive hooks (built on first use)."""


def _get_converter() -> cattrs.Converter:
    global _CONVERTER
    if _CONVERTER is None:
        import cattrs

        conv = cattrs.Converter()
        for tp, fn in _PRIMITIVES.items():
            conv.register_structure_hook(tp, fn)
        # typing.Any is not a class on Python 3.9: register it by predicate.
        conv.register_structure_hook_func(lambda t: t is Any, _any)
        _CONVERTER = conv
    return _CONVERTER


def __getattr__(name: str) -> Any:
    # ``converter`` (a cattrs.Converter with the tolerant primitive hooks) is
    # built on first use: importing cattrs costs more than the rest of the models.
    if name == "converter":
        return _get_converter()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _is_optional(tp: Any) -> Tuple[bool, Any]:
    if get_origin(tp) is Union:
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) != len(get_args(tp)):
            return True, (args[0] if len(args) == 1 else Union[tuple(args)])
    return False, tp


_READERS: Dict[Any, Reader] = {}


def _reader(tp: Any) -> Reader:
    """The (cached) reader of a value of type ``tp``; a non-optional one refuses null."""
    fn = _READERS.get(tp)
    if fn is None:
        optional, inner = _is_optional(tp)
        base = _inner_reader(inner)
        if optional:

            def maybe(value: Any, where: Where) -> Any:
                return None if value is None else base(value, where)

            fn = maybe
        else:

            def required(value: Any, where: Where) -> Any:
                if value is None:
                    raise _Unusable("null")
                return base(value, where)

            fn = required
        _READERS[tp] = fn
    return fn


def _inner_reader(inner: Any) -> Reader:
    """The reader of a non-null value of type ``inner``."""
    origin = get_origin(inner)
    args = get_args(inner)
    if origin in (list, List, Sequence, tuple) or inner in (list, tuple):
        return _sequence_reader(args[0] if args else Any, origin is tuple or inner is tuple)
    if origin in (dict, Dict, Mapping) or inner in (dict, Mapping):
        return _mapping_reader(args[1] if len(args) == 2 else Any)
    if isinstance(inner, type) and issubclass(inner, Model):
        return _model_reader(inner)
    if origin is Union:
        members = [_reader(a) for a in args]

        def union(value: Any, where: Where) -> Any:
            for member in members:
                try:
                    return member(value, where)
                except (_Unusable, ParseError):
                    continue
            raise _Unusable("no member of the union fits")

        return union
    if inner is Any:
        return _any
    prim = _PRIMITIVES.get(inner)
    if prim is not None:
        return prim
    hook = _get_converter().get_structure_hook(inner)

    def other(value: Any, _w: Where) -> Any:
        try:
            return hook(value, inner)
        except _Unusable:
            raise
        except Exception as exc:  # a hook of another type failed
            raise _Unusable(str(exc)) from exc

    return other


def _sequence_reader(item_t: Any, as_tuple: bool) -> Reader:
    model_t = item_t if isinstance(item_t, type) and issubclass(item_t, Model) else None

    def sequence(value: Any, where: Where) -> Any:
        if not isinstance(value, list):
            raise _Unusable(f"expected a list, got {type(value).__name__}")
        if item_t is Any:  # null items are dropped, like any unusable item
            out = [element for element in value if element is not None]
        elif model_t is not None:  # the common case inline: a list of JSON objects
            parser = _PARSERS.get(model_t) or _parser(model_t)
            item = _reader(item_t)
            out = []
            for i, element in enumerate(value):
                try:
                    out.append(
                        parser(element, where) if type(element) is dict else item(element, where)
                    )
                except (_Unusable, ParseError) as exc:
                    log.debug("dropping unusable item %s[%d]: %s", _fmt(where), i, exc)
        else:
            item = _reader(item_t)
            out = []
            for i, element in enumerate(value):
                try:
                    out.append(item(element, where))
                except (_Unusable, ParseError) as exc:
                    log.debug("dropping unusable item %s[%d]: %s", _fmt(where), i, exc)
        return tuple(out) if as_tuple else out

    return sequence


def _mapping_reader(val_t: Any) -> Reader:
    def mapping(value: Any, where: Where) -> Any:
        if not isinstance(value, dict):
            raise _Unusable(f"expected an object, got {type(value).__name__}")
        if val_t is Any:  # null values are dropped, like any unusable value
            return {str(k): v for k, v in value.items() if v is not None}
        item = _reader(val_t)
        result: Dict[str, Any] = {}
        for k, v in value.items():
            try:
                result[str(k)] = item(v, where)
            except (_Unusable, ParseError) as exc:
                log.debug("dropping unusable entry %s.%s: %s", _fmt(where), k, exc)
        return result

    return mapping


def _model_reader(cls: Type[M]) -> Reader:
    def read_model(value: Any, where: Where) -> Any:
        return _structure_model(value, cls, where)

    return read_model


# ---------------------------------------------------------------- fields and models


class FieldSpec:
    """How one field of a model is read: the one place that says it.

    ``keys`` are the JSON key paths tried in order (the first present,
    non-null one wins), ``type`` the field's type, ``required`` whether a
    missing value is a :class:`~caiclient.errors.ParseError` (identity
    fields) rather than the default, ``read`` the reader that converts a
    non-null value (it raises ``_Unusable`` for a value of an unusable type).
    """

    __slots__ = ("default", "factory", "keys", "name", "read", "required", "type")

    def __init__(
        self,
        name: str,
        keys: Tuple[Tuple[str, ...], ...],
        type: Any,
        default: Any,
    ) -> None:
        self.name = name
        self.keys = keys
        self.type = type
        self.required = default is _NOTHING
        self.factory: Optional[Callable[[], Any]] = (
            default.factory if isinstance(default, attrs.Factory) else None  # type: ignore[arg-type]
        )
        self.default = None if self.factory is not None else default
        _, inner = _is_optional(type)
        self.read: Reader = _inner_reader(inner)

    @property
    def key(self) -> str:
        """The first key path, dotted: how messages name the field."""
        return ".".join(self.keys[0])

    def lookup(self, data: Mapping[str, Any]) -> Any:
        """The first present, non-null value of :attr:`keys` in ``data`` (``None``: none)."""
        for path in self.keys:
            node: Any = data
            for part in path:
                if not isinstance(node, Mapping) or part not in node:
                    node = None
                    break
                node = node[part]
            if node is not None:
                return node
        return None

    def default_value(self) -> Any:
        """The field's default (a fresh one for a factory)."""
        return self.factory() if self.factory is not None else self.default

    def __repr__(self) -> str:
        return f"<FieldSpec {self.name} <- {', '.join('.'.join(k) for k in self.keys)}>"


_SPECS: Dict[type, Tuple[FieldSpec, ...]] = {}


def field_specs(cls: type) -> Tuple[FieldSpec, ...]:
    """The :class:`FieldSpec` of each field of a model but ``raw`` (computed once per class)."""
    specs = _SPECS.get(cls)
    if specs is None:
        attrs.resolve_types(cls)
        specs = tuple(
            FieldSpec(f.name, f.metadata.get(_WIRE) or ((f.name,),), f.type, f.default)
            for f in attrs.fields(cls)
            if f.name != "raw"
        )
        _SPECS[cls] = specs
    return specs


def _dig(node: Any, part: str) -> Any:
    # A lookup step into something that is not a plain dict (a Mapping, or not an object).
    if isinstance(node, Mapping) and part in node:
        return node[part]
    return None


def _missing(where: Where, key: str, data: Any) -> ParseError:
    fpath = f"{_fmt(where)}.{key}"
    return ParseError(f"{fpath}: required field is missing or null", path=fpath, body=data)


def _unusable(where: Where, key: str, data: Any, exc: Exception) -> ParseError:
    fpath = f"{_fmt(where)}.{key}"
    return ParseError(f"{fpath}: {exc}", path=fpath, body=data)


def _use_default(where: Where, key: str, exc: Exception) -> None:
    if log.isEnabledFor(logging.DEBUG):
        log.debug("using the default for %s.%s: %s", _fmt(where), key, exc)


def _lookup_code(keys: Tuple[Tuple[str, ...], ...], indent: str) -> List[str]:
    """Code that leaves in ``v`` the first present, non-null value of the key paths."""
    lines: List[str] = []
    pad = indent
    for n, path in enumerate(keys):
        if n:
            lines.append(f"{pad}if v is None:")
            pad += "    "
        lines.append(f"{pad}v = get({path[0]!r})")
        inner = pad
        for part in path[1:]:
            lines.append(f"{inner}if v is not None:")
            inner += "    "
            lines.append(f"{inner}v = v.get({part!r}) if type(v) is dict else _dig(v, {part!r})")
    return lines


def _parser_source(cls: type, specs: Tuple[FieldSpec, ...]) -> Tuple[str, Dict[str, Any]]:
    """The source of the parser of ``cls`` (straight-line code from its field specs)."""
    ns: Dict[str, Any] = {
        "_dig": _dig,
        "_missing": _missing,
        "_unusable": _unusable,
        "_use_default": _use_default,
        "_Unusable": _Unusable,
        "_proxy": types.MappingProxyType,
        "_cls": cls,
        "_ts_get": _TS_CACHE.get,
    }
    finish = getattr(cls, "_finish", None)
    lines = ["def parse(data, where):", "    get = data.get"]
    for i, spec in enumerate(specs):
        key = spec.key
        ns[f"read{i}"] = spec.read
        lines += _lookup_code(spec.keys, "    ")
        lines.append("    if v is None:")
        if spec.required:
            lines.append(f"        raise _missing(where, {key!r}, data)")
        elif spec.factory is not None:
            ns[f"factory{i}"] = spec.factory
            lines.append(f"        f{i} = factory{i}()")
        else:
            ns[f"default{i}"] = spec.default
            lines.append(f"        f{i} = default{i}")
        _, inner = _is_optional(spec.type)
        if inner in _AS_IS:
            ns[f"type{i}"] = inner
            lines += [f"    elif type(v) is type{i}:", f"        f{i} = v"]
        if inner is datetime:  # a timestamp seen before (in an earlier frame, say)
            lines += [
                f"    elif type(v) is str and (f{i} := _ts_get(v)) is not None:",
                "        pass",
            ]
        lines += ["    else:", "        try:", f"            f{i} = read{i}(v, (where, {key!r}))"]
        lines.append("        except _Unusable as exc:")
        if spec.required:
            lines.append(f"            raise _unusable(where, {key!r}, data, exc) from None")
        else:
            fallback = f"factory{i}()" if spec.factory is not None else f"default{i}"
            lines += [
                f"            f{i} = {fallback}",
                f"            _use_default(where, {key!r}, exc)",
            ]
    args = ", ".join(f"{s.name}=f{i}" for i, s in enumerate(specs))
    if finish is not None:
        ns["_finish"] = finish
        lines.append(f"    return _cls(**_finish(dict(raw=_proxy(data), {args}), data))")
    elif _plain_slots(cls):
        # attrs' frozen __init__ sets each slot through object.__setattr__; with no
        # validator, converter or hook to run, setting the slots directly is the same
        # object made in a third of the time.
        ns["_new"] = object.__new__
        ns["set_raw"] = _slot(cls, "raw").__set__
        lines += ["    o = _new(_cls)", "    set_raw(o, _proxy(data))"]
        for i, spec in enumerate(specs):
            ns[f"set{i}"] = _slot(cls, spec.name).__set__
            lines.append(f"    set{i}(o, f{i})")
        lines.append("    return o")
    else:
        lines.append(f"    return _cls(raw=_proxy(data), {args})")
    return "\n".join(lines) + "\n", ns


def _slot(cls: type, name: str) -> Any:
    return getattr(cls, name)


def _plain_slots(cls: type) -> bool:
    """Whether an instance is fully made by setting its slots (no init logic to run)."""
    if "__slots__" not in cls.__dict__ or any(
        hasattr(cls, hook) for hook in ("__attrs_pre_init__", "__attrs_post_init__")
    ):
        return False
    return all(
        f.validator is None
        and f.converter is None
        and f.init
        and isinstance(getattr(cls, f.name, None), types.MemberDescriptorType)
        for f in attrs.fields(cls)
    )


_PARSERS: Dict[type, Callable[[Mapping[str, Any], Where], Any]] = {}


def _parser(cls: type) -> Callable[[Mapping[str, Any], Where], Any]:
    """The generated parser of ``cls`` (built on its first use)."""
    fn = _PARSERS.get(cls)
    if fn is None:
        source, ns = _parser_source(cls, field_specs(cls))
        filename = f"<caiclient parser of {cls.__module__}.{cls.__qualname__}>"
        exec(compile(source, filename, "exec"), ns)  # our own generated code
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        fn = ns["parse"]
        fn.__qualname__ = fn.__name__ = f"parse_{cls.__name__}"
        _PARSERS[cls] = fn
    return fn


def _structure_model(data: Any, cls: Type[M], where: Where) -> M:
    if type(data) is not dict:
        prepare = getattr(cls, "_prepare", None)
        if prepare is not None and isinstance(data, str):
            data = prepare(data)
        if not isinstance(data, Mapping):
            path = _fmt(where)
            raise ParseError(
                f"{path}: expected a JSON object for {cls.__name__}, got {type(data).__name__}",
                path=path,
                body=data,
            )
    parser = _PARSERS.get(cls) or _parser(cls)
    return parser(data, where)


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
