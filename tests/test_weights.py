"""archdsl.weights: one initialisation for every backend, and one reader of weights files.

The same seed gives the same initial tensors in the PyTorch backend (``state_dict``) and the
ONNX backend (its weights, and the initializers of an unfolded model) for every spec of the zoo;
another seed gives others. The initialisation follows each op's policy (timm-like), depends on
the seed and the tensor's name only, and the table the standalone ``.py`` carries reproduces it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import archdsl
from archdsl.resolve import load_graph
from archdsl.weights import WeightsError, init_array, init_table, init_weights, tensor_specs
from archdsl.weights import safetensors_file as st
from archdsl.weights.files import check_weights, load_weights


def small(body: str, shape="[8, 12, 12]"):
    return load_graph("t.arch", text=f"import std\nnet t {{\n    input x {shape}\n{body}\n}}\n")


# ---- the initialisation itself ------------------------------------------------------------------


def test_policies():
    conv = init_array("a.weight", "conv", (256, 64, 3, 3), seed=0, fan_out=9 * 256)
    assert conv.dtype == np.float32 and conv.shape == (256, 64, 3, 3)
    assert abs(conv.mean()) < 1e-3 and abs(conv.std() / math.sqrt(2 / (9 * 256)) - 1) < 0.01
    lin = init_array("b.weight", "linear", (500, 400))
    assert abs(lin.std() / 0.01 - 1) < 0.01
    assert not init_array("c", "zeros", (3,)).any() and (init_array("c", "ones", (3,)) == 1).all()
    assert (init_array("c", "const", (3,), value=0.25) == 0.25).all()
    counter = init_array("bn.num_batches_tracked", "zeros", (), dtype="int64")
    assert counter.dtype == np.int64 and counter.shape == ()
    with pytest.raises(ValueError, match="unknown initialisation policy"):
        init_array("c", "xavier", (3,))


def test_values_depend_on_the_seed_and_the_name_only():
    a = init_array("x.conv.weight", "conv", (8, 4, 3, 3), seed=5, fan_out=72)
    assert np.array_equal(a, init_array("x.conv.weight", "conv", (8, 4, 3, 3), seed=5, fan_out=72))
    assert not np.array_equal(a, init_array("x.conv.weight", "conv", (8, 4, 3, 3), seed=6, fan_out=72))
    assert not np.array_equal(a, init_array("y.conv.weight", "conv", (8, 4, 3, 3), seed=5, fan_out=72))
    assert not np.array_equal(a, init_array("x.conv.weight", "conv", (8, 4, 3, 3), seed=5 + (1 << 32), fan_out=72))
    # a layer added elsewhere changes no other tensor
    g1 = small("    y = conv(8, k = 3) -> bn -> relu")
    g2 = small("    p = conv(8)\n    y = conv(8, k = 3) -> bn -> relu")
    w1, w2 = init_weights(g1, 3), init_weights(g2, 3)
    assert set(w1) < set(w2)
    assert all(np.array_equal(w1[k], w2[k]) for k in w1)


def test_every_tensor_of_the_registry_and_its_table():
    g = small(
        "    y = conv(8, k = 3, bias = true) -> bn -> relu -> unfold(2) -> mhsa(2) -> fold(2) -> scale(init = 0.5)"
    )
    w = init_weights(g, 0)
    specs = list(tensor_specs(g))
    assert list(w) == [t.name for t in specs]
    assert all(w[t.name].shape == t.shape and w[t.name].dtype == t.spec.dtype for t in specs)
    assert (w["y.scale.weight"] == 0.5).all() and not w["y.conv.bias"].any() and not w["y.mhsa.qkv.bias"].any()
    assert (w["y.bn.running_var"] == 1).all() and w["y.mhsa.qkv.weight"].std() < 0.02
    # the standalone file's table gives the same arrays
    for name, policy, shape, fan_out, value in init_table(g):
        np.testing.assert_array_equal(init_array(name, policy, shape, 0, fan_out, value), w[name].astype(np.float32))


# ---- the same initial weights in both backends -------------------------------------------------------------------


def test_torch_and_onnx_start_from_the_same_weights(spec_path):
    torch = pytest.importorskip("torch")
    onnx = pytest.importorskip("onnx")
    from archdsl_backends.onnx import build_model
    from archdsl_backends.onnx.weights import resolve_weights
    from archdsl_backends.torch import build_module

    graph = archdsl.load(spec_path)
    state = build_module(graph, seed=11).state_dict()
    arrays, origin = resolve_weights(graph, None, 11)
    assert origin == "numpy init, seed 11"
    assert set(arrays) == set(state)
    for k, v in state.items():
        assert np.array_equal(v.contiguous().numpy(), arrays[k]), k
    # the initializers of the unfolded model (token projections are stored transposed, scales and
    # layer-norm terms of feature maps reshaped for broadcasting)
    model = build_model(graph, {"fold": False, "seed": 11, "check": False})
    compared = set()
    for init in model.graph.initializer:
        if init.name in state:
            got = onnx.numpy_helper.to_array(init)
            want = state[init.name].numpy()
            assert np.array_equal(got.reshape(want.shape), want) or np.array_equal(got.T, want), init.name
            compared.add(init.name)
    assert compared == {k for k in state if not k.endswith("num_batches_tracked")}
    other = build_module(graph, seed=12).state_dict()
    assert any(not torch.equal(state[k], other[k]) for k in state if k.endswith("weight"))
    assert not np.array_equal(resolve_weights(graph, None, 12)[0][next(iter(arrays))], next(iter(arrays.values())))


# ---- files ------------------------------------------------------------------------------------------


def test_check_weights_fills_optional_tensors_and_keeps_dtypes(tmp_path):
    g = small("    y = conv(8, k = 3) -> bn -> relu")
    w = init_weights(g, 1)
    w64 = {k: v.astype(np.float64) for k, v in w.items() if not k.endswith("num_batches_tracked")}
    out = check_weights(g, w64, "weights")
    assert set(out) == set(w)
    assert out["y.bn.num_batches_tracked"].dtype == np.int64 and out["y.conv.weight"].dtype == np.float32
    with pytest.raises(WeightsError) as exc:
        check_weights(g, {**w64, "y.conv.weight": np.zeros((8, 8, 1, 1)), "stray": np.zeros(1)}, "weights")
    messages = [p.message for p in exc.value.problems]
    assert any("has shape [8, 8, 1, 1], the spec needs [8, 8, 3, 3]" in m for m in messages)
    assert any("the spec does not have: stray" in m for m in messages)
    located = [p for p in exc.value.problems if "has shape" in p.message]
    assert located[0].span == g.nodes[0].span


@pytest.mark.parametrize("suffix", [".safetensors", ".npz", ".pt"])
def test_each_format_round_trips(suffix, tmp_path):
    g = small("    y = conv(8, k = 3) -> bn -> relu -> gap -> flatten -> linear(4)")
    w = init_weights(g, 2)
    path = tmp_path / f"w{suffix}"
    if suffix == ".safetensors":
        st.save(w, path, {"net": "t"})
    elif suffix == ".npz":
        np.savez(path, **w)
    else:
        torch = pytest.importorskip("torch")
        torch.save({k: torch.from_numpy(v) for k, v in w.items()}, path)
    got, origin = load_weights(g, path)
    assert origin.startswith(f"w{suffix} sha256:")
    assert set(got) == set(w) and all(np.array_equal(got[k], w[k]) and got[k].dtype == w[k].dtype for k in w)


def test_safetensors_bytes_are_deterministic():
    w = init_weights(small("    y = conv(8, k = 3) -> bn"), 0)
    assert st.dumps(w, {"b": "2", "a": "1"}) == st.dumps(dict(reversed(list(w.items()))), {"a": "1", "b": "2"})
