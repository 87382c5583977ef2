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
generator and its gradient is that of its own loss, so its numbers are those of the loop
above run alone with the same generator, whichever variants run beside it: bit for bit for
the lecture's names MLP and the deep diagnostics nets (``tests/test_train.py`` checks this
against the plain loop in float32); for other layer shapes the batched and the plain matrix
products may round differently in the last bit. A single CPU model with the built-in update
and no Recorder is not stacked at all: it trains as itself (:class:`utils.batched.Single`),
which is the loop above, op for op, and so never slower than it. One detail: the
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

from . import nn
from .batched import LossLog, Single, Stacked
from .progress import progress_bar

__all__ = ["sgd", "step_decay", "train", "Run", "Recorder", "evaluate", "throughput"]


def step_decay(lr: float = 0.1, final_lr: float = 0.01, *, at: int = 100_000) -> Callable:
    """The lecture's schedule: ``lr`` for the first ``at`` steps, then ``final_lr``.

    Example:
        >>> schedule = step_decay(0.1, 0.01, at=100_000)
        >>> schedule(0), schedule(99_999), schedule(100_000)
        (0.1, 0.1, 0.01)
    """
    return lambda step: lr if step < at else final_lr


def sgd(model, X: torch.Tensor, Y: torch.Tensor, *, steps: int, generator: torch.Generator,
        lr: float = 0.1, batch_size: int = 32, every: int = 0,
        callback: Callable | None = None, progress: bool = True,
        description: str = "training") -> torch.Tensor:
    """The lecture's minibatch SGD loop for one model, as the chapters show it; returns the
    (steps,) minibatch losses.

    This is the plain loop that :func:`train` runs for several variants at once: each step
    draws ``torch.randint(0, len(X), (batch_size,), generator=generator)``, so the losses are
    bit for bit those of ``train(model, X, Y, generators=generator, lr=lr)``
    (``tests/test_train.py``). Use it for one model, for layers that :func:`train` cannot
    stack, or to measure the model between steps: with ``every`` > 0,
    ``callback(step, model)`` runs before the first step and after every ``every`` steps
    (``step`` = steps done so far).
    """
    params = model.parameters()
    losses = torch.zeros(steps)
    bar = None
    if progress and steps > 0:
        bar = progress_bar(steps, description)
    model.train()
    for step in range(steps):
        if every and callback is not None and step % every == 0:
            callback(step, model)
        ix = torch.randint(0, len(X), (batch_size,), generator=generator)
        loss = F.cross_entropy(model(X[ix]), Y[ix])
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p += -lr * p.grad
        losses[step] = loss.item()
        if bar is not None and ((step + 1) % max(1, steps // 100) == 0 or step + 1 == steps):
            bar.update(step + 1 - bar.n)
    if every and callback is not None and steps % every == 0:
        callback(steps, model)
    if bar is not None:
        bar.close()
    return losses


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

    :func:`train` talks to a recorder through six methods: :meth:`start` once, then at each
    step :meth:`wants_snapshot`, :meth:`forward` and :meth:`snapshot` (on snapshot steps) and
    :meth:`update` (with :meth:`weights_before` when an optimizer takes the step). The
    notebooks read it with :meth:`activations`, :meth:`activation_grads`, :meth:`weights`,
    :meth:`weight_grads` and :meth:`update_ratios`, each filtered by layer class with
    ``kind=``, e.g. ``record.weights(0, variant=2, kind=nn.Linear)``.
    """

    #: the layers whose outputs a snapshot keeps
    SNAPSHOT_KINDS = (nn.Tanh, nn.ReLU, nn.BatchNorm1d)

    def __init__(self, snapshots: Sequence[int] = (0,), update_ratios: bool = True) -> None:
        self.snapshot_steps = sorted(set(int(s) for s in snapshots))
        self.record_updates = bool(update_ratios)
        self._snap: dict[int, dict] = {}
        self._ratios: list[torch.Tensor] = []
        self.param_names: list[str] = []

    # -- the hooks train() calls -------------------------------------------------------
    def start(self, stack: Stacked) -> None:
        """Learn the layers of ``stack``: each layer's name and class, and which parameters
        get an update ratio (those with two or more dimensions: weights, not biases)."""
        self.layer_names, self.param_names = [], []
        self._kinds: dict[str, type] = {}
        for i, layer in enumerate(stack.layers):
            kind = type(layer.layers[0])  # the plain layer's class, e.g. utils.nn.Tanh
            name = f"layer {i} ({kind.__name__})"
            self.layer_names.append(name)
            self._kinds[name] = kind
            for attr in getattr(layer, "names", ()):
                if attr in ("weight", "bias") and getattr(layer, attr) is not None:
                    self.param_names.append(f"{name}.{attr}")
                    self._kinds[f"{name}.{attr}"] = kind
        params = stack.parameters()
        self._ratio_index = [j for j, p in enumerate(params) if p.dim() >= 3]  # (V, >=2 dims)

    def wants_snapshot(self, step: int) -> bool:
        """Whether step ``step`` (0-based) is one of ``snapshots``."""
        return step in self.snapshot_steps

    def forward(self, stack: Stacked, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """``stack(x)``, keeping (with ``retain_grad``) the outputs of the layers in
        :attr:`SNAPSHOT_KINDS`; returns the logits and ``{layer name: output}``."""
        outputs = {}
        for name, layer in zip(self.layer_names, stack.layers):
            x = layer(x)
            if issubclass(self._kinds[name], self.SNAPSHOT_KINDS):
                x.retain_grad()
                outputs[name] = x
        return x, outputs

    def snapshot(self, step: int, stack: Stacked, outputs: dict) -> None:
        """After the backward pass of a snapshot step: keep the outputs and their gradients,
        and each weight with its gradient, in the plain (out, in) layout."""
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

    def weights_before(self, params: list[torch.Tensor]) -> dict[int, torch.Tensor] | None:
        """Copies of the recorded weights, taken before an optimizer's step (else None)."""
        if not self.record_updates:
            return None
        return {j: params[j].detach().clone() for j in self._ratio_index}

    def update(self, params: list[torch.Tensor], lrs: torch.Tensor | None = None,
               before: dict[int, torch.Tensor] | None = None) -> None:
        """Append this step's ratios: std(lr * grad) = lr * std(grad) for the built-in SGD
        (``lrs``, before the step), or the std of the change since ``before`` (after an
        optimizer's step)."""
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
    def _get(self, step: int, what: str, variant: int, kind) -> dict[str, torch.Tensor]:
        if step not in self._snap:
            raise KeyError(f"no snapshot at step {step}; recorded: {sorted(self._snap)}")
        return {name: t[variant].flatten() for name, t in self._snap[step][what].items()
                if kind is None or issubclass(self._kinds[name], kind)}

    def activations(self, step: int, variant: int = 0, kind: type | None = None) -> dict[str, torch.Tensor]:
        """``{layer name: 1-D tensor}`` the outputs of each Tanh/ReLU/BatchNorm layer, or only
        of the layers of class ``kind`` (e.g. ``kind=utils.nn.Tanh``)."""
        return self._get(step, "out", variant, kind)

    def activation_grads(self, step: int, variant: int = 0, kind: type | None = None) -> dict[str, torch.Tensor]:
        """``{layer name: 1-D tensor}`` the gradients of the loss at those outputs."""
        return self._get(step, "out_grad", variant, kind)

    def weights(self, step: int, variant: int = 0, kind: type | None = None) -> dict[str, torch.Tensor]:
        """``{parameter name: 1-D tensor}`` each weight (not the 1-D biases), or only those
        of the layers of class ``kind`` (e.g. ``kind=utils.nn.Linear``)."""
        return self._get(step, "weight", variant, kind)

    def weight_grads(self, step: int, variant: int = 0, kind: type | None = None) -> dict[str, torch.Tensor]:
        """``{parameter name: 1-D tensor}`` their gradients at that step."""
        return self._get(step, "weight_grad", variant, kind)

    def update_ratios(self, variant: int = 0, kind: type | None = None) -> dict[str, torch.Tensor]:
        """``{parameter name: (steps,)}`` the log10 update:data ratio at every step."""
        if not self._ratios:
            return {}
        table = torch.stack(self._ratios)[:, variant]  # (steps, n_weights)
        names = [n for j, n in enumerate(self.param_names) if j in self._ratio_index]
        return {name: table[:, k] for k, name in enumerate(names)
                if kind is None or issubclass(self._kinds[name], kind)}


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
        eval_data: ``{name: (X, Y)}`` evaluated in eval mode every ``eval_every`` steps
            (default: only after the last step).
        callback: ``callback(step, run)`` after each evaluation, with the variants' own
            models already updated; return True to stop training there.
        record: a :class:`Recorder` (default: None). progress, description: the progress
            bar (:func:`utils.progress.progress_bar`) and its label.
        loss_fn: ``loss_fn(logits, targets, reduction="none")`` (default: cross-entropy).
        device: where to compute (default: ``"cpu"``; ``"cuda"`` when available).

    Returns:
        A :class:`Run`; the variants' models hold the trained values.
    """
    models, generators = _check_arguments(models, generators, X, Y, steps)
    stack = _stack(models, record, optimizer, loss_fn, device).train()
    batches = _Minibatches(X, Y, generators, batch_size, steps, stack.device,
                           one_at_a_time=_shares_a_generator(models, generators))
    run = Run(models=models, losses=torch.zeros(len(models), steps))
    step_fn = _Step(stack, loss_fn, penalty, record, batch_size, run.losses)
    update = _Update(stack, lr, optimizer, scheduler, record)
    evaluator = _Evaluator(stack, run, eval_data or {}, eval_every, callback, loss_fn,
                           progress_bar(steps, description) if progress and steps > 0 else None)
    start, done = time.perf_counter(), 0
    for step in range(steps):
        step_fn(step, *batches(step))  # forward, loss, backward (and the Recorder's hooks)
        update(step)  # p += -lr * grad, or the optimizer's step
        done = step + 1
        if evaluator.after(done, steps, log=step_fn.log):  # progress, evaluation, callback
            break  # the callback asked to stop
    step_fn.log.flush()
    run.seconds, run.steps_done = time.perf_counter() - start, done
    evaluator.close()
    stack.write_back()
    run.losses = run.losses[:, :done]
    return run


def _check_arguments(models, generators, X, Y, steps):
    single = not isinstance(models, (list, tuple))
    models = [models] if single else list(models)
    generators = [generators] if single else _as_list(generators, len(models), "generators")
    if not all(isinstance(g, torch.Generator) for g in generators):
        raise TypeError(f"generators must be torch.Generator objects, got "
                        f"{[type(g).__name__ for g in generators]}")
    if len(set(map(id, generators))) != len(models):
        raise ValueError("each variant needs its own generator (the same object was passed twice)")
    if len(X) != len(Y):
        raise ValueError(f"X and Y must have the same length, got {len(X)} and {len(Y)}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    if Y.dtype != torch.long:
        raise TypeError(f"Y must hold int64 class indices, got dtype {Y.dtype}")
    return models, generators


def _stack(models, record, optimizer, loss_fn, device) -> Stacked | Single:
    """One CPU model with the built-in update and no Recorder trains as itself (the plain
    loop, no copies); an optimizer is promised stacked parameters, so it gets a Stacked."""
    if (len(models) == 1 and record is None and optimizer is None
            and loss_fn is F.cross_entropy and torch.device(device).type == "cpu"):
        return Single(models[0])
    return Stacked(models, device=device)


def _shares_a_generator(models, generators) -> bool:
    """Whether a layer (dropout) draws from a variant's minibatch generator between steps."""
    return any(getattr(layer, "generator", None) is g for m in models for layer in m
               for g in generators)


class _Minibatches:
    """Each variant's minibatch at each step, as the plain loop draws it.

    ``torch.randint(0, n, (k, B), generator=g)`` gives the same numbers as k calls of
    ``torch.randint(0, n, (B,), generator=g)``, so the indices are drawn 1,024 steps at a
    time; one step at a time when a dropout layer draws from the same generator in between.
    """

    def __init__(self, X, Y, generators, batch_size, steps, device, one_at_a_time):
        self.X, self.Y, self.device = X.to(device), Y.to(device), device
        self.generators, self.batch_size, self.steps = generators, batch_size, steps
        self.chunk = 1 if one_at_a_time else 1024

    def __call__(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        if step % self.chunk == 0:
            k = min(self.chunk, self.steps - step)  # never draw past the last step
            ix = torch.stack([torch.randint(0, len(self.X), (k, self.batch_size), generator=g)
                              for g in self.generators], 1).to(self.device)  # (k, V, B)
            self.xs, self.ys = self.X[ix], self.Y[ix]  # (k, V, B, ...), (k, V, B)
        return self.xs[step % self.chunk], self.ys[step % self.chunk]  # (V, B, ...), (V, B)


class _Step:
    """Forward, loss and backward of one step for all variants; logs the plain loop's loss."""

    def __init__(self, stack, loss_fn, penalty, record, batch_size, losses):
        self.stack, self.loss_fn, self.penalty, self.record = stack, loss_fn, penalty, record
        self.params, self.B = stack.parameters(), batch_size
        exact = (loss_fn is F.cross_entropy and stack.device.type == "cpu"
                 and self.params[0].dtype in (torch.float32, torch.float64))
        self.log = LossLog(losses, len(stack), batch_size, loss_fn, exact=exact)
        self.single = len(stack) == 1 and loss_fn is F.cross_entropy
        if record is not None:
            record.start(stack)

    def __call__(self, step, xb, yb):
        snap = self.record is not None and self.record.wants_snapshot(step)
        outputs = per_example = means = None
        if isinstance(self.stack, Single):  # one model, computed as itself: the plain loop
            loss = self.loss_fn(self.stack.one(xb[0]), yb[0])  # a scalar, as in the plain loop
            means, logits = loss.detach()[None], None  # (1,)
        else:
            logits, outputs = self.record.forward(self.stack, xb) if snap else (self.stack(xb), None)
            if self.single:  # one stacked variant: the plain loop's mean (the same gradient)
                loss = self.loss_fn(logits[0], yb[0])
                means = loss.detach()[None]
            else:
                per_example = self.loss_fn(logits.flatten(0, 1), yb.flatten(), reduction="none")
                loss = per_example.view(len(self.stack), self.B).sum(1) / self.B  # (V,) means
        extra = None
        if self.penalty is not None:
            extra = self.penalty(self.stack.weights())  # (V,)
            loss = loss + (extra[0] if self.single else extra)
        self.log.add(step, per_example, logits, yb, extra, means)  # what a plain loop prints
        for p in self.params:
            p.grad = None
        (loss if self.single else loss.sum()).backward()  # variant v's parameters see its loss
        if snap:
            self.record.snapshot(step, self.stack, outputs)


class _Update:
    """The step of the parameters: the built-in ``p += -lr * grad`` (each variant its own lr,
    a number, a list or a schedule), or an optimizer's (with its scheduler)."""

    def __init__(self, stack, lr, optimizer, scheduler, record):
        self.params, self.record, self.V = stack.parameters(), record, len(stack)
        self.dtype, self.device = self.params[0].dtype, stack.device
        self.opt = optimizer(self.params) if optimizer is not None else None
        self.sched = scheduler(self.opt) if scheduler is not None else None
        self.schedule = lr if callable(lr) else None
        self.lr_now, self.lrs = None, None
        if self.schedule is None:
            self._set(torch.tensor(_as_list(lr, self.V, "lr"), dtype=self.dtype, device=self.device))

    def _set(self, lrs):
        self.lrs = lrs  # (V,); -lr shaped (V, 1, ...) for each parameter's rank
        self.neg = {d: -lrs.view(-1, *[1] * (d - 1)) for d in {p.dim() for p in self.params}}

    @torch.no_grad()
    def __call__(self, step: int) -> None:
        if self.opt is not None:
            before = self.record.weights_before(self.params) if self.record is not None else None
            self.opt.step()
            if self.record is not None:  # the step the optimizer really took, not lr * grad
                self.record.update(self.params, before=before)
            if self.sched is not None:
                self.sched.step()
            return
        if self.schedule is not None and self.schedule(step) != self.lr_now:  # new tensor on change
            self.lr_now = self.schedule(step)
            self._set(torch.full((self.V,), float(self.lr_now), dtype=self.dtype,
                                 device=self.device))
        if self.record is not None:
            self.record.update(self.params, self.lrs)
        for p in self.params:
            p.add_(p.grad * self.neg[p.dim()])  # p += (-lr) * grad, as the plain loop


class _Evaluator:
    """After each step: the progress bar; every ``eval_every`` steps and after the last,
    evaluation, the callback and the bar's postfix. :meth:`after` says whether to stop."""

    def __init__(self, stack, run, eval_data, eval_every, callback, loss_fn, bar):
        self.stack, self.run, self.data, self.every = stack, run, eval_data, eval_every
        self.callback, self.loss_fn, self.bar = callback, loss_fn, bar

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def after(self, done: int, steps: int, *, log) -> bool:
        last = done == steps
        if self.bar is not None and (done % max(1, steps // 100) == 0 or last):
            self.bar.update(done - self.bar.n)
        if not ((self.every and done % self.every == 0) or (last and self.data)):
            return False
        log.flush()
        run = self.run
        run.eval_steps.append(done)
        for name, (Xe, Ye) in self.data.items():
            value = evaluate(self.stack, Xe, Ye, loss_fn=self.loss_fn)[None]
            run.evals[name] = value if name not in run.evals else torch.cat([run.evals[name], value])
        self.stack.write_back()
        if self.callback is not None and self.callback(done, run) and not last:
            return True
        if self.bar is not None and run.evals:
            V = len(self.stack)
            self.bar.set_postfix({k: f"{v[-1].min():.4f}" + ("" if V == 1 else f"..{v[-1].max():.4f}")
                                  for k, v in run.evals.items()}, refresh=False)
        return False


def throughput(run: Run) -> str:
    """One line: variants, steps, seconds and model-steps per second of a run."""
    V = len(run.models)
    return (f"{V} variant{'s' if V > 1 else ''} x {run.steps_done:,} steps in "
            f"{run.seconds:.1f} s: {run.steps_per_s:,.0f} model-steps/s")

