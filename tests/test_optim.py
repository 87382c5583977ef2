"""Tests of utils.optim against torch.optim and against hand-computed LARS/LAMB steps.

Everything runs in float64. Tolerances (absolute, on every entry of every parameter):

- ``TOL = 1e-10`` for the optimizers that mirror ``torch.optim`` (SGD, Adagrad, Adadelta,
  RMSprop, Adam, AdamW, NAdam; NAdam with float64 as torch's default dtype), checked after *each* of ``STEPS = 100`` steps on a small tanh MLP
  with two parameter groups (different learning rates, and in one test other options too);
  torch runs with ``foreach=False``. Both do the same operations in the same order, so the
  differences observed with torch 2.13 on CPU are exactly 0.
- ``HAND_TOL = 1e-12`` for the LARS and LAMB examples worked out by hand below, for the
  lecture's momentum form, and for ``clip_grad_norm_`` against torch's.

The MLP's gradients are written out (checked against autograd to 1e-14) to keep the file fast.
"""

import doctest
import math
import re

import pytest
import torch

import utils.optim
from utils import optim

TOL = 1e-10
HAND_TOL = 1e-12
STEPS = 100
DT = torch.float64


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: one intra-op thread is fastest and keeps the file fast on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- a small random problem: a 5-8-3 tanh MLP on 32 points, squared error ---------------
def make_params(seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    shapes = [(8, 5), (8,), (3, 8), (3,)]  # W1, b1, W2, b2
    return [torch.randn(s, generator=g, dtype=DT).requires_grad_() for s in shapes]


def make_data(seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(32, 5, generator=g, dtype=DT), torch.randn(32, 3, generator=g, dtype=DT)


def loss_fn(params, X, Y):
    W1, b1, W2, b2 = params
    h = torch.tanh(X @ W1.T + b1)  # (32, 8)
    return ((h @ W2.T + b2 - Y) ** 2).mean()


def set_loss_grads(params, X, Y):
    """Backprop of loss_fn written out (10x faster than autograd on tensors this small)."""
    W1, b1, W2, b2 = (p.detach() for p in params)
    h = torch.tanh(X @ W1.T + b1)  # (32, 8)
    dout = 2 * (h @ W2.T + b2 - Y) / Y.numel()  # (32, 3)
    dpre = (dout @ W2) * (1 - h**2)  # (32, 8)
    for p, g in zip(params, (dpre.T @ X, dpre.sum(0), dout.T @ h, dout.sum(0))):
        p.grad = g


def clone(params):
    return [p.detach().clone().requires_grad_() for p in params]


def groups(params, kwargs, group2=None):
    """Two groups: the first layer with the optimizer's lr, the second with half of it
    (if kwargs leave lr at its default, 1e-3 is halved) and the options in group2."""
    lr2 = 0.5 * kwargs.get("lr", 1e-3)
    return [{"params": params[:2]}, {"params": params[2:], "lr": lr2, **(group2 or {})}]


def run_against_torch(ours_cls, theirs_cls, kwargs, theirs_kwargs=None, group2=None,
                      steps=STEPS):
    """Step both optimizers on their own copies; return (max |diff| over all steps, largest
    distance moved by any parameter entry)."""
    X, Y = make_data()
    ours, theirs = make_params(), make_params()
    start = clone(ours)
    opt_ours = ours_cls(groups(ours, kwargs, group2), **kwargs)
    opt_theirs = theirs_cls(groups(theirs, kwargs, group2), **(theirs_kwargs or kwargs),
                            foreach=False)
    max_diff = 0.0
    for _ in range(steps):
        for params, opt in ((ours, opt_ours), (theirs, opt_theirs)):
            set_loss_grads(params, X, Y)
            opt.step()
        max_diff = max(max_diff, max((a - b).abs().max().item() for a, b in zip(ours, theirs)))
    moved = max((a - b).abs().max().item() for a, b in zip(ours, start))
    return max_diff, moved


def test_docstring_examples():
    assert doctest.testmod(utils.optim).failed == 0


def test_written_out_gradients_are_autograds():
    X, Y = make_data()
    params = make_params()
    expected = torch.autograd.grad(loss_fn(params, X, Y), params)
    set_loss_grads(params, X, Y)
    for p, g in zip(params, expected):
        assert (p.grad - g).abs().max().item() <= 1e-14


CASES = {
    "SGD": [dict(), dict(lr=0.1), dict(lr=0.05, momentum=0.9),
            dict(lr=0.05, momentum=0.9, dampening=0.3), dict(lr=0.05, momentum=0.9, nesterov=True),
            dict(lr=0.1, weight_decay=0.05),
            dict(lr=0.05, momentum=0.5, weight_decay=0.1, nesterov=True),
            dict(lr=0.002, momentum=0.5, maximize=True)],
    "Adagrad": [dict(), dict(lr=0.1, lr_decay=0.01), dict(lr=0.1, initial_accumulator_value=0.5),
                dict(lr=0.05, weight_decay=0.1, eps=1e-6, lr_decay=0.1)],
    "Adadelta": [dict(), dict(lr=0.5, rho=0.95, eps=1e-4), dict(weight_decay=0.1)],
    "RMSprop": [dict(), dict(lr=1e-3, momentum=0.9), dict(lr=1e-3, centered=True),
                dict(lr=1e-3, momentum=0.5, centered=True, weight_decay=0.1),
                dict(lr=1e-3, alpha=0.9, eps=1e-6, weight_decay=0.01)],
    "Adam": [dict(), dict(lr=0.01, weight_decay=0.1), dict(lr=0.01, amsgrad=True),
             dict(lr=0.01, betas=(0.5, 0.9), eps=1e-6, weight_decay=0.01, amsgrad=True)],
    "AdamW": [dict(), dict(lr=0.01, weight_decay=0.1),
              dict(lr=0.01, weight_decay=0.1, amsgrad=True),
              dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.0)],
}
PARAMS = [(name, kw) for name, kws in CASES.items() for kw in kws]


@pytest.mark.parametrize("name, kwargs", PARAMS, ids=[f"{n}-{kw}" for n, kw in PARAMS])
def test_matches_torch_step_by_step(name, kwargs):
    max_diff, moved = run_against_torch(getattr(optim, name), getattr(torch.optim, name), kwargs)
    assert max_diff <= TOL, f"{name}({kwargs}): max |ours - torch| = {max_diff:.3g}"
    assert moved > 1e-4, f"{name}({kwargs}) barely moved ({moved:.3g}): the test is vacuous"


@pytest.mark.parametrize("name, kwargs, group2", [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True), dict(momentum=0.0, nesterov=False)),
    ("Adagrad", dict(lr=0.1), dict(lr_decay=0.1, weight_decay=0.1, eps=1e-3)),
    ("Adadelta", dict(), dict(rho=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=1e-3, centered=True), dict(momentum=0.9, centered=False)),
    ("Adam", dict(lr=0.01), dict(betas=(0.5, 0.6), amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, amsgrad=True), dict(weight_decay=0.5, eps=1e-3, amsgrad=False)),
])
def test_per_group_options_match_torch(name, kwargs, group2):
    max_diff, _ = run_against_torch(getattr(optim, name), getattr(torch.optim, name), kwargs,
                                    group2=group2)
    assert max_diff <= TOL, f"{name}({kwargs}), group 2 {group2}: {max_diff:.3g}"



# --- NAdam: torch keeps mu_product in the default dtype --------------------------------
@pytest.fixture
def float64_default():
    """torch.optim.NAdam keeps ``mu_product`` as a 0-dim tensor of the default dtype; with
    float64 as default its arithmetic is ours (a Python float) to the last bit."""
    dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(dtype)


NADAM_CASES = [dict(), dict(lr=0.01), dict(lr=0.01, betas=(0.5, 0.9), eps=1e-6),
               dict(lr=0.01, momentum_decay=0.3), dict(lr=0.01, weight_decay=0.1),
               dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)]


@pytest.mark.parametrize("kwargs", NADAM_CASES, ids=str)
def test_nadam_matches_torch_step_by_step(kwargs, float64_default):
    max_diff, moved = run_against_torch(optim.NAdam, torch.optim.NAdam, kwargs)
    assert max_diff <= TOL, f"NAdam({kwargs}): max |ours - torch| = {max_diff:.3g}"
    assert moved > 1e-4, f"NAdam({kwargs}) barely moved ({moved:.3g}): the test is vacuous"


def test_nadam_per_group_options_match_torch(float64_default):
    group2 = dict(betas=(0.5, 0.6), momentum_decay=0.1, weight_decay=0.1, eps=1e-3)
    max_diff, _ = run_against_torch(optim.NAdam, torch.optim.NAdam, dict(lr=0.01),
                                    group2=group2)
    assert max_diff <= TOL, f"NAdam, group 2 {group2}: {max_diff:.3g}"


def test_nadam_with_torchs_float32_mu_product_differs_only_in_rounding():
    """Under the default float32, torch rounds mu_product to float32 every step (the Note in
    NAdam's docstring): the runs then differ, but far below anything a plot shows."""
    max_diff, moved = run_against_torch(optim.NAdam, torch.optim.NAdam, dict(lr=0.01))
    assert 0 < max_diff <= 1e-6 * moved


def test_nadam_state_and_first_step():
    w = torch.tensor([1.0, -2.0], dtype=DT, requires_grad=True)
    opt = optim.NAdam([w], lr=0.1, eps=0.0)
    set_grads([w], [[2.0, -4.0]])
    opt.step()
    mu1, mu2 = (0.9 * (1 - 0.5 * 0.96 ** (t * 0.004)) for t in (1, 2))
    # m = 0.1 g and sqrt(v_hat) = |g|: the step is lr sign(g) (1 + 0.1 mu2 / (1 - mu1 mu2))
    step = 0.1 * (1 + 0.1 * mu2 / (1 - mu1 * mu2))
    assert_tensor(w, [1.0 - step, -2.0 + step], "NAdam after step 1")
    assert opt.state[w]["mu_product"] == pytest.approx(mu1, abs=HAND_TOL)
    assert opt.state[w]["step"] == 1

def test_adagrad_uses_the_groups_initial_accumulator_value():
    """torch 2.x fills ``sum`` with the constructor's value even for a group that sets its
    own; we use the group's (documented in Adagrad's docstring)."""
    a, b = torch.ones(1, requires_grad=True), torch.ones(1, requires_grad=True)
    opt = optim.Adagrad([{"params": [a]}, {"params": [b], "initial_accumulator_value": 3.0}])
    a.grad, b.grad = torch.ones(1), torch.ones(1)
    opt.step()
    assert opt.state[a]["sum"].item() == 1.0 and opt.state[b]["sum"].item() == 4.0


@pytest.mark.parametrize("name", [*CASES, "NAdam"])
def test_defaults_are_torchs(name):
    p = [torch.zeros(1, requires_grad=True)]
    got = getattr(optim, name)(p).defaults
    expected = getattr(torch.optim, name)(p).defaults
    assert got == {k: v for k, v in expected.items() if k in got}


@pytest.mark.parametrize("ours_cls, ours_kw, theirs_cls, theirs_kw", [
    (optim.SGD, dict(lr=0.05, momentum=0.9), torch.optim.SGD,
     dict(lr=0.05, momentum=0.9, dampening=0.1)),
    (optim.Adam, dict(lr=0.01, weight_decay=0.1), torch.optim.AdamW,
     dict(lr=0.01, weight_decay=0.1)),
    (optim.RMSprop, dict(lr=1e-3), torch.optim.RMSprop, dict(lr=1e-3, centered=True)),
    (optim.NAdam, dict(lr=0.01), torch.optim.Adam, dict(lr=0.01)),
])
def test_comparison_detects_a_different_rule(ours_cls, ours_kw, theirs_cls, theirs_kw):
    """The harness above can fail: a slightly different rule gives a visible difference."""
    max_diff, _ = run_against_torch(ours_cls, theirs_cls, ours_kw, theirs_kw)
    assert max_diff > 1e-6


def test_sgd_momentum_equals_the_lecture_velocity_form_for_constant_lr():
    X, Y = make_data()
    ours, lecture = make_params(), make_params()
    opt = optim.SGD(ours, lr=0.05, momentum=0.9)
    v = [torch.zeros_like(p) for p in lecture]
    alpha, max_diff = 0.9, 0.0
    for step in range(60):
        eps = 0.05 if step < 30 else 0.01  # the learning rate drops halfway
        for group in opt.param_groups:
            group["lr"] = eps
        set_loss_grads(ours, X, Y)
        opt.step()
        set_loss_grads(lecture, X, Y)
        grads = [p.grad for p in lecture]
        with torch.no_grad():
            for p, vi, g in zip(lecture, v, grads):
                vi.mul_(alpha).sub_(eps * g)  # v <- alpha v - eps g
                p.add_(vi)  # theta <- theta + v
        diff = max((a - b).abs().max().item() for a, b in zip(ours, lecture))
        if step < 30:
            assert diff <= HAND_TOL, f"step {step}: {diff:.3g}"
        max_diff = max(max_diff, diff)
    assert max_diff > 1e-4  # after the drop the two forms differ: v still carries the old lr


# --- LARS and LAMB: two steps worked out by hand -----------------------------------------
def set_grads(params, grads):
    for p, g in zip(params, grads):
        p.grad = torch.tensor(g, dtype=DT)


def assert_tensor(got, expected, what):
    diff = (got.detach() - torch.tensor(expected, dtype=DT)).abs().max().item()
    assert diff <= HAND_TOL, f"{what}: got {got.tolist()}, expected {expected}"


def test_lars_two_steps_by_hand():
    w = torch.tensor([3.0, 4.0], dtype=DT, requires_grad=True)  # ||w|| = 5
    b = torch.zeros(2, dtype=DT, requires_grad=True)  # a zero-initialised bias: the guard
    opt = optim.LARS([w, b], lr=2.0, momentum=0.5, weight_decay=0.2, trust_coefficient=0.1,
                     eps=0.0)
    # step 1, w: ratio = 0.1 * 5 / (||g|| + 0.2 * 5) = 0.5 / (1 + 1) = 0.25
    #   update = 0.25 * (g + 0.2 w) = 0.25 * [1.2, 1.6] = [0.3, 0.4] = buffer
    #   w = [3, 4] - 2 * [0.3, 0.4] = [2.4, 3.2]                      (||w|| = 4)
    # step 1, b: ||b|| = 0, so ratio = 1; buffer = g = [1, -1]; b = 0 - 2 [1, -1] = [-2, 2]
    set_grads([w, b], [[0.6, 0.8], [1.0, -1.0]])  # ||g_w|| = 1
    opt.step()
    assert_tensor(w, [2.4, 3.2], "LARS w after step 1")
    assert_tensor(b, [-2.0, 2.0], "LARS b after step 1")
    assert opt.state[w]["trust_ratio"] == pytest.approx(0.25, abs=HAND_TOL)
    assert opt.state[b]["trust_ratio"] == 1.0
    # step 2, w: ratio = 0.1 * 4 / (0.2 + 0.2 * 4) = 0.4
    #   update = 0.4 * ([0.2, 0] + 0.2 * [2.4, 3.2]) = 0.4 * [0.68, 0.64] = [0.272, 0.256]
    #   buffer = 0.5 * [0.3, 0.4] + [0.272, 0.256] = [0.422, 0.456]
    #   w = [2.4, 3.2] - 2 * [0.422, 0.456] = [1.556, 2.288]
    # step 2, b: ||b|| = 2 sqrt2, ||g|| = sqrt2: ratio = 0.1 * 2 sqrt2 / (sqrt2 + 0.4 sqrt2) = 1/7
    #   update = (1/7) ([1, -1] + 0.2 [-2, 2]) = [0.6/7, -0.6/7]
    #   buffer = 0.5 [1, -1] + update;  b = [-2, 2] - 2 buffer = [-3 - 6/35, 3 + 6/35]
    set_grads([w, b], [[0.2, 0.0], [1.0, -1.0]])
    opt.step()
    assert_tensor(w, [1.556, 2.288], "LARS w after step 2")
    assert_tensor(b, [-3 - 6 / 35, 3 + 6 / 35], "LARS b after step 2")
    assert opt.state[w]["trust_ratio"] == pytest.approx(0.4, abs=HAND_TOL)
    assert opt.state[b]["trust_ratio"] == pytest.approx(1 / 7, abs=HAND_TOL)


def test_lars_zero_gradient_guard_and_no_momentum():
    w = torch.tensor([3.0, 4.0], dtype=DT, requires_grad=True)
    opt = optim.LARS([w], lr=0.5, momentum=0.0)
    set_grads([w], [[0.0, 0.0]])
    opt.step()  # ||g|| = 0: ratio 1 (not 5e5 from the eps), and nothing moves
    assert opt.state[w]["trust_ratio"] == 1.0
    assert_tensor(w, [3.0, 4.0], "w")
    set_grads([w], [[0.0, 2.0]])
    opt.step()  # ratio = 1e-3 * 5 / (2 + 1e-8); no buffer: w -= 0.5 * ratio * g
    ratio = 1e-3 * 5 / (2 + 1e-8)
    assert_tensor(w, [3.0, 4.0 - 0.5 * ratio * 2.0], "w")
    assert "momentum_buffer" not in opt.state[w]


def test_lamb_two_steps_by_hand():
    w = torch.tensor([-4.0, 3.0], dtype=DT, requires_grad=True)  # ||w|| = 5
    opt = optim.LAMB([w], lr=0.1, betas=(0.5, 0.5), eps=0.0, weight_decay=1.0)
    # step 1, g = [5, 1]: m = 0.5 g = [2.5, 0.5], v = 0.5 g^2 = [12.5, 0.5]
    #   m_hat = m / 0.5 = [5, 1], v_hat = v / 0.5 = [25, 1], r = m_hat / sqrt(v_hat) = [1, 1]
    #   u = r + 1.0 w = [-3, 4], ||u|| = 5, ratio = min(5, 10) / 5 = 1
    #   w = [-4, 3] - 0.1 * 1 * [-3, 4] = [-3.7, 2.6]
    set_grads([w], [[5.0, 1.0]])
    opt.step()
    assert_tensor(w, [-3.7, 2.6], "LAMB w after step 1")
    assert opt.state[w]["trust_ratio"] == pytest.approx(1.0, abs=HAND_TOL)
    # step 2, g = [1, -1]: m = 0.5 [2.5, 0.5] + 0.5 [1, -1] = [1.75, -0.25]
    #   v = 0.5 [12.5, 0.5] + 0.5 [1, 1] = [6.75, 0.75]; bias corrections 1 - 0.5^2 = 0.75
    #   m_hat = [7/3, -1/3], v_hat = [9, 1], r = [7/9, -1/3]
    #   u = r + w = [7/9 - 3.7, 2.6 - 1/3], ratio = ||[-3.7, 2.6]|| / ||u||, w -= 0.1 ratio u
    set_grads([w], [[1.0, -1.0]])
    opt.step()
    u = [7 / 9 - 3.7, 2.6 - 1 / 3]
    ratio = math.sqrt(3.7**2 + 2.6**2) / math.hypot(*u)
    assert_tensor(w, [-3.7 - 0.1 * ratio * u[0], 2.6 - 0.1 * ratio * u[1]], "LAMB w, step 2")
    assert opt.state[w]["trust_ratio"] == pytest.approx(ratio, abs=HAND_TOL)
    assert opt.state[w]["step"] == 2


@pytest.mark.parametrize("clamp_value, numerator", [(10, 10.0), (30, 20.0)])
def test_lamb_clamps_the_weight_norm(clamp_value, numerator):
    w = torch.tensor([-16.0, 12.0], dtype=DT, requires_grad=True)  # ||w|| = 20
    opt = optim.LAMB([w], lr=0.1, eps=0.0, clamp_value=clamp_value)
    set_grads([w], [[5.0, 1.0]])  # first step: r = sign(g) = [1, 1] = u, ||u|| = sqrt2
    opt.step()
    ratio = numerator / math.sqrt(2)
    assert opt.state[w]["trust_ratio"] == pytest.approx(ratio, abs=HAND_TOL)
    assert_tensor(w, [-16 - 0.1 * ratio, 12 - 0.1 * ratio], "w")


def test_lamb_zero_norm_guard_and_one_ratio_per_tensor():
    zero = torch.zeros(2, dtype=DT, requires_grad=True)  # ||w|| = 0
    still = torch.tensor([3.0, 4.0], dtype=DT, requires_grad=True)  # gets g = 0, so u = 0
    moving = torch.tensor([-16.0, 12.0], dtype=DT, requires_grad=True)
    opt = optim.LAMB([zero, still, moving], lr=0.1)
    set_grads([zero, still, moving], [[5.0, 1.0], [0.0, 0.0], [5.0, 1.0]])
    opt.step()
    r = [5 / (5 + 1e-6), 1 / (1 + 1e-6)]  # m_hat / (sqrt(v_hat) + eps) at step 1
    assert opt.state[zero]["trust_ratio"] == 1.0
    assert_tensor(zero, [-0.1 * r[0], -0.1 * r[1]], "zero-norm parameter")
    assert opt.state[still]["trust_ratio"] == 1.0
    assert_tensor(still, [3.0, 4.0], "zero-update parameter")
    assert opt.state[moving]["trust_ratio"] == pytest.approx(10 / math.hypot(*r), abs=HAND_TOL)


# --- clip_grad_norm_ -------------------------------------------------------------------
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = make_params(3), make_params(3)
    g = torch.Generator().manual_seed(4)
    for a, b in zip(ours[:3], theirs[:3]):  # the last parameter has no gradient
        a.grad = torch.randn(a.shape, generator=g, dtype=DT)
        b.grad = a.grad.clone()
    before = [p.grad.clone() for p in ours[:3]]
    got = optim.clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert abs(got.item() - expected.item()) <= HAND_TOL
    for a, b in zip(ours[:3], theirs[:3]):
        assert (a.grad - b.grad).abs().max().item() <= HAND_TOL
    assert ours[3].grad is None
    clipped = max_norm < got.item()
    assert clipped == (max_norm == 0.5)  # the random gradients' norm lies in between
    if not clipped:  # a no-op, bit for bit
        assert all(torch.equal(a.grad, b) for a, b in zip(ours[:3], before))


def test_clip_grad_norm_single_tensor_and_no_grads():
    w = torch.tensor([3.0, 4.0], dtype=DT, requires_grad=True)
    w.grad = torch.tensor([3.0, 4.0], dtype=DT)
    assert optim.clip_grad_norm_(w, 1.0).item() == pytest.approx(5.0)
    assert_tensor(w.grad, [3 / (5 + 1e-6), 4 / (5 + 1e-6)], "clipped grad")
    assert optim.clip_grad_norm_([torch.zeros(2, requires_grad=True)], 1.0).item() == 0.0


# --- the base class: zero_grad, param groups, closure, errors ----------------------------
def test_zero_grad():
    w = torch.ones(3, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (2 * w).sum().backward()
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and torch.equal(w.grad, torch.zeros(3))
    opt.zero_grad()
    assert w.grad is None


def test_param_groups_defaults_and_per_group_options():
    a, b, c = (torch.ones(2, requires_grad=True) for _ in range(3))
    opt = optim.SGD([{"params": a}, {"params": [b], "lr": 0.0, "momentum": 0.9}], lr=0.5)
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.0]
    assert [g["momentum"] for g in opt.param_groups] == [0, 0.9]
    assert set(opt.param_groups[0]) == {"params", *opt.defaults}
    opt.add_param_group({"params": [c], "lr": 1.0})
    for p in (a, b, c):
        p.grad = torch.ones(2)
    opt.step()
    assert torch.equal(a, torch.full((2,), 0.5))  # 1 - 0.5 * 1
    assert torch.equal(b, torch.ones(2))  # lr 0: unchanged, but it has a buffer
    assert torch.equal(c, torch.zeros(2))
    assert "momentum_buffer" in opt.state[b] and "momentum_buffer" not in opt.state[a]


def test_parameters_without_grad_are_skipped_and_closure_is_returned():
    w, unused = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    opt = optim.Adam([w, unused], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 2.0
    assert not torch.equal(w, torch.ones(2)) and torch.equal(unused, torch.ones(2))
    assert len(opt.state[unused]) == 0 and opt.state[w]["step"] == 1


def test_a_new_optimizer_is_a_few_lines():
    """The subclassing recipe of Optimizer's docstring."""

    class SignSGD(optim.Optimizer):
        def __init__(self, params, lr=1e-3):
            super().__init__(params, dict(lr=lr))

        def _update(self, p, grad, state, group):
            p.add_(grad.sign(), alpha=-group["lr"])

    w = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    opt = SignSGD([w], lr=0.5)
    w.grad = torch.tensor([0.1, -7.0, 0.0])
    opt.step()
    assert torch.equal(w.detach(), torch.tensor([0.5, -1.5, 3.0]))
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        SignSGD([w], lr=-1)


def ps():
    """A fresh parameter list for the constructors below."""
    return [torch.zeros(2, requires_grad=True)]


ERRORS = [
    (lambda: optim.SGD(ps(), lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda: optim.SGD(ps(), momentum=-1), "Invalid momentum value: -1"),
    (lambda: optim.SGD(ps(), weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda: optim.SGD(ps(), nesterov=True),
     "Nesterov momentum requires a momentum and zero dampening"),
    (lambda: optim.SGD(ps(), momentum=0.9, dampening=0.1, nesterov=True), "zero dampening"),
    (lambda: optim.SGD([{"params": ps(), "lr": -1}]), "Invalid learning rate: -1"),
    (lambda: optim.Adagrad(ps(), lr_decay=-1), "Invalid lr_decay value: -1"),
    (lambda: optim.Adagrad(ps(), initial_accumulator_value=-1),
     "Invalid initial_accumulator_value value: -1"),
    (lambda: optim.Adadelta(ps(), rho=1.5), "Invalid rho value: 1.5"),
    (lambda: optim.RMSprop(ps(), alpha=-0.5), "Invalid alpha value: -0.5"),
    (lambda: optim.RMSprop(ps(), eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (lambda: optim.Adam(ps(), betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (lambda: optim.AdamW(ps(), betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (lambda: optim.AdamW(ps(), weight_decay=-0.01), "Invalid weight_decay value: -0.01"),
    (lambda: optim.NAdam(ps(), momentum_decay=-1), "Invalid momentum_decay value: -1"),
    (lambda: optim.NAdam(ps(), betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    (lambda: optim.LARS(ps(), lr=0.1, trust_coefficient=-1), "Invalid trust_coefficient value: -1"),
    (lambda: optim.LAMB(ps(), betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    (lambda: optim.LAMB(ps(), clamp_value=-1), "Invalid clamp_value value: -1"),
    (lambda: optim.SGD([], lr=0.1), "optimizer got an empty parameter list"),
    (lambda: optim.SGD(ps() * 2), "some parameters appear in more than one parameter group"),
    (lambda: optim.SGD([torch.ones(2, requires_grad=True) * 2]),
     "can't optimize a non-leaf Tensor"),
]


@pytest.mark.parametrize("make, message", ERRORS, ids=[m for _, m in ERRORS])
def test_errors_name_the_bad_value(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_type_errors():
    with pytest.raises(TypeError, match="iterable of Tensors or dicts, but got torch.FloatTensor"):
        optim.SGD(torch.zeros(2, requires_grad=True))
    with pytest.raises(TypeError, match="only optimize Tensors, but one of the params is float"):
        optim.SGD([1.0])
    with pytest.raises(TypeError):
        optim.LARS(ps())  # lr is required, as in the paper there is no sensible default
    w = torch.zeros(1, requires_grad=True)
    opt = optim.SGD([w])
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [w]})
