r"""Optimizers written from scratch with the names, arguments and state keys of ``torch.optim``.

Each optimizer is a few lines of tensor math in ``_update(p, grad, state, group)``, which
:meth:`Optimizer.step` runs under ``torch.no_grad()`` for every parameter with a gradient.
``SGD``, ``Adagrad``, ``Adadelta``, ``RMSprop``, ``Adam``, ``AdamW`` and ``NAdam`` follow torch's
single-tensor code operation by operation: in float64 they agree with ``torch.optim`` to
rounding error, so a chapter can swap one for the other. ``LARS`` and ``LAMB`` (not in torch)
follow their papers and keep each tensor's last trust ratio in ``state[p]["trust_ratio"]``.

Left out, to keep each update readable: ``state_dict``, schedulers, sparse and complex
gradients, torch's ``foreach``/``fused``/``capturable`` switches, and ``maximize`` except in
``SGD``. ``state[p]["step"]`` is a Python int where torch keeps a tensor.
"""

from .adam import Adam, AdamW, NAdam
from .adaptive import Adadelta, Adagrad, RMSprop
from .large_batch import LAMB, LARS
from .optimizer import Optimizer, clip_grad_norm_
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "NAdam",
           "LARS", "LAMB", "clip_grad_norm_"]
