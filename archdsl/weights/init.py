"""Initialisation like timm's (``byobnet``'s ``_init_weights``), deterministic per tensor and seed.

- ``conv``: normal, mean 0, std ``sqrt(2 / fan_out)`` with ``fan_out = k·k·out_channels / groups``
  (kaiming-normal, fan-out mode, ReLU gain);
- ``linear``: normal, mean 0, std 0.01;
- ``zeros`` / ``ones`` (biases, norm shifts and scales, running statistics); ``const``: the
  op's value (``scale(init = ...)``).

Each tensor draws from its own numpy generator seeded with ``[seed_lo, seed_hi, crc32(name)]`` (the
seed's 32-bit halves and the tensor's full name), so its values depend on the seed and its name
only: adding a layer elsewhere changes nothing else, and every backend that asks here for a tensor
gets the same numbers.

:func:`init_array` is written to stand alone (numpy, math and zlib only): the PyTorch backend's
standalone ``.py`` carries a copy of it, so that a generated module initialises exactly as the
compiled one.
"""

from __future__ import annotations

from archdsl.ir import Graph


def init_array(name, policy, shape, seed=0, fan_out=0, value=0.0, dtype="float32"):
    """The initial value of the tensor ``name`` (numpy array of ``shape`` and ``dtype``).

    Normal draws are float32 straight into the result (no float64 copy of a large tensor).
    """
    import math
    import zlib

    import numpy as np

    shape = tuple(shape)
    if policy in ("conv", "linear"):
        gen = np.random.default_rng([seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF, zlib.crc32(name.encode())])
        out = np.empty(shape, dtype=np.float32)
        gen.standard_normal(dtype=np.float32, out=out)
        out *= np.float32(math.sqrt(2.0 / fan_out) if policy == "conv" else 0.01)
        return out.astype(dtype, copy=False)
    if policy == "zeros":
        return np.zeros(shape, dtype=dtype)
    if policy == "ones":
        return np.ones(shape, dtype=dtype)
    if policy == "const":
        return np.full(shape, value, dtype=dtype)
    raise ValueError(f"unknown initialisation policy {policy!r} for {name}")


def init_table(graph: Graph) -> list[tuple[str, str, tuple[int, ...], int, float]]:
    """``(name, policy, shape, fan_out, value)`` of every tensor of ``graph``: the arguments
    :func:`init_array` takes besides the seed (the standalone ``.py`` carries this table)."""
    from archdsl.weights.specs import tensor_specs

    return [(t.name, t.spec.init, t.spec.shape, t.spec.fan_out, t.spec.value) for t in tensor_specs(graph)]


def init_weights(graph: Graph, seed: int = 0) -> dict:
    """Every tensor of ``graph`` (parameters and buffers), initialised; name → numpy array."""
    from archdsl.weights.specs import tensor_specs

    return {
        t.name: init_array(t.name, t.spec.init, t.spec.shape, seed, t.spec.fan_out, t.spec.value, t.spec.dtype)
        for t in tensor_specs(graph)
    }
