"""Weights files, read and checked against a spec in one place for every backend.

Tensor names follow docs/ir.md's weight contract (``ID.weight``, ``ID.running_mean``,
``ID.qkv.bias`` ...), so a ``state_dict`` saved by the PyTorch backend loads in the ONNX backend
unchanged, and the other way round. Formats, chosen by the file suffix:

- ``.safetensors``: the ``safetensors`` package's numpy API (:mod:`.safetensors_file`), no torch.
  The recommended way to move weights between backends and tools.
- ``.npz``: ``numpy.savez`` archives, read member by member from their headers (:mod:`.npz`),
  never unpickled.
- ``.pt`` / ``.pth`` / ``.bin``: a ``torch.save``'d ``state_dict``, ``weights_only=True``
  (:mod:`.torch_file`); torch is imported only then.

A weights file is untrusted input: it is opened with :func:`archdsl.fileio.open_input` (regular
files only, recorded as an input so that no artefact replaces it, at most :class:`Budget` bytes)
and its headers are read first. Shapes and names are compared with the spec's before any tensor
data is read (safetensors, npz), and headers and archive directories are bounded by what the spec
could use, so neither a decompression bomb nor a forged header costs more memory than the weights
the spec really has. Every problem is a :class:`~.errors.WeightsError`, located at the spec's node
where one tensor is at fault; each backend reports it under its own code.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from archdsl.fileio import InputError, open_input
from archdsl.ir import Graph
from archdsl.weights import npz, safetensors_file, torch_file
from archdsl.weights.errors import FILE_HELP, Problem, WeightsError
from archdsl.weights.init import init_array
from archdsl.weights.specs import tensor_specs
from archdsl.weights.stored import Stored

OPTIONAL = ("num_batches_tracked",)
"""Tensors a file may leave out (batch norm's step counter: no inference output depends on it);
they then keep their initial value."""

HEADER_SLACK = 1 << 16  # bytes of a safetensors header beyond the tensor entries (__metadata__, padding)
ENTRY_BYTES = 4096  # a safetensors header entry, generously (its name, dtype, shape and offsets)
FILE_SLACK = 1 << 20  # bytes of a weights file beyond its values (headers, zip directory)
TORCH_FILES = (".pt", ".pth", ".bin")
FORMATS = (".safetensors", ".npz", *TORCH_FILES)


@dataclass(frozen=True)
class Budget:
    """What a weights file for a graph may hold at most: the bounds on headers and archives."""

    tensors: int
    values: int

    @classmethod
    def of(cls, graph: Graph | None) -> Budget:
        if graph is None:  # a few thousand tensors (a 17 MB safetensors header), 2^31 values
            return cls(1 << 11, 1 << 31)
        specs = list(tensor_specs(graph))
        return cls(len(specs), sum(math.prod(t.shape) for t in specs))

    @property
    def members(self) -> int:  # an extra tensor per expected one and a few more
        return 2 * self.tensors + 64

    @property
    def header_bytes(self) -> int:
        return min(safetensors_file.MAX_HEADER_BYTES, HEADER_SLACK + ENTRY_BYTES * self.members)

    def value_bytes(self, suffix: str) -> int:
        """Bytes a value may take: float64; a torch checkpoint may also hold optimizer state."""
        return 32 if suffix in TORCH_FILES else 8

    def file_bytes(self, suffix: str) -> int:
        return self.value_bytes(suffix) * self.values + self.header_bytes + FILE_SLACK + 512 * self.members


@dataclass
class WeightsFile:
    """An open weights file: its tensors (data read on demand) and its digest."""

    tensors: dict[str, Stored | np.ndarray]
    fh: IO[bytes]

    def digest(self) -> str:
        """sha256 of the file's bytes (read in chunks from the file already open)."""
        h = hashlib.sha256()
        self.fh.seek(0)
        while chunk := self.fh.read(1 << 20):
            h.update(chunk)
        return h.hexdigest()


_READ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError)


@contextlib.contextmanager
def open_weights(path: str | Path, graph: Graph | None = None) -> Iterator[WeightsFile]:
    """The tensors of a weights file, their shapes known and their data not yet read (safetensors,
    npz), within the bounds ``graph`` sets (:class:`Budget`). Raises :class:`WeightsError`."""
    p = Path(path)
    budget = Budget.of(graph)
    suffix = p.suffix.lower()
    if suffix not in FORMATS:
        raise WeightsError(
            f"weights file '{p}' has an unknown format '{suffix or '(no suffix)'}'",
            "use .safetensors (recommended), .npz, or a torch .pt/.pth state_dict",
        )
    try:
        fh = open_input(p, budget.file_bytes(suffix), label=str(p))
    except InputError as exc:
        raise WeightsError(_input_message(p, exc), _input_help(exc, budget, suffix)) from None
    with fh, contextlib.ExitStack() as stack:
        try:
            if suffix == ".safetensors":
                tensors: dict[str, Stored | np.ndarray] = dict(
                    stack.enter_context(safetensors_file.open_tensors(fh, budget.header_bytes, p))
                )
            elif suffix == ".npz":
                z, members = npz.open_npz(fh, budget.members)
                stack.enter_context(z)
                tensors = dict(members)
            else:
                tensors = torch_file.to_numpy(torch_file.read_torch_file(fh, p, budget.members))
        except WeightsError as exc:
            raise _about(p, exc) from None
        except _READ_ERRORS as exc:
            raise WeightsError(f"cannot read weights file '{p}': {_reason(exc)}", FILE_HELP) from None
        try:
            yield WeightsFile(tensors, fh)
        except WeightsError:  # the caller's (a check against the spec): it names the file already
            raise
        except _READ_ERRORS as exc:  # raised while loading a tensor's data
            raise WeightsError(f"cannot read weights file '{p}': {_reason(exc)}", FILE_HELP) from None


def _about(p: Path, exc: WeightsError) -> WeightsError:
    """``exc`` naming the file, if it does not yet."""
    if exc.needs or len(exc.problems) != 1 or str(p) in exc.problems[0].message:
        return exc
    (problem,) = exc.problems
    return WeightsError(f"cannot read weights file '{p}': {problem.message}", problem.help or FILE_HELP)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, zipfile.BadZipFile):
        return f"not a valid zip archive ({exc})"
    if isinstance(exc, zlib.error):
        return f"a member's compressed data is corrupt ({exc})"
    if isinstance(exc, EOFError):
        return "the file ends early (truncated?)"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def _input_message(p: Path, exc: InputError) -> str:
    if exc.reason == "missing":
        return f"weights file '{p}' does not exist"
    if exc.message.startswith("'"):  # "'w.npz' is a directory, not a file" and the like
        return f"weights file {exc.message}"
    return f"weights file: {exc.message}"


def _input_help(exc: InputError, budget: Budget, suffix: str) -> str:
    if exc.reason == "too_large":
        return (
            f"the spec has {budget.values:,} weight values: its {suffix} weights file can be at most "
            f"{budget.file_bytes(suffix):,} bytes ({budget.value_bytes(suffix)} bytes a value, plus headers)"
        )
    if exc.reason == "missing":
        return "check the path given to --weights (or -O weights=)"
    return FILE_HELP


def read_file(path: str | Path, graph: Graph | None = None) -> dict[str, np.ndarray]:
    """Every tensor of a weights file, as numpy arrays (not checked against a graph)."""
    with open_weights(path, graph) as wf:
        return {k: v.load() if isinstance(v, Stored) else v for k, v in wf.tensors.items()}


def _dtype_problem(value: Stored | np.ndarray) -> str | None:
    """Stored tensors come in plain dtypes only (their readers refuse others); arrays are checked here."""
    if isinstance(value, Stored):
        return None
    dtype = np.asarray(value).dtype
    if dtype.kind not in "biuf":
        return f"has dtype {dtype}; weights must be floating point (or integer)"
    return None


def _listed(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def check_weights(graph: Graph, tensors: Mapping[str, Stored | np.ndarray], origin: str) -> dict[str, np.ndarray]:
    """Match ``tensors`` against the graph's tensors (:func:`~.specs.tensor_specs`): every one,
    in its spec's dtype (float32; int64 counters), or a :class:`WeightsError` with located problems.

    Shapes (and names) are checked for every tensor before any :class:`Stored` tensor's data is
    read, so a file that does not fit costs nothing but its headers. :data:`OPTIONAL` tensors a
    file leaves out keep their initial value.
    """
    specs = {t.name: t for t in tensor_specs(graph)}
    problems: list[Problem] = []
    for name, t in specs.items():
        if name not in tensors:
            continue
        value = tensors[name]
        shape = value.shape if isinstance(value, Stored) else np.shape(value)
        problem = _dtype_problem(value)
        if problem is None and tuple(shape) != t.shape:
            problem = f"has shape {list(shape)}, the spec needs {list(t.shape)}"
        if problem:
            problems.append(
                Problem(
                    f"{origin}: tensor '{name}' {problem}",
                    t.node.span,
                    "the weights were saved for a different spec or parameters",
                )
            )
    missing = [n for n in specs if n not in tensors and n.rsplit(".", 1)[-1] not in OPTIONAL]
    extra = sorted(n for n in tensors if n not in specs and n.rsplit(".", 1)[-1] not in OPTIONAL)
    if missing:
        problems.append(
            Problem(
                f"{origin}: {len(missing)} tensor{'s' if len(missing) != 1 else ''} missing: {_listed(missing)}",
                specs[missing[0]].node.span,
                "names follow docs/ir.md (a train-time state_dict of the PyTorch backend, not a deployed one)",
            )
        )
    if extra:
        problems.append(
            Problem(
                f"{origin}: {len(extra)} tensor{'s' if len(extra) != 1 else ''} the spec does not have: "
                + _listed(extra),
                None,
                "the weights were saved for a different spec or parameters",
            )
        )
    if problems:
        raise WeightsError(problems, fits=False)
    out: dict[str, np.ndarray] = {}
    for name, t in specs.items():
        if name not in tensors:  # an optional tensor
            s = t.spec
            out[name] = init_array(name, s.init, s.shape, 0, s.fan_out, s.value, s.dtype)
            continue
        value = tensors[name]
        arr = value.load() if isinstance(value, Stored) else value
        if _dtype_problem(arr) or tuple(np.shape(arr)) != t.shape:  # the file changed under us
            raise WeightsError(f"{origin}: tensor '{name}' does not match its header", FILE_HELP)
        out[name] = np.asarray(arr, dtype=t.spec.dtype)  # no copy when it has that dtype already
        del arr
    return out


def digest(tensors: Mapping[str, np.ndarray]) -> str:
    """sha256 of the tensors (names, dtypes, shapes and bytes, in name order)."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        arr = np.asarray(tensors[name], order="C")
        h.update(f"{name}\0{arr.dtype.str}\0{arr.shape}\0".encode())
        h.update(memoryview(arr.reshape(-1)).cast("B") if arr.nbytes else b"")
    return h.hexdigest()


def load_weights(graph: Graph, weights: str | Path | Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], str]:
    """The checked tensors of a weights file or of an in-memory dict, and a deterministic
    description of where they came from (for model metadata)."""
    if isinstance(weights, Mapping):
        checked = check_weights(graph, weights, "weights")
        return checked, f"in-memory tensors sha256:{digest(checked)}"
    p = Path(weights)
    with open_weights(p, graph) as wf:
        checked = check_weights(graph, wf.tensors, f"weights file '{p.name}'")
        return checked, f"{p.name} sha256:{wf.digest()}"


__all__ = ["OPTIONAL", "Budget", "WeightsFile", "check_weights", "digest", "load_weights", "open_weights", "read_file"]
