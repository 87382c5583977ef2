"""Shared test settings: a headless plotting backend, the project's paths, and the small
float64 tanh network (with its data) that several test modules train and compare."""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"


def small_mlp(seed=0, sizes=(4, 8, 3), bn=False):
    """A float64 utils.nn tanh MLP (optionally with BatchNorm1d) from its own generator."""
    import torch

    from utils.nn import BatchNorm1d, Linear, Sequential, Tanh
    g = torch.Generator().manual_seed(seed)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(n_in, n_out, generator=g, dtype=torch.float64))
        if i < len(sizes) - 2:
            layers += [BatchNorm1d(n_out, dtype=torch.float64)] if bn else []
            layers.append(Tanh())
    return Sequential(*layers)


def small_data(seed=1, n=16, d=4, classes=3):
    """(X, y) for small_mlp: float64 inputs and integer classes."""
    import torch
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, d, generator=g, dtype=torch.float64),
            torch.randint(0, classes, (n,), generator=g))
