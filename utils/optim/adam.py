"""Adam, AdamW and NAdam: momentum over an RMSprop denominator, with bias correction."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from .optimizer import Optimizer

__all__ = ["Adam", "AdamW", "NAdam"]


class Adam(Optimizer):
    r"""Adam: momentum over an RMSprop denominator, both bias-corrected (``torch.optim.Adam``).

    .. math::
        g &\leftarrow \nabla_\theta L + \lambda\theta, \qquad
        m \leftarrow \beta_1 m + (1 - \beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1 - \beta_2) g^2 \\
        \hat v &= \max(\hat v_{\text{prev}}, v) \text{ if amsgrad else } v, \qquad
        \theta \leftarrow \theta - \frac{\gamma}{1 - \beta_1^t}\,
        \frac{m}{\sqrt{\hat v} / \sqrt{1 - \beta_2^t} + \epsilon}

    Args:
        params: tensors or parameter groups.
        lr: :math:`\gamma` (default: 1e-3).
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1) (default: (0.9, 0.999)).
        eps: :math:`\epsilon`, added after the bias correction (default: 1e-8).
        weight_decay: L2 penalty :math:`\lambda` added to the gradient (default: 0);
            for decoupled decay use :class:`AdamW`.
        amsgrad: divide by the running maximum of :math:`v` (default: False).

    Example:
        >>> w = torch.tensor([1.0, -2.0], requires_grad=True); opt = Adam([w], lr=0.1)
        >>> (w ** 2).sum().backward(); opt.step(); w  # step 1: m_hat / sqrt(v_hat) = sign(g)
        tensor([ 0.9000, -1.9000], requires_grad=True)

    Note:
        The slides write :math:`v, r, \rho_1, \rho_2, \epsilon, \delta` for our
        :math:`m, v, \beta_1, \beta_2, \gamma, \epsilon`. The order of operations is
        torch's, so the float64 results agree to rounding error.
    """

    decoupled_weight_decay = False
    _nonnegative = ("lr", "eps", "weight_decay")

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))

    def _update(self, p, grad, state, group):
        (beta1, beta2), lr, wd = group["betas"], group["lr"], group["weight_decay"]
        if not state:
            state.update(step=0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = torch.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        if wd != 0 and self.decoupled_weight_decay:
            p.mul_(1 - lr * wd)
        elif wd != 0:
            grad = grad.add(p, alpha=wd)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.lerp_(grad, 1 - beta1)  # m <- beta1 m + (1 - beta1) g, as torch computes it
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        if group["amsgrad"]:
            exp_avg_sq = torch.maximum(state["max_exp_avg_sq"], exp_avg_sq,
                                       out=state["max_exp_avg_sq"])
        denom = (exp_avg_sq.sqrt() / (1 - beta2**t) ** 0.5).add_(group["eps"])
        p.addcdiv_(exp_avg, denom, value=-lr / (1 - beta1**t))


class AdamW(Adam):
    r"""Adam with *decoupled* weight decay (Loshchilov & Hutter 2019; ``torch.optim.AdamW``).

    .. math::
        \theta \leftarrow \theta\,(1 - \gamma\lambda), \quad \text{then the Adam step with }
        g = \nabla_\theta L \ (\text{no } \lambda\theta \text{ added to } g)

    Args:
        params, lr, betas, eps, amsgrad: as :class:`Adam`.
        weight_decay: :math:`\lambda` (default: 1e-2, where Adam's is 0).

    Example:
        >>> w = torch.ones(2, requires_grad=True); opt = AdamW([w], lr=0.1, weight_decay=0.5)
        >>> (w ** 2).sum().backward(); opt.step(); w  # 1 * (1 - 0.1 * 0.5) - 0.1 sign(g)
        tensor([0.8500, 0.8500], requires_grad=True)

    Note:
        In Adam an L2 penalty's gradient :math:`\lambda\theta` is divided by
        :math:`\sqrt{\hat v}` like the rest, so weights with large gradients decay less;
        here every weight shrinks by the same factor :math:`1 - \gamma\lambda` per step.
    """

    decoupled_weight_decay = True

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


class NAdam(Optimizer):
    r"""NAdam: Adam with Nesterov's look-ahead on the momentum (Dozat 2016; ``torch.optim.NAdam``).

    .. math::
        g &\leftarrow \nabla_\theta L + \lambda\theta, \qquad
        \mu_t = \beta_1\big(1 - \tfrac12\, 0.96^{\,t\psi}\big), \qquad
        \Pi_t = \textstyle\prod_{i \le t} \mu_i \\
        m &\leftarrow \beta_1 m + (1 - \beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \qquad
        \hat v = v / (1 - \beta_2^t) \\
        \theta &\leftarrow \theta - \gamma\Big(\frac{1 - \mu_t}{1 - \Pi_t}\, g
        + \frac{\mu_{t+1}}{1 - \Pi_{t+1}}\, m\Big) \Big/ \big(\sqrt{\hat v} + \epsilon\big)

    Args:
        params: tensors or parameter groups.
        lr: :math:`\gamma` (default: 2e-3).
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1) (default: (0.9, 0.999)).
        eps: :math:`\epsilon`, added after the root (default: 1e-8).
        weight_decay: :math:`\lambda` (default: 0), an L2 term added to the gradient.
        momentum_decay: :math:`\psi`, how fast :math:`\mu_t` rises from
            :math:`\beta_1/2` to :math:`\beta_1` (default: 4e-3).
        decoupled_weight_decay: shrink :math:`\theta` by :math:`1 - \gamma\lambda` instead,
            as AdamW (default: False).

    Example:
        >>> w = torch.tensor([1.0, -2.0], requires_grad=True); opt = NAdam([w], lr=0.1)
        >>> (w ** 2).sum().backward(); opt.step(); w  # step 1: lr sign(g) (1 + 0.1 * 0.565)
        tensor([ 0.8944, -1.8944], requires_grad=True)

    Note:
        The look-ahead: Adam steps along :math:`\hat m`, which at step :math:`t` still
        mixes in the gradient of step :math:`t - 1`; NAdam uses the momentum of the *next*
        step, :math:`\mu_{t+1} m`, and this step's gradient with its own weight
        :math:`1 - \mu_t`. Torch keeps :math:`\Pi_t` in ``state["mu_product"]`` as a 0-dim
        tensor in the default dtype (float32 unless you set float64); we keep a Python
        float, so in float32 runs the two differ in the 7th digit.
    """

    _nonnegative = ("lr", "eps", "weight_decay", "momentum_decay")

    def __init__(self, params: Iterable, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, p, grad, state, group):
        (beta1, beta2), lr, wd = group["betas"], group["lr"], group["weight_decay"]
        if not state:
            state.update(step=0, mu_product=1.0, exp_avg=torch.zeros_like(p),
                         exp_avg_sq=torch.zeros_like(p))
        state["step"] += 1
        t = state["step"]
        if wd != 0 and group["decoupled_weight_decay"]:
            p.mul_(1 - lr * wd)
        elif wd != 0:
            grad = grad.add(p, alpha=wd)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * group["momentum_decay"]))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * group["momentum_decay"]))
        state["mu_product"] *= mu
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = exp_avg_sq.div(1 - beta2**t).sqrt().add_(group["eps"])
        p.addcdiv_(grad, denom, value=-lr * (1.0 - mu) / (1.0 - state["mu_product"]))
        p.addcdiv_(exp_avg, denom, value=-lr * mu_next / (1.0 - state["mu_product"] * mu_next))
