"""Checkers for the exercises of the chapter *What an MLP can represent* (page ``02_boolean``).

The student's answers are weights of threshold units (a unit fires when w . x + b >= 0),
one function that builds a :class:`~utils.boolean.ThresholdCircuit`, and one prediction.
The checkers evaluate the units themselves and compare what they compute with an
independent description of the target: a truth table on every Boolean input (a proof, for
that many inputs), or a polygon's point-in-polygon test on probe points drawn from a fixed
seed, many of them a hair's breadth from an edge. Hints come from the typical mistakes,
each named once below (``*_MISTAKES``); the tests plant every one of them.

Answers may come as lists, tuples, numpy arrays, numbers or tensors (also ones that require
grad, as an ``nn.Linear``'s weight does); anything else fails with a message that says what
was expected, never with numpy's or torch's own error.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from ..boolean import Perceptron, ThresholdCircuit, all_inputs, dnf_network
from ..checks import check_prediction, compare
from . import exercise, hidden_case_seed

__all__ = ["check_committee", "check_exactly", "check_dnf_units", "check_triangle",
           "check_l_shape", "COMMITTEE_MISTAKES", "EXACTLY_MISTAKES", "TRIANGLE_MISTAKES",
           "L_SHAPE_MISTAKES", "DNF_UNITS_MISTAKES"]


def _is_stub(x) -> bool:
    return x is None or x is Ellipsis


def _shown(x) -> str:
    text = repr(x)
    return text if len(text) <= 60 else f"a {type(x).__name__}"


def _numbers(x, what: str) -> np.ndarray:
    """``x`` as a float64 array, or an AssertionError that says why it is not numbers."""
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise AssertionError(f"{what}: expected real numbers, got a {x.dtype} tensor.")
        try:
            a = x.detach().to("cpu", torch.float64).numpy()  # detach: requires_grad is fine
        except (RuntimeError, NotImplementedError) as err:  # e.g. the meta device
            raise AssertionError(f"{what}: the tensor's values cannot be read ({err}).") from None
    elif isinstance(x, (list, tuple)):
        parts = [_numbers(part, what) for part in x]
        if len({p.shape for p in parts}) > 1:
            raise AssertionError(f"{what}: rows of different lengths in {_shown(x)}.\nHint: "
                                 "every row (one per unit or half-plane) needs the same number of entries.")
        a = np.array(parts, dtype=float) if parts else np.zeros(0)
    elif isinstance(x, (numbers.Real, np.ndarray, np.generic)):
        a = np.asarray(x)
        if a.dtype.kind not in "biuf":
            raise AssertionError(f"{what}: expected numbers, got a numpy {a.dtype} array.")
        a = a.astype(float)
    else:
        raise AssertionError(f"{what}: expected numbers, got {type(x).__name__} {_shown(x)}.")
    if not np.isfinite(a).all():
        raise AssertionError(f"{what}: expected finite numbers, got NaN or inf in {_shown(x)}.")
    return a


def _fail(name: str, message: str, hint: str):
    print(f"{name} | wrong")
    raise AssertionError(f"{name}: {message}\nHint: {hint}")


# --- Exercise 1: a committee's vote, one perceptron with unequal weights ------------------

def _unit(answer, n: int, name: str) -> tuple[np.ndarray, float]:
    """(weights (n,), bias) of one perceptron given as ``(weights, bias)`` or an
    ``nn.Linear(n, 1)``; a weight of shape (1, n), as nn.Linear stores it, is one row."""
    if isinstance(answer, torch.nn.Linear):
        if answer.bias is None:
            raise AssertionError(f"{name}: this nn.Linear has no bias (bias=False).")
        weights, bias = answer.weight, answer.bias
    elif isinstance(answer, (tuple, list)) and len(answer) == 2:
        weights, bias = answer
    else:
        raise AssertionError(f"{name}: expected a pair (weights, bias), e.g. ((1, 1, 1), -1), "
                             f"got {_shown(answer)}.")
    if _is_stub(weights) or _is_stub(bias):
        raise AssertionError(f"{name}: the {'weights are' if _is_stub(weights) else 'bias is'} "
                             "still missing (None).")
    w = _numbers(weights, f"{name}'s weights")
    w = w[0] if w.shape == (1, n) else w  # nn.Linear(n, 1).weight: one row of n
    if w.shape != (n,):
        raise AssertionError(f"{name}: expected {n} weights, one per input, got shape {w.shape} "
                             f"({_shown(weights)}).\nHint: a perceptron on {n} inputs has {n} "
                             "weights and one bias.")
    b = _numbers(bias, f"{name}'s bias")
    if b.size != 1:
        raise AssertionError(f"{name}: the bias is one number, got shape {b.shape} ({_shown(bias)}).")
    return w, float(b.ravel()[0])


def _table_line(name: str, got: np.ndarray, want: np.ndarray, X: np.ndarray,
                mistakes: dict[str, np.ndarray]) -> None:
    """Print the truth table's line; on a difference raise, naming a mistake or the inputs."""
    print(compare(got, want, name=name))
    if np.array_equal(got, want):
        return
    for label, table in mistakes.items():
        if np.array_equal(got, table):
            raise AssertionError(f"{name} is wrong.\nHint: your perceptron matches a known "
                                 f"mistake: {label}.")
    rows = [f"{''.join(map(str, x))} (expected {e}, got {g})"
            for x, g, e in zip(X.tolist(), got.tolist(), want.tolist()) if g != e]
    raise AssertionError(f"{name} is wrong on {len(rows)} of {len(X)} inputs: {', '.join(rows)}.\n"
                         "Hint: no common mistake matches; on each of these inputs, add up the "
                         "weights of the inputs that are on, plus the bias, and compare with 0.")


COMMITTEE_MISTAKES = {  # label: (weights, bias) of a perceptron that makes the mistake
    "all three votes weigh the same, which gives the majority of three: the chair's vote "
    "alone must pass the motion": ((1, 1, 1), -2),
    "this passes the motion on any single yes vote (OR)": ((1, 1, 1), -1),
    "this needs all three votes (AND)": ((1, 1, 1), -3),
    "the roles are swapped: here x3 is the chair, and x1 and x2 must agree": ((1, 1, 2), -2),
    "the chair's vote is necessary here, not sufficient: x1 AND (x2 OR x3)": ((2, 1, 1), -3),
    "this listens to the chair only, ignoring the other two": ((1, 0, 0), -1),
    "this is the opposite on every input: the signs are flipped": ((-2, -1, -1), 1),
}


@exercise("02_boolean", "committee", stubs=((None,), (...,), ((None, None),)))
def check_committee(committee) -> None:
    """Exercise: ``committee = (weights, bias)``, one perceptron computing x1 OR (x2 AND x3)."""
    name = "committee truth table"
    if _is_stub(committee) or (isinstance(committee, (tuple, list)) and len(committee) == 2
                               and all(_is_stub(part) for part in committee)):
        print(f"{name} | not attempted yet")
        return
    w, b = _unit(committee, 3, "committee")
    X = all_inputs(3)  # (8, 3): all 8 votes
    want = X[:, 0] | (X[:, 1] & X[:, 2])
    mistakes = {label: Perceptron(*m)(X) for label, m in COMMITTEE_MISTAKES.items()}
    _table_line(name, Perceptron(tuple(w.tolist()), b)(X), want, X, mistakes)


# --- Exercise 2: exactly k of n, with the fewest perceptrons -------------------------------

def _ones(n):
    return dict.fromkeys(range(n), 1)


def _mistake_at_least(k, n):  # counts up to k and stops there
    c = ThresholdCircuit(n)
    c.add(_ones(n), -k)
    return c


def _mistake_weak_veto(k, n):  # the weight -2 of the XOR network found by the search, kept
    c = ThresholdCircuit(n)
    h = c.add(_ones(n), -(k + 1))
    c.add({**_ones(n), h: -2}, -k)
    return c


def _mistake_early_veto(k, n):  # the switch-off unit fires at k already
    c = ThresholdCircuit(n)
    h = c.add(_ones(n), -k)
    c.add({**_ones(n), h: -(n + 1)}, -k)
    return c


def _mistake_tie_veto(k, n):  # a veto just as large as the count can get above k: a tie
    c = ThresholdCircuit(n)
    h = c.add(_ones(n), -(k + 1))
    c.add({**_ones(n), h: -(n - k)}, -k)
    return c


def _mistake_low_threshold(k, n):  # the output's threshold one too low
    c = ThresholdCircuit(n)
    h = c.add(_ones(n), -(k + 1))
    c.add({**_ones(n), h: -(n + 1)}, -(k - 1))
    return c


def _mistake_three_units(k, n):  # at least k AND NOT at least k + 1, in layers
    c = ThresholdCircuit(n)
    h1, h2 = c.add(_ones(n), -k), c.add(_ones(n), -(k + 1))
    c.add({h1: 1, h2: -1}, -1)
    return c


def _mistake_fixed_size(k, n):  # tried on XOR, then kept two inputs
    c = ThresholdCircuit(2)
    h = c.add({0: 1, 1: 1}, -(k + 1))
    c.add({0: 1, 1: 1, h: -3}, -k)
    return c


TOO_MANY = "correct on every input, but with more perceptrons than the exercise allows (2)"
FIXED_SIZE = "your circuit has a fixed number of inputs: build it for the n it is given"
EXACTLY_MISTAKES = {  # label: the function a student who made the mistake would write
    "it fires for k ones or MORE: nothing switches it off above k": _mistake_at_least,
    "it fires again when k + 2 or more inputs are on: the unit that switches the output "
    "off is outweighed by the count": _mistake_weak_veto,
    "the output never fires: the unit meant to switch it off above k already fires at k "
    "ones": _mistake_early_veto,
    "wrong only when every input is on: there the switch-off exactly cancels the count, a "
    "tie, and a unit fires on a tie": _mistake_tie_veto,
    "it fires for k - 1 ones as well as for k: the output's threshold is one too low":
        _mistake_low_threshold,
    TOO_MANY: _mistake_three_units,
    FIXED_SIZE: _mistake_fixed_size,
}


def _exactly_cases() -> list[tuple[int, int]]:
    """(k, n): the shown XOR, both ends (k = 0 with a tie to catch, k = n), and draws."""
    rng = np.random.default_rng(hidden_case_seed(6))
    drawn = [(int(rng.integers(0, n + 1)), n) for n in rng.choice(range(4, 11), 3, False).tolist()]
    return [(1, 2), (0, 3), (3, 3), (1, 4), *drawn]


def _circuit(exactly, k: int, n: int, label: str):
    """The student's circuit for one case; None for a stub; AssertionError if unusable."""
    try:
        circuit = exactly(k, n)
    except NotImplementedError:
        return None
    except Exception as err:  # noqa: BLE001 - the student's bug, reported
        raise AssertionError(f"{label}: your function raised {type(err).__name__}: {err}\n"
                             "Hint: run it yourself with these k and n and read the "
                             "traceback.") from None
    if _is_stub(circuit):
        raise AssertionError(f"{label}: your function returned {circuit!r}.\nHint: did you "
                             "forget `return`? (Or a branch that returns nothing.)")
    if isinstance(circuit, Perceptron):  # one unit is a circuit too
        one = ThresholdCircuit(len(circuit.weights))
        one.add(dict(enumerate(circuit.weights)), circuit.bias)
        circuit = one
    if not isinstance(circuit, ThresholdCircuit):
        raise AssertionError(f"{label}: expected a ThresholdCircuit, got {_shown(circuit)}.\n"
                             "Hint: build `c = ThresholdCircuit(n)`, add units with `c.add`, "
                             "and return c.")
    return circuit


def _table(circuit: ThresholdCircuit, X: np.ndarray, label: str) -> np.ndarray:
    try:
        table = circuit(X)
    except ValueError as err:
        raise AssertionError(f"{label}: your circuit cannot be evaluated: {err}") from None
    if table.shape != (len(X),):
        raise AssertionError(f"{label}: your circuit has {len(circuit.outputs)} outputs, "
                             "expected one.\nHint: the last unit added is the output, unless "
                             "you set `c.outputs`.")
    return table


def _agrees(exactly, mistake) -> bool:
    """Does the student's circuit compute what the mistake's does, in every case?"""
    for k, n in _exactly_cases():
        X = all_inputs(n)
        try:
            circuit = _circuit(exactly, k, n, "")
            if circuit is None or not np.array_equal(_table(circuit, X, ""), mistake(k, n)(X)):
                return False
        except Exception:  # noqa: BLE001 - an unusable circuit is no known mistake
            return False
    return True


@exercise("02_boolean", "exactly")
def check_exactly(exactly) -> None:
    """Exercise: ``exactly(k, n)`` -> a ThresholdCircuit of at most 2 perceptrons that is 1
    when exactly k of its n inputs are 1; checked on all 2^n inputs of several (k, n)."""
    if _is_stub(exactly):
        print("exactly | not attempted yet")
        return
    if not callable(exactly):
        raise AssertionError(f"exactly: expected a function exactly(k, n), got {_shown(exactly)}.")
    for i, (k, n) in enumerate(_exactly_cases()):
        label = f"exactly(k={k}, n={n})" + (f", hidden case {i}" if i else "")
        circuit = _circuit(exactly, k, n, label)
        if circuit is None:
            print("exactly | not attempted yet")
            return
        if circuit.n_inputs != n:
            _fail(label, f"your circuit has {circuit.n_inputs} inputs, expected n = {n}.",
                  FIXED_SIZE + ".")
        X = all_inputs(n)
        s = X.sum(axis=1)
        got, want = _table(circuit, X, label), (s == k).astype(np.int64)
        if not np.array_equal(got, want):
            known = [m for m, fn in EXACTLY_MISTAKES.items() if m not in (TOO_MANY, FIXED_SIZE)
                     and _agrees(exactly, fn)]
            counts = sorted(set(s[got != want].tolist()))
            hint = (f"your circuit matches a known mistake: {known[0]}." if known else
                    "no common mistake matches: count the ones of each wrong input and work "
                    "out what each unit does there.")
            _fail(label, f"wrong on {int((got != want).sum())} of {len(X)} inputs, those with "
                  f"{counts} ones (it should fire only where exactly {k} are on).", hint)
        if circuit.n_perceptrons > 2:
            _fail(label, f"right on all {len(X)} inputs, with {circuit.n_perceptrons} "
                  "perceptrons.", TOO_MANY + ".")
        print(f"{label} | right on all {len(X)} inputs | {circuit.n_perceptrons} "
              f"perceptron{'s' * (circuit.n_perceptrons > 1)} | ok")


# --- Exercise 3: predict the size of a DNF network -----------------------------------------

DNF_N, DNF_K = 6, 2  # the function: at least 2 of 6 inputs are 1
DNF_UNITS_MISTAKES = {
    "you counted only the inputs with exactly two ones": math.comb(DNF_N, 2),
    "half of all inputs is the count for parity, not for this function": 2 ** (DNF_N - 1),
    "that counts the output unit too; the question asks for hidden units":
        sum(math.comb(DNF_N, j) for j in range(DNF_K, DNF_N + 1)) + 1,
    "that counts the inputs with at least ONE one": 2 ** DNF_N - 1,
    "that counts the inputs where the function is 0": 1 + DNF_N,
    "one perceptron computes this function, but the DNF construction does not look for it": 1,
}


@exercise("02_boolean", "dnf_units", stubs=((None,), (...,)))
def check_dnf_units(dnf_units) -> None:
    """Exercise: predict the hidden units of the DNF network of "at least 2 of 6 inputs";
    the checker builds the network and counts."""
    X = all_inputs(DNF_N)
    network = dnf_network((X.sum(axis=1) >= DNF_K).astype(np.int64))
    check_prediction(dnf_units, network.layer_widths[0], tolerance=0.5,
                     name=f"DNF hidden units, at least {DNF_K} of {DNF_N}",
                     mistakes=DNF_UNITS_MISTAKES,
                     explain="the DNF network has one hidden unit per input on which the "
                             "function is 1; count those inputs by their number of ones.")


# --- Exercises 4 and 5: regions of the plane, probed near their edges ----------------------

TRIANGLE = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
L_SHAPE = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [1.0, 1.0], [1.0, 2.0], [0.0, 2.0]])


def _inside(points: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test (points off the boundary)."""
    x, y = points[:, :1], points[:, 1:]  # (m, 1)
    a, b = V, np.roll(V, -1, axis=0)  # (k, 2): edge i from a[i] to b[i]
    straddles = (a[:, 1] > y) != (b[:, 1] > y)  # (m, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        cross_x = a[:, 0] + (y - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
    return (straddles & (x < cross_x)).sum(axis=1) % 2 == 1


def _distance(points: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Distance from each point to the polygon's boundary."""
    a, b = V, np.roll(V, -1, axis=0)
    d = b - a  # (k, 2)
    t = ((points[:, None, :] - a) * d).sum(-1) / (d * d).sum(-1)  # (m, k)
    nearest = a + np.clip(t, 0, 1)[..., None] * d  # (m, k, 2)
    return np.linalg.norm(points[:, None, :] - nearest, axis=-1).min(axis=1)


def _probes(V: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probe points and whether each is far away: uniform around the polygon, 1e-2 and 1e-3
    to either side of random points on every edge, and far out in every direction; none
    closer than 5e-4 to the boundary (there a point may go either way)."""
    rng = np.random.default_rng(hidden_case_seed(seed))
    low, high = V.min(axis=0) - 1, V.max(axis=0) + 1
    spread = rng.uniform(low, high, size=(600, 2))
    near = []
    for a, b in zip(V, np.roll(V, -1, axis=0)):
        t = rng.uniform(0.02, 0.98, size=(25, 1))
        normal = np.array([a[1] - b[1], b[0] - a[0]]) / np.linalg.norm(b - a)
        for offset in (1e-2, -1e-2, 1e-3, -1e-3):
            near.append(a + t * (b - a) + offset * normal)
    ticks = np.linspace(V.min(), V.max(), 9)[1:-1]
    far = np.concatenate([np.column_stack([np.full(len(ticks), f), ticks]) for f in (-50, 50)] +
                         [np.column_stack([ticks, np.full(len(ticks), f)]) for f in (-50, 50)] +
                         [[[-50, -50], [-50, 50], [50, -50], [50, 50]]])
    points = np.concatenate([spread, *near, far])
    keep = _distance(points, V) >= 5e-4
    is_far = np.zeros(len(points), bool)
    is_far[-len(far):] = True
    return points[keep], is_far[keep]


def _halfplanes(answer, what: str) -> np.ndarray:
    """(m, 3) rows (a, b, c), each meaning a x + b y + c >= 0."""
    h = _numbers(answer, what)
    if h.ndim != 2 or h.shape[1] != 3 or not len(h):
        raise AssertionError(f"{what}: expected a list of half-planes (a, b, c), shape (m, 3), "
                             f"got shape {h.shape}.\nHint: one (a, b, c) per edge, meaning "
                             "a x + b y + c >= 0.")
    flat = np.flatnonzero((h[:, 0] == 0) & (h[:, 1] == 0))
    if flat.size:
        raise AssertionError(f"{what}: half-plane {flat[0]} {tuple(h[flat[0]].tolist())} has "
                             "a = b = 0, so it is no line: it contains the whole plane or "
                             "nothing.\nHint: (a, b) is the direction the half-plane faces.")
    return h


def _fires(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(m_points, m_halfplanes): which half-planes contain each point."""
    return points @ h[:, :2].T + h[:, 2] >= 0


def _point(p) -> str:
    return f"({p[0]:.3g}, {p[1]:.3g})"


TRIANGLE_OUTWARDS = "faces outwards: it does not contain the triangle"
TRIANGLE_CUTS = "cuts through the triangle, leaving a vertex outside"
TRIANGLE_LOOSE = "does not run along an edge (it passes through fewer than two vertices)"
TRIANGLE_TWICE = "two half-planes run along the same edge, so another edge has none"
TRIANGLE_MISTAKES = {  # label: half-planes of a student who made the mistake
    TRIANGLE_OUTWARDS: [(-1, 0, 0), (0, 1, 0), (-1, -2, 2)],
    TRIANGLE_CUTS: [(1, 0, 0), (0, 1, 0), (-2, -1, 2)],  # 2x + y <= 2: a and b swapped
    TRIANGLE_LOOSE: [(1, 0, 0), (0, 1, 0), (-1, -1, 2)],  # x + y <= 2
    TRIANGLE_TWICE: [(1, 0, 0), (2, 0, 0), (-1, -2, 2)],
    "expected three half-planes": [(1, 0, 0), (0, 1, 0)],
    "a = b = 0": [(1, 0, 0), (0, 1, 0), (0, 0, 2)],
}


def _triangle_hint(h: np.ndarray) -> str:
    V, scale = TRIANGLE, np.linalg.norm(h[:, :2], axis=1)
    value = (V @ h[:, :2].T + h[:, 2]) / scale  # (3 vertices, 3 half-planes): signed distances
    centre = V.mean(axis=0) @ h[:, :2].T + h[:, 2]
    for i in range(len(h)):
        if centre[i] < 0:
            return (f"half-plane {i} {tuple(h[i].tolist())} {TRIANGLE_OUTWARDS}'s centre "
                    f"{_point(V.mean(axis=0))}. Which side of its line is the triangle on?")
    for i in range(len(h)):
        if (value[:, i] < -1e-9).any():
            j = int(np.argmin(value[:, i]))
            return (f"half-plane {i} {tuple(h[i].tolist())} {TRIANGLE_CUTS}: {_point(V[j])}. "
                    "Check a x + b y + c at both ends of its edge.")
    on = np.abs(value) < 1e-9  # (vertices, half-planes)
    edges = [frozenset(np.flatnonzero(on[:, i]).tolist()) for i in range(len(h))]
    for i in range(len(h)):
        if len(edges[i]) < 2:
            return (f"half-plane {i} {tuple(h[i].tolist())} {TRIANGLE_LOOSE}: the region is "
                    "bigger than the triangle.")
    return f"{TRIANGLE_TWICE}: half-planes {[sorted(e) for e in edges]} (as vertex pairs)."


@exercise("02_boolean", "triangle", stubs=((None,), (...,)))
def check_triangle(triangle) -> None:
    """Exercise: three half-planes (a, b, c), each a x + b y + c >= 0, whose AND is the
    triangle with vertices (0, 0), (2, 0), (0, 1); checked on probe points near every edge."""
    name = "triangle"
    if _is_stub(triangle):
        print(f"{name} | not attempted yet")
        return
    h = _halfplanes(triangle, name)
    if len(h) != 3:
        raise AssertionError(f"{name}: expected three half-planes (a, b, c), one per edge, got "
                             f"{len(h)}.\nHint: a triangle has three edges.")
    points, _ = _probes(TRIANGLE, seed=3)
    got = _fires(h, points).all(axis=1).astype(np.int64)
    want = _inside(points, TRIANGLE).astype(np.int64)
    print(compare(got, want, name=f"{name} ({len(points)} probe points)"))
    if not np.array_equal(got, want):
        wrong = np.flatnonzero(got != want)
        p = points[wrong[0]]
        raise AssertionError(
            f"{name} is wrong: {len(wrong)} of {len(points)} probe points are classified "
            f"differently, e.g. {_point(p)} should be {'inside' if want[wrong[0]] else 'outside'}."
            f"\nHint: {_triangle_hint(h)}")


L_UNBOUNDED = "reaches infinitely far: a side is missing, or one faces the wrong way"
L_EMPTY = "contains no point at all: its half-planes face outwards"
L_ALL_IN_ONE = ("your region is only the square where the two arms overlap: the half-planes "
                "of both arms are ANDed in one piece")
L_ONE_ARM = "one arm of the L is missing"
L_CONVEX = ("your region fills the notch of the L: one piece (an AND of half-planes) is always "
            "convex, and the L is not")
L_WRONG_EDGE = "a piece's edge is off the L's edge"
L_SHAPE_MISTAKES = {  # label: the pieces of a student who made the mistake
    L_UNBOUNDED: [[(1, 0, 0), (0, 1, 0), (0, -1, 1)],
                  [(1, 0, 0), (-1, 0, 1), (0, 1, 0), (0, -1, 2)]],
    L_EMPTY: [[(1, 0, 0), (-1, 0, 2), (0, 1, 0), (0, -1, 1)],
              [(-1, 0, 0), (1, 0, -1), (0, -1, 0), (0, 1, -2)]],
    L_ALL_IN_ONE: [[(1, 0, 0), (-1, 0, 2), (0, 1, 0), (0, -1, 1),
                    (1, 0, 0), (-1, 0, 1), (0, 1, 0), (0, -1, 2)]],
    L_ONE_ARM: [[(1, 0, 0), (-1, 0, 2), (0, 1, 0), (0, -1, 1)]],
    L_CONVEX: [[(1, 0, 0), (-1, 0, 2), (0, 1, 0), (0, -1, 2)]],
    L_WRONG_EDGE: [[(1, 0, 0), (-1, 0, 2), (0, 1, 0), (0, -1, 1)],
                   [(1, 0, 0), (-1, 0, 1), (0, 1, 0), (0, -1, 3)]],
}


def _is_rows(x) -> bool:
    """Is x a 2-D collection (a list of triples, a matrix), rather than one triple?"""
    if isinstance(x, (np.ndarray, torch.Tensor)):
        return x.ndim == 2
    return isinstance(x, (list, tuple)) and len(x) > 0 and isinstance(
        x[0], (list, tuple, np.ndarray, torch.Tensor))


def _pieces(answer, name: str) -> list[np.ndarray]:
    """A list of convex pieces, each (m_i, 3); one list of triples is a single piece."""
    if isinstance(answer, (list, tuple, np.ndarray, torch.Tensor)) and len(answer) and all(
            _is_rows(piece) for piece in answer):
        return [_halfplanes(piece, f"{name}, piece {i}") for i, piece in enumerate(answer)]
    return [_halfplanes(answer, name)]  # one piece (or an error that says what is expected)


def _l_hint(pieces, points, is_far, got, want) -> str:
    inside = [_fires(h, points).all(axis=1) for h in pieces]
    for i, piece in enumerate(inside):
        if (piece & is_far).any():
            return f"piece {i} {L_UNBOUNDED}."
    for i, piece in enumerate(inside):
        if not piece.any():
            return f"piece {i} {L_EMPTY}."
    x, y = points[:, 0], points[:, 1]
    corner = (x > 0) & (x < 1) & (y > 0) & (y < 1)
    notch = (x > 1) & (x < 2) & (y > 1) & (y < 2)
    if np.array_equal(got.astype(bool), corner):
        return L_ALL_IN_ONE + "; give each arm its own piece."
    if (got.astype(bool) & notch).any() and len(pieces) == 1:
        return L_CONVEX + "."
    missing, extra = want & ~got, got & ~want
    if not extra.any():
        for arm in ((x > 1) & (y < 1), (x < 1) & (y > 1)):
            if (missing == (want & arm)).all():
                return f"{L_ONE_ARM}: no piece covers {_point(points[np.argmax(arm & want)])}."
    if extra.any():
        p = points[np.argmax(extra)]
        i = next(i for i, piece in enumerate(inside) if piece[np.argmax(extra)])
        return f"{L_WRONG_EDGE}: piece {i} covers {_point(p)}, outside the L."
    return f"{L_WRONG_EDGE}: no piece covers {_point(points[np.argmax(missing)])}, inside the L."


@exercise("02_boolean", "l_shape", stubs=((None,), (...,)))
def check_l_shape(l_shape) -> None:
    """Exercise: convex pieces, each a list of half-planes (a, b, c), whose union is the
    L-shaped hexagon (0,0) (2,0) (2,1) (1,1) (1,2) (0,2): a network with two hidden layers."""
    name = "L shape"
    if _is_stub(l_shape):
        print(f"{name} | not attempted yet")
        return
    pieces = _pieces(l_shape, name)
    points, is_far = _probes(L_SHAPE, seed=4)
    got = np.any([_fires(h, points).all(axis=1) for h in pieces], axis=0)
    want = _inside(points, L_SHAPE)
    widths = [sum(map(len, pieces)), len(pieces), 1]
    print(compare(got.astype(np.int64), want.astype(np.int64),
                  name=f"{name} ({len(points)} probe points, layers {widths})"))
    if not np.array_equal(got, want):
        wrong = np.flatnonzero(got != want)
        raise AssertionError(
            f"{name} is wrong: {len(wrong)} of {len(points)} probe points are classified "
            f"differently, e.g. {_point(points[wrong[0]])} should be "
            f"{'inside' if want[wrong[0]] else 'outside'}.\n"
            f"Hint: {_l_hint(pieces, points, is_far, got, want)}")
