"""Shared code of the course *Training Neural Networks: from backprop by hand to BatchNorm*.

One module per job, each importable on its own:

- :mod:`utils.reproducibility` -- ``set_seed`` and the run-length budget switch.
- :mod:`utils.data` -- the makemore names dataset: verified download, cache, splits.
- :mod:`utils.checks` -- the homework checkers used under every exercise cell.
- :mod:`utils.plotting` -- small matplotlib helpers (object API, labelled axes).
- :mod:`utils.widgets` -- sliders that still work in the static HTML site.
"""

__version__ = "0.1.0"
