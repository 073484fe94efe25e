"""Artefacts the measuring targets run: the spec compiled to ONNX by the ``onnx`` backend.

The backend is reached through the backend hook (``archdsl.backend.load("onnx")``), so a
replaced or third-party ONNX backend registered under that name is used the same way. Files are
written under the bench run's work folder and named by the spec hash, so a spec benchmarked on
several targets in one run is compiled once.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from archdsl.ir import Graph

from .target import OptionError, TargetError


def spec_key(graph: Graph) -> str:
    """A stable hash of what was benchmarked: the sources, the net, its parameters and input shape."""
    data = {
        "source_hash": graph.source_hash,
        "net": graph.name,
        "params": graph.params,
        "inputs": [list(i.type.shape) for i in graph.inputs],
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def onnx_file(
    graph: Graph, workdir: Path, seed: int = 0, opset: int | None = None, quantize: str | None = None
) -> Path:
    """Compile ``graph`` to ``workdir/<net>-<hash>.onnx`` (dynamic batch, BN folded) unless present.

    ``opset``: the ONNX opset to target (default: the backend's); older onnxruntime builds on
    devices may need a lower one. ``quantize="int8"``: the statically quantised QDQ model
    (calibrated on seeded random inputs: a bench run times it, its accuracy does not matter).
    """
    from archdsl import backend as hook
    from archdsl.backend import CompileRequest
    from archdsl.codes import is_usage
    from archdsl.diagnostics import DiagnosticError

    suffix = (f"-o{opset}" if opset else "") + (f"-{quantize}" if quantize else "")
    path = Path(workdir) / f"{graph.name}-{spec_key(graph)[:12]}-s{seed}{suffix}.onnx"
    if path.exists():
        return path
    try:
        be = hook.load("onnx")
        extra = {**({"opset": opset} if opset else {}), **({"quantize": quantize} if quantize else {})}
        options = hook.parse_options(be, {"dynamic_batch": True, **extra})
        diags = hook.unsupported(be, graph, options)
        if diags:
            raise DiagnosticError(diags)
        be.compile(graph, CompileRequest(output=path, seed=seed, options=options))
    except DiagnosticError as exc:
        first = exc.diagnostics[0]
        error = OptionError if is_usage(first) else TargetError  # a bad backend option (-O opset) is the user's
        raise error(f"cannot compile {graph.name} to ONNX: {first.message}", first.help) from None
    return path
