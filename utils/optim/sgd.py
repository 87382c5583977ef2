"""Stochastic gradient descent with momentum and Nesterov momentum."""

from __future__ import annotations

from collections.abc import Iterable


from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional (Nesterov) momentum, as ``torch.optim.SGD``.

    .. math::
        g &\leftarrow \pm\nabla_\theta L + \lambda\theta \qquad (-\text{ if maximize}) \\
        b &\leftarrow \mu b + (1 - \tau) g \quad (b \leftarrow g \text{ at the first step}) \\
        \theta &\leftarrow \theta - \gamma\,(g + \mu b \text{ if nesterov else } b)

    Args:
        params: tensors or parameter groups (see :class:`Optimizer`).
        lr: learning rate :math:`\gamma` (default: 1e-3).
        momentum: :math:`\mu` (default: 0, plain SGD).
        dampening: :math:`\tau` (default: 0).
        weight_decay: L2 penalty :math:`\lambda` added to the gradient (default: 0).
        nesterov: use Nesterov momentum (default: False).
        maximize: ascend the objective instead (default: False).

    Example:
        >>> w = torch.tensor([1.0], requires_grad=True); opt = SGD([w], lr=0.1, momentum=0.9)
        >>> (w ** 2).sum().backward(); opt.step(); w  # w <- 1 - 0.1 * 2 (the buffer is g)
        tensor([0.8000], requires_grad=True)

    Note:
        The slides write momentum as a velocity, :math:`v \leftarrow \alpha v - \epsilon g`,
        :math:`\theta \leftarrow \theta + v`; torch (and we) keep :math:`b \leftarrow \mu b + g`,
        :math:`\theta \leftarrow \theta - \gamma b`. With a constant learning rate they are the
        same (:math:`v = -\gamma b`, :math:`\alpha = \mu`, :math:`\epsilon = \gamma`); they
        differ once the learning rate changes, because torch's buffer does not carry it.
    """

    _nonnegative = ("lr", "momentum", "weight_decay")

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False,
                 maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _check(self, group: dict) -> None:
        super()._check(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update(self, p, grad, state, group):
        momentum = group["momentum"]
        grad = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        if momentum != 0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = grad.detach().clone()
            else:
                state["momentum_buffer"].mul_(momentum).add_(grad, alpha=1 - group["dampening"])
            buf = state["momentum_buffer"]
            grad = grad.add(buf, alpha=momentum) if group["nesterov"] else buf
        p.add_(grad, alpha=-group["lr"])
