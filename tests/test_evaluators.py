"""The accuracy evaluators' interface and the zero-cost proxies, against values computed by hand.

NASWOT (Mellor et al. 2021) and synflow (Tanaka et al. 2020) are recomputed here in numpy, from
their definitions, on nets small enough to write out (tests/fixtures/evaluators/one_layer.arch):
a 1x1 convolution, a ReLU and a linear head, with hand-set weights and with the seeded
initialisation of archdsl.weights.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import archdsl
from archdsl.diagnostics import DiagnosticError
from archdsl.evaluators import Evaluator, available, load_evaluator

torch = pytest.importorskip("torch")

from archdsl.evaluators.naswot import log_det, naswot_kernel  # noqa: E402
from archdsl.evaluators.synflow import synflow_sum  # noqa: E402
from archdsl.weights import init_weights  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures" / "evaluators"
ONE = FIX / "one_layer.arch"
TINY = FIX / "tiny_cnn.arch"


def code_of(exc: pytest.ExceptionInfo) -> str:
    return exc.value.diagnostics[0].code


def module_with(graph, w1, w2, b2):
    """The net one_layer[_bn] built by the torch backend, with hand-set weights."""
    from archdsl import backend

    m = backend.load("torch").build_module(graph, seed=0, channels_last=False)
    with torch.no_grad():
        m.get_submodule("body.conv").weight.copy_(torch.tensor(w1, dtype=torch.float32).reshape(3, 2, 1, 1))
        m.get_submodule("head.linear").weight.copy_(torch.tensor(w2, dtype=torch.float32))
        m.get_submodule("head.linear").bias.copy_(torch.tensor(b2, dtype=torch.float32))
    return m


W1 = np.array([[1.0, -1.0], [0.5, 2.0], [-1.5, 0.25]])  # conv 2 -> 3, 1x1
W2 = np.array([[0.5, -1.0, 2.0], [-0.25, 1.5, 1.0]])  # linear 3 -> 2
B2 = np.array([0.75, -0.5])


def naswot_by_hand(w1: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, float]:
    """K_H[i, j] = N_A - Hamming(c_i, c_j), c the ReLU's active units; and log|K_H|."""
    pre = np.einsum("oc,nchw->nohw", w1, x)  # the 1x1 conv: the ReLU's input
    codes = (pre > 0).reshape(len(x), -1)
    n_a = codes.shape[1]
    hamming = (codes[:, None, :] != codes[None, :, :]).sum(-1)
    k = n_a - hamming
    sign, logdet = np.linalg.slogdet(k.astype(np.float64))
    return k, (logdet if sign > 0 else -math.inf)


# ---- the interface ------------------------------------------------------------------------------


def test_the_built_in_evaluators_are_found_through_the_entry_point_group():
    assert {"naswot", "synflow", "zico", "train"} <= set(available())
    for name in ("naswot", "synflow", "zico", "train"):
        ev = load_evaluator(name)
        assert isinstance(ev, Evaluator)
        assert ev.name == name and ev.needs_torch and ev.higher_is_better and ev.description
        assert load_evaluator(name) is ev  # cached
    assert load_evaluator("naswot").kind == "proxy" and load_evaluator("train").kind == "accuracy"


def test_an_unknown_evaluator_gets_a_did_you_mean():
    with pytest.raises(DiagnosticError) as exc:
        load_evaluator("naswt")
    d = exc.value.diagnostics[0]
    assert d.code == "B501" and "naswt" in d.message and "naswot" in d.help


def test_options_are_validated_with_a_did_you_mean_and_the_field():
    g = archdsl.load(ONE, net="one_layer")
    with pytest.raises(DiagnosticError) as exc:
        load_evaluator("naswot").evaluate(g, options={"bacth": 8})
    assert code_of(exc) == "B503" and "batch" in exc.value.diagnostics[0].help
    with pytest.raises(DiagnosticError) as exc:
        load_evaluator("naswot").evaluate(g, options={"batch": 1})
    assert code_of(exc) == "B504" and "batch" in exc.value.diagnostics[0].message
    with pytest.raises(DiagnosticError) as exc:
        load_evaluator("synflow").evaluate(g, options={"resolution": "tiny"})
    assert code_of(exc) == "B504"


def test_importing_the_evaluators_does_not_import_torch():
    code = (
        "import sys, archdsl.evaluators as e, archdsl.evaluators.naswot, archdsl.evaluators.synflow, "
        "archdsl.evaluators.train, archdsl.evaluators.data, archdsl.evaluators.zico\n"
        "e.available(); e.load_evaluator('naswot')\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert 'sklearn' not in sys.modules and 'PIL' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_a_missing_torch_is_a_missing_dependency(monkeypatch):
    g = archdsl.load(ONE, net="one_layer")
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    for name in ("naswot", "synflow", "zico", "train"):
        with pytest.raises(DiagnosticError) as exc:
            load_evaluator(name).evaluate(g)
        d = exc.value.diagnostics[0]
        assert d.code == "B502" and "torch" in d.message and "archdsl[torch]" in d.help


# ---- NASWOT -------------------------------------------------------------------------------------


def test_naswot_kernel_and_log_determinant_match_the_hand_computation():
    g = archdsl.load(ONE, net="one_layer")
    m = module_with(g, W1, W2, B2)
    x = np.random.default_rng(3).standard_normal((5, 2, 2, 2)).astype(np.float32)
    k, units = naswot_kernel(m, g, torch.from_numpy(x))
    k_hand, ld_hand = naswot_by_hand(W1, x)
    assert units == 3 * 2 * 2
    np.testing.assert_array_equal(k.numpy(), k_hand)
    assert np.all(np.diag(k_hand) == units)  # a code agrees with itself everywhere
    assert log_det(torch, k) == pytest.approx(ld_hand, abs=1e-9)


def test_naswot_of_two_identical_codes_is_minus_infinity():
    g = archdsl.load(ONE, net="one_layer")
    m = module_with(g, W1, W2, B2)
    x = np.random.default_rng(0).standard_normal((3, 2, 2, 2)).astype(np.float32)
    x[2] = 2 * x[0]  # a positive multiple: the same signs through a bias-free conv, so the same code
    k, _ = naswot_kernel(m, g, torch.from_numpy(x))
    assert log_det(torch, k) == -math.inf


def test_naswot_evaluate_equals_numpy_on_the_seeded_initialisation():
    g = archdsl.load(ONE, net="one_layer")
    seed = 7
    w1 = init_weights(g, seed)["body.conv.weight"].reshape(3, 2).astype(np.float64)
    x = np.random.default_rng(seed).standard_normal((8, 2, 2, 2), dtype=np.float32)  # the documented inputs
    _, expected = naswot_by_hand(w1, x.astype(np.float64))
    got = load_evaluator("naswot").evaluate(g, seed=seed, options={"batch": 8})
    assert got == pytest.approx(expected, abs=1e-9)


def test_naswot_counts_rectifiers_by_the_sign_of_their_input_and_skips_gates():
    g = archdsl.load(ONE, net="gated")
    from archdsl import backend

    m = backend.load("torch").build_module(g, seed=0, channels_last=False)
    x = torch.from_numpy(np.random.default_rng(1).standard_normal((4, 2, 2, 2)).astype(np.float32))
    k, units = naswot_kernel(m, g, x)
    assert units == 3 * 2 * 2  # the silu's 12 units; the sigmoid's are not codes
    with torch.no_grad():
        pre = m.get_submodule("body.conv")(x).reshape(4, -1).numpy() > 0
    hamming = (pre[:, None, :] != pre[None, :, :]).sum(-1)
    np.testing.assert_array_equal(k.numpy(), units - hamming)


def test_a_net_without_rectifiers_cannot_be_scored_by_naswot(tmp_path):
    spec = tmp_path / "lin.arch"
    spec.write_text(
        "net lin {\n    input image [2, 4, 4]\n    body = conv(4) -> sigmoid -> gap -> flatten -> linear(2)\n}\n"
    )
    with pytest.raises(DiagnosticError) as exc:
        load_evaluator("naswot").evaluate(archdsl.load(spec))
    assert code_of(exc) == "B507" and "'lin'" in exc.value.diagnostics[0].message


# ---- synflow ------------------------------------------------------------------------------------


def synflow_by_hand(w1: np.ndarray, w2: np.ndarray) -> float:
    """All-ones input, |θ|: the conv gives v_o = Σ_c |W1[o,c]| at every pixel (ReLU and pooling keep it),
    so R = Σ_j Σ_o |W2[j,o]| v_o + Σ_j |b_j|, ∂R/∂W2[j,o] = v_o and ∂R/∂W1[o,c] = s_o = Σ_j |W2[j,o]|:
    Σ|θ ⊙ ∂R/∂θ| over both weights is 2 Σ_o v_o s_o (the biases are not weights of a conv/linear)."""
    v = np.abs(np.asarray(w1, dtype=np.float64)).sum(1)
    s = np.abs(np.asarray(w2, dtype=np.float64)).sum(0)
    return float(2 * (v * s).sum())


def test_synflow_sum_matches_the_closed_form_with_hand_set_weights():
    g = archdsl.load(ONE, net="one_layer")
    m = module_with(g, W1, W2, B2)
    assert synflow_sum(torch, m, (2, 2, 2)) == pytest.approx(synflow_by_hand(W1, W2), rel=1e-12)


def test_synflow_removes_batch_norm_and_leaves_the_module_signless():
    g = archdsl.load(ONE, net="one_layer_bn")
    m = module_with(g, W1, W2, B2)
    with torch.no_grad():  # a batch norm kept in eval mode would scale by 2/sqrt(4+eps) = ~1: make it count
        bn = m.get_submodule("body.bn")
        bn.running_var.fill_(4.0)
        bn.weight.fill_(3.0)
    total = synflow_sum(torch, m, (2, 2, 2))
    assert total == pytest.approx(synflow_by_hand(W1, W2), rel=1e-12)
    assert not any(isinstance(mod, torch.nn.BatchNorm2d) for mod in m.modules())


def test_synflow_evaluate_is_the_log_of_the_closed_form_on_the_seeded_initialisation():
    g = archdsl.load(ONE, net="one_layer_bn")
    w = init_weights(g, 5)
    expected = synflow_by_hand(w["body.conv.weight"].reshape(3, 2), w["head.linear.weight"])
    assert load_evaluator("synflow").evaluate(g, seed=5) == pytest.approx(math.log(expected), abs=1e-9)


# ---- determinism, ranking, resolution -----------------------------------------------------------


@pytest.mark.parametrize("name", ["naswot", "synflow", "zico"])
def test_proxies_are_deterministic_for_a_seed(name):
    g = archdsl.load(TINY)
    ev = load_evaluator(name)
    a, b, c = (ev.evaluate(g, seed=s, options={"resolution": 8}) for s in (1, 1, 2))
    assert a == b and a != c and math.isfinite(a)


@pytest.mark.parametrize("name", ["naswot", "synflow"])
def test_proxies_rank_a_wider_net_above_a_narrow_one(name):
    ev = load_evaluator(name)
    narrow = ev.evaluate(archdsl.load(TINY, width=2), seed=0, options={"resolution": 8})
    wide = ev.evaluate(archdsl.load(TINY, width=32), seed=0, options={"resolution": 8})
    assert wide > narrow


def test_proxies_re_resolve_the_net_at_the_reduced_resolution():
    g = archdsl.load(TINY)  # 16x16
    ev = load_evaluator("synflow")
    native = ev.evaluate(g, options={"resolution": "native"})
    assert ev.evaluate(g, options={"resolution": 64}) == native  # never upsampled
    assert ev.evaluate(g, options={"resolution": 8}) != native


def test_a_resolution_the_net_does_not_fit_is_a_clear_error(tmp_path):
    spec = tmp_path / "deep.arch"
    spec.write_text(
        "net deep {\n    input image [3, 64, 64]\n"
        "    body = conv(8, k = 3, s = 4, p = 0) -> relu -> conv(8, k = 3, s = 4, p = 0) -> relu\n"
        "    head = gap -> flatten -> linear(2)\n}\n"
    )
    with pytest.raises(DiagnosticError) as exc:
        load_evaluator("naswot").evaluate(archdsl.load(spec), options={"resolution": 8})
    d = exc.value.diagnostics[0]
    assert d.code == "B507" and "'deep'" in d.message and "8x8" in d.message and "resolution" in d.help


# ---- budgets (hostile) --------------------------------------------------------------------------


def test_a_net_above_the_memory_budget_is_refused_before_anything_is_allocated(tmp_path):
    import resource
    import time

    spec = tmp_path / "huge.arch"
    spec.write_text(
        "net huge {\n    input image [3, 2048, 2048]\n    body = conv(48) -> relu -> conv(48) -> relu\n"
        "    head = gap -> flatten -> linear(2)\n}\n"
    )
    g = archdsl.load(spec)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    for name in ("naswot", "synflow", "zico", "train"):
        with pytest.raises(DiagnosticError) as exc:
            load_evaluator(name).evaluate(g, options={"resolution": "native"})
        d = exc.value.diagnostics[0]
        assert d.code == "B505" and "net 'huge'" in d.message and "MiB" in d.message and d.help
    assert time.monotonic() - start < 5
    grew_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grew_kib < 200_000  # nothing of the ~13 GiB synflow would need


def test_the_budget_is_an_option():
    g = archdsl.load(TINY)
    with pytest.raises(DiagnosticError) as exc:
        load_evaluator("naswot").evaluate(g, options={"max_memory_mb": 0.01})
    assert code_of(exc) == "B505" and "0 MiB" not in exc.value.diagnostics[0].message.split("budget")[0]


# ---- ZiCo ---------------------------------------------------------------------------------------


def one_layer_gradients(w1, w2, b2, x, y):
    """Gradients of the mean cross-entropy of one_layer (1x1 conv, ReLU, mean pool, linear), by hand."""
    n, _, h, w = x.shape
    pre = np.einsum("oc,nchw->nohw", w1, x)
    feat = np.maximum(pre, 0).mean(axis=(2, 3))  # [n, o]
    z = feat @ w2.T + b2
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    d = (p - np.eye(w2.shape[0])[y]) / n  # dL/dz
    dw2 = d.T @ feat
    dpre = (d @ w2)[:, :, None, None] / (h * w) * (pre > 0)
    dw1 = np.einsum("nohw,nchw->oc", dpre, x)
    return dw1, dw2


def zico_by_hand(per_layer):
    """Σ_l log Σ_ω mean_b|g_b| / std_b(g_b), over weights with a non-zero deviation."""
    total = 0.0
    for gs in per_layer:
        g = np.stack([x.reshape(-1) for x in gs])
        std = g.std(0)
        s = (np.abs(g).mean(0)[std > 0] / std[std > 0]).sum()
        total += math.log(s) if s else 0.0
    return total


def test_zico_matches_the_hand_computed_gradient_statistics():
    from archdsl.evaluators.zico import layer_gradients, zico_score

    g = archdsl.load(ONE, net="one_layer")
    m = module_with(g, W1, W2, B2)
    rng = np.random.default_rng(11)
    batches = [(rng.standard_normal((4, 2, 2, 2)), rng.integers(0, 2, 4)) for _ in range(3)]
    grads = layer_gradients(torch, m, [(torch.tensor(x, dtype=torch.float32), torch.tensor(y)) for x, y in batches])
    by_hand = [one_layer_gradients(W1, W2, B2, x, y) for x, y in batches]
    np.testing.assert_allclose(grads["body.conv"][1], by_hand[1][0].reshape(-1), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(grads["head.linear"][2], by_hand[2][1].reshape(-1), rtol=1e-5, atol=1e-7)
    expected = zico_by_hand([[b[0] for b in by_hand], [b[1] for b in by_hand]])
    assert zico_score(grads) == pytest.approx(expected, rel=1e-4)


def test_zico_is_deterministic_and_ranks_a_wider_net_higher():
    ev = load_evaluator("zico")
    g = archdsl.load(TINY)
    assert ev.evaluate(g, seed=1) == ev.evaluate(g, seed=1) != ev.evaluate(g, seed=2)
    assert ev.evaluate(archdsl.load(TINY, width=32)) > ev.evaluate(archdsl.load(TINY, width=2))
