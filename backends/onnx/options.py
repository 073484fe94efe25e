"""The ONNX backend's options: what ``-O KEY=VALUE`` (and the request fields) may set, validated.

A pydantic model (:class:`OnnxOptions`, an :class:`archdsl.backend.Options`): every option has a
default, so ``archdsl compile SPEC --backend onnx`` needs none of them. An unknown key is a
``B004`` diagnostic with a did-you-mean, a value of the wrong type, an opset out of range or two
options at odds a ``B005``, never a traceback. This module imports ``onnx`` only to learn the
newest opset when one is checked, so ``archdsl compile --help`` lists the options without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field, field_validator, model_validator

from archdsl.backend import OptionProblem, Options

MIN_OPSET = 13
DEFAULT_OPSET = 17
EMITS = ("onnx", "safetensors")


def max_opset() -> int:
    """The newest default-domain opset the installed ``onnx`` package knows."""
    import onnx

    return onnx.defs.onnx_opset_version()


def _names(value):
    """``features=stem,stage2`` from the command line, or a list from the API."""
    if isinstance(value, str):
        return [s.strip() for s in value.split(",") if s.strip()]
    return value


def _path_text(value):
    return str(value) if isinstance(value, Path) else value


class OnnxOptions(Options):
    """Options of one ONNX compile (docs/onnx.md has the table)."""

    backend: ClassVar[str] = "onnx"

    opset: int = Field(
        DEFAULT_OPSET, description=f"default-domain opset to target ({MIN_OPSET} to the newest onnx knows)"
    )
    dynamic_batch: bool = Field(True, description="name the batch dimension 'batch' instead of fixing it")
    batch: int = Field(1, ge=1, description="the fixed batch size when dynamic_batch is false")
    fold: bool = Field(True, description="fold batch norm into the convolution before it (--no-fold: false)")
    reparam: bool | None = Field(
        None, description="merge parallel conv branches joined by an add into one conv; default: = fold"
    )
    weights: Annotated[str | None, BeforeValidator(_path_text)] = Field(
        None, description="weights file (.safetensors, .npz, or .pt with torch installed); default: seeded init"
    )
    seed: int = Field(0, description="seed of the initialisation when no weights file is given (= --seed)")
    output_name: str = Field("output", description="name of the graph output")
    features: Annotated[list[str] | None, BeforeValidator(_names)] = Field(
        None,
        description="multi-scale features instead of the net's output: stage names or node paths, comma-separated "
        "(one graph output per feature, named by it; 'all' = the default pyramid, see archdsl show --features)",
    )
    check: bool = Field(True, description="run onnx.checker (full check, strict shape inference) on the result")
    shapes: bool = Field(False, description="store the shape of every intermediate tensor (value_info), for Netron")
    external_data: bool | None = Field(
        None, description="weights in <name>.onnx.data beside the model; default: above 1.8 GB"
    )
    quantize: str | None = Field(
        None, description="int8: a statically quantised QDQ model (onnxruntime.quantization; = --quantize int8)"
    )
    calibration: Annotated[str | None, BeforeValidator(_path_text)] = Field(
        None, description="folder of calibration images or .npy inputs for quantize=int8 (= --calibration DIR)"
    )

    @property
    def merge_branches(self) -> bool:
        return self.fold if self.reparam is None else self.reparam

    @field_validator("opset")
    @classmethod
    def _opset_range(cls, opset: int) -> int:
        hi = max_opset()
        if MIN_OPSET <= opset <= hi:
            return opset
        import onnx

        raise OptionProblem(
            f"opset {opset} is out of range: this backend emits opsets {MIN_OPSET} to {hi}",
            f"{hi} is the newest the installed onnx {onnx.__version__} supports; use -O opset=N with "
            f"{MIN_OPSET} <= N <= {hi}",
        )

    @field_validator("output_name")
    @classmethod
    def _output_name(cls, name: str) -> str:
        if not name:
            raise OptionProblem("onnx option output_name must not be empty", "give a name, e.g. -O output_name=logits")
        return name

    @field_validator("quantize")
    @classmethod
    def _quantize(cls, value: str | None) -> str | None:
        if value in (None, "none", "fp32"):
            return None
        if value != "int8":
            raise OptionProblem(
                f"onnx option quantize={value!r} is not known", "use -O quantize=int8 (or leave it out)"
            )
        return value

    @model_validator(mode="after")
    def _calibration_needs_quantize(self):
        if self.calibration and not self.quantize:
            raise OptionProblem(
                "onnx option calibration is for int8 models only", "add --quantize int8, or drop --calibration"
            )
        if self.quantize and self.external_data:
            raise OptionProblem(
                "quantize=int8 writes one .onnx file: external_data is not supported with it",
                "leave -O external_data out (int8 weights are a quarter of the fp32 ones)",
            )
        return self

    @model_validator(mode="after")
    def _reparam_needs_fold(self):
        if self.reparam and not self.fold:
            raise OptionProblem(
                "onnx option reparam=true needs fold=true (branches are merged after their batch norms are folded)",
                "drop -O reparam=true, or keep batch norms folded",
            )
        return self


def parse_options(options: dict[str, Any] | OnnxOptions | None = None, seed: int = 0) -> OnnxOptions:
    """Validate a ``-O`` dictionary (values already parsed: bools, numbers, strings); ``seed`` is
    the request's, used unless the dictionary sets one."""
    if isinstance(options, OnnxOptions):
        return options
    return OnnxOptions(**{"seed": seed, **(options or {})})
