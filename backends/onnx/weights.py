"""Weights for an ONNX graph: the tensors docs/ir.md names, from a file or a seeded initialisation.

Tensor names follow the weight naming contract (``ID.weight``, ``ID.running_mean``, ``ID.qkv.bias``
...), so a ``state_dict`` saved by the PyTorch backend loads here unchanged.

Formats (chosen by the file suffix):

- ``.safetensors``: read with the numpy-only reader in :mod:`.safetensors` (no torch, no extra
  package). The recommended way to move weights from the PyTorch backend to ONNX.
- ``.npz``: ``numpy.savez`` archives, keys as above, read by :mod:`.npz` (never unpickled).
- ``.pt`` / ``.pth`` / ``.bin``: a ``torch.save``'d ``state_dict``, read by the PyTorch backend's
  reader (:mod:`archdsl_backends.torch.weights`, ``weights_only=True``); torch is imported only
  then. Without torch the error says to install it or to convert the file to safetensors.

A weights file is untrusted input: it is opened with :func:`archdsl.fileio.open_input` (regular
files only, recorded as an input so that no artefact replaces it, at most :class:`Budget` bytes)
and its headers are read first. Shapes and names are compared with the spec's before any tensor
data is read (safetensors, npz), and the headers and archive directories are bounded by what the
spec could use, so neither a decompression bomb nor a forged header costs more memory than the
weights the spec really has.

Seeded initialisation (no file) uses numpy: each tensor draws from its own generator
``numpy.random.default_rng([seed_lo, seed_hi, crc32(name)])`` (the seed's 32-bit halves), so a
tensor's values depend on the seed and its name only (adding a layer elsewhere changes nothing
else). The distributions are PyTorch's defaults, not its bit streams: conv, linear and attention
projections U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias
(``kaiming_uniform_(a=sqrt(5))``), norms weight 1 and bias 0, running mean 0 and variance 1,
``scale`` its ``init``. The same seed therefore gives the same ONNX file, but not the same numbers
as the PyTorch backend's ``--seed``: pass the PyTorch weights file for parity.
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

from archdsl.diagnostics import Diagnostic, DiagnosticError, Severity, Span
from archdsl.fileio import InputError, open_input
from archdsl.ir import Graph, Node
from archdsl.safetensors_header import MAX_HEADER_BYTES

from . import npz, safetensors
from .stored import Stored

OPTIONAL = ("num_batches_tracked",)


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int, ...]
    init: str  # "uniform", "ones", "zeros", "const"
    fan_in: int = 1
    value: float = 0.0
    node: Node | None = None


def _conv_fan_in(node: Node, cin: int) -> int:
    a = node.args
    return (cin // a.groups) * a.k * a.k


def tensor_specs(graph: Graph) -> Iterator[TensorSpec]:
    """The tensors the naming contract gives ``graph``, in graph order."""
    for node in graph.nodes:
        a = node.args
        ins = [graph.type_of(i) for i in node.inputs]
        i = node.id
        if node.op == "conv":
            cin = ins[0].c
            fan = _conv_fan_in(node, cin)
            yield TensorSpec(f"{i}.weight", (a.c, cin // a.groups, a.k, a.k), "uniform", fan, node=node)
            if a.bias:
                yield TensorSpec(f"{i}.bias", (a.c,), "uniform", fan, node=node)
        elif node.op == "linear":
            cin = ins[0].c
            yield TensorSpec(f"{i}.weight", (a.c, cin), "uniform", cin, node=node)
            if a.bias:
                yield TensorSpec(f"{i}.bias", (a.c,), "uniform", cin, node=node)
        elif node.op == "bn":
            c = ins[0].c
            yield TensorSpec(f"{i}.weight", (c,), "ones", node=node)
            yield TensorSpec(f"{i}.bias", (c,), "zeros", node=node)
            yield TensorSpec(f"{i}.running_mean", (c,), "zeros", node=node)
            yield TensorSpec(f"{i}.running_var", (c,), "ones", node=node)
        elif node.op == "layernorm":
            c = ins[0].c
            yield TensorSpec(f"{i}.weight", (c,), "ones", node=node)
            yield TensorSpec(f"{i}.bias", (c,), "zeros", node=node)
        elif node.op == "scale":
            yield TensorSpec(f"{i}.weight", (ins[0].c,), "const", value=a.init, node=node)
        elif node.op == "mhsa":
            c = ins[0].c
            yield TensorSpec(f"{i}.qkv.weight", (3 * c, c), "uniform", c, node=node)
            if a.bias:
                yield TensorSpec(f"{i}.qkv.bias", (3 * c,), "uniform", c, node=node)
            yield TensorSpec(f"{i}.proj.weight", (c, c), "uniform", c, node=node)
            if a.bias:
                yield TensorSpec(f"{i}.proj.bias", (c,), "uniform", c, node=node)


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFF, seed >> 32 & 0xFFFFFFFF, zlib.crc32(name.encode())])


def _uniform(rng: np.random.Generator, bound: float, shape: tuple[int, ...]) -> np.ndarray:
    """``rng.uniform(-bound, bound, shape).astype(float32)``, the same values, drawn in chunks so that
    no float64 copy of a large tensor is ever held."""
    out = np.empty(shape, dtype=np.float32)
    flat = out.reshape(-1)
    step = 1 << 20
    for i in range(0, flat.size, step):
        n = min(step, flat.size - i)
        flat[i : i + n] = rng.uniform(-bound, bound, size=n)
    return out


def init_weights(graph: Graph, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded numpy initialisation with PyTorch's default distributions (see the module docs)."""
    out: dict[str, np.ndarray] = {}
    for t in tensor_specs(graph):
        if t.init == "uniform":
            out[t.name] = _uniform(_rng(seed, t.name), 1.0 / np.sqrt(t.fan_in), t.shape)
        elif t.init == "ones":
            out[t.name] = np.ones(t.shape, dtype=np.float32)
        elif t.init == "zeros":
            out[t.name] = np.zeros(t.shape, dtype=np.float32)
        else:
            out[t.name] = np.full(t.shape, t.value, dtype=np.float32)
    return out


def _error(code: str, message: str, span: Span | None = None, help: str | None = None) -> DiagnosticError:
    return DiagnosticError(Diagnostic(code, message, span, Severity.ERROR, help))


FILE_HELP = "pass a .safetensors file (archdsl compile -e safetensors writes one), a numpy .npz or a torch state_dict"
HEADER_SLACK = 1 << 16  # bytes of a safetensors header beyond the tensor entries (__metadata__, padding)
ENTRY_BYTES = 4096  # a safetensors header entry, generously (its name, dtype, shape and offsets)
FILE_SLACK = 1 << 20  # bytes of a weights file beyond its values (headers, zip directory)
TORCH_FILES = (".pt", ".pth", ".bin")


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
    def members(self) -> int:  # an extra tensor per expected one (num_batches_tracked) and a few more
        return 2 * self.tensors + 64

    @property
    def header_bytes(self) -> int:
        return min(MAX_HEADER_BYTES, HEADER_SLACK + ENTRY_BYTES * self.members)

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


@contextlib.contextmanager
def open_weights(path: str | Path, graph: Graph | None = None) -> Iterator[WeightsFile]:
    """The tensors of a weights file, their shapes known and their data not yet read (safetensors,
    npz), within the bounds ``graph`` sets (:class:`Budget`). Any problem is a B008 diagnostic
    naming the file (B003 for a torch file without torch)."""
    p = Path(path)
    budget = Budget.of(graph)
    suffix = p.suffix.lower()
    if suffix not in (".safetensors", ".npz", *TORCH_FILES):
        raise _error(
            "B008",
            f"weights file '{p}' has an unknown format '{suffix or '(no suffix)'}'",
            help="use .safetensors (recommended), .npz, or a torch .pt/.pth state_dict",
        )
    try:
        fh = open_input(p, budget.file_bytes(suffix), label=str(p))
    except InputError as exc:
        raise _error("B008", _input_message(p, exc), help=_input_help(exc, budget, suffix)) from None
    with fh, contextlib.ExitStack() as stack:
        try:
            if suffix == ".safetensors":
                tensors: dict[str, Stored | np.ndarray] = dict(safetensors.open_tensors(fh, budget.header_bytes))
            elif suffix == ".npz":
                z, members = npz.open_npz(fh, budget.members)
                stack.enter_context(z)
                tensors = dict(members)
            else:
                tensors = dict(_read_torch(p, fh))
        except _READ_ERRORS as exc:
            raise _error("B008", f"cannot read weights file '{p}': {_reason(exc)}", help=FILE_HELP) from None
        try:
            yield WeightsFile(tensors, fh)
        except _READ_ERRORS as exc:  # raised while loading a tensor's data
            raise _error("B008", f"cannot read weights file '{p}': {_reason(exc)}", help=FILE_HELP) from None


_READ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError)


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
    """Every tensor of a weights file, as numpy arrays (not yet checked against a graph)."""
    with open_weights(path, graph) as wf:
        return {k: v.load() if isinstance(v, Stored) else v for k, v in wf.tensors.items()}


def _read_torch(path: Path, fh) -> dict[str, np.ndarray]:
    try:
        import torch  # only here, and only for .pt files: the ONNX path never needs torch otherwise
        from archdsl_backends.torch.weights import read_torch_file
    except ImportError:
        raise _error(
            "B003",
            f"reading the PyTorch file '{path}' needs torch, which is not installed",
            help="install torch, or save the state_dict as safetensors "
            "(safetensors.torch.save_file(model.state_dict(), 'weights.safetensors')) and pass that file",
        ) from None
    out = {}
    for k, v in read_torch_file(fh).items():
        out[str(k)] = v.detach().to(torch.float32 if v.is_floating_point() else v.dtype).cpu().numpy()
    return out


def _dtype_problem(value: Stored | np.ndarray) -> str | None:
    """Stored tensors come in plain dtypes only (their readers refuse others); arrays are checked here."""
    if isinstance(value, Stored):
        return None
    dtype = np.asarray(value).dtype
    if dtype.kind not in "biuf":
        return f"has dtype {dtype}; weights must be floating point (or integer)"
    return None


def check_weights(graph: Graph, tensors: Mapping[str, Stored | np.ndarray], origin: str) -> dict[str, np.ndarray]:
    """Match ``tensors`` against the graph's contract; float32 arrays, or located B009 diagnostics.

    Shapes (and names) are checked for every tensor before any :class:`Stored` tensor's data is
    read, so a file that does not fit costs nothing but its headers.
    """
    specs = {t.name: t for t in tensor_specs(graph)}
    diags: list[Diagnostic] = []
    for name, t in specs.items():
        if name not in tensors:
            continue
        value = tensors[name]
        shape = value.shape if isinstance(value, Stored) else np.shape(value)
        problem = _dtype_problem(value)
        if problem is None and tuple(shape) != t.shape:
            problem = f"has shape {list(shape)}, the spec needs {list(t.shape)}"
        if problem:
            diags.append(
                Diagnostic(
                    "B009",
                    f"{origin}: tensor '{name}' {problem}",
                    t.node.span if t.node else None,
                    Severity.ERROR,
                    "the weights were saved for a different spec or parameters",
                )
            )
    missing = [n for n in specs if n not in tensors]
    extra = sorted(n for n in tensors if n not in specs and n.rsplit(".", 1)[-1] not in OPTIONAL)
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        first = specs[missing[0]].node
        diags.append(
            Diagnostic(
                "B009",
                f"{origin}: {len(missing)} tensor{'s' if len(missing) != 1 else ''} missing: {shown}",
                first.span if first else None,
                Severity.ERROR,
                "names follow docs/ir.md (a train-time state_dict of the PyTorch backend, not a deployed one)",
            )
        )
    if extra:
        shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        diags.append(
            Diagnostic(
                "B009",
                f"{origin}: {len(extra)} tensor{'s' if len(extra) != 1 else ''} the spec does not have: {shown}",
                None,
                Severity.ERROR,
                "the weights were saved for a different spec or parameters",
            )
        )
    if diags:
        raise DiagnosticError(diags)
    out: dict[str, np.ndarray] = {}
    for name in specs:
        value = tensors[name]
        arr = value.load() if isinstance(value, Stored) else value
        if _dtype_problem(arr) or tuple(np.shape(arr)) != specs[name].shape:  # the file changed under us
            raise _error("B008", f"{origin}: tensor '{name}' does not match its header", help=FILE_HELP)
        out[name] = np.asarray(arr, dtype=np.float32)  # no copy when it is float32 already
        del arr
    return out


def resolve_weights(
    graph: Graph, weights: str | Path | dict[str, np.ndarray] | None, seed: int
) -> tuple[dict[str, np.ndarray], str]:
    """The float32 tensors to use and a deterministic description of where they came from."""
    if weights is None:
        return init_weights(graph, seed), f"numpy init, seed {seed}"
    if isinstance(weights, dict):
        checked = check_weights(graph, weights, "weights")
        h = hashlib.sha256()
        safetensors.digest(checked, h)
        return checked, f"in-memory tensors sha256:{h.hexdigest()}"
    p = Path(weights)
    with open_weights(p, graph) as wf:
        checked = check_weights(graph, wf.tensors, f"weights file '{p.name}'")
        return checked, f"{p.name} sha256:{wf.digest()}"
