"""Argument checks shared by the course's modules.

One helper, so that every function that takes a count (a size, a number of features, a
patience, a number of bins) rejects a bad one the same way, with an error that names the
argument, what it must be and what came in:

    >>> check_int(3, "num_features")
    3
    >>> check_int(2.5, "num_features")
    Traceback (most recent call last):
    ...
    ValueError: num_features must be an integer >= 1, got 2.5
"""

from __future__ import annotations

import numbers

__all__ = ["check_int"]


def check_int(value, name: str, low: int = 1) -> int:
    """``value`` as an ``int`` if it is an integer (not a bool) of at least ``low``; else
    ``ValueError: <name> must be an integer >= <low>, got <value>``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)
