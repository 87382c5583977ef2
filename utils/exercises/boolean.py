"""Checkers for the exercises of the chapter *What an MLP can represent*.

Each exercise asks for the weights of threshold units; the checker evaluates the student's
units itself (a unit fires when w . x + b >= 0) and compares what they compute with the
target on every Boolean input, or on a grid of points for a region of the plane.
"""

from __future__ import annotations

import numpy as np

from ..boolean import Perceptron, all_inputs, truth_table
from ..checks import check, compare
from . import exercise

TRIANGLE = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 1.0]])  # the region of exercise 3


def _gate_table(weights, bias, n: int, name: str):
    """The truth table of the student's perceptron, or None while it is a stub."""
    if weights is None or weights is ... or bias is None or bias is ...:
        return None
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,):
        raise AssertionError(f"{name}: expected {n} weights, one per input, got shape {w.shape} "
                             f"({weights!r}).\nHint: a perceptron on {n} inputs has {n} weights "
                             f"and one bias.")
    return Perceptron(tuple(w.tolist()), float(bias))(all_inputs(n))


@exercise("02_boolean", "NAND", spread=True, stubs=((None, None), (..., ...)))
def check_nand(weights, bias) -> None:
    """Exercise 1: weights (w1, w2) and bias b of a perceptron computing NAND(x1, x2)."""
    table = _gate_table(weights, bias, 2, "NAND")
    x = all_inputs(2)
    check(table, truth_table(lambda x: 1 - x[:, 0] * x[:, 1], 2), name="NAND truth table",
          mistakes={
              "this is AND; NAND is its negation: multiply the weights and the bias by -1 "
              "(and mind the tie: [s >= 0] negated is [-s > 0], so shift the bias by 1)":
                  x[:, 0] & x[:, 1],
              "this is NOR (true only for 0, 0): NAND is false only for 1, 1":
                  1 - (x[:, 0] | x[:, 1]),
              "this is OR: NAND(x1, x2) = OR(NOT x1, NOT x2), so the weights must be negative":
                  x[:, 0] | x[:, 1],
          })


@exercise("02_boolean", "MAJORITY", spread=True, stubs=((None, None), (..., ...)))
def check_majority(weights, bias) -> None:
    """Exercise 2: a perceptron computing the majority of three bits (1 when two or more are 1)."""
    table = _gate_table(weights, bias, 3, "majority")
    x = all_inputs(3)
    count = x.sum(axis=1)
    check(table, (count >= 2).astype(int), name="majority truth table",
          mistakes={
              "this fires when at least ONE input is 1 (OR): raise the threshold to 2":
                  (count >= 1).astype(int),
              "this fires only when all THREE inputs are 1 (AND): lower the threshold to 2":
                  (count >= 3).astype(int),
          })


def _grid(n: int = 121) -> np.ndarray:
    xs = np.linspace(-0.5, 2.5, n)
    ys = np.linspace(-0.5, 1.5, n)
    return np.array([(x, y) for y in ys for x in xs])  # (n*n, 2)


def _inside_triangle(points: np.ndarray) -> np.ndarray:
    x, y = points[:, 0], points[:, 1]
    return (x >= 0) & (y >= 0) & (x + 2 * y <= 2)


def _near_edge(points: np.ndarray, margin: float = 1e-6) -> np.ndarray:
    x, y = points[:, 0], points[:, 1]
    return (np.abs(x) < margin) | (np.abs(y) < margin) | (np.abs(x + 2 * y - 2) < margin)


@exercise("02_boolean", "TRIANGLE", stubs=((None,), (...,)))
def check_triangle(halfplanes) -> None:
    """Exercise 3: three half-planes (a, b, c), each a x + b y + c >= 0, whose AND is the
    triangle with vertices (0, 0), (2, 0), (0, 1)."""
    if halfplanes is None or halfplanes is ...:
        print("triangle | not attempted yet")
        return
    h = np.asarray(halfplanes, dtype=float)
    if h.shape != (3, 3):
        raise AssertionError(f"triangle: expected three half-planes (a, b, c), shape (3, 3), got "
                             f"shape {h.shape}.\nHint: one half-plane per edge of the triangle.")
    points = _grid()
    keep = ~_near_edge(points)  # points on an edge may go either way
    fired = points @ h[:, :2].T + h[:, 2] >= 0  # (m, 3): which half-planes contain each point
    got = fired.all(axis=1)[keep].astype(int)
    want = _inside_triangle(points)[keep].astype(int)
    result = compare(got, want, name="triangle (grid points)")
    print(result)
    if result.ok:
        return
    wrong = np.flatnonzero(got != want)
    p = points[keep][wrong[0]]
    hints = []
    centroid = TRIANGLE.mean(axis=0)
    for k, (a, b, c) in enumerate(h):
        if a * centroid[0] + b * centroid[1] + c < 0:
            hints.append(f"half-plane {k} {tuple(h[k].tolist())} does not contain the triangle's "
                         f"centre {tuple(centroid.round(3).tolist())}: multiply it by -1 so it "
                         f"points inwards")
    if not hints:
        hints.append("each half-plane must pass through two vertices (one per edge): check that "
                     "a x + b y + c = 0 holds at both ends of each edge")
    raise AssertionError(
        f"triangle is wrong: {len(wrong)} of {keep.sum()} grid points are classified differently, "
        f"e.g. ({p[0]:.3g}, {p[1]:.3g}) should be {'inside' if want[wrong[0]] else 'outside'}.\n"
        "Hint: " + "; ".join(hints) + ".")
