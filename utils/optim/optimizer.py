"""The base class of the course's optimizers, and gradient clipping by norm."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

import torch

__all__ = ["Optimizer", "clip_grad_norm_"]


class Optimizer:
    """Base class: parameter groups, per-parameter state, ``zero_grad`` and ``step``.

    Args:
        params: an iterable of tensors, or of dicts ``{"params": [...], "lr": ..., ...}``
            (parameter groups); options missing from a group are taken from ``defaults``.
        defaults: the optimizer's options, e.g. ``{"lr": 0.1, "momentum": 0.9}``.

    A subclass lists its options that must be >= 0 in ``_nonnegative`` and updates one
    parameter in ``_update(p, grad, state, group)``; ``state`` is ``self.state[p]``, a dict
    that starts empty. ``betas``, where present, must lie in [0, 1).

    Example (a new optimizer in four lines):
        >>> class SignSGD(Optimizer):
        ...     def __init__(self, params, lr=1e-3):
        ...         super().__init__(params, dict(lr=lr))
        ...     def _update(self, p, grad, state, group):
        ...         p.add_(grad.sign(), alpha=-group["lr"])
    """

    _nonnegative: tuple[str, ...] = ("lr",)

    def __init__(self, params: Iterable, defaults: dict) -> None:
        if isinstance(params, torch.Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {torch.typename(params)}")
        self.defaults = dict(defaults)
        self.state: defaultdict[torch.Tensor, dict] = defaultdict(dict)
        self.param_groups: list[dict] = []
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group (a dict with ``"params"`` and optional per-group options)."""
        group = dict(param_group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, torch.Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, torch.Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params "
                                f"is {torch.typename(p)}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, value in self.defaults.items():
            group.setdefault(name, value)
        self._check(group)
        ids = [id(p) for g in self.param_groups + [group] for p in g["params"]]
        if len(set(ids)) < len(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset gradients: to ``None`` (default, as torch), or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad.detach_().zero_()

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """Update every parameter that has a gradient; return ``closure()`` if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, p.grad, self.state[p], group)
        return loss

    def _check(self, group: dict) -> None:
        """Raise torch's message for a bad option, e.g. ``Invalid learning rate: -1``."""
        for name in self._nonnegative:
            if not group[name] >= 0.0:  # also catches NaN
                label = {"lr": "learning rate", "eps": "epsilon value"}.get(name, f"{name} value")
                raise ValueError(f"Invalid {label}: {group[name]}")
        for i, beta in enumerate(group.get("betas", ())):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")

    def _update(self, p: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError


@torch.no_grad()
def clip_grad_norm_(parameters: torch.Tensor | Iterable[torch.Tensor], max_norm: float,
                    norm_type: float = 2.0) -> torch.Tensor:
    r"""Rescale gradients in place so that their joint norm is at most ``max_norm``.

    .. math::
        n = \big\|(\|g_1\|_p, \dots, \|g_k\|_p)\big\|_p, \qquad
        g_i \leftarrow g_i \cdot \min\!\Big(1, \frac{\text{max\_norm}}{n + 10^{-6}}\Big)

    Args:
        parameters: a tensor or an iterable of tensors; those without ``.grad`` are skipped.
        max_norm: the largest allowed total norm.
        norm_type: :math:`p` (default: 2.0; ``float("inf")`` for the max norm).

    Returns:
        The total norm :math:`n` *before* clipping (a 0-dim tensor; ``tensor(0.)`` if no
        parameter has a gradient), as ``torch.nn.utils.clip_grad_norm_``.

    Example:
        >>> w = torch.zeros(2, requires_grad=True); w.grad = torch.tensor([3.0, 4.0])
        >>> clip_grad_norm_([w], max_norm=1.0), w.grad  # between backward() and step()
        (tensor(5.), tensor([0.6000, 0.8000]))

    Note:
        The slides' rule :math:`g \leftarrow g\,u/\|g\|` when :math:`\|g\| > u`, with all
        gradients seen as one vector; the 1e-6 is torch's guard against dividing by zero.
    """
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if len(grads) == 0:
        return torch.tensor(0.0)
    norms = [torch.linalg.vector_norm(g, norm_type) for g in grads]
    total_norm = torch.linalg.vector_norm(torch.stack(norms), norm_type)
    clip_coef = torch.clamp(float(max_norm) / (total_norm + 1e-6), max=1.0)
    for g in grads:
        g.mul_(clip_coef)
    return total_norm
