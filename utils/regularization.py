r"""Regularisers and training hygiene for models built from :mod:`utils.nn` layers.

- penalties on the weights written as one long vector :math:`\mathbf w` (:func:`flat_weights`):
  :func:`l2_penalty` :math:`\tfrac\lambda2\|\mathbf w\|_2^2` and :func:`l1_penalty`
  :math:`\lambda\|\mathbf w\|_1`; :func:`decay_groups` splits parameters into a group that is
  decayed (weight matrices) and one that is not (biases, BatchNorm's gains and shifts);
- early stopping: :class:`EarlyStopping` saves the best checkpoint
  (``torch.save(model.state_dict(), path)``, torch's keys, see :meth:`utils.nn.Module.state_dict`)
  and restores it.

Elsewhere: input noise and residual/highway blocks are layers (:mod:`utils.layers`); the
update:data ratio of a step is a measurement (:func:`utils.diagnostics.update_ratio`).

Left out: optimizer state in the checkpoint (plain SGD has none), max-norm constraints and
DropConnect.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from .validation import check_int

__all__ = ["flat_weights", "l2_penalty", "l1_penalty", "decay_groups", "EarlyStopping"]


def _weights(params) -> list[torch.Tensor]:
    """The tensors with two or more dimensions: weight matrices, not biases or BN vectors."""
    params = list(params)
    if not all(isinstance(p, torch.Tensor) for p in params):
        raise TypeError("expected an iterable of tensors (e.g. model.parameters())")
    return [p for p in params if p.dim() >= 2]


def flat_weights(params) -> torch.Tensor:
    """All weight matrices of ``params`` (tensors with ``dim() >= 2``) as one vector.

    Example:
        >>> flat_weights([torch.ones(2, 3), torch.ones(2), torch.zeros(1, 2)]).tolist()
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    """
    return torch.cat([w.reshape(-1) for w in _weights(params)])


def l2_penalty(params, weight_decay: float) -> torch.Tensor:
    r"""Ridge penalty :math:`\frac\lambda2\|\mathbf w\|_2^2` on the weight matrices.

    Its gradient is :math:`\lambda\mathbf w`, so plain SGD on loss + penalty takes the step
    :math:`\mathbf w \leftarrow (1 - \eta\lambda)\,\mathbf w - \eta\nabla L`: the same as
    ``torch.optim.SGD(weight_decay=λ)``. Biases and other vectors are left out.

    Args:
        params: an iterable of tensors, e.g. ``model.parameters()``.
        weight_decay: :math:`\lambda \ge 0`.

    Example:
        >>> l2_penalty([torch.full((2, 2), 3.0), torch.ones(2)], weight_decay=0.1)
        tensor(1.8000)
    """
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    return weight_decay / 2 * sum((w ** 2).sum() for w in _weights(params))


def l1_penalty(params, weight_decay: float) -> torch.Tensor:
    r"""LASSO penalty :math:`\lambda\|\mathbf w\|_1` on the weight matrices.

    Its (sub)gradient is :math:`\lambda\,\mathrm{sign}(\mathbf w)`: a constant pull towards 0
    that, unlike L2's, does not fade as a weight gets small, which drives weights to (near)
    zero. Biases and other vectors are left out.

    Args:
        params: an iterable of tensors, e.g. ``model.parameters()``.
        weight_decay: :math:`\lambda \ge 0`.

    Example:
        >>> l1_penalty([torch.tensor([[1.0, -2.0]]), torch.ones(3)], weight_decay=0.5)
        tensor(1.5000)
    """
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    return weight_decay * sum(w.abs().sum() for w in _weights(params))


def decay_groups(params, weight_decay: float, *, stacked: bool = False) -> list[dict]:
    """Parameter groups for an optimizer: decay weight matrices, not vectors.

    Biases only shift a unit's input, and BatchNorm's gain and shift set the scale and
    offset of a normalised unit: shrinking them towards 0 constrains nothing useful (BN's
    output does not depend on the scale of the weights before it). The common rule, used
    here, decays exactly the weight matrices.

    Args:
        params: an iterable of tensors, e.g. ``model.parameters()``.
        weight_decay: the decay of the matrices' group.
        stacked: the tensors carry a leading variant dimension, as those that
            :func:`utils.train.train` hands to its ``optimizer`` function: matrices then
            have 3 dimensions and vectors 2 (default: False).

    Returns:
        ``[{"params": matrices, "weight_decay": weight_decay},
        {"params": vectors, "weight_decay": 0.0}]``, for any ``torch.optim`` or
        :mod:`utils.optim` optimizer.

    Example:
        >>> g = decay_groups([torch.ones(2, 2), torch.ones(2)], 0.1)
        >>> [(len(x["params"]), x["weight_decay"]) for x in g]
        [(1, 0.1), (1, 0.0)]
    """
    params = list(params)
    if not all(isinstance(p, torch.Tensor) for p in params):
        raise TypeError("expected an iterable of tensors (e.g. model.parameters())")
    matrix_dim = 3 if stacked else 2
    matrices = [p for p in params if p.dim() >= matrix_dim]
    vectors = [p for p in params if p.dim() < matrix_dim]
    return [{"params": matrices, "weight_decay": weight_decay},
            {"params": vectors, "weight_decay": 0.0}]


class EarlyStopping:
    """Keep the checkpoint with the lowest validation loss; say when to stop.

    Call :meth:`step` after each evaluation. When the loss beats the best so far by more
    than ``min_delta``, the model is saved with ``torch.save(model.state_dict(), path)``
    and the count of bad evaluations is reset; otherwise the count grows, and ``step``
    returns True once it reaches ``patience``. :meth:`restore` loads the best checkpoint.

    Args:
        path: file for the checkpoint.
        patience: evaluations without improvement before stopping (default: 5).
        min_delta: how much lower a loss must be to count as better (default: 0.0).

    Attributes: ``best`` (lowest loss so far, inf at first), ``best_step`` (the ``step``
    given with it), ``bad`` (evaluations since) and ``saved``.

    Example:
        >>> import tempfile; from utils.nn import Linear
        >>> model, d = Linear(1, 1), tempfile.mkdtemp()
        >>> stop = EarlyStopping(f"{d}/best.pt", patience=2)
        >>> [stop.step(v, model, step=i) for i, v in enumerate([3.0, 2.0, 2.5, 2.1])]
        [False, False, False, True]
        >>> stop.best, stop.best_step
        (2.0, 1)
    """

    def __init__(self, path, patience: int = 5, min_delta: float = 0.0) -> None:
        patience = check_int(patience, "patience")
        if not min_delta >= 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta!r}")
        self.path, self.patience, self.min_delta = Path(path), patience, min_delta
        self.best, self.best_step, self.bad, self.saved = math.inf, None, 0, False

    def step(self, val_loss: float, model, step: int | None = None) -> bool:
        """Record one evaluation; save ``model`` if it is the best; True means stop."""
        val_loss = float(val_loss)
        if val_loss < self.best - self.min_delta:
            self.best, self.best_step, self.bad = val_loss, step, 0
            torch.save(model.state_dict(), self.path)
            self.saved = True
        else:
            self.bad += 1
        return self.bad >= self.patience

    def restore(self, model) -> None:
        """Load the best checkpoint into ``model``."""
        if not self.saved:
            raise RuntimeError("no checkpoint saved yet: call step() first")
        model.load_state_dict(torch.load(self.path))
