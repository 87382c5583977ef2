"""Tests of utils.boolean: every Boolean construction is checked on all 2^N inputs.

With 0/1 inputs and integer weights the circuits compute in int64, so these comparisons are
exact: ``np.array_equal``, never a tolerance. The polygon tests compare with matplotlib's
point-in-polygon test on a grid, leaving out points closer than 1e-6 to an edge's line.
"""

import doctest
import itertools
import math

import numpy as np
import pytest
from matplotlib.path import Path

import utils.boolean
from utils.boolean import (AND, NAND, NOT, OR, Perceptron, ThresholdCircuit, all_inputs,
                           dnf_network, is_linearly_separable, one_hidden_unit_search,
                           parity_counting, parity_deep, parity_shallow, parity_tree,
                           truth_table, xor_circuit)


def parity(n):
    return all_inputs(n).sum(axis=1) % 2


# --- perceptrons and gates ------------------------------------------------------------
def test_docstring_examples():
    assert doctest.testmod(utils.boolean).failed == 0


def test_all_inputs_binary_counting_order():
    X = all_inputs(3)
    assert X.shape == (8, 3) and X.dtype == np.int64
    assert X.tolist() == [[0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 1],
                          [1, 0, 0], [1, 0, 1], [1, 1, 0], [1, 1, 1]]
    assert np.array_equal(X @ [4, 2, 1], np.arange(8))  # row k is k in binary
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="n must be an integer >= 1"):
            all_inputs(bad)
    with pytest.raises(ValueError, match="at most n = 24"):
        all_inputs(25)


def test_perceptron_fires_when_the_sum_reaches_the_threshold():
    p = Perceptron((1, 1), -2)  # threshold 2
    assert p([1, 1]) == 1  # sum 2 == threshold: fires
    assert p([1, 0]) == 0
    assert np.array_equal(p(np.ones((4, 5, 2), dtype=int)), np.ones((4, 5)))  # (..., n) -> (...)
    assert p.weights == (1, 1) and type(p.weights[0]) is int and type(p.bias) is int


def test_perceptron_integer_arithmetic_is_exact():
    # 2^60 + 1 is not a float64: in floats x = (1, 0) would give z = 0 and fire.
    p = Perceptron((2**60, 1), -(2**60 + 1))
    assert p([1, 0]) == 0 and p([1, 1]) == 1
    c = ThresholdCircuit(2)
    c.add({0: 2**60, 1: 1}, -(2**60 + 1))
    assert c([[1, 0], [1, 1]]).tolist() == [0, 1]


def test_perceptron_errors_name_the_bad_value():
    with pytest.raises(ValueError, match=r"expected inputs of shape \(\.\.\., 2\), got \(3,\)"):
        Perceptron((1, 1), 0)([1, 0, 1])
    with pytest.raises(ValueError, match="nan"):
        Perceptron((1, float("nan")), 0)
    with pytest.raises(ValueError, match="bias='a'"):
        Perceptron((1, 1), "a")


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_gates_truth_tables(n):
    X = all_inputs(n)
    assert np.array_equal(truth_table(AND(n), n), X.all(axis=1))
    assert np.array_equal(truth_table(OR(n), n), X.any(axis=1))
    assert np.array_equal(truth_table(NAND(n), n), ~X.all(axis=1))
    assert AND(n).weights == (1,) * n and AND(n).bias == -n
    assert NAND(n).weights == (-1,) * n and NAND(n).bias == n - 1


def test_not_gate_and_gate_errors():
    assert truth_table(NOT(), 1).tolist() == [1, 0]
    with pytest.raises(ValueError, match="got 0"):
        AND(0)


def test_truth_table_rejects_bad_functions():
    with pytest.raises(ValueError, match="must be 0/1, got 2"):
        truth_table(lambda X: X.sum(axis=1), 2)
    with pytest.raises(ValueError, match=r"must list 2\^2 values"):
        truth_table(lambda X: X, 2)


# --- circuits ---------------------------------------------------------------------------
def test_xor_circuit_has_three_perceptrons():
    c = xor_circuit()
    assert np.array_equal(c(all_inputs(2)), [0, 1, 1, 0])
    assert (c.n_perceptrons, c.depth, c.layer_widths) == (3, 2, [2, 1])


def test_circuit_shapes_and_several_outputs():
    c = ThresholdCircuit(2)
    a, o = c.add({0: 1, 1: 1}, -2), c.add({0: 1, 1: 1}, -1)
    assert c.outputs == (o,)  # default: the last unit
    c.outputs = [a, o, 0]  # an input wire may be an output too
    assert c(all_inputs(2)).tolist() == [[0, 0, 0], [0, 1, 0], [0, 1, 1], [1, 1, 1]]
    assert c(np.ones((3, 4, 2), dtype=bool)).shape == (3, 4, 3)
    assert c([1.0, 0.0]).tolist() == [0, 1, 1]  # 0/1 floats are fine
    assert repr(c) == "ThresholdCircuit(n_inputs=2, n_perceptrons=2, depth=1, layer_widths=[2])"


def test_circuit_errors_name_the_bad_value():
    c = ThresholdCircuit(3)
    u = c.add({0: 1, 2: -1}, 0)
    message = r"unknown source 5: this circuit has inputs 0\.\.2 and units 3"
    with pytest.raises(ValueError, match=message):
        c.add({5: 1}, 0)
    with pytest.raises(ValueError, match="unknown source -1"):
        c.add({-1: 1}, 0)
    with pytest.raises(TypeError, match="dict"):
        c.add([1, 1, 1], 0)
    with pytest.raises(ValueError, match="unknown output 9"):
        c.outputs = 9
    with pytest.raises(ValueError, match=r"expected numbers of shape \(\.\.\., 3\), got \(4, 2\)"):
        c(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="expected 0/1 inputs, got 2 at row 1, column 2"):
        c([[0, 1, 1], [1, 0, 2]])
    with pytest.raises(ValueError, match="expected 0/1 inputs, got 0.5"):
        c([0.5, 0, 0])
    with pytest.raises(ValueError, match="n_inputs must be an integer >= 1, got 0"):
        ThresholdCircuit(0)
    assert c.outputs == (u,)


def test_depth_counts_the_longest_chain_of_perceptrons():
    c = ThresholdCircuit(2)
    h = c.add({0: 1}, -1)
    g = c.add({1: 1, h: 1}, -2)  # reads an input and a unit: depth 2
    c.add({0: 1, g: 1}, -1)  # depth 3
    c.add({}, -1)  # a constant unit: depth 1
    assert (c.depth, c.layer_widths, c.n_perceptrons) == (3, [2, 1, 1], 4)
    assert ThresholdCircuit(4).depth == 0 and ThresholdCircuit(4).layer_widths == []


# --- DNF: any Boolean function with one hidden layer ----------------------------------
@pytest.mark.parametrize("n", [3, 4, 5, 6, 7, 8])
def test_dnf_network_computes_random_functions(n):
    rng = np.random.default_rng(1000 + n)
    X = all_inputs(n)
    for _ in range(5):
        y = rng.integers(0, 2, size=2**n)
        c = dnf_network(y)
        assert np.array_equal(c(X), y)
        assert c.n_perceptrons == y.sum() + 1  # one hidden unit per true row, plus the OR
        assert c.layer_widths == [int(y.sum()), 1]
        for sources, p in c.units[:-1]:  # each hidden unit fires on exactly one input
            assert p(X[:, list(sources)]).sum() == 1


def test_dnf_network_constant_functions():
    zero, one = dnf_network(np.zeros(8, int)), dnf_network(np.ones(8, int))
    assert zero(all_inputs(3)).tolist() == [0] * 8 and zero.n_perceptrons == 1  # just the output
    assert one(all_inputs(3)).tolist() == [1] * 8 and one.n_perceptrons == 9
    with pytest.raises(ValueError, match=r"2\^n values"):
        dnf_network([0, 1, 1])
    with pytest.raises(ValueError, match="must be 0/1, got 3 at index 2"):
        dnf_network([0, 1, 3, 0])


# --- parity four ways ---------------------------------------------------------------------
@pytest.mark.parametrize("n", range(2, 13))
def test_parity_networks_sizes_and_depths(n):
    X, y = all_inputs(n), parity(n)
    expected = {  # builder: (perceptrons, depth)
        parity_deep: (3 * (n - 1), 2 * (n - 1)),
        parity_tree: (3 * (n - 1), 2 * math.ceil(math.log2(n))),
        parity_shallow: (2 ** (n - 1) + 1, 2),
        parity_counting: (n + 1, 2),
    }
    for build, (size, depth) in expected.items():
        c = build(n)
        assert np.array_equal(c(X), y), build.__name__
        assert (c.n_perceptrons, c.depth) == (size, depth), build.__name__
    assert parity_deep(n).layer_widths == [2, 1] * (n - 1)
    assert parity_counting(n).layer_widths == [n, 1]


def test_parity_of_one_bit():
    for build in (parity_deep, parity_tree, parity_shallow, parity_counting):
        assert build(1)(all_inputs(1)).tolist() == [0, 1]
    assert parity_deep(1).n_perceptrons == 0 and parity_tree(1).depth == 0


# --- linear separability --------------------------------------------------------------------
def test_lp_separability_of_and_or_xor_parity():
    for gate in (AND(2), OR(2), NAND(3), AND(4)):
        n = len(gate.weights)
        result = is_linearly_separable(truth_table(gate, n))
        assert result and result.separable and result.status == 0
        assert np.array_equal(truth_table(result.perceptron, n), truth_table(gate, n))
    for y in ([0, 1, 1, 0], [1, 0, 0, 1], parity(3), parity(4)):
        result = is_linearly_separable(y)
        assert not result and result.perceptron is None and result.status == 2


def test_lp_counts_threshold_functions():
    # Known counts of Boolean functions computable by one perceptron: 14 of 16, 104 of 256.
    for n, count in ((2, 14), (3, 104)):
        tables = itertools.product((0, 1), repeat=2**n)
        assert sum(bool(is_linearly_separable(y, n)) for y in tables) == count


def test_lp_rejects_a_wrong_n():
    with pytest.raises(ValueError, match=r"2\^3 values"):
        is_linearly_separable([0, 0, 0, 1], 3)


# --- one hidden unit and XOR ----------------------------------------------------------------
def test_one_hidden_unit_cannot_compute_xor_if_output_sees_only_it():
    result = one_hidden_unit_search(output_sees_inputs=False)
    assert result.n_networks == 13**5  # u1, u2, c, v, d on the 13 halves of [-3, 3]
    assert result.n_solutions == 0 and result.example is None


def test_one_hidden_unit_computes_xor_if_output_also_sees_inputs():
    result = one_hidden_unit_search(output_sees_inputs=True)
    assert result.n_networks == 13**7 and result.n_solutions > 0
    c = result.example
    assert np.array_equal(c(all_inputs(2)), [0, 1, 1, 0]) and c.n_perceptrons == 2
    manual = ThresholdCircuit(2)  # the docstring's solution: x1 + x2 - 2 AND(x1, x2)
    h = manual.add({0: 1, 1: 1}, -2)
    manual.add({h: -2, 0: 1, 1: 1}, -1)
    assert np.array_equal(manual(all_inputs(2)), [0, 1, 1, 0])


@pytest.mark.parametrize("sees", [False, True])
def test_one_hidden_unit_search_matches_brute_force(sees):
    grid = (-2, -1, 0, 1, 2)
    X = all_inputs(2)
    k = 3 + (4 if sees else 2)
    P = np.array(list(itertools.product(grid, repeat=k)))  # every network, one row each
    h = (P[:, :2] @ X.T + P[:, 2:3] >= 0).astype(int)  # (networks, 4)
    z = P[:, 3:4] * h + P[:, -1:]
    if sees:
        z = z + P[:, 4:6] @ X.T
    expected = ((z >= 0) == [0, 1, 1, 0]).all(axis=1).sum()
    result = one_hidden_unit_search(output_sees_inputs=sees, grid=grid)
    assert (result.n_networks, result.n_solutions) == (len(P), expected)
    assert (expected > 0) == sees


def test_one_hidden_unit_search_for_a_separable_target():
    result = one_hidden_unit_search([0, 0, 0, 1], output_sees_inputs=False)  # AND: h = AND
    assert result.n_solutions > 0 and result.example(all_inputs(2)).tolist() == [0, 0, 0, 1]
