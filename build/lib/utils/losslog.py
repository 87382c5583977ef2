"""The makemore lecture's loss log: the names MLP trained under each initialisation fix.

:func:`loss_log` trains the rows of :data:`utils.models.NAMES_INITS` with the lecture's
recipe (seed 2147483647, minibatch 32, lr 0.1 then 0.01) and returns their final training
and validation losses. The four rows without BatchNorm share one architecture and train side
by side in one :func:`utils.train.train` call; the BatchNorm row trains in a second one.

The lecture-length run (200,000 steps per row) is ``make reproduce``
(``scripts/reproduce_loss_log.py``), which writes :data:`RESULTS_FILE`. That file is package
data of ``utils`` (``utils/results/``): it ships with every install, including the one a
notebook's setup cell makes on Colab, and the chapters read it with :func:`load_full_results`
through ``importlib.resources``, never through a path into the repository.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import torch

from .data import names_splits
from .models import NAMES_INITS, names_mlp
from .train import step_decay, train

__all__ = ["LECTURE_VAL", "LECTURE_PRINTED", "LECTURE_SEED", "RESULTS_FILE", "loss_log", "load_full_results"]

#: The validation losses the lecture reports for each row (200,000 steps).
LECTURE_VAL = {"original": 2.17, "fix softmax": 2.13, "fix tanh": 2.10, "kaiming": 2.10,
               "batchnorm": 2.10}
#: The lecture's printed (train, val) for each row, as far as it printed four digits
#: (its "fix softmax" row is known to two).
LECTURE_PRINTED = {"original": (2.1245, 2.1682), "fix softmax": (2.07, 2.13),
                   "fix tanh": (2.0356, 2.1027), "kaiming": (2.0377, 2.1070),
                   "batchnorm": (2.0668, 2.1048)}
LECTURE_SEED = 2147483647
#: The full-budget table inside the package (``make reproduce`` writes it in the source tree).
RESULTS_NAME = "loss_log_full.json"
RESULTS_FILE = Path(__file__).resolve().parent / "results" / RESULTS_NAME


def loss_log(steps: int, *, decay_at: int | None = None, rows=NAMES_INITS,
             seed: int = LECTURE_SEED, eval_every: int | None = None, progress: bool = True,
             device="cpu", splits=None) -> dict:
    """Train each row for ``steps`` steps and evaluate it on the training and validation sets.

    Args:
        steps: steps per row (the lecture: 200,000).
        decay_at: the step where lr drops from 0.1 to 0.01 (default: half of ``steps``, the
            lecture's 100,000 of 200,000).
        rows: which rows of :data:`NAMES_INITS` to train (default: all five).
        seed: every row's generator seed (default: the lecture's).
        eval_every: also evaluate every so many steps (default: only at the end).
        progress: show progress bars. device: where to compute.
        splits: ``names_splits(3)`` if already loaded.

    Returns:
        ``{row: {"train": float, "val": float, "losses": (steps,) tensor,
        "eval_steps": [...], "evals": {"train": (n,), "val": (n,)}}}`` plus the key
        ``"seconds"``: the wall time of the training calls.
    """
    unknown = [r for r in rows if r not in NAMES_INITS]
    if unknown:
        raise ValueError(f"rows must come from {NAMES_INITS}, got {unknown}")
    (Xtr, Ytr), (Xva, Yva), _ = splits if splits is not None else names_splits(3)
    schedule = step_decay(0.1, 0.01, at=steps // 2 if decay_at is None else decay_at)
    out: dict = {"seconds": 0.0}
    groups = [[r for r in rows if r != "batchnorm"], [r for r in rows if r == "batchnorm"]]
    for group in groups:
        if not group:
            continue
        gens = [torch.Generator().manual_seed(seed) for _ in group]
        models = [names_mlp(row, generator=g) for row, g in zip(group, gens)]
        run = train(models, Xtr, Ytr, steps=steps, generators=gens, lr=schedule,
                    eval_data={"train": (Xtr, Ytr), "val": (Xva, Yva)}, eval_every=eval_every,
                    progress=progress, device=device,
                    description=", ".join(group) if len(group) < 3 else f"{len(group)} inits")
        out["seconds"] += run.seconds
        for v, row in enumerate(group):
            out[row] = {"train": run.final("train")[v].item(), "val": run.final("val")[v].item(),
                        "losses": run.losses[v], "eval_steps": list(run.eval_steps),
                        "evals": {k: t[:, v] for k, t in run.evals.items()},
                        "model": models[v]}
    return out


def load_full_results(path: Path | str | None = None) -> dict:
    """The table written by ``make reproduce``: rows, steps, wall time, machine, date.

    Args:
        path: a results file to read instead of the one shipped with the package.

    Raises:
        FileNotFoundError: the file is missing; the message says how to get it back.
    """
    if path is None:
        source = resources.files("utils").joinpath("results", RESULTS_NAME)
        if not source.is_file():
            raise FileNotFoundError(
                f"the lecture-length loss log ({RESULTS_NAME}) is missing from the installed "
                "course package utils: reinstall it (run the notebook's setup cell again, or "
                "`pip install --force-reinstall` the course), or, in a clone of the course "
                "repository, run `make reproduce` to train and write it")
        return json.loads(source.read_text())
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: pass the file that `make reproduce` "
                                "(scripts/reproduce_loss_log.py --out FILE) wrote")
    return json.loads(path.read_text())
