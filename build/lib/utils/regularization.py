r"""Regularisers and training hygiene for models built from :mod:`utils.nn` layers.

- penalties on the weights written as one long vector :math:`\mathbf w` (:func:`flat_weights`):
  :func:`l2_penalty` :math:`\tfrac\lambda2\|\mathbf w\|_2^2` and :func:`l1_penalty`
  :math:`\lambda\|\mathbf w\|_1`; :func:`decay_groups` splits parameters into a group that is
  decayed (weight matrices) and one that is not (biases, BatchNorm's gains and shifts);
- checkpoints: :func:`state_dict` / :func:`load_state_dict` give a :mod:`utils.nn` model
  ``torch.nn.Module``'s keys (``"0.weight"``, ``"2.running_mean"``, ...), so a checkpoint is
  ``torch.save(state_dict(model), path)``; :class:`EarlyStopping` saves the best one and
  restores it;
- :class:`GaussianNoise`, input noise as a regulariser;
- shortcuts: :class:`Residual` (:math:`x + f(x)`) and :class:`Highway`
  (:math:`T\odot H + (1 - T)\odot x`) blocks;
- monitoring: :func:`update_ratio`, the weight change of a step relative to the weights.

Left out: ``torch.nn.Module``'s strict/non-strict loading modes, optimizer state in the
checkpoint (plain SGD has none), max-norm constraints and DropConnect.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from .nn import Linear, Module, Sequential, Tanh

__all__ = ["flat_weights", "l2_penalty", "l1_penalty", "decay_groups", "state_dict",
           "load_state_dict", "EarlyStopping", "Residual", "Highway", "GaussianNoise", "update_ratio"]


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


def _named_tensors(module, prefix: str = ""):
    """(name, tensor) for every tensor a model holds, with ``torch.nn.Module``'s names."""
    if isinstance(module, Sequential):
        for i, layer in enumerate(module.layers):
            yield from _named_tensors(layer, f"{prefix}{i}.")
        return
    for key, value in vars(module).items():
        if isinstance(value, torch.Tensor):
            yield prefix + key, value
        elif isinstance(value, Module):
            yield from _named_tensors(value, f"{prefix}{key}.")


def state_dict(model) -> dict[str, torch.Tensor]:
    """A copy of every parameter and buffer of a :mod:`utils.nn` model, by torch's names.

    The keys are those ``torch.nn.Module.state_dict()`` gives the same architecture
    (``"0.weight"``, ``"0.bias"``, ``"1.running_mean"``, ...); the values are detached
    clones, so later training does not change a saved checkpoint.

    Example:
        >>> from utils.nn import Linear, Tanh
        >>> list(state_dict(Sequential(Linear(2, 3), Tanh(), Linear(3, 1))))
        ['0.weight', '0.bias', '2.weight', '2.bias']
    """
    return {name: t.detach().clone() for name, t in _named_tensors(model)}


def load_state_dict(model, state: dict[str, torch.Tensor]) -> None:
    """Copy ``state`` (from :func:`state_dict` or ``torch.load``) into ``model`` in place.

    Raises ``KeyError`` naming missing and unexpected keys, ``ValueError`` on a shape
    mismatch, as torch's strict loading does.
    """
    own = dict(_named_tensors(model))
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if missing or unexpected:
        raise KeyError(f"Error(s) in loading state_dict: missing keys {missing}, "
                       f"unexpected keys {unexpected}")
    for name, tensor in own.items():
        if tensor.shape != state[name].shape:
            raise ValueError(f"size mismatch for {name}: copying a param with shape "
                             f"{tuple(state[name].shape)}, the shape in the model is "
                             f"{tuple(tensor.shape)}")
        with torch.no_grad():
            tensor.copy_(state[name])


class EarlyStopping:
    """Keep the checkpoint with the lowest validation loss; say when to stop.

    Call :meth:`step` after each evaluation. When the loss beats the best so far by more
    than ``min_delta``, the model is saved with ``torch.save(state_dict(model), path)``
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
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience must be an integer >= 1, got {patience!r}")
        if not min_delta >= 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta!r}")
        self.path, self.patience, self.min_delta = Path(path), patience, min_delta
        self.best, self.best_step, self.bad, self.saved = math.inf, None, 0, False

    def step(self, val_loss: float, model, step: int | None = None) -> bool:
        """Record one evaluation; save ``model`` if it is the best; True means stop."""
        val_loss = float(val_loss)
        if val_loss < self.best - self.min_delta:
            self.best, self.best_step, self.bad = val_loss, step, 0
            torch.save(state_dict(model), self.path)
            self.saved = True
        else:
            self.bad += 1
        return self.bad >= self.patience

    def restore(self, model) -> None:
        """Load the best checkpoint into ``model``."""
        if not self.saved:
            raise RuntimeError("no checkpoint saved yet: call step() first")
        load_state_dict(model, torch.load(self.path))


class Residual(Module):
    r"""A shortcut around a block: :math:`y = x + f(x)` (He et al., 2016).

    The gradient reaching :math:`x` is the one arriving at :math:`y` plus what flows through
    :math:`f`: :math:`\partial L/\partial x = \partial L/\partial y\,(I + \partial f/\partial x)`.
    The identity term carries the signal through any number of blocks, even when
    :math:`\partial f/\partial x` is small.

    Args:
        block: the residual branch :math:`f`, e.g. ``Sequential(Linear(d, d), Tanh())``,
            whose output has the shape of its input.

    Shape: input (*, d), output (*, d).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> Residual(Sequential(Linear(4, 4, generator=g), Tanh()))(torch.zeros(3, 4)).shape
        torch.Size([3, 4])
    """

    def __init__(self, block) -> None:
        self.block = block

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)

    def parameters(self) -> list[torch.Tensor]:
        return self.block.parameters()

    def train(self, mode: bool = True) -> Residual:
        self.training = bool(mode)
        self.block.train(mode)
        return self

    def __repr__(self) -> str:
        return f"Residual({self.block!r})"


class Highway(Module):
    r"""A highway layer (Srivastava, Greff & Schmidhuber, 2015): a gate between transform and carry.

    .. math::
        H = \tanh(x W_H^\top + b_H), \qquad T = \sigma(x W_T^\top + b_T), \qquad
        y = T \odot H + (1 - T) \odot x

    With the gate's bias :math:`b_T` negative at the start, :math:`T` is small and the
    layer mostly carries :math:`x` through, like a residual block; training opens the gate
    where a transformation helps.

    Args:
        features: width d (input and output).
        gate_bias: initial value of every entry of :math:`b_T` (default: -2.0, so that
            :math:`T \approx 0.12`; the paper suggests -1 to -3).
        generator: for the two :class:`~utils.nn.Linear` layers' initial weights.
        dtype: of the parameters (default: ``torch.float32``).

    Attributes ``transform`` (:math:`W_H, b_H`) and ``gate`` (:math:`W_T, b_T`), both
    :class:`~utils.nn.Linear`.

    Shape: input (*, d), output (*, d).

    Example:
        >>> layer = Highway(4, generator=torch.Generator().manual_seed(0))
        >>> layer(torch.zeros(2, 4)).shape, round(torch.sigmoid(layer.gate.bias[0]).item(), 2)
        (torch.Size([2, 4]), 0.12)
    """

    def __init__(self, features: int, gate_bias: float = -2.0, *,
                 generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float32) -> None:
        self.transform = Linear(features, features, generator=generator, dtype=dtype)
        self.gate = Linear(features, features, generator=generator, dtype=dtype)
        with torch.no_grad():
            self.gate.bias.fill_(gate_bias)
        self.activation = Tanh()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        h = self.activation(self.transform(x))  # (*, d)
        t = torch.sigmoid(self.gate(x))  # (*, d), in (0, 1)
        return t * h + (1 - t) * x

    def parameters(self) -> list[torch.Tensor]:
        return self.transform.parameters() + self.gate.parameters()

    def __repr__(self) -> str:
        return f"Highway({self.transform.in_features})"


class GaussianNoise(Module):
    r"""Add :math:`\mathcal N(0, \sigma^2)` noise to every entry in training mode; identity in eval.

    Noise on the inputs is data augmentation in its simplest form: each pass sees a
    slightly different copy of every example. For small :math:`\sigma` and a squared loss
    it acts like an L2 penalty on the model's input gradient (Bishop, 1995).

    Args:
        std: :math:`\sigma \ge 0`.
        generator: for the noise (default: None, torch's global RNG).

    Shape: any; output the same as the input.

    Example:
        >>> noise = GaussianNoise(0.1).eval()
        >>> bool((noise(torch.ones(3)) == 1).all())
        True
    """

    def __init__(self, std: float, *, generator: torch.Generator | None = None) -> None:
        if not std >= 0:
            raise ValueError(f"std must be >= 0, got {std!r}")
        self.std, self.generator = float(std), generator

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.std == 0:
            return x
        return x + self.std * torch.randn(x.shape, generator=self.generator, dtype=x.dtype)

    def __repr__(self) -> str:
        return f"GaussianNoise(std={self.std})"


def update_ratio(before: torch.Tensor, after: torch.Tensor) -> float:
    r"""How much a step changed a tensor, relative to its size: :math:`\mathrm{std}(\Delta)/\mathrm{std}(w)`.

    ``before`` and ``after`` are the tensor's values around one step (or a few);
    :math:`\Delta` = after - before and :math:`w` = before. For plain SGD,
    :math:`\Delta = -\eta g` and this is the *update:data ratio* that
    :class:`utils.train.Recorder` logs (as :math:`\log_{10}`); for other optimizers, and with
    weight decay, it measures what the step really did. Values near :math:`10^{-3}` are the
    usual rule of thumb; much lower, the layer hardly learns; much higher, it moves too fast.

    Example:
        >>> w = torch.tensor([1.0, -1.0, 1.0, -1.0])
        >>> round(update_ratio(w, w * 1.001), 6)
        0.001
    """
    if before.shape != after.shape:
        raise ValueError(f"before and after must have the same shape, got "
                         f"{tuple(before.shape)} and {tuple(after.shape)}")
    before, after = before.detach().double(), after.detach().double()
    return ((after - before).std() / before.std()).item()
