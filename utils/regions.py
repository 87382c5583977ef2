"""Regions of the plane as threshold networks: the MLP as a universal classifier.

A perceptron on real points (x, y) fires on a closed half-plane. An AND of half-planes is a
convex polygon (one hidden unit per edge); an OR of convex polygons is any polygonal region,
convex or not, connected or not; a regular polygon with many sides approximates a disc. Each
function returns a :class:`utils.boolean.ThresholdCircuit` (with ``binary=False``) whose
perceptron count can be read off and which classifies a (m, 2) array of points.
"""

from __future__ import annotations

import numpy as np

from .boolean import Perceptron, ThresholdCircuit
from .validation import check_int

__all__ = ["halfplane", "convex_polygon", "regular_polygon", "union"]


def halfplane(a: float, b: float, c: float) -> Perceptron:
    """The perceptron firing on the closed half-plane a x + b y + c >= 0 of points (x, y)."""
    return Perceptron((a, b), c)


def convex_polygon(vertices) -> ThresholdCircuit:
    """1 inside the closed convex polygon, 0 outside; input: real points (x, y).

    ``vertices`` (k, 2), k >= 3, in order around the polygon (either direction). One hidden
    half-plane per edge, firing on the polygon's side, and an AND output: k + 1 perceptrons,
    depth 2. Points on an edge count as inside, up to float rounding.
    """
    V = np.asarray(vertices, dtype=float)
    if V.ndim != 2 or V.shape[1] != 2 or len(V) < 3 or not np.isfinite(V).all():
        raise ValueError(f"vertices must be finite, of shape (k, 2), k >= 3; got shape {V.shape}")
    E = np.roll(V, -1, axis=0) - V  # (k, 2): edge i runs from vertex i to vertex i + 1
    orientation = np.sign(np.sum(V[:, 0] * np.roll(V[:, 1], -1) - np.roll(V[:, 0], -1) * V[:, 1]))
    if orientation == 0 or not np.abs(E).sum(axis=1).all():
        raise ValueError("vertices enclose no area, or a vertex repeats")
    a, b = -orientation * E[:, 1], orientation * E[:, 0]  # (k,) each: inward normals
    c = -(a * V[:, 0] + b * V[:, 1])
    side = a[:, None] * V[:, 0] + b[:, None] * V[:, 1] + c[:, None]  # (edges, vertices)
    if (side < -1e-9 * np.abs(V).max() ** 2).any():
        i, j = np.argwhere(side < -1e-9 * np.abs(V).max() ** 2)[0]
        raise ValueError(f"vertices must go once around a convex polygon: vertex {j} {V[j]} "
                         f"lies outside edge {i} ({V[i]} -> {V[(i + 1) % len(V)]})")
    circuit = ThresholdCircuit(2, binary=False)
    edges = [circuit.add({0: ai, 1: bi}, ci) for ai, bi, ci in zip(*np.stack([a, b, c]).tolist())]
    circuit.outputs = circuit.add(dict.fromkeys(edges, 1), -len(edges))
    return circuit


def regular_polygon(k: int, radius: float = 1.0) -> ThresholdCircuit:
    """The regular k-gon inscribed in the circle of ``radius`` about 0; area k/2 r^2 sin(2 pi/k)."""
    if not radius > 0:
        raise ValueError(f"radius must be positive, got {radius!r}")
    angles = 2 * np.pi * np.arange(check_int(k, "k", 3)) / k
    return convex_polygon(radius * np.column_stack([np.cos(angles), np.sin(angles)]))


def union(*circuits: ThresholdCircuit) -> ThresholdCircuit:
    """OR of one-output circuits on the same inputs, e.g. convex polygons -> any polygonal region.

    Their units are copied side by side (so polygon edges share the first hidden layer, their
    ANDs the second) and one OR unit goes on top: the sum of their perceptrons + 1.
    """
    for i, c in enumerate(circuits or [None]):
        if not (isinstance(c, ThresholdCircuit) and len(c.outputs) == 1 and
                (c.n_inputs, c.binary) == (circuits[0].n_inputs, circuits[0].binary)):
            raise ValueError(f"union takes one or more one-output circuits, all with the same "
                             f"n_inputs and binary; argument {i} is {c!r}")
    result, parts = ThresholdCircuit(circuits[0].n_inputs, binary=circuits[0].binary), []
    for c in circuits:  # copy c's units, renumbered: wire[old wire of c] = new wire
        wire = list(range(c.n_inputs))
        for sources, p in c.units:
            wire.append(result.add({wire[s]: w for s, w in zip(sources, p.weights)}, p.bias))
        parts.append(wire[c.outputs[0]])
    result.outputs = result.add(dict.fromkeys(parts, 1), -1)
    return result
