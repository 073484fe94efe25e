"""Size limits that refuse absurd specs before anything large is built, and the work budget.

Most limits bound what is *made* (a dimension, a tensor, the ops of a net). :class:`Budget` bounds
the *work* of resolving: every pipeline stage, repeat iteration, column, block use, op and
expression term is one step, whether or not it makes an op, so ``((relu * 0) * 1000) * 1000``
(a million iterations that make nothing) is refused as quickly as a million convolutions.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from archdsl.diagnostics import Span, error


class Limits(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_dim: int = Field(default=1 << 20, description="largest channel count, spatial size or integer argument")
    max_elements: int = Field(default=1 << 28, description="largest tensor, in elements per sample")
    max_repeat: int = Field(default=10_000, description="largest repeat count of one stage")
    max_nodes: int = Field(default=50_000, description="most primitive ops in one net")
    max_depth: int = Field(default=64, description="deepest nesting of block calls, and longest chain of extends")
    max_params: int = Field(default=1 << 31, description="most parameters in one net (8 GiB of fp32 weights)")
    max_columns: int = Field(default=1024, description="most parallel columns in one columns(...)")
    max_steps: int = Field(
        default=250_000,
        description="most resolution steps (stages, repeat iterations, columns, scopes, block uses, ops, "
        "expression terms) for all the nets of one spec file",
    )


DEFAULT_LIMITS = Limits()


class Budget:
    """The steps left to one resolver (all the nets it resolves share them); E506 when spent."""

    __slots__ = ("left", "limit")

    def __init__(self, limit: int):
        self.limit = limit
        self.left = limit

    @property
    def spent(self) -> bool:
        return self.left < 0

    def spend(self, span: Span | None, n: int = 1) -> None:
        self.left -= n
        if self.left < 0:
            raise error(
                "E506",
                f"resolving this spec takes more than {self.limit:,} steps",
                span,
                help="nested repeats and columns multiply even when they make no ops: ((x * 1000) * 1000) is a "
                "million iterations (see Limits in docs/language.md)",
            )

    def check_left(self, net: str, span: Span | None) -> None:
        """Refuse to start on another net once the nets before it spent the budget (E506 was reported)."""
        if self.left < 0:
            raise error("E506", f"net '{net}' is not resolved: the {self.limit:,} steps of this spec are spent", span)
