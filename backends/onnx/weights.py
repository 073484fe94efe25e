"""Weights for an ONNX graph: the tensors docs/ir.md names, from a file or a seeded initialisation.

Tensor names follow the weight naming contract (``ID.weight``, ``ID.running_mean``, ``ID.qkv.bias``
...), so a ``state_dict`` saved by the PyTorch backend loads here unchanged.

Formats (chosen by the file suffix):

- ``.safetensors``: read with the numpy-only reader in :mod:`.safetensors` (no torch, no extra
  package). The recommended way to move weights from the PyTorch backend to ONNX.
- ``.npz``: ``numpy.savez`` archives, keys as above.
- ``.pt`` / ``.pth`` / ``.bin``: a ``torch.save``'d ``state_dict``. Reading the pickle container
  needs torch; torch is imported only here and only when it is installed (``weights_only=True``).
  Without torch the error says to install it or to convert the file to safetensors.

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

import hashlib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archdsl.diagnostics import Diagnostic, DiagnosticError, Severity, Span
from archdsl.ir import Graph, Node

from . import safetensors

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


def init_weights(graph: Graph, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded numpy initialisation with PyTorch's default distributions (see the module docs)."""
    out: dict[str, np.ndarray] = {}
    for t in tensor_specs(graph):
        if t.init == "uniform":
            bound = 1.0 / np.sqrt(t.fan_in)
            arr = _rng(seed, t.name).uniform(-bound, bound, size=t.shape)
        elif t.init == "ones":
            arr = np.ones(t.shape)
        elif t.init == "zeros":
            arr = np.zeros(t.shape)
        else:
            arr = np.full(t.shape, t.value)
        out[t.name] = arr.astype(np.float32)
    return out


def _error(code: str, message: str, span: Span | None = None, help: str | None = None) -> DiagnosticError:
    return DiagnosticError(Diagnostic(code, message, span, Severity.ERROR, help))


def read_file(path: str | Path) -> dict[str, np.ndarray]:
    """Every tensor of a weights file, as numpy arrays (not yet checked against a graph)."""
    p = Path(path)
    if not p.is_file():
        raise _error("B102", f"weights file '{p}' does not exist")
    suffix = p.suffix.lower()
    try:
        if suffix == ".safetensors":
            return safetensors.load(p)
        if suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        if suffix in (".pt", ".pth", ".bin"):
            return _read_torch(p)
    except (safetensors.SafetensorsError, ValueError, OSError) as exc:
        raise _error("B102", f"cannot read weights file '{p}': {exc}") from None
    raise _error(
        "B102",
        f"weights file '{p}' has an unknown format '{suffix or '(no suffix)'}'",
        help="use .safetensors (recommended), .npz, or a torch .pt/.pth state_dict",
    )


def _read_torch(path: Path) -> dict[str, np.ndarray]:
    try:
        import torch  # only here, and only for .pt files: the ONNX path never needs torch otherwise
    except ImportError:
        raise _error(
            "B103",
            f"reading the PyTorch file '{path}' needs torch, which is not installed",
            help="install torch, or save the state_dict as safetensors "
            "(safetensors.torch.save_file(model.state_dict(), 'weights.safetensors')) and pass that file",
        ) from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except OSError:
        raise
    except Exception as exc:  # the unpickler raises many kinds on a file that is not a state_dict
        raise ValueError(f"not a torch state_dict file ({type(exc).__name__}: {exc})") from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise ValueError(f"expected a state_dict (a dict of tensors), got {type(obj).__name__}")
    out = {}
    for k, v in obj.items():
        if isinstance(v, torch.Tensor):
            out[str(k)] = v.detach().to(torch.float32 if v.is_floating_point() else v.dtype).cpu().numpy()
    return out


def file_digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check_weights(graph: Graph, tensors: dict[str, np.ndarray], origin: str) -> dict[str, np.ndarray]:
    """Match ``tensors`` against the graph's contract; float32 copies, or located B102 diagnostics."""
    specs = {t.name: t for t in tensor_specs(graph)}
    diags: list[Diagnostic] = []
    out: dict[str, np.ndarray] = {}
    for name, t in specs.items():
        if name not in tensors:
            continue
        arr = np.asarray(tensors[name])
        if tuple(arr.shape) != t.shape:
            diags.append(
                Diagnostic(
                    "B102",
                    f"{origin}: tensor '{name}' has shape {list(arr.shape)}, the spec needs {list(t.shape)}",
                    t.node.span if t.node else None,
                    Severity.ERROR,
                    "the weights were saved for a different spec or parameters",
                )
            )
            continue
        out[name] = arr.astype(np.float32)
    missing = [n for n in specs if n not in tensors]
    extra = sorted(n for n in tensors if n not in specs and n.rsplit(".", 1)[-1] not in OPTIONAL)
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        first = specs[missing[0]].node
        diags.append(
            Diagnostic(
                "B102",
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
                "B102",
                f"{origin}: {len(extra)} tensor{'s' if len(extra) != 1 else ''} the spec does not have: {shown}",
                None,
                Severity.ERROR,
                "the weights were saved for a different spec or parameters",
            )
        )
    if diags:
        raise DiagnosticError(diags)
    return out


def resolve_weights(
    graph: Graph, weights: str | Path | dict[str, np.ndarray] | None, seed: int
) -> tuple[dict[str, np.ndarray], str]:
    """The float32 tensors to use and a deterministic description of where they came from."""
    if weights is None:
        return init_weights(graph, seed), f"numpy init, seed {seed}"
    if isinstance(weights, dict):
        checked = check_weights(graph, weights, "weights")
        return checked, f"in-memory tensors sha256:{hashlib.sha256(safetensors.dumps(checked)).hexdigest()}"
    p = Path(weights)
    tensors = read_file(p)
    return check_weights(graph, tensors, f"weights file '{p.name}'"), f"{p.name} sha256:{file_digest(p)}"
