import re

import numpy as np
import pytest
import torch

from utils.autograd import MLP, Value
from utils.boolean import parity_deep, parity_tree, xor_circuit
from utils.graphs import draw_chain, draw_network, draw_torch_graph, draw_value_graph

NODE = re.compile(r"^\t(?!graph |node |edge )(\w+) \[", re.MULTILINE)  # not the attribute lines
EDGE = re.compile(r"^\t(\w+) -> (\w+)", re.MULTILINE)
ANY_NODE = re.compile(r"^\t+(?!graph |node |edge )(\w+) \[", re.MULTILINE)  # in subgraphs too
ANY_EDGE = re.compile(r"^\t+(\w+) -> (\w+)\b(?! \[style=invis)", re.MULTILINE)  # visible ones


def nodes(dot) -> list[str]:
    return NODE.findall(dot.source)


def edges(dot) -> list[tuple[str, str]]:
    return EDGE.findall(dot.source)


def neuron_output():
    """o = tanh(x1 * w1 + b): 6 Values, 3 operations."""
    x1, w1, b = Value(2.0, label="x1"), Value(-3.0, label="w1"), Value(1.5, label="b")
    o = (x1 * w1 + b).tanh()
    o.label = "o"
    return o


# --- Value graphs ---------------------------------------------------------------------
def test_value_graph_has_one_node_per_value_and_operation():
    dot = draw_value_graph(neuron_output())
    assert nodes(dot) == ["v0", "v1", "v2", "op2", "v3", "v4", "op4", "v5", "op5"]
    assert edges(dot) == [
        ("v0", "op2"), ("v1", "op2"), ("op2", "v2"),  # x1, w1 -> * -> x1*w1
        ("v2", "op4"), ("v3", "op4"), ("op4", "v4"),  # x1*w1, b -> + -> n
        ("v4", "op5"), ("op5", "v5"),  # n -> tanh -> o
    ]
    assert 'op2 [label="*"' in dot.source and 'op5 [label=tanh' in dot.source
    assert "rankdir=LR" in dot.source


def test_value_graph_labels_show_data_and_grad_with_4_significant_digits():
    o = neuron_output()
    o.backward()
    source = draw_value_graph(o).source
    # o = tanh(-4.5) = -0.99975..., do/db = 1 - o**2 = 0.00049349..., do/dw1 = x1 * do/db
    assert 'v5 [label="o | data -0.9998 | grad 1" shape=record]' in source
    assert 'v3 [label="b | data 1.5 | grad 0.0004935"' in source
    assert 'v1 [label="w1 | data -3 | grad 0.000987"' in source
    assert "grad 0 " not in source  # every Value got its gradient
    without = draw_value_graph(o, show_grad=False).source
    assert "grad" not in without and '"o | data -0.9998"' in without


def test_value_graph_draws_an_input_used_twice_with_two_edges():
    a = Value(3.0, label="a")
    dot = draw_value_graph(a + a)
    assert nodes(dot) == ["v0", "v1", "op1"]
    assert edges(dot) == [("v0", "op1"), ("v0", "op1"), ("op1", "v1")]


def test_value_graph_is_deterministic():
    first = draw_value_graph(neuron_output())
    junk = [Value(float(k)) for k in range(1_000)]  # so the second graph's objects live elsewhere
    second = draw_value_graph(neuron_output())
    assert first.source == second.source
    assert first.pipe(format="svg") == second.pipe(format="svg")
    assert len(junk) == 1_000


def test_value_graph_renders_to_svg_even_with_special_characters_in_labels():
    a, b = Value(1.0, label="a{|}<b>"), Value(2.0, label='say "hi"')
    svg = draw_value_graph(a * b + a).pipe(format="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "say &quot;hi&quot;" in svg and "a{|}&lt;b&gt;" in svg


def test_value_graph_of_an_mlp_renders():
    model = MLP(2, [2, 1], seed=0)
    loss = (model([1.0, -1.0]) - 1.0) ** 2
    loss.backward()
    dot = draw_value_graph(loss)
    value_nodes = [n for n in nodes(dot) if n.startswith("v")]
    assert len(value_nodes) == len(loss.topological_order())
    assert b"<svg" in dot.pipe(format="svg")


def test_value_graph_direction():
    tb = draw_value_graph(neuron_output(), rankdir="TB").source
    assert "rankdir=TB" in tb and 'label="{ o | data -0.9998 | grad 0 }"' in tb  # turned
    with pytest.raises(ValueError, match="rankdir must be one of LR, RL, TB, BT, got 'up'"):
        draw_value_graph(neuron_output(), rankdir="up")


@pytest.mark.parametrize("bad", [2.0, torch.tensor(2.0), None])
def test_value_graph_rejects_other_types(bad):
    with pytest.raises(TypeError, match="draw_value_graph expects a Value, got"):
        draw_value_graph(bad)


# --- torch graphs ---------------------------------------------------------------------
def linear_tanh_sum():
    model = torch.nn.Linear(3, 2)
    x = torch.randn(5, 3)  # (B, n_in)
    return model, torch.tanh(model(x)).sum()  # ()


def test_torch_graph_of_linear_tanh_sum():
    model, loss = linear_tanh_sum()
    dot = draw_torch_graph(loss)
    source = dot.source
    for name in ["SumBackward0", "TanhBackward0", "AddmmBackward0", "TBackward0"]:
        assert f"[label={name} shape=ellipse]" in source
    assert 'label="(2, 3)" shape=box' in source  # the weight: (out_features, in_features)
    assert 'label="(2,)" shape=box' in source  # the bias
    assert "AccumulateGrad" not in source and "weight" not in source
    # Sum, Tanh, Addmm, bias, T, weight, and the output box; x needs no gradient.
    assert nodes(dot) == ["t0", "output", "t1", "t2", "t3", "t4", "t5"]
    assert sorted(edges(dot)) == sorted([("t0", "output"), ("t1", "t0"), ("t2", "t1"),
                                         ("t3", "t2"), ("t4", "t2"), ("t5", "t4")])
    assert b"<svg" in dot.pipe(format="svg")


def test_torch_graph_names_the_parameters():
    model, loss = linear_tanh_sum()
    source = draw_torch_graph(loss, params=dict(model.named_parameters())).source
    assert 'label="weight\\n(2, 3)"' in source and 'label="bias\\n(2,)"' in source


def test_torch_graph_is_deterministic():
    torch.manual_seed(0)
    first = draw_torch_graph(linear_tanh_sum()[1]).source
    torch.manual_seed(0)
    second = draw_torch_graph(linear_tanh_sum()[1]).source
    assert first == second


def test_torch_graph_shared_leaf_and_leaf_tensor():
    x = torch.randn(4, requires_grad=True)
    dot = draw_torch_graph((x * x).sum())
    assert edges(dot).count(("t2", "t1")) == 2  # x -> MulBackward0, twice
    assert 'label="(4,)" shape=box' in dot.source
    leaf = draw_torch_graph(torch.zeros(2, 3, requires_grad=True))
    assert nodes(leaf) == ["t0"] and 'label="(2, 3)"' in leaf.source


def test_torch_graph_errors():
    with pytest.raises(ValueError, match="recorded no graph"):
        draw_torch_graph(torch.ones(3))
    x = torch.ones(3, requires_grad=True)
    with torch.no_grad():
        y = (2 * x).sum()
    with pytest.raises(ValueError, match=r"torch.no_grad\(\)"):
        draw_torch_graph(y)
    with pytest.raises(TypeError, match="draw_torch_graph expects a torch.Tensor, got Value"):
        draw_torch_graph(Value(1.0))
    with pytest.raises(TypeError, match="draw_torch_graph expects a torch.Tensor, got list"):
        draw_torch_graph([1.0])
    with pytest.raises(TypeError, match=r"params must be a mapping name -> tensor .* got list"):
        draw_torch_graph((x * 2).sum(), params=[x])
    with pytest.raises(TypeError, match=r"params\['x'\] must be a torch.Tensor, got float"):
        draw_torch_graph((x * 2).sum(), params={"x": 1.0})


# --- networks of units ----------------------------------------------------------------
def test_network_of_the_xor_circuit():
    dot = draw_network(xor_circuit(), unit_labels={0: "OR", 1: "NAND", 2: "AND"})
    assert ANY_NODE.findall(dot.source) == ["i0", "i1", "u0", "u1", "u2"]
    assert ANY_EDGE.findall(dot.source) == [("i0", "u0"), ("i1", "u0"), ("i0", "u1"), ("i1", "u1"),
                        ("u0", "u2"), ("u1", "u2")]
    source = dot.source
    assert 'u0 [label="OR\\nb -1"' in source and 'u2 [label="AND\\nb -2"' in source
    assert "i0 -> u1 [label=-1 color=\"#d62728\"" in source  # negative: red and dashed
    assert "i0 -> u0 [label=1]" in source
    assert 'u2 [label="AND\\nb -2" margin=0.02 peripheries=2' in source  # the output
    assert "rankdir=LR" in source and "ranksep=0.55" in source and b"<svg" in dot.pipe(format="svg")
    assert repr(dot) == "<Drawing: 5 nodes, 6 edges>"  # not the 2 invisible edges that keep order


def test_network_ranks_units_by_depth_with_skip_connections():
    dot = draw_network(parity_deep(3), edge_labels=False, ranksep=1.2)
    assert "ranksep=1.2" in dot.source
    ranks = re.findall(r"\{\n\t\trank=same\n((?:\t\t.*\n)*?)\t\}", dot.source)
    members = [re.findall(r"^\t\t(\w+) \[label", r, re.M) for r in ranks]
    assert members == [["i0", "i1", "i2"], ["u0", "u1"], ["u2"], ["u3", "u4"], ["u5"]]
    assert ("i2", "u3") in ANY_EDGE.findall(dot.source)  # x3 skips to the second XOR block
    assert "label=1" not in dot.source and "label=-1" not in dot.source


def test_network_of_weight_bias_layers_dims_units_and_takes_tensors():
    W1, b1 = torch.tensor([[0.5], [-0.3]], requires_grad=True), torch.tensor([-0.82, 0.1])
    layers = [(W1, b1), (np.array([[0.1, 0.7]]), [0.25])]
    dot = draw_network(layers, input_names=["x"], dimmed=[0], fmt=".2f")
    assert ANY_NODE.findall(dot.source) == ["i0", "u0", "u1", "u2"]
    source = dot.source
    assert 'i0 [label=x shape=box' in source
    assert 'u0 [label="b -0.82" color="#b0b0b0"' in source and "fillcolor=\"#eeeeee\"" in source
    assert 'i0 -> u0 [label=0.50 color="#b0b0b0"' in source  # into a dimmed unit: grey
    assert 'u0 -> u2 [label=0.10 color="#b0b0b0"' in source  # out of it: grey
    assert "i0 -> u1 [label=-0.30 color=\"#d62728\"" in source
    assert 'u2 [label="b 0.25" margin=0.02 peripheries=2' in source


def test_network_rejects_bad_input_naming_what_it_expected():
    with pytest.raises(TypeError, match="expects a ThresholdCircuit or a non-empty list"):
        draw_network("xor")
    with pytest.raises(TypeError, match=r"layer 0: expected a \(weight, bias\) pair, got ndarray"):
        draw_network([np.ones((2, 1))])
    with pytest.raises(ValueError, match=r"layer 1: expected a weight with 2 columns .* got shape \(1, 3\)"):
        draw_network([(np.ones((2, 1)), np.zeros(2)), (np.ones((1, 3)), np.zeros(1))])
    with pytest.raises(ValueError, match=r"expected a bias of shape \(2,\), .* got shape \(3,\)"):
        draw_network([(np.ones((2, 1)), np.zeros(3))])
    with pytest.raises(ValueError, match=r"layer 0's weight must be 2-D, got shape \(2,\)"):
        draw_network([(np.ones(2), np.zeros(2))])
    with pytest.raises(ValueError, match="expected 2 input names, one per input, got 3"):
        draw_network(xor_circuit(), input_names=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"unit indices must be integers in 0..2 .* got 3"):
        draw_network(xor_circuit(), dimmed=[3])
    with pytest.raises(ValueError, match="got 'OR'"):
        draw_network(xor_circuit(), unit_labels={"OR": 0})


def test_network_drawing_is_deterministic():
    assert draw_network(parity_tree(5)).source == draw_network(parity_tree(5)).source


# --- one chain, two modes -------------------------------------------------------------
def test_chain_in_forward_and_reverse_mode():
    dot = draw_chain(["w", "u", "L"], [2.0, 3.0], forward=[1, 2, 6], reverse=[6, 3, 1])
    assert ANY_NODE.findall(dot.source) == ["f0", "f1", "f2", "r0", "r1", "r2"]
    assert ANY_EDGE.findall(dot.source) == [("f0", "f1"), ("f1", "f2"), ("r0", "r1"), ("r1", "r2")]
    source = dot.source
    assert 'f1 [label="u\\ndu/dw = 2"]' in source and 'f2 [label="L\\ndL/dw = 6"]' in source
    assert 'r0 [label="w\\ndL/dw = 6"]' in source and 'r2 [label="L\\ndL/dL = 1"]' in source
    assert 'r1 -> r2 [label=" × 3" color="#d62728" dir=back' in source  # arrows point back
    assert "one pass per input" in source and "one pass per output" in source
    assert b"<svg" in dot.pipe(format="svg")


def test_chain_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="local must have 2 values for a chain of 3 names, got 3"):
        draw_chain(["w", "u", "L"], [1, 2, 3], forward=[1, 2, 6], reverse=[6, 3, 1])
    with pytest.raises(ValueError, match="reverse must have 3 values for a chain of 3 names, got 2"):
        draw_chain(["w", "u", "L"], [1, 2], forward=[1, 2, 6], reverse=[6, 3])
    with pytest.raises(ValueError, match="a chain needs at least 2 names, got 1"):
        draw_chain(["w"], [], forward=[1], reverse=[1])
