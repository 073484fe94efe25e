"""The graph under construction: ONNX nodes, initializers and naming, shared by every emitter.

Naming (so the graph reads well in Netron): the node that produces an IR node's result is named
after the IR path and so is its output tensor (``stage2.col1.dcac.attn.conv``); helper nodes and
tensors of a multi-node lowering are ``PATH/part`` (``s3.mhsa/scores``); weights keep the names of
docs/ir.md (``PATH.weight``); small shared constants are ``const/*`` (a ``/`` cannot occur in a spec
path, so no name clashes). Each node's ``doc_string`` is the spec location it came from
(``attendnext.arch:29:12``), which Netron shows as its description.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from archdsl.ops import TensorType

from .artefacts import initializers


class Builder:
    def __init__(
        self,
        opset: int,
        weights: dict[str, np.ndarray],
        types: dict[str, TensorType],
        split_groups: dict | None = None,
    ):
        self.opset = opset
        self.split_groups = split_groups or {}  # slice id → SplitGroup (see folding.py)
        self.weights = weights
        self.types = types
        self.nodes: list[onnx.NodeProto] = []
        self.arrays: dict[str, np.ndarray] = {}  # the initializers' data, in first-use order; no copies
        self.doc: str = ""
        self._names: set[str] = set()
        self._tensors: set[str] = set()

    # -- what the target opset offers --------------------------------------------------------
    def has(self, op_type: str) -> bool:
        """Whether the default domain has ``op_type`` at the target opset."""
        try:
            onnx.defs.get_schema(op_type, self.opset, "")
        except onnx.defs.SchemaError:
            return False
        return True

    # -- nodes -----------------------------------------------------------------------------------
    def add(self, op_type: str, inputs: list[str], output: str, name: str | None = None, **attrs) -> str:
        """Append one node with one output; returns the output's name."""
        return self.add_multi(op_type, inputs, [output], name or output, **attrs)[0]

    def add_multi(self, op_type: str, inputs: list[str], outputs: list[str], name: str, **attrs) -> list[str]:
        if name in self._names:
            raise RuntimeError(f"internal error: two ONNX nodes named {name!r}")
        for o in outputs:
            if o in self._tensors:
                raise RuntimeError(f"internal error: tensor {o!r} produced twice")
        self._names.add(name)
        self._tensors.update(outputs)
        attrs = {k: v for k, v in attrs.items() if v is not None}
        node = helper.make_node(op_type, inputs, outputs, name=name, doc_string=self.doc or None, **attrs)
        self.nodes.append(node)
        return list(outputs)

    def produces(self, tensor: str) -> bool:
        return tensor in self._tensors or tensor in self.arrays

    # -- initializers ----------------------------------------------------------------------------
    def const(self, name: str, array: np.ndarray) -> str:
        """An initializer; a second request for ``name`` must carry the same data (then it is shared)."""
        arr = np.asarray(array)
        old = self.arrays.get(name)
        if old is not None:
            if old.dtype != arr.dtype or old.shape != arr.shape or not np.array_equal(old, arr, equal_nan=True):
                raise RuntimeError(f"internal error: two different initializers named {name!r}")
            return name
        self.arrays[name] = arr
        return name

    def ints(self, name: str, values: list[int] | tuple[int, ...]) -> str:
        """A 1-D int64 constant (shapes, axes, pads, split sizes)."""
        return self.const(name, np.asarray(values, dtype=np.int64))

    def scalar(self, value: float) -> str:
        """A shared float32 scalar constant, named after its value."""
        return self.const(f"const/{float(value)!r}", np.asarray(value, dtype=np.float32))

    def param(self, name: str, array: np.ndarray | None = None) -> str:
        """A weight of the naming contract as an initializer (``array`` overrides its layout)."""
        if array is None:
            array = self.weights[name]
        return self.const(name, np.asarray(array, dtype=np.float32))

    # -- small lowering helpers used by several emitters ---------------------------------------------
    def reduce_mean(self, x: str, axes: list[int], output: str) -> str:
        """ReduceMean keeping dims; ``axes`` is an attribute before opset 18 and an input from 18 on."""
        if self.opset >= 18:
            return self.add("ReduceMean", [x, self.ints(f"const/axes{axes}", axes)], output, keepdims=1)
        return self.add("ReduceMean", [x], output, axes=axes, keepdims=1)

    def finish(
        self,
        inputs: list[onnx.ValueInfoProto],
        output: str | list[str],
        output_info: onnx.ValueInfoProto | list[onnx.ValueInfoProto],
        name: str,
        location: str = "model.onnx.data",
    ) -> tuple[onnx.GraphProto, dict[str, np.ndarray], int]:
        """The GraphProto, with the tensor ``output`` renamed to the graph output's name (or each
        of a list of outputs to its own name: the multi-scale features).

        Large initializers are external-data references into ``location`` (see :mod:`.artefacts`);
        returns the graph, the arrays they stand for, and the data file's size.
        """
        outputs = output if isinstance(output, list) else [output]
        infos = output_info if isinstance(output_info, list) else [output_info]
        input_names = {i.name for i in inputs}
        renamed: dict[str, str] = {}
        for out, info in zip(outputs, infos, strict=True):
            final = info.name
            out = renamed.get(out, out)
            if out == final:
                continue
            if out in input_names or out in self.arrays or out in renamed.values():
                self.add("Identity", [out], final, name=final)
                continue
            if final in self._tensors or final in input_names:
                raise RuntimeError(f"internal error: output name {final!r} is already a tensor of the graph")
            for node in self.nodes:
                for i, v in enumerate(node.input):
                    if v == out:
                        node.input[i] = final
                for i, v in enumerate(node.output):
                    if v == out:
                        node.output[i] = final
            self._tensors.add(final)
            renamed[out] = final
        protos, external, data_bytes = initializers(self.arrays, location)
        return helper.make_graph(self.nodes, name, inputs, infos, initializer=protos), external, data_bytes


def value_info(name: str, t: TensorType, batch: int | str) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, *t.shape])
