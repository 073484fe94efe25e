"""The PyTorch backend: IR graph → ``torch.nn.Module``, standalone Python, ``torch.export`` program.

Published as the entry point ``torch = "archdsl_backends.torch:BACKEND"`` in the group
``archdsl.backends`` (the same hook a third-party backend uses; see docs/backends.md).

Modules: :mod:`.lower` (one step per IR node, the B001/B101 checks, in-place decisions),
:mod:`.layers` (blur pool, LayerNorm2d, scale, attention, drop path, unfold/fold/shuffle, the padded
conv, the fast 1×1 conv and in-place batch norm), :mod:`.build` (torch.fx GraphModule),
:mod:`.weights` (the shared timm-like initialisation and ``--weights`` files, through
:mod:`archdsl.weights`), :mod:`.deploy` (the shared IR passes: BN folding, MobileOne
re-parameterisation), :mod:`.codegen` and :mod:`.codegen_init` (standalone source), :mod:`.backend`
(the backend object and ``compile``).
See docs/backends.md.
"""

from typing import Any

from .options import TorchOptions

_FROM_BACKEND = ("BACKEND", "TorchBackend", "build_module", "reparameterize")


def __getattr__(name: str) -> Any:
    """Everything but the options imports torch: it loads on first use, so that :mod:`.options`
    (which ``archdsl compile --help`` reads) does not pull torch in."""
    if name in _FROM_BACKEND:
        from . import backend

        return getattr(backend, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BACKEND", "TorchBackend", "TorchOptions", "build_module", "reparameterize"]
