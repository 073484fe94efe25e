"""Datasets for the evaluators: scikit-learn's digits (no download) or an image folder, as uint8
arrays at a net's input size, with a seeded held-out split.

``data="digits"``: the 1,797 8×8 hand-written digits that ship inside scikit-learn
(:func:`sklearn.datasets.load_digits`; 10 classes), scaled to 0-255 and resized to the net's input.

``data="DIR"``: a folder in the layout of torchvision's ``ImageFolder`` (torchvision is not
needed): one sub-folder per class, the class names sorted give the labels 0, 1, ...::

    DIR/cat/0001.png
    DIR/cat/0002.jpg
    DIR/dog/a.npy          # a 2-D [H, W] or 3-D [H, W, C] uint8/float array (allow_pickle=False)

Images (``.png .jpg .jpeg .bmp .gif .webp .tif .tiff``, read with Pillow) are converted to the
net's channels (1: greyscale; 3: RGB; another count: greyscale repeated) and resized (bilinear) to
the net's input size. Files of other types and hidden files are skipped. Limits (each a clear
``B506``, naming the file): a folder that does not exist or has fewer than two classes with
images, more than :data:`MAX_FILES` images, a file above :data:`MAX_FILE_BYTES`, an image above
:data:`MAX_PIXELS` pixels (a decompression bomb), a file that is not a readable image (garbage),
and a dataset whose arrays at the input size would exceed the caller's memory budget.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from archdsl.fileio import InputError, read_input

from .common import MIB, fail

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
MAX_FILES = 200_000
MAX_FILE_BYTES = 64 * MIB
MAX_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class Dataset:
    """``images``: uint8 [N, C, H, W]; ``labels``: int64 [N]; ``classes``: the class names."""

    images: Any
    labels: Any
    classes: tuple[str, ...]
    source: str

    def split(self, holdout: float, seed: int) -> tuple[Any, Any, Any, Any]:
        """A seeded, stratified split: ``holdout`` of each class held out (at least one per class)."""
        import numpy as np

        rng = np.random.default_rng(seed)
        test: list[int] = []
        for c in range(len(self.classes)):
            idx = np.flatnonzero(self.labels == c)
            idx = idx[rng.permutation(len(idx))]
            test.extend(idx[: max(1, round(holdout * len(idx)))].tolist())
        mask = np.zeros(len(self.labels), dtype=bool)
        mask[test] = True
        return self.images[~mask], self.labels[~mask], self.images[mask], self.labels[mask]


def _to_channels(img: Any, channels: int, size: tuple[int, int]) -> Any:
    import numpy as np
    from PIL import Image

    mode = "RGB" if channels == 3 else "L"
    img = img.convert(mode).resize((size[1], size[0]), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.uint8)
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    if arr.shape[0] != channels:
        arr = np.repeat(arr[:1], channels, axis=0)
    return arr


def _from_array(arr: Any, name: str) -> Any:
    import numpy as np
    from PIL import Image

    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)) or arr.size == 0:
        raise fail("B506", f"'{name}' holds an array of shape {list(arr.shape)}, not an image [H, W] or [H, W, C]")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise fail("B506", f"'{name}' holds an array of {arr.dtype}, not numbers")
    if arr.dtype != np.uint8:
        arr = np.asarray(arr, dtype=np.float64)
        if not np.isfinite(arr).all():
            raise fail("B506", f"'{name}' holds NaN or infinite values")
        hi = 1.0 if arr.max() <= 1.0 else 255.0
        arr = np.clip(arr / hi * 255.0, 0, 255).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    return Image.fromarray(arr)


def _read_image(path: Path, channels: int, size: tuple[int, int]) -> Any:
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        raw = read_input(path, MAX_FILE_BYTES, str(path))
    except InputError as exc:
        raise fail("B506", str(exc), "the dataset's files must be regular, readable images") from None
    try:
        if path.suffix.lower() == ".npy":
            return _to_channels(_from_array(np.load(io.BytesIO(raw), allow_pickle=False), str(path)), channels, size)
        with Image.open(io.BytesIO(raw)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise fail("B506", f"'{path}' is {img.width}x{img.height} pixels, above the limit of {MAX_PIXELS:,}")
            img.load()
            return _to_channels(img, channels, size)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise fail("B506", f"'{path}' is not a readable image: {exc}", "remove or replace the file") from None


def _listing(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError as exc:
        raise fail("B506", f"cannot list the dataset folder '{folder}': {exc.strerror or exc}") from None


def _folder(path: str, channels: int, size: tuple[int, int], budget_mb: float) -> Dataset:
    import numpy as np

    root = Path(path)
    if not root.exists():
        raise fail("B506", f"the dataset folder '{path}' does not exist", "data=DIR: one sub-folder per class")
    if not root.is_dir():
        raise fail("B506", f"the dataset '{path}' is not a folder", "data=DIR: one sub-folder per class, or 'digits'")
    files: list[tuple[Path, int]] = []
    classes = []
    for entry in sorted(p for p in _listing(root) if p.is_dir() and not p.name.startswith(".")):
        found = sorted(
            f
            for f in _listing(entry)
            if not f.name.startswith(".") and f.suffix.lower() in IMAGE_SUFFIXES | {".npy"} and not f.is_dir()
        )
        if found:
            files += [(f, len(classes)) for f in found]
            classes.append(entry.name)
        if len(files) > MAX_FILES:
            raise fail("B506", f"the dataset folder '{path}' has more than {MAX_FILES:,} images")
    if len(classes) < 2:
        raise fail(
            "B506",
            f"the dataset folder '{path}' has {len(classes)} class folder(s) with images; at least 2 are needed",
            "layout: DIR/<class>/<image>.png|jpg|npy, one sub-folder per class",
        )
    need = len(files) * channels * size[0] * size[1]
    if need > budget_mb * MIB:
        raise fail("B506", f"the dataset '{path}' needs {need / MIB:,.0f} MiB at {size}, above {budget_mb:,.0f} MiB")
    images = np.stack([_read_image(f, channels, size) for f, _ in files])
    labels = np.array([c for _, c in files], dtype=np.int64)
    return Dataset(images, labels, tuple(classes), str(root))


def _digits(channels: int, size: tuple[int, int]) -> Dataset:
    import numpy as np
    from PIL import Image

    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise fail(
            "B502", "the digits dataset needs 'scikit-learn', which is not installed", "pip install 'archdsl[eval]'"
        ) from None
    d = load_digits()
    raw = np.clip(d.images * (255.0 / 16.0), 0, 255).astype(np.uint8)
    images = np.stack([_to_channels(Image.fromarray(im), channels, size) for im in raw])
    return Dataset(images, d.target.astype(np.int64), tuple(str(i) for i in range(10)), "digits")


@lru_cache(maxsize=4)
def _cached(source: str, stamp: float, channels: int, size: tuple[int, int], budget_mb: float) -> Dataset:
    if source == "digits":
        return _digits(channels, size)
    return _folder(source, channels, size, budget_mb)


def load_dataset(source: str, shape: tuple[int, int, int], budget_mb: float = 1024.0) -> Dataset:
    """``"digits"`` or a folder, as uint8 arrays of ``shape`` = (C, H, W) per image (cached per
    source, shape and the folder's modification time)."""
    c, h, w = shape
    stamp = 0.0
    if source != "digits":
        try:
            stamp = os.stat(source).st_mtime
        except OSError:
            stamp = -1.0
    return _cached(source, stamp, c, (h, w), budget_mb)


def normalise(torch: Any, images: Any) -> Any:
    """uint8 [N, C, H, W] (numpy) → float32 tensor, scaled to [0, 1] then centred (mean 0.5, std 0.25)."""
    x = torch.from_numpy(images).to(torch.float32)
    return (x / 255.0 - 0.5) / 0.25


def proxy_batch(data: str, batch: int, shape: tuple[int, ...], seed: int, evaluator: str) -> Any:
    """The input minibatch of a zero-cost proxy: synthetic noise from the seed, or ``batch`` images
    drawn (seeded, without replacement where possible) from a dataset."""
    import numpy as np
    import torch

    from .common import synthetic_batch

    if data == "synthetic":
        return synthetic_batch((batch, *shape), seed)
    ds = load_dataset(data, (shape[0], shape[1], shape[2]))
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(ds.labels), size=batch, replace=batch > len(ds.labels))
    return normalise(torch, ds.images[np.sort(idx)])


__all__ = ["Dataset", "load_dataset", "normalise", "proxy_batch"]
