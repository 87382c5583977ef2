"""utils.batchnorm_tools: LayerNorm against torch.nn.LayerNorm (float64, 1e-12), noisy
BatchNorm, the plain SGD loop against utils.train.train (bit for bit), and the landscape and
gradient-shift probes against direct computations."""

import pytest
import torch
import torch.nn.functional as F

from utils import nn
from utils.batchnorm_tools import (LayerNorm, NoisyBatchNorm1d, frozen_buffers, gradient_shift,
                                   layer_outputs, loss_landscape, sgd)
from utils.models import deep_mlp
from utils.train import train

D = torch.float64
TOL = dict(atol=1e-12, rtol=1e-12)


def gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("shape", [(16, 7), (4, 5, 7)])
@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_matches_torch_forward_and_backward(shape, affine):
    g = gen(0)
    x = (3 * torch.randn(shape, generator=g, dtype=D) + 2).requires_grad_()
    ours = LayerNorm(7, eps=1e-5, elementwise_affine=affine, dtype=D)
    ref = torch.nn.LayerNorm(7, eps=1e-5, elementwise_affine=affine, dtype=D)
    if affine:
        with torch.no_grad():
            w, b = torch.randn(7, generator=g, dtype=D), torch.randn(7, generator=g, dtype=D)
            ours.weight.copy_(w), ours.bias.copy_(b), ref.weight.copy_(w), ref.bias.copy_(b)
    x2 = x.detach().clone().requires_grad_()
    y, y_ref = ours(x), ref(x2)
    torch.testing.assert_close(y, y_ref, **TOL)
    dy = torch.randn(shape, generator=g, dtype=D)
    y.backward(dy), y_ref.backward(dy)
    torch.testing.assert_close(x.grad, x2.grad, **TOL)
    if affine:
        torch.testing.assert_close(ours.weight.grad, ref.weight.grad, **TOL)
        torch.testing.assert_close(ours.bias.grad, ref.bias.grad, **TOL)
    assert len(ours.parameters()) == (2 if affine else 0)


def test_layernorm_is_independent_of_the_batch_and_rejects_bad_input():
    ln = LayerNorm(5, dtype=D)
    x = torch.randn(8, 5, generator=gen(1), dtype=D)
    torch.testing.assert_close(ln(x)[:1], ln(x[:1]), **TOL)
    with pytest.raises(ValueError, match="expected last dimension 5"):
        ln(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="positive int"):
        LayerNorm(0)


def test_noisy_batchnorm_without_noise_is_batchnorm():
    x = torch.randn(32, 6, generator=gen(2), dtype=D) * 3 + 1
    plain = nn.BatchNorm1d(6, dtype=D)
    noisy = NoisyBatchNorm1d(6, shift=0.0, scale=(1.0, 1.0), jitter=0.0, generator=gen(3),
                             dtype=D)
    torch.testing.assert_close(noisy(x), plain(x), **TOL)
    torch.testing.assert_close(noisy.running_mean, plain.running_mean, **TOL)
    torch.testing.assert_close(noisy.running_var, plain.running_var, **TOL)
    noisy.eval(), plain.eval()
    torch.testing.assert_close(noisy(x), plain(x), **TOL)


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
    torch.testing.assert_close(noisy(x), noisy(x), **TOL)
    with pytest.raises(ValueError, match="scale"):
        NoisyBatchNorm1d(3, scale=(2.0, 1.0))


@pytest.mark.parametrize("batchnorm", [False, True])
def test_sgd_is_bit_for_bit_the_training_engine(batchnorm):
    g = gen(6)
    X = torch.randint(0, 27, (500, 3), generator=g)
    Y = torch.randint(0, 27, (500,), generator=g)
    a = deep_mlp(generator=gen(7), n_layers=3, n_hidden=16, batchnorm=batchnorm)
    b = deep_mlp(generator=gen(7), n_layers=3, n_hidden=16, batchnorm=batchnorm)
    seen = []
    losses = sgd(a, X, Y, steps=60, generator=gen(8), lr=0.2, every=20, progress=False,
                 callback=lambda step, model: seen.append(step))
    run = train(b, X, Y, steps=60, generators=gen(8), lr=0.2, progress=False)
    assert seen == [0, 20, 40, 60]
    assert torch.equal(losses, run.losses[0])
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    if batchnorm:
        assert torch.equal(a[3].running_var, b[3].running_var)


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
