"""Checkers for the exercises of the chapter *Optimizers* (page ``03x_optimizers_exercises``).

Each reference is the matching piece of ``torch.optim``, never the solution: one step of
``torch.optim.SGD`` or ``torch.optim.NAdam`` started from the same state (buffer, moment
estimates, step count) as the student's function, ``torch.optim.lr_scheduler.CyclicLR``
for the schedule, and runs of ``torch.optim.SGD`` for the prediction and the measured claim.
Every function exercise is also run on hidden cases (other shapes, step sizes, betas, step
counts, modes) from a fixed seed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import torch

from ..checks import check_function, check_prediction, read_claim
from . import exercise, hidden_generator

__all__ = ["check_momentum_step", "check_momentum_distance", "check_momentum_stable_lr",
           "check_nadam_step", "check_cyclic_lr", "quadratic_loss_after"]

DTYPE = torch.float64


def _tensors(seed: int, *shapes):
    g = hidden_generator(seed)
    return [torch.randn(s, generator=g, dtype=DTYPE) for s in shapes]


def _torch_step(make_opt, p, grad, state):
    """One step of a torch.optim optimizer on parameter ``p`` with ``state`` preloaded."""
    p = p.clone().requires_grad_(True)
    opt = make_opt([p])
    opt.state[p].update({k: v.clone() if torch.is_tensor(v) else v for k, v in state.items()})
    p.grad = grad.clone()
    opt.step()
    return p.detach(), opt.state[p]


# --- Exercise 1: one step of SGD with momentum (the page's table, in code) -----------------

@exercise("03x_optimizers_exercises", "momentum_step")
def check_momentum_step(momentum_step: Callable | None) -> None:
    """Exercise: ``momentum_step(p, grad, buf, lr, momentum)`` -> (new p, new buf), torch's form."""
    p, grad, buf = _tensors(0, (3, 4), (3, 4), (3, 4))
    lr, mu = 0.05, 0.9  # lr != 1 - mu, so that scaling by lr and damping by 1 - mu differ

    def reference(p, grad, buf, lr, mu):
        new_p, state = _torch_step(lambda ps: torch.optim.SGD(ps, lr=lr, momentum=mu), p, grad,
                                   {"momentum_buffer": buf})
        return new_p, state["momentum_buffer"]

    hidden = []  # other shapes, step sizes and momenta (one with lr == 1 - momentum)
    for seed, shape, h_lr, h_mu in [(10, (7,), 0.3, 0.5), (11, (2, 5), 1e-3, 0.99),
                                    (12, (4, 1), 0.1, 0.9)]:
        hp, hg, hb = _tensors(seed, shape, shape, shape)
        hidden.append((hp, hg, hb, h_lr, h_mu))
    check_function(
        momentum_step, reference, p, grad, buf, lr, mu, name="momentum step", cases=hidden,
        atol=1e-12, rtol=1e-10,
        mistakes={
            "the slides' velocity form: its velocity already holds the learning rate (and "
            "the opposite sign), but this exercise asks for torch's buffer":
                lambda p, g, b, lr, mu: (p + (mu * b - lr * g), mu * b - lr * g),
            "the step used the OLD buffer, before this step's gradient was added to it":
                lambda p, g, b, lr, mu: (p - lr * b, mu * b + g),
            "the buffer was damped like an average (the new gradient weighted by 1 - "
            "momentum): torch's buffer adds the gradient at full weight":
                lambda p, g, b, lr, mu: (p - lr * (mu * b + (1 - mu) * g), mu * b + (1 - mu) * g),
            "the buffer was scaled by lr: in torch's form the buffer holds no learning rate; "
            "lr multiplies only the step":
                lambda p, g, b, lr, mu: (p - (mu * b + lr * g), mu * b + lr * g),
            "this is Nesterov's step (the gradient plus the decayed new buffer): plain "
            "momentum steps along the buffer alone":
                lambda p, g, b, lr, mu: (p - lr * (g + mu * (mu * b + g)), mu * b + g),
            "the step went UP the gradient: a descent step subtracts":
                lambda p, g, b, lr, mu: (p + lr * (mu * b + g), mu * b + g),
            "the two results are swapped: return the parameters first, then the buffer":
                lambda p, g, b, lr, mu: (mu * b + g, p - lr * (mu * b + g)),
        },
    )


# --- Exercise 2: predict how far momentum carries a parameter ---------------------------

DISTANCE_STEPS, DISTANCE_LR, DISTANCE_MOMENTUM = 20, 0.01, 0.9


def _momentum_distance(steps: int, lr: float, momentum: float, nesterov: bool = False) -> float:
    """How far torch.optim.SGD moves theta in ``steps`` steps on f(theta) = theta (gradient 1)."""
    theta = torch.zeros(1, dtype=DTYPE, requires_grad=True)
    opt = torch.optim.SGD([theta], lr=lr, momentum=momentum, nesterov=nesterov)
    for _ in range(steps):
        opt.zero_grad()
        theta.sum().backward()
        opt.step()
    return -theta.item()


@exercise("03x_optimizers_exercises", "momentum_distance", stubs=((None,), (...,)))
def check_momentum_distance(momentum_distance) -> bool:
    """Prediction: how far SGD with momentum 0.9 and lr 0.01 moves a parameter whose
    gradient is always 1, in 20 steps from a zero buffer (torch's form)."""
    n, lr, mu = DISTANCE_STEPS, DISTANCE_LR, DISTANCE_MOMENTUM
    return check_prediction(
        momentum_distance, _momentum_distance(n, lr, mu),
        name=f"distance after {n} steps (lr {lr}, momentum {mu})", tolerance=0.05,
        mistakes={
            "no momentum: that is plain SGD's distance": n * lr,
            "every step at full speed: the buffer does not start at its limit, it starts "
            "from zero and builds up": n * lr / (1 - mu),
            "a buffer damped like an average (the gradient weighted by 1 - momentum): "
            "torch's buffer adds the whole gradient": _momentum_distance(n, lr * (1 - mu), mu),
            "that is Nesterov's distance: plain momentum steps along the buffer alone":
                _momentum_distance(n, lr, mu, nesterov=True),
            "the learning rate is missing: you summed the buffers, not the steps":
                _momentum_distance(n, 1.0, mu),
        },
        explain="the buffer starts at zero and grows towards its limit step by step; add "
                "up the steps one by one (a short loop on paper, or a geometric series).",
    )


# --- Exercise 3: a measured claim, the largest stable learning rate with momentum ---------

QUADRATIC_CURVATURES = torch.linspace(1.0, 50.0, 8, dtype=DTYPE)  # kappa = 50
STABLE_MOMENTUM, STABLE_STEPS = 0.9, 500


def quadratic_loss_after(lr: float, steps: int = STABLE_STEPS) -> float:
    """Train ``torch.optim.SGD(momentum=0.9)`` on f(x) = 0.5 * sum(c_i x_i^2) with the
    curvatures ``c = QUADRATIC_CURVATURES`` (1 to 50, so kappa = 50), from x = (1, ..., 1),
    and return the loss after ``steps`` steps (it starts at ``quadratic_loss_after(lr, 0)``;
    ``inf`` once it overflows).

    Example:
        >>> quadratic_loss_after(0.01, 0)
        102.0
    """
    return _losses_after([float(lr)], int(steps))[0]


def _losses_after(rates: list[float], steps: int) -> list[float]:
    """``quadratic_loss_after`` for several rates in one run: one parameter group each."""
    xs = [torch.ones(len(QUADRATIC_CURVATURES), dtype=DTYPE, requires_grad=True) for _ in rates]
    opt = torch.optim.SGD([{"params": [x], "lr": lr} for x, lr in zip(xs, rates)],
                          lr=rates[0], momentum=STABLE_MOMENTUM)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # overflow on the way to inf is expected
        for _ in range(steps):
            for x in xs:
                x.grad = QUADRATIC_CURVATURES * x  # the exact gradient of f
            opt.step()
        losses = [(0.5 * QUADRATIC_CURVATURES * x ** 2).sum().item() for x in xs]
    return [loss if math.isfinite(loss) else math.inf for loss in losses]


#: Claimed rates near which a known mistake lands (within 5 %), with its hint.
_STABLE_MISTAKES = {
    "that is plain SGD's limit, without momentum; momentum moves the edge": 2 / 50,
    "that is the limit set by the FLATTEST direction; the steepest one diverges first":
        2 / 1,
    "that is the momentum limit of the FLATTEST direction; the steepest one diverges first":
        2 * (1 + STABLE_MOMENTUM) / 1,
    "momentum does not shrink the stable rate by (1 - momentum): on this quadratic it "
    "allows a larger one": 2 * (1 - STABLE_MOMENTUM) / 50,
    "that is a safe rate (one over the largest curvature), not the largest stable one":
        1 / 50,
    "that is the edge with Nesterov's momentum (nesterov=True); this run uses plain momentum":
        2 * (1 + STABLE_MOMENTUM) / ((1 + 2 * STABLE_MOMENTUM) * 50),
}


@exercise("03x_optimizers_exercises", "largest_stable_lr", stubs=((None,), (...,)))
def check_momentum_stable_lr(largest_stable_lr) -> bool:
    """Measured claim: the largest learning rate at which ``quadratic_loss_after`` still
    converges. The checker trains at the claimed rate (the loss must fall below 1 % of its
    start in 500 steps) and at 1.1 times it (the loss must grow), so a claim passes when it
    lies within 10 % below the true edge."""
    name = "largest stable lr (momentum 0.9, kappa 50)"
    claim = read_claim(largest_stable_lr, name=name,
                       hint="write one number, e.g. `largest_stable_lr = 0.05`.")
    if claim is None:
        return False
    if claim <= 0:
        print(f"{name} | {claim:g} is not a learning rate")
        raise AssertionError(f"{name}: {claim:g} is not a learning rate.\nHint: a learning "
                             "rate is positive; search among positive rates.")
    start = quadratic_loss_after(claim, 0)
    at, above = _losses_after([claim, 1.1 * claim], STABLE_STEPS)  # two runs, side by side
    converges, diverges = at < 0.01 * start, above > start
    print(f"{name} | at {claim:.4g}: loss {at:.3g} after {STABLE_STEPS} steps "
          f"({'converges' if converges else 'does not converge'}) | at 1.1x = "
          f"{1.1 * claim:.4g}: loss {above:.3g} ({'diverges' if diverges else 'does not diverge'})"
          f"{' | ok' if converges and diverges else ''}")
    if converges and diverges:
        return True
    named = [label for label, value in _STABLE_MISTAKES.items() if abs(claim / value - 1) < 0.05]
    if not converges:
        what = (f"at your rate {claim:.4g} the loss after {STABLE_STEPS} steps is {at:.3g}, "
                f"from {start:.3g} at the start: "
                + ("it fell, but not below 1 % of its start, the criterion" if at < start else
                   "it does not converge"))
        if quadratic_loss_after(0.98 * claim) < 0.01 * start:  # a hair above the edge
            fallback = ("your rate is just above the edge (98 % of it converges): round your "
                        "measurement down, not to the nearest digit.")
        elif at > start or quadratic_loss_after(claim / 2) < 0.01 * start:  # at or past the edge
            fallback = ("your rate is at or beyond the edge: measure with quadratic_loss_after "
                        "at smaller rates and bisect between one that converges and one that "
                        "does not.")
        else:  # far below the edge: too slow to converge in 500 steps
            fallback = ("your rate is so small that the loss barely moves in "
                        f"{STABLE_STEPS} steps: the edge is much higher; measure with "
                        "quadratic_loss_after at larger rates and bisect.")
    else:
        what = (f"at 1.1 times your rate ({1.1 * claim:.4g}) the loss still falls, to "
                f"{above:.3g}: a larger rate is stable, so yours is not the largest")
        fallback = ("the edge is higher: measure with quadratic_loss_after at larger rates "
                    "and bisect between one that converges and one that does not.")
    hint = f"your claim matches a known mistake: {named[0]}." if named else fallback
    raise AssertionError(f"{name}: {what}.\nHint: {hint}")


# --- Exercise 4: NAdam's step, which the chapter did not show -----------------------------

def _mu(t, beta1, momentum_decay):
    return beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))


def _nadam_state(t, beta1, momentum_decay, m, v):
    """torch's NAdam state before step ``t``: the product of mu_1 ... mu_{t-1}."""
    product = math.prod(_mu(i, beta1, momentum_decay) for i in range(1, t))
    return {"step": torch.tensor(float(t - 1), dtype=DTYPE), "exp_avg": m, "exp_avg_sq": v,
            "mu_product": torch.tensor(product, dtype=DTYPE)}


def _nadam_reference(p, grad, m, v, mu_product, t, lr, betas, eps, momentum_decay):
    state = _nadam_state(int(t), betas[0], momentum_decay, m, v)
    state["mu_product"] = torch.tensor(float(mu_product), dtype=DTYPE)
    new_p, after = _torch_step(
        lambda ps: torch.optim.NAdam(ps, lr=lr, betas=betas, eps=eps,
                                     momentum_decay=momentum_decay), p, grad, state)
    return new_p, after["exp_avg"], after["exp_avg_sq"], after["mu_product"]


def _nadam_case(seed, shape, t, lr, betas, eps, momentum_decay):
    p, grad, m, v = _tensors(seed, shape, shape, shape, shape)
    if t == 1:  # torch starts both moments at zero
        m, v = torch.zeros(shape, dtype=DTYPE), torch.zeros(shape, dtype=DTYPE)
    else:
        m, v = 0.1 * m, 0.01 * v ** 2  # a second moment is never negative
    product = math.prod(_mu(i, betas[0], momentum_decay) for i in range(1, t))
    return (p, grad, m, v, product, t, lr, betas, eps, momentum_decay)


def _nadam_mistake(*, lookahead=True, product_returned=True, next_mu=True, decay=True,
                   correct_v=True, eps_inside=False, same_product=False):
    """A wrong NAdam step, as a student would write it: each flag off is one mistake."""
    def step(p, grad, m, v, mu_product, t, lr, betas, eps, momentum_decay):
        beta1, beta2 = betas
        psi = momentum_decay if decay else 1.0
        mu = beta1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi)) if next_mu else mu
        product = mu_product * mu
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad ** 2
        v_hat = v / (1 - beta2 ** t) if correct_v else v
        denom = (v_hat + eps).sqrt() if eps_inside else v_hat.sqrt() + eps
        if not lookahead:  # Adam's step
            return p - lr * (m / (1 - beta1 ** t)) / denom, m, v, product
        next_product = product if same_product else product * mu_next
        direction = (1 - mu) * grad / (1 - product) + mu_next * m / (1 - next_product)
        return p - lr * direction / denom, m, v, product if product_returned else mu_product
    return step


@exercise("03x_optimizers_exercises", "nadam_step")
def check_nadam_step(nadam_step: Callable | None) -> None:
    """Exercise: ``nadam_step(p, grad, m, v, mu_product, t, lr, betas, eps, momentum_decay)``
    -> (new p, new m, new v, new mu_product), one step of ``torch.optim.NAdam`` (which it
    may not call); then six steps in a row from the start, against NAdam's run."""
    shown = _nadam_case(3, (5,), 3, 2e-3, (0.9, 0.999), 1e-8, 4e-3)
    hidden = [
        _nadam_case(13, (3, 4), 1, 1e-2, (0.9, 0.999), 1e-8, 4e-3),   # the first step
        _nadam_case(14, (6,), 7, 5e-2, (0.8, 0.99), 1e-6, 4e-3),      # other betas, eps
        _nadam_case(15, (2, 3), 4, 1e-3, (0.95, 0.9), 1e-8, 0.3),     # another momentum_decay
        _nadam_case(16, (4, 1), 50, 0.1, (0.5, 0.999), 1e-8, 0.1),    # late, strong decay
    ]
    if not check_function(
        nadam_step, _nadam_reference, *shown, name="nadam step", cases=hidden,
        forbid=("torch.optim.NAdam", "utils.optim.NAdam"), atol=1e-12, rtol=1e-9,
        mistakes={
            "this is Adam's step: NAdam mixes this step's gradient with a look-ahead at the "
            "next step's momentum": _nadam_mistake(lookahead=False),
            "the returned mu_product is the one you were given: return the product with "
            "this step's mu in it": _nadam_mistake(product_returned=False),
            "the momentum term used this step's mu where it needs the NEXT step's":
                _nadam_mistake(next_mu=False),
            "momentum_decay is missing from the exponent of 0.96": _nadam_mistake(decay=False),
            "the second moment was not bias-corrected": _nadam_mistake(correct_v=False),
            "eps is inside the square root: torch adds it after the root":
                _nadam_mistake(eps_inside=True),
            "both terms were divided by the same product: the momentum term's product "
            "runs one step further": _nadam_mistake(same_product=True),
        },
    ):
        return  # not attempted yet

    def torch_run(grads, lr, betas, eps, momentum_decay):
        p = torch.linspace(-1, 1, grads.shape[1], dtype=DTYPE).requires_grad_(True)
        opt = torch.optim.NAdam([p], lr=lr, betas=betas, eps=eps, momentum_decay=momentum_decay)
        opt.state[p].update(_nadam_state(1, betas[0], momentum_decay, torch.zeros_like(p),
                                         torch.zeros_like(p)))  # float64 where torch's is float32
        path = []
        for grad in grads:
            p.grad = grad.clone()
            opt.step()
            path.append(p.detach().clone())
        return torch.stack(path)

    def your_run(grads, lr, betas, eps, momentum_decay):
        p = torch.linspace(-1, 1, grads.shape[1], dtype=DTYPE)
        m, v, product = torch.zeros_like(p), torch.zeros_like(p), 1.0
        path = []
        for t, grad in enumerate(grads, start=1):
            out = nadam_step(p, grad.clone(), m, v, product, t, lr, betas, eps, momentum_decay)
            if not (isinstance(out, (tuple, list)) and len(out) == 4):
                raise TypeError(f"step {t} returned {type(out).__name__}, not the 4 values "
                                "(p, m, v, mu_product)")
            p, m, v, product = (torch.as_tensor(x, dtype=DTYPE) for x in out)
            path.append(p.clone())
        return torch.stack(path)

    (grads,) = _tensors(17, (6, 3))
    check_function(your_run, torch_run, grads, 1e-2, (0.9, 0.99), 1e-8, 0.05,
                   name="nadam, 6 steps in a row (each step's p)", atol=1e-12, rtol=1e-9)


# --- Exercise 5: a cyclical learning rate ----------------------------------------------------

def _torch_cyclic(steps, base_lr, max_lr, step_size_up, step_size_down, mode):
    dummy = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    sched = torch.optim.lr_scheduler.CyclicLR(
        dummy, base_lr=base_lr, max_lr=max_lr, step_size_up=step_size_up,
        step_size_down=step_size_down, mode=mode, cycle_momentum=False)
    rates = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(steps):
            rates.append(dummy.param_groups[0]["lr"])
            dummy.step()
            sched.step()
    return torch.tensor(rates, dtype=DTYPE)


def _cyclic_mistake(*, halve=True, halve_first=False, one_ramp=False, swapped=False,
                    from_top=False, shifted=False, symmetric=False, halve_base=False):
    """A wrong triangular schedule, as a student would write it: each flag is one mistake."""
    def cyclic_lr(steps, base_lr, max_lr, step_size_up, step_size_down, mode):
        up, down = (step_size_down, step_size_up) if swapped else (step_size_up, step_size_down)
        down = up if symmetric else down
        period = up if one_ramp else up + down
        rates = []
        for s in range(steps):
            s = s + 1 if shifted else s
            cycle, x = divmod(s, period)
            frac = x / up if (one_ramp or x <= up) else 1 - (x - up) / down
            if from_top:
                frac = 1 - frac
            scale = 1.0
            if mode == "triangular2" and halve:
                scale = 0.5 ** (cycle + 1) if halve_first else 0.5 ** cycle
            low = base_lr * scale if halve_base else base_lr
            rates.append(low + (max_lr - base_lr) * frac * scale)
        return rates
    return cyclic_lr


@exercise("03x_optimizers_exercises", "cyclic_lr")
def check_cyclic_lr(cyclic_lr: Callable | None) -> None:
    """Exercise: ``cyclic_lr(steps, base_lr, max_lr, step_size_up, step_size_down, mode)`` ->
    the learning rates of steps 0 .. steps - 1, as ``torch.optim.lr_scheduler.CyclicLR``
    sets them (mode ``"triangular"`` or ``"triangular2"``), without calling ``CyclicLR``."""
    hidden = [
        (50, 0.01, 0.5, 10, 10, "triangular"),
        (61, 1e-4, 1e-2, 8, 12, "triangular2"),   # a slower way down
        (23, 0.02, 0.2, 5, 3, "triangular"),      # a faster way down, a cycle cut short
        (45, 0.001, 0.3, 6, 6, "triangular2"),
    ]
    check_function(
        cyclic_lr, _torch_cyclic, 40, 0.001, 0.1, 5, 5, "triangular2", name="cyclic lr",
        cases=hidden, forbid=("torch.optim.lr_scheduler.CyclicLR",), atol=1e-12, rtol=1e-6,
        mistakes={
            "triangular2 does not halve the height of the triangle from one cycle to the next":
                _cyclic_mistake(halve=False),
            "the height was halved already in the first cycle: the first triangle is full-size":
                _cyclic_mistake(halve_first=True),
            "one ramp per cycle (a sawtooth): a cycle goes up for step_size_up steps and back "
            "down for step_size_down": _cyclic_mistake(one_ramp=True),
            "step_size_up and step_size_down are swapped": _cyclic_mistake(swapped=True),
            "the schedule starts at max_lr: a cycle starts at base_lr and rises":
                _cyclic_mistake(from_top=True),
            "off by one step: step 0's rate is base_lr, and the schedule moves after each step":
                _cyclic_mistake(shifted=True),
            "step_size_down was ignored (the way down as long as the way up)":
                _cyclic_mistake(symmetric=True),
            "triangular2 halved base_lr too: only the triangle's height above base_lr halves":
                _cyclic_mistake(halve_base=True),
        },
    )
