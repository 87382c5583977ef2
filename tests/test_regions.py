"""utils.regions: half-planes, convex polygons and their unions, checked on grids of points."""

import math

import numpy as np
import pytest
from matplotlib.path import Path

from utils.boolean import xor_circuit
from utils.regions import convex_polygon, halfplane, regular_polygon, union


# --- the plane --------------------------------------------------------------------------------
SIDE = np.linspace(-1.5, 1.5, 181)
GRID = np.stack(np.meshgrid(SIDE, SIDE), axis=-1).reshape(-1, 2)  # (181 * 181, 2) points


def near_edges(vertices, points, eps=1e-6):
    """Points within eps of the line through any edge: where rounding may decide."""
    V = np.asarray(vertices, float)
    near = np.zeros(len(points), bool)
    for p, q in zip(V, np.roll(V, -1, axis=0)):
        d = q - p
        cross = d[0] * (points[:, 1] - p[1]) - d[1] * (points[:, 0] - p[0])
        near |= np.abs(cross) < eps * np.hypot(*d)
    return near


def test_halfplane():
    p = halfplane(1, -2, 0.5)  # x - 2y + 0.5 >= 0
    pts = np.array([[0, 0], [0, 1], [1, 0.75], [-0.5, 0]])
    assert p(pts).tolist() == [1, 0, 1, 1]  # the last point lies on the line: fires
    assert p.weights == (1, -2) and p.bias == 0.5


@pytest.mark.parametrize("vertices", [
    [(-1, -1), (1.2, -0.3), (0.1, 1.3)],  # triangle, counter-clockwise
    [(0.1, 1.3), (1.2, -0.3), (-1, -1)],  # the same, clockwise
    [(math.cos(t) + 0.1, 1.2 * math.sin(t)) for t in np.linspace(0.3, 0.3 + 2 * math.pi, 6)[:-1]],
])
def test_convex_polygon_matches_point_in_polygon(vertices):
    c = convex_polygon(vertices)
    assert (c.n_perceptrons, c.depth, c.binary) == (len(vertices) + 1, 2, False)
    inside = Path(vertices).contains_points(GRID)
    keep = ~near_edges(vertices, GRID)
    assert keep.mean() > 0.97 and 0.1 < inside.mean() < 0.9
    assert np.array_equal(c(GRID)[keep], inside[keep])
    assert c(np.mean(vertices, axis=0)) == 1 and c([[5.0, 0.0], [0.0, -5.0]]).tolist() == [0, 0]


def test_convex_polygon_rejects_bad_vertices():
    star = [(math.cos(t), math.sin(t)) for t in 4 * math.pi * np.arange(5) / 5]  # a pentagram
    with pytest.raises(ValueError, match="convex"):
        convex_polygon(star)
    with pytest.raises(ValueError, match="convex"):
        convex_polygon([(0, 0), (2, 0), (1, 0.2), (1, 2)])  # a dent
    with pytest.raises(ValueError, match="no area"):
        convex_polygon([(0, 0), (1, 1), (2, 2)])
    with pytest.raises(ValueError, match=r"got shape \(2, 2\)"):
        convex_polygon([(0, 0), (1, 1)])


def test_union_of_two_disjoint_squares():
    a = convex_polygon([(-1.2, -1.2), (-0.2, -1.2), (-0.2, -0.2), (-1.2, -0.2)])
    b = convex_polygon([(0.3, 0.3), (1.3, 0.3), (1.3, 1.3), (0.3, 1.3)])
    u = union(a, b)
    assert (u.n_perceptrons, u.depth, u.layer_widths) == (11, 3, [8, 2, 1])
    x, y = GRID[:, 0], GRID[:, 1]
    in_a = (-1.2 <= x) & (x <= -0.2) & (-1.2 <= y) & (y <= -0.2)
    in_b = (0.3 <= x) & (x <= 1.3) & (0.3 <= y) & (y <= 1.3)
    keep = ~(near_edges([(-1.2, -1.2), (-0.2, -1.2), (-0.2, -0.2), (-1.2, -0.2)], GRID)
             | near_edges([(0.3, 0.3), (1.3, 0.3), (1.3, 1.3), (0.3, 1.3)], GRID))
    assert np.array_equal(u(GRID)[keep], (in_a | in_b)[keep])
    assert in_a.any() and in_b.any()
    with pytest.raises(ValueError, match="argument 1"):
        union(a, xor_circuit())
    with pytest.raises(ValueError, match="one or more"):
        union()


def test_regular_polygons_approach_the_circle():
    side = np.linspace(-1.05, 1.05, 421)
    pts = np.stack(np.meshgrid(side, side), -1).reshape(-1, 2)
    cell = (side[1] - side[0]) ** 2
    errors = []
    for k in (3, 4, 6, 8, 16, 32):
        c = regular_polygon(k)
        area = c(pts).sum() * cell
        assert abs(area - k / 2 * math.sin(2 * math.pi / k)) < 0.01  # the k-gon's exact area
        errors.append(math.pi - area)
    assert all(e1 > e2 > 0 for e1, e2 in zip(errors, errors[1:]))
    with pytest.raises(ValueError, match="k must be an integer >= 3, got 2"):
        regular_polygon(2)
