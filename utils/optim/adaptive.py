"""Per-coordinate step sizes from the gradients' history: Adagrad, Adadelta, RMSprop."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from .optimizer import Optimizer

__all__ = ["Adagrad", "Adadelta", "RMSprop"]


class Adagrad(Optimizer):
    r"""Adagrad: divide by the root of the *sum* of all squared gradients (``torch.optim.Adagrad``).

    .. math::
        g &\leftarrow \nabla_\theta L + \lambda\theta, \qquad
        \tilde\gamma = \gamma / (1 + (t - 1)\,\eta) \\
        s &\leftarrow s + g^2 \qquad (s_0 = \text{initial\_accumulator\_value}) \\
        \theta &\leftarrow \theta - \tilde\gamma\, g / (\sqrt{s} + \epsilon)

    Args:
        params: tensors or parameter groups.
        lr: :math:`\gamma` (default: 1e-2).
        lr_decay: :math:`\eta` (default: 0).
        weight_decay: L2 penalty :math:`\lambda` (default: 0).
        initial_accumulator_value: start of :math:`s` (default: 0).
        eps: :math:`\epsilon`, added *outside* the root (default: 1e-10).

    Example:
        >>> w = torch.tensor([1.0, -2.0], requires_grad=True); opt = Adagrad([w], lr=0.1)
        >>> (w ** 2).sum().backward(); opt.step(); w  # step 1: s = g^2, a step of lr sign(g)
        tensor([ 0.9000, -1.9000], requires_grad=True)

    Note:
        The slides' :math:`\delta` is our ``eps``. Since :math:`s` only grows, the steps
        shrink like :math:`1/\sqrt{t}` for gradients of constant size. A group's own
        ``initial_accumulator_value`` is used; torch uses the constructor's for every group.
    """

    _nonnegative = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def __init__(self, params: Iterable, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10) -> None:
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps))

    def _update(self, p, grad, state, group):
        if not state:
            state["step"] = 0
            state["sum"] = torch.full_like(p, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"].addcmul_(grad, grad, value=1)
        std = state["sum"].sqrt().add_(group["eps"])
        p.addcdiv_(grad, std, value=-clr)


class Adadelta(Optimizer):
    r"""Adadelta: RMS of past *updates* over RMS of gradients (``torch.optim.Adadelta``).

    .. math::
        g &\leftarrow \nabla_\theta L + \lambda\theta, \qquad
        v \leftarrow \rho v + (1 - \rho) g^2 \\
        \Delta &= \frac{\sqrt{u + \epsilon}}{\sqrt{v + \epsilon}}\, g, \qquad
        u \leftarrow \rho u + (1 - \rho) \Delta^2, \qquad
        \theta \leftarrow \theta - \gamma \Delta

    Args:
        params: tensors or parameter groups.
        lr: :math:`\gamma`, a plain factor on :math:`\Delta` (default: 1.0, the paper's rule).
        rho: decay :math:`\rho` of both running averages, in [0, 1] (default: 0.9).
        eps: :math:`\epsilon`, *inside* both roots (default: 1e-6).
        weight_decay: L2 penalty :math:`\lambda` (default: 0).

    Example:
        >>> w = torch.ones(2, requires_grad=True); opt = Adadelta([w])
        >>> (w ** 2).sum().backward(); opt.step(); w  # sqrt(1e-6) / sqrt(0.1 * 4) * 2
        tensor([0.9968, 0.9968], requires_grad=True)

    Note:
        State keys as torch: ``square_avg`` (:math:`v`) and ``acc_delta`` (:math:`u`).
        At the start :math:`u = 0`, so the first steps are of order :math:`\sqrt\epsilon`.
    """

    _nonnegative = ("lr", "eps", "weight_decay")

    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0) -> None:
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay))

    def _check(self, group: dict) -> None:
        super()._check(group)
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Invalid rho value: {group['rho']}")

    def _update(self, p, grad, state, group):
        rho, eps = group["rho"], group["eps"]
        if not state:
            state.update(step=0, square_avg=torch.zeros_like(p), acc_delta=torch.zeros_like(p))
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
        delta = acc_delta.add(eps).sqrt_().div_(square_avg.add(eps).sqrt_()).mul_(grad)
        acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        p.add_(delta, alpha=-group["lr"])


class RMSprop(Optimizer):
    r"""RMSprop: divide by a running RMS of the gradients (``torch.optim.RMSprop``).

    .. math::
        g &\leftarrow \nabla_\theta L + \lambda\theta, \qquad
        v \leftarrow \alpha v + (1 - \alpha) g^2, \qquad
        \bar g \leftarrow \alpha \bar g + (1 - \alpha) g \\
        d &= \sqrt{v - \bar g^2} + \epsilon \text{ if centered else } \sqrt{v} + \epsilon \\
        b &\leftarrow \mu b + g / d, \quad \theta \leftarrow \theta - \gamma b
        \qquad (\theta \leftarrow \theta - \gamma g / d \text{ if } \mu = 0)

    Args:
        params: tensors or parameter groups.
        lr: :math:`\gamma` (default: 1e-2).
        alpha: smoothing constant :math:`\alpha` (default: 0.99).
        eps: :math:`\epsilon`, *outside* the root (default: 1e-8).
        weight_decay: L2 penalty :math:`\lambda` (default: 0).
        momentum: :math:`\mu`, buffer starting at zero (default: 0).
        centered: divide by an estimate of the variance instead of the raw second moment
            (default: False).

    Example:
        >>> w = torch.ones(2, requires_grad=True); opt = RMSprop([w], lr=0.01)
        >>> (w ** 2).sum().backward(); opt.step(); w  # g / sqrt(0.01 g^2) = 10: 10 * lr
        tensor([0.9000, 0.9000], requires_grad=True)

    Note:
        The slides' :math:`\rho` is our ``alpha``, its :math:`\delta` our ``eps``.
        There is no bias correction: :math:`v` starts at 0, so the first steps are large
        (:math:`g/\sqrt{0.01 g^2} = 10\,\mathrm{sign}(g)` times the learning rate).
    """

    _nonnegative = ("lr", "eps", "momentum", "weight_decay", "alpha")

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _update(self, p, grad, state, group):
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            state.update(step=0, square_avg=torch.zeros_like(p))
            if momentum > 0:
                state["momentum_buffer"] = torch.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = torch.zeros_like(p)
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        state["square_avg"].mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        if group["centered"]:
            grad_avg = state["grad_avg"].lerp_(grad, 1 - alpha)
            avg = state["square_avg"].addcmul(grad_avg, grad_avg, value=-1).sqrt_()
        else:
            avg = state["square_avg"].sqrt()
        avg.add_(group["eps"])
        if momentum > 0:
            buf = state["momentum_buffer"].mul_(momentum).addcdiv_(grad, avg)
            p.add_(buf, alpha=-group["lr"])
        else:
            p.addcdiv_(grad, avg, value=-group["lr"])
