"""Model metadata: what a deployed .onnx file says about where it came from.

Everything here is a pure function of the graph, the options and the weights, so two compiles
give byte-identical files: no timestamps, no absolute paths (file names only), keys sorted.
"""

from __future__ import annotations

import json
from pathlib import Path

import onnx
from onnx import helper

import archdsl
from archdsl.diagnostics import Span
from archdsl.ir import Graph

from .options import OnnxOptions


def location(span: Span | None) -> str:
    """``file.arch:line:col`` with the file name only (the same wherever the compile ran)."""
    if span is None:
        return ""
    name = Path(span.file).name
    return f"{name}:{span.line}:{span.col}" if span.line > 0 else name


def properties(graph: Graph, opts: OnnxOptions, weights: str, stats: dict[str, int]) -> dict[str, str]:
    inp = graph.inputs[0].type
    folds = [k for k in ("batch norm folded", "branches merged", "upsampling moved later") if stats.get(k)]
    props = {
        "archdsl.version": archdsl.__version__,
        "archdsl.ir_version": str(graph.ir_version),
        "archdsl.net": graph.name,
        "archdsl.source": Path(graph.file).name,
        "archdsl.spec_hash": graph.source_hash,
        "archdsl.params": json.dumps(graph.params, sort_keys=True),
        "archdsl.input": graph.inputs[0].name,
        "archdsl.input_size": "x".join(str(d) for d in inp.shape),
        "archdsl.output_size": "x".join(str(d) for d in graph.output_type.shape),
        "archdsl.total_params": str(graph.total_params),
        "archdsl.total_macs": str(graph.total_macs),
        "archdsl.weights": weights,
        "archdsl.fold": ", ".join(f"{k} ({stats[k]})" for k in folds) if folds else "none",
    }
    for k, v in graph.meta.items():
        props[f"meta.{k}"] = json.dumps(v) if not isinstance(v, str) else v
    return dict(sorted(props.items()))


def annotate(model: onnx.ModelProto, graph: Graph, opts: OnnxOptions, weights: str, stats: dict[str, int]) -> None:
    helper.set_model_props(model, properties(graph, opts, weights, stats))
    model.doc_string = f"{graph.name} from {Path(graph.file).name}, compiled by archdsl {archdsl.__version__}"
