r"""Checkers for the exercises of the initialization pages.

*Initialization* (``04_initialization``):

1. :func:`check_initial_loss`: the loss a classifier over V classes should start from.
2. :func:`check_relu_std`: the std of the weights of a Linear layer followed by ReLU.

*Diagnosing a deep network* (``04b_deep_diagnostics``):

1. :func:`check_fixed_init`: :func:`buggy_init_` leaves a deep tanh network saturated; the
   student's fixed version is used to build one (5 layers of 100 tanh units) and passes if
   no layer is saturated and none has collapsed: in every layer at most 10% of the outputs
   have :math:`|t| > 0.97` and their std lies in [0.4, 0.9]. (Kaiming's
   :math:`(5/3)/\sqrt{\text{fan\_in}}` gives about 2-6% and 0.6-0.65; the lecture calls
   "roughly five percent" a good saturation.)

References come from torch (``F.cross_entropy`` of equal logits, ``torch.nn.init``'s gain),
never from a copy of a solution.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..checks import check_function
from . import exercise
from ..diagnostics import layer_stats

DTYPE = torch.float64
VOCAB_SIZES = (2, 4, 27, 1000)
LAYER_SHAPES = ((30, 200), (200, 100), (784, 10), (100, 300))  # (fan_in, fan_out)
WIDTH, DEPTH, BATCH = 100, 5, 1000
SATURATION, MAX_SATURATED, STD_BAND = 0.97, 0.10, (0.4, 0.9)
TANH_GAIN = 5 / 3


def _number(out, args) -> float:
    """The student's answer for ``args`` as a float, or an AssertionError saying why not."""
    if isinstance(out, torch.Tensor) and out.numel() == 1:
        return out.item()
    if not isinstance(out, (bool, str, torch.Tensor)):
        try:
            return float(out)
        except (TypeError, ValueError):
            pass
    raise AssertionError(f"for {args} your function returned {type(out).__name__} "
                         f"{out!r:.60}, not a number.\nHint: return a float, e.g. "
                         "math.log(...) or tensor.item().")


def _each(fn: Callable | None, inputs) -> Callable | None:
    """A function of all ``inputs`` at once: the list of ``fn``'s answers, or None (a stub)."""
    if fn is None or fn is ...:
        return None

    def run(inputs):
        out = [fn(*args) for args in inputs]
        if any(o is None or o is ... for o in out):
            return None
        return [_number(o, args) for o, args in zip(out, inputs)]
    return run


@exercise("04_initialization", "expected_initial_loss")
def check_initial_loss(expected_initial_loss: Callable | None) -> None:
    """Exercise 1: ``expected_initial_loss(V)`` -> the cross-entropy loss (a float) of a
    network that gives all V classes the same probability, as a good initialisation does."""
    inputs = [(v,) for v in VOCAB_SIZES]

    def reference(inputs):  # the loss of all-equal logits, whatever the target
        return [F.cross_entropy(torch.zeros(1, v, dtype=DTYPE), torch.tensor([0])).item()
                for (v,) in inputs]

    def per_v(f):
        return lambda inputs: [f(v) for (v,) in inputs]

    check_function(
        _each(expected_initial_loss, inputs), reference, inputs,
        name=f"initial loss for V = {', '.join(map(str, VOCAB_SIZES))}", atol=1e-6, rtol=1e-6,
        mistakes={
            "log(1/V) is negative: the loss is the NEGATIVE log-probability of the right "
            "class, -log(1/V) = log(V)": per_v(lambda v: math.log(1 / v)),
            "log base 10: cross-entropy (torch's included) uses the natural log": per_v(math.log10),
            "log base 2 gives bits: cross-entropy uses the natural log (nats)": per_v(math.log2),
            "1/V is the probability of the right class, not the loss: take -log of it":
                per_v(lambda v: 1 / v),
        },
    )


@exercise("04_initialization", "relu_std")
def check_relu_std(relu_std: Callable | None) -> None:
    """Exercise 2: ``relu_std(fan_in, fan_out)`` -> the std of a normal initialisation of
    the weight of ``Linear(fan_in, fan_out)`` followed by ReLU that keeps the activations'
    scale in the forward pass (Kaiming, mode ``fan_in``)."""
    gain = torch.nn.init.calculate_gain("relu")

    def per_layer(f):
        return lambda inputs: [f(n, m) for n, m in inputs]

    check_function(
        _each(relu_std, LAYER_SHAPES), per_layer(lambda n, m: gain / math.sqrt(n)),
        LAYER_SHAPES, name=f"ReLU std for (fan_in, fan_out) = {', '.join(map(str, LAYER_SHAPES))}",
        atol=1e-9, rtol=1e-6,
        mistakes={
            "1/sqrt(fan_in) misses ReLU's gain sqrt(2): ReLU zeroes half of its inputs, which "
            "halves the second moment, so the weights' variance must double":
                per_layer(lambda n, m: 1 / math.sqrt(n)),
            "2/fan_in is the VARIANCE; the std is its square root, sqrt(2/fan_in)":
                per_layer(lambda n, m: 2 / n),
            "sqrt(2/fan_out) is mode='fan_out', which keeps the gradients' scale in the "
            "backward pass; the forward pass sums fan_in products":
                per_layer(lambda n, m: math.sqrt(2 / m)),
            "(5/3)/sqrt(fan_in) uses tanh's gain; ReLU's is sqrt(2)":
                per_layer(lambda n, m: TANH_GAIN / math.sqrt(n)),
            "sqrt(2/(fan_in + fan_out)) is Glorot/Xavier's average of the fans, without ReLU's "
            "gain": per_layer(lambda n, m: math.sqrt(2 / (n + m))),
            "sqrt(2)/fan_in divides by fan_in: the variance of a sum of fan_in terms grows like "
            "fan_in, so the std must shrink like sqrt(fan_in)":
                per_layer(lambda n, m: math.sqrt(2) / n),
        },
    )


def buggy_init_(weight: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Initialise, in place, the weight (out_features, in_features) of a Linear layer that a
    tanh follows. A deep network built with it starts saturated: find the bug."""
    fan_in = weight.shape[1]
    std = TANH_GAIN / math.sqrt(fan_in)  # Kaiming's std for tanh
    with torch.no_grad():
        weight.normal_(0.0, std, generator=generator)  # (out, in)
        weight.mul_(TANH_GAIN)  # boost by tanh's gain, as in the lecture
    return weight


def _init_weight(init_: Callable, seed: int) -> torch.Tensor | None:
    """One (WIDTH, WIDTH) weight made by ``init_``; None if ``init_`` is a stub."""
    weight = torch.full((WIDTH, WIDTH), float("nan"), dtype=DTYPE)
    generator = torch.Generator().manual_seed(seed)
    try:
        inspect.signature(init_).bind(weight, generator=generator)
        takes_generator = True
    except (TypeError, ValueError):
        takes_generator = False
    try:
        out = init_(weight, generator=generator) if takes_generator else init_(weight)
    except NotImplementedError:
        return None
    if out is None or out is ...:
        out = weight
    if isinstance(out, torch.Tensor) and out is not weight:
        raise AssertionError("your init returned a new tensor; the layer's own weight was not "
                             "filled.\nHint: fill the given weight in place (a method whose "
                             "name ends in _) and return that same tensor.")
    if not isinstance(out, torch.Tensor):
        raise AssertionError(f"your init returned {type(out).__name__}, not a tensor.\n"
                             "Hint: fill the weight in place (weight.normal_(...)) and return it.")
    if out.shape != (WIDTH, WIDTH):
        raise AssertionError(f"your init returned shape {tuple(out.shape)}, expected "
                             f"{(WIDTH, WIDTH)}.\nHint: fill the given weight, don't make a "
                             "new one.")
    out = out.detach().to(DTYPE)
    if out.isnan().all():
        raise AssertionError("your init left the weight as it was: it must fill it in place.\n"
                             "Hint: call an in-place method on the weight itself (its name ends "
                             "in _), inside torch.no_grad().")
    if not out.isfinite().all():
        raise AssertionError("your init left NaN or inf in the weight.\n"
                             "Hint: every entry must be written (normal_ or uniform_ fills all).")
    return out


def tanh_net_activations(init_: Callable, *, seed: int = 0) -> tuple[dict, list] | None:
    """The outputs of each layer of a 5-layer tanh network (100 units, no bias) initialised
    by ``init_(weight, generator=...)``, on 1,000 inputs drawn from U(-1, 1).

    Returns ``({"layer i (Tanh)": 1-D tensor of outputs}, [weights])``, ready for
    :func:`utils.diagnostics.plot_activation_histograms`; None if ``init_`` is a stub.
    """
    weights = []
    for layer in range(DEPTH):
        w = _init_weight(init_, seed + 1 + layer)
        if w is None:
            return None
        weights.append(w)
    g = torch.Generator().manual_seed(seed)
    h = torch.rand(BATCH, WIDTH, generator=g, dtype=DTYPE) * 2 - 1  # (B, WIDTH) in U(-1, 1)
    acts = {}
    for i, w in enumerate(weights, 1):
        h = torch.tanh(h @ w.T)  # (B, WIDTH)
        acts[f"layer {i} (Tanh)"] = h.flatten()
    return acts, weights


def _init_hint(weights: list[torch.Tensor], too_saturated: bool) -> str:
    unchanged = tanh_net_activations(buggy_init_)[1]
    if all(torch.equal(w, b) for w, b in zip(weights, unchanged)):
        return ("this is buggy_init_ unchanged. Measure its effective gain, "
                "std(W) * sqrt(fan_in), and compare it with tanh's gain 5/3.")
    std = torch.stack([w.std() for w in weights]).mean().item()
    mean = torch.stack([w.mean() for w in weights]).mean().item()
    if std == 0:
        return ("all weights are equal: every unit computes the same function and gets the same "
                "gradient, so the symmetry never breaks. Draw them at random.")
    if abs(mean) > 0.1 * std:
        return (f"the weights are not centred at zero (mean {mean:.3g}, std {std:.3g}); "
                "draw from N(0, std^2) or U(-b, b).")
    gain = std * math.sqrt(WIDTH)
    known = {TANH_GAIN**2: "tanh's gain is applied twice: Kaiming's std (5/3)/sqrt(fan_in) "
                           "already contains it, so don't multiply by 5/3 again",
             TANH_GAIN * math.sqrt(WIDTH): "the std is the gain without the 1/sqrt(fan_in): the "
                                           "variance of a sum of fan_in products grows like "
                                           "fan_in",
             TANH_GAIN / math.sqrt(WIDTH): "the std was divided by fan_in, not by sqrt(fan_in)",
             1 / math.sqrt(3): "this is nn.Linear's default U(+-1/sqrt(fan_in)), a gain of "
                               "1/sqrt(3): tanh squashes, so the spread shrinks layer by layer"}
    for value, text in known.items():
        if abs(gain / value - 1) < 0.05:
            return f"{text} (your effective gain std(W) * sqrt(fan_in) is {gain:.3g})."
    if too_saturated:
        return (f"the weights are too large: your effective gain std(W) * sqrt(fan_in) is "
                f"{gain:.3g}; tanh's is 5/3.")
    return (f"the activations shrink layer by layer: your effective gain std(W) * sqrt(fan_in) "
            f"is {gain:.3g}; tanh squashes, and its gain 5/3 makes up for it.")


@exercise("04b_deep_diagnostics", "fixed_init_")
def check_fixed_init(fixed_init_: Callable | None) -> None:
    """Exercise 1 of *Diagnosing a deep network*: ``fixed_init_(weight, generator=None)`` ->
    the weight, filled in place: :func:`buggy_init_` with its bug fixed. Prints one line per layer of the 5-layer tanh
    network it builds: std and saturated percentage of the layer's outputs."""
    lo, hi = STD_BAND
    stub = fixed_init_ is None or fixed_init_ is ...
    result = None if stub else tanh_net_activations(fixed_init_)
    if result is None:
        print("fixed init | not attempted yet")
        return
    acts, weights = result
    failed = []
    for row in layer_stats(acts, saturation=SATURATION):
        saturated, ok_std = row["saturated"] > MAX_SATURATED, lo <= row["std"] <= hi
        verdict = "ok" if ok_std and not saturated else (
            "too saturated" if saturated else "std out of range")
        print(f"{row['name']} | std {row['std']:.2f} | saturated {100 * row['saturated']:.1f}% "
              f"| {verdict}")
        if verdict != "ok":
            failed.append((row, saturated))
    if failed:
        rows = ", ".join(f"{r['name']} (std {r['std']:.2f}, saturated {100 * r['saturated']:.1f}%)"
                         for r, _ in failed)
        raise AssertionError(
            f"fixed init is wrong: {len(failed)} of {DEPTH} layers fail.\n"
            f"  expected: at most {100 * MAX_SATURATED:.0f}% of |t| > {SATURATION} and std in "
            f"[{lo}, {hi}] in every layer\n  got:      {rows}\n"
            f"Hint: {_init_hint(weights, any(s for _, s in failed))}")
