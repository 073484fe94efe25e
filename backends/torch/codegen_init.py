"""The initialisation of the standalone Python file: what makes ``Net(seed=s)`` start from exactly
the weights of ``archdsl.build(spec, seed=s)``.

The file carries a copy of :func:`archdsl.weights.init_array` (by source: it imports only math,
zlib and numpy, inside the function) and a generated table ``INIT`` of
``(name, policy, shape, fan_out, value)``, one row per tensor of the spec
(:func:`archdsl.weights.init_table`); its ``init_weights(model, seed)`` copies each
``init_array(...)`` into the module's ``state_dict``, as the compiled module's initialisation does.
The table is laid out as ``ruff format`` would (one row a line, or one field a line when a row is
too long), so the file stays ruff-clean.
"""

from __future__ import annotations

import inspect

from archdsl.ir import Graph
from archdsl.weights import init_array, init_table

NAMES = ("init_array", "init_weights", "INIT")
"""Module-level names the generated file defines here."""

INIT_WEIGHTS = '''def init_weights(model: nn.Module, seed: int = 0) -> nn.Module:
    """Initialise ``model`` as archdsl does for this spec and ``seed``: every tensor of INIT."""
    state = model.state_dict()
    with torch.no_grad():
        for name, policy, shape, fan_out, value in INIT:
            state[name].copy_(torch.from_numpy(init_array(name, policy, shape, seed, fan_out, value)))
    return model'''


def _table(graph: Graph, literal, line: int) -> list[str]:
    rows = init_table(graph)
    if not rows:
        return ["INIT = ()"]
    out = ["INIT = ("]
    for name, policy, shape, fan_out, value in rows:
        fields = [literal(name), literal(policy), literal(tuple(shape)), literal(int(fan_out)), literal(float(value))]
        row = f"    ({', '.join(fields)}),"
        if len(row) <= line:
            out.append(row)
        else:
            out += ["    (", *[f"        {f}," for f in fields], "    ),"]
    out.append(")")
    return out


def init_source(graph: Graph, literal, line: int) -> list[str]:
    """The lines of the file's initialisation: ``init_array``, the ``INIT`` table, ``init_weights``."""
    return [
        inspect.getsource(init_array).rstrip(),
        "",
        "",
        "# (name, policy, shape, fan_out, value) of every tensor: the arguments of init_array besides the seed",
        *_table(graph, literal, line),
        "",
        "",
        INIT_WEIGHTS,
    ]


__all__ = ["NAMES", "init_source"]
