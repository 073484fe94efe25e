"""The short-training evaluator on scikit-learn's digits and on image folders, and its datasets'
errors (missing folders, garbage images, hostile files): every failure a clear B5xx diagnostic."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import archdsl
from archdsl.diagnostics import DiagnosticError
from archdsl.evaluators import load_evaluator
from archdsl.evaluators.data import MAX_PIXELS, load_dataset

pytest.importorskip("torch")
pytest.importorskip("sklearn")
Image = pytest.importorskip("PIL.Image")

TINY = Path(__file__).resolve().parent / "fixtures" / "evaluators" / "tiny_cnn.arch"
FAST = {"steps": 150, "batch": 32}


def diag(exc: pytest.ExceptionInfo):
    return exc.value.diagnostics[0]


def test_a_tiny_net_learns_digits_clearly_above_chance():
    g = archdsl.load(TINY)
    ev = load_evaluator("train")
    trained = ev.evaluate(g, seed=0, options=FAST)
    barely = ev.evaluate(g, seed=0, options={"steps": 1, "batch": 32})
    assert trained > 0.6  # chance: 0.1
    assert trained > barely + 0.3


def test_training_is_deterministic_for_a_seed_on_the_cpu():
    g = archdsl.load(TINY)
    ev = load_evaluator("train")
    opts = {"steps": 25, "batch": 16, "optimizer": "sgd"}
    assert ev.evaluate(g, seed=3, options=opts) == ev.evaluate(g, seed=3, options=opts)


def test_digits_are_resized_to_the_input_and_split_per_class():
    ds = load_dataset("digits", (3, 20, 12))
    assert ds.images.shape == (1797, 3, 20, 12) and ds.images.dtype == np.uint8
    assert (ds.images[:, 0] == ds.images[:, 2]).all()  # grey repeated into the channels
    _, y_train, _, y_test = ds.split(0.2, seed=0)
    assert len(y_train) + len(y_test) == 1797
    counts = np.bincount(y_test, minlength=10)
    assert counts.min() >= 30 and counts.max() <= 40  # about 20% of each of ~180 per class


def test_a_net_with_fewer_outputs_than_classes_is_told_to_set_classes():
    with pytest.raises(DiagnosticError) as exc:
        load_evaluator("train").evaluate(archdsl.load(TINY, classes=4), options=FAST)
    d = diag(exc)
    assert d.code == "B507" and "4 outputs" in d.message and "classes=10" in d.help


def _bars(root: Path, n: int = 12, suffix: str = ".png") -> Path:
    """Two classes: a bright top half ('top') or bottom half ('bottom'), with noise."""
    rng = np.random.default_rng(0)
    for name, rows in (("top", slice(0, 6)), ("bottom", slice(6, 12))):
        (root / name).mkdir(parents=True)
        for i in range(n):
            im = rng.integers(0, 60, (12, 12), dtype=np.uint8)
            im[rows] += 150
            if suffix == ".npy":
                np.save(root / name / f"{i}.npy", im)
            else:
                Image.fromarray(im).save(root / name / f"{i}{suffix}")
    return root


@pytest.mark.parametrize("suffix", [".png", ".npy"])
def test_an_image_folder_trains(tmp_path, suffix):
    data = _bars(tmp_path / "bars", suffix=suffix)
    (data / "top" / ".hidden.png").write_bytes(b"not read")
    (data / "notes.txt").write_text("ignored: not a class folder")
    ds = load_dataset(str(data), (1, 16, 16))
    assert ds.classes == ("bottom", "top") and len(ds.labels) == 24
    acc = load_evaluator("train").evaluate(archdsl.load(TINY, classes=2), options={**FAST, "data": str(data)})
    assert acc >= 0.8


def test_naswot_can_take_its_minibatch_from_a_dataset():
    g = archdsl.load(TINY)
    ev = load_evaluator("naswot")
    assert ev.evaluate(g, options={"data": "digits"}) != ev.evaluate(g)


# ---- hostile datasets ---------------------------------------------------------------------------


def _fails(data, code="B506") -> object:
    with pytest.raises(DiagnosticError) as exc:
        load_evaluator("train").evaluate(archdsl.load(TINY, classes=2), options={**FAST, "data": str(data)})
    d = diag(exc)
    assert d.code == code, d
    return d


def test_a_missing_data_folder(tmp_path):
    d = _fails(tmp_path / "nope")
    assert "does not exist" in d.message and "nope" in d.message and "sub-folder per class" in d.help


def test_a_file_instead_of_a_folder(tmp_path):
    (tmp_path / "f.png").write_bytes(b"x")
    assert "not a folder" in _fails(tmp_path / "f.png").message


def test_a_folder_with_one_class_or_none(tmp_path):
    assert "0 class folder" in _fails(tmp_path).message
    _bars(tmp_path / "d")
    for f in (tmp_path / "d" / "bottom").iterdir():
        f.unlink()
    assert "1 class folder" in _fails(tmp_path / "d").message


def test_a_garbage_image_names_the_file(tmp_path):
    data = _bars(tmp_path / "d")
    (data / "top" / "zz.png").write_bytes(os.urandom(300))
    d = _fails(data)
    assert "zz.png" in d.message and "not a readable image" in d.message


def test_a_truncated_image(tmp_path):
    data = _bars(tmp_path / "d")
    good = (data / "top" / "0.png").read_bytes()
    (data / "top" / "0.png").write_bytes(good[: len(good) // 2])
    assert "0.png" in _fails(data).message


def test_an_image_bomb_is_refused_from_its_header(tmp_path):
    data = _bars(tmp_path / "d")
    side = int(MAX_PIXELS**0.5) + 1
    Image.new("1", (side, side)).save(data / "top" / "bomb.png")  # a few KiB on disk
    d = _fails(data)
    assert "bomb.png" in d.message and "pixels" in d.message


def test_a_pickled_or_misshapen_npy(tmp_path):
    data = _bars(tmp_path / "d")
    np.save(data / "top" / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert "obj.npy" in _fails(data).message  # never unpickled
    (data / "top" / "obj.npy").unlink()
    np.save(data / "top" / "flat.npy", np.zeros(7))
    assert "flat.npy" in _fails(data).message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_named_like_an_image_does_not_block(tmp_path):
    data = _bars(tmp_path / "d")
    os.mkfifo(data / "top" / "pipe.png")
    assert "pipe.png" in _fails(data).message


def test_a_dataset_too_large_for_the_budget(tmp_path):
    data = _bars(tmp_path / "d")
    with pytest.raises(DiagnosticError) as exc:
        load_evaluator("train").evaluate(
            archdsl.load(TINY, classes=2), options={"data": str(data), "max_memory_mb": 0.001}
        )
    assert diag(exc).code in ("B505", "B506")


def test_an_unreadable_class_folder(tmp_path, monkeypatch):
    data = _bars(tmp_path / "d")
    listing = Path.iterdir

    def iterdir(self):
        if self.name == "top":  # as if chmod 0 (which root would read anyway)
            raise PermissionError(13, "Permission denied")
        return listing(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    d = _fails(data)
    assert "cannot list" in d.message and "top" in d.message
