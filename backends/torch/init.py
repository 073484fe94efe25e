"""Weight initialisation like timm's for the same layers, deterministic for a given seed.

As timm's ``byobnet`` (ResNet, MobileOne, MobileViT families) initialises its modules:

- ``Conv2d``: normal with mean 0 and std ``sqrt(2 / fan_out)``, ``fan_out = k·k·out_channels / groups``
  (kaiming-normal, fan-out mode, ReLU gain); bias zero;
- ``Linear``: normal with std 0.01; bias zero;
- batch norm and layer norm: weight one, bias zero (batch norm: running statistics reset);
- ``Scale``: its ``init`` value.

Each module draws from its own generator seeded from ``(seed, module name)``, so a module's initial
weights depend on the seed and its path only, not on the order modules are visited in: the compiled
module and the standalone file (which carries a copy of this function) agree exactly.
"""

from __future__ import annotations

import math
import zlib

import torch
from torch import nn


def init_weights(model: nn.Module, seed: int = 0) -> nn.Module:
    """Initialise every submodule of ``model`` in place (see the module docstring); returns it."""
    with torch.no_grad():
        for name, module in model.named_modules():
            gen = torch.Generator().manual_seed((seed * 1_000_003 + zlib.crc32(name.encode())) % (2**63))
            if isinstance(module, nn.Conv2d):
                fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels // module.groups
                module.weight.normal_(0.0, math.sqrt(2.0 / fan_out), generator=gen)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.Linear):
                module.weight.normal_(0.0, 0.01, generator=gen)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, (nn.BatchNorm2d, nn.LayerNorm)) or hasattr(module, "init"):
                module.reset_parameters()
    return model
