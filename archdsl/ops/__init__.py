"""The registry of primitive ops: name → :class:`OpSpec` (argument schema, shape rule, counts).

The registry is an explicit table; a duplicate name is an error at import time.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from pydantic import create_model

from archdsl.ops import conv, merge, norm_act, pool, tokens
from archdsl.ops.base import COST_KINDS, Cost, OpArgs, OpError, OpSpec, TensorType, Traits, WeightSpec


def _build() -> dict[str, OpSpec]:
    """Collect the ops; give each its own argument class tagged ``op = "<name>"``.

    The tag makes the IR's ``args`` a discriminated union, so a JSON node round-trips to the right
    schema even where two ops share one argument model (``maxpool`` and ``avgpool``, say).
    """
    table: dict[str, OpSpec] = {}
    for module in (conv, norm_act, pool, merge, tokens):
        for spec in module.OPS:
            if spec.name in table:
                raise RuntimeError(f"duplicate op name {spec.name!r}")
            cls_name = "".join(part.capitalize() for part in spec.name.split("_")) + "Args"
            tagged = create_model(cls_name, __base__=spec.args, op=(Literal[spec.name], spec.name))
            table[spec.name] = dataclasses.replace(spec, args=tagged)
    return table


OPS: dict[str, OpSpec] = _build()

__all__ = ["COST_KINDS", "OPS", "Cost", "OpArgs", "OpError", "OpSpec", "TensorType", "Traits", "WeightSpec"]
