"""Checkers for Homework 2, *backpropagation through the names MLP by hand*.

The homework takes the lecture's names MLP (embedding ``C``, concatenation, ``Linear``,
BatchNorm in training mode with the unbiased variance, ``tanh``, ``Linear``,
cross-entropy), writes its forward pass as small named tensors (the *cache*, a dict
``{name: tensor}``), and asks for the backward pass by hand:

1. :func:`check_manual_backward`: ``manual_backward(cache)`` returns the gradient of the
   loss with respect to every tensor of the cache, one line per tensor, and draws which
   are right (a coloured table, in a notebook);
2. :func:`check_dlogits_fused`: ``dlogits_fused(probs, Yb)``, the cross-entropy's gradient
   in one step;
3. :func:`check_dhprebn_fused`: ``dhprebn_fused(dhpreact, hprebn, bngain)``, BatchNorm's
   in one step;
4. :func:`check_backward_pass`: ``backward_pass(cache)`` returns the parameters'
   gradients; the checker trains the network with it and with autograd, from the same
   start on the same minibatches, and compares the losses.

Every reference is autograd, in float64, on the checker's own copy of the forward pass
(:func:`forward`, the page's, with the same names). Every checker runs the page's
minibatch and hidden cases drawn from :func:`utils.exercises.hidden_generator`: other
minibatches, batch sizes (down to 2), vocabularies, context lengths, embedding and hidden
widths, labels that miss classes, rows with huge logits, a unit of tiny variance.

The known mistakes are never written as backward formulas here (this module is imported
by the graded page). Each is autograd's own gradient of a *changed graph* with the same
values: a tensor used twice, counted once, is autograd's gradient with one of its uses
detached; the missing Bessel factor is the variance's gradient taken as if it divided by
n; a missing sum over a broadcast dimension is autograd's gradient with respect to the
explicitly expanded tensor; a wrong loss (a sum, a missing term) is autograd's gradient
of that loss. The rest are recognised by value: a transpose, a shape without its size-1
dimension, a gradient that skipped tanh or the scale.

Left out on purpose: the reference solutions (``tests/solutions/hw2.py``).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..checks import Forbidden, check, check_function, compare, forbidden, returned
from . import exercise, hidden_generator

__all__ = ["PARAMETERS", "INTERMEDIATES", "GRADIENTS", "PARAMETER_GRADIENTS", "INPUTS",
           "init_params", "forward", "gradient_picture", "check_manual_backward",
           "check_dlogits_fused", "check_dhprebn_fused", "check_backward_pass"]

PAGE = "hw2_mlp_backprop"
F64 = torch.float64
EPS = 1e-5
LECTURE_SEED = 2147483647
TOL = dict(atol=1e-8, rtol=1e-5, dtype=F64)

#: the parameters, in the order the page creates them
PARAMETERS = ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias")
#: the forward pass's intermediate tensors, first to last
INTERMEDIATES = ("emb", "embcat", "hprebn", "bnmeani", "bndiff", "bndiff2", "bnvar",
                 "bnvar_inv", "bnraw", "hpreact", "h", "logits", "logit_maxes", "norm_logits",
                 "counts", "counts_sum", "counts_sum_inv", "probs", "logprobs")
#: what ``manual_backward`` returns: the gradient of every tensor, last to first
GRADIENTS = ("dlogprobs", "dprobs", "dcounts_sum_inv", "dcounts_sum", "dcounts",
             "dnorm_logits", "dlogit_maxes", "dlogits", "dh", "dW2", "db2", "dhpreact",
             "dbngain", "dbnbias", "dbnraw", "dbnvar_inv", "dbnvar", "dbndiff2", "dbndiff",
             "dbnmeani", "dhprebn", "dembcat", "dW1", "db1", "demb", "dC")
#: what ``backward_pass`` returns, in the same order
PARAMETER_GRADIENTS = tuple(g for g in GRADIENTS if g[1:] in PARAMETERS)
#: the tensors each tensor of the forward pass is computed from
INPUTS = {"emb": ("C", "Xb"), "embcat": ("emb",), "hprebn": ("embcat", "W1", "b1"),
          "bnmeani": ("hprebn",), "bndiff": ("hprebn", "bnmeani"), "bndiff2": ("bndiff",),
          "bnvar": ("bndiff2",), "bnvar_inv": ("bnvar",), "bnraw": ("bndiff", "bnvar_inv"),
          "hpreact": ("bngain", "bnraw", "bnbias"), "h": ("hpreact",),
          "logits": ("h", "W2", "b2"), "logit_maxes": ("logits",),
          "norm_logits": ("logits", "logit_maxes"), "counts": ("norm_logits",),
          "counts_sum": ("counts",), "counts_sum_inv": ("counts_sum",),
          "probs": ("counts", "counts_sum_inv"), "logprobs": ("probs",),
          "loss": ("logprobs", "Yb")}
#: calls that compute gradients for the student; disabled while the student's code runs
AUTOGRAD = ("torch.autograd.grad", "torch.autograd.backward", "torch.Tensor.backward",
            "torch.func.grad", "torch.func.vjp", "torch.func.grad_and_value")

# kept before any checker disables it: the references and the known mistakes use it
_grad, _softmax, _cross_entropy = torch.autograd.grad, torch.softmax, F.cross_entropy


# --- the network ------------------------------------------------------------------------
def init_params(generator: torch.Generator, *, vocab: int = 27, block: int = 3,
                n_embd: int = 10, n_hidden: int = 200) -> dict[str, torch.Tensor]:
    """The page's parameters, float64, drawn in the lecture's order from ``generator``. The
    biases, scale and shift are small random numbers, not zeros and ones, so that a wrong
    gradient cannot hide behind a zero or a one."""
    def randn(*shape):
        return torch.randn(*shape, generator=generator, dtype=F64)
    fan_in = block * n_embd
    return {"C": randn(vocab, n_embd),                                   # (vocab, n_embd)
            "W1": randn(fan_in, n_hidden) * (5 / 3) / fan_in ** 0.5,     # (block*n_embd, H)
            "b1": randn(n_hidden) * 0.1,                                 # (H,)
            "W2": randn(n_hidden, vocab) * 0.1,                          # (H, vocab)
            "b2": randn(vocab) * 0.1,                                    # (vocab,)
            "bngain": randn(1, n_hidden) * 0.1 + 1.0,                    # (1, H)
            "bnbias": randn(1, n_hidden) * 0.1}                          # (1, H)


def _first_or_last(Xb: torch.Tensor, which: str) -> torch.Tensor:
    """(n, block, 1) True where Xb holds the first (or last) occurrence of its character."""
    flat = Xb.reshape(-1).tolist()
    order = range(len(flat)) if which == "first" else range(len(flat) - 1, -1, -1)
    seen, keep = set(), torch.zeros(len(flat), dtype=torch.bool)
    for i in order:
        keep[i] = flat[i] not in seen
        seen.add(flat[i])
    return keep.view(*Xb.shape, 1)


def forward(params: dict, Xb: torch.Tensor, Yb: torch.Tensor, *, once=(), bessel: bool = False,
            occurrence: str | None = None, expanded: bool = False) -> dict[str, torch.Tensor]:
    """The page's forward pass: ``{name: tensor}`` for the inputs, the parameters, every
    intermediate and the loss.

    The options change the *gradients* autograd computes, never the values, to give the
    known mistakes: ``once`` holds ``(tensor, user)`` pairs whose use is detached;
    ``bessel`` takes the variance's gradient as if it divided by n; ``occurrence``
    (``"first"``/``"last"``) lets only one occurrence of each character reach ``C``;
    ``expanded`` adds each broadcast operand expanded to its product's shape, as
    ``"<name>*"``.
    """
    t = {"Xb": Xb, "Yb": Yb, **params}
    n = Xb.shape[0]

    def use(name, by):
        return t[name].detach() if (name, by) in once else t[name]

    def wide(name, by, like):
        x = use(name, by)
        if expanded:
            t[name + "*"] = x = x.expand_as(like)
        return x

    emb = t["emb"] = t["C"][Xb]                                           # (n, block, n_embd)
    if occurrence:
        emb = t["emb"] = torch.where(_first_or_last(Xb, occurrence), emb, emb.detach())
    embcat = t["embcat"] = emb.reshape(n, -1)                             # (n, block*n_embd)
    product = embcat @ t["W1"]                                            # (n, H)
    t["hprebn"] = product + wide("b1", "hprebn", product)
    t["bnmeani"] = use("hprebn", "bnmeani").sum(0, keepdim=True) / n      # (1, H)
    t["bndiff"] = use("hprebn", "bndiff") - wide("bnmeani", "bndiff", t["hprebn"])
    t["bndiff2"] = use("bndiff", "bndiff2") ** 2                          # (n, H)
    squares = t["bndiff2"].sum(0, keepdim=True)                           # (1, H)
    t["bnvar"] = (squares / n + (squares / (n - 1) - squares / n).detach() if bessel
                  else squares / (n - 1))                                 # (1, H), unbiased
    t["bnvar_inv"] = (t["bnvar"] + EPS) ** -0.5                           # (1, H)
    t["bnraw"] = use("bndiff", "bnraw") * wide("bnvar_inv", "bnraw", t["bndiff"])
    bnraw = t["bnraw"]
    t["hpreact"] = wide("bngain", "hpreact", bnraw) * bnraw + wide("bnbias", "hpreact", bnraw)
    t["h"] = torch.tanh(t["hpreact"])                                     # (n, H)
    product = t["h"] @ t["W2"]                                            # (n, vocab)
    t["logits"] = product + wide("b2", "logits", product)
    t["logit_maxes"] = t["logits"].max(1, keepdim=True).values            # (n, 1)
    t["norm_logits"] = t["logits"] - wide("logit_maxes", "norm_logits", t["logits"])
    t["counts"] = t["norm_logits"].exp()                                  # (n, vocab)
    t["counts_sum"] = use("counts", "counts_sum").sum(1, keepdim=True)    # (n, 1)
    t["counts_sum_inv"] = t["counts_sum"] ** -1                           # (n, 1)
    t["probs"] = use("counts", "probs") * wide("counts_sum_inv", "probs", t["counts"])
    t["logprobs"] = t["probs"].log()                                      # (n, vocab)
    t["loss"] = -t["logprobs"][torch.arange(n), Yb].mean()                # ()
    return t


def _leaves(params: dict) -> dict:
    return {k: v.detach().clone().requires_grad_() for k, v in params.items()}


def _autograd(params: dict, Xb, Yb, **variant) -> dict[str, torch.Tensor]:
    """``{"d<name>": gradient}`` of the loss for every tensor of the forward pass (and the
    expanded operands, ``"d<name>*"``, with ``expanded=True``), by autograd."""
    t = forward(_leaves(params), Xb, Yb, **variant)
    names = [k for k in t if k not in ("Xb", "Yb", "loss") and t[k].requires_grad]
    grads = dict(zip(names, _grad(t["loss"], [t[k] for k in names], allow_unused=True)))
    return {"d" + k: torch.zeros_like(t[k]) if grads.get(k) is None else grads[k]
            for k in t if k not in ("Xb", "Yb", "loss")}


def _cache(params: dict, Xb, Yb) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        return forward(params, Xb, Yb)


# --- the cases --------------------------------------------------------------------------
@functools.cache
def _names():
    """The lecture's training split of the names (block size 3), loaded once."""
    data = importlib.import_module("utils.data")
    return data.names_splits(3)[0]


def _shown() -> tuple[dict, torch.Tensor, torch.Tensor]:
    """The page's parameters and minibatch of 32: one generator, seeded with the lecture's
    seed, draws the parameters and then the minibatch's indices."""
    Xtr, Ytr = _names()
    g = torch.Generator().manual_seed(LECTURE_SEED)
    params = init_params(g)
    ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
    return params, Xtr[ix], Ytr[ix]


def _random_case(g: torch.Generator, n: int, vocab: int, block: int, n_embd: int, n_hidden: int):
    params = init_params(g, vocab=vocab, block=block, n_embd=n_embd, n_hidden=n_hidden)
    Xb = torch.randint(0, vocab, (n, block), generator=g)
    Yb = torch.randint(0, vocab - 1, (n,), generator=g)  # the last class is never a label
    return params, Xb, Yb


def _cases(offset: int) -> list[tuple[str, tuple]]:
    """(label, (params, Xb, Yb)): the page's minibatch, then hidden ones of other batch sizes
    (8, 50, 2), vocabularies, context lengths and widths."""
    g = hidden_generator(offset)
    hidden = [(8, 27, 3, 4, 16), (50, 11, 2, 5, 7), (2, 27, 3, 10, 3)]
    cases = [("the page's minibatch", _shown())]
    for k, (n, vocab, block, n_embd, n_hidden) in enumerate(hidden, 1):
        label = (f"hidden case {k} (batch {n}, {vocab} characters, context {block}, "
                 f"embedding {n_embd}, {n_hidden} hidden units)")
        cases.append((label, _random_case(g, n, vocab, block, n_embd, n_hidden)))
    return cases


# --- calling the student's function -----------------------------------------------------
_STUB = object()


def _call(fn: Callable, args: tuple, label: str):
    """The student's answer on ``args`` (copies), or ``_STUB`` for NotImplementedError; any
    other exception becomes an AssertionError naming it."""
    if not callable(fn):
        raise AssertionError(f"{label}: expected a function, got {type(fn).__name__} "
                             f"{fn!r:.40}.\nHint: define it with `def` in the exercise cell.")
    try:
        with forbidden(AUTOGRAD):
            return fn(*args)
    except NotImplementedError:
        return _STUB
    except Forbidden as err:
        raise AssertionError(f"{label}: {err}.\nHint: the exercise asks for the gradients "
                             "by hand; autograd is what the checker compares them with.") from None
    except Exception as err:  # noqa: BLE001 - the student's bug, reported
        raise AssertionError(f"{label}: your function raised {type(err).__name__}: {err}\n"
                             "Hint: run it yourself on these inputs and read the traceback; "
                             "a shape error usually names the two shapes that do not fit.") from None


def _fresh(x):
    if isinstance(x, dict):
        return {k: _fresh(v) for k, v in x.items()}
    return x.detach().clone() if isinstance(x, torch.Tensor) else x


def _unchanged(before: dict, after: dict, label: str) -> None:
    """An AssertionError if the student's function changed an input in place."""
    for name, value in before.items():
        if isinstance(value, torch.Tensor) and not (
                isinstance(after.get(name), torch.Tensor) and after[name].shape == value.shape
                and torch.equal(after[name], value)):
            raise AssertionError(
                f"{label}: your function changed its input {name!r} in place (an in-place "
                "operation such as -=, +=, [...] = or a method ending in _ on a tensor that "
                f"the caller still uses).\nHint: work on a copy (.clone()) of {name}; the "
                "training loop reads the same tensors after your function.")


# --- the per-tensor picture -------------------------------------------------------------
STATUS_COLOURS = {"exact": "#1a9850", "close": "#91cf60", "wrong": "#d73027",
                  "not attempted": "#d9d9d9", "missing or raised": "#fdae61"}


def gradient_picture(names, columns, status):
    """A coloured table: one column per gradient (``names``), one row per case
    (``columns``), each cell coloured by ``status[case][name]``, one of
    :data:`STATUS_COLOURS`. Returns a ``matplotlib.figure.Figure`` (not registered with
    pyplot, so it shows only where it is displayed)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    kinds = list(STATUS_COLOURS)
    grid = np.array([[kinds.index(status[c][g]) for g in names] for c in columns])
    fig = Figure(figsize=(min(12.0, 1.6 + 0.4 * len(names)), 1.4 + 0.35 * len(columns)))
    ax = fig.subplots()
    ax.imshow(grid, cmap=ListedColormap(list(STATUS_COLOURS.values())), vmin=0,
              vmax=len(kinds) - 1, aspect="auto")
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=8)
    ax.set_yticks(range(len(columns)), [c.split(" (")[0] for c in columns], fontsize=8)
    ax.set_xticks(np.arange(len(names) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(columns) + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel("gradient (last to first in the forward pass)")
    ax.set_ylabel("case")
    fig.legend(handles=[Patch(color=c, label=k) for k, c in STATUS_COLOURS.items()],
               loc="upper center", ncol=len(kinds), fontsize=8, frameon=False)
    fig.subplots_adjust(top=0.8, bottom=0.45, left=0.14, right=0.99)
    return fig


def _show(fig) -> None:
    """Display ``fig`` in a notebook's kernel; elsewhere (tests, the grader) show nothing."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return
    from IPython.display import Image
    shell = get_ipython()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=100)
        display(Image(data=png.getvalue(), format="png"))


# --- comparing dicts of gradients -------------------------------------------------------
def _status(result) -> str:
    if not result.attempted:
        return "not attempted"
    if result.ok:
        return "exact" if result.exact else "close"
    return "wrong"


def _compare_all(got, expected: dict, names) -> dict:
    """``{name: CheckResult}``; a missing key gets a result whose problem says so."""
    results = {}
    for name in names:
        if name not in got:
            results[name] = compare(0.0, 0.0, name=name)
            results[name].close = results[name].exact = False
            results[name].problem = "missing from your dict"
        else:
            results[name] = compare(got[name], expected[name], name=name, **TOL)
    return results


def _downstream(name: str) -> set[str]:
    """The gradients computed from ``d<name>`` on the way back: those of every tensor that
    ``<name>`` is computed from."""
    found, todo = set(), [name[1:]]
    while todo:
        for parent in INPUTS.get(todo.pop(), ()):
            if "d" + parent not in found:
                found.add("d" + parent)
                todo.append(parent)
    return found


def _explain(name: str, got, expected, mistakes: dict, n: int) -> str:
    """``check``'s explanation of one wrong gradient (its printed line suppressed)."""
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            check(got, expected, name=name, batch_size=n, mistakes=mistakes, **TOL)
        except AssertionError as err:
            return str(err)
    return f"{name} is wrong."  # pragma: no cover - compare and check agree


def _verdict(who: str, label: str, got, expected: dict, names, mistakes: Callable, n: int,
             results: dict, where: Callable | None = None) -> None:
    """Raise the AssertionError for a case with wrong, missing or unfinished gradients."""
    wrong = [g for g in names if results[g].attempted and not results[g].ok]
    if wrong:
        first = wrong[0]
        if results[first].problem == "missing from your dict":
            keys = ", ".join(repr(k) for k in list(got)[:4]) or "none"
            text = (f"{first} is missing from your dict (its keys: {keys}, ...).\nHint: "
                    "return a dict with a key for every gradient, named 'd' + the tensor's "
                    "name, e.g. 'dlogprobs'.")
        else:
            text = _explain(first, got[first], expected[first], mistakes(first), n)
        later = [g for g in wrong[1:] if g in _downstream(first)]
        others = [g for g in wrong[1:] if g not in later]
        head = (f"{who} on {label}: {len(wrong)} of {len(names)} gradients are wrong. "
                f"The first on the way back is {first}:\n\n")
        tail = ""
        if later:
            shown = ", ".join(later[:5]) + (f" and {len(later) - 5} more" if len(later) > 5 else "")
            tail += (f"\n\n{shown} {'is' if len(later) == 1 else 'are'} computed "
                     f"from {first} on the way back and may be wrong only because of it: "
                     f"fix {first} first.")
        if others:
            tail += f"\n\nAlso wrong, independently of {first}: {', '.join(others)}."
        if where is not None:
            tail += where(results)
        raise AssertionError(head + text + tail)
    unfinished = [g for g in names if not results[g].attempted]
    if unfinished:
        raise AssertionError(
            f"{who} on {label}: {len(unfinished)} of {len(names)} gradients are still None "
            f"({', '.join(unfinished[:6])}{', ...' if len(unfinished) > 6 else ''}); the "
            f"{len(names) - len(unfinished)} you wrote are right.\nHint: the exercise asks "
            "for every one of them.")


def _as_dict(got, who: str, label: str, names) -> dict:
    got = returned(got, f"{who} on {label}")
    if not isinstance(got, dict):
        raise AssertionError(f"{who} on {label}: expected a dict {{name: gradient}} with the "
                             f"{len(names)} names ({names[0]}, ..., {names[-1]}), got "
                             f"{type(got).__name__}.\nHint: return a dict, e.g. "
                             f"{{'{names[0]}': {names[0]}, ...}}.")
    if got and not any(k in got for k in names):
        shown = ", ".join(repr(k) for k in list(got)[:4])
        raise AssertionError(f"{who} on {label}: your dict has none of the expected names "
                             f"(its keys: {shown}, ...).\nHint: name each gradient 'd' + "
                             f"the tensor's name, e.g. '{names[0]}'.")
    return got


# --- the known mistakes of the backward pass --------------------------------------------
_ONCE = {  # a tensor used twice, and its two users
    "counts": ("counts_sum", "probs"), "bndiff": ("bndiff2", "bnraw"),
    "hprebn": ("bnmeani", "bndiff"), "logits": ("logit_maxes", "norm_logits")}
_BROADCAST = ("b1", "bnmeani", "bnvar_inv", "bngain", "bnbias", "b2", "logit_maxes",
              "counts_sum_inv")


def _mistakes_of(params, Xb, Yb, expected: dict) -> Callable[[str], dict]:
    """``mistakes(name)``: the known wrong values of ``d<name>``, each labelled, computed
    (lazily) from autograd's gradients of changed graphs."""
    variants = {}

    def run(**variant):
        key = repr(sorted(variant.items()))
        if key not in variants:
            variants[key] = _autograd(params, Xb, Yb, **variant)
        return variants[key]

    def mistakes(name: str) -> dict:
        tensor, found = name[1:], {}
        e = expected[name]
        if tensor in _ONCE:
            for user in _ONCE[tensor]:
                other = [u for u in _ONCE[tensor] if u != user][0]
                found[f"{tensor} is used twice (by {user} and by {other}), and your {name} "
                      f"holds only what came back through {other}: the second contribution "
                      "overwrote the first (= where += was needed)"] = \
                    run(once=((tensor, user),))[name]
        if name == "dC":
            for which in ("first", "last"):
                found["a character that occurs several times in the minibatch got the "
                      f"gradient of only its {which} occurrence: an assignment to dC[...] keeps "
                      "one value per row where the occurrences must add up (= where += was "
                      "needed)"] = run(occurrence=which)["dC"]
        if name == "dbndiff2":
            found["the Bessel factor: the variance here divides by n - 1 (Bessel's "
                  "correction), and your dbndiff2 treats it as dividing by n"] = \
                run(bessel=True)["dbndiff2"]
        if tensor in _BROADCAST:
            unsummed = run(expanded=True)[name + "*"]
            found[f"missing sum over the broadcast dimension: {tensor} has shape "
                  f"{tuple(e.shape)} and was broadcast to {tuple(unsummed.shape)}, so its "
                  "gradient collects what every copy received"] = unsummed
            if unsummed.ndim == 2:
                along = e.shape.index(1) if e.ndim == 2 and 1 in e.shape else 0
                found[f"summed over the wrong dimension: {tensor} {tuple(e.shape)} was "
                      f"broadcast along dimension {along}, and your {name} was reduced over "
                      f"dimension {1 - along}"] = unsummed.sum(1 - along, keepdim=e.ndim == 2)
        if e.ndim == 2 and 1 in e.shape:
            found[f"a gradient of shape {(max(e.shape),)} for a tensor of shape "
                  f"{tuple(e.shape)}: it broadcast silently where you used it, but a gradient "
                  "has exactly its tensor's shape"] = e.reshape(-1)
        if e.ndim == 2 and 1 not in e.shape:
            found[f"transposed product: {name} came out with shape {tuple(e.T.shape)}; the "
                  f"gradient has the shape of {tensor}, {tuple(e.shape)}, which fixes the "
                  "order of the factors"] = e.T
        if name == "dhpreact":
            found["your dhpreact equals dh: the gradient went through tanh as if its slope "
                  "were 1"] = expected["dh"]
        if name == "dbnraw":
            found["your dbnraw equals dhpreact: the scale bngain multiplies the gradient on "
                  "the way back as it multiplied bnraw on the way forward"] = expected["dhpreact"]
        return found
    return mistakes


def _picture(who: str, names, labels: list, results: list) -> None:
    status = {}
    for label, res in zip(labels, results):
        status[label] = ({g: "missing or raised" for g in names} if res is None else
                         {g: ("missing or raised" if r.problem == "missing from your dict"
                              else _status(r)) for g, r in res.items()})
    _show(gradient_picture(list(names), labels, status))


def _run_cases(fn: Callable, who: str, names, offset: int, *, picture: bool) -> bool | None:
    """Check ``fn(cache)`` on the page's minibatch and the hidden ones. Prints one line per
    gradient on the page's minibatch and one per hidden case; True when all pass, None when
    ``fn`` is a stub; raises AssertionError otherwise."""
    cases = _cases(offset)
    first_cache = _cache(*cases[0][1])
    if fn is None or fn is ... or _call(fn, (_fresh(first_cache),), who) is _STUB:
        print(f"{who} | not attempted yet")
        if picture:  # the table still to fill
            _picture(who, names, [c[0] for c in cases],
                     [{g: compare(None, 0.0, name=g) for g in names}] * len(cases))
        return None
    runs = []  # (label, got, expected, results) or the AssertionError of that case
    for label, (params, Xb, Yb) in cases:
        cache = _cache(params, Xb, Yb)
        try:
            got = _call(fn, (_fresh(cache),), f"{who} on {label}")
            if got is _STUB:
                raise AssertionError(f"{who} on {label}: your function raised "
                                     "NotImplementedError on this case.\nHint: the function "
                                     "must work for any batch size and any widths.")
            got = _as_dict(got, who, label, names)
            expected = {k: v for k, v in _autograd(params, Xb, Yb).items() if k in names}
            runs.append((label, got, expected, _compare_all(got, expected, names)))
        except AssertionError as err:
            runs.append(err)
    def draw():
        if picture:
            _picture(who, names, [c[0] for c in cases],
                     [None if isinstance(r, AssertionError) else r[3] for r in runs])
    for k, (run, (label, (params, Xb, Yb))) in enumerate(zip(runs, cases)):
        if isinstance(run, AssertionError):
            print(f"{who}, {label.split(' (')[0]} | raised, or returned no dict")
            if k == 0:
                draw()
            raise run
        _, got, expected, results = run
        if k == 0 and not any(r.attempted for r in results.values()):
            for name in names:  # a dict of None: nothing written yet
                print(results[name])
            return None
        bad = any(not r.ok for r in results.values())
        if k == 0 or bad:
            for name in names:
                print(results[name])
        if k == 0:
            draw()
        if bad:
            _verdict(who, label, got, expected, names, _mistakes_of(params, Xb, Yb, expected),
                     len(Xb), results, _where if names == PARAMETER_GRADIENTS else None)
        if k:
            diff = max(r.max_diff for r in results.values())
            exact = all(r.exact for r in results.values())
            print(f"{who}, {label} | {len(names)} gradients | exact: {exact} | close: True "
                  f"| max diff: {diff:.1e}")
        cache = _cache(params, Xb, Yb)
        after = _fresh(cache)
        _call(fn, (after,), f"{who} on {label}")
        _unchanged(cache, after, f"{who} on {label}")
    return True


@exercise(PAGE, "manual_backward", graded=True)
def check_manual_backward(manual_backward: Callable | None) -> None:
    """Exercise 1: ``manual_backward(cache)`` -> ``{"dlogprobs": ..., ..., "dC": ...}``, the
    gradient of the loss with respect to each of the :data:`GRADIENTS`' tensors, shaped like
    it.

    Shown: the page's minibatch of 32. Hidden: batches of 8, 50 and 2, with 27 or 11
    characters, contexts of 3 or 2, other embedding and hidden widths, labels that never
    use the last character. The reference is autograd on the same forward pass. One line
    per gradient on the page's minibatch, one per hidden case; the first wrong gradient
    on the way back is explained. In a notebook it also draws which gradients are right.
    """
    _run_cases(manual_backward, "manual_backward", GRADIENTS, 201, picture=True)


# --- exercise 2: the cross-entropy in one step ------------------------------------------
def _logits_of(probs: torch.Tensor) -> torch.Tensor:
    """Logits whose softmax is ``probs`` (a softmax ignores a shift per row)."""
    return probs.log().detach().requires_grad_()


def _gradient_of(loss: Callable) -> Callable:
    """The mistake ``(probs, Yb) -> dL/dlogits`` for the loss ``loss(logits, Yb)``, by autograd."""
    def mistake(probs, Yb):
        Z = _logits_of(probs)
        (gZ,) = _grad(loss(Z, Yb), Z)
        return gZ
    return mistake


def _logsumexp(Z: torch.Tensor) -> torch.Tensor:
    return Z.logsumexp(1)  # (n,)


def _true(Z: torch.Tensor, Yb: torch.Tensor) -> torch.Tensor:
    return Z[torch.arange(len(Yb)), Yb]  # (n,)


def _ce_case(g: torch.Generator, n: int, vocab: int, scale: float = 2.0, labels: int | None = None):
    Z = scale * torch.randn(n, vocab, generator=g, dtype=F64)
    Yb = torch.randint(0, labels or vocab, (n,), generator=g)
    return _softmax(Z, 1), Yb


def _ce_cases() -> tuple[tuple, list]:
    """The page's probabilities (32 x 27) and hidden ones: 5 x 11 whose labels miss the
    last class, 50 x 3, 27 x 27 (square), and rows with a logit 800 above the others."""
    params, Xb, Yb = _shown()
    shown = (_cache(params, Xb, Yb)["probs"], Yb)
    g = hidden_generator(202)
    huge = _ce_case(g, 6, 8)
    Z = torch.randn(6, 8, generator=g, dtype=F64)
    Z[torch.arange(6), huge[1]] += 800.0  # the true class takes all: the others underflow to 0
    Z[0, (huge[1][0] + 1) % 8] += 800.0  # ... except in row 0, where another class ties it
    return shown, [_ce_case(g, 5, 11, 3.0, labels=10), _ce_case(g, 50, 3, 1.0),
                   _ce_case(g, 27, 27), (_softmax(Z, 1), huge[1])]


@exercise(PAGE, "dlogits_fused", graded=True)
def check_dlogits_fused(dlogits_fused: Callable | None) -> None:
    """Exercise 2: ``dlogits_fused(probs, Yb)`` -> ``dlogits`` (n, vocab), the gradient of the
    mean cross-entropy with respect to the logits, from the probabilities and the labels.

    Shown: the page's minibatch (32 x 27). Hidden: 5 x 11 (the last class never a label),
    50 x 3, 27 x 27, and rows where one logit is 800 above the rest (probabilities of
    exactly 0 and 1). The reference is autograd of ``F.cross_entropy``.
    """
    shown, cases = _ce_cases()
    reference = _gradient_of(_cross_entropy)
    passed = check_function(
        dlogits_fused, reference, *shown, cases=cases, forbid=AUTOGRAD, name="dlogits_fused",
        batch_size=len(shown[1]), **TOL,
        mistakes={
            "n times too large: the loss is the mean over the batch, so every example's "
            "gradient is shared by n": _gradient_of(
                lambda Z, Y: _cross_entropy(Z, Y, reduction="sum")),
            "the true class's term is missing: the loss depends on the true class's logit "
            "directly, not only through the softmax's normaliser":
                _gradient_of(lambda Z, Y: _logsumexp(Z).mean()),
            "the softmax's normaliser is missing: every logit of a row enters the sum in "
            "the denominator, not only the true class's":
                _gradient_of(lambda Z, Y: -_true(Z, Y).mean()),
            "every row got every label of the minibatch: a whole column was indexed for "
            "each label, where row i needs only its own label Yb[i]":
                _gradient_of(lambda Z, Y: (_logsumexp(Z) - Z[:, Y.unique()].sum(1)).mean()),
            "only part of dlogits was divided by n: the true class's term was subtracted "
            "after the division": _gradient_of(
                lambda Z, Y: _logsumexp(Z).mean() - _true(Z, Y).sum()),
            "the true class's term has the wrong sign: raising the true class's logit must "
            "lower the loss": _gradient_of(lambda Z, Y: (_logsumexp(Z) + _true(Z, Y)).mean()),
            "divided by the number of classes instead of the batch size":
                lambda probs, Y: reference(probs, Y) * len(Y) / probs.shape[1],
        })
    if passed:
        _inputs_untouched(dlogits_fused, "dlogits_fused", ("probs", "Yb"), [shown, *cases])


def _inputs_untouched(fn: Callable, who: str, names: tuple, cases: list) -> None:
    for args in cases:
        copies = tuple(_fresh(a) for a in args)
        _call(fn, copies, who)
        _unchanged(dict(zip(names, args)), dict(zip(names, copies)), who)


# --- exercise 3: BatchNorm in one step --------------------------------------------------
def _batchnorm(x: torch.Tensor, gain: torch.Tensor, variant: str = "") -> torch.Tensor:
    """The page's BatchNorm without its shift (which does not change dL/dx), training mode,
    unbiased variance; ``variant`` changes the graph as a known mistake does."""
    dim = 1 if variant == "features" else 0
    n = x.shape[dim]
    mean = x.sum(dim, keepdim=True) / n
    if variant == "no mean":
        mean = mean.detach()
    diff = x - mean
    squares = (diff ** 2).sum(dim, keepdim=True)
    var = {"biased": squares / n,
           "bessel": squares / n + (squares / (n - 1) - squares / n).detach()
           }.get(variant, squares / (n - 1))
    if variant == "no var":
        var = var.detach()
    scale = (var + (0.0 if variant == "no eps" else EPS)) ** -0.5
    return (1.0 if variant == "no gain" else gain) * diff * scale


def _bn_gradient(variant: str = "") -> Callable:
    """``(dhpreact, hprebn, bngain) -> dhprebn`` by autograd through :func:`_batchnorm`."""
    def gradient(dhpreact, hprebn, bngain):
        x = hprebn.detach().clone().requires_grad_()
        (gx,) = _grad(_batchnorm(x, bngain, variant), x, dhpreact)
        return gx
    return gradient


def _bn_case(g: torch.Generator, n: int, H: int, tiny: bool = False) -> tuple:
    x = 2 * torch.randn(n, H, generator=g, dtype=F64) + torch.randn(H, generator=g, dtype=F64)
    if tiny:
        x[:, 0] = 0.3 + 1e-3 * torch.randn(n, generator=g, dtype=F64)  # variance near eps
    gain = torch.randn(1, H, generator=g, dtype=F64)  # some negative
    return torch.randn(n, H, generator=g, dtype=F64) / n, x, gain


def _bn_cases() -> tuple[tuple, list]:
    """The page's (dhpreact, hprebn, bngain) and hidden ones: 8 x 5, 100 x 3 with a unit of
    tiny variance, 2 x 4 (the smallest batch), gains of both signs."""
    params, Xb, Yb = _shown()
    grads = _autograd(params, Xb, Yb)
    shown = (grads["dhpreact"], _cache(params, Xb, Yb)["hprebn"], params["bngain"])
    g = hidden_generator(203)
    return shown, [_bn_case(g, 8, 5), _bn_case(g, 100, 3, tiny=True), _bn_case(g, 2, 4)]


@exercise(PAGE, "dhprebn_fused", graded=True)
def check_dhprebn_fused(dhprebn_fused: Callable | None) -> None:
    """Exercise 3: ``dhprebn_fused(dhpreact, hprebn, bngain)`` -> ``dhprebn`` (n, H), the
    gradient through the page's BatchNorm (training mode, unbiased variance, eps 1e-5).

    Shown: the page's minibatch (32 x 200). Hidden: 8 x 5, 100 x 3 with a unit whose
    variance is near eps, 2 x 4, gains of both signs. The reference is autograd.
    """
    shown, cases = _bn_cases()
    passed = check_function(
        dhprebn_fused, _bn_gradient(), *shown, cases=cases, forbid=AUTOGRAD,
        name="dhprebn_fused", **TOL,
        mistakes={
            "your gradient is that of BatchNorm with the biased variance (divided by n); "
            "this network's variance divides by n - 1 (Bessel's correction), and the "
            "gradient must follow the forward pass that ran": _bn_gradient("biased"),
            "the Bessel factor: the statistics are the unbiased ones, but the path through "
            "the variance was taken as if the variance divided by n": _bn_gradient("bessel"),
            "the path through the batch mean is missing: every example's pre-activation "
            "also moves the mean that all of them subtract": _bn_gradient("no mean"),
            "the path through the batch variance is missing: every example's pre-activation "
            "also moves the variance that scales all of them": _bn_gradient("no var"),
            "bngain is missing: the scale multiplies the gradient on the way back":
                _bn_gradient("no gain"),
            "eps is missing: the forward pass adds eps = 1e-5 to the variance, which "
            "matters for a unit whose variance is tiny": _bn_gradient("no eps"),
            "the statistics were taken over the hidden units of each example (dim 1) "
            "instead of over the batch (dim 0)": _bn_gradient("features"),
        })
    if passed:
        _inputs_untouched(dhprebn_fused, "dhprebn_fused", ("dhpreact", "hprebn", "bngain"),
                          [shown, *cases])


# --- exercise 4: train with your own gradients ------------------------------------------
def _where(results: dict) -> str:
    """Where on the way back the first wrong parameter gradient points."""
    ok = {g: results[g].ok for g in PARAMETER_GRADIENTS}
    if not (ok["dW2"] and ok["db2"]):
        where = "at dlogits (exercise 2's part) or in the last layer"
    elif not (ok["dbngain"] and ok["dbnbias"]):
        where = "between dlogits and dhpreact: the second layer's way back, or tanh"
    elif not (ok["dW1"] and ok["db1"]):
        where = "between dhpreact and dhprebn (exercise 3's part), or in the first layer"
    else:
        where = "in the embedding: from dembcat to dC"
    return f"\n\nWhere: the parameters before it are right, so the error is {where}."


def _train(backward: Callable | None, steps: int, seed: int, batch: int = 32,
           lr: float = 0.1) -> dict:
    """The page's network trained ``steps`` SGD steps from ``init_params`` seeded with
    ``seed``, on minibatches drawn from the same generator: with autograd when ``backward``
    is None, else with ``backward(cache)``'s gradients."""
    Xtr, Ytr = _names()
    g = torch.Generator().manual_seed(seed)
    params = init_params(g)
    for step in range(steps):
        ix = torch.randint(0, Xtr.shape[0], (batch,), generator=g)
        if backward is None:
            grads = _autograd(params, Xtr[ix], Ytr[ix])
        else:
            got = backward(_cache(params, Xtr[ix], Ytr[ix]))
            grads = {k: torch.as_tensor(np.asarray(_fresh(got[k]), dtype=np.float64))
                     for k in PARAMETER_GRADIENTS}
        for name in PARAMETERS:
            params[name] = params[name] - lr * grads["d" + name]
    sample = torch.randperm(Xtr.shape[0], generator=torch.Generator().manual_seed(0))[:4096]
    return {"loss": _cache(params, Xtr[sample], Ytr[sample])["loss"].item()}


@functools.cache
def _autograd_run(steps: int, seed: int) -> float:
    return _train(None, steps, seed)["loss"]


TRAIN_STEPS = 150


@exercise(PAGE, "backward_pass", graded=True)
def check_backward_pass(backward_pass: Callable | None) -> None:
    """Exercise 4: ``backward_pass(cache)`` -> ``{"dW2": ..., ..., "dC": ...}``, the
    gradients of the seven parameters (:data:`PARAMETER_GRADIENTS`).

    First as exercise 1 on the page's minibatch and the hidden ones; then the checker
    trains the network for :data:`TRAIN_STEPS` steps with these gradients and with
    autograd, from the same seeded start (a hidden seed) on the same minibatches, and
    requires the two losses (on 4,096 training examples) to agree within 0.01.
    """
    if not _run_cases(backward_pass, "backward_pass", PARAMETER_GRADIENTS, 204, picture=False):
        return
    seed = int(torch.randint(0, 2**31, (1,), generator=hidden_generator(205)))
    expected = _autograd_run(TRAIN_STEPS, seed)
    step = {"n": 0}

    def counted(cache):
        step["n"] += 1
        return _call(backward_pass, (cache,), f"backward_pass at training step {step['n']}")
    try:
        mine = _train(counted, TRAIN_STEPS, seed)["loss"]
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise AssertionError(f"backward_pass at training step {step['n']}: its gradients "
                             f"could not be used ({type(err).__name__}: {err}).\nHint: return "
                             "the same dict of tensors on every call.") from None
    diff = abs(mine - expected)
    line = (f"backward_pass, training {TRAIN_STEPS} steps | loss with your gradients "
            f"{mine:.4f} | with autograd {expected:.4f} | difference {diff:.1e}")
    if not diff <= 0.01:
        print(line)
        raise AssertionError(
            f"backward_pass: after {TRAIN_STEPS} training steps the loss with your gradients "
            f"is {mine:.4f}, with autograd {expected:.4f} (allowed difference: 0.01).\nHint: "
            "your gradients were right on the checked minibatches, but training with them "
            "ends elsewhere: does your function keep something between calls, draw random "
            "numbers, or read variables outside the cache?")
    print(line + " | ok")
