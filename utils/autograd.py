"""A scalar reverse-mode autograd engine: :class:`Value`, and a tiny MLP built from it.

A :class:`Value` wraps one Python float. Each operation returns a new Value that remembers
its inputs (``parents``), its name (``op``) and a closure ``_backward`` with the chain rule
for that one operation: output gradient times local derivative, *added* to each input's
``.grad``. :meth:`Value.backward` sorts the graph topologically and runs the closures from
the output back to the leaves, leaving d(output)/d(value) in every ``.grad``.

As in PyTorch, gradients of *leaves* (e.g. weights) **accumulate**: two ``backward()`` calls
double them, like two ``loss.backward(retain_graph=True)``; reset them with
:func:`zero_grad` or ``model.zero_grad()``. Intermediate Values get fresh gradients on each
call. A Value used several times receives the *sum* over all paths to it, which is why every
``_backward`` uses ``+=``, never ``=``. ``relu``'s derivative at 0 is 0, as in torch.

Left out, so that each operation stays a few readable lines: tensors (one float per node is
far too slow for training; the chapters then switch to torch), gradients of gradients
(``_backward`` computes floats, not Values), Value exponents (write ``(y * x.log()).exp()``
for ``x ** y``), ``no_grad``, and freeing the graph after ``backward``. Arithmetic is
Python's: ``0 ** -1`` raises ``ZeroDivisionError`` and ``exp(1000)`` ``OverflowError``
where torch returns ``inf``.

:class:`Neuron`, :class:`Layer` and :class:`MLP` mirror ``torch.nn``: ``parameters()``,
``zero_grad()``, and ``nn.Linear``'s initialisation U(-1/sqrt(nin), 1/sqrt(nin)) of
weights and biases, drawn from their own ``random.Random(seed)``, never the global one.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Iterable, Sequence

from .validation import check_int

__all__ = ["Value", "zero_grad", "Neuron", "Layer", "MLP"]

_NONLINEARITIES = ("tanh", "relu", "sigmoid", None)


def _is_number(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


class Value:
    """One scalar in a computation graph, with its gradient.

    Args:
        data: the number (an int or float; stored as a Python float).
        label: a name shown in drawings of the graph (default: none).

    Attributes ``data``, ``grad`` (d(output of the last ``backward``)/d(this), 0.0 at first)
    and ``label`` are public; the graph is read through ``parents`` and ``op``.

    Example:
        >>> x = Value(2.0, label="x")
        >>> y = x * x + 3 * x
        >>> y.backward()
        >>> x.grad  # dy/dx = 2x + 3
        7.0
    """

    def __init__(self, data: float, label: str = "", *, _parents: tuple = (), _op: str = ""):
        if not _is_number(data):
            raise TypeError(f"Value expects an int or float, got {type(data).__name__} ({data!r:.60})")
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {type(label).__name__} ({label!r:.60})")
        self.data = float(data)
        self.grad = 0.0
        self.label = label
        self._prev = tuple(_parents)  # ordered, duplicates kept: a + a has (a, a)
        self._op = _op
        self._backward = lambda: None  # leaves have nothing to pass on

    # --- the graph, read-only --------------------------------------------------------
    @property
    def parents(self) -> tuple[Value, ...]:
        """The Values this one was computed from, in operand order (empty for a leaf)."""
        return self._prev

    @property
    def op(self) -> str:
        """The operation that made this Value ('+', '*', 'tanh', '**2', ...); '' for a leaf."""
        return self._op

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    @staticmethod
    def _wrap(other: object, symbol: str) -> Value:
        if isinstance(other, Value):
            return other
        if _is_number(other):
            return Value(other)
        raise TypeError(f"unsupported operand for {symbol}: expected a Value, int or float, "
                        f"got {type(other).__name__} ({other!r:.60})")

    # --- binary operations -----------------------------------------------------------
    def __add__(self, other: Value | float) -> Value:
        other = self._wrap(other, "+")
        out = Value(self.data + other.data, _parents=(self, other), _op="+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __sub__(self, other: Value | float) -> Value:
        other = self._wrap(other, "-")
        out = Value(self.data - other.data, _parents=(self, other), _op="-")

        def _backward():
            self.grad += out.grad
            other.grad -= out.grad
        out._backward = _backward
        return out

    def __mul__(self, other: Value | float) -> Value:
        other = self._wrap(other, "*")
        out = Value(self.data * other.data, _parents=(self, other), _op="*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __truediv__(self, other: Value | float) -> Value:
        other = self._wrap(other, "/")
        out = Value(self.data / other.data, _parents=(self, other), _op="/")

        def _backward():
            self.grad += out.grad / other.data
            other.grad -= out.grad * self.data / other.data**2
        out._backward = _backward
        return out

    def __pow__(self, exponent: float) -> Value:
        if not _is_number(exponent):  # a Value too: x ** y would need y's gradient, log(x) * x**y
            raise TypeError(f"the exponent must be a constant int or float, got {exponent!r:.60}; "
                            "for a Value exponent y write (y * x.log()).exp()")
        n = float(exponent)
        if self.data < 0 and not n.is_integer():
            raise ValueError(f"{self!r} ** {exponent} is not real (negative base, fractional exponent)")
        if self.data == 0 and n < 0:
            raise ZeroDivisionError(f"{self!r} ** {exponent}: zero to a negative power")
        out = Value(self.data**n, _parents=(self,), _op=f"**{exponent}")

        def _backward():
            if n != 0:  # x ** 0 is constant; skipping also avoids 0.0 ** -1 at x = 0
                self.grad += n * self.data ** (n - 1) * out.grad
        out._backward = _backward
        return out

    # Python numbers on the left: 2 + x, 2 - x, 2 * x, 2 / x.
    def __radd__(self, other: float) -> Value:
        return self._wrap(other, "+") + self

    def __rsub__(self, other: float) -> Value:
        return self._wrap(other, "-") - self

    def __rmul__(self, other: float) -> Value:
        return self._wrap(other, "*") * self

    def __rtruediv__(self, other: float) -> Value:
        return self._wrap(other, "/") / self

    def __rpow__(self, base: object):
        raise TypeError(f"{base!r:.60} ** Value: the exponent must be a constant; "
                        "write (x * math.log(base)).exp() instead")

    # --- unary operations ------------------------------------------------------------
    def __neg__(self) -> Value:
        out = Value(-self.data, _parents=(self,), _op="neg")

        def _backward():
            self.grad -= out.grad
        out._backward = _backward
        return out

    def exp(self) -> Value:
        """:math:`e^x`; derivative :math:`e^x`."""
        out = Value(math.exp(self.data), _parents=(self,), _op="exp")

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self) -> Value:
        """Natural logarithm, for data > 0; derivative :math:`1/x`."""
        if self.data <= 0:
            raise ValueError(f"log expects a positive number, got {self!r}")
        out = Value(math.log(self.data), _parents=(self,), _op="log")

        def _backward():
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    def tanh(self) -> Value:
        """Hyperbolic tangent; derivative :math:`1 - \\tanh^2 x`."""
        out = Value(math.tanh(self.data), _parents=(self,), _op="tanh")

        def _backward():
            self.grad += (1.0 - out.data**2) * out.grad
        out._backward = _backward
        return out

    def sigmoid(self) -> Value:
        """:math:`\\sigma(x) = 1 / (1 + e^{-x})`; derivative :math:`\\sigma(1 - \\sigma)`."""
        x = self.data
        # Two forms of the same function, so that exp never overflows.
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        out = Value(s, _parents=(self,), _op="sigmoid")

        def _backward():
            self.grad += s * (1.0 - s) * out.grad
        out._backward = _backward
        return out

    def relu(self) -> Value:
        """:math:`\\max(0, x)`; derivative 1 for x > 0, else 0 (0 at x = 0, as torch)."""
        out = Value(max(0.0, self.data), _parents=(self,), _op="relu")

        def _backward():
            self.grad += (self.data > 0) * out.grad
        out._backward = _backward
        return out

    # --- backpropagation -------------------------------------------------------------
    def topological_order(self) -> list[Value]:
        """Every Value this one depends on, each after its parents, itself last.

        Iterative depth-first search, so deep graphs never hit Python's recursion limit.
        """
        order: list[Value] = []
        seen: set[int] = set()
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:
            node, parents_done = stack.pop()
            if parents_done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            # Reversed, so that the first parent is popped (and ordered) first.
            stack.extend((p, False) for p in reversed(node._prev) if id(p) not in seen)
        return order

    def backward(self) -> None:
        """Fill ``.grad`` of every Value in the graph with d(self)/d(value).

        Leaves *accumulate* (``+=``), as in torch; intermediate Values start from zero.
        """
        order = self.topological_order()
        for node in order:
            if node._prev:  # stale gradients of intermediate nodes must not flow again
                node.grad = 0.0
        self.grad += 1.0  # d(self)/d(self); accumulates only if self is a leaf
        for node in reversed(order):
            node._backward()


def zero_grad(values: Iterable[Value]) -> None:
    """Set ``.grad = 0.0`` on every Value given, e.g. ``zero_grad(model.parameters())``."""
    for v in values:
        if not isinstance(v, Value):
            raise TypeError(f"zero_grad expects Values, got {type(v).__name__} ({v!r:.60})")
        v.grad = 0.0


# --- a tiny multi-layer perceptron on Values -----------------------------------------
def _rng(seed: int | None, generator: random.Random | None) -> random.Random:
    if generator is None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"seed must be an int, got {type(seed).__name__} ({seed!r:.60})")
        return random.Random(0 if seed is None else seed)
    if seed is not None or not isinstance(generator, random.Random):
        raise TypeError(f"expected seed=int or generator=random.Random, not both, got seed={seed!r}, "
                        f"generator={type(generator).__name__}")
    return generator


class _Module:
    """The torch.nn.Module habits we need: ``parameters()`` and ``zero_grad()``."""

    def parameters(self) -> list[Value]:
        return []

    def zero_grad(self) -> None:
        zero_grad(self.parameters())


class Neuron(_Module):
    """One unit: ``nonlin(w . x + b)``.

    Args:
        nin: number of inputs.
        nonlin: 'tanh' (default), 'relu', 'sigmoid', or None for a linear unit.
        seed, generator: the source of the initial weights, at most one (default seed 0).
            Weights and bias are drawn from U(-1/sqrt(nin), 1/sqrt(nin)), as in ``nn.Linear``.
    """

    def __init__(self, nin: int, nonlin: str | None = "tanh", *, seed: int | None = None,
                 generator: random.Random | None = None):
        check_int(nin, "nin")
        if nonlin not in _NONLINEARITIES:
            raise ValueError(f"nonlin must be one of {_NONLINEARITIES}, got {nonlin!r}")
        rng = _rng(seed, generator)
        bound = 1.0 / math.sqrt(nin)
        self.w = [Value(rng.uniform(-bound, bound), label=f"w{i}") for i in range(nin)]
        self.b = Value(rng.uniform(-bound, bound), label="b")
        self.nonlin = nonlin

    def __call__(self, x: Sequence[Value | float]) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"Neuron expects {len(self.w)} inputs, got {len(x)}")
        act = self.b
        for wi, xi in zip(self.w, x):
            act = act + wi * xi
        return act if self.nonlin is None else getattr(act, self.nonlin)()

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]


class Layer(_Module):
    """``nout`` Neurons reading the same ``nin`` inputs; returns a list of ``nout`` Values."""

    def __init__(self, nin: int, nout: int, nonlin: str | None = "tanh", *, seed: int | None = None,
                 generator: random.Random | None = None):
        check_int(nout, "nout")
        rng = _rng(seed, generator)
        self.neurons = [Neuron(nin, nonlin, generator=rng) for _ in range(nout)]

    def __call__(self, x: Sequence[Value | float]) -> list[Value]:
        return [n(x) for n in self.neurons]

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]


class MLP(_Module):
    """Layers of sizes ``nouts``; ``nonlin`` after every layer but the last, which is linear.

    Args:
        nin: number of inputs.
        nouts: the width of each layer, e.g. ``[4, 4, 1]``.
        nonlin: the hidden layers' nonlinearity (default 'tanh').
        seed, generator: as for :class:`Neuron`; one generator serves all layers in order.

    Called on ``nin`` numbers, it returns a Value if the last layer has width 1, else a list.

    Example:
        >>> model = MLP(3, [4, 4, 1], seed=0)
        >>> len(model.parameters())  # 4*(3+1) + 4*(4+1) + 1*(4+1)
        41
    """

    def __init__(self, nin: int, nouts: Sequence[int], nonlin: str | None = "tanh", *,
                 seed: int | None = None, generator: random.Random | None = None):
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or not nouts:
            raise ValueError(f"nouts must be a non-empty list of layer widths, got {nouts!r:.60}")
        rng = _rng(seed, generator)
        sizes = [nin, *nouts]
        self.layers = [Layer(sizes[k], sizes[k + 1], nonlin if k < len(nouts) - 1 else None,
                             generator=rng) for k in range(len(nouts))]

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        for layer in self.layers:
            x = layer(x)
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]
