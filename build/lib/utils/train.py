r"""The course's training engine: the lecture's minibatch loop, for several variants at once.

:func:`train` is the loop every chapter would otherwise write by hand::

    for step in range(steps):
        ix = torch.randint(0, len(X), (batch_size,), generator=g)   # a minibatch
        loss = F.cross_entropy(model(X[ix]), Y[ix])                 # forward
        for p in model.parameters(): p.grad = None
        loss.backward()                                             # backward
        for p in model.parameters(): p.data += -lr(step) * p.grad   # update

with a progress bar, evaluation every ``eval_every`` steps, an optional :class:`Recorder`
for the diagnostics of the initialization chapter, and, above all, **several variants
trained side by side**: the variants (same architecture, different initialisations,
learning rates or regularisers) are stacked by :class:`utils.batched.Stacked` and run as
one batched computation. Each variant draws its minibatches (and dropout masks) from its own
generator and its gradient is that of its own loss, so its numbers are bit for bit those of
the loop above run alone with the same generator, whichever variants run beside it
(``tests/test_train.py`` checks this against the plain loop in float32). One detail: the
loss that is differentiated is each variant's sum over its batch divided by the batch size,
whose gradient is exactly that of ``F.cross_entropy``'s mean but whose value can differ from
it in the last bit (torch adds up its mean in a cascade of blocks of 16); the loss *recorded*
repeats torch's order of additions (:func:`cross_entropy_mean`), so ``run.losses`` is exactly
what the plain loop prints.
``benchmarks/engine.py`` measures what this buys.

Left out: data loaders (the course's datasets fit in memory), mixed precision, gradient
accumulation, and optimizers that are not element-wise (LARS and LAMB take norms over a whole
tensor, which the stacked tensors would mix across variants).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .batched import Stacked
from .progress import progress_bar

__all__ = ["step_decay", "train", "Run", "Recorder", "evaluate", "throughput", "cross_entropy_mean"]


def step_decay(lr: float = 0.1, final_lr: float = 0.01, *, at: int = 100_000) -> Callable:
    """The lecture's schedule: ``lr`` for the first ``at`` steps, then ``final_lr``.

    Example:
        >>> schedule = step_decay(0.1, 0.01, at=100_000)
        >>> schedule(0), schedule(99_999), schedule(100_000)
        (0.1, 0.1, 0.01)
    """
    return lambda step: lr if step < at else final_lr


@dataclass
class Run:
    """What :func:`train` returns. Variant v's numbers are row/column v throughout.

    Attributes:
        models: the variants, trained in place (as a plain loop would leave them).
        losses: (V, steps) each step's minibatch loss (penalty included), float32 on the CPU.
        eval_steps: the steps after which the models were evaluated.
        evals: ``{name: (len(eval_steps), V)}`` mean loss on each evaluation set.
        seconds: wall time of the loop; ``steps_per_s``: model-steps per second (V * steps / s).
    """

    models: list
    losses: torch.Tensor
    eval_steps: list[int] = field(default_factory=list)
    evals: dict[str, torch.Tensor] = field(default_factory=dict)
    seconds: float = 0.0
    steps_done: int = 0

    @property
    def steps_per_s(self) -> float:
        return len(self.models) * self.steps_done / max(self.seconds, 1e-9)

    def final(self, name: str) -> torch.Tensor:
        """The last evaluation on ``name``, shape (V,)."""
        return self.evals[name][-1]


def _row_std(x: torch.Tensor) -> torch.Tensor:
    r"""``x.std(1)`` for (V, n) from two fast reductions, :math:`\sum x` and :math:`\|x\|_2`:
    :math:`\sqrt{(\|x\|^2 - n\bar x^2)/(n-1)}`. Several times faster than torch's ``std``
    along a dimension on the CPU; accurate while the mean is not much larger than the spread,
    as for weights and gradients (tested against ``std`` in ``tests/test_train.py``)."""
    n = x.shape[1]
    mean = x.sum(1) / n
    sq = torch.linalg.vector_norm(x, dim=1).square()
    return ((sq - n * mean.square()).clamp_min(0) / (n - 1)).sqrt()


class Recorder:
    r"""Statistics of a training run, for the diagnostics plots (:mod:`utils.diagnostics`).

    Args:
        snapshots: the steps at which to keep, for every variant, each Tanh/ReLU/BatchNorm
            layer's output and its gradient, and each Linear weight with its gradient
            (default: (0,), the first step).
        update_ratios: record, at every step and for every parameter with two or more
            dimensions, :math:`\log_{10}(\mathrm{std}(\text{lr}\cdot g)/\mathrm{std}(w))`
            for the built-in SGD update (the lecture's formula), or
            :math:`\log_{10}(\mathrm{std}(\Delta w)/\mathrm{std}(w))` with the step an
            ``optimizer`` actually took (default: True). This is a handful of reductions per step, and no more
            synchronisation than the loop already has.

    When no recorder is given to :func:`train`, none of this is computed: no ``retain_grad``,
    no extra reductions.
    """

    def __init__(self, snapshots: Sequence[int] = (0,), update_ratios: bool = True) -> None:
        self.snapshot_steps = sorted(set(int(s) for s in snapshots))
        self.record_updates = bool(update_ratios)
        self._snap: dict[int, dict] = {}
        self._ratios: list[torch.Tensor] = []
        self.param_names: list[str] = []

    # -- called by train() ------------------------------------------------------------
    def _start(self, stack: Stacked) -> None:
        self.layer_names, self.param_names, self._ratio_index = [], [], []
        for i, layer in enumerate(stack.layers):
            kind = type(layer.layers[0]).__name__
            self.layer_names.append(f"layer {i} ({kind})")
            for name in getattr(layer, "names", ()):
                if name in ("weight", "bias") and getattr(layer, name) is not None:
                    self.param_names.append(f"layer {i} ({kind}).{name}")
        params = stack.parameters()
        self._ratio_index = [j for j, p in enumerate(params) if p.dim() >= 3]  # (V, ≥2 dims)

    def _wants_snapshot(self, step: int) -> bool:
        return step in self.snapshot_steps

    def _forward(self, stack: Stacked, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
        outputs = {}
        for i, layer in enumerate(stack.layers):
            x = layer(x)
            if type(layer.layers[0]).__name__ in ("Tanh", "ReLU", "BatchNorm1d"):
                x.retain_grad()
                outputs[self.layer_names[i]] = x
        return x, outputs

    def _snapshot(self, step: int, stack: Stacked, outputs: dict) -> None:
        snap = {"out": {}, "out_grad": {}, "weight": {}, "weight_grad": {}}
        for name, t in outputs.items():
            snap["out"][name] = t.detach().cpu()
            snap["out_grad"][name] = t.grad.detach().cpu()
        for name, view, grad in zip(self.param_names, stack.parameter_views(),
                                    stack.parameter_grad_views()):
            if view.dim() >= 3:  # weights, in the plain layout: (V, out, in) for a Linear
                snap["weight"][name] = view.detach().cpu().clone()
                snap["weight_grad"][name] = grad.detach().cpu().clone()
        self._snap[step] = snap

    def _weights_before(self, params: list[torch.Tensor]) -> dict[int, torch.Tensor] | None:
        """Copies of the recorded weights, taken before an optimizer's step (else None)."""
        if not self.record_updates:
            return None
        return {j: params[j].detach().clone() for j in self._ratio_index}

    def _update(self, params: list[torch.Tensor], lrs: torch.Tensor | None = None,
                before: dict[int, torch.Tensor] | None = None) -> None:
        """Append this step's ratios: std(lr * grad) = lr * std(grad) for the built-in SGD
        (``lrs``), or the std of the change since ``before`` for an optimizer."""
        if not self.record_updates:
            return
        rows = []
        for j in self._ratio_index:
            w = params[j].detach().flatten(1)  # (V, n)
            if before is None:
                step_std = lrs * _row_std(params[j].grad.flatten(1))
            else:
                step_std = _row_std(w - before[j].flatten(1))
            rows.append((step_std / _row_std(w)).log10())
        self._ratios.append(torch.stack(rows, 1))  # (V, n_weights)

    # -- read by the notebooks --------------------------------------------------------
    def _get(self, step: int, kind: str, variant: int) -> dict[str, torch.Tensor]:
        if step not in self._snap:
            raise KeyError(f"no snapshot at step {step}; recorded: {sorted(self._snap)}")
        return {name: t[variant].flatten() for name, t in self._snap[step][kind].items()}

    def activations(self, step: int, variant: int = 0) -> dict[str, torch.Tensor]:
        """``{layer name: 1-D tensor}`` the outputs of each Tanh/ReLU/BatchNorm layer."""
        return self._get(step, "out", variant)

    def activation_grads(self, step: int, variant: int = 0) -> dict[str, torch.Tensor]:
        """``{layer name: 1-D tensor}`` the gradients of the loss at those outputs."""
        return self._get(step, "out_grad", variant)

    def weights(self, step: int, variant: int = 0) -> dict[str, torch.Tensor]:
        """``{parameter name: 1-D tensor}`` each Linear weight (not the 1-D biases)."""
        return self._get(step, "weight", variant)

    def weight_grads(self, step: int, variant: int = 0) -> dict[str, torch.Tensor]:
        """``{parameter name: 1-D tensor}`` their gradients at that step."""
        return self._get(step, "weight_grad", variant)

    def update_ratios(self, variant: int = 0) -> dict[str, torch.Tensor]:
        """``{parameter name: (steps,)}`` the log10 update:data ratio at every step."""
        if not self._ratios:
            return {}
        table = torch.stack(self._ratios)[:, variant]  # (steps, n_weights)
        names = [n for j, n in enumerate(self.param_names) if j in self._ratio_index]
        return {name: table[:, k] for k, name in enumerate(names)}


def cross_entropy_mean(per_example: torch.Tensor) -> torch.Tensor:
    """``F.cross_entropy``'s mean over each row of ``per_example`` (R, B), to the last bit.

    torch's CPU kernel (``nll_loss`` in ATen's LossNLL.cpp) does not call ``sum``: it adds the
    B losses one by one into a cascade of 8 partial sums, moving a partial sum one level up
    each time the index passes a multiple of 16, 256, ... (to limit rounding error), adds the
    levels, and divides by B. A different order of additions can change the last bit, so
    to record exactly the loss a plain loop prints we repeat that order, for all rows at once.
    """
    R, B = per_example.shape
    levels = [torch.zeros(R, dtype=per_example.dtype) for _ in range(8)]
    for b in range(B):
        levels[0] = levels[0] + per_example[:, b]
        for j in range(7):  # carry upwards while the low bits of b are zero
            if b & (15 << (4 * j)):
                break
            levels[j + 1] = levels[j + 1] + levels[j]
            levels[j] = torch.zeros_like(levels[j])
    total = torch.zeros(R, dtype=per_example.dtype)
    for level in levels:
        total = total + level
    return total / B


class _LossLog:
    """Collects each step's per-example losses and turns them into the logged means.

    With cross-entropy on the CPU the means are computed every 1,024 steps by
    :func:`cross_entropy_mean` (no per-step cost); otherwise ``loss_fn``'s own mean is
    called per variant at every step.
    """

    def __init__(self, losses, V, B, loss_fn, exact):
        self.losses, self.V, self.B, self.loss_fn, self.exact = losses, V, B, loss_fn, exact
        self.buffer, self.extras, self.first = [], [], 0

    def add(self, step, per_example, logits, yb, extra):
        with torch.no_grad():
            if self.exact:
                self.buffer.append(per_example.detach().view(self.V, self.B))
            else:
                self.buffer.append(torch.stack([self.loss_fn(logits[v], yb[v])
                                                for v in range(self.V)]).detach())
            self.extras.append(None if extra is None else extra.detach())
        if len(self.buffer) == 1024:
            self.flush()

    def flush(self):
        if not self.buffer:
            return
        m = len(self.buffer)
        if self.exact:
            rows = torch.stack(self.buffer).cpu().view(m * self.V, self.B)
            means = cross_entropy_mean(rows).view(m, self.V)
        else:
            means = torch.stack(self.buffer).cpu()  # (m, V)
        if self.extras[0] is not None:
            means = means + torch.stack(self.extras).cpu()  # as the plain loop: mean + penalty
        self.losses[:, self.first:self.first + m] = means.T
        self.first += m
        self.buffer, self.extras = [], []


def _as_list(x, n, what):
    if isinstance(x, (list, tuple)):
        if len(x) != n:
            raise ValueError(f"{what}: expected one per variant ({n}), got {len(x)}")
        return list(x)
    return [x] * n


@torch.no_grad()
def evaluate(stack: Stacked, X: torch.Tensor, Y: torch.Tensor, *, loss_fn=F.cross_entropy,
             chunk: int = 8192) -> torch.Tensor:
    """Mean loss of every variant on (X, Y), in eval mode, in chunks: shape (V,).

    The variants' training mode is restored afterwards.
    """
    was_training = [getattr(layer, "training", None) for layer in stack.layers]
    stack.eval()
    V, total = len(stack), torch.zeros(len(stack), dtype=torch.float64)
    for start in range(0, len(X), chunk):
        xb = X[start:start + chunk].to(stack.device)
        yb = Y[start:start + chunk].to(stack.device)
        out = stack(xb.unsqueeze(0).expand(V, *xb.shape))  # (V, b, classes)
        losses = loss_fn(out.flatten(0, 1), yb.repeat(V), reduction="none").view(V, -1)
        total += losses.double().sum(1).cpu()
    for layer, mode in zip(stack.layers, was_training):
        if mode is not None:
            layer.training = mode
    return (total / len(X)).float()


def train(models, X: torch.Tensor, Y: torch.Tensor, *, steps: int, generators,
          batch_size: int = 32, lr=0.1, optimizer: Callable | None = None,
          scheduler: Callable | None = None, penalty: Callable | None = None,
          eval_data: dict | None = None, eval_every: int | None = None,
          callback: Callable | None = None, record: Recorder | None = None,
          progress: bool = True, loss_fn=F.cross_entropy, device="cpu",
          description: str = "training") -> Run:
    r"""Train the variants ``models`` side by side with minibatch SGD; see the module docstring.

    Args:
        models: a :class:`utils.nn.Sequential`, or a list of them with one architecture.
        X, Y: the training inputs (N, ...) and integer targets (N,).
        steps: optimisation steps per variant.
        generators: a ``torch.Generator`` per variant (or one for a single model). Variant v
            draws its minibatch as ``torch.randint(0, N, (batch_size,), generator=g_v)``.
        batch_size: examples per minibatch (default: 32).
        lr: the step size of the built-in update ``p += -lr * p.grad``: a number, a list with
            one per variant, or a function ``step -> lr`` such as :func:`step_decay`
            (default: 0.1). Ignored when ``optimizer`` is given.
        optimizer: instead of the built-in update, a function ``params -> optimizer`` such as
            ``lambda ps: torch.optim.AdamW(ps, lr=1e-3)``; it receives the stacked
            parameters, so it must be element-wise (SGD, Adam, AdamW, RMSprop, ...).
        scheduler: with ``optimizer``, a function ``optimizer -> lr_scheduler`` stepped once
            per step.
        penalty: a function ``weights -> (V,)`` added to each variant's loss, where
            ``weights`` are the stacked Linear weights, each (V, out, in).
        eval_data: ``{name: (X, Y)}`` evaluated in eval mode every ``eval_every`` steps and
            after the last step.
        eval_every: steps between evaluations (default: only after the last step).
        callback: ``callback(step, run)`` after each evaluation, with the variants' own
            models already updated; return True to stop training there.
        record: a :class:`Recorder` (default: None, nothing recorded).
        progress: show a tqdm progress bar (default: True).
        loss_fn: ``loss_fn(logits, targets, reduction="none")`` (default: cross-entropy).
        device: where to compute (default: ``"cpu"``; ``"cuda"`` when available).
        description: the progress bar's label.

    Returns:
        A :class:`Run`; the variants' models hold the trained values.
    """
    single = not isinstance(models, (list, tuple))
    models = [models] if single else list(models)
    V = len(models)
    generators = _as_list(generators, V, "generators") if not single else [generators]
    if not all(isinstance(g, torch.Generator) for g in generators):
        raise TypeError(f"generators must be torch.Generator objects, got "
                        f"{[type(g).__name__ for g in generators]}")
    if len(set(map(id, generators))) != V:
        raise ValueError("each variant needs its own generator (the same object was passed twice)")
    if len(X) != len(Y):
        raise ValueError(f"X and Y must have the same length, got {len(X)} and {len(Y)}")
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    if Y.dtype != torch.long:
        raise TypeError(f"Y must hold int64 class indices, got dtype {Y.dtype}")

    stack = Stacked(models, device=device).train()
    params = stack.parameters()
    opt = optimizer(params) if optimizer is not None else None
    sched = scheduler(opt) if scheduler is not None else None
    lr_of = lr if callable(lr) else None
    lrs = None if callable(lr) else torch.tensor(_as_list(lr, V, "lr"), dtype=params[0].dtype,
                                                 device=stack.device)
    lr_now, lr_views = None, None
    Xd, Yd = X.to(stack.device), Y.to(stack.device)
    n = len(X)
    losses = torch.zeros(V, steps)  # filled by the loss log, trimmed if training stops early
    run = Run(models=models, losses=losses)
    log = _LossLog(losses, V, batch_size, loss_fn, exact=loss_fn is F.cross_entropy
                   and stack.device.type == "cpu" and params[0].dtype in (torch.float32,
                                                                          torch.float64))
    eval_data = eval_data or {}
    if record is not None:
        record._start(stack)

    bar = None
    if progress and steps > 0:
        bar = progress_bar(steps, description)
    tick = max(1, steps // 100)

    def do_eval(step):
        run.eval_steps.append(step)
        for name, (Xe, Ye) in eval_data.items():
            value = evaluate(stack, Xe, Ye, loss_fn=loss_fn)
            prev = run.evals.get(name)
            run.evals[name] = value[None] if prev is None else torch.cat([prev, value[None]])
        stack.write_back()
        return bool(callback(step, run)) if callback is not None else False

    start = time.perf_counter()
    done = 0
    # Minibatch indices are drawn CHUNK steps at a time: torch.randint(0, n, (k, B), g) gives
    # the same numbers as k calls of torch.randint(0, n, (B,), g). Not when a dropout layer
    # draws from the same generator in between: then one step at a time, as the plain loop.
    shared = any(getattr(layer, "generator", None) is g for m in models for layer in m
                 for g in generators)
    chunk = 1 if shared else 1024
    for step in range(steps):
        if step % chunk == 0:
            k = min(chunk, steps - step)  # never draw past the last step
            ix = torch.stack([torch.randint(0, n, (k, batch_size), generator=g)
                              for g in generators], 1).to(stack.device)  # (k, V, B)
            xs, ys = Xd[ix], Yd[ix]  # (k, V, B, ...), (k, V, B)
        xb, yb = xs[step % chunk], ys[step % chunk]  # (V, B, ...), (V, B)
        snap = record is not None and record._wants_snapshot(step)
        if snap:
            logits, outputs = record._forward(stack, xb)
        else:
            logits = stack(xb)  # (V, B, classes)
        per_example = loss_fn(logits.flatten(0, 1), yb.flatten(), reduction="none")
        loss = per_example.view(V, batch_size).sum(1) / batch_size  # (V,) each its own mean
        extra = None
        if penalty is not None:
            extra = penalty(stack.weights())
            loss = loss + extra
        log.add(step, per_example, logits, yb, extra)  # the value a plain loop prints
        for p in params:
            p.grad = None
        loss.sum().backward()  # variant v's parameters only see variant v's loss
        if snap:
            record._snapshot(step, stack, outputs)
        with torch.no_grad():
            if opt is None:
                if lr_of is not None and lr_of(step) != lr_now:  # a new tensor only on change
                    lr_now = lr_of(step)
                    lrs = torch.full((V,), float(lr_now), dtype=params[0].dtype,
                                     device=stack.device)
                    lr_views = None
                if lr_views is None:  # -lr shaped (V, 1, ...) for each parameter rank
                    lr_views = {d: -lrs.view(-1, *[1] * (d - 1)) for d in {p.dim() for p in params}}
                if record is not None:
                    record._update(params, lrs)
                steps_ = torch._foreach_mul([p.grad for p in params], [lr_views[p.dim()] for p in params])
                torch._foreach_add_(params, steps_)  # p += (-lr) * grad, as the plain loop
            else:
                before = record._weights_before(params) if record is not None else None
                opt.step()
                if record is not None:  # the step the optimizer really took, not lr * grad
                    record._update(params, before=before)
                if sched is not None:
                    sched.step()
        done = step + 1
        if bar is not None and (done % tick == 0 or done == steps):
            bar.update(done - bar.n)
        last = done == steps
        if (eval_every and done % eval_every == 0) or (last and eval_data):
            log.flush()
            if do_eval(done) and not last:
                break
            if bar is not None and run.evals:
                shown = {k: f"{v[-1].min():.4f}" + ("" if V == 1 else f"..{v[-1].max():.4f}")
                         for k, v in run.evals.items()}
                bar.set_postfix(shown, refresh=False)
    log.flush()
    run.seconds = time.perf_counter() - start
    run.steps_done = done
    if bar is not None:
        bar.close()
    stack.write_back()
    run.losses = losses[:, :done]
    return run


def throughput(run: Run) -> str:
    """One line: variants, steps, seconds and model-steps per second of a run."""
    V = len(run.models)
    return (f"{V} variant{'s' if V > 1 else ''} x {run.steps_done:,} steps in "
            f"{run.seconds:.1f} s: {run.steps_per_s:,.0f} model-steps/s")

