"""Plain data across the boundary between the student's kernel and the trusted judge.

Values that come *from* the student's kernel are untrusted. They travel as JSON in which
every non-JSON value is a tagged object (``{"$": "nd", ...}`` for an array, ...), and
:func:`decode` rebuilds them from scratch as plain built-in, NumPy or torch values: nothing
of the student's objects (no class, no method, no pickle) ever reaches the judge, so a value
whose ``__eq__`` lies arrives as the plain data it claims to be, or as an :class:`Opaque`
placeholder that no check accepts. :func:`loads` bounds depth, bytes and item count (so
memory), turns integers too large for any float into placeholders, and rejects anything
malformed, whatever the fault inside, with :class:`WireError`.

What goes *to* the kernel (the judge's arguments, lambdas defined in tests) is trusted and
travels as a cloudpickle; see ``judge.py``.
"""

from __future__ import annotations

import base64
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_DEPTH = 64
# What one reply may hold. An exercise's largest honest value (a 1000 x 1000 float64 matrix) is
# 8 MiB; item counts apply to lists, dicts and the like (arrays travel as bytes).
MAX_BYTES = 64 * 2**20
MAX_ITEMS = 1_000_000
# Integers with more digits than this exceed every float (1.8e308): no check can use them.
MAX_INT_DIGITS = 310
# dtypes an array may have on the wire: booleans and numbers, nothing that could hold objects.
_NUMERIC_KINDS = "biufc"


class WireError(ValueError):
    """Data from the student's kernel that is not well-formed plain data."""


@dataclass(frozen=True)
class Opaque:
    """A value that has no plain-data form (a module, a custom object, ...).

    It keeps the type's name and a short ``repr`` for messages; no check accepts it.
    """

    type_name: str
    text: str

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"


@dataclass(frozen=True)
class Raised:
    """An exception raised in the student's kernel, with the traceback text to show them."""

    error: BaseException
    traceback: str = ""


# ---------------------------------------------------------------------------------------
# Encoding (runs in the student's kernel, and in tests)
# ---------------------------------------------------------------------------------------

def _array(value: np.ndarray) -> dict[str, Any]:
    array = np.ascontiguousarray(value)
    return {"$": "nd", "dtype": array.dtype.str, "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes()).decode("ascii")}


def _type_name(value: Any) -> str:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def encode(value: Any, extra: Callable[[Any], dict[str, Any] | None] | None = None,
           depth: int = 0) -> Any:
    """``value`` as JSON-ready plain data (see the module docstring).

    ``extra`` may encode values this module does not know (the agent uses it for
    matplotlib Axes); it returns None for values it does not handle, and JSON-ready data
    (a tagged object) for those it does.
    """
    if depth > MAX_DEPTH:
        return {"$": "opaque", "type": _type_name(value), "repr": "nested too deeply"}
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        return value
    if extra is not None:
        special = extra(value)
        if special is not None:
            return special
    encode_item = lambda item: encode(item, extra, depth + 1)  # noqa: E731 - local shorthand
    if isinstance(value, np.ndarray):
        if value.dtype.kind in _NUMERIC_KINDS:
            return _array(np.asarray(value))
        return {"$": "ndobj", "shape": list(value.shape),
                "items": [encode_item(item) for item in value.ravel().tolist()]}
    if isinstance(value, np.generic):
        if value.dtype.kind in _NUMERIC_KINDS:
            return {"$": "npscalar", "dtype": value.dtype.str,
                    "data": base64.b64encode(value.tobytes()).decode("ascii")}
        return encode_item(value.item())
    if isinstance(value, bool):  # subclasses of the plain types: keep only the plain value
        return bool(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, complex):
        return {"$": "complex", "re": complex.__complex__(value).real,
                "im": complex.__complex__(value).imag}
    if isinstance(value, bytes):
        return {"$": "bytes", "data": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, tuple):
        return {"$": "tuple", "items": [encode_item(item) for item in tuple.__iter__(value)]}
    if isinstance(value, list):
        return {"$": "list", "items": [encode_item(item) for item in list.__iter__(value)]}
    if isinstance(value, range):
        return {"$": "list", "items": list(value)}
    if isinstance(value, set | frozenset):
        return {"$": "set", "items": [encode_item(item) for item in value]}
    if isinstance(value, dict):
        return {"$": "dict", "items": [[encode_item(k), encode_item(v)]
                                       for k, v in dict.items(value)]}
    if isinstance(value, np.random.Generator):
        return {"$": "rng", "state": value.bit_generator.state}
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        array = value.detach().cpu().numpy()
        return {"$": "tensor", "array": _array(array), "requires_grad": bool(value.requires_grad)}
    if isinstance(value, Raised):
        return encode_exception(value.error, value.traceback)
    if isinstance(value, BaseException):
        return encode_exception(value)
    return {"$": "opaque", "type": _type_name(value), "repr": _short_repr(value)}


def encode_exception(error: BaseException, traceback_text: str = "") -> dict[str, Any]:
    """An exception as its class names (most derived first), message and traceback text."""
    names = [f"{cls.__module__}.{cls.__qualname__}" for cls in type(error).__mro__]
    try:
        message = str(error)
    except Exception:  # noqa: BLE001 - a student's exception whose __str__ fails
        message = "<the exception's message could not be read>"
    return {"$": "exception", "types": names, "message": message[:4000],
            "traceback": traceback_text[-20000:]}


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - any failure of a student's __repr__
        text = "<repr failed>"
    return text if len(text) <= 200 else text[:200] + "..."


def dumps(value: Any, extra: Callable[[Any], dict[str, Any] | None] | None = None) -> str:
    """``encode(value)`` as a JSON string."""
    return json.dumps(encode(value, extra), allow_nan=True)


# ---------------------------------------------------------------------------------------
# Decoding (runs in the judge: the input is untrusted)
# ---------------------------------------------------------------------------------------

@dataclass
class Limits:
    """How much data one decoded value may hold, in bytes and in items."""

    max_bytes: int = MAX_BYTES
    max_items: int = MAX_ITEMS
    used: int = 0
    items: int = 0

    def spend(self, nbytes: int, items: int = 0) -> None:
        """Count ``nbytes`` and ``items`` against the budget; fail when it is exceeded."""
        self.used += nbytes
        self.items += items
        if self.used > self.max_bytes:
            raise WireError(f"the value is larger than {self.max_bytes // 2**20} MiB")
        if self.items > self.max_items:
            raise WireError(f"the value holds more than {self.max_items:,} items")


@dataclass(frozen=True)
class _BigInteger:
    """An integer of the JSON text too large to use, by its number of digits."""

    digits: int


def _parse_int(text: str) -> int | _BigInteger:
    digits = len(text.lstrip("-"))
    return _BigInteger(digits) if digits > MAX_INT_DIGITS else int(text)


def _field(obj: dict, name: str, kind: type | tuple[type, ...]) -> Any:
    if name not in obj or not isinstance(obj[name], kind):
        raise WireError(f"malformed {obj.get('$')!r} value: bad field {name!r}")
    return obj[name]


def _decode_array(obj: dict, limits: Limits) -> np.ndarray:
    try:
        dtype = np.dtype(_field(obj, "dtype", str))
    except TypeError as error:
        raise WireError(f"unknown dtype {obj.get('dtype')!r}") from error
    if dtype.kind not in _NUMERIC_KINDS or dtype.hasobject:
        raise WireError(f"arrays of dtype {dtype} are not plain data")
    shape = tuple(_field(obj, "shape", list))
    if len(shape) > 32 or not all(type(n) is int and n >= 0 for n in shape):
        raise WireError("malformed array shape")
    data = base64.b64decode(_field(obj, "data", str), validate=True)
    limits.spend(len(data))
    # Exact integer arithmetic: a product that overflowed int64 could match a short buffer.
    if len(data) != math.prod(shape) * dtype.itemsize:
        raise WireError("array data does not match its shape")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


def _decode_rng(obj: dict) -> np.random.Generator:
    state = _field(obj, "state", dict)
    name = state.get("bit_generator")
    bit_generators = {"PCG64": np.random.PCG64, "PCG64DXSM": np.random.PCG64DXSM,
                      "MT19937": np.random.MT19937, "Philox": np.random.Philox,
                      "SFC64": np.random.SFC64}
    if name not in bit_generators:
        raise WireError(f"unknown bit generator {name!r}")
    bit_generator = bit_generators[name]()
    try:
        bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as error:
        raise WireError(f"malformed generator state ({error})") from error
    return np.random.Generator(bit_generator)


def decode(data: Any, extra: Callable[[dict], Any] | None = None,
           limits: Limits | None = None, depth: int = 0) -> Any:
    """Rebuild a value from :func:`encode`'s output, trusting nothing in it.

    ``extra`` decodes the tags :func:`encode`'s ``extra`` produced (it returns
    ``NotImplemented`` for tags it does not know).
    """
    limits = limits or Limits()
    if depth > MAX_DEPTH + 2:
        raise WireError("the value is nested too deeply")
    limits.spend(0, items=1)
    if data is None or type(data) in (bool, int, float):
        return data
    if type(data) is _BigInteger:
        return Opaque("int", f"an integer of {data.digits} digits")
    if type(data) is str:
        limits.spend(len(data))
        return data
    if type(data) is list:  # plain JSON lists only appear inside tagged values
        raise WireError("untagged list")
    if type(data) is not dict or type(data.get("$")) is not str:
        raise WireError("untagged value")
    tag = data["$"]
    item = lambda value: decode(value, extra, limits, depth + 1)  # noqa: E731 - local shorthand
    if tag == "nd":
        return _decode_array(data, limits)
    if tag == "ndobj":
        shape = tuple(_field(data, "shape", list))
        items = [item(v) for v in _field(data, "items", list)]
        array = np.empty(len(items), dtype=object)
        array[:] = items
        try:
            return array.reshape(shape)
        except (TypeError, ValueError) as error:
            raise WireError("object array items do not match its shape") from error
    if tag == "npscalar":
        return _decode_array({**data, "shape": []}, limits)[()]
    if tag == "complex":
        return complex(float(_field(data, "re", (int, float))),
                       float(_field(data, "im", (int, float))))
    if tag == "bytes":
        raw = base64.b64decode(_field(data, "data", str), validate=True)
        limits.spend(len(raw))
        return raw
    if tag in ("tuple", "list", "set"):
        items = [item(v) for v in _field(data, "items", list)]
        if tag == "tuple":
            return tuple(items)
        if tag == "set":
            try:
                return set(items)
            except TypeError as error:
                raise WireError("unhashable set item") from error
        return items
    if tag == "dict":
        result = {}
        for pair in _field(data, "items", list):
            if type(pair) is not list or len(pair) != 2:
                raise WireError("malformed dict item")
            key = item(pair[0])
            try:
                result[key] = item(pair[1])
            except TypeError as error:
                raise WireError("unhashable dict key") from error
        return result
    if tag == "rng":
        return _decode_rng(data)
    if tag == "tensor":
        import torch

        array = _decode_array(_field(data, "array", dict), limits)
        try:
            tensor = torch.from_numpy(array)
        except TypeError as error:
            raise WireError(f"no tensor of dtype {array.dtype}") from error
        return tensor.requires_grad_(True) if data.get("requires_grad") is True and \
            tensor.is_floating_point() else tensor
    if tag == "opaque":
        return Opaque(str(_field(data, "type", str))[:200], str(_field(data, "repr", str))[:300])
    if extra is not None:
        decoded = extra(data)
        if decoded is not NotImplemented:
            return decoded
    raise WireError(f"unknown tag {tag!r}")


def loads(text: str | bytes, extra: Callable[[dict], Any] | None = None,
          max_bytes: int = MAX_BYTES, max_items: int = MAX_ITEMS) -> Any:
    """Decode a JSON string produced by :func:`dumps`, within ``max_bytes`` and ``max_items``.

    Every fault of the text, whatever exception it causes inside (``extra``'s included),
    raises WireError.
    """
    if len(text) > 2 * max_bytes:
        raise WireError(f"the reply is larger than {2 * max_bytes // 2**20} MiB")
    # Each item of a list or dict costs a comma or a bracket: an upper bound on the items,
    # checked before json.loads builds them (a million empty lists take ~60 MB).
    separators = (b",", b"[", b"{") if isinstance(text, bytes) else (",", "[", "{")
    if sum(text.count(mark) for mark in separators) > max_items + 1:
        raise WireError(f"the reply holds more than {max_items:,} items")
    try:
        data = json.loads(text, parse_int=_parse_int)
        return decode(data, extra, Limits(max_bytes=max_bytes, max_items=max_items))
    except WireError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError,
            MemoryError) as error:
        raise WireError(f"malformed value ({type(error).__name__}: {str(error)[:200]})"
                        ) from error
