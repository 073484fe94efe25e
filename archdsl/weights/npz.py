"""Reading ``.npz`` weights (``numpy.savez``) without trusting them: no bombs, no pickles.

``numpy.load`` inflates a member as soon as it is indexed, so a 4 MB archive holding a deflated
4 GB array of zeros costs 4 GB before anyone looks at its shape. Here each member's ``.npy`` header
(shape, dtype, order) is parsed from the start of its compressed stream, which inflates a few
hundred bytes, and the data is read only later, on request, once :func:`archdsl.weights.check_weights`
has accepted the shape. Refused before any data is read:

- an archive with more members than the spec could use (``max_members``), or a larger central
  directory than they need, read from the zip's end record (:mod:`archdsl.weights.zip_directory`) before
  :mod:`zipfile` builds an entry per member;
- a member that is not ``NAME.npy``, or a name given twice;
- a ``.npy`` header that is malformed, of an unknown version, or of a dtype that is not plain
  bool, integer or floating point (object arrays would need pickle: never);
- a member whose declared uncompressed size is not exactly its header plus its data;
- an encrypted member or an unknown compression method.

Every problem raises ``ValueError`` with a message that names the member, or
``zipfile.BadZipFile``.
"""

from __future__ import annotations

import math
import zipfile
from typing import IO

import numpy as np

from archdsl.weights.stored import Stored, read_into
from archdsl.weights.zip_directory import check_directory

_KINDS = "biuf"  # bool, signed and unsigned integers, floating point


def open_npz(fh: IO[bytes], max_members: int) -> tuple[zipfile.ZipFile, dict[str, Stored]]:
    """The archive (keep it open while loading) and its members as :class:`Stored` tensors."""
    check_directory(fh, max_members)
    z = zipfile.ZipFile(fh)
    try:
        if len(z.infolist()) > max_members:  # the record lied
            raise ValueError(f"the archive has more than {max_members:,} members")
        out: dict[str, Stored] = {}
        for info in z.infolist():
            name = info.filename
            if not name.endswith(".npy") or info.is_dir():
                raise ValueError(f"member {name!r} is not a .npy array (an .npz holds NAME.npy members only)")
            key = name[: -len(".npy")]
            if key in out:
                raise ValueError(f"member {name!r} occurs twice in the archive")
            out[key] = _member(z, info)
    except BaseException:
        z.close()
        raise
    return z, out


def _member(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> Stored:
    name = info.filename
    if info.flag_bits & 0x1:
        raise ValueError(f"member {name!r} is encrypted")
    with z.open(info) as stream:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"member {name!r}: .npy format version {version[0]}.{version[1]} is not supported")
        data_start = stream.tell()
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in _KINDS:
        raise ValueError(
            f"member {name!r} holds {dtype} values; weights must be bool, integer or floating point "
            "(object arrays are never unpickled)"
        )
    nbytes = math.prod(shape) * dtype.itemsize
    if info.file_size != data_start + nbytes:
        raise ValueError(
            f"member {name!r}: the archive declares {info.file_size:,} bytes, but a {dtype} array of shape "
            f"{list(shape)} takes {data_start + nbytes:,} with its header"
        )

    def load() -> np.ndarray:
        with z.open(info) as stream:
            stream.seek(data_start)
            arr = read_into(stream, None, np.empty(math.prod(shape), dtype=dtype))
        if fortran:
            return arr.reshape(shape[::-1]).transpose()
        return arr.reshape(shape)

    return Stored(tuple(shape), str(dtype), load)
