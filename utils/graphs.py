"""Computation graphs drawn with graphviz: our scalar :class:`~utils.autograd.Value` graphs
and PyTorch's autograd graphs.

- :func:`draw_value_graph` draws every Value as a record ``label | data | grad`` and every
  operation as a small circle between its inputs and its output.
- :func:`draw_torch_graph` draws the backward graph that torch records: one node per
  ``grad_fn`` (``MulBackward0``, ``AddmmBackward0``, ...), found by following
  ``next_functions`` from ``tensor.grad_fn``, and one box per leaf tensor (the tensors
  whose ``.grad`` torch fills, reached through ``AccumulateGrad`` nodes) with its shape.

Both return a :class:`Drawing`, a ``graphviz.Digraph`` whose text form gives its size
instead of a memory address (so a notebook prints the same text on every run); a notebook displays it as the cell's last expression, and
``.pipe(format="svg")`` renders it. Drawings are deterministic: node ids come from a counter
in traversal order (never ``id()``), and inputs are visited in their stored order, so the
same graph gives the same ``.source``, hence the same SVG, on every run.

Left out on purpose: the tensors that torch saves for the backward pass (torchviz shows them;
here they would crowd the small graphs of the chapters), colours by role, and subgraphs.
"""

from __future__ import annotations

from collections.abc import Mapping

import graphviz
import torch

from utils.autograd import Value

__all__ = ["Drawing", "draw_value_graph", "draw_torch_graph"]

_RANKDIRS = ("LR", "RL", "TB", "BT")


class Drawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` whose ``repr`` counts its nodes and edges, e.g.
    ``<Drawing: 7 nodes, 6 edges>``, instead of ``<graphviz.graphs.Digraph at 0x7f...>``:
    notebooks show the picture, and the text that Jupyter stores beside it stays the same
    from run to run."""

    def __repr__(self) -> str:
        edges = sum(1 for line in self.body if " -> " in line)
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
