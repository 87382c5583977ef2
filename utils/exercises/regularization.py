"""Checkers for the exercises of the chapter *Regularization*.

- :func:`check_l2_term`: the ridge penalty on the weight matrices and its gradient, against
  autograd;
- :func:`check_dropout_forward`: inverted dropout with a given keep mask, in training and in
  eval mode, against ``torch.nn.functional.dropout``'s rule;
- :func:`check_early_stopping`: a patience loop that checkpoints the best model and restores
  it, run on a scripted validation curve whose answer is known.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import torch

from ..checks import check, check_function, returned
from . import exercise
from ..nn import Linear

DTYPE = torch.float64


def _unanswered(fn) -> bool:
    """True for an exercise left as None or ``...``; the checkers then say so."""
    return fn is None or fn is Ellipsis


NAMES = ("dW1", "db1", "dW2", "db2")


def _l2_named(penalty, grads):
    """``{"penalty": ..., "dW1": ..., ...}`` from ``(penalty, grads)``, for one line each."""
    return {"penalty": penalty, **dict(zip(NAMES, grads))}


def _l2_reference(params, weight_decay):
    params = [p.detach().clone().requires_grad_(True) for p in params]
    penalty = weight_decay / 2 * sum((p ** 2).sum() for p in params if p.dim() >= 2)
    grads = torch.autograd.grad(penalty, params, materialize_grads=True)  # zeros for biases
    return _l2_named(penalty.detach(), grads)


@exercise("06_regularization", "l2_term")
def check_l2_term(l2_term: Callable | None) -> None:
    r"""Exercise: ``l2_term(params, weight_decay)`` -> ``(penalty, grads)``.

    ``params`` is ``[W1, b1, W2, b2]``; the penalty is
    :math:`\frac\lambda2(\|W_1\|^2 + \|W_2\|^2)` (weight matrices only) and ``grads`` its
    gradient with respect to each of the four tensors, in order.
    """
    g = torch.Generator().manual_seed(0)
    params = [torch.randn(s, generator=g, dtype=DTYPE) for s in [(5, 3), (5,), (2, 5), (2,)]]
    lam = 0.1

    def student(params, lam):
        answer = l2_term(params, lam)
        if isinstance(answer, (tuple, list)) and len(answer) == 2 \
                and isinstance(answer[1], (tuple, list)) and len(answer[1]) == len(NAMES):
            return _l2_named(*answer)
        return answer  # None (not attempted) or a misfit, which check() explains

    def mistake(penalty_of, grad_of):
        return lambda ps, lam: _l2_named(penalty_of(ps, lam), [grad_of(p, lam) for p in ps])

    def matrices(params):
        return [p for p in params if p.dim() >= 2]

    check_function(
        None if _unanswered(l2_term) else student, _l2_reference, params, lam,
        name="l2 term", atol=1e-12, rtol=1e-10,
        mistakes={
            "the gradient of (lambda/2) ||w||^2 is lambda * w: the 2 from the square cancels "
            "the 1/2, so 2 * lambda * w is twice too large": mistake(
                lambda ps, lam: _l2_reference(ps, lam)["penalty"],
                lambda p, lam: 2 * lam * p if p.dim() >= 2 else 0 * p),
            "the penalty is (lambda/2) ||w||^2, with the 1/2: without it the penalty and its "
            "gradient are twice too large": mistake(
                lambda ps, lam: lam * sum((p ** 2).sum() for p in matrices(ps)),
                lambda p, lam: 2 * lam * p if p.dim() >= 2 else 0 * p),
            "the biases were penalised too: weight decay acts on the weight matrices only, "
            "so the penalty's gradient for a bias is zero": mistake(
                lambda ps, lam: lam / 2 * sum((p ** 2).sum() for p in ps),
                lambda p, lam: lam * p),
            "the mean of the squared entries instead of their sum: ||w||^2 adds up every "
            "squared entry of the weight vector": mistake(
                lambda ps, lam: lam / 2 * sum((p ** 2).mean() for p in matrices(ps)),
                lambda p, lam: lam * p / p.numel() if p.dim() >= 2 else 0 * p),
        },
    )


@exercise("06b_dropout_and_noise", "dropout_forward")
def check_dropout_forward(dropout_forward: Callable | None) -> None:
    """Exercise: ``dropout_forward(x, mask, p, training)`` -> the output of inverted dropout.

    ``mask`` is 1 where a unit is kept (drawn with probability 1 - p) and 0 where it is
    dropped; ``p`` is the probability of dropping, as in ``torch.nn.Dropout``. The checker
    calls the function in training mode and in eval mode.
    """
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 6, generator=g, dtype=DTYPE)
    p = 0.3
    mask = torch.empty_like(x).bernoulli_(1 - p, generator=g)

    def modes(train, eval):
        return {"train mode": train, "eval mode": eval}

    def student(x, mask, p):
        before = x.clone()
        train = returned(dropout_forward(x, mask, p, True), "train mode")
        if not torch.equal(x, before):
            raise AssertionError(
                "dropout: your function changed its input x in place (x *= mask, or x.mul_): "
                "the layer below still needs those activations, and the next call sees the "
                "changed ones.\nHint: compute a new tensor from x and return it.")
        return modes(train, returned(dropout_forward(x, mask, p, False), "eval mode"))

    def reference(x, mask, p):
        # F.dropout's rule, with our mask: kept entries scaled by 1/(1 - p); eval: identity
        return modes(x * mask / (1 - p), torch.nn.functional.dropout(x, p, training=False))

    check_function(
        None if _unanswered(dropout_forward) else student, reference, x, mask, p,
        name="dropout", atol=1e-12, rtol=1e-10,
        mistakes={
            "training output not rescaled: inverted dropout divides the kept units by "
            "1 - p, so that E[y] = x and eval mode can use x as it is":
                lambda x, m, p: modes(x * m, x),
            "divided by p: p is the probability of DROPPING a unit (torch's convention); "
            "the kept units are divided by the keep probability 1 - p":
                lambda x, m, p: modes(x * m / p, x),
            "multiplied by (1 - p) while training: that is the original dropout's rule for "
            "inference; inverted dropout divides by (1 - p) while training instead":
                lambda x, m, p: modes(x * m * (1 - p), x),
            "the mask was applied in eval mode: at inference every unit is used, y = x":
                lambda x, m, p: modes(x * m / (1 - p), x * m / (1 - p)),
            "eval output scaled by (1 - p): with inverted dropout the scaling already "
            "happened during training, so eval mode is the identity":
                lambda x, m, p: modes(x * m / (1 - p), x * (1 - p)),
            "the mask was used the wrong way round: it is 1 for the units that are KEPT":
                lambda x, m, p: modes(x * (1 - m) / (1 - p), x),
        },
    )


# The scripted validation curve: after epoch k the model's weight is k and its validation
# loss is VAL_CURVE[k]. With patience 3 the best epoch is 5 and training stops after epoch 8.
VAL_CURVE = [1.2, 1.0, 0.8, 0.7, 0.72, 0.69, 0.75, 0.73, 0.74, 0.71, 0.78, 0.8, 0.9, 0.95,
             1.0, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3]
MAX_EPOCHS, PATIENCE = 20, 3
#: hidden runs: a tie with the best loss (which is no improvement), and a run that ends
#: at max_epochs without stopping early (the best weights must be restored all the same)
HIDDEN_CURVES = [([1.2, 1.0, 0.9, 0.9, 0.95, 1.0, 1.1, 1.2], 7), ([1.0, 0.9, 0.8, 0.85, 0.7, 0.75], 5)]
_HIDDEN_WHAT = ["a tie with the best loss", "no early stop"]
_HIDDEN_MISTAKE = [
    "a loss EQUAL to the best is no improvement: compare with <, not <=, so the best epoch "
    "stays the first one that reached it",
    "the best weights were restored only when training stopped early: load the best "
    "checkpoint back after the loop, however it ended"]


def _hidden_mistake(k: int, expected: dict) -> dict:
    if k == 1:
        return {**{n: None for n in expected}, "best epoch": expected["best epoch"] + 1}
    last = torch.full_like(expected["weight after"], float(expected["epochs trained"]))
    return {**{n: None for n in expected}, "weight after": last}  # the last epoch's weight


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


def _early_stopping_outcome(fn, folder: Path, curve=None, max_epochs=MAX_EPOCHS):
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
        answer = fn(model, train_epoch, val_loss, max_epochs, PATIENCE, path)
    except NotImplementedError:
        return None, path  # the stub: not attempted
    if answer is None or answer is ...:
        raise AssertionError(f"early stopping: your function returned {answer!r}.\nHint: did "
                             "you forget `return best_epoch, best_val_loss`?")
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
    checkpoint back into ``model``.
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
            "stopped one epoch late: stop as soon as `patience` epochs in a row brought no "
            "improvement (bad >= patience)": {"epochs trained": PATIENCE + 6},
            "never stopped: count the epochs without improvement and break at `patience`":
                {"epochs trained": MAX_EPOCHS},
            "epochs count from 1 (the first epoch of training is epoch 1)":
                {"best epoch": expected["best epoch"] - 1},
            "the model keeps the weights of the LAST epoch: load the best checkpoint back "
            "before returning, model.load_state_dict(torch.load(path))":
                {"weight after": w + 3},
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
                "Hint: save the best model with torch.save(model.state_dict(), path).")
        if done:
            check(saved, w, name="checkpoint", atol=1e-12, rtol=1e-10,
                  mistakes={"the file holds the last epoch's weights: save only when the "
                            "validation loss improves": w + 3})
        for k, (curve, epochs) in enumerate(HIDDEN_CURVES, 1) if done else ():
            name = f"hidden case {k} ({_HIDDEN_WHAT[k - 1]})"
            folders = [Path(ref) / f"hidden{k}", Path(yours) / f"hidden{k}"]
            for folder in folders:
                folder.mkdir()
            hidden = [_early_stopping_outcome(f, folder, curve, epochs)[0] for f, folder
                      in zip((_early_stopping_reference, train_with_early_stopping), folders)]
            named = [None if h is None else {f"{n}, {name}": v for n, v in h.items()}
                     for h in hidden + [_hidden_mistake(k, hidden[0])]]
            check(named[1], named[0], name=name, atol=1e-12, rtol=1e-10,
                  mistakes={_HIDDEN_MISTAKE[k - 1]: named[2]})
