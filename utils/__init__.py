"""Shared code of the course *Training Neural Networks: from backprop by hand to BatchNorm*.

The package map (the only one: the README points here, and ``tests/test_package.py`` checks
it against the tree). One module per job, each importable on its own; dependencies go one
way, e.g. :mod:`utils.plotting` imports :mod:`utils.diagnostics`, never the reverse.

Foundations

- :mod:`utils.reproducibility` -- ``set_seed``, the run-length budget switch and the numeric
  environment every notebook is executed in.
- :mod:`utils.validation` -- the one argument check (``check_int``) the modules share.
- :mod:`utils.progress` -- progress bars: live in a kernel, one plain line in the book.
- :mod:`utils.data` -- the makemore names dataset: verified download, cache, splits.
- :mod:`utils.checks` -- comparing a result with a reference, the line each checker prints.

From scratch, with torch's names

- :mod:`utils.autograd` -- a scalar reverse-mode autograd engine (``Value``) and a tiny MLP.
- :mod:`utils.nn` -- the ``torch.nn`` namesakes: Linear, Embedding, BatchNorm1d, LayerNorm,
  Dropout, Tanh, ReLU, Sequential, with ``state_dict``/``load_state_dict``.
- :mod:`utils.optim` -- optimizers with ``torch.optim``'s names and semantics.
- :mod:`utils.init` -- ``torch.nn.init``'s schemes (Xavier, Kaiming, orthogonal, ...).

The course's own

- :mod:`utils.layers` -- layers torch lacks: Residual, Highway, GaussianNoise, NoisyBatchNorm1d.
- :mod:`utils.boolean` -- perceptrons and threshold circuits for Boolean functions.
- :mod:`utils.regions` -- half-planes, convex polygons and their unions as networks.
- :mod:`utils.models` -- the lecture's names MLP and the deep diagnostics network.
- :mod:`utils.regularization` -- L2/L1 penalties, decay groups, early stopping.

Training and measuring

- :mod:`utils.train` -- the lecture's plain loop (``sgd``) and the engine that runs it for
  several variants at once (``train``, ``Recorder``).
- :mod:`utils.batched` -- what makes the stacked computation equal the plain one.
- :mod:`utils.losslog` -- the lecture's loss log, and its lecture-length results
  (``results/``, package data).
- :mod:`utils.diagnostics` -- measurements of a model: per-layer statistics, update ratios,
  loss landscape, gradient shift. Numbers only.

Pictures and pages

- :mod:`utils.book` -- ``glue``: the numbers a page's prose quotes, from the cells that
  compute them.
- :mod:`utils.plotting` -- every plot helper (object API, labelled axes).
- :mod:`utils.graphs` -- graphviz drawings: ``Value`` graphs, PyTorch autograd graphs,
  networks of units with their weights (``draw_network``), forward vs reverse mode
  (``draw_chain``).
- :mod:`utils.widgets` -- sliders that still work in the static HTML site.
- :mod:`utils.exercises` -- the checkers under each chapter's exercises.
- :mod:`utils.grade` -- the instructor's grader: a folder of submitted notebooks to a
  gradebook and feedback (``python -m utils.grade``; needs the ``grade`` extra).
"""

__version__ = "0.3.0"
