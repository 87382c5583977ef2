"""Tests of utils.nn against torch.nn, in float64.

Tolerance ``TOL = 1e-12`` (absolute, every entry) for outputs, running statistics and
gradients compared with ``torch.nn``; counters (``num_batches_tracked``) must be equal.
Dropout's statistical checks use a fixed generator and bounds of about 5 standard errors.
"""

import doctest
import math

import pytest
import torch
import torch.nn.functional as F

import utils.nn
from conftest import small_data, small_mlp
from utils.nn import (BatchNorm1d, Dropout, Embedding, Flatten, LayerNorm, Linear, ReLU, Sequential,
                      Tanh)

TOL = 1e-12
CLOSE = dict(atol=1e-12, rtol=1e-12)
DT = torch.float64


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def maxdiff(a, b):
    return (a - b).abs().max().item()


def test_doctests():
    result = doctest.testmod(utils.nn, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4 and result.failed == 0


# ---------------------------------------------------------------- Linear

def test_linear_shapes_and_dtype():
    layer = Linear(5, 3, generator=gen(), dtype=DT)
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    assert layer.weight.dtype == DT and layer.weight.requires_grad and layer.bias.requires_grad
    assert layer(torch.randn(7, 5, dtype=DT)).shape == (7, 3)
    assert layer(torch.randn(2, 4, 5, dtype=DT)).shape == (2, 4, 3)
    assert layer.parameters() == [layer.weight, layer.bias]
    no_bias = Linear(5, 3, bias=False, generator=gen())
    assert no_bias.bias is None and no_bias.parameters() == [no_bias.weight]
    assert no_bias.weight.dtype == torch.float32


def test_linear_init_bounds():
    """Entries fill U(-1/sqrt(in), 1/sqrt(in)): inside the bound, and close to both ends."""
    for n_in in (1, 4, 100):
        layer = Linear(n_in, 2000, generator=gen(n_in), dtype=DT)
        k = 1 / math.sqrt(n_in)
        for p in layer.parameters():
            assert p.abs().max() <= k
            assert p.max() > 0.99 * k and p.min() < -0.99 * k
        # mean 0, variance k^2/3 (2000*n_in draws: 5 standard errors)
        w = layer.weight.detach()
        assert abs(w.mean().item()) < 5 * k / math.sqrt(3 * w.numel())
        assert abs(w.var().item() / (k * k / 3) - 1) < 0.05


def test_linear_init_matches_torch_for_same_seed():
    """Same draws in the same order as torch.nn.Linear (weight, then bias)."""
    torch.manual_seed(123)
    ref = torch.nn.Linear(7, 4, dtype=DT)
    ours = Linear(7, 4, generator=gen(123), dtype=DT)
    assert maxdiff(ours.weight, ref.weight) < 1e-15
    assert maxdiff(ours.bias, ref.bias) < 1e-15


def test_linear_generator_reproducible_and_independent_of_global_rng():
    torch.manual_seed(0)
    a = Linear(3, 4, generator=gen(7))
    torch.manual_seed(1)
    b = Linear(3, 4, generator=gen(7))
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    state = torch.get_rng_state()
    Linear(3, 4, generator=gen(7))
    assert torch.equal(state, torch.get_rng_state())  # global RNG untouched
    c = Linear(3, 4, generator=gen(8))
    assert not torch.equal(a.weight, c.weight)


def test_linear_forward_and_grad_match_F_linear():
    layer = Linear(6, 3, generator=gen(), dtype=DT)
    w = layer.weight.detach().clone().requires_grad_()
    b = layer.bias.detach().clone().requires_grad_()
    x = torch.randn(10, 6, dtype=DT, generator=gen(1))
    y, y_ref = layer(x), F.linear(x, w, b)
    assert maxdiff(y, y_ref) < TOL
    g = torch.randn(10, 3, dtype=DT, generator=gen(2))
    y.backward(g)
    y_ref.backward(g)
    assert maxdiff(layer.weight.grad, w.grad) < TOL and maxdiff(layer.bias.grad, b.grad) < TOL


def test_linear_rejects_bad_sizes():
    with pytest.raises(ValueError, match="in_features must be an integer >= 1, got 0"):
        Linear(0, 3)
    with pytest.raises(ValueError, match="out_features"):
        Linear(3, 2.5)


# ---------------------------------------------------------------- Tanh, ReLU, Sequential

def test_activations():
    x = torch.tensor([-2.0, 0.0, 3.0], dtype=DT, requires_grad=True)
    assert torch.equal(Tanh()(x), torch.tanh(x)) and Tanh().parameters() == []
    y = ReLU()(x)
    assert torch.equal(y, torch.tensor([0.0, 0.0, 3.0], dtype=DT))
    y.sum().backward()
    assert torch.equal(x.grad, torch.tensor([0.0, 0.0, 1.0], dtype=DT))  # 0 at 0, as torch


def make_model():
    g = gen()
    return Sequential(Linear(4, 8, generator=g, dtype=DT), BatchNorm1d(8, dtype=DT), Tanh(),
                      Dropout(0.3, generator=g), Linear(8, 2, generator=g, dtype=DT))


def test_sequential_parameters_in_order():
    model = make_model()
    expected = [model[0].weight, model[0].bias, model[1].weight, model[1].bias,
                model[4].weight, model[4].bias]
    params = model.parameters()
    assert len(params) == 6 and all(p is q for p, q in zip(params, expected))
    assert len(model) == 5 and isinstance(model[1], BatchNorm1d)
    assert isinstance(model[1:3], Sequential) and model[1:3][0] is model[1]


def test_sequential_train_eval_propagates():
    model = make_model()
    assert model.training and all(layer.training for layer in model.layers)
    assert model.eval() is model
    assert not model.training and not any(layer.training for layer in model.layers)
    model.train()
    assert model.training and all(layer.training for layer in model.layers)
    model.train(False)
    assert not any(layer.training for layer in model.layers)
    # eval mode: deterministic (no dropout, running stats)
    x = torch.randn(5, 4, dtype=DT, generator=gen(3))
    assert torch.equal(model(x), model(x))


def test_sequential_forward_is_composition_and_zero_grad():
    model = make_model().eval()
    x = torch.randn(5, 4, dtype=DT, generator=gen(3))
    y = x
    for layer in model.layers:
        y = layer(y)
    assert torch.equal(model(x), y)
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


# ---------------------------------------------------------------- BatchNorm1d

def copy_affine(ours, ref, seed):
    """Random gamma, beta (so that their gradients are not trivial), copied into torch's."""
    g = gen(seed)
    with torch.no_grad():
        ours.weight.copy_(1 + 0.5 * torch.randn(ours.num_features, dtype=DT, generator=g))
        ours.bias.copy_(torch.randn(ours.num_features, dtype=DT, generator=g))
        ref.weight.copy_(ours.weight)
        ref.bias.copy_(ours.bias)


def compare_steps(ours, ref, shapes, seed=0):
    """Run both on the same batches (train mode, then eval), comparing everything."""
    g = gen(seed)
    worst = 0.0
    for mode, batch_shapes in (("train", shapes), ("eval", shapes[:2])):
        ours.train(mode == "train")
        ref.train(mode == "train")
        for shape in batch_shapes:
            x = (3 + 2 * torch.randn(*shape, dtype=DT, generator=g)).requires_grad_()
            x_ref = x.detach().clone().requires_grad_()
            y, y_ref = ours(x), ref(x_ref)
            upstream = torch.randn(*shape, dtype=DT, generator=g)
            (y * upstream).sum().backward()
            (y_ref * upstream).sum().backward()
            diffs = [maxdiff(y, y_ref), maxdiff(x.grad, x_ref.grad)]
            if ours.affine:
                diffs += [maxdiff(ours.weight.grad, ref.weight.grad),
                          maxdiff(ours.bias.grad, ref.bias.grad)]
                ours.weight.grad = ours.bias.grad = ref.weight.grad = ref.bias.grad = None
            if ours.track_running_stats:
                diffs += [maxdiff(ours.running_mean, ref.running_mean),
                          maxdiff(ours.running_var, ref.running_var)]
                assert ours.num_batches_tracked.item() == ref.num_batches_tracked.item()
                assert ours.num_batches_tracked.dtype == torch.long
            else:
                assert ours.running_mean is None and ref.running_mean is None
            assert max(diffs) < TOL, (mode, shape, diffs)
            worst = max(worst, *diffs)
    return worst


SHAPES_2D = [(16, 5), (7, 5), (2, 5), (33, 5), (4, 5)]


@pytest.mark.parametrize("momentum", [0.1, 0.001, None, 1.0])
def test_batchnorm_matches_torch_2d(momentum):
    ours = BatchNorm1d(5, momentum=momentum, dtype=DT)
    ref = torch.nn.BatchNorm1d(5, momentum=momentum, dtype=DT)
    copy_affine(ours, ref, 1)
    compare_steps(ours, ref, SHAPES_2D)
    assert ours.num_batches_tracked.item() == len(SHAPES_2D)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_matches_torch_3d(momentum):
    ours = BatchNorm1d(3, momentum=momentum, dtype=DT)
    ref = torch.nn.BatchNorm1d(3, momentum=momentum, dtype=DT)
    copy_affine(ours, ref, 2)
    compare_steps(ours, ref, [(4, 3, 6), (1, 3, 5), (9, 3, 2), (2, 3, 1)])


def test_batchnorm_affine_false():
    ours = BatchNorm1d(4, affine=False, dtype=DT)
    ref = torch.nn.BatchNorm1d(4, affine=False, dtype=DT)
    assert ours.weight is None and ours.bias is None and ours.parameters() == []
    compare_steps(ours, ref, [(8, 4), (3, 4), (12, 4)])


def test_batchnorm_no_running_stats_uses_batch_stats_in_eval():
    ours = BatchNorm1d(4, track_running_stats=False, dtype=DT)
    ref = torch.nn.BatchNorm1d(4, track_running_stats=False, dtype=DT)
    copy_affine(ours, ref, 3)
    assert ours.buffers() == [] and ours.num_batches_tracked is None
    compare_steps(ours, ref, [(8, 4), (3, 4), (12, 4)])
    ours.eval()
    x = torch.randn(6, 4, dtype=DT, generator=gen(4)) * 3 + 1
    y = ours(x)  # normalised with the batch's own statistics
    x_hat = (y - ours.bias) / ours.weight
    assert maxdiff(x_hat.mean(0), torch.zeros(4, dtype=DT)) < TOL
    assert maxdiff(x_hat.var(0, correction=0), torch.ones(4, dtype=DT)) < 1e-5  # eps


def test_batchnorm_default_state_and_hand_computed_update():
    """The conventions spelled out: biased variance to normalise, unbiased in running_var."""
    bn = BatchNorm1d(1, momentum=0.001, dtype=DT)
    assert torch.equal(bn.weight, torch.ones(1, dtype=DT)) and bn.weight.requires_grad
    assert torch.equal(bn.bias, torch.zeros(1, dtype=DT))
    assert torch.equal(bn.running_mean, torch.zeros(1, dtype=DT))
    assert torch.equal(bn.running_var, torch.ones(1, dtype=DT))
    assert bn.num_batches_tracked.item() == 0 and bn.eps == 1e-5
    x = torch.tensor([[1.0], [2.0], [6.0]], dtype=DT)  # mean 3, biased var 14/3, unbiased 7
    y = bn(x)
    assert maxdiff(y, (x - 3) / math.sqrt(14 / 3 + 1e-5)) < TOL
    assert abs(bn.running_mean.item() - 0.001 * 3) < TOL  # lecture: 0.999*0 + 0.001*3
    assert abs(bn.running_var.item() - (0.999 * 1 + 0.001 * 7)) < TOL
    bn.eval()
    z = torch.tensor([[5.0]], dtype=DT)  # batch of one is fine in eval
    assert maxdiff(bn(z), (z - bn.running_mean) / torch.sqrt(bn.running_var + 1e-5)) < TOL
    assert bn.num_batches_tracked.item() == 1  # eval does not count


def test_batchnorm_cumulative_average_is_plain_mean():
    bn = BatchNorm1d(2, momentum=None, dtype=DT)
    batches = [torch.randn(n, 2, dtype=DT, generator=gen(n)) for n in (3, 5, 8)]
    for x in batches:
        bn(x)
    assert maxdiff(bn.running_mean, torch.stack([x.mean(0) for x in batches]).mean(0)) < TOL
    assert maxdiff(bn.running_var, torch.stack([x.var(0) for x in batches]).mean(0)) < TOL


def test_batchnorm_batch_of_one_raises_in_train():
    bn = BatchNorm1d(3)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        bn(torch.randn(1, 3))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        bn(torch.randn(1, 3, 1))
    assert bn.num_batches_tracked.item() == 0  # nothing updated
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        torch.nn.BatchNorm1d(3)(torch.randn(1, 3))  # same as torch
    bn.eval()
    assert bn(torch.randn(1, 3)).shape == (1, 3)
    nostats = BatchNorm1d(3, track_running_stats=False).eval()
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        nostats(torch.randn(1, 3))  # batch statistics in eval too, as torch


def test_batchnorm_wrong_input_errors():
    bn = BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"^expected 2D or 3D input \(got 4D input\)$"):
        bn(torch.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 1D input\)"):
        bn(torch.randn(3))
    shape_msg = r"expected 3 channels in dim 1, got input of shape \(4, 5\)"
    with pytest.raises(ValueError, match=shape_msg):
        bn(torch.randn(4, 5))


def test_batchnorm_rejects_bad_arguments():
    with pytest.raises(ValueError, match="momentum must be in"):
        BatchNorm1d(3, momentum=1.5)
    with pytest.raises(ValueError, match="eps must be positive"):
        BatchNorm1d(3, eps=0)
    with pytest.raises(ValueError, match="num_features"):
        BatchNorm1d(0)


def test_batchnorm_comparison_can_fail():
    """The harness catches the lecture's convention (unbiased variance to normalise)."""
    class LectureBN(BatchNorm1d):
        def __call__(self, x):
            mean, var = x.mean(0), x.var(0)  # unbiased: the planted difference
            if self.training:
                self._update_running_stats(mean, var)
            return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias

    ours, ref = LectureBN(5, dtype=DT), torch.nn.BatchNorm1d(5, dtype=DT)
    with pytest.raises(AssertionError):
        compare_steps(ours, ref, SHAPES_2D)


def test_batchnorm_observed_differences_are_rounding():
    """50 train steps then eval: observed differences stay at rounding level (~1e-14)."""
    ours = BatchNorm1d(6, momentum=0.1, dtype=DT)
    ref = torch.nn.BatchNorm1d(6, momentum=0.1, dtype=DT)
    copy_affine(ours, ref, 5)
    shapes = [(int(n), 6) for n in torch.randint(2, 64, (50,), generator=gen(6))]
    worst = compare_steps(ours, ref, shapes)
    assert worst < 1e-13


# ---------------------------------------------------------------- Dropout

def test_dropout_identity_cases():
    x = torch.randn(50, 20, dtype=DT, generator=gen())
    assert torch.equal(Dropout(0.0)(x), x)
    drop = Dropout(0.5).eval()
    assert drop(x) is x
    assert Dropout().p == 0.5 and Dropout().parameters() == []


def test_dropout_train_statistics_and_exact_scaling():
    p = 0.3
    x = torch.rand(200, 500, dtype=DT, generator=gen(1)) + 0.5  # no zeros in x
    drop = Dropout(p, generator=gen(2))
    y = drop(x)
    zeros = (y == 0)
    n = x.numel()
    se = math.sqrt(p * (1 - p) / n)
    assert abs(zeros.double().mean().item() - p) < 5 * se
    assert torch.equal(y[~zeros], x[~zeros] * (1 / (1 - p)))  # exact, not approximately
    # E[y] = x: the mean of y/x over all entries is 1 within 5 standard errors
    ratio = (y / x).mean().item()
    assert abs(ratio - 1) < 5 * math.sqrt(p / (1 - p) / n)
    # averaged over many masks, each entry's output approaches its input
    xs = x[:4, :5]
    avg = torch.stack([drop(xs) for _ in range(20000)]).mean(0)
    assert maxdiff(avg / xs, torch.ones_like(xs)) < 5 * math.sqrt(p / (1 - p) / 20000)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_is_torch_dropout_bit_for_bit(p, dtype):
    x = torch.randn(64, 50, dtype=dtype, generator=gen(5))
    with torch.random.fork_rng():
        torch.manual_seed(123)
        expected = torch.nn.Dropout(p)(x)
    assert torch.equal(Dropout(p, generator=gen(123))(x), expected)
    assert torch.equal(Dropout(p).eval()(x), torch.nn.Dropout(p).eval()(x))


def test_dropout_generator_reproducible_and_fresh_masks():
    x = torch.ones(1000)
    a, b = Dropout(0.5, generator=gen(9)), Dropout(0.5, generator=gen(9))
    assert torch.equal(a(x), b(x))
    assert not torch.equal(a(x), a(x))  # a new mask on every call


def test_dropout_gradient_and_p_one():
    x = torch.randn(30, dtype=DT, generator=gen(3), requires_grad=True)
    y = Dropout(0.25, generator=gen(4))(x)
    y.sum().backward()
    assert torch.equal(x.grad, (y != 0).to(DT) * (1 / 0.75))
    x.grad = None
    z = Dropout(1.0)(x)
    assert torch.equal(z, torch.zeros_like(x))
    z.sum().backward()
    assert torch.equal(x.grad, torch.zeros_like(x))


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), "0.5", True])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        Dropout(p)


# ---------------------------------------------------------------- Embedding, Flatten

def test_embedding_matches_torch_and_lecture_table():
    ours = Embedding(27, 10, generator=gen(7), dtype=DT)
    ref = torch.nn.Embedding(27, 10, dtype=DT)
    with torch.no_grad():
        ref.weight.copy_(ours.weight)
    # the initial table is exactly the lecture's C = torch.randn((27, 10), generator=g)
    assert torch.equal(ours.weight, torch.randn((27, 10), generator=gen(7), dtype=DT))
    idx = torch.randint(0, 27, (32, 3), generator=gen(8))
    out = ours(idx)
    assert out.shape == (32, 3, 10) and torch.equal(out, ref(idx))
    out.square().sum().backward()
    ref(idx).square().sum().backward()
    assert maxdiff(ours.weight.grad, ref.weight.grad) <= 1e-12
    flat = Flatten()(out)
    assert flat.shape == (32, 30) and torch.equal(flat, torch.nn.Flatten()(out))


def test_embedding_rejects_float_indices():
    with pytest.raises(TypeError, match="integer indices, got dtype torch.float32"):
        Embedding(5, 2)(torch.zeros(3))


# LayerNorm

@pytest.mark.parametrize("shape", [(16, 7), (4, 5, 7)])
@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_matches_torch_forward_and_backward(shape, affine):
    g = gen(0)
    x = (3 * torch.randn(shape, generator=g, dtype=DT) + 2).requires_grad_()
    ours = LayerNorm(7, eps=1e-5, elementwise_affine=affine, dtype=DT)
    ref = torch.nn.LayerNorm(7, eps=1e-5, elementwise_affine=affine, dtype=DT)
    if affine:
        with torch.no_grad():
            w, b = torch.randn(7, generator=g, dtype=DT), torch.randn(7, generator=g, dtype=DT)
            ours.weight.copy_(w), ours.bias.copy_(b), ref.weight.copy_(w), ref.bias.copy_(b)
    x2 = x.detach().clone().requires_grad_()
    y, y_ref = ours(x), ref(x2)
    torch.testing.assert_close(y, y_ref, **CLOSE)
    dy = torch.randn(shape, generator=g, dtype=DT)
    y.backward(dy), y_ref.backward(dy)
    torch.testing.assert_close(x.grad, x2.grad, **CLOSE)
    if affine:
        torch.testing.assert_close(ours.weight.grad, ref.weight.grad, **CLOSE)
        torch.testing.assert_close(ours.bias.grad, ref.bias.grad, **CLOSE)
    assert len(ours.parameters()) == (2 if affine else 0)


def test_layernorm_is_independent_of_the_batch_and_rejects_bad_input():
    ln = LayerNorm(5, dtype=DT)
    x = torch.randn(8, 5, generator=gen(1), dtype=DT)
    torch.testing.assert_close(ln(x)[:1], ln(x[:1]), **CLOSE)
    with pytest.raises(ValueError, match="expected last dimension 5"):
        ln(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="integer >= 1"):
        LayerNorm(0)



# state_dict / load_state_dict: torch's keys, checkpoints

def torch_twin(model):
    """The same architecture in torch.nn (Linear, BatchNorm1d, Tanh, ReLU, Dropout)."""
    nn = torch.nn
    layers = []
    for layer in model:
        if isinstance(layer, Linear):
            layers.append(nn.Linear(layer.in_features, layer.out_features, dtype=DT))
        elif isinstance(layer, BatchNorm1d):
            layers.append(nn.BatchNorm1d(layer.num_features, dtype=DT))
        else:
            layers.append({Tanh: nn.Tanh, ReLU: nn.ReLU}[type(layer)]())
    return nn.Sequential(*layers)


def test_state_dict_has_torch_keys_and_loads_into_torch():
    model = small_mlp(bn=True)
    X, _ = small_data()
    model(X)  # one training step of BatchNorm: running stats move off their start
    ours = model.state_dict()
    twin = torch_twin(model)
    assert list(ours) == list(twin.state_dict())
    twin.load_state_dict(ours)  # strict: every key and shape agrees
    model.eval(), twin.eval()
    with torch.no_grad():
        assert maxdiff(model(X), twin(X)) < TOL


def test_state_dict_round_trip_through_torch_save(tmp_path):
    model, other = small_mlp(seed=0, bn=True), small_mlp(seed=5, bn=True)
    model(small_data()[0])
    torch.save(model.state_dict(), tmp_path / "ckpt.pt")
    other.load_state_dict(torch.load(tmp_path / "ckpt.pt"))
    for (ka, a), (kb, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert ka == kb and torch.equal(a, b)
    assert other.parameters()[0].requires_grad  # still a trainable leaf


def test_state_dict_is_a_copy():
    model = small_mlp()
    saved = model.state_dict()
    with torch.no_grad():
        model[0].weight += 1
    assert maxdiff(saved["0.weight"] + 1, model[0].weight) < TOL


def test_load_state_dict_errors_name_the_problem():
    model = small_mlp()
    state = model.state_dict()
    with pytest.raises(KeyError, match=r"missing keys \['2.bias'\]"):
        model.load_state_dict({k: v for k, v in state.items() if k != "2.bias"})
    with pytest.raises(KeyError, match=r"unexpected keys \['9.weight'\]"):
        model.load_state_dict({**state, "9.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match=r"size mismatch for 0.weight.*\(8, 4\)"):
        model.load_state_dict({**state, "0.weight": torch.zeros(2, 2)})

