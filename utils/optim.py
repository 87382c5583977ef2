r"""Optimizers written from scratch with the names, arguments and state keys of ``torch.optim``.

Each optimizer is a few lines of tensor math in ``_update(p, grad, state, group)``, which
:meth:`Optimizer.step` runs under ``torch.no_grad()`` for every parameter with a gradient.
``SGD``, ``Adagrad``, ``Adadelta``, ``RMSprop``, ``Adam`` and ``AdamW`` follow torch's
single-tensor code operation by operation: in float64 they agree with ``torch.optim`` to
rounding error, so a chapter can swap one for the other. ``LARS`` and ``LAMB`` (not in torch)
follow their papers and keep each tensor's last trust ratio in ``state[p]["trust_ratio"]``.

Left out, to keep each update readable: ``state_dict``, schedulers, sparse and complex
gradients, torch's ``foreach``/``fused``/``capturable`` switches, and ``maximize`` except in
``SGD``. ``state[p]["step"]`` is a Python int where torch keeps a tensor.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

import torch

__all__ = ["Optimizer", "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "LARS",
           "LAMB", "clip_grad_norm_"]


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
        The lecture writes momentum as a velocity, :math:`v \leftarrow \alpha v - \epsilon g`,
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
        The lecture's :math:`\delta` is our ``eps``. Since :math:`s` only grows, the steps
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
        The lecture's :math:`\rho` is our ``alpha``, its :math:`\delta` our ``eps``.
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
        The lecture writes :math:`v, r, \rho_1, \rho_2, \epsilon, \delta` for our
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
        The lecture's formula puts :math:`\epsilon` inside the root; we follow Adam.
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
        The lecture's rule :math:`g \leftarrow g\,u/\|g\|` when :math:`\|g\| > u`, with all
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
