"""Shared code of the course *Training Neural Networks: from backprop by hand to BatchNorm*.

One module per job, each importable on its own:

- :mod:`utils.reproducibility` -- ``set_seed`` and the run-length budget switch.
- :mod:`utils.data` -- the makemore names dataset: verified download, cache, splits.
- :mod:`utils.checks` -- the homework checkers used under every exercise cell.
- :mod:`utils.plotting` -- small matplotlib helpers (object API, labelled axes).
- :mod:`utils.widgets` -- sliders that still work in the static HTML site.
- :mod:`utils.autograd` -- a scalar reverse-mode autograd engine (``Value``) and a tiny MLP.
- :mod:`utils.graphs` -- graphviz drawings of ``Value`` graphs and PyTorch autograd graphs.
- :mod:`utils.boolean` -- perceptrons and threshold circuits for Boolean functions.
- :mod:`utils.regions` -- half-planes, convex polygons and their unions as networks.
- :mod:`utils.nn` -- Linear, BatchNorm1d, Dropout, Tanh, ReLU, Sequential with ``torch.nn``'s semantics.
- :mod:`utils.optim` -- optimizers from scratch with ``torch.optim``'s names and semantics.
- :mod:`utils.init` -- ``torch.nn.init``'s schemes from scratch (Xavier, Kaiming, orthogonal, ...).
- :mod:`utils.diagnostics` -- per-layer activation/gradient/update statistics and histograms.
- :mod:`utils.regularization` -- L2/L1 penalties, decay groups, checkpoints and early stopping,
  residual and highway blocks, input noise, the weight-change ratio.
- :mod:`utils.exercises` -- the checkers under each chapter's exercises.
"""

__version__ = "0.2.0"
