r"""Threshold networks (perceptrons) that compute Boolean functions exactly, and classify the plane.

A perceptron with weights w and bias b *fires* (outputs 1) when its weighted sum reaches the
threshold T = -b: :math:`y = [w \cdot x + b \ge 0]`, ties included. Boolean inputs are 0/1;
truth tables list the 2^n inputs in binary counting order (:func:`all_inputs`).

A :class:`ThresholdCircuit` is a DAG: a unit reads any inputs or earlier units, so layered
networks are a special case. The deep parity network needs the DAG: each XOR block (3
perceptrons, depth 2) reads the previous block's output *and* a fresh input; a layered form
would need pass-through units, changing the count 3(N-1). With 0/1 inputs and integer weights
all sums are int64, so a check on all 2^n inputs is a proof; real weights use float64.

Parity of N bits: a chain or a tree of XOR blocks, 3(N-1) perceptrons (depth 2(N-1) or
2 ceil(log2 N)); the DNF, 2^(N-1)+1 (depth 2); N counting units + 1 (depth 2). So the
exponential size belongs to the DNF network, whose hidden units each recognise one input
(minimal among hidden ANDs of literals), not to every one-hidden-layer threshold network.

Left out: learning (the chapters train with torch), drawing (:mod:`utils.graphs`), building
from weight matrices, sigmoid units, -1/+1 inputs and lower-bound proofs. Regions of the plane
(half-planes, convex polygons, unions) built from these circuits are in :mod:`utils.regions`.
Only :func:`is_linearly_separable` needs scipy.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .validation import check_int

__all__ = ["Perceptron", "AND", "OR", "NOT", "NAND", "ThresholdCircuit", "all_inputs",
           "truth_table", "xor_circuit", "dnf_network", "parity_deep", "parity_tree",
           "parity_shallow", "parity_counting", "Separability", "is_linearly_separable",
           "HiddenUnitSearch", "one_hidden_unit_search"]


@dataclass(frozen=True)
class Perceptron:
    """A threshold unit: fires (1) when ``w . x + b >= 0``, i.e. when the sum reaches T = -b.

    ``weights`` (one finite number per input) and ``bias`` are kept as Python ints or floats;
    integer x, weights and bias are summed in int64, exactly. Shape: (..., n) -> (...) 0/1 int64.

        >>> Perceptron((1, 1), -2)([[0, 1], [1, 1]])   # AND: 1 + 1 reaches the threshold 2
        array([0, 1])
    """

    weights: tuple
    bias: float = 0

    def __post_init__(self):
        w, b = np.asarray(self.weights), np.asarray(self.bias)
        if (w.ndim, b.ndim) != (1, 0) or not {w.dtype.kind, b.dtype.kind} <= set("iuf") or \
                not (np.isfinite(w).all() and np.isfinite(b)):
            raise ValueError(f"expected weights: a 1-D list of finite numbers, bias: a finite "
                             f"number; got weights={self.weights!r}, bias={self.bias!r}")
        object.__setattr__(self, "weights", tuple(w.tolist()))  # Python ints or floats
        object.__setattr__(self, "bias", b.item())

    def __call__(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.shape[-1:] != (len(self.weights),):
            raise ValueError(f"expected inputs of shape (..., {len(self.weights)}), got {x.shape}")
        w, b = self.weights, self.bias
        exact = x.dtype.kind in "biu" and all(type(v) is int for v in (*w, b))  # int64 sums
        dtype = np.int64 if exact else float
        return (x.astype(dtype) @ np.array(w, dtype) + np.asarray(b, dtype) >= 0).astype(np.int64)


def AND(n: int = 2) -> Perceptron:
    """[x_1 + ... + x_n - n >= 0]: weights (1, ..., 1), bias -n; fires when all are 1."""
    return Perceptron((1,) * check_int(n, "n"), -n)


def OR(n: int = 2) -> Perceptron:
    """[x_1 + ... + x_n - 1 >= 0]: weights (1, ..., 1), bias -1; fires when any is 1."""
    return Perceptron((1,) * check_int(n, "n"), -1)


def NAND(n: int = 2) -> Perceptron:
    """[-x_1 - ... - x_n + n - 1 >= 0]: weights (-1, ..., -1), bias n - 1; NOT of AND."""
    return Perceptron((-1,) * check_int(n, "n"), n - 1)


def NOT() -> Perceptron:
    """[-x >= 0]: weight (-1,), bias 0; fires on 0 only."""
    return Perceptron((-1,), 0)


class ThresholdCircuit:
    """A DAG of perceptrons over ``n_inputs`` inputs (wires ``0 .. n_inputs-1``).

    ``binary``: inputs must be 0/1 (default True); False for real inputs such as 2-D points.
    ``outputs``: settable, one wire or several; by default the last wire.
    Shape: (..., n_inputs) -> (...) for one output, (..., k) for k outputs; 0/1 int64.

        >>> c = ThresholdCircuit(2)
        >>> h1, h2 = c.add({0: 1, 1: 1}, -1), c.add({0: -1, 1: -1}, 1)   # OR, NAND
        >>> c.outputs = c.add({h1: 1, h2: 1}, -2)                         # their AND: XOR
        >>> c(all_inputs(2)), c.n_perceptrons, c.depth
        (array([0, 1, 1, 0]), 3, 2)
    """

    def __init__(self, n_inputs: int, *, binary: bool = True):
        self.n_inputs = check_int(n_inputs, "n_inputs")
        self.binary = bool(binary)
        self._units: list[tuple[tuple[int, ...], Perceptron]] = []
        self._levels = [0] * self.n_inputs  # the depth of every wire
        self._outputs: tuple[int, ...] | None = None

    def _check_wire(self, wire, what: str) -> int:
        n, w = self.n_inputs, len(self._levels)
        if isinstance(wire, bool) or not isinstance(wire, numbers.Integral) or not 0 <= wire < w:
            known = f"inputs 0..{n - 1}" + (f" and units {n}..{w - 1}" if w > n else "")
            raise ValueError(f"unknown {what} {wire!r}: this circuit has {known}")
        return int(wire)

    def add(self, weights: Mapping[int, float], bias: float = 0) -> int:
        """Append ``[sum_s weights[s] * wire_s + bias >= 0]``; return its wire. ``{}``: constant."""
        if not isinstance(weights, Mapping):
            raise TypeError(f"add() takes a dict {{wire: weight}}, got {type(weights).__name__}")
        sources = tuple(self._check_wire(s, "source") for s in weights)
        self._units.append((sources, Perceptron(tuple(weights.values()), bias)))
        self._levels.append(1 + max((self._levels[s] for s in sources), default=0))
        return len(self._levels) - 1

    @property
    def outputs(self) -> tuple[int, ...]:
        return self._outputs if self._outputs is not None else (len(self._levels) - 1,)

    @outputs.setter
    def outputs(self, wires) -> None:
        wires = (wires,) if isinstance(wires, numbers.Integral) else tuple(wires)
        if not wires:
            raise ValueError("outputs must name at least one wire")
        self._outputs = tuple(self._check_wire(w, "output") for w in wires)

    @property
    def units(self) -> tuple[tuple[tuple[int, ...], Perceptron], ...]:
        """``(source wires, Perceptron)`` per unit, in the order added (unit i is wire n + i)."""
        return tuple(self._units)

    @property
    def n_perceptrons(self) -> int:
        return len(self._units)

    @property
    def depth(self) -> int:
        return max(self._levels[self.n_inputs:], default=0)

    @property
    def layer_widths(self) -> list[int]:
        levels = np.array(self._levels[self.n_inputs:], dtype=np.int64)
        return np.bincount(levels, minlength=self.depth + 1)[1:].tolist()

    def __repr__(self) -> str:
        return (f"ThresholdCircuit(n_inputs={self.n_inputs}, n_perceptrons={self.n_perceptrons}, "
                f"depth={self.depth}, layer_widths={self.layer_widths})")

    def __call__(self, X) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim == 0 or X.shape[-1] != self.n_inputs or X.dtype.kind not in "biuf":
            raise ValueError(f"expected numbers of shape (..., {self.n_inputs}), got {X.shape}")
        lead, X = X.shape[:-1], X.reshape(-1, self.n_inputs)
        if self.binary and not ((X == 0) | (X == 1)).all():
            i, j = np.argwhere((X != 0) & (X != 1))[0]
            raise ValueError(f"expected 0/1 inputs, got {X[i, j].item()!r} at row {i}, column {j}")
        V = np.empty((len(self._levels), len(X)), np.int64 if self.binary else float)  # (wires, m)
        V[:self.n_inputs] = X.T
        for k, (sources, p) in enumerate(self._units, start=self.n_inputs):
            V[k] = p(V[list(sources)].T)
        out = V[list(self.outputs)].T.astype(np.int64)  # (m, outputs)
        return out.reshape(lead) if len(self.outputs) == 1 else out.reshape(lead + (-1,))


def all_inputs(n: int) -> np.ndarray:
    """Every 0/1 input of length n: (2^n, n) int64 in binary counting order (x_0 = top bit)."""
    if check_int(n, "n") > 24:
        raise ValueError(f"n = {n} would make 2^{n} rows; all_inputs supports at most n = 24")
    return (np.arange(2**n)[:, None] >> np.arange(n - 1, -1, -1)) & 1


def _truth_values(y, n: int | None = None, what: str = "truth_values") -> tuple[np.ndarray, int]:
    y = np.asarray(y)
    m = len(y) if y.ndim == 1 else 0
    if m < 2 or m & (m - 1) or (n is not None and m != 2**n):
        raise ValueError(f"{what} must list 2^{n or 'n'} values (n >= 1), got shape {y.shape}")
    bad = ~np.isin(y, (0, 1))
    if bad.any():
        i = int(bad.argmax())
        raise ValueError(f"{what} must be 0/1, got {y[i].item()!r} at index {i}")
    return y.astype(np.int64), m.bit_length() - 1


def truth_table(f: Callable[[np.ndarray], np.ndarray], n: int) -> np.ndarray:
    """``f(all_inputs(n))``, checked to be (2^n,) 0/1; f: a circuit, a Perceptron, a lambda."""
    return _truth_values(f(all_inputs(n)), n, "f(all_inputs(n))")[0]


def _xor(circuit: ThresholdCircuit, a: int, b: int) -> int:
    """XOR of wires a and b as AND(OR(a, b), NAND(a, b)): 3 perceptrons, depth 2."""
    h_or, h_nand = circuit.add({a: 1, b: 1}, -1), circuit.add({a: -1, b: -1}, 1)
    return circuit.add({h_or: 1, h_nand: 1}, -2)


def xor_circuit() -> ThresholdCircuit:
    """XOR of two inputs: hidden OR and NAND, output AND; 3 perceptrons, depth 2."""
    return parity_deep(2)


def dnf_network(truth_values) -> ThresholdCircuit:
    """One hidden layer, one unit per TRUE row (the DNF); (number of true rows) + 1 perceptrons.

    Row x*'s unit has weights +1 where x*_i = 1, -1 where x*_i = 0, bias -(number of ones): it
    fires on x* alone. The output ORs them (weights 1, bias -1); for the all-false function it
    has no inputs, a constant 0.
    """
    y, n = _truth_values(truth_values)
    circuit = ThresholdCircuit(n)
    hidden = [circuit.add({i: 1 if xi else -1 for i, xi in enumerate(x.tolist())}, -int(x.sum()))
              for x in all_inputs(n)[y == 1]]
    circuit.outputs = circuit.add(dict.fromkeys(hidden, 1), -1)
    return circuit


def parity_deep(n: int) -> ThresholdCircuit:
    """XOR of n inputs as a chain of XOR blocks: 3(n-1) perceptrons, depth 2(n-1)."""
    circuit, acc = ThresholdCircuit(n), 0
    for i in range(1, n):
        acc = _xor(circuit, acc, i)
    circuit.outputs = acc
    return circuit


def parity_tree(n: int) -> ThresholdCircuit:
    """XOR of n bits as a balanced tree of XOR blocks: 3(n-1) perceptrons, depth 2 ceil(log2 n)."""
    circuit, wires = ThresholdCircuit(n), list(range(n))
    while len(wires) > 1:  # pair neighbours; an odd one out waits for the next round
        paired = [_xor(circuit, a, b) for a, b in zip(wires[::2], wires[1::2])]
        wires = paired + wires[2 * len(paired):]
    circuit.outputs = wires[0]
    return circuit


def parity_shallow(n: int) -> ThresholdCircuit:
    """XOR of n inputs as its DNF network: 2^(n-1) hidden units + 1 output, depth 2."""
    return dnf_network(all_inputs(n).sum(axis=1) % 2)


def parity_counting(n: int) -> ThresholdCircuit:
    """XOR of n inputs with n counting units in one hidden layer: n + 1 perceptrons, depth 2.

    h_k = [x_1 + ... + x_n - k >= 0], k = 1..n. With s ones, h_1..h_s are 1, so h_1 - h_2 + ...
    is 1 for odd s, 0 for even s: the output is [h_1 - h_2 + h_3 - ... - 1 >= 0].
    """
    circuit = ThresholdCircuit(n)
    hidden = [circuit.add(dict.fromkeys(range(n), 1), -k) for k in range(1, n + 1)]
    circuit.outputs = circuit.add({h: (-1) ** k for k, h in enumerate(hidden)}, -1)
    return circuit


@dataclass(frozen=True)
class Separability:
    """``separable`` (also ``bool(result)``); ``perceptron``, a certificate checked on every
    input, or None; linprog's ``status`` (0 solved, 2 infeasible) and ``message``."""

    separable: bool
    perceptron: Perceptron | None
    status: int
    message: str

    def __bool__(self) -> bool:
        return self.separable


def is_linearly_separable(truth_values, n: int | None = None) -> Separability:
    """Can one perceptron compute this truth table? Linear-programming feasibility (HiGHS).

    Seeks w, b with w . x + b >= 1 on true rows, <= -1 on false ones (on finitely many points
    as good as >= 0 vs < 0: rescale). A solution, in integers when rounding keeps it right, is
    checked on all 2^n inputs; "infeasible" rests on the solver's floating-point proof.
    """
    from scipy.optimize import linprog

    y, n = _truth_values(truth_values, n)
    X = all_inputs(n)
    # unknowns (w, b); true rows: -(w . x + b) <= -1, false rows: w . x + b <= -1
    A = np.where(y == 1, -1, 1)[:, None] * np.hstack([X, np.ones((len(X), 1))])  # (2^n, n + 1)
    res = linprog(np.zeros(n + 1), A_ub=A, b_ub=-np.ones(len(X)), bounds=[(None, None)] * (n + 1))
    if res.status == 2:
        return Separability(False, None, 2, res.message)
    if res.status != 0:
        raise RuntimeError(f"linprog failed: status {res.status}, {res.message}")
    for wb in (np.round(res.x).astype(int).tolist(), res.x):  # integers if they still work
        if np.array_equal(Perceptron(wb[:n], wb[n])(X), y):
            return Separability(True, Perceptron(wb[:n], wb[n]), 0, res.message)
    raise RuntimeError(f"linprog's solution {res.x} does not reproduce the truth table")


class HiddenUnitSearch(NamedTuple):
    """``n_networks`` tried (len(grid) ** parameters), ``n_solutions`` computing the target,
    and the first solution found as a circuit (``example``), or None."""

    n_networks: int
    n_solutions: int
    example: ThresholdCircuit | None


def one_hidden_unit_search(truth_values=(0, 1, 1, 0), *, output_sees_inputs: bool,
                           grid=None) -> HiddenUnitSearch:
    """Try every network with ONE hidden threshold unit, all parameters on a grid.

    Hidden h = [u . x + c >= 0]; output y = [v h + d >= 0], or y = [v h + a . x + d >= 0] if
    ``output_sees_inputs``. Default: target XOR, grid the 13 halves -3, -2.5, ..., 3. For XOR,
    an output that sees only h never works, on any grid: y is 0, 1, h or 1 - h, each a
    threshold function of x, and XOR is not one. An output that also sees x can:
    h = [x_1 + x_2 - 2 >= 0] (AND), y = [x_1 + x_2 - 2h - 1 >= 0], i.e. x_1 + x_2 - 2 AND.
    Exhaustive yet fast: y depends on (u, c) only through h's truth table, so each distinct
    table meets all output parameters at once and is counted with its multiplicity.
    """
    y, n = _truth_values(truth_values)
    g = np.arange(-3, 3.5, 0.5) if grid is None else np.unique(np.asarray(grid, dtype=float))
    X = all_inputs(n).astype(float)  # (2^n, n)
    hidden, out = (np.array(list(itertools.product(g, repeat=k)))  # every k-tuple of grid values
                   for k in (n + 1, n + 2 if output_sees_inputs else 2))  # (u, c), (v, [a], d)
    H = hidden[:, :n] @ X.T + hidden[:, n:] >= 0  # (G^(n+1), 2^n): each hidden unit's table
    tables, first, counts = np.unique(H, axis=0, return_index=True, return_counts=True)
    n_solutions, example = 0, None
    for h, i, count in zip(tables, first, counts):
        F = np.column_stack([h] + ([X] if output_sees_inputs else []) + [np.ones(len(X))])
        ok = ((out @ F.T >= 0) == y).all(axis=1)  # (G^k,): output parameters giving the target
        n_solutions += int(count) * int(ok.sum())
        if example is None and ok.any():
            p = [int(v) if v.is_integer() else v for v in (*hidden[i], *out[ok.argmax()])]
            example = ThresholdCircuit(n)
            reads = [example.add(dict(enumerate(p[:n])), p[n])] + [*range(n)] * output_sees_inputs
            example.outputs = example.add(dict(zip(reads, p[n + 1:-1])), p[-1])
    return HiddenUnitSearch(len(hidden) * len(out), n_solutions, example)
