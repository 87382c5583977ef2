"""Layer-wise trust ratios for large batches: LARS and LAMB."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from .optimizer import Optimizer

__all__ = ["LARS", "LAMB"]


class LARS(Optimizer):
    r"""Layer-wise adaptive rate scaling (You, Gitman & Ginsburg 2017): SGD + momentum with
    a learning rate per parameter tensor, proportional to :math:`\|w\| / \|g\|`.

    .. math::
        \text{ratio} &= \eta\,\frac{\|w\|}{\|g\| + \lambda\|w\| + \epsilon}
        \quad (1 \text{ if } \|w\| = 0 \text{ or } \|g\| = 0) \\
        b &\leftarrow \mu b + \text{ratio}\,(g + \lambda w), \qquad
        w \leftarrow w - \gamma b \qquad (b_0 = 0)

    Args:
        params: tensors or parameter groups (each tensor is one "layer").
        lr: global learning rate :math:`\gamma` (required).
        momentum: :math:`\mu` (default: 0.9).
        weight_decay: :math:`\lambda` (default: 0).
        trust_coefficient: :math:`\eta` (default: 0.001).
        eps: :math:`\epsilon` in the denominator (default: 1e-8).

    Example:
        >>> w = torch.tensor([3.0, 4.0], requires_grad=True); opt = LARS([w], lr=1.0)
        >>> (w ** 2).sum().backward(); opt.step(); w  # g = [6, 8]: ratio 0.001 * 5 / 10
        tensor([2.9970, 3.9960], requires_grad=True)
        >>> round(opt.state[w]["trust_ratio"], 6)
        0.0005

    Note:
        The paper writes :math:`v \leftarrow \mu v + \gamma\,\text{ratio}\,(g + \lambda w)`,
        :math:`w \leftarrow w - v`: the same for a constant :math:`\gamma` (:math:`v = \gamma b`).
        The zero-norm guard (not in the paper) lets zero-initialised biases move.
    """

    _nonnegative = ("lr", "momentum", "weight_decay", "trust_coefficient", "eps")

    def __init__(self, params: Iterable, lr: float, momentum: float = 0.9,
                 weight_decay: float = 0, trust_coefficient: float = 0.001,
                 eps: float = 1e-8) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                                      trust_coefficient=trust_coefficient, eps=eps))

    def _update(self, p, grad, state, group):
        wd, momentum = group["weight_decay"], group["momentum"]
        w_norm, g_norm = p.norm().item(), grad.norm().item()
        ratio = 1.0
        if w_norm > 0 and g_norm > 0:
            ratio = group["trust_coefficient"] * w_norm / (g_norm + wd * w_norm + group["eps"])
        state["trust_ratio"] = ratio
        update = grad.add(p, alpha=wd).mul_(ratio)
        if momentum != 0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = torch.zeros_like(p)
            update = state["momentum_buffer"].mul_(momentum).add_(update)
        p.add_(update, alpha=-group["lr"])


class LAMB(Optimizer):
    r"""Layer-wise adaptive moments for batch training (You et al. 2019): the Adam direction
    plus decoupled decay, rescaled per parameter tensor by a trust ratio.

    .. math::
        m &\leftarrow \beta_1 m + (1 - \beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \qquad
        r = \frac{m / (1 - \beta_1^t)}{\sqrt{v / (1 - \beta_2^t)} + \epsilon} \\
        u &= r + \lambda w, \qquad
        \text{ratio} = \frac{\min(\|w\|, c)}{\|u\|}
        \quad (1 \text{ if } \|w\| = 0 \text{ or } \|u\| = 0), \qquad
        w \leftarrow w - \gamma\,\text{ratio}\,u

    Args:
        params: tensors or parameter groups (each tensor is one "layer").
        lr: :math:`\gamma` (default: 1e-3).
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1) (default: (0.9, 0.999)).
        eps: :math:`\epsilon`, outside the root as in Adam (default: 1e-6).
        weight_decay: decoupled decay :math:`\lambda`, inside the norm of :math:`u` (default: 0).
        clamp_value: :math:`c`, the upper clip of :math:`\|w\|` (default: 10).

    Example:
        >>> w = torch.tensor([3.0, 4.0], requires_grad=True); opt = LAMB([w], lr=0.01)
        >>> (w ** 2).sum().backward(); opt.step(); w  # u = r = [1, 1]: ratio 5 / sqrt(2)
        tensor([2.9646, 3.9646], requires_grad=True)
        >>> round(opt.state[w]["trust_ratio"], 4)
        3.5355

    Note:
        LAMB's changes to LARS: the zero-norm guard, the decay inside the norm
        (:math:`\|g + \lambda w\|` instead of :math:`\|g\| + \lambda\|w\|`), the Adam update,
        and the clip at 10. We clip the *numerator* :math:`\|w\|` to :math:`[0, c]`, the
        paper's :math:`\phi`, so the ratio itself may exceed 10 when :math:`\|u\| < 1`.
        The slides' formula puts :math:`\epsilon` inside the root; we follow Adam.
    """

    _nonnegative = ("lr", "eps", "weight_decay", "clamp_value")

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-6,
                 weight_decay: float = 0, clamp_value: float = 10) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      clamp_value=clamp_value))

    def _update(self, p, grad, state, group):
        beta1, beta2 = group["betas"]
        if not state:
            state.update(step=0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
        state["step"] += 1
        t = state["step"]
        exp_avg = state["exp_avg"].mul_(beta1).add_(grad, alpha=1 - beta1)
        exp_avg_sq = state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        r = (exp_avg / (1 - beta1**t)) / ((exp_avg_sq / (1 - beta2**t)).sqrt() + group["eps"])
        u = r.add(p, alpha=group["weight_decay"])
        w_norm, u_norm = p.norm().item(), u.norm().item()
        ratio = min(w_norm, group["clamp_value"]) / u_norm if w_norm > 0 and u_norm > 0 else 1.0
        state["trust_ratio"] = ratio
        p.add_(u, alpha=-group["lr"] * ratio)
