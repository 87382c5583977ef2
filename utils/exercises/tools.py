"""Checkers for the exercises of chapter 0, *The tools of this course*."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..checks import check_function
from . import exercise

NUM_CLASSES = 27


def _targets() -> torch.Tensor:
    # Fixed targets with every class but the last ('z') present: an answer that sizes its
    # output from the data instead of from num_classes comes out one column short.
    g = torch.Generator().manual_seed(0)
    return torch.cat([torch.arange(NUM_CLASSES - 1), torch.randint(0, NUM_CLASSES - 1, (38,), generator=g)])  # (64,)


@exercise("00_tools", "one_hot")
def check_one_hot(one_hot: Callable | None) -> None:
    """Exercise 1: ``one_hot(y, num_classes)`` -> float tensor of shape (N, num_classes).

    The reference is ``torch.nn.functional.one_hot(y, num_classes).float()``.
    """
    y = _targets()
    hidden = torch.tensor([4, 0, 2, 2, 1])  # hidden: 5 classes, where a hard-coded 27 fails
    check_function(
        one_hot,
        lambda y, c: F.one_hot(y, c).float(),
        y,
        NUM_CLASSES,
        cases=[(hidden, 5), (hidden, 9)],
        name="one_hot",
        dtype=torch.float32,
        mistakes={
            "the classes are counted from 1 instead of 0 (row k has its 1 in column k+1)":
                lambda y, c: F.one_hot((y + 1) % c, c).float(),
            "num_classes was ignored: the width comes from the largest label in y, not from num_classes":
                lambda y, c: F.one_hot(y).float(),
        },
    )


@exercise("00_tools", "char_frequencies")
def check_char_frequencies(char_frequencies: Callable | None) -> None:
    """Exercise 2: ``char_frequencies(Y)`` -> the (27,) relative frequency of each class in Y."""
    y = _targets()
    check_function(
        char_frequencies,
        lambda y: torch.bincount(y, minlength=NUM_CLASSES).float() / len(y),
        y,
        name="char_frequencies",
        batch_size=len(y),
        mistakes={
            "only the classes that occur were counted: use minlength=27 (or a 27-long count vector)":
                lambda y: torch.bincount(y).float() / len(y),
        },
    )
