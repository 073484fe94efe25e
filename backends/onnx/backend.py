"""The ONNX backend object (the hook of archdsl/backend.py) and the IR → ModelProto pipeline.

``build_model`` runs: options → opset support check → weights (:mod:`.weights`) → the shared IR
passes (:mod:`.folding`) → one emitter per node (:mod:`.emitters`) → metadata → shape inference
(checked against the IR's own shapes) → ``onnx.checker``, all on a skeleton model whose large
initializers are external-data references (:mod:`.artefacts`), then puts the weights in. ``OnnxBackend.compile`` (and
:func:`save_model`) instead stream the skeleton and the weight arrays to the ``.onnx`` file, or
to ``.onnx`` plus ``.onnx.data`` (ONNX external data: ``-O external_data=true``, or more than
1.8 GB of weights), atomically and deterministically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper

import archdsl
from archdsl import backend as hook
from archdsl.backend import CompileRequest, CompileResult
from archdsl.diagnostics import Diagnostic, DiagnosticError, Severity
from archdsl.fileio import check_output
from archdsl.ir import Graph
from archdsl.weights import safetensors_file, tensor_specs

from . import artefacts
from .builder import Builder, value_info
from .emitters import CHECKS, EMITTERS
from .folding import lower
from .metadata import annotate, location
from .options import DEFAULT_OPSET, EMITS, OnnxOptions, max_opset, parse_options
from .weights import resolve_weights, weight_bytes


def check_support(graph: Graph, opset: int = DEFAULT_OPSET) -> list[Diagnostic]:
    """A located B001 diagnostic for every node this backend cannot express at ``opset``."""
    diags = []
    for node in graph.nodes:
        if node.op not in EMITTERS:
            detail = "no ONNX lowering is registered for it"
            help = "remove the op or choose another backend"
        else:
            check = CHECKS.get(node.op)
            ins = [graph.type_of(i) for i in node.inputs]
            detail = check(node, ins, opset) if check else None
            help = None
            if detail:
                fix = next((v for v in range(opset + 1, max_opset() + 1) if check(node, ins, v) is None), None)
                help = f"compile with -O opset={fix} or later" if fix else "change the op's arguments"
        if detail:
            msg = f"the onnx backend cannot express op '{node.op}' (node {node.id}) at opset {opset}: {detail}"
            diags.append(Diagnostic("B001", msg, node.span, Severity.ERROR, help))
    return diags


def build_model(
    graph: Graph,
    options: OnnxOptions | dict[str, Any] | None = None,
    weights: str | Path | dict[str, np.ndarray] | None = None,
) -> onnx.ModelProto:
    """The ONNX model of ``graph``. ``weights`` (a path or name → array dict) overrides ``options.weights``.

    The model holds its weights (``raw_data``), so it must stay under protobuf's 2 GB; for larger
    nets use :func:`save_model`, which writes ONNX external data. Raises :class:`DiagnosticError`
    for user errors: bad options, ops the opset cannot express, weights that do not fit the graph.
    """
    opts = options if isinstance(options, OnnxOptions) else parse_options(options)
    _check_request(graph, opts)
    _refuse_embedded(graph, "build_model returns a ModelProto holding the weights", "use save_model(graph, path)")
    tensors, origin = resolve_weights(graph, weights if weights is not None else opts.weights, opts.seed)
    return artefacts.embed(_build(graph, opts, tensors, origin))


def save_model(
    graph: Graph,
    path: str | Path,
    options: OnnxOptions | dict[str, Any] | None = None,
    weights: str | Path | dict[str, np.ndarray] | None = None,
) -> list[Path]:
    """Write the ONNX model of ``graph`` to ``path`` (with ``path.data`` beside it when the weights
    go to external data: ``-O external_data``, or more than 1.8 GB of them); returns the files."""
    opts = options if isinstance(options, OnnxOptions) else parse_options(options)
    _check_request(graph, opts)
    if opts.external_data is False:
        _refuse_embedded(graph, "-O external_data=false keeps the weights in the .onnx", "leave external_data unset")
    tensors, origin = resolve_weights(graph, weights if weights is not None else opts.weights, opts.seed)
    built = _build(graph, opts, tensors, origin)
    del tensors
    return [p for p, _ in artefacts.write(built, Path(path), _external(opts, built))]


def _check_request(graph: Graph, opts: OnnxOptions) -> None:
    diags = check_support(graph, opts.opset)
    if diags:
        raise DiagnosticError(diags)


def _refuse_embedded(graph: Graph, what: str, fix: str) -> None:
    size = weight_bytes(graph)
    if size > artefacts.EMBEDDED_MAX:
        raise DiagnosticError(
            Diagnostic(
                "B201",
                f"net {graph.name} has {size / 1e9:.2f} GB of weights, too many for one protobuf message "
                f"(2 GB at most): {what}",
                None,
                Severity.ERROR,
                f"{fix}: the weights then go to a .onnx.data file beside the model (ONNX external data)",
            )
        )


def _external(opts: OnnxOptions, built: artefacts.Built) -> bool:
    if opts.external_data is not None:
        return opts.external_data
    return built.weight_bytes > artefacts.EXTERNAL_BYTES


def _features(graph: Graph, opts: OnnxOptions):
    """The features of ``-O features=...`` (B005 when the net has no such stage), or None."""
    if not opts.features:
        return None
    from archdsl.analysis.features import FeatureError, select

    try:
        return select(graph, None if opts.features == ["all"] else opts.features)
    except FeatureError as exc:
        raise DiagnosticError(
            Diagnostic("B005", f"onnx option features: {exc.message}", None, Severity.ERROR, exc.help)
        ) from None


def _feature_tensor(graph: Graph, env: dict[str, str], low, fid: str) -> str:
    """The ONNX tensor holding feature node ``fid`` after the IR passes: a batch norm or identity
    folded into its producer is found at the producer; a feature a pass changed otherwise cannot
    be emitted folded."""
    nodes = graph.node_map()
    kept = {n.id for n in low.nodes}
    ref = fid
    while ref not in env and ref in nodes and nodes[ref].op in ("bn", "identity", "dropout"):
        ref = nodes[ref].inputs[0]
    folded_into = [c for c in graph.consumers().get(ref, []) if nodes[c].op == "bn" and c not in kept]
    if ref in env and not (ref == fid and folded_into):
        return env[ref]
    raise DiagnosticError(
        Diagnostic(
            "B005",
            f"onnx option features: feature node {fid} does not survive the folding passes",
            None,
            Severity.ERROR,
            "compile with -O fold=false, or choose the stage's output (archdsl show --features)",
        )
    )


def _build(graph: Graph, opts: OnnxOptions, tensors: dict[str, np.ndarray], origin: str) -> artefacts.Built:
    """The skeleton model (:mod:`.artefacts`) and its weight arrays; shape inference and the checker
    run on the skeleton, so they cost no memory for the weights."""
    info = _features(graph, opts)
    if info is not None:
        from archdsl.analysis.features import features_graph

        graph = features_graph(graph, info)
        keep = {t.name for t in tensor_specs(graph)}
        tensors = {k: v for k, v in tensors.items() if k in keep}
    low = lower(graph, tensors, fold=opts.fold, merge=opts.merge_branches)
    b = Builder(opts.opset, low.weights, low.types, low.split_groups)
    env = {i.name: i.name for i in graph.inputs}
    for node in low.nodes:
        b.doc = location(node.span)
        env[node.id] = EMITTERS[node.op](b, node, [env[i] for i in node.inputs])
    batch: int | str = "batch" if opts.dynamic_batch else opts.batch
    inputs = [value_info(i.name, i.type, batch) for i in graph.inputs]
    if info is not None:
        outs = [_feature_tensor(graph, env, low, f.node) for f in info.features]
        infos = [value_info(f.name, graph.type_of(f.node), batch) for f in info.features]
        g, arrays, data_bytes = b.finish(inputs, outs, infos, graph.name)
        return _finish_model(g, arrays, data_bytes, graph, opts, origin, low, batch)
    out_info = value_info(opts.output_name, graph.output_type, batch)
    final = env[low.output]
    if opts.output_name != final and (b.produces(opts.output_name) or opts.output_name in env):
        raise DiagnosticError(
            Diagnostic(
                "B202",
                f"the output name '{opts.output_name}' is already the name of a tensor of this graph",
                None,
                Severity.ERROR,
                "choose another with -O output_name=NAME",
            )
        )
    g, arrays, data_bytes = b.finish(inputs, final, out_info, graph.name)
    return _finish_model(g, arrays, data_bytes, graph, opts, origin, low, batch)


def _finish_model(g, arrays, data_bytes, graph: Graph, opts: OnnxOptions, origin: str, low, batch) -> artefacts.Built:
    opset_ids = [helper.make_opsetid("", opts.opset)]
    model = helper.make_model(
        g,
        opset_imports=opset_ids,
        producer_name="archdsl",
        producer_version=archdsl.__version__,
        ir_version=helper.find_min_ir_version_for(opset_ids),
    )
    annotate(model, graph, opts, origin, low.stats)
    model.graph.value_info.extend(_resize_shapes(model, low, batch))
    kept = len(model.graph.value_info)
    if opts.shapes or opts.check:
        inferred = _infer_shapes(model, low, graph, opts, batch)
        if opts.shapes:
            model = inferred
        else:
            del model.graph.value_info[kept:]
    built = artefacts.Built(model, arrays, data_bytes)
    if opts.check:
        artefacts.check(built)
    return built


def _resize_shapes(model: onnx.ModelProto, low, batch) -> list[onnx.ValueInfoProto]:
    """Shapes of the Resize outputs. ONNX shape inference multiplies the batch dimension by the
    scale 1.0 and loses its name (``unk__0``); without this declaration onnxruntime cannot tell
    that tensors after an upsampling have the batch size of the others, and leaves out layout
    optimisations (fusing a residual Add into the NCHWc convolution before it)."""
    return [
        value_info(n.output[0], low.types[n.output[0]], batch)
        for n in model.graph.node
        if n.op_type == "Resize" and n.output[0] in low.types
    ]


def _infer_shapes(model: onnx.ModelProto, low, graph: Graph, opts: OnnxOptions, batch) -> onnx.ModelProto:
    """Declare every IR tensor's shape (value_info, for Netron), then let ONNX shape inference fill
    in the helper tensors. Strict inference fails if the ONNX graph disagrees with an IR shape,
    which catches a wrong lowering here instead of at run time."""
    final = low.output
    produced = {o for n in model.graph.node for o in n.output}
    declared = {v.name for v in model.graph.value_info} | {o.name for o in model.graph.output}
    for node in low.nodes:
        if node.id != final and node.id in produced and node.id not in declared:
            model.graph.value_info.append(value_info(node.id, node.out, batch))
    try:
        return onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except onnx.shape_inference.InferenceError as exc:
        raise RuntimeError(f"internal error: the ONNX graph disagrees with the IR's shapes: {exc}") from None


def serialize(model: onnx.ModelProto) -> bytes:
    return model.SerializeToString(deterministic=True)


def output_path(output: Path | None, graph: Graph) -> Path:
    if output is None:
        return Path("build") / graph.name / f"{graph.name}.onnx"
    output = Path(output)
    if output.is_dir() or str(output).endswith(("/", "\\")) or not output.suffix:
        return output / f"{graph.name}.onnx"
    return output


class OnnxBackend:
    name = "onnx"
    summary = "ONNX model (.onnx) built from the IR with onnx.helper; no torch needed"
    options_model = OnnxOptions
    emits = EMITS
    default_emits = ("onnx",)
    capabilities = frozenset()

    def unsupported(self, graph: Graph, options: OnnxOptions | dict[str, Any] | None = None) -> list[Diagnostic]:
        """Every node the requested opset (default: 17) cannot express, located, with the opset that would."""
        return check_support(graph, parse_options(options).opset)

    def build_model(self, graph: Graph, options: dict[str, Any] | None = None, weights=None) -> onnx.ModelProto:
        return build_model(graph, options, weights)

    def compile(self, graph: Graph, request: CompileRequest) -> CompileResult:
        opts = parse_options(request.options, seed=request.seed)
        if "seed" not in opts.model_fields_set:  # a validated model from the command line: --seed
            opts = opts.model_copy(update={"seed": request.seed})
        emit = request.emit or self.default_emits
        hook.check_emits(self, emit)
        _check_request(graph, opts)
        if "onnx" in emit and opts.external_data is False:
            _refuse_embedded(graph, "-O external_data=false keeps them in the .onnx", "leave external_data unset")
        path = output_path(request.output, graph)
        st = path.with_suffix(".safetensors")
        for target, kind in ((path, "onnx"), (st, "safetensors")):  # refuse before any work is done
            if kind in emit:
                check_output(target)
        tensors, origin = resolve_weights(graph, opts.weights, opts.seed)
        result = CompileResult()
        if "onnx" in emit and opts.quantize:
            result.artefacts.append(path)
            result.messages += _compile_int8(graph, opts, tensors, origin, path)
        elif "onnx" in emit:
            built = _build(graph, opts, tensors, origin)
            external = _external(opts, built)
            written = artefacts.write(built, path, external)
            result.artefacts += [p for p, _ in written]
            props = {p.key: p.value for p in built.model.metadata_props}
            size = f"{written[0][1] / 1e6:.2f} MB" + (
                f" + {written[1][1] / 1e6:.2f} MB external data" if external else ""
            )
            result.messages.append(
                f"onnx: opset {opts.opset}, {len(built.model.graph.node)} nodes, {size}, "
                f"batch {'dynamic' if opts.dynamic_batch else opts.batch}, folds: {props['archdsl.fold']}"
            )
            del built
        if "safetensors" in emit:
            safetensors_file.save(tensors, st, {"archdsl.spec_hash": graph.source_hash, "archdsl.net": graph.name})
            result.artefacts.append(st)
        return result


def _compile_int8(graph: Graph, opts: OnnxOptions, tensors, origin: str, path: Path) -> list[str]:
    """Build the fp32 model in a temporary folder, quantise it (:mod:`.quantize`), write ``path`` atomically."""
    import tempfile

    from archdsl.fileio import atomic_write

    from .quantize import RANDOM_SAMPLES, RANDOM_WARNING, calibration_inputs, quantize_model

    calibration = calibration_inputs(graph, opts.calibration, opts.seed)  # a bad folder fails before any work
    messages = []
    if not opts.calibration:
        messages.append(RANDOM_WARNING.format(n=RANDOM_SAMPLES))
    with tempfile.TemporaryDirectory(prefix="archdsl-int8.") as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        built = _build(graph, opts, tensors, origin)
        artefacts.write(built, fp32, False)
        del built
        data, info = quantize_model(fp32, graph, calibration)
    atomic_write(path, data)
    ops = ", ".join(f"{k} {v}" for k, v in sorted(info["ops"].items()) if k in ("QuantizeLinear", "DequantizeLinear"))
    messages.append(
        f"onnx: int8 QDQ (per-channel weights; Conv, Gemm, weight MatMul quantised), {len(data) / 1e6:.2f} MB, "
        f"calibrated on {info['source']}; {ops}"
    )
    return messages


BACKEND = OnnxBackend()

__all__ = ["BACKEND", "OnnxBackend", "build_model", "check_support", "save_model", "serialize"]
