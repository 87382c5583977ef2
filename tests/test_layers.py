"""utils.layers: the course's own layers. Residual and Highway against torch's building blocks
and their formulas (float64, 1e-12), the shortcuts' effect on the input gradient at depth,
input noise in training and eval mode, and noisy BatchNorm's perturbation ranges."""

import doctest

import pytest
import torch

import utils.layers
from utils import nn
from utils.layers import GaussianNoise, Highway, NoisyBatchNorm1d, Residual
from utils.nn import Dropout, Linear, Sequential, Tanh

D = torch.float64
TOL = 1e-12
CLOSE = dict(atol=1e-12, rtol=1e-12)


def gen(seed):
    return torch.Generator().manual_seed(seed)


def maxdiff(a, b):
    return (a - b).abs().max().item()


def test_doctests():
    assert doctest.testmod(utils.layers).failed == 0


def test_noisy_batchnorm_without_noise_is_batchnorm():
    x = torch.randn(32, 6, generator=gen(2), dtype=D) * 3 + 1
    plain = nn.BatchNorm1d(6, dtype=D)
    noisy = NoisyBatchNorm1d(6, shift=0.0, scale=(1.0, 1.0), jitter=0.0, generator=gen(3),
                             dtype=D)
    torch.testing.assert_close(noisy(x), plain(x), **CLOSE)
    torch.testing.assert_close(noisy.running_mean, plain.running_mean, **CLOSE)
    torch.testing.assert_close(noisy.running_var, plain.running_var, **CLOSE)
    noisy.eval(), plain.eval()
    torch.testing.assert_close(noisy(x), plain(x), **CLOSE)


def test_noisy_batchnorm_shifts_and_scales_each_unit_within_its_ranges_every_step():
    noisy = NoisyBatchNorm1d(50, shift=0.7, scale=(0.5, 2.0), jitter=0.0, generator=gen(4),
                             dtype=D)
    x = torch.randn(64, 50, generator=gen(5), dtype=D)
    y0 = nn.BatchNorm1d(50, dtype=D)(x)  # what the noise acts on
    y1, y2 = noisy(x), noisy(x)
    for y in (y1, y2):
        s = y.std(0) / y0.std(0)  # each unit's scale s_j
        m = y.mean(0) - s * y0.mean(0)  # and shift m_j
        assert s.min() >= 0.5 and s.max() <= 2.0 and s.max() - s.min() > 1.0
        assert m.abs().max() <= 0.7 and m.abs().max() > 0.5
    assert not torch.allclose(y1, y2)  # fresh noise at every step
    noisy.eval()
    torch.testing.assert_close(noisy(x), noisy(x), **CLOSE)
    with pytest.raises(ValueError, match="scale"):
        NoisyBatchNorm1d(3, scale=(2.0, 1.0))


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
    assert list(block.state_dict()) == ["block.0.weight", "block.0.bias"]


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
    assert list(layer.state_dict()) == ["transform.weight", "transform.bias",
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

