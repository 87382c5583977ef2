"""utils.regularization: penalties, weight decay vs torch.optim, early stopping with checkpoints.

Comparisons with torch run in float64; "to rounding" means a max abs difference below 1e-12.
"""

import doctest
import itertools

import pytest
import torch

import utils.optim as optim
import utils.regularization
from conftest import small_data, small_mlp
from utils.nn import Linear
from utils.regularization import EarlyStopping, decay_groups, flat_weights, l1_penalty, l2_penalty

D = torch.float64
TOL = 1e-12


def maxdiff(a, b):
    return (a - b).abs().max().item()


def test_doctests():
    result = doctest.testmod(utils.regularization, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 8 and result.failed == 0


# ------------------------------------------------------------------ penalties
def test_penalties_act_on_the_flattened_weight_matrices_only():
    model = small_mlp(bn=True)
    w = flat_weights(model.parameters())
    assert w.shape == (4 * 8 + 8 * 3,)
    lam = 0.3
    assert abs(l2_penalty(model.parameters(), lam).item() - lam / 2 * (w ** 2).sum().item()) < TOL
    assert abs(l1_penalty(model.parameters(), lam).item() - lam * w.abs().sum().item()) < TOL


def test_penalty_gradients_are_lambda_w_and_lambda_sign_w():
    model = small_mlp()
    lam = 0.1
    l2_penalty(model.parameters(), lam).backward()
    W1, b1, W2, b2 = model.parameters()
    assert maxdiff(W1.grad, lam * W1) < TOL and maxdiff(W2.grad, lam * W2) < TOL
    assert b1.grad is None and b2.grad is None  # not in the graph: biases are not penalised
    model.zero_grad()
    l1_penalty(model.parameters(), lam).backward()
    assert maxdiff(W1.grad, lam * W1.sign()) < TOL


def test_penalties_reject_negative_strength():
    with pytest.raises(ValueError, match="weight_decay must be >= 0"):
        l2_penalty([torch.ones(2, 2)], -1.0)
    with pytest.raises(ValueError, match="weight_decay must be >= 0"):
        l1_penalty([torch.ones(2, 2)], float("nan"))
    with pytest.raises(TypeError, match="iterable of tensors"):
        flat_weights([torch.ones(2, 2), 3.0])


def test_decay_groups_split_matrices_from_vectors_bn_included():
    model = small_mlp(bn=True)
    groups = decay_groups(model.parameters(), 0.01)
    decayed, plain = groups[0]["params"], groups[1]["params"]
    assert [tuple(p.shape) for p in decayed] == [(8, 4), (3, 8)]
    bn = model[1]
    assert any(p is bn.weight for p in plain) and any(p is bn.bias for p in plain)
    assert len(decayed) + len(plain) == len(model.parameters())
    assert groups[0]["weight_decay"] == 0.01 and groups[1]["weight_decay"] == 0.0


# ------------------------------------------------------------------ weight decay and SGD
def test_l2_penalty_with_sgd_is_multiplicative_shrinking_and_torch_weight_decay():
    """Three ways of one trajectory: SGD on loss + (lam/2)||w||^2; w <- (1 - lr lam) w - lr g;
    torch.optim.SGD(weight_decay=lam) on the weight matrices. 20 steps, float64."""
    X, Y = small_data()
    lr, lam, steps = 0.1, 0.05, 20
    a, b, c = small_mlp(), small_mlp(), small_mlp()
    torch_opt = torch.optim.SGD(decay_groups(c.parameters(), lam), lr=lr)
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(a(X), Y) + l2_penalty(a.parameters(), lam)
        a.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in a.parameters():
                p -= lr * p.grad

        b.zero_grad()
        torch.nn.functional.cross_entropy(b(X), Y).backward()
        with torch.no_grad():
            for p in b.parameters():
                shrink = 1 - lr * lam if p.dim() >= 2 else 1.0
                p.copy_(shrink * p - lr * p.grad)

        torch_opt.zero_grad()
        torch.nn.functional.cross_entropy(c(X), Y).backward()
        torch_opt.step()
        for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
            assert maxdiff(pa, pb) < TOL and maxdiff(pa, pc) < TOL


def test_shrinking_alone_is_geometric():
    # with a zero data gradient, weight decay multiplies the weights by (1 - lr lam) per step
    w = torch.ones(3, 3, dtype=D, requires_grad=True)
    opt = optim.SGD([w], lr=0.1, weight_decay=0.2)
    for _ in range(10):
        w.grad = torch.zeros_like(w)
        opt.step()
    assert maxdiff(w, torch.full((3, 3), (1 - 0.02) ** 10, dtype=D)) < TOL


def test_adamw_ours_matches_torch_with_decay_groups_and_differs_from_adam_l2():
    X, Y = small_data(n=32)
    lam, steps = 0.1, 25
    ours, theirs, l2 = small_mlp(), small_mlp(), small_mlp()
    opt_ours = optim.AdamW(decay_groups(ours.parameters(), lam), lr=1e-2)
    opt_theirs = torch.optim.AdamW(decay_groups(theirs.parameters(), lam), lr=1e-2)
    opt_l2 = torch.optim.Adam(decay_groups(l2.parameters(), lam), lr=1e-2)  # L2 inside Adam
    for _ in range(steps):
        for model, opt in ((ours, opt_ours), (theirs, opt_theirs), (l2, opt_l2)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(X), Y).backward()
            opt.step()
        for p, q in zip(ours.parameters(), theirs.parameters()):
            assert maxdiff(p, q) < TOL
    # the decoupled decay is not Adam with an L2 gradient: the trajectories part
    assert maxdiff(flat_weights(ours.parameters()), flat_weights(l2.parameters())) > 1e-3
    # and the biases, in the no-decay group, are what Adam alone would make of them
    assert opt_ours.param_groups[1]["weight_decay"] == 0.0


# ------------------------------------------------------------------ checkpoints


def test_early_stopping_saves_the_best_and_restores_it(tmp_path):
    model = Linear(1, 1, bias=False, dtype=D)
    stop = EarlyStopping(tmp_path / "best.pt", patience=2)
    losses = [3.0, 2.0, 2.5, 1.5, 1.6, 1.5, 1.7]
    decisions = []
    for step, loss in enumerate(losses):
        with torch.no_grad():
            model.weight.fill_(step)
        decisions.append(stop.step(loss, model, step=step))
    # a tie (1.5 again at step 5) is no improvement
    assert decisions == [False, False, False, False, False, True, True]
    assert (stop.best, stop.best_step) == (1.5, 3)
    stop.restore(model)
    assert model.weight.item() == 3.0


def test_early_stopping_min_delta_and_arguments(tmp_path):
    stop = EarlyStopping(tmp_path / "best.pt", patience=1, min_delta=0.1)
    model = Linear(1, 1)
    assert not stop.step(1.0, model)
    assert stop.step(0.95, model)  # better, but by less than min_delta
    with pytest.raises(ValueError, match="patience must be an integer >= 1"):
        EarlyStopping(tmp_path / "x.pt", patience=0)
    with pytest.raises(RuntimeError, match="no checkpoint"):
        EarlyStopping(tmp_path / "y.pt").restore(model)


# ------------------------------------------------------------------ shortcuts


# ------------------------------------------------------------------ noise and monitoring


def test_weight_scaling_is_the_exact_mask_average_for_a_linear_layer():
    """Averaged over all 2^n masks, inverted dropout followed by a linear layer gives the
    eval-mode output exactly: the reason the weight-scaling rule is exact for one layer."""
    g = torch.Generator().manual_seed(5)
    x, lin, p = torch.randn(3, 6, dtype=D, generator=g), Linear(6, 2, generator=g, dtype=D), 0.25
    total, weight_sum = 0, 0.0
    for bits in itertools.product([0.0, 1.0], repeat=6):
        mask = torch.tensor(bits, dtype=D)
        prob = (1 - p) ** mask.sum().item() * p ** (6 - mask.sum().item())
        total = total + prob * lin(x * mask / (1 - p))
        weight_sum += prob
    assert abs(weight_sum - 1) < TOL
    with torch.no_grad():
        assert maxdiff(total, lin(x)) < TOL


def test_decay_groups_for_the_engines_stacked_parameters():
    from utils.batched import Stacked
    params = Stacked([small_mlp(seed=0), small_mlp(seed=1)]).parameters()  # (V, out, in) and (V, out)
    decayed, plain = (g["params"] for g in decay_groups(params, 0.1, stacked=True))
    assert [p.dim() for p in decayed] == [3, 3] and [p.dim() for p in plain] == [2, 2]
