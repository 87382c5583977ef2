"""utils.init against torch.nn.init (torch 2.13).

Bit-identical (torch.equal) with the same generator state: uniform_, normal_, constant_,
ones_, zeros_, xavier_uniform_, xavier_normal_, kaiming_uniform_, kaiming_normal_,
orthogonal_, and sparse_ when both use the global RNG. sparse_ with a generator: torch draws
its zeros' positions from the global RNG regardless, so only the non-zero values, the number
of zeros per column and the spread are compared. Statistical checks allow 5 standard errors.
"""

import math

import pytest
import torch
import torch.nn.init as tinit

from utils import init

SHAPES = [(200, 30), (30, 200), (64, 64), (16, 3, 5, 5), (8, 4, 3)]
DTYPES = [torch.float32, torch.float64]


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def both(fn_ours, fn_torch, shape, dtype=torch.float64, seed=0, **kwargs):
    ours = fn_ours(torch.empty(shape, dtype=dtype), generator=gen(seed), **kwargs)
    theirs = fn_torch(torch.empty(shape, dtype=dtype), generator=gen(seed), **kwargs)
    return ours, theirs


# --- gains and fans ---------------------------------------------------------------------

@pytest.mark.parametrize("name", init.NONLINEARITIES)
def test_calculate_gain_matches_torch(name):
    assert init.calculate_gain(name) == tinit.calculate_gain(name)


def test_calculate_gain_values_and_leaky_relu_param():
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("selu") == 0.75
    assert init.calculate_gain("sigmoid") == 1.0
    for slope in (0, 0.01, 0.2, 1, math.sqrt(5)):
        assert init.calculate_gain("leaky_relu", slope) == tinit.calculate_gain("leaky_relu", slope)
    assert init.calculate_gain("leaky_relu", 0) == math.sqrt(2)
    assert init.calculate_gain("tanh", 123) == 5 / 3  # param ignored


def test_calculate_gain_errors_name_the_bad_value():
    with pytest.raises(ValueError, match="unsupported nonlinearity 'gelu'.*tanh"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="negative_slope must be a number, got True"):
        init.calculate_gain("leaky_relu", True)
    with pytest.raises(ValueError, match="negative_slope must be a number, got '0.1'"):
        init.calculate_gain("leaky_relu", "0.1")


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_match_torch(shape):
    t = torch.empty(shape)
    assert init.fan_in_and_fan_out(t) == tinit._calculate_fan_in_and_fan_out(t)


def test_fans_follow_torch_layout_and_lecture_layout_is_the_transpose():
    assert init.fan_in_and_fan_out(torch.empty(200, 30)) == (30, 200)  # nn.Linear(30, 200)
    w_lecture = torch.empty(30, 200)  # x @ W with W (fan_in, fan_out)
    assert init.fan_in_and_fan_out(w_lecture.T) == (30, 200)
    assert init.fan_in_and_fan_out(torch.empty(16, 3, 5, 5)) == (75, 400)


def test_fans_of_a_vector_are_an_error_naming_its_dimension():
    msg = r"fan in and fan out can not be computed for tensor with fewer than 2 dimensions \(got 1D\)"
    with pytest.raises(ValueError, match=msg):
        init.fan_in_and_fan_out(torch.empty(5))
    with pytest.raises(ValueError, match=r"\(got 0D\)"):
        init.xavier_uniform_(torch.tensor(1.0))
    with pytest.raises(ValueError, match=r"\(got 1D\)"):
        init.kaiming_normal_(torch.empty(5))
    with pytest.raises(TypeError, match="expects a torch.Tensor, got list"):
        init.fan_in_and_fan_out([[1.0]])


# --- bit-identical to torch with the same generator -------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7,), (200, 30), (3, 5, 4)])
def test_uniform_and_normal_are_identical(shape, dtype):
    assert torch.equal(*both(init.uniform_, tinit.uniform_, shape, dtype, a=-0.3, b=0.7))
    assert torch.equal(*both(init.normal_, tinit.normal_, shape, dtype, mean=0.5, std=0.2))
    assert torch.equal(*both(init.uniform_, tinit.uniform_, shape, dtype))  # defaults


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier_is_identical(shape, dtype, gain):
    assert torch.equal(*both(init.xavier_uniform_, tinit.xavier_uniform_, shape, dtype, gain=gain))
    assert torch.equal(*both(init.xavier_normal_, tinit.xavier_normal_, shape, dtype, gain=gain))


KAIMING = [dict(), dict(a=0.2), dict(a=math.sqrt(5)), dict(mode="fan_out"),
           dict(nonlinearity="tanh"), dict(nonlinearity="relu", mode="fan_out"),
           dict(nonlinearity="linear"), dict(nonlinearity="selu")]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kwargs", KAIMING, ids=str)
def test_kaiming_is_identical(shape, dtype, kwargs):
    assert torch.equal(*both(init.kaiming_uniform_, tinit.kaiming_uniform_, shape, dtype, **kwargs))
    assert torch.equal(*both(init.kaiming_normal_, tinit.kaiming_normal_, shape, dtype, **kwargs))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES + [(1, 10), (10, 1)])
@pytest.mark.parametrize("gain", [1, 5 / 3])
def test_orthogonal_is_identical(shape, dtype, gain):
    assert torch.equal(*both(init.orthogonal_, tinit.orthogonal_, shape, dtype, gain=gain))


def test_constant_ones_zeros_match_torch():
    for ours, theirs, args in [(init.constant_, tinit.constant_, (0.3,)),
                               (init.ones_, tinit.ones_, ()), (init.zeros_, tinit.zeros_, ())]:
        a, b = torch.randn(4, 5), torch.randn(4, 5)
        assert torch.equal(ours(a, *args), theirs(b, *args))
    assert torch.equal(init.constant_(torch.empty(2, 3), -1.5), torch.full((2, 3), -1.5))


def test_nn_linear_default_is_kaiming_uniform_with_a_sqrt5():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        layer = torch.nn.Linear(30, 200)
    w = init.kaiming_uniform_(torch.empty(200, 30), a=math.sqrt(5), generator=gen(0))
    assert torch.equal(w, layer.weight.detach())
    assert w.abs().max() <= 1 / math.sqrt(30)


def test_sparse_is_identical_when_both_use_the_global_rng():
    out = []
    for fn in (init.sparse_, tinit.sparse_):
        with torch.random.fork_rng():
            torch.manual_seed(3)
            out.append(fn(torch.empty(50, 20, dtype=torch.float64), sparsity=0.3, std=0.05))
    assert torch.equal(*out)


def test_sparse_with_a_generator_keeps_torch_values_and_its_count_of_zeros():
    w = init.sparse_(torch.empty(50, 20, dtype=torch.float64), 0.3, std=0.05, generator=gen(1))
    dense = tinit.normal_(torch.empty(50, 20, dtype=torch.float64), 0, 0.05, generator=gen(1))
    kept = w != 0
    assert torch.equal(w[kept], dense[kept])
    assert ((~kept).sum(dim=0) == math.ceil(0.3 * 50)).all()
    again = init.sparse_(torch.empty(50, 20, dtype=torch.float64), 0.3, std=0.05, generator=gen(1))
    assert torch.equal(w, again)  # the positions come from the generator too


def test_sparse_transposed_gives_each_unit_k_incoming_weights():
    w = torch.empty(100, 40, dtype=torch.float64)  # Linear(40, 100): 40 inputs per unit
    init.sparse_(w.T, sparsity=(40 - 15) / 40, std=1.0, generator=gen(2))
    assert ((w != 0).sum(dim=1) == 15).all()


def test_sparse_errors_name_the_bad_value():
    with pytest.raises(ValueError, match=r"sparsity must be a number in \[0, 1\], got 1.5"):
        init.sparse_(torch.empty(4, 4), 1.5)
    with pytest.raises(ValueError, match=r"got -0.1"):
        init.sparse_(torch.empty(4, 4), -0.1)
    with pytest.raises(ValueError, match=r"sparse_ needs a 2-D tensor \(got 3D\)"):
        init.sparse_(torch.empty(4, 4, 2), 0.5)
    assert (init.sparse_(torch.empty(6, 3), 1.0) == 0).all()
    assert (init.sparse_(torch.empty(6, 3), 0.0) != 0).all()


# --- statistics: each scheme has the spread its formula says (5 standard errors) ----------

def assert_std(w, std, uniform=False):
    """|sample std - std| < 5 standard errors, SE = sqrt(Var(s^2) / n) / (2 std), where
    Var(s^2) = (mu_4 - std^4): 2 std^4 for a normal, 0.8 std^4 for a uniform."""
    n = w.numel()
    se = std * math.sqrt((0.8 if uniform else 2.0) / n) / 2
    assert abs(w.std().item() - std) < 5 * se, (w.std().item(), std, se)
    assert abs(w.mean().item()) < 5 * std / math.sqrt(n)


@pytest.mark.parametrize("shape", [(300, 100), (100, 300)])
def test_each_scheme_has_the_std_of_its_formula(shape):
    out, fan_in = shape
    w = lambda: torch.empty(shape, dtype=torch.float64)  # noqa: E731
    k = 5 / 3
    assert_std(init.kaiming_normal_(w(), nonlinearity="tanh", generator=gen(1)), k / math.sqrt(fan_in))
    assert_std(init.kaiming_uniform_(w(), nonlinearity="tanh", generator=gen(2)), k / math.sqrt(fan_in),
               uniform=True)
    assert_std(init.kaiming_normal_(w(), mode="fan_out", generator=gen(3)), math.sqrt(2 / out))
    assert_std(init.xavier_normal_(w(), generator=gen(4)), math.sqrt(2 / (fan_in + out)))
    assert_std(init.xavier_uniform_(w(), generator=gen(5)), math.sqrt(2 / (fan_in + out)), uniform=True)
    assert_std(init.normal_(w(), std=0.3, generator=gen(6)), 0.3)


def test_uniform_schemes_stay_in_their_bounds():
    w = init.xavier_uniform_(torch.empty(300, 100, dtype=torch.float64), generator=gen(0))
    bound = math.sqrt(6 / 400)
    assert w.abs().max() <= bound and w.abs().max() > 0.99 * bound
    w = init.kaiming_uniform_(torch.empty(300, 100, dtype=torch.float64), generator=gen(0))
    bound = math.sqrt(3) * math.sqrt(2) / 10
    assert w.abs().max() <= bound and w.abs().max() > 0.99 * bound


@pytest.mark.parametrize("shape", [(50, 50), (20, 60), (60, 20), (6, 2, 3, 3)])
def test_orthogonal_rows_or_columns_are_orthonormal_times_gain(shape):
    w = init.orthogonal_(torch.empty(shape, dtype=torch.float64), gain=2.0, generator=gen(0))
    m = w.reshape(shape[0], -1)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    assert torch.allclose(gram, 4 * torch.eye(gram.shape[0], dtype=torch.float64), atol=1e-12)


def test_orthogonal_errors_on_a_vector():
    with pytest.raises(ValueError, match=r"at least 2 dimensions \(got 1D\)"):
        init.orthogonal_(torch.empty(3))


# --- in place, no autograd record, modes, empty tensors -----------------------------------

def test_in_place_on_a_leaf_that_requires_grad_and_returns_the_same_tensor():
    w = torch.empty(20, 10, requires_grad=True)
    for fn in (init.uniform_, init.normal_, init.zeros_, init.ones_, init.xavier_uniform_,
               init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_, init.orthogonal_):
        assert fn(w) is w
        assert w.grad_fn is None and w.requires_grad
    assert init.sparse_(w, 0.5) is w and init.constant_(w, 2.0) is w


def test_transposed_view_initialises_the_lecture_layout():
    w = torch.zeros(30, 200, dtype=torch.float64)  # lecture's W1: x @ W1
    init.kaiming_normal_(w.T, nonlinearity="tanh", generator=gen(0))
    assert_std(w, (5 / 3) / math.sqrt(30))


def test_kaiming_mode_errors_name_the_bad_value():
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out', got 'fan_avg'"):
        init.kaiming_normal_(torch.empty(3, 4), mode="fan_avg")
    with pytest.raises(ValueError, match="unsupported nonlinearity 'softplus'"):
        init.kaiming_uniform_(torch.empty(3, 4), nonlinearity="softplus")


def test_empty_tensors_are_returned_unchanged():
    for fn in (init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
               init.kaiming_normal_, init.orthogonal_):
        t = torch.empty(0, 3)
        assert fn(t) is t and t.shape == (0, 3)


def test_nothing_touches_the_global_rng_when_a_generator_is_given():
    state = torch.random.get_rng_state()
    w = torch.empty(20, 10)
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_normal_,
               init.orthogonal_):
        fn(w, generator=gen(0))
    init.sparse_(w, 0.5, generator=gen(0))
    assert torch.equal(state, torch.random.get_rng_state())
