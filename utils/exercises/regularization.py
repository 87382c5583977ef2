"""Checkers for the exercises of the chapters *Regularization* and *Dropout and noise*.

Each reference is PyTorch's where PyTorch has the operation, never the solution:

- :func:`check_l1_prox_step`: one proximal gradient step on an L1 penalty, against
  ``torch.nn.functional.softshrink`` of a plain gradient step (which the student may not
  call), on the shown case and hidden ones (other shapes, step sizes and strengths, weights
  on the threshold, no penalty);
- :func:`check_adam_l2_weight`: a prediction, graded against a run of ``torch.optim.Adam``
  with ``weight_decay`` and no data gradient;
- :func:`check_adamw_best_decay`: a measured claim, the best AdamW weight decay of a grid
  for the chapter's overfitting model; the checker trains it again at the claimed value and
  at its neighbours in the grid;
- :func:`check_early_stopping`: a patience loop that checkpoints the best model and restores
  it, run on scripted validation curves whose answers are known (one with a tie, one that
  never stops early, one with another patience);
- :func:`check_dropout_forward`: inverted dropout with a given keep mask, in training and in
  eval mode, against ``torch.nn.functional.dropout``'s rule, on other shapes and rates;
- :func:`check_dropout_std`: a prediction, graded against ``torch.nn.functional.dropout``
  applied to a tensor of ones.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from ..checks import check, check_function, check_prediction, read_claim, returned
from ..data import digits_splits
from ..nn import Linear, ReLU, Sequential
from ..regularization import decay_groups
from . import exercise, hidden_generator

__all__ = ["check_l1_prox_step", "check_adam_l2_weight", "check_adamw_best_decay",
           "check_early_stopping", "check_dropout_forward", "check_dropout_std"]

DTYPE = torch.float64


def _unanswered(fn) -> bool:
    """True for an exercise left as None or ``...``; the checkers then say so."""
    return fn is None or fn is Ellipsis


# --- 06, exercise 1: the L1 proximal step (not shown on the page) ---------------------------

def _l1_prox_reference(w, grad, lr, weight_decay):
    # soft-thresholding of the plain gradient step: torch's softshrink is exactly that
    return F.softshrink(w - lr * grad, lr * weight_decay)


def _prox_cases():
    """The shown case (some gradient steps cross zero), then hidden ones drawn from the
    instructor's seed: another shape, step size and strength; a vector whose entries sit on
    the threshold (lr an int); no penalty at all; a 3-D weight."""
    def rand(g, *shape, scale=1.0):
        return scale * torch.randn(*shape, generator=g, dtype=DTYPE)

    g = torch.Generator().manual_seed(11)
    shown = (rand(g, 3, 5, scale=0.3), rand(g, 3, 5), 0.2, 0.5)
    g = hidden_generator(601)
    edge = torch.tensor([0.25, -0.25, 0.5, -0.125, 0.0, 1.0], dtype=DTYPE)
    hidden = [(rand(g, 2, 7, scale=0.1), rand(g, 2, 7), 0.5, 0.1),
              (edge, torch.zeros(6, dtype=DTYPE), 1, 0.25),
              (rand(g, 4, 3), rand(g, 4, 3), 0.05, 0),
              (rand(g, 2, 3, 4, scale=0.2), rand(g, 2, 3, 4), 0.2, 0.5)]
    return shown, hidden


_PROX_MISTAKES = {
    "a (sub)gradient step on the penalty: weights jump back and forth across zero "
    "instead of stopping there; the proximal step solves the small minimisation exactly":
        lambda w, grad, lr, wd: w - lr * (grad + wd * torch.sign(w)),
    "the threshold ignores the step size: the penalty's pull over one step of size lr "
    "is lr times weaker than the penalty's strength":
        lambda w, grad, lr, wd: torch.sign(w - lr * grad)
        * torch.clamp((w - lr * grad).abs() - wd, min=0),
    "hard thresholding: the small weights were set to zero, but the others were not "
    "moved towards zero":
        lambda w, grad, lr, wd: torch.where((w - lr * grad).abs() > lr * wd, w - lr * grad,
                                            torch.zeros_like(w)),
    "weights within the threshold crossed zero and changed sign: the minimiser stops at "
    "zero":
        lambda w, grad, lr, wd: torch.sign(w - lr * grad) * ((w - lr * grad).abs() - lr * wd),
    "the shrinking was applied to the old weights, before the gradient step: shrink the "
    "result of the gradient step":
        lambda w, grad, lr, wd: torch.sign(w) * torch.clamp(w.abs() - lr * wd, min=0) - lr * grad,
    "the direction of the shrinking came from the old weights: where the gradient step "
    "crossed zero, it points the wrong way":
        lambda w, grad, lr, wd: torch.sign(w) * torch.clamp((w - lr * grad).abs() - lr * wd,
                                                             min=0),
    "the gradient step went uphill (the gradient was added)":
        lambda w, grad, lr, wd: torch.sign(w + lr * grad)
        * torch.clamp((w + lr * grad).abs() - lr * wd, min=0),
}


@exercise("06_regularization", "l1_prox_step")
def check_l1_prox_step(l1_prox_step: Callable | None) -> bool:
    r"""Exercise: ``l1_prox_step(w, grad, lr, weight_decay)`` -> the new weights.

    One step of proximal gradient descent on :math:`L + \lambda\|\mathbf w\|_1`: the
    gradient step on :math:`L` alone, :math:`\mathbf v = \mathbf w - \eta\nabla L`, then
    :math:`\arg\min_{\mathbf u} \frac12\|\mathbf u - \mathbf v\|^2 + \eta\lambda\|\mathbf
    u\|_1`. Checked against ``torch.nn.functional.softshrink``, which the student's code may
    not call.
    """
    shown, hidden = _prox_cases()
    return check_function(l1_prox_step, _l1_prox_reference, *shown, cases=hidden,
                          name="l1 prox step", forbid=("torch.nn.functional.softshrink",),
                          atol=1e-12, rtol=1e-10, mistakes=_PROX_MISTAKES)


# --- 06, exercise 2: predict Adam's L2 decay without a data gradient ------------------------

ADAM_W0, ADAM_LR, ADAM_DECAY, ADAM_STEPS = 5.0, 0.01, 0.02, 50


def adam_l2_run(optimizer=torch.optim.Adam, steps: int = ADAM_STEPS) -> float:
    """The weight after ``steps`` steps of ``optimizer(lr=0.01, weight_decay=0.02)`` from
    5.0, with a data gradient of zero at every step (``w.grad`` set to zeros)."""
    w = torch.tensor([ADAM_W0], dtype=DTYPE, requires_grad=True)
    opt = optimizer([w], lr=ADAM_LR, weight_decay=ADAM_DECAY)
    for _ in range(steps):
        w.grad = torch.zeros_like(w)  # no data gradient: a None grad would skip the step
        opt.step()
    return w.item()


def _adam_without_bias_correction() -> float:
    w, m, v = ADAM_W0, 0.0, 0.0
    for _ in range(ADAM_STEPS):
        g = ADAM_DECAY * w
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        w -= ADAM_LR * m / (math.sqrt(v) + 1e-8)
    return w


@exercise("06_regularization", "adam_l2_weight", stubs=((None,), (...,)))
def check_adam_l2_weight(adam_l2_weight) -> bool:
    """Prediction: the weight after 50 steps of ``torch.optim.Adam(lr=0.01,
    weight_decay=0.02)`` from 5.0 with no data gradient, within 0.02."""
    return check_prediction(
        adam_l2_weight, adam_l2_run(),
        name="weight after 50 Adam steps (L2 0.02, no data gradient)", tolerance=0.02,
        mistakes={
            "that is decoupled decay, AdamW's (or SGD's) rule; torch.optim.Adam adds the "
            "penalty's gradient to the gradient, and Adam rescales it like any other":
                ADAM_W0 * (1 - ADAM_LR * ADAM_DECAY) ** ADAM_STEPS,
            "no step at all: the penalty has a gradient of its own, even where the data's is "
            "zero": ADAM_W0,
            "each step shrinks the weight by the fraction lr: Adam's step does not scale "
            "with the weight's size": ADAM_W0 * (1 - ADAM_LR) ** ADAM_STEPS,
            "Adam's bias correction was left out: torch corrects m and v for their start "
            "at zero": _adam_without_bias_correction(),
            "the weight does not reach zero in 50 steps: Adam's steps have a bounded size":
                0.0,
        },
        explain="with no data gradient, the only gradient Adam sees is the penalty's, a "
                "smooth and slowly changing one. Adam divides each gradient by the root of "
                "its own running mean square: how large is a step then, and does it depend "
                "on the weight or on the penalty's strength?")


# --- 06, exercise 3: a measured claim, AdamW's best weight decay ----------------------------

ADAMW_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)
ADAMW_STEPS, ADAMW_LR = 1500, 1e-3
_SGD_DECAY = 3e-3  # the SGD run's L2 strength on the page


def _digits_mlp():
    """The page's overfitting model: 64 -> 128 -> 128 -> 10, ReLU, weights from seed 0."""
    g = torch.Generator().manual_seed(0)
    return Sequential(Linear(64, 128, generator=g), ReLU(), Linear(128, 128, generator=g),
                      ReLU(), Linear(128, 10, generator=g))


class _AdamWPerVariant:
    """torch.optim.AdamW on stacked variants, each with its own weight decay: the matrices
    of variant v shrink by (1 - lr * decay[v]), then Adam's step (no decay in it), which is
    AdamW's order of operations. Biases are not decayed (``decay_groups``)."""

    def __init__(self, params, decays):
        self.matrices = decay_groups(params, 0.0, stacked=True)[0]["params"]
        self.adam = torch.optim.Adam(params, lr=ADAMW_LR)
        self.keep = 1 - ADAMW_LR * torch.tensor(decays)

    @torch.no_grad()
    def step(self):
        for p in self.matrices:  # (V, out, in)
            p.mul_(self.keep.to(p.dtype).view(-1, 1, 1))
        self.adam.step()


_MEASURED: dict = {}  # weight decay -> (final train loss, final val loss), once per process


def _adamw_losses(decays) -> dict:
    """{decay: (final train loss, final val loss)} of the page's AdamW run (1500 steps), one
    variant per decay not measured yet, trained side by side (each as it would train
    alone), on one thread (small matrices: as fast, and no fight over a busy CPU)."""
    from ..train import train  # the engine, only when a claim is checked

    todo = tuple(d for d in decays if d not in _MEASURED)
    if todo:
        (X_tr, y_tr), (X_va, y_va), _ = digits_splits(train_size=200, val_size=500)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            run = train([_digits_mlp() for _ in todo], X_tr, y_tr, steps=ADAMW_STEPS,
                        generators=[torch.Generator().manual_seed(1) for _ in todo],
                        batch_size=32, optimizer=lambda ps: _AdamWPerVariant(ps, todo),
                        eval_data={"train": (X_tr, y_tr), "val": (X_va, y_va)},
                        eval_every=ADAMW_STEPS, progress=False)
        finally:
            torch.set_num_threads(threads)
        for v, d in enumerate(todo):
            _MEASURED[d] = run.evals["train"][-1, v].item(), run.evals["val"][-1, v].item()
    return {d: _MEASURED[d] for d in decays}


@exercise("06_regularization", "adamw_best_decay", stubs=((None,), (...,)))
def check_adamw_best_decay(adamw_best_decay) -> bool:
    """Measured claim: the weight decay of ``ADAMW_GRID`` with the lowest final validation
    loss for the page's AdamW run (lr 1e-3, 1500 steps, matrices decayed). The checker
    trains at the claimed value and at its neighbours in the grid; the claim passes when
    its final validation loss is the lowest of them (within 1e-3)."""
    name = "AdamW's best weight decay"
    claim = read_claim(adamw_best_decay, name=name,
                       hint="write one value of the grid, e.g. `adamw_best_decay = 0.3`.")
    if claim is None:
        return False
    grid = ", ".join(f"{d:g}" for d in ADAMW_GRID)
    at = [i for i, d in enumerate(ADAMW_GRID) if math.isclose(claim, d, rel_tol=1e-6)]
    if not at:
        print(f"{name} | {claim:g} is not in the grid ({grid})")
        sgd = math.isclose(claim, _SGD_DECAY, rel_tol=1e-6)
        hint = ("that is the SGD penalty's strength: AdamW's weight_decay is multiplied by "
                "AdamW's own learning rate, 100 times smaller than SGD's" if sgd else
                "the claim is one of the grid's values, the one you measured best")
        raise AssertionError(f"{name}: {claim:g} is not one of the grid's values "
                             f"({grid}).\nHint: {hint}.")
    i = at[0]
    tried = ADAMW_GRID[max(i - 1, 0):i + 2]
    losses = _adamw_losses(tried)
    mine = losses[ADAMW_GRID[i]][1]
    best = min(tried, key=lambda d: losses[d][1])
    shown = "; ".join(f"{d:g}: {losses[d][1]:.4f}" for d in tried)
    ok = mine <= losses[best][1] + 1e-3
    print(f"{name} | claimed {ADAMW_GRID[i]:g} | final val loss, retrained: {shown}"
          + (" | ok" if ok else ""))
    if ok:
        return True
    what = (f"weight_decay {best:g} gives a lower final validation loss than your "
            f"{ADAMW_GRID[i]:g} ({losses[best][1]:.4f} against {mine:.4f})")
    if best > ADAMW_GRID[i]:
        hint = ("0.3 is the page's value, matched to the SGD run's shrinking per step, not "
                "tuned: measure the grid" if math.isclose(ADAMW_GRID[i], 0.3) else
                "too weak a decay: the model still overfits (its training loss is lower, "
                f"{losses[ADAMW_GRID[i]][0]:.4f} against {losses[best][0]:.4f}); compare "
                "the validation losses, not the training losses")
    else:
        hint = ("too strong a decay: the model underfits (its training loss is "
                f"{losses[ADAMW_GRID[i]][0]:.4f} against {losses[best][0]:.4f}); check that "
                "you decayed the same parameters with the same learning rate, and read the "
                "final validation loss of each run")
    raise AssertionError(f"{name}: {what}.\nHint: {hint}.")


# --- 06, exercise 4: early stopping from checkpoints --------------------------------------

# The scripted validation curve: after epoch k the model's weight is k and its validation
# loss is VAL_CURVE[k]. With patience 3 the best epoch is 5 and training stops after epoch 8.
VAL_CURVE = [1.2, 1.0, 0.8, 0.7, 0.72, 0.69, 0.75, 0.73, 0.74, 0.71, 0.78, 0.8, 0.9, 0.95,
             1.0, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3]
MAX_EPOCHS, PATIENCE = 20, 3
#: hidden runs (curve, max_epochs, patience, what it tries): a tie with the best loss (which
#: is no improvement), a run that ends at max_epochs without stopping early (the best
#: weights must be restored all the same), and another patience
HIDDEN_RUNS = [([1.2, 1.0, 0.9, 0.9, 0.95, 1.0, 1.1, 1.2], 7, 3, "a tie with the best loss"),
               ([1.0, 0.9, 0.8, 0.85, 0.7, 0.75], 5, 3, "no early stop"),
               ([1.0, 0.9, 0.8, 0.85, 0.82, 0.6, 0.9, 0.95, 1.0], 8, 2, "patience 2")]
_HIDDEN_MISTAKE = [
    "a loss EQUAL to the best is no improvement: the best epoch stays the first one that "
    "reached it",
    "the best weights were restored only when training stopped early: load the best "
    "checkpoint back however the loop ended",
    "the patience given as an argument was not used (a fixed patience?)"]


def _hidden_mistake(k: int, expected: dict) -> dict:
    """What the k-th hidden run's typical mistake returns (the parts it gets wrong)."""
    wrong = {n: None for n in expected}
    if k == 1:
        return {**wrong, "best epoch": expected["best epoch"] + 1}
    if k == 2:  # the last epoch's weight
        return {**wrong, "weight after": torch.full_like(expected["weight after"],
                                                         float(expected["epochs trained"]))}
    return {**wrong, "best epoch": 5, "epochs trained": 8}  # patience 3: on to the 0.6


def _early_stopping_reference(model, train_epoch, val_loss, max_epochs, patience, path):
    best, best_epoch, bad = float("inf"), 0, 0
    for epoch in range(1, max_epochs + 1):
        train_epoch(model)
        loss = val_loss(model)
        if loss < best:
            best, best_epoch, bad = loss, epoch, 0
            torch.save(model.state_dict(), path)
        else:
            bad += 1
            if bad >= patience:
                break
    model.load_state_dict(torch.load(path))
    return best_epoch, best


def _early_stopping_outcome(fn, folder: Path, curve=None, max_epochs=MAX_EPOCHS,
                            patience=PATIENCE):
    """Run ``fn`` on the scripted problem (``VAL_CURVE``, or another validation curve);
    everything the checker compares, as a dict."""
    curve = VAL_CURVE if curve is None else curve
    model = Linear(1, 1, bias=False, dtype=DTYPE)
    with torch.no_grad():
        model.weight.zero_()
    epochs = []

    def train_epoch(model):  # one "epoch" of training: the weight counts the epochs
        with torch.no_grad():
            model.weight += 1
        epochs.append(1)

    def val_loss(model):
        return curve[min(int(round(model.weight.item())), len(curve) - 1)]

    path = folder / "best.pt"
    try:
        answer = fn(model, train_epoch, val_loss, max_epochs, patience, path)
    except NotImplementedError:
        return None, path  # the stub: not attempted
    returned(answer, "early stopping")
    best_epoch, best_loss = answer if isinstance(answer, (tuple, list)) and len(answer) == 2 \
        else (answer, None)
    return {"best epoch": best_epoch, "best val loss": best_loss,
            "epochs trained": len(epochs), "weight after": model.weight.detach().clone()}, path


def _checkpoint_weight(path: Path):
    saved = torch.load(path)
    return saved.get("weight") if isinstance(saved, dict) else saved


@exercise("06_regularization", "train_with_early_stopping")
def check_early_stopping(train_with_early_stopping: Callable | None) -> None:
    """Exercise: ``train_with_early_stopping(model, train_epoch, val_loss, max_epochs,
    patience, path)`` -> ``(best_epoch, best_loss)``.

    Epochs count from 1. After each epoch, a validation loss strictly below the best so far
    is an improvement: save ``model.state_dict()`` to ``path`` with ``torch.save``; after
    ``patience`` epochs in a row without improvement, stop. Before returning, load the best
    checkpoint back into ``model``. Its mistakes are planted in
    ``tests/test_exercises_regularization.py`` (the checker runs the student's function on
    scripted problems, so the generic tests cannot plant them).
    """
    with tempfile.TemporaryDirectory() as ref, tempfile.TemporaryDirectory() as yours:
        expected, _ = _early_stopping_outcome(_early_stopping_reference, Path(ref))
        got, path = None, Path(yours) / "best.pt"
        if not _unanswered(train_with_early_stopping):
            got, path = _early_stopping_outcome(train_with_early_stopping, Path(yours))
        w = expected["weight after"]
        mistakes = {
            "patience counts the epochs since the BEST loss: the counter was reset when the "
            "loss beat the previous epoch's, so training ran on past the right stop":
                {"epochs trained": 12},
            "stopped one epoch late: stop as soon as `patience` epochs in a row have "
            "brought no improvement": {"epochs trained": PATIENCE + 6},
            "never stopped: count the epochs without improvement and stop at `patience`":
                {"epochs trained": MAX_EPOCHS},
            "epochs count from 1 (the first epoch of training is epoch 1)":
                {"best epoch": expected["best epoch"] - 1},
            "the model keeps the weights of the LAST epoch: load the best checkpoint back "
            "into the model before returning": {"weight after": w + 3},
            "the loss returned is the last epoch's; return the best one recorded":
                {"best val loss": VAL_CURVE[8]},
        }
        mistakes = {k: {**{n: None for n in expected}, **v} for k, v in mistakes.items()}
        done = check(got, expected, name="early stopping", atol=1e-12, rtol=1e-10,
                     mistakes=mistakes)
        saved = _checkpoint_weight(path) if done and path.exists() else None
        if done and saved is None:
            raise AssertionError(
                f"early stopping is wrong.\n  expected: the best state_dict saved at {path}\n"
                "  got:      no such file, or no 'weight' in it\n"
                "Hint: the best model must be saved to `path` with torch.save (the checker "
                "reads the file).")
        if done:
            check(saved, w, name="checkpoint", atol=1e-12, rtol=1e-10,
                  mistakes={"the file holds the last epoch's weights: save only when the "
                            "validation loss improves": w + 3})
        for k, (curve, epochs, patience, what) in enumerate(HIDDEN_RUNS, 1) if done else ():
            name = f"hidden run {k} ({what})"
            folders = [Path(ref) / f"hidden{k}", Path(yours) / f"hidden{k}"]
            for folder in folders:
                folder.mkdir()
            hidden = [_early_stopping_outcome(f, folder, curve, epochs, patience)[0]
                      for f, folder in zip((_early_stopping_reference,
                                            train_with_early_stopping), folders)]
            named = [None if h is None else {f"{n}, {name}": v for n, v in h.items()}
                     for h in hidden + [_hidden_mistake(k, hidden[0])]]
            check(named[1], named[0], name=name, atol=1e-12, rtol=1e-10,
                  mistakes={_HIDDEN_MISTAKE[k - 1]: named[2]})
        return done


# --- 06b, exercise 1: inverted dropout with a given mask ------------------------------------

def _dropout_reference(x, mask, p, training):
    # torch.nn.functional.dropout's rule with our mask: kept entries scaled by 1/(1 - p);
    # in eval mode torch's own function (the identity)
    return x * mask / (1 - p) if training else F.dropout(x, p, training=False)


def _dropout_cases():
    """The shown case (training) and the same in eval mode, then hidden ones drawn from the
    instructor's seed: a 3-D input at p = 0.8, a vector at p = 0.1 in eval mode, p = 0.5 on
    a wide input, and eval mode at p = 0.25."""
    def case(g, shape, p, training):
        x = torch.randn(shape, generator=g, dtype=DTYPE)
        return x, torch.empty_like(x).bernoulli_(1 - p, generator=g), p, training

    shown = case(torch.Generator().manual_seed(1), (4, 6), 0.3, True)
    g = hidden_generator(602)
    return shown, [shown[:3] + (False,), case(g, (3, 5, 2), 0.8, True),
                   case(g, (5,), 0.1, False), case(g, (2, 9), 0.5, True),
                   case(g, (6, 3), 0.25, False)]


_DROPOUT_MISTAKES = {
    "training output not rescaled: inverted dropout rescales the kept units, so that "
    "E[y] = x and eval mode can use x as it is":
        lambda x, m, p, training: x * m if training else x,
    "divided by p: p is the probability of DROPPING a unit (torch's convention); the kept "
    "units are rescaled by the KEEP probability":
        lambda x, m, p, training: x * m / p if training else x,
    "multiplied by (1 - p) while training: that is the original dropout's rule for "
    "inference; inverted dropout rescales the other way, while training":
        lambda x, m, p, training: x * m * (1 - p) if training else x,
    "the mask was applied in eval mode: at inference every unit is used":
        lambda x, m, p, training: x * m / (1 - p),
    "eval output scaled by (1 - p): with inverted dropout the scaling already happened "
    "during training, so nothing is scaled in eval mode":
        lambda x, m, p, training: x * m / (1 - p) if training else x * (1 - p),
    "the mask was used the wrong way round: it is 1 for the units that are KEPT":
        lambda x, m, p, training: x * (1 - m) / (1 - p) if training else x,
}


def _unchanged_inputs(dropout_forward, case) -> None:
    """The student's function must leave x and the mask as they were (both modes)."""
    for training in (True, False):
        x, mask = case[0].clone(), case[1].clone()
        try:
            dropout_forward(x, mask, case[2], training)
        except Exception:  # noqa: BLE001 - it ran on these inputs in check_function
            return
        for what, before, after in (("x", case[0], x), ("mask", case[1], mask)):
            if not torch.equal(before, after):
                raise AssertionError(
                    f"dropout ({'train' if training else 'eval'} mode): your function changed "
                    f"its input {what} in place (x *= mask, x.mul_, ...): the layer below "
                    "still needs those activations, and the next call sees the changed ones."
                    "\nHint: compute a new tensor and return it.")


@exercise("06b_dropout_and_noise", "dropout_forward")
def check_dropout_forward(dropout_forward: Callable | None) -> bool:
    """Exercise: ``dropout_forward(x, mask, p, training)`` -> the output of inverted dropout.

    ``mask`` is 1 where a unit is kept (drawn with probability 1 - p) and 0 where it is
    dropped; ``p`` is the probability of dropping, as in ``torch.nn.Dropout``. Each case is
    one call, in training or in eval mode (the last argument); afterwards the checker makes
    sure that neither ``x`` nor ``mask`` was changed in place.
    """
    shown, hidden = _dropout_cases()
    done = check_function(dropout_forward, _dropout_reference, *shown, cases=hidden,
                          name="dropout", atol=1e-12, rtol=1e-10, mistakes=_DROPOUT_MISTAKES)
    if done:
        _unchanged_inputs(dropout_forward, shown)
    return done


# --- 06b, exercise 2: predict the spread of dropout's output --------------------------------

DROPOUT_P = 0.36


def dropout_of_ones(p: float = DROPOUT_P, shape=(1000, 1000), seed: int = 0) -> torch.Tensor:
    """``torch.nn.functional.dropout(torch.ones(shape), p)`` in training mode, drawn from
    ``seed`` without touching the global random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return F.dropout(torch.ones(shape), p, training=True)


@exercise("06b_dropout_and_noise", "dropout_std", stubs=((None,), (...,)))
def check_dropout_std(dropout_std) -> bool:
    """Prediction: the standard deviation of the entries of inverted dropout's output at
    p = 0.36 (training mode) on a tensor of ones, within 0.02."""
    q = 1 - DROPOUT_P
    return check_prediction(
        dropout_std, dropout_of_ones().std().item(),
        name=f"std of dropout's output (p = {DROPOUT_P}, ones, training)", tolerance=0.02,
        mistakes={
            "that is the spread of the mask alone: inverted dropout also rescales the kept "
            "units while training": math.sqrt(DROPOUT_P * q),
            "that is the variance; the standard deviation is its square root":
                DROPOUT_P / q,
            "that is the value of a kept unit, not the spread of the output": 1 / q,
            "that is the root mean square: the standard deviation is taken around the "
            "mean, which is not zero": math.sqrt(1 / q),
            "in training mode the output is random (a kept unit or a zero): its mean is "
            "fixed, its entries are not": 0.0,
            "p is the share of zeros in the output, not their spread": DROPOUT_P,
        },
        explain="each entry is a kept, rescaled unit with probability 1 - p and a zero "
                "otherwise: work out its mean and its mean square, then the variance.")
