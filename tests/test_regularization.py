"""utils.regularization: penalties, weight decay vs torch.optim, checkpoints, shortcut blocks.

Comparisons with torch run in float64; "to rounding" means a max abs difference below 1e-12.
"""

import doctest
import itertools

import pytest
import torch

import utils.optim as optim
import utils.regularization
from utils.nn import BatchNorm1d, Dropout, Linear, ReLU, Sequential, Tanh
from utils.regularization import (EarlyStopping, GaussianNoise, Highway, Residual,
                                  decay_groups, flat_weights, l1_penalty, l2_penalty,
                                  load_state_dict, state_dict, update_ratio)

D = torch.float64
TOL = 1e-12


def maxdiff(a, b):
    return (a - b).abs().max().item()


def mlp(seed=0, sizes=(4, 8, 3), bn=False):
    g = torch.Generator().manual_seed(seed)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(n_in, n_out, generator=g, dtype=D))
        if i < len(sizes) - 2:
            layers += [BatchNorm1d(n_out, dtype=D)] if bn else []
            layers.append(Tanh())
    return Sequential(*layers)


def data(seed=1, n=16, d=4, classes=3):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=D), torch.randint(0, classes, (n,), generator=g)


def test_doctests():
    result = doctest.testmod(utils.regularization, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 8 and result.failed == 0


# ------------------------------------------------------------------ penalties
def test_penalties_act_on_the_flattened_weight_matrices_only():
    model = mlp(bn=True)
    w = flat_weights(model.parameters())
    assert w.shape == (4 * 8 + 8 * 3,)
    lam = 0.3
    assert abs(l2_penalty(model.parameters(), lam).item() - lam / 2 * (w ** 2).sum().item()) < TOL
    assert abs(l1_penalty(model.parameters(), lam).item() - lam * w.abs().sum().item()) < TOL


def test_penalty_gradients_are_lambda_w_and_lambda_sign_w():
    model = mlp()
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
    model = mlp(bn=True)
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
    X, Y = data()
    lr, lam, steps = 0.1, 0.05, 20
    a, b, c = mlp(), mlp(), mlp()
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
    X, Y = data(n=32)
    lam, steps = 0.1, 25
    ours, theirs, l2 = mlp(), mlp(), mlp()
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
def torch_twin(model):
    """The same architecture in torch.nn (Linear, BatchNorm1d, Tanh, ReLU, Dropout)."""
    nn = torch.nn
    layers = []
    for layer in model:
        if isinstance(layer, Linear):
            layers.append(nn.Linear(layer.in_features, layer.out_features, dtype=D))
        elif isinstance(layer, BatchNorm1d):
            layers.append(nn.BatchNorm1d(layer.num_features, dtype=D))
        else:
            layers.append({Tanh: nn.Tanh, ReLU: nn.ReLU}[type(layer)]())
    return nn.Sequential(*layers)


def test_state_dict_has_torch_keys_and_loads_into_torch():
    model = mlp(bn=True)
    X, _ = data()
    model(X)  # one training step of BatchNorm: running stats move off their start
    ours = state_dict(model)
    twin = torch_twin(model)
    assert list(ours) == list(twin.state_dict())
    twin.load_state_dict(ours)  # strict: every key and shape agrees
    model.eval(), twin.eval()
    with torch.no_grad():
        assert maxdiff(model(X), twin(X)) < TOL


def test_state_dict_round_trip_through_torch_save(tmp_path):
    model, other = mlp(seed=0, bn=True), mlp(seed=5, bn=True)
    model(data()[0])
    torch.save(state_dict(model), tmp_path / "ckpt.pt")
    load_state_dict(other, torch.load(tmp_path / "ckpt.pt"))
    for (ka, a), (kb, b) in zip(state_dict(model).items(), state_dict(other).items()):
        assert ka == kb and torch.equal(a, b)
    assert other.parameters()[0].requires_grad  # still a trainable leaf


def test_state_dict_is_a_copy():
    model = mlp()
    saved = state_dict(model)
    with torch.no_grad():
        model[0].weight += 1
    assert maxdiff(saved["0.weight"] + 1, model[0].weight) < TOL


def test_load_state_dict_errors_name_the_problem():
    model = mlp()
    state = state_dict(model)
    with pytest.raises(KeyError, match=r"missing keys \['2.bias'\]"):
        load_state_dict(model, {k: v for k, v in state.items() if k != "2.bias"})
    with pytest.raises(KeyError, match=r"unexpected keys \['9.weight'\]"):
        load_state_dict(model, {**state, "9.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match=r"size mismatch for 0.weight.*\(8, 4\)"):
        load_state_dict(model, {**state, "0.weight": torch.zeros(2, 2)})


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
def test_residual_matches_torch_forward_and_gradients():
    g = torch.Generator().manual_seed(0)
    block = Residual(Sequential(Linear(5, 5, generator=g, dtype=D), Tanh()))
    lin = torch.nn.Linear(5, 5, dtype=D)
    lin.load_state_dict({"weight": block.block[0].weight.detach(),
                         "bias": block.block[0].bias.detach()})
    x = torch.randn(7, 5, dtype=D, generator=g)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    y1, y2 = block(x1), x2 + torch.tanh(lin(x2))
    assert y1.shape == (7, 5) and maxdiff(y1, y2) < TOL
    (y1 ** 2).sum().backward()
    (y2 ** 2).sum().backward()
    assert maxdiff(x1.grad, x2.grad) < TOL
    assert maxdiff(block.block[0].weight.grad, lin.weight.grad) < TOL
    assert list(state_dict(block)) == ["block.0.weight", "block.0.bias"]


def test_residual_passes_train_and_eval_to_its_block():
    block = Residual(Sequential(Linear(3, 3), Dropout(0.5)))
    block.eval()
    assert not block.block[1].training
    x = torch.randn(4, 3)
    assert torch.equal(block(x), block(x))


def test_highway_matches_its_formula_and_gradients():
    g = torch.Generator().manual_seed(1)
    layer = Highway(6, gate_bias=-1.5, generator=g, dtype=D)
    assert torch.all(layer.gate.bias == -1.5) and len(layer.parameters()) == 4
    H, T = torch.nn.Linear(6, 6, dtype=D), torch.nn.Linear(6, 6, dtype=D)
    H.load_state_dict({"weight": layer.transform.weight.detach(),
                       "bias": layer.transform.bias.detach()})
    T.load_state_dict({"weight": layer.gate.weight.detach(), "bias": layer.gate.bias.detach()})
    x = torch.randn(5, 6, dtype=D, generator=g)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    t = torch.sigmoid(T(x2))
    y1, y2 = layer(x1), t * torch.tanh(H(x2)) + (1 - t) * x2
    assert y1.shape == (5, 6) and maxdiff(y1, y2) < TOL
    y1.sum().backward()
    y2.sum().backward()
    assert maxdiff(x1.grad, x2.grad) < TOL
    assert maxdiff(layer.gate.weight.grad, T.weight.grad) < TOL
    assert maxdiff(layer.transform.bias.grad, H.bias.grad) < TOL
    assert list(state_dict(layer)) == ["transform.weight", "transform.bias",
                                      "gate.weight", "gate.bias"]


def deep(kind, depth=30, width=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    if kind == "plain":
        blocks = [m for _ in range(depth) for m in (Linear(width, width, generator=g, dtype=D),
                                                    Tanh())]
    elif kind == "residual":
        blocks = [Residual(Sequential(Linear(width, width, generator=g, dtype=D), Tanh()))
                  for _ in range(depth)]
    else:
        blocks = [Highway(width, generator=g, dtype=D) for _ in range(depth)]
    return Sequential(*blocks)


def test_shortcuts_keep_the_input_gradient_alive_at_depth():
    x = torch.randn(32, 16, dtype=D, generator=torch.Generator().manual_seed(2))
    norms = {}
    for kind in ("plain", "residual", "highway"):
        xi = x.clone().requires_grad_()
        deep(kind)(xi).pow(2).sum().backward()
        norms[kind] = xi.grad.norm().item()
    assert norms["plain"] < 1e-3 * norms["residual"]
    assert norms["plain"] < 1e-3 * norms["highway"]


# ------------------------------------------------------------------ noise and monitoring
def test_gaussian_noise_train_and_eval():
    x = torch.zeros(20_000)
    noise = GaussianNoise(0.5, generator=torch.Generator().manual_seed(0))
    y = noise(x)
    assert abs(y.mean().item()) < 0.02 and abs(y.std().item() - 0.5) < 0.02
    again = GaussianNoise(0.5, generator=torch.Generator().manual_seed(0))(x)
    assert torch.equal(y, again)
    assert noise.eval()(x) is x
    with pytest.raises(ValueError, match="std must be >= 0"):
        GaussianNoise(-0.1)


def test_update_ratio_of_an_sgd_step_is_lr_grad_over_weights():
    w = torch.randn(8, 8, dtype=D, generator=torch.Generator().manual_seed(3))
    grad = torch.randn(8, 8, dtype=D, generator=torch.Generator().manual_seed(4))
    lr = 0.01
    expected = ((lr * grad).std() / w.std()).item()
    assert abs(update_ratio(w, w - lr * grad) - expected) < TOL
    with pytest.raises(ValueError, match="same shape"):
        update_ratio(w, w[0])


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
    params = Stacked([mlp(seed=0), mlp(seed=1)]).parameters()  # (V, out, in) and (V, out)
    decayed, plain = (g["params"] for g in decay_groups(params, 0.1, stacked=True))
    assert [p.dim() for p in decayed] == [3, 3] and [p.dim() for p in plain] == [2, 2]
