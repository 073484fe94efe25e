"""Size limits that refuse absurd specs before anything large is built."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Limits(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_dim: int = Field(default=1 << 20, description="largest channel count, spatial size or integer argument")
    max_elements: int = Field(default=1 << 28, description="largest tensor, in elements per sample")
    max_repeat: int = Field(default=10_000, description="largest repeat count of one stage")
    max_nodes: int = Field(default=50_000, description="most primitive ops in one net")
    max_depth: int = Field(default=64, description="deepest nesting of block calls")
    max_params: int = Field(default=1 << 31, description="most parameters in one net (8 GiB of fp32 weights)")
    max_columns: int = Field(default=1024, description="most parallel columns in one columns(...)")


DEFAULT_LIMITS = Limits()
