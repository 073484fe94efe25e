"""A tensor of a weights file known by its header (shape, dtype) before its data is read.

The readers of :mod:`.safetensors` and :mod:`.npz` return :class:`Stored` tensors, so that
:func:`archdsl.weights.check_weights` can compare every shape with what the spec needs and refuse a file
before a single data byte is inflated or allocated: a 4 GB array hidden in a 4 MB archive costs
nothing when its shape is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

import numpy as np

CHUNK = 16 << 20


@dataclass(frozen=True)
class Stored:
    shape: tuple[int, ...]
    dtype: str
    """the file's name for the dtype (``F32``, ``float64`` ...), for messages"""
    load: Callable[[], np.ndarray]


def read_into(fh: IO[bytes], offset: int | None, arr: np.ndarray) -> np.ndarray:
    """Fill the contiguous array ``arr`` with bytes of ``fh`` (from ``offset`` when given); returns it.

    Reads in chunks straight into the array's buffer (no intermediate copy of the whole tensor);
    a file that ends early raises ``ValueError``.
    """
    if offset is not None:
        fh.seek(offset)
    view = memoryview(arr.reshape(-1)).cast("B") if arr.nbytes else memoryview(b"")
    pos = 0
    while pos < len(view):
        n = fh.readinto(view[pos : pos + CHUNK])
        if not n:
            raise ValueError(f"the file ends {len(view) - pos:,} bytes before the end of a tensor")
        pos += n
    return arr
