"""int8 models: ``archdsl compile SPEC --backend onnx --quantize int8`` (``-O quantize=int8``).

The fp32 model the backend builds is statically quantised by onnxruntime's own tools
(``onnxruntime.quantization.quantize_static``) to the QDQ format (QuantizeLinear /
DequantizeLinear pairs around each quantised op; onnxruntime fuses them into int8 kernels such
as QLinearConv, another runtime reads the same scales):

- weights int8 per output channel (``per_channel=True``), symmetric; activations int8
  (``QInt8``, symmetric ranges around zero are not forced), MinMax calibration;
- **what is quantised** (:data:`QUANTIZED_OPS`): convolutions (``Conv``) and linear layers
  (``Gemm``, and ``MatMul`` with a weight operand: the token linears of MobileViT), where nearly
  all MACs are and where int8 kernels gain. Kept in float on purpose: ``Softmax`` (the
  ChannelSoftmax of the DC-AC attention and MobileViT's attention: an exp over a wide logit
  range), the attention's activation × activation ``MatMul`` products (both operands dynamic:
  scores and context; :func:`float_matmuls` names them in ``nodes_to_exclude``), and the
  element-wise ops (HardSigmoid · x, Add, Mul, Resize ...), which gain nothing from int8 on a
  CPU and would only add quantisation error;
- calibration: the images of ``--calibration DIR`` (``-O calibration=DIR``: ``.png``/``.jpg``/
  ``.jpeg``/``.bmp`` files read with Pillow and resized to the spec's input size, or ``.npy``
  arrays already in the network's input layout ``C×H×W``), normalised with the spec's
  ``meta { input_mean = "..." input_std = "..." }`` when present (comma-separated numbers per
  channel, on pixels scaled to 0..1), ImageNet's mean and std otherwise; at most
  :data:`MAX_IMAGES`, in file-name order. Without a folder the model is calibrated on
  :data:`RANDOM_SAMPLES` seeded Gaussian inputs and a loud warning says that its accuracy means
  nothing.

The output is deterministic: the same spec, seed and calibration set give the same bytes (the
calibration runs with one thread, images in sorted order).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from archdsl.diagnostics import Diagnostic, DiagnosticError, Severity
from archdsl.fileio import InputError, note_input, read_input
from archdsl.ir import Graph

QUANTIZED_OPS: tuple[str, ...] = ("Conv", "Gemm", "MatMul")
"""ONNX op types quantised to int8 (a MatMul only with a weight operand: :func:`float_matmuls`); every
other op (Softmax, element-wise) stays float."""
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
MAX_IMAGES = 512
MAX_FILE_BYTES = 64 << 20
RANDOM_SAMPLES = 16
MAX_PIXELS = 1 << 26
NPY_HELP = "save normalised inputs in the network's layout (channels, height, width) with numpy.save"
QUANT_HELP = "compile without --quantize to check the fp32 model; the int8 tools are onnxruntime.quantization"
IMAGE_HELP = "the calibration folder holds images (.png, .jpg, .jpeg, .bmp) or .npy arrays"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

BAD_CALIBRATION = "B203"
"""the calibration folder is missing, empty or holds a file that cannot be used"""
QUANTIZE_FAILED = "B204"
"""onnxruntime's quantisation tools are missing or failed"""

RANDOM_WARNING = (
    "warning: --quantize int8 without --calibration DIR: the int8 model is calibrated on {n} seeded RANDOM "
    "inputs, not on images; its scales are arbitrary and its accuracy means nothing (fine for a speed or "
    "loading check only). Pass --calibration DIR with a few hundred representative images."
)


def _error(code: str, message: str, help: str | None = None) -> DiagnosticError:
    return DiagnosticError(Diagnostic(code, message, None, Severity.ERROR, help))


def _channels(graph: Graph, key: str, default: tuple[float, ...], channels: int) -> np.ndarray:
    raw = graph.meta.get(key)
    if raw is None:
        values = default if channels == len(default) else (default[0],) * channels
    else:
        try:
            values = tuple(float(v) for v in str(raw).replace(",", " ").split())
        except ValueError:
            values = ()
        if len(values) != channels or not all(np.isfinite(values)) or (key == "input_std" and min(values) <= 0):
            raise _error(
                BAD_CALIBRATION,
                f"meta {key} = {str(raw)[:60]!r} is not {channels} finite numbers"
                + (" above zero" if key == "input_std" else ""),
                f'write e.g. {key} = "{", ".join(f"{v:g}" for v in default)}" (one per input channel)',
            )
    return np.asarray(values, np.float32).reshape(channels, 1, 1)


def _load_image(path: Path, shape: tuple[int, int, int], mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    c, h, w = shape
    try:
        data = read_input(str(path), MAX_FILE_BYTES, "calibration file")
    except InputError as exc:
        raise _error(BAD_CALIBRATION, exc.message, IMAGE_HELP) from None
    import io

    if path.suffix.lower() == ".npy":
        return _load_npy(path, data, shape)
    try:
        from PIL import Image
    except ImportError:
        raise _error(QUANTIZE_FAILED, "reading calibration images needs Pillow", "pip install pillow") from None
    if c not in (1, 3):
        raise _error(BAD_CALIBRATION, f"{path}: the net takes {c} input channels; images give 1 or 3", NPY_HELP)
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.size[0] * im.size[1] > MAX_PIXELS:  # before decoding anything: a tiny file can claim 10^10 pixels
                raise _error(
                    BAD_CALIBRATION,
                    f"{path}: {im.size[0]}x{im.size[1]} pixels is more than a calibration image needs "
                    f"(at most {MAX_PIXELS:,})",
                    "resize the images (the spec's input size is enough)",
                )
            im = im.convert("RGB" if c == 3 else "L").resize((w, h), Image.BILINEAR)
            arr = np.asarray(im, np.float32) / 255.0
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise _error(BAD_CALIBRATION, f"{path}: not an image Pillow can read ({exc})", IMAGE_HELP) from None
    arr = arr.reshape(h, w, -1).transpose(2, 0, 1)
    return (arr - mean) / std


def _load_npy(path: Path, data: bytes, shape: tuple[int, int, int]) -> np.ndarray:
    """A ``C×H×W`` numeric array from ``.npy`` bytes; the header is checked before any data is read."""
    import io

    from numpy.lib import format as npformat

    buf = io.BytesIO(data)
    try:
        version = npformat.read_magic(buf)
        header = npformat.read_array_header_1_0 if version == (1, 0) else npformat.read_array_header_2_0
        got, _fortran, dtype = header(buf, max_header_size=10000)
    except (ValueError, OSError, EOFError, SyntaxError) as exc:
        raise _error(BAD_CALIBRATION, f"{path}: not a .npy array ({exc})", NPY_HELP) from None
    if tuple(got) != tuple(shape) or dtype.hasobject or dtype.kind not in "fiu":
        raise _error(
            BAD_CALIBRATION,
            f"{path}: a .npy calibration array must hold {'x'.join(map(str, shape))} numbers, not {got} {dtype}",
            NPY_HELP,
        )
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise _error(BAD_CALIBRATION, f"{path}: not a .npy array ({exc})", NPY_HELP) from None
    if not np.isfinite(arr).all():
        raise _error(BAD_CALIBRATION, f"{path}: the array holds NaN or infinity, not finite numbers", NPY_HELP)
    return arr.astype(np.float32)


def calibration_inputs(graph: Graph, folder: str | os.PathLike | None, seed: int = 0) -> tuple[list[np.ndarray], str]:
    """The calibration batch (each ``1×C×H×W`` float32) and a one-line description of where it came from."""
    shape = tuple(graph.inputs[0].type.shape)
    if folder is None:
        rng = np.random.default_rng(seed)
        return [rng.standard_normal((1, *shape)).astype(np.float32) for _ in range(RANDOM_SAMPLES)], "random"
    root = Path(folder)
    if not root.is_dir():
        raise _error(
            BAD_CALIBRATION, f"calibration folder {root} does not exist or is not a folder", "--calibration DIR"
        )
    files = sorted(
        p for p in root.iterdir() if p.suffix.lower() in (*IMAGE_SUFFIXES, ".npy") and not p.name.startswith(".")
    )[:MAX_IMAGES]
    if not files:
        raise _error(
            BAD_CALIBRATION,
            f"calibration folder {root} holds no images ({', '.join(IMAGE_SUFFIXES)}) or .npy arrays",
            "put a few hundred representative images there",
        )
    c = shape[0]
    mean = _channels(graph, "input_mean", IMAGENET_MEAN, c)
    std = _channels(graph, "input_std", IMAGENET_STD, c)
    out = []
    for p in files:
        note_input(str(p))
        out.append(_load_image(p, shape, mean, std)[None])
    return out, f"{len(out)} files of {root}"


class _Reader:
    """onnxruntime's CalibrationDataReader protocol over a list of inputs."""

    def __init__(self, name: str, batches: list[np.ndarray]):
        self._it = iter([{name: b} for b in batches])

    def get_next(self) -> dict[str, Any] | None:
        return next(self._it, None)


def float_matmuls(model) -> list[str]:
    """Names of the MatMul nodes without a weight (initializer) operand: attention products, kept float."""
    weights = {t.name for t in model.graph.initializer}
    return [n.name for n in model.graph.node if n.op_type == "MatMul" and not any(i in weights for i in n.input)]


def quantize_model(fp32: Path, graph: Graph, calibration: tuple[list[np.ndarray], str]) -> tuple[bytes, dict[str, Any]]:
    """The QDQ int8 model of the fp32 file ``fp32`` (serialised, deterministic) and facts about it.

    ``calibration``: what :func:`calibration_inputs` returned (read first, so that a bad folder fails fast).
    """
    try:
        from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    except ImportError:
        raise _error(
            QUANTIZE_FAILED, "--quantize int8 needs onnxruntime's quantisation tools", "pip install 'archdsl[onnx]'"
        ) from None
    import onnx

    batches, source = calibration
    excluded = float_matmuls(onnx.load(str(fp32), load_external_data=False))
    import logging

    root_logger = logging.getLogger()
    level = root_logger.level
    root_logger.setLevel(logging.ERROR)  # quantize_static logs a pre-processing advice on the root logger
    with tempfile.TemporaryDirectory(prefix="archdsl-quantize.") as tmp:
        out = Path(tmp) / "int8.onnx"
        try:
            quantize_static(
                str(fp32),
                str(out),
                _Reader(graph.inputs[0].name, batches),
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=list(QUANTIZED_OPS),
                nodes_to_exclude=excluded,
                per_channel=True,
                activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
                extra_options={"CalibTensorRangeSymmetric": False, "WeightSymmetric": True},
            )
        except Exception as exc:  # onnxruntime raises many types
            raise _error(QUANTIZE_FAILED, f"onnxruntime could not quantise {graph.name}: {exc}", QUANT_HELP) from None
        finally:
            root_logger.setLevel(level)
        model = onnx.load(str(out))
    prop = model.metadata_props.add()
    prop.key, prop.value = (
        "archdsl.quantize",
        (
            f"int8 QDQ per-channel; ops {','.join(QUANTIZED_OPS)} ({len(excluded)} attention MatMuls float); "
            f"calib {source}"
        ),
    )
    counts: dict[str, int] = {}
    for n in model.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return model.SerializeToString(deterministic=True), {"source": source, "ops": counts}
