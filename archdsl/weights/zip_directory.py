"""The end record of a zip archive: how many members, and how large a directory, it declares.

:mod:`zipfile` reads the whole central directory and builds an object per member as soon as an
archive is opened, so a weights file of a few hundred megabytes holding millions of empty members
costs gigabytes before anyone can count them. Both weights readers that take zip archives
(:mod:`.npz` and :mod:`.torch_file`, the ``torch.save`` reader) call :func:`check_directory` first
and refuse an archive that declares more than its spec could use. Standard library only.
"""

from __future__ import annotations

import os
import struct
import zipfile
from typing import IO

__all__ = ["MAX_ENTRY_BYTES", "check_directory", "directory_size"]

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"

MAX_ENTRY_BYTES = 1024
"""Bytes of central directory allowed per member: 46 fixed, the name and the extra fields."""


def directory_size(fh: IO[bytes]) -> tuple[int, int]:
    """The member count and central-directory size the archive open as ``fh`` declares (zip64 aware).

    Reads at most the last 64 KiB of the file (and the zip64 record); raises
    :class:`zipfile.BadZipFile` when there is no end record.
    """
    size = os.fstat(fh.fileno()).st_size
    tail_len = min(size, 22 + 0xFFFF)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    pos = tail.rfind(_EOCD)
    if pos < 0 or pos + 22 > len(tail):
        raise zipfile.BadZipFile("not a zip archive (no end-of-central-directory record)")
    count, cd_size = struct.unpack_from("<HL", tail, pos + 10)
    if (count == 0xFFFF or cd_size == 0xFFFFFFFF) and pos >= 20 and tail[pos - 20 : pos - 16] == _EOCD64_LOCATOR:
        (where,) = struct.unpack_from("<Q", tail, pos - 12)
        fh.seek(where)
        rec = fh.read(56)
        if len(rec) != 56 or rec[:4] != _EOCD64:
            raise zipfile.BadZipFile("the zip64 end-of-central-directory record is missing")
        count, cd_size = struct.unpack_from("<QQ", rec, 32)
    return count, cd_size


def check_directory(fh: IO[bytes], max_members: int) -> None:
    """Raise ``ValueError`` if the archive declares more than ``max_members`` members, or a central
    directory larger than they need; leaves ``fh`` at its start."""
    count, cd_size = directory_size(fh)
    fh.seek(0)
    if count > max_members or cd_size > max_members * MAX_ENTRY_BYTES:
        raise ValueError(
            f"the archive declares {count:,} members in a {cd_size:,}-byte directory, more than the "
            f"{max_members:,} members it could need"
        )
