"""The torch backend's options (``-O KEY=VALUE``) as a pydantic model; imports no torch.

Published under the entry-point group ``archdsl.backend_options`` so ``archdsl compile --help``
lists them without importing torch. Validation is the hook's (:class:`archdsl.backend.Options`):
an unknown key is ``B004`` with a did-you-mean, a bad value ``B005``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import BeforeValidator, Field, model_validator

from archdsl.backend import OptionProblem, Options

EMITS = ("python", "state_dict", "pt2")


def _path_text(value):
    return str(value) if isinstance(value, Path) else value


class TorchOptions(Options):
    """Options of one torch compile."""

    backend: ClassVar[str] = "torch"

    channels_last: bool | None = Field(
        None, description="feature maps in channels_last memory format; default: true for image inputs"
    )
    dynamic_batch: bool = Field(True, description="the .pt2 takes any batch size (1 to 4096)")
    batch: int = Field(2, ge=1, description="batch size of the example input used for export")
    weights: Annotated[str | None, BeforeValidator(_path_text)] = Field(
        None,
        description="a state_dict (torch.save) or .safetensors file of the train-form module, "
        "compiled in instead of the seeded initialisation (= --weights)",
    )

    @model_validator(mode="after")
    def _export_batch(self):
        if self.dynamic_batch and self.batch < 2:
            raise OptionProblem(
                "a .pt2 with a dynamic batch size needs an example batch of at least 2 (torch.export specialises 1)",
                "use -O batch=2 (the default), or -O dynamic_batch=false for a program fixed at batch 1",
            )
        return self
