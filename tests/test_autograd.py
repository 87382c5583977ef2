"""Tests of utils.autograd against PyTorch's autograd.

Every comparison runs torch in float64, and values and gradients must agree within
TOL = 1e-6: absolute for numbers up to 1 in size, relative above (``|got - expected| <=
1e-6 * max(1, |expected|)``). Python floats are float64 too, so the actual differences are
rounding errors, many orders of magnitude below the tolerance.
"""

import math
import random

import pytest
import torch

from utils.autograd import MLP, Layer, Neuron, Value, zero_grad

TOL = 1e-6


def assert_close(got: float, expected: float, what: str = "value") -> None:
    assert math.isfinite(got), f"{what}: got {got}"
    error = abs(got - expected)
    assert error <= TOL * max(1.0, abs(expected)), f"{what}: got {got}, expected {expected}"


def tensor(x: float) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


# --- each operation on its own --------------------------------------------------------
# Written once, run on a Value and on a float64 tensor: both support these operators and
# the methods exp, log, tanh, sigmoid and relu.
UNARY = {
    "x + 2": (lambda x: x + 2, [-1.3, 0.7]),
    "2 + x": (lambda x: 2 + x, [-1.3, 0.7]),
    "x - 3": (lambda x: x - 3, [-1.3, 0.7]),
    "2 - x": (lambda x: 2 - x, [-1.3, 0.7]),
    "x * 3": (lambda x: x * 3, [-1.3, 0.7]),
    "3 * x": (lambda x: 3 * x, [-1.3, 0.7]),
    "x / 4": (lambda x: x / 4, [-1.3, 0.7]),
    "2 / x": (lambda x: 2 / x, [-1.3, 0.7]),
    "-x": (lambda x: -x, [-1.3, 0.7]),
    "x ** 2": (lambda x: x**2, [-1.3, 0.7]),
    "x ** 3": (lambda x: x**3, [-1.3, 0.7]),
    "x ** -1": (lambda x: x**-1, [-1.3, 0.7]),
    "x ** -1.5": (lambda x: x**-1.5, [0.4, 2.5]),
    "x ** 0.5": (lambda x: x**0.5, [0.4, 2.5]),
    "x ** 0": (lambda x: x**0, [0.0, -1.3]),
    "exp": (lambda x: x.exp(), [-1.3, 0.7, 5.0]),
    "log": (lambda x: x.log(), [0.3, 7.0]),
    "tanh": (lambda x: x.tanh(), [-1.3, 0.7, 20.0]),
    "sigmoid": (lambda x: x.sigmoid(), [-40.0, -1.3, 0.7, 40.0]),
    "relu": (lambda x: x.relu(), [-1.3, 0.0, 0.7]),
}
UNARY_CASES = [(name, x) for name, (_, points) in UNARY.items() for x in points]

BINARY = {
    "x + y": lambda x, y: x + y,
    "x - y": lambda x, y: x - y,
    "x * y": lambda x, y: x * y,
    "x / y": lambda x, y: x / y,
    "(x - y) / (x * y)": lambda x, y: (x - y) / (x * y),
}


@pytest.mark.parametrize("name, x", UNARY_CASES)
def test_each_unary_operation_matches_torch(name, x):
    fn = UNARY[name][0]
    v, t = Value(x), tensor(x)
    out_v, out_t = fn(v), fn(t)
    out_v.backward()
    out_t.backward()
    assert_close(out_v.data, out_t.item(), f"{name} at {x}")
    assert_close(v.grad, t.grad.item(), f"d({name})/dx at {x}")


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("x, y", [(1.5, -0.4), (-2.0, 3.0)])
def test_each_binary_operation_matches_torch(name, x, y):
    fn = BINARY[name]
    vx, vy, tx, ty = Value(x), Value(y), tensor(x), tensor(y)
    out_v, out_t = fn(vx, vy), fn(tx, ty)
    out_v.backward()
    out_t.backward()
    assert_close(out_v.data, out_t.item(), name)
    assert_close(vx.grad, tx.grad.item(), f"d({name})/dx")
    assert_close(vy.grad, ty.grad.item(), f"d({name})/dy")


# --- random expressions ---------------------------------------------------------------
UNARY_OPS = [
    lambda a: a.tanh(),
    lambda a: a.sigmoid(),
    lambda a: a.relu(),
    lambda a: -a,
    lambda a: a.tanh().exp(),
    lambda a: (a * a + 1).log(),
    lambda a: 1 / (a * a + 1),
    lambda a: (a * a + 0.5) ** -1.5,
    lambda a: (a * a + 0.5) ** 0.5,
    lambda a: a**2,
    lambda a: a**3,
    lambda a: 2 - a,
    lambda a: 0.5 * a + 1,
]
BINARY_OPS = [
    lambda a, b: a + b,
    lambda a, b: a - b,
    lambda a, b: a * b,
    lambda a, b: a / (b * b + 1),
]


@pytest.mark.parametrize("seed", range(40))
def test_random_expressions_match_torch(seed):
    """Build the same random graph twice, from Values and from tensors, step by step.

    Operands are drawn from everything built so far (the same node may be both operands),
    so nodes are shared; the output sums every node, so every node gets a gradient.
    """
    rng = random.Random(seed)
    xs = [rng.uniform(-2.0, 2.0) for _ in range(3)]
    values, tensors = [Value(x) for x in xs], [tensor(x) for x in xs]
    for _ in range(25):
        if rng.random() < 0.5:
            op, picks = rng.choice(UNARY_OPS), [rng.randrange(len(values))]
        else:
            op, picks = rng.choice(BINARY_OPS), [rng.randrange(len(values)) for _ in range(2)]
        v = op(*(values[i] for i in picks))
        t = op(*(tensors[i] for i in picks))
        if abs(v.data) > 10:  # keep numbers moderate: products of products grow fast
            v, t = v.tanh(), t.tanh()
        t.retain_grad()
        values.append(v)
        tensors.append(t)
    out_v, out_t = sum(values), sum(tensors)
    out_v.backward()
    out_t.backward()
    assert_close(out_v.data, out_t.item(), "output")
    for k, (v, t) in enumerate(zip(values, tensors)):
        assert_close(v.data, t.item(), f"node {k}")
        assert_close(v.grad, t.grad.item(), f"grad of node {k}")


# --- shared nodes, and why _backward uses += --------------------------------------------
def test_a_node_used_several_times_matches_torch():
    a, at = Value(3.0), tensor(3.0)
    (a * a + a).backward()
    (at * at + at).backward()
    assert a.grad == pytest.approx(7.0) and at.grad.item() == pytest.approx(7.0)  # 2a + 1

    a, at = Value(-1.5), tensor(-1.5)
    b, bt = a + a, at + at
    (b * b).backward()  # 4 a**2, derivative 8a
    (bt * bt).backward()
    assert_close(a.grad, at.grad.item(), "d(4 a^2)/da")
    assert a.grad == pytest.approx(-12.0)


def test_a_node_used_twice_gets_the_sum_of_both_paths():
    # f = a * b + a reaches a along two paths: through the product (df/da = b) and directly (1).
    a, b = Value(2.0), Value(-3.0)
    (a * b + a).backward()
    a1 = Value(2.0)
    (a1 * b + 5.0).backward()  # the product path alone
    a2 = Value(2.0)
    (Value(-6.0) + a2).backward()  # the direct path alone
    assert (a1.grad, a2.grad) == (-3.0, 1.0)
    assert a.grad == a1.grad + a2.grad == -2.0


def test_overwriting_instead_of_accumulating_would_lose_a_path(monkeypatch):
    """What goes wrong with ``=`` in place of ``+=``: a + a would have derivative 1, not 2."""

    def overwriting_add(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, _parents=(self, other), _op="+")

        def _backward():
            self.grad = out.grad  # the bug
            other.grad = out.grad

        out._backward = _backward
        return out

    with monkeypatch.context() as m:
        m.setattr(Value, "__add__", overwriting_add)
        a = Value(3.0)
        (a + a).backward()
        assert a.grad == 1.0  # wrong: the second path overwrote the first
    a = Value(3.0)
    (a + a).backward()
    assert a.grad == 2.0


# --- deep graphs, the MLP, accumulation ---------------------------------------------------
def test_a_chain_of_5000_operations_needs_no_recursion():
    x, xt = Value(0.3), tensor(0.3)
    y, yt = x, xt
    for _ in range(2_500):  # 2 operations each
        y, yt = (y * 1.001).tanh(), (yt * 1.001).tanh()
    assert len(y.topological_order()) == 1 + 2 * 2_500 + 2_500  # x, the ops, the constants
    y.backward()
    yt.backward()
    assert_close(y.data, yt.item(), "output")
    assert_close(x.grad, xt.grad.item(), "dy/dx")
    assert x.grad > 0


def _torch_copy(model: MLP) -> list[torch.nn.Linear]:
    """float64 nn.Linear layers holding the MLP's weights: weight[i, j] = neuron i's w[j]."""
    linears = []
    for layer in model.layers:
        nout, nin = len(layer.neurons), len(layer.neurons[0].w)
        linear = torch.nn.Linear(nin, nout, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor([[w.data for w in n.w] for n in layer.neurons]))
            linear.bias.copy_(torch.tensor([n.b.data for n in layer.neurons]))
        linears.append(linear)
    return linears


@pytest.mark.parametrize("nonlin", ["tanh", "relu", "sigmoid"])
def test_mlp_loss_and_every_parameter_grad_match_torch(nonlin):
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    model = MLP(3, [4, 4, 1], nonlin=nonlin, seed=1)
    loss = sum((model(x) - y) ** 2 for x, y in zip(xs, ys))
    loss.backward()

    linears = _torch_copy(model)
    act = getattr(torch, nonlin)
    h = torch.tensor(xs, dtype=torch.float64)  # (4, 3)
    for linear in linears[:-1]:
        h = act(linear(h))  # (4, 4)
    out = linears[-1](h).squeeze(1)  # (4,)
    loss_t = ((out - torch.tensor(ys, dtype=torch.float64)) ** 2).sum()
    loss_t.backward()

    assert_close(loss.data, loss_t.item(), "loss")
    checked = 0
    for k, (layer, linear) in enumerate(zip(model.layers, linears)):
        for i, neuron in enumerate(layer.neurons):
            for j, w in enumerate(neuron.w):
                assert_close(w.grad, linear.weight.grad[i, j].item(), f"layer {k} weight[{i}, {j}]")
                checked += 1
            assert_close(neuron.b.grad, linear.bias.grad[i].item(), f"layer {k} bias[{i}]")
            checked += 1
    assert checked == len(model.parameters()) == 41
    assert any(p.grad != 0 for p in model.parameters())


def _two_step_chain(x):
    return ((x * 2).tanh() * x).exp()


def test_gradients_accumulate_across_backward_calls_like_torch():
    x, xt = Value(0.4), tensor(0.4)
    y, yt = _two_step_chain(x), _two_step_chain(xt)
    y.backward()
    once = x.grad
    mid = y.parents[0]  # the intermediate node (tanh(2x) * x)
    mid_once = mid.grad
    y.backward()
    yt.backward(retain_graph=True)
    yt.backward()
    assert_close(x.grad, xt.grad.item(), "dy/dx after two backward calls")
    assert x.grad == pytest.approx(2 * once)  # not 3x: stale intermediate grads must not flow
    assert mid.grad == pytest.approx(mid_once)  # intermediates are recomputed, not summed

    zero_grad([x])
    y.backward()
    assert x.grad == pytest.approx(once)


def test_backward_on_a_leaf_accumulates_like_torch():
    x, xt = Value(5.0), tensor(5.0)
    for _ in range(2):
        x.backward()
        xt.backward()
    assert x.grad == xt.grad.item() == 2.0


def test_module_zero_grad_resets_every_parameter():
    model = MLP(2, [3, 1], seed=0)
    (model([1.0, -2.0]) ** 2).backward()
    assert all(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


# --- the graph, repr, construction ------------------------------------------------------
def test_parents_keep_operand_order_and_duplicates():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    assert (a - b).parents[0] is a and (a - b).parents[1] is b
    assert (b - a).parents[0] is b
    twice = a + a
    assert len(twice.parents) == 2 and all(p is a for p in twice.parents)
    assert (a - b).op == "-" and (a**-1.5).op == "**-1.5" and a.tanh().op == "tanh"
    assert a.parents == () and a.op == ""
    c = 2 - a  # the constant becomes a leaf Value, first
    assert c.parents[0].data == 2.0 and c.parents[1] is a


def test_topological_order_puts_parents_first():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = (c + a).tanh() * c
    order = d.topological_order()
    assert order[-1] is d and len(order) == len({id(v) for v in order}) == 6
    position = {id(v): k for k, v in enumerate(order)}
    for v in order:
        assert all(position[id(p)] < position[id(v)] for p in v.parents)


def test_repr_shows_data_grad_and_label_without_addresses():
    x = Value(2, label="x")
    assert repr(x) == "Value(data=2.0, grad=0.0, label='x')"
    y = x * 3
    y.backward()
    assert repr(y) == "Value(data=6.0, grad=1.0)"
    assert repr(x) == "Value(data=2.0, grad=3.0, label='x')"


def test_mlp_weights_come_from_the_seed_and_not_the_global_rng():
    state = random.getstate()
    first = [p.data for p in MLP(3, [4, 1], seed=7).parameters()]
    assert random.getstate() == state
    assert first == [p.data for p in MLP(3, [4, 1], seed=7).parameters()]
    assert first == [p.data for p in MLP(3, [4, 1], generator=random.Random(7)).parameters()]
    assert first != [p.data for p in MLP(3, [4, 1], seed=8).parameters()]
    assert len(set(first)) == len(first)  # neurons do not share weights
    neuron = Neuron(4, seed=0)
    assert all(abs(p.data) <= 0.5 for p in neuron.parameters())  # U(-1/sqrt(4), 1/sqrt(4))


def test_layer_and_mlp_output_shapes():
    layer = Layer(3, 2, seed=0)
    out = layer([1.0, 2.0, 3.0])
    assert isinstance(out, list) and len(out) == 2 and all(isinstance(v, Value) for v in out)
    assert len(layer.parameters()) == 2 * 4
    assert isinstance(MLP(3, [2, 1])([1.0, 2.0, 3.0]), Value)
    assert len(MLP(3, [2, 2])([1.0, 2.0, 3.0])) == 2
    linear = Neuron(2, nonlin=None, seed=0)
    w0, w1, b = (p.data for p in linear.parameters())
    assert linear([1.0, -2.0]).data == pytest.approx(b + w0 - 2 * w1)


# --- errors name the bad value ------------------------------------------------------------
@pytest.mark.parametrize("x", [-2.0, 0.0])
def test_log_of_a_non_positive_number_names_the_value(x):
    with pytest.raises(ValueError, match=rf"log expects a positive number, got Value\(data={x}"):
        Value(x).log()


def test_exponent_errors():
    x = Value(2.0)
    with pytest.raises(TypeError, match=r"must be a constant int or float, got Value\(data=3.0"):
        x ** Value(3.0)
    with pytest.raises(TypeError, match=r"2 \*\* Value: the exponent must be a constant"):
        2**x
    with pytest.raises(TypeError, match="exponent must be a constant int or float, got '2'"):
        x ** "2"
    with pytest.raises(ValueError, match=r"Value\(data=-2.0, grad=0.0\) \*\* 0.5 is not real"):
        Value(-2.0) ** 0.5
    with pytest.raises(ZeroDivisionError, match="zero to a negative power"):
        Value(0.0) ** -1


def test_type_errors_name_the_bad_operand():
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"Value expects an int or float, got str \('3'\)"):
        Value("3")
    with pytest.raises(TypeError, match=r"got bool"):
        Value(True)
    with pytest.raises(TypeError, match=r"operand for \+: expected a Value, int or float, got str"):
        x + "a"
    with pytest.raises(TypeError, match=r"unsupported operand for -: .* got list"):
        [1.0] - x
    with pytest.raises(TypeError, match="label must be a str, got int"):
        Value(1.0, label=3)
    with pytest.raises(TypeError, match="zero_grad expects Values, got float"):
        zero_grad([x, 1.0])


def test_network_errors():
    with pytest.raises(ValueError, match="nonlin must be one of .* got 'gelu'"):
        Neuron(3, nonlin="gelu")
    with pytest.raises(ValueError, match="Neuron expects 3 inputs, got 2"):
        Neuron(3)([1.0, 2.0])
    with pytest.raises(ValueError, match="nin must be an integer >= 1, got 0"):
        Neuron(0)
    with pytest.raises(ValueError, match="nouts must be a non-empty list"):
        MLP(3, [])
    with pytest.raises(TypeError, match="seed must be an int, got float"):
        MLP(3, [2], seed=1.5)
    with pytest.raises(TypeError, match="not both"):
        MLP(3, [2], seed=1, generator=random.Random(1))
