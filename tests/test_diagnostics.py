"""utils.diagnostics (statistics exact on hand-made inputs, errors that name the bad input, the
model probes against direct computations) and the plots of utils.plotting that draw them
(the right lines and labels)."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from utils import diagnostics as d
from utils import nn
from utils import plotting
from utils.diagnostics import (frozen_buffers, gradient_shift, layer_outputs, loss_landscape,
                               update_ratio)
from utils.models import deep_mlp

D = torch.float64
TOL = 1e-12


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


F64 = torch.float64
ACTS = {"layer 1 (Tanh)": torch.tensor([-0.99, 0.0, 0.5, 0.98], dtype=F64),
        "layer 2 (Tanh)": torch.tensor([0.1, 0.2, 0.3, 0.4, 0.97], dtype=F64)}


def test_layer_stats_are_exact_on_small_inputs():
    rows = d.layer_stats(ACTS)
    assert [r["name"] for r in rows] == ["layer 1 (Tanh)", "layer 2 (Tanh)"]
    assert rows[0]["mean"] == pytest.approx(0.1225, abs=1e-15)
    var = sum((v - 0.1225) ** 2 for v in (-0.99, 0.0, 0.5, 0.98)) / 3  # unbiased
    assert rows[0]["std"] == pytest.approx(math.sqrt(var), abs=1e-12)
    assert rows[0]["saturated"] == 0.5
    assert rows[1]["saturated"] == 0.0  # 0.97 is not above the threshold
    assert d.layer_stats(ACTS, saturation=0.35)[1]["saturated"] == pytest.approx(0.4)


def test_stats_take_torch_std_and_accept_other_dtypes_and_lists():
    t = torch.randn(1000, generator=torch.Generator().manual_seed(0))
    row = d.gradient_stats({"a": t})[0]
    assert row["std"] == pytest.approx(t.double().std().item(), rel=1e-12)
    assert row["mean"] == pytest.approx(t.double().mean().item(), rel=1e-12)
    assert d.gradient_stats({"b": [1.0, 3.0]})[0] == {"name": "b", "mean": 2.0, "std": math.sqrt(2)}
    assert d.gradient_stats({"c": np.array([0, 4])})[0]["mean"] == 2.0


def test_weight_gradient_stats_give_the_grad_data_ratio():
    rows = d.weight_gradient_stats({"weight 1": torch.tensor([1.0, -1.0, 1.0, -1.0])},
                                   {"weight 1": torch.tensor([10.0, -10.0, 30.0, -30.0])})
    g_std = math.sqrt(4 / 3)
    w_std = math.sqrt((100 + 100 + 900 + 900) / 3)
    assert rows == [{"name": "weight 1", "mean": 0.0, "std": pytest.approx(g_std),
                     "grad_data_ratio": pytest.approx(g_std / w_std)}]


def test_update_ratio_stats_summarise_each_parameter():
    rows = d.update_ratio_stats({"w1": torch.tensor([-2.0, -3.0, -4.0]), "w2": [-3.5]})
    assert rows[0] == {"name": "w1", "mean": -3.0, "min": -4.0, "max": -2.0, "final": -4.0}
    assert rows[1]["final"] == -3.5


def test_activation_histograms_draw_one_labelled_density_line_per_layer():
    ax = plotting.plot_activation_histograms(ACTS, bins=4)
    lines = ax.get_lines()
    assert len(lines) == 2 and len(lines[0].get_xdata()) == 4
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "layer 1 (Tanh): mean +0.12, std 0.84, saturated 50.0%"
    assert labels[1].startswith("layer 2 (Tanh): mean +0.39, std ")
    assert ax.get_xlabel() and ax.get_ylabel() == "density"
    # density: the line integrates to 1 over its bins
    x, y = lines[0].get_xdata(), lines[0].get_ydata()
    assert np.sum(y) * (x[1] - x[0]) == pytest.approx(1.0)


def test_gradient_and_weight_gradient_histograms_have_their_legends():
    grads = {"layer 1 (Tanh)": torch.tensor([1e-3, -1e-3, 2e-3]), "layer 2 (Tanh)": [0.0, 1e-3]}
    ax = plotting.plot_gradient_histograms(grads)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "layer 1 (Tanh): mean +6.7e-04, std 1.5e-03"
    assert len(ax.get_lines()) == 2 and ax.get_xlabel()
    ax = plotting.plot_weight_gradient_histograms({"w": [1.0, -1.0]}, {"w": [2.0, -2.0]})
    (label,) = [t.get_text() for t in ax.get_legend().get_texts()]
    assert label == "w: mean +0.0e+00, std 1.4e+00, grad:data ratio 5.0e-01"


def test_update_ratios_draw_lines_over_steps_and_a_dashed_guide():
    ratios = {"w1": torch.tensor([-2.0, -2.5, -3.0]), "w2": torch.tensor([-3.0, -3.1, -3.2], dtype=F64)}
    ax = plotting.plot_update_ratios(ratios)
    lines = ax.get_lines()
    assert len(lines) == 3
    np.testing.assert_array_equal(lines[0].get_xdata(), [0, 1, 2])
    np.testing.assert_array_equal(lines[1].get_ydata(), [-3.0, -3.1, -3.2])
    assert lines[2].get_linestyle() == "--" and list(lines[2].get_ydata()) == [-3.0, -3.0]
    assert ax.get_xlabel() == "step" and "log" in ax.get_ylabel()
    assert len(plotting.plot_update_ratios(ratios, guide=None).get_lines()) == 2


def test_plots_draw_into_the_given_axes_and_leave_rcparams_alone():
    before = dict(plt.rcParams)
    fig, (left, right) = plt.subplots(1, 2)
    assert plotting.plot_activation_histograms(ACTS, ax=right) is right and not left.get_lines()
    assert plotting.plot_update_ratios({"w": [-3.0, -3.0]}, ax=left) is left
    assert dict(plt.rcParams) == before


def test_activation_histograms_without_saturation_for_linear_outputs():
    ax = plotting.plot_activation_histograms({"layer 2 (Linear)": torch.tensor([-3.0, 0.0, 3.0])},
                                      saturation=None, bins=3)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["layer 2 (Linear): mean +0.00, std 3.00"]
    assert len(ax.get_lines()) == 1 and ax.get_ylabel() == "density"


def test_bad_input_errors_name_the_problem():
    with pytest.raises(ValueError, match="acts must be a non-empty dict"):
        d.layer_stats({})
    with pytest.raises(ValueError, match="acts must be a non-empty dict"):
        d.layer_stats([torch.ones(3)])
    with pytest.raises(ValueError, match=r"acts\['l1'\] must be a 1-D tensor, got shape \(2, 3\)"):
        plotting.plot_activation_histograms({"l1": torch.zeros(2, 3)})
    with pytest.raises(ValueError, match=r"grads\['l1'\] has 1 NaN or inf values of 3"):
        d.gradient_stats({"l1": torch.tensor([1.0, float("nan"), 2.0])})
    with pytest.raises(ValueError, match=r"needs at least 2 values, got 1"):
        d.layer_stats({"l1": torch.tensor([0.5])})
    with pytest.raises(ValueError, match=r"must be a 1-D tensor of numbers, got str"):
        d.layer_stats({"l1": "abc"})
    with pytest.raises(ValueError, match=r"saturation must be a threshold in \(0, 1\), got 97"):
        d.layer_stats(ACTS, saturation=97)
    with pytest.raises(ValueError, match="bins must be an integer >= 1, got 0"):
        plotting.plot_gradient_histograms(ACTS, bins=0)
    with pytest.raises(ValueError, match=r"same names in the same order, got \['a'\] and \['b'\]"):
        d.weight_gradient_stats({"a": [1.0, 2.0]}, {"b": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"grads\['a'\] has 2 values but weights\['a'\] has 3"):
        d.weight_gradient_stats({"a": [1.0, 2.0]}, {"a": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match=r"weights\['a'\] are all equal"):
        plotting.plot_weight_gradient_histograms({"a": [1.0, 2.0]}, {"a": [0.0, 0.0]})
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes or None, got str"):
        plotting.plot_update_ratios({"w": [-3.0]}, ax="left")


def test_helpers_never_show_and_return_an_axes_of_a_new_figure():
    n = len(plt.get_fignums())
    ax = plotting.plot_gradient_histograms(ACTS)
    assert isinstance(ax, plt.Axes) and len(plt.get_fignums()) == n + 1


# probes of a model

def gen(seed):
    return torch.Generator().manual_seed(seed)


def test_frozen_buffers_and_layer_outputs_leave_running_stats_alone():
    model = deep_mlp(generator=gen(9), n_layers=2, n_hidden=8, batchnorm=True)
    X = torch.randint(0, 27, (40, 3), generator=gen(10))
    before = [b.clone() for layer in model if hasattr(layer, "buffers") for b in layer.buffers()]
    outs = layer_outputs(model, X)
    after = [b for layer in model if hasattr(layer, "buffers") for b in layer.buffers()]
    assert all(torch.equal(u, v) for u, v in zip(before, after))
    assert len(outs) == len(model)
    with frozen_buffers(model):
        expected = model(X)
    torch.testing.assert_close(outs[-1], expected.detach(), atol=0, rtol=0)


def _linear_model(seed):
    g = gen(seed)
    layer = nn.Linear(4, 3, generator=g, dtype=D)
    return nn.Sequential(layer), g


def test_loss_landscape_matches_a_direct_computation_and_restores_the_model():
    model, g = _linear_model(11)
    X = torch.randn(20, 4, generator=g, dtype=D)
    Y = torch.randint(0, 3, (20,), generator=g)
    W, b = (p.detach().clone() for p in model.parameters())
    out = loss_landscape(model, X, Y, [0.1, 0.5, 2.0])

    def loss_grad(W, b):
        W, b = W.clone().requires_grad_(), b.clone().requires_grad_()
        loss = F.cross_entropy(X @ W.T + b, Y)
        gW, gb = torch.autograd.grad(loss, (W, b))
        return loss.item(), torch.cat([gW.flatten(), gb])

    loss0, g0 = loss_grad(W, b)
    assert out["loss"] == pytest.approx(loss0, rel=1e-12)
    assert out["grad_norm"] == pytest.approx(g0.norm().item(), rel=1e-12)
    betas = []
    for k, eta in enumerate([0.1, 0.5, 2.0]):
        loss, g1 = loss_grad(W - eta * g0[:12].view(3, 4), b - eta * g0[12:])
        assert out["losses"][k].item() == pytest.approx(loss, rel=1e-12)
        change = (g1 - g0).norm().item()
        assert out["grad_change"][k].item() == pytest.approx(change, rel=1e-10)
        betas.append(change / (eta * g0.norm().item()))
    assert out["beta"] == pytest.approx(max(betas), rel=1e-10)
    assert torch.equal(model[0].weight, W) and torch.equal(model[0].bias, b)


def test_gradient_shift_matches_a_direct_computation():
    g = gen(12)
    model = nn.Sequential(nn.Linear(4, 6, generator=g, dtype=D), nn.Tanh(),
                          nn.Linear(6, 5, generator=g, dtype=D), nn.Tanh(),
                          nn.Linear(5, 3, generator=g, dtype=D))
    X = torch.randn(30, 4, generator=g, dtype=D)
    Y = torch.randint(0, 3, (30,), generator=g)
    saved = [p.detach().clone() for p in model.parameters()]
    out = gradient_shift(model, X, Y, lr=0.5)
    assert [r["layer"] for r in out] == [2, 4]

    def grads(ps):
        ps = [p.clone().requires_grad_() for p in ps]
        h = torch.tanh(X @ ps[0].T + ps[1])
        h = torch.tanh(h @ ps[2].T + ps[3])
        loss = F.cross_entropy(h @ ps[4].T + ps[5], Y)
        return torch.autograd.grad(loss, ps)

    G = grads(saved)
    for r, (k, n_before) in zip(out, [(2, 2), (4, 4)]):
        moved = [p - 0.5 * gp if i < n_before else p for i, (p, gp) in enumerate(zip(saved, G))]
        G2 = grads(moved)
        j = n_before  # the weight of that layer
        assert r["l2"] == pytest.approx((G[j] - G2[j]).norm().item(), rel=1e-10)
        assert r["rel"] == pytest.approx(r["l2"] / G[j].norm().item(), rel=1e-10)
        assert r["cos"] == pytest.approx(F.cosine_similarity(G[j].flatten(), G2[j].flatten(),
                                                             dim=0).item(), rel=1e-10)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), saved))
    assert all(r["l2"] == 0 for r in gradient_shift(model, X, Y, lr=0.0))


def test_update_ratio_of_an_sgd_step_is_lr_grad_over_weights():
    w = torch.randn(8, 8, dtype=D, generator=torch.Generator().manual_seed(3))
    grad = torch.randn(8, 8, dtype=D, generator=torch.Generator().manual_seed(4))
    lr = 0.01
    expected = ((lr * grad).std() / w.std()).item()
    assert abs(update_ratio(w, w - lr * grad) - expected) < TOL
    with pytest.raises(ValueError, match="same shape"):
        update_ratio(w, w[0])



# What a pass costs in memory: saved_for_backward against the tensors torch's own graph
# exposes (grad_fn._saved_*), held_bytes against torch.profiler's arithmetic on known sizes.

def _tanh_chain(h, weights):
    for W in weights:
        h = torch.tanh(h @ W)                                        # (B, H)
    return h


def _chain_inputs(depth, batch=8, width=5):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, width, generator=g, dtype=D)
    weights = [torch.randn(width, width, generator=g, dtype=D).requires_grad_(True)
               for _ in range(depth)]
    return x, weights


def _saved_by_graph(out):
    """Every tensor the graph behind ``out`` keeps, read from grad_fn's _saved_* attributes."""
    saved, seen, todo = [], set(), [out.grad_fn]
    while todo:
        fn = todo.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        for attr in dir(fn):
            if attr.startswith("_saved_"):
                value = getattr(fn, attr)
                if isinstance(value, torch.Tensor):
                    saved.append(value)
        todo += [next_fn for next_fn, _ in fn.next_functions]
    return saved


@pytest.mark.parametrize("depth", [1, 3, 6])
def test_saved_for_backward_matches_the_graphs_own_saved_tensors(depth):
    x, weights = _chain_inputs(depth)
    out, saved = d.saved_for_backward(_tanh_chain, x, weights, exclude=weights)
    by_graph = _saved_by_graph(out)
    assert saved["saves"] == len(by_graph) == 3 * depth - 1  # x, then (h, W, tanh out) a layer
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in by_graph}
    for W in weights:
        storages.pop(W.untyped_storage().data_ptr(), None)
    assert saved["tensors"] == len(storages) == depth + 1           # x and every layer's output
    assert saved["bytes"] == sum(storages.values()) == (depth + 1) * x.numel() * 8
    assert torch.equal(out, _tanh_chain(x, [W.detach() for W in weights]))


def test_saved_for_backward_counts_shared_storage_once_and_nothing_under_no_grad():
    w = torch.ones(4, dtype=D, requires_grad=True)
    _, saved = d.saved_for_backward(lambda t: t * t, w)             # mul saves t twice
    assert saved == {"saves": 2, "tensors": 1, "bytes": 32}
    _, saved = d.saved_for_backward(lambda t: t * t, w, exclude=[w])
    assert saved == {"saves": 2, "tensors": 0, "bytes": 0}
    with torch.no_grad():
        out, saved = d.saved_for_backward(lambda t: torch.tanh(t * t), w)
    assert saved == {"saves": 0, "tensors": 0, "bytes": 0} and not out.requires_grad


def test_held_bytes_sees_what_outlives_the_call():
    _, held = d.held_bytes(lambda: torch.zeros(1000, dtype=D))
    assert held == 8000
    _, held = d.held_bytes(lambda: (torch.zeros(1000, dtype=D) + 1).sum())  # temporaries freed
    assert held == 8                                                       # the 0-d output
    _, held = d.held_bytes(lambda: None)
    assert held == 0


@pytest.mark.parametrize("depth", [1, 4])
def test_held_bytes_agrees_with_the_saved_tensors_of_a_recorded_graph(depth):
    x, weights = _chain_inputs(depth, batch=64, width=32)
    out, held = d.held_bytes(_tanh_chain, x, weights)
    _, saved = d.saved_for_backward(_tanh_chain, x, weights, exclude=weights)
    layer = x.numel() * 8
    assert held == saved["bytes"] - layer == depth * layer         # x existed before the call
    with torch.no_grad():
        out, held = d.held_bytes(_tanh_chain, x, weights)
    assert held == layer                                          # only the output is left


def test_held_bytes_leaves_a_notebooks_output_clean():
    """kineto prints two lines on stderr at every profiler start and stop unless told not to."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "KINETO_LOG_LEVEL"}
    code = ("import torch; from utils.diagnostics import held_bytes\n"
            "print(held_bytes(lambda: torch.zeros(10, dtype=torch.float64))[1])")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)
    assert run.stdout.strip() == "80" and run.stderr == ""
