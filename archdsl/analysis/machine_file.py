"""Reading a latency-model (calibration) file without trusting it.

``-O calibration=FILE`` names a JSON file written by ``archdsl bench calibrate`` (format
``archdsl-latency-model/1``), but the path may be anything: a directory, ``/dev/zero``, a FIFO,
a huge file, a hand-edited file with a string where a number belongs, ``NaN``, a zero that would
divide, a nesting bomb. :func:`load_machine` reads it with :func:`archdsl.fileio.read_input`
(regular files only, at most :data:`MAX_BYTES`), and :func:`parse_machine` checks every field's
type and range before a :class:`~.machine.Machine` is built, so that a prediction made from it
is finite and positive; ``fused_acts`` may name activation ops of the registry only. Every
problem is a :class:`CalibrationError` naming the field.
"""

from __future__ import annotations

import json
import math
from typing import Any

from archdsl.analysis.machine import FORMAT, MACHINE_KINDS, KindParams, Machine
from archdsl.ops import OPS

MAX_BYTES = 4 << 20
"""A calibration file is ~20 KB; anything above 4 MiB is refused unread."""
MAX_DEPTH = 16
"""The free-form ``calibration`` object is copied into results: no deeper than this."""

# field -> (lowest, highest, lowest excluded)
_FLOATS: dict[str, tuple[float, float, bool]] = {
    "peak_flops_core": (0.0, 1e18, True),
    "dram_bw": (0.0, 1e16, True),
    "dram_bw_core": (0.0, 1e16, True),
    "cache_bw_core": (0.0, 1e16, True),
    "parallel_eff": (0.0, 1.0, True),
    "grain_flops": (0.0, 1e18, False),
    "op_overhead_s": (0.0, 1.0, False),
    "sync_overhead_s": (0.0, 1.0, False),
}
_INTS: dict[str, tuple[int, int]] = {"cores": (1, 4096), "cache_bytes": (0, 1 << 50), "default_threads": (1, 4096)}
_STRS: dict[str, int] = {"name": 100, "label": 300}
_KIND_FIELDS: dict[str, tuple[float, float, bool]] = {
    "compute_eff": (0.0, 1e3, True),
    "memory_eff": (0.0, 1e3, True),
    "overhead_s": (0.0, 1.0, False),
}
_OPTIONAL = {"fused_acts", "fuse_add", "default_threads", "sources", "calibration", "int8_speedup"}


class CalibrationError(ValueError):
    """A calibration file that cannot be used; the message names the field and what is wrong."""


def _number(where: str, value: Any, low: float, high: float, low_open: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CalibrationError(f"'{where}' must be a number, not {_kind(value)}")
    value = float(value)
    if not math.isfinite(value) or (value <= low if low_open else value < low) or value > high:
        bracket = "(" if low_open else "["
        raise CalibrationError(f"'{where}' is {value!r}, outside {bracket}{low:g}, {high:g}]")
    return value


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _text(where: str, value: Any, max_len: int) -> str:
    if not isinstance(value, str):
        raise CalibrationError(f"'{where}' must be a string, not {_kind(value)}")
    if len(value) > max_len or any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        raise CalibrationError(f"'{where}' must be at most {max_len} printable characters")
    return value


def _reject_constant(name: str) -> float:
    raise CalibrationError(f"{name} is not a number a calibration may hold")


def parse_machine(text: str) -> Machine:
    """The :class:`Machine` described by ``text``; raises :class:`CalibrationError`."""
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except CalibrationError:
        raise
    except RecursionError:
        raise CalibrationError("the JSON is nested too deeply") from None
    except ValueError as exc:
        raise CalibrationError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CalibrationError(f"the file holds {_kind(data)}, not a JSON object")
    if data.get("format") != FORMAT:
        raise CalibrationError(f"not an archdsl latency-model file (format {FORMAT})")
    known = {"format", *_FLOATS, *_INTS, *_STRS, "kinds", *_OPTIONAL}
    unknown = sorted(set(data) - known)
    if unknown:
        raise CalibrationError(f"unknown field '{_text_short(unknown[0])}'")
    missing = sorted((set(_FLOATS) | set(_INTS) | set(_STRS) | {"kinds"}) - _OPTIONAL - set(data))
    if missing:
        raise CalibrationError(f"missing field '{missing[0]}'")
    fields: dict[str, Any] = {}
    for key, (low, high, low_open) in _FLOATS.items():
        fields[key] = _number(key, data[key], low, high, low_open)
    for key, (low, high) in _INTS.items():
        if key not in data:
            continue
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise CalibrationError(f"'{key}' must be an integer, not {_kind(value)}")
        if not low <= value <= high:
            raise CalibrationError(f"'{key}' is {value}, outside [{low}, {high}]")
        fields[key] = value
    if fields.get("default_threads", 1) > fields["cores"]:
        threads, cores = fields["default_threads"], fields["cores"]
        raise CalibrationError(f"'default_threads' is {threads}, more than 'cores' ({cores})")
    for key, max_len in _STRS.items():
        fields[key] = _text(key, data[key], max_len)
    fields["kinds"] = _kinds(data["kinds"])
    acts = data.get("fused_acts", [])
    if not isinstance(acts, list) or len(acts) > 64:
        raise CalibrationError("'fused_acts' must be a list of at most 64 op names")
    fields["fused_acts"] = tuple(_activation(_text("fused_acts[]", a, 40)) for a in acts)
    fuse_add = data.get("fuse_add", False)
    if not isinstance(fuse_add, bool):
        raise CalibrationError(f"'fuse_add' must be true or false, not {_kind(fuse_add)}")
    fields["fuse_add"] = fuse_add
    if "int8_speedup" in data:
        int8 = data["int8_speedup"]
        if not isinstance(int8, dict) or any(k not in MACHINE_KINDS for k in int8):
            raise CalibrationError("'int8_speedup' must map op kinds to numbers")
        fields["int8_speedup"] = {k: _number(f"int8_speedup.{k}", v, 0.0, 64.0, True) for k, v in int8.items()}
    sources = data.get("sources", {})
    if not isinstance(sources, dict):
        raise CalibrationError(f"'sources' must be an object, not {_kind(sources)}")
    fields["sources"] = {_text("sources key", k, 100): _text(f"sources.{k}", v, 1000) for k, v in sources.items()}
    calibration = data.get("calibration", {})
    if not isinstance(calibration, dict):
        raise CalibrationError(f"'calibration' must be an object, not {_kind(calibration)}")
    if _depth(calibration) > MAX_DEPTH:
        raise CalibrationError(f"'calibration' is nested more than {MAX_DEPTH} levels deep")
    fields["calibration"] = calibration
    return Machine(**fields)


def _activation(name: str) -> str:
    """``name`` if it is an activation op of the registry (what a runtime can fuse into a convolution)."""
    spec = OPS.get(name)
    if spec is None:
        from archdsl.diagnostics import did_you_mean

        acts = {n for n, s in OPS.items() if s.traits.activation}
        hint = did_you_mean(name, acts)
        raise CalibrationError(
            f"'fused_acts' names the unknown op '{_text_short(name)}'" + (f" ({hint})" if hint else "")
        )
    if not spec.traits.activation:
        raise CalibrationError(f"'fused_acts' names '{name}', which is not an activation")
    return name


def _depth(value: Any) -> int:
    """Nesting depth of a JSON value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)
    return deepest


def _text_short(text: str) -> str:
    return text if len(text) <= 40 and text.isprintable() else repr(text[:40])


def _kinds(value: Any) -> dict[str, KindParams]:
    if not isinstance(value, dict):
        raise CalibrationError(f"'kinds' must be an object, not {_kind(value)}")
    unknown = sorted(set(value) - set(MACHINE_KINDS))
    if unknown:
        raise CalibrationError(f"'kinds' has the unknown op kind '{_text_short(unknown[0])}'")
    missing = [k for k in MACHINE_KINDS if k not in value]
    if missing:
        raise CalibrationError(f"'kinds' lacks the op kind '{missing[0]}' (recalibrate with this archdsl)")
    out = {}
    for kind in MACHINE_KINDS:
        params = value[kind]
        if not isinstance(params, dict):
            raise CalibrationError(f"'kinds.{kind}' must be an object, not {_kind(params)}")
        extra = sorted(set(params) - set(_KIND_FIELDS))
        if extra:
            raise CalibrationError(f"'kinds.{kind}' has the unknown field '{_text_short(extra[0])}'")
        if "compute_eff" not in params:
            raise CalibrationError(f"'kinds.{kind}' lacks 'compute_eff'")
        vals = {
            name: _number(f"kinds.{kind}.{name}", params[name], *bounds)
            for name, bounds in _KIND_FIELDS.items()
            if name in params
        }
        out[kind] = KindParams(**vals)
    return out


def load_machine(path: str) -> Machine:
    """Read and check the calibration file ``path``.

    Raises :class:`archdsl.fileio.InputError` (missing, a directory, a special file, too large,
    unreadable) or :class:`CalibrationError` (not UTF-8, not a valid latency-model file).
    """
    from archdsl.fileio import read_input

    raw = read_input(path, MAX_BYTES, path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CalibrationError(f"not UTF-8 text (byte {exc.start})") from None
    return parse_machine(text)
