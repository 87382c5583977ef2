"""Computation graphs drawn with graphviz: our scalar :class:`~utils.autograd.Value` graphs,
PyTorch's autograd graphs, networks of units, and a chain differentiated in both modes.

- :func:`draw_value_graph` draws every Value as a record ``label | data | grad`` and every
  operation as a small circle between its inputs and its output.
- :func:`draw_torch_graph` draws the backward graph that torch records: one node per
  ``grad_fn`` (``MulBackward0``, ``AddmmBackward0``, ...), found by following
  ``next_functions`` from ``tensor.grad_fn``, and one box per leaf tensor (the tensors
  whose ``.grad`` torch fills, reached through ``AccumulateGrad`` nodes) with its shape.
- :func:`draw_network` draws a network of units, a :class:`~utils.boolean.ThresholdCircuit`
  or a list of ``(weight, bias)`` layers: one column per layer, the weights on the edges and
  each unit's bias in its node; units can be greyed out (dead ReLUs, say).
- :func:`draw_chain` draws a chain of functions twice: forward mode carries the derivative of
  every node with respect to the input, reverse mode the derivative of the output with
  respect to every node; the edges carry the local derivatives both multiply by.

Both return a :class:`Drawing`, a ``graphviz.Digraph`` whose text form gives its size
instead of a memory address (so a notebook prints the same text on every run); a notebook displays it as the cell's last expression, and
``.pipe(format="svg")`` renders it. Drawings are deterministic: node ids come from a counter
in traversal order (never ``id()``), and inputs are visited in their stored order, so the
same graph gives the same ``.source``, hence the same SVG, on every run.

Left out on purpose: the tensors that torch saves for the backward pass (torchviz shows them;
here they would crowd the small graphs of the chapters), colours by role, and subgraphs.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import graphviz
import numpy as np
import torch

from utils.autograd import Value
from utils.boolean import ThresholdCircuit

__all__ = ["Drawing", "draw_value_graph", "draw_torch_graph", "draw_network", "draw_chain"]

_RANKDIRS = ("LR", "RL", "TB", "BT")


class Drawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` whose ``repr`` counts its nodes and visible edges, e.g.
    ``<Drawing: 7 nodes, 6 edges>``, instead of ``<graphviz.graphs.Digraph at 0x7f...>``:
    notebooks show the picture, and the text that Jupyter stores beside it stays the same
    from run to run."""

    def __repr__(self) -> str:
        edges = sum(1 for line in self.body if " -> " in line and "style=invis" not in line)
        nodes = sum(1 for line in self.body if " -> " not in line and "[" in line
                    and not line.lstrip().startswith(("graph", "node", "edge")))
        return f"<Drawing: {nodes} nodes, {edges} edges>"
_RECORD_SPECIALS = str.maketrans({c: "\\" + c for c in "{}|<>\\\""})


def _fmt(x: float) -> str:
    """A number with 4 significant digits, as it appears in the drawings."""
    return f"{x:.4g}"


def _check_rankdir(rankdir: str) -> None:
    if rankdir not in _RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(_RANKDIRS)}, got {rankdir!r}")


def draw_value_graph(root: Value, *, rankdir: str = "LR", show_grad: bool = True) -> Drawing:
    """Draw the graph of Values that ``root`` was computed from.

    Args:
        root: the output Value.
        rankdir: graphviz direction, 'LR' (default: inputs on the left), 'RL', 'TB' or 'BT'.
        show_grad: show each Value's ``.grad`` (default True); False before ``backward``.

    Returns:
        A ``graphviz.Digraph``: one record node per Value (``label | data | grad``, numbers
        with 4 significant digits) named ``v0, v1, ...`` in topological order, one circle
        per operation named ``op<k>`` after the Value it made, and edges input -> operation
        -> output. An input used twice (``a + a``) has two edges into the operation.

    Example:
        >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
        >>> c = a * b; c.label = "c"
        >>> dot = draw_value_graph(c)   # a, b -> (*) -> c
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw_value_graph expects a Value, got {type(root).__name__} ({root!r:.60})")
    _check_rankdir(rankdir)
    dot = Drawing(graph_attr={"rankdir": rankdir, "nodesep": "0.15", "ranksep": "0.3"},
                  node_attr={"fontsize": "11", "fontname": "Helvetica"})
    order = root.topological_order()  # parents first, in their stored order
    ids = {id(v): f"v{k}" for k, v in enumerate(order)}  # id() only as a dict key
    for v in order:
        fields = [v.label.translate(_RECORD_SPECIALS), f"data {_fmt(v.data)}"]
        if show_grad:
            fields.append(f"grad {_fmt(v.grad)}")
        label = " | ".join(fields)
        # A record lays its fields across the rank direction: in a left-to-right graph,
        # label, data and grad stack up in a narrow box; braces turn them for top-down.
        if rankdir in ("TB", "BT"):
            label = "{ " + label + " }"
        dot.node(ids[id(v)], label=label, shape="record")
        if v.op:
            op_id = "op" + ids[id(v)][1:]
            dot.node(op_id, label=v.op, shape="circle", fontsize="10", margin="0.02")
            for parent in v.parents:
                dot.edge(ids[id(parent)], op_id)
            dot.edge(op_id, ids[id(v)])
    return dot


def draw_torch_graph(
    tensor: torch.Tensor, *, params: Mapping[str, torch.Tensor] | None = None, rankdir: str = "LR"
) -> Drawing:
    """Draw the autograd graph torch recorded for ``tensor``.

    Args:
        tensor: the output, e.g. a loss; it must require grad.
        params: optional ``name -> tensor`` map, e.g. ``dict(model.named_parameters())``;
            leaves found in it are labelled with their name above their shape.
        rankdir: graphviz direction, as in :func:`draw_value_graph`.

    Returns:
        A ``graphviz.Digraph`` with nodes ``t0, t1, ...`` in depth-first order: one ellipse
        per ``grad_fn``, labelled with its class name; one box per leaf tensor with its
        shape, e.g. ``(4, 3)`` for the weight of ``nn.Linear(3, 4)``; and a box for the
        output tensor. Edges follow the forward computation (inputs -> output). A leaf
        tensor with ``requires_grad=True`` gives a graph of that one box.

    Raises:
        TypeError: ``tensor`` is not a tensor, or ``params`` is not a mapping of tensors.
        ValueError: ``tensor`` does not require grad (nothing was recorded).

    Example:
        >>> model = torch.nn.Linear(3, 2)
        >>> loss = torch.tanh(model(torch.randn(5, 3))).sum()
        >>> dot = draw_torch_graph(loss, params=dict(model.named_parameters()))
    """
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"draw_torch_graph expects a torch.Tensor, got {type(tensor).__name__} "
                        f"({tensor!r:.60})")
    names = _param_names(params)
    _check_rankdir(rankdir)
    if tensor.grad_fn is None and not tensor.requires_grad:
        raise ValueError(
            "the tensor has no grad_fn and does not require grad, so torch recorded no graph: "
            "was it computed under torch.no_grad() or from tensors without requires_grad=True?"
        )
    dot = Drawing(graph_attr={"rankdir": rankdir, "nodesep": "0.15", "ranksep": "0.3"},
                  node_attr={"fontsize": "11", "fontname": "Helvetica"})

    def leaf_label(t: torch.Tensor) -> str:
        shape = str(tuple(t.shape))
        name = names.get(id(t))
        return shape if name is None else f"{name}\\n{shape}"  # \\n: a line break in DOT

    if tensor.grad_fn is None:  # a leaf: the graph is the tensor itself
        dot.node("t0", label=leaf_label(tensor), shape="box")
        return dot
    _draw_backward(dot, tensor, leaf_label)
    return dot


def _draw_backward(dot: Drawing, tensor: torch.Tensor, leaf_label) -> None:
    """Add the ``grad_fn`` graph of ``tensor`` to ``dot``, depth first from the output."""
    ids: dict = {}  # grad_fn -> node id; the dict keeps each grad_fn object alive

    def visit(fn) -> tuple[str, bool]:
        """The node id of ``fn``, and whether it is new."""
        if fn in ids:
            return ids[fn], False
        ids[fn] = f"t{len(ids)}"
        if hasattr(fn, "variable"):  # AccumulateGrad: stands for a leaf tensor
            dot.node(ids[fn], label=leaf_label(fn.variable), shape="box")
        else:
            dot.node(ids[fn], label=type(fn).__name__, shape="ellipse")
        return ids[fn], True

    root_id, _ = visit(tensor.grad_fn)
    dot.node("output", label=f"output\\n{tuple(tensor.shape)}", shape="box", style="bold")
    dot.edge(root_id, "output")
    stack = [tensor.grad_fn]
    while stack:
        fn = stack.pop()
        new_inputs = []
        for next_fn, _ in fn.next_functions:
            if next_fn is None:  # an input that needs no gradient
                continue
            next_id, is_new = visit(next_fn)
            dot.edge(next_id, ids[fn])
            if is_new:
                new_inputs.append(next_fn)
        stack.extend(reversed(new_inputs))  # the first input is explored first


def _param_names(params: Mapping[str, torch.Tensor] | None) -> dict[int, str]:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise TypeError(
            f"params must be a mapping name -> tensor such as dict(model.named_parameters()), "
            f"got {type(params).__name__}"
        )
    names = {}
    for name, t in params.items():
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"params[{name!r}] must be a torch.Tensor, got {type(t).__name__}")
        names[id(t)] = str(name)
    return names


# --- networks of units ------------------------------------------------------------------
_DIM = {"color": "#b0b0b0", "fontcolor": "#909090"}  # a greyed-out unit and its edges


def _as_float_array(x, what: str, ndim: int) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    a = np.asarray(x, dtype=float)
    if a.ndim != ndim:
        raise ValueError(f"{what} must be {ndim}-D, got shape {a.shape}")
    return a


def _units_of_layers(layers) -> tuple[int, list, set]:
    """``(n_inputs, [(sources, weights, bias), ...], output units)`` for ``(W, b)`` layers."""
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__len__") or not len(layers):
        raise TypeError("draw_network expects a ThresholdCircuit or a non-empty list of "
                        f"(weight, bias) layers, got {type(layers).__name__}")
    units, wires, n_in = [], None, None
    for k, layer in enumerate(layers):
        if not (isinstance(layer, (tuple, list)) and len(layer) == 2):
            raise TypeError(f"layer {k}: expected a (weight, bias) pair, got {type(layer).__name__}")
        W = _as_float_array(layer[0], f"layer {k}'s weight", 2)  # (out, in)
        b = _as_float_array(layer[1], f"layer {k}'s bias", 1)  # (out,)
        if wires is None:
            n_in, wires = W.shape[1], tuple(range(W.shape[1]))
        if W.shape[1] != len(wires):
            raise ValueError(f"layer {k}: expected a weight with {len(wires)} columns (the units "
                             f"of the layer before), got shape {W.shape}")
        if b.shape != (W.shape[0],):
            raise ValueError(f"layer {k}: expected a bias of shape ({W.shape[0]},), one per row "
                             f"of the weight, got shape {b.shape}")
        first = n_in + len(units)  # the wire of this layer's first unit
        units += [(wires, tuple(W[j].tolist()), b[j].item()) for j in range(len(b))]
        wires = tuple(range(first, first + len(b)))
    return n_in, units, {w - n_in for w in wires}


def _levels(n_inputs: int, units) -> list[int]:
    levels = [0] * n_inputs
    for sources, _, _ in units:
        levels.append(1 + max((levels[s] for s in sources), default=0))
    return levels


def draw_network(net, *, input_names=None, unit_labels=None, dimmed=(), edge_labels: bool = True,
                 fmt: str = ".3g", title: str | None = None, ranksep: float = 0.55) -> Drawing:
    """Draw a network of units, left to right: inputs, then one column per depth.

    Args:
        net: a :class:`~utils.boolean.ThresholdCircuit` (a unit may also read inputs or units
            further back), or a list of ``(weight, bias)`` layers in ``nn.Linear``'s layout,
            weight ``(out_features, in_features)``, as numbers, arrays or tensors.
        input_names: one name per input (default ``x1, x2, ...``).
        unit_labels: ``{unit index: name}`` shown above the bias, e.g. ``{0: "OR"}``; units
            are numbered as a circuit's ``units``, or layer by layer for ``(weight, bias)``.
        dimmed: unit indices to grey out with their edges (units that never fire, say).
        edge_labels: write each weight on its edge (default True); the edge's style always
            shows its sign: solid for positive (and zero), dashed red for negative.
        fmt: format of the weights and biases (default ``.3g``: ``1``, ``-0.823``).
        title: a caption above the drawing.
        ranksep: the gap between columns in inches (default 0.55); widen it for dense layers.

    Returns:
        A ``graphviz.Digraph``: inputs ``i0, i1, ...`` and units ``u0, u1, ...`` (circles
        labelled ``b <bias>``, output units with a double ring), one edge per weight; nodes
        of one depth share a rank, in the order they were added.

    Example:
        >>> from utils.boolean import xor_circuit
        >>> dot = draw_network(xor_circuit(), unit_labels={0: "OR", 1: "NAND", 2: "AND"})
    """
    if isinstance(net, ThresholdCircuit):
        n_in, outputs = net.n_inputs, {w - net.n_inputs for w in net.outputs}
        units = [(s, p.weights, p.bias) for s, p in net.units]
    else:
        n_in, units, outputs = _units_of_layers(net)
    names = [f"x{k + 1}" for k in range(n_in)] if input_names is None else list(map(str, input_names))
    if len(names) != n_in:
        raise ValueError(f"expected {n_in} input names, one per input, got {len(names)}")
    labels, dimmed = _unit_options(unit_labels, dimmed, len(units))
    dot = Drawing(graph_attr={"rankdir": "LR", "nodesep": "0.15", "ranksep": f"{ranksep:g}"},
                  node_attr={"fontsize": "11", "fontname": "Helvetica"},
                  edge_attr={"fontsize": "10", "fontname": "Helvetica", "arrowsize": "0.6"})
    if title:
        dot.attr(label=title, labelloc="t", fontname="Helvetica", fontsize="12")
    levels = _levels(n_in, units)
    for level in range(max(levels) + 1):
        with dot.subgraph() as rank:
            rank.attr(rank="same")
            _draw_rank([w for w, lv in enumerate(levels) if lv == level], rank, names, units,
                       labels, dimmed, outputs, fmt)
    for k, (sources, weights, _) in enumerate(units):
        for s, weight in zip(sources, weights):
            style = {"style": "dashed", "color": "#d62728", "fontcolor": "#d62728"} if weight < 0 else {}
            grey = _DIM if k in dimmed or (s - n_in) in dimmed else {}
            dot.edge(_node_id(s, n_in), f"u{k}", label=f"{weight:{fmt}}" if edge_labels else None,
                     **{**style, **grey})
    return dot


def _node_id(wire: int, n_inputs: int) -> str:
    return f"i{wire}" if wire < n_inputs else f"u{wire - n_inputs}"


def _draw_rank(wires, rank, names, units, labels: dict, dimmed: set, outputs: set, fmt: str) -> None:
    """The nodes of one depth: inputs as boxes, units as circles with their bias."""
    n_in = len(names)
    for w in wires:
        if w < n_in:
            rank.node(f"i{w}", label=names[w], shape="box", style="rounded", width="0.45")
            continue
        k = w - n_in
        text = "\\n".join(filter(None, [labels.get(k), f"b {units[k][2]:{fmt}}"]))
        grey = {"style": "filled", "fillcolor": "#eeeeee", **_DIM} if k in dimmed else {}
        rank.node(f"u{k}", label=text, shape="circle", margin="0.02",
                  peripheries="2" if k in outputs else "1", **grey)
    for a, b in zip(wires, wires[1:]):  # keep the order they were added in
        rank.edge(_node_id(a, n_in), _node_id(b, n_in), style="invis")


def _unit_options(unit_labels, dimmed, n_units: int) -> tuple[dict, set]:
    labels = dict(unit_labels or {})
    for k in [*labels, *dimmed]:
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 0 <= k < n_units:
            raise ValueError(f"unit indices must be integers in 0..{n_units - 1} "
                             f"(this network has {n_units} units), got {k!r}")
    return {int(k): str(v) for k, v in labels.items()}, {int(k) for k in dimmed}


# --- one chain, two modes ---------------------------------------------------------------
def draw_chain(names, local, *, forward, reverse, fmt: str = ".3g") -> Drawing:
    """Draw the chain ``names[0] -> names[1] -> ... -> names[-1]`` twice, side by side: what
    forward mode carries along it, and what reverse mode carries.

    Args:
        names: the k + 1 quantities of the chain, input first, output last.
        local: the k local derivatives, ``d names[i+1] / d names[i]`` for edge i.
        forward: the k + 1 values forward mode carries, ``d names[i] / d names[0]``
            (the first is 1), computed from the input towards the output.
        reverse: the k + 1 values reverse mode carries, ``d names[-1] / d names[i]``
            (the last is 1), computed from the output back towards the input.
        fmt: format of the numbers (default ``.3g``).

    Returns:
        A ``graphviz.Digraph`` with two clusters: ``forward`` (nodes ``f0 .. fk``, arrows
        pointing to the output) and ``reverse`` (nodes ``r0 .. rk``, arrows pointing back to
        the input); each node shows its name and what the mode carries there, each edge its
        local derivative.

    Example:
        >>> dot = draw_chain(["w", "u", "L"], [2.0, 3.0], forward=[1, 2, 6], reverse=[6, 3, 1])
    """
    names = [str(n) for n in names]
    k = len(names) - 1
    for what, values, want in [("local", local, k), ("forward", forward, k + 1),
                               ("reverse", reverse, k + 1)]:
        if len(_as_float_array(values, what, 1)) != want:
            raise ValueError(f"{what} must have {want} values for a chain of {k + 1} names, "
                             f"got {len(values)}")
    if k < 1:
        raise ValueError(f"a chain needs at least 2 names, got {len(names)}")
    first, last = names[0], names[-1]
    dot = Drawing(graph_attr={"rankdir": "TB", "nodesep": "0.6", "ranksep": "0.25"},
                  node_attr={"fontsize": "11", "fontname": "Helvetica", "shape": "box",
                             "style": "rounded"},
                  edge_attr={"fontsize": "10", "fontname": "Helvetica", "arrowsize": "0.7"})
    rows = [("forward", "f", f"forward mode: {first} to {last},\\ncarries d(node)/d{first};\\n"
             "one pass per input", forward, lambda n: f"d{n}/d{first}", "#1f77b4"),
            ("reverse", "r", f"reverse mode: {last} back to {first},\\ncarries d{last}/d(node);\\n"
             "one pass per output", reverse, lambda n: f"d{last}/d{n}", "#d62728")]
    for cluster, tag, caption, values, what, colour in rows:
        with dot.subgraph(name=f"cluster_{cluster}") as c:
            c.attr(label=caption, fontname="Helvetica", fontsize="12", color=colour,
                   fontcolor=colour)
            for i, name in enumerate(names):
                c.node(f"{tag}{i}", label=f"{name}\\n{what(name)} = {float(values[i]):{fmt}}")
            for i in range(k):
                c.edge(f"{tag}{i}", f"{tag}{i + 1}", label=f" × {float(local[i]):{fmt}}",
                       color=colour, fontcolor=colour,
                       **({"dir": "back"} if cluster == "reverse" else {}))
    return dot
