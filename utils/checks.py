"""Homework checkers: the line printed under every exercise cell.

``check(dW1, W1.grad, name="dW1")`` prints one line per quantity: bitwise equal? equal within
``atol + rtol * |expected|``? largest difference? ::

    dW1 | exact: False | close: True | max diff: 2.4e-07

It returns True if all is right, False (``dW1 | not attempted yet``) while an answer is a
stub (``None``, ``...``, a function raising ``NotImplementedError``) so the book runs top to
bottom, and raises ``AssertionError`` (expected vs got, and a ``Hint:``) on a wrong answer.
Hints are never guessed: each misconception is *tried on the data* (is ``-got`` right?
``got.T``? ``got / batch_size``?) and the first that reproduces the expected answer is
named, from most to least specific: the chapter's own ``mistakes``, not numbers or another
device, NaN/inf, shape, dtype, then values (sign, transposed, sum vs mean, a factor).

Everything is read as float64 (tensors on any device, arrays, numbers, nested lists), so
precision never decides a comparison. A dtype fails a check only where it matters: when
``dtype=`` demands one (numbers and lists count as numpy stores them: float64 / int64), or
when a tensor or array holds another *kind* of number (integers where floats are expected).

``compare`` checks one quantity silently; ``check`` prints and explains, one line per item
of a tuple or dict; ``check_all`` takes ``{name: (got, expected)}``; ``check_function`` runs
student and reference on separate copies of the arguments. Errors in the notebook itself
(``expected`` is None, ...) raise ``TypeError`` / ``ValueError``.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
from collections import namedtuple
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

__all__ = ["CheckResult", "compare", "check", "check_all", "check_function", "format_diff",
           "declared_mistakes", "returned", "check_prediction", "read_claim", "forbidden", "Forbidden"]


def format_diff(value, floor: float) -> str:
    """A difference between two computations, for printing after its name: ``"< 1e-12"``
    when it is below ``floor`` (there its digits are rounding noise, which another CPU,
    thread count or library version changes), otherwise ``"= "`` and two significant digits
    (``"= 2.4e-07"``), so that ``f"max |a - b| {format_diff(d, 1e-12)}"`` reads either way.

    Choose ``floor`` from the precision and the size of the compared values, e.g. ``1e-12``
    for float64 numbers of order one and ``1e-6`` for float32.

    Example:
        >>> format_diff(1.4e-17, 1e-12), format_diff(0.0, 1e-12), format_diff(2.4e-7, 1e-12)
        ('< 1e-12', '< 1e-12', '= 2.4e-07')
        >>> format_diff(0.0, 1e-6)
        '< 1e-6'
    """
    value = float(value)
    if not floor > 0:
        raise ValueError(f"format_diff expects a positive floor, got {floor!r}")
    if value != value:  # NaN: never hide it
        return "nan"
    if abs(value) >= floor:
        return f"= {value:.1e}"
    mantissa, exponent = f"{floor:.0e}".split("e")
    return f"< {mantissa}e{int(exponent)}"

_FAMILY = {"f": "float", "i": "int", "u": "int", "b": "bool"}


def _is_stub(x: Any) -> bool:
    return x is None or x is Ellipsis


class _Unreadable(Exception):
    """Not an array of real numbers. An instance also stands in for a missing or misfit part."""


@dataclass
class _Reading:
    values: np.ndarray  # float64 copy of the numbers
    desc: str  # how messages name it, e.g. "torch.float32 tensor" or "list"
    dtype: str  # bare dtype name, e.g. "float32"
    family: str  # "float", "int" or "bool"
    typed: bool  # a tensor or numpy value, whose dtype someone chose
    device: str | None = None  # for tensors

    def __str__(self) -> str:
        flat = self.values.ravel()
        shown = ", ".join(f"{v:.4g}" for v in flat[:5]) + (", ..." if flat.size > 5 else "")
        return f"{self.desc} of shape {tuple(self.values.shape)}: [{shown}]"


def _read(x: Any) -> _Reading:
    if isinstance(x, _Unreadable):
        raise x
    if isinstance(x, torch.Tensor):
        try:
            values = x.detach().to("cpu", torch.float64).numpy()
        except (RuntimeError, NotImplementedError) as err:  # e.g. a tensor on the meta device
            raise _Unreadable(f"its values cannot be read ({err})") from None
        family = "bool" if x.dtype == torch.bool else "float" if x.is_floating_point() else "int"
        name = str(x.dtype).removeprefix("torch.")
        return _Reading(values, f"{x.dtype} tensor", name, family, True, str(x.device))
    if callable(x):
        raise _Unreadable(f"it is a function ({getattr(x, '__name__', x)}); call it")
    try:
        a = np.asarray(x)
    except (ValueError, TypeError, RuntimeError):  # ragged lists, tensors with grad inside
        raise _Unreadable(f"no array can be made of this {type(x).__name__} "
                          "(rows of different lengths? tensors that require grad?)") from None
    if a.dtype.kind not in _FAMILY:
        raise _Unreadable(f"this {type(x).__name__} does not hold only real numbers ({a.dtype})")
    typed = isinstance(x, (np.ndarray, np.generic))
    desc = f"numpy {a.dtype} {'array' if a.ndim else 'scalar'}" if typed else type(x).__name__
    return _Reading(a.astype(np.float64), desc, a.dtype.name, _FAMILY[a.dtype.kind], typed)


def _read_reference(x: Any, what: str) -> _Reading:
    """Read a value supplied by the notebook's author: a failure is the author's bug."""
    try:
        return _read(x)
    except _Unreadable as err:
        raise TypeError(f"{what} cannot be read as numbers: {err}") from None


def _same(g: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Entry by entry: identical, NaN counting as identical to NaN."""
    return (g == e) | (np.isnan(g) & np.isnan(e))


def _close(g: np.ndarray, e: np.ndarray, atol: float, rtol: float) -> bool:
    return g.shape == e.shape and bool(np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True))


def _nonfinite(g: np.ndarray, e: np.ndarray) -> tuple[int, int]:
    """How many NaN and inf entries the answer has that the expected one lacks (if shapes
    differ: all of them, unless the expected one has some too)."""
    new = ~_same(g, e) if g.shape == e.shape else np.full(g.shape, np.isfinite(e).all())
    return int((np.isnan(g) & new).sum()), int((np.isinf(g) & new).sum())


def _dtype_problem(g: _Reading, e: _Reading, want: str | None) -> str | None:
    if want and g.dtype != want:
        return f"dtype {g.dtype}, expected {want}"
    if g.typed and g.family != e.family and (e.typed or e.family == "float"):
        return f"dtype {g.dtype}, expected {e.family} numbers"
    return None


@dataclass
class CheckResult:
    """One quantity compared: ``exact`` (same shape and values), ``close`` (same shape, all
    entries within tolerance), ``problem`` (shape, NaN, dtype...). ``str()`` is its line."""

    name: str
    attempted: bool = True
    exact: bool = False
    close: bool = False
    max_diff: float = float("nan")
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.attempted and self.close and self.problem is None

    def __str__(self) -> str:
        if not self.attempted:
            return f"{self.name} | not attempted yet"
        line = f"{self.name} | exact: {self.exact} | close: {self.close}"
        line += f" | max diff: {self.max_diff:.1e}"
        return line + (f" | {self.problem}" if self.problem else "")


# One compared quantity: its result, the student's value as given, and the readings of
# both (g is None where the answer could not be read).
_Case = namedtuple("_Case", "result got g e")


def _compare(name: str, got: Any, expected: Any, atol: float, rtol: float,
             want: str | None) -> _Case:
    e = _read_reference(expected, f"the expected value of {name!r}")
    if _is_stub(got):
        return _Case(CheckResult(name, attempted=False), got, None, e)
    moved = isinstance(got, torch.Tensor) and e.device and str(got.device) != e.device
    problem = f"device {got.device}, expected {e.device}" if moved else None
    try:
        g = _read(got)
    except _Unreadable as err:
        return _Case(CheckResult(name, problem=problem or str(err)), got, None, e)
    if g.values.shape != e.values.shape:
        problem = problem or f"shape {g.values.shape}, expected {e.values.shape}"
        return _Case(CheckResult(name, problem=problem), got, g, e)
    same = _same(g.values, e.values)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(same, 0.0, np.abs(g.values - e.values))
    nan, inf = _nonfinite(g.values, e.values)
    problem = problem or (f"{nan} NaN, {inf} inf" if nan or inf else _dtype_problem(g, e, want))
    close = _close(g.values, e.values, atol, rtol)
    max_diff = float(diff.max()) if diff.size else 0.0
    return _Case(CheckResult(name, True, bool(same.all()), close, max_diff, problem), got, g, e)


def _factor(g: np.ndarray, e: np.ndarray, atol: float, rtol: float) -> str | None:
    """The c with got == c * expected, written like "2", "1/32" or "0.7071"; else None."""
    big = np.abs(e) > atol
    c = float(np.median(g[big] / e[big])) if big.any() else 0.0
    if c == 0 or not np.isfinite(c) or not _close(g, c * e, atol, rtol):
        return None
    sign, c = ("-" if c < 0 else ""), abs(c)
    text = (f"{round(c)}" if abs(c - round(c)) <= 1e-4 * c else
            f"1/{round(1 / c)}" if abs(1 / c - round(1 / c)) <= 1e-4 / c else
            None if g.size == 1 else f"{c:.4g}")  # two single numbers always have some ratio
    return None if text in (None, "1") else sign + text


def _shape_hint(g: np.ndarray, e: np.ndarray, atol: float, rtol: float) -> str:
    wrong = f"expected shape {e.shape}, got {g.shape}"
    if g.ndim >= 2 and _close(np.swapaxes(g, -1, -2), e, atol, rtol):  # rectangular ones too
        return (f"transposed: {wrong}. Your numbers are right but the result is transposed "
                "(check the order of the factors, or a .T).")
    if g.size == e.size and _close(g.reshape(e.shape), e, atol, rtol):
        if g.ndim > e.ndim:  # e.g. (1, 4) for (4,)
            return (f"right numbers, wrong shape: {wrong}. Your result has an extra dimension "
                    "of size 1 (keepdim=True where none was wanted, or an unsqueeze): drop it.")
        if g.ndim < e.ndim:  # e.g. (4,) for (4, 1)
            return (f"right numbers, wrong shape: {wrong}. A dimension of size 1 is missing: "
                    "use keepdim=True in the reduction, or unsqueeze.")
        return f"right numbers, wrong shape: {wrong}. Reshape the result (or check the order of the dimensions)."
    return f"wrong shape: {wrong}. Check which dimensions each sum, mean or broadcast produces."


def _value_hint(g: np.ndarray, e: np.ndarray, n: int | None, atol: float, rtol: float) -> str:
    matches = lambda candidate: _close(candidate, e, atol, rtol)  # noqa: E731
    if matches(-g):
        return "wrong sign: your answer is minus the expected one. Check each derivative's sign."
    if g.ndim >= 2 and matches(np.swapaxes(g, -1, -2)):  # a square matrix
        return "transposed: your matrix is the transpose of the expected one (factor order, .T)."
    if n is not None and matches(g / n):
        return f"sum instead of mean: your answer is batch_size={n} times too large; divide."
    if n is not None and matches(g * n):
        return f"mean instead of sum: your answer is batch_size={n} times too small; don't divide."
    factor = _factor(g, e, atol, rtol)
    if factor is not None:
        return f"off by a constant factor: your answer is {factor} times the expected one."
    if g.size == 1:
        return f"no common mistake matches: expected {e.item():.6g}, got {g.item():.6g}."
    off = ~np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    diff = np.nan_to_num(np.where(_same(g, e), 0.0, np.abs(g - e)), nan=np.inf)
    first, worst = (tuple(map(int, np.unravel_index(np.argmax(a), g.shape))) for a in (off, diff))
    return (f"no common mistake matches. {int(off.sum())} of {g.size} entries differ: the first "
            f"at index {first} (expected {e[first]:.6g}, got {g[first]:.6g}), the largest at "
            f"index {worst} (expected {e[worst]:.6g}, got {g[worst]:.6g}).")


def _hint(case: _Case, mistakes: dict[str, _Reading], n: int | None, atol: float, rtol: float,
          want: str | None) -> str:
    got, g, e = case.got, case.g, case.e
    for label, wrong in mistakes.items():
        if g is not None and _close(g.values, wrong.values, atol, rtol):
            return f"your answer matches a known mistake: {label}."
    if isinstance(got, torch.Tensor) and e.device and str(got.device) != e.device:
        return f"your tensor is on {got.device}, the expected one on {e.device}: move it (.to)."
    if g is None:
        return (f"your answer cannot be read: {case.result.problem}. "
                "Give a tensor, array, number or rectangular list (or a tuple or dict of them).")
    nan, inf = _nonfinite(g.values, e.values)
    if nan or inf:
        return (f"your answer has {nan} NaN and {inf} inf entries that the expected one does "
                "not have. Look for log(0), 0/0, or exp() of a large number.")
    if g.values.shape != e.values.shape:
        return _shape_hint(g.values, e.values, atol, rtol)
    problem = _dtype_problem(g, e, want)
    if problem and (case.result.close or g.family != e.family):  # else the values matter more
        why = (" Integer arithmetic truncates and has no gradient."
               if e.family == "float" and g.family != "float" else "")
        how = ".astype(...)" if "numpy" in g.desc else ".to(...)"
        return f"wrong {problem}.{why} Convert it with {how}."
    if _low_precision(g, e, atol, rtol):
        return (f"your numbers agree with the expected ones only to {g.dtype} precision: the "
                "answer needs float64 (compute in float64, or convert the inputs before you start).")
    return _value_hint(g.values, e.values, n, atol, rtol)


def _low_precision(g: _Reading, e: _Reading, atol: float, rtol: float) -> bool:
    """A float32 (or half) answer that is right to its own precision but not to the
    tolerance asked (a float64 one)."""
    if not (g.typed and g.dtype in ("float32", "float16", "bfloat16") and e.dtype == "float64"):
        return False
    eps = {"float32": 1.2e-7, "float16": 9.8e-4, "bfloat16": 7.9e-3}[g.dtype]
    scale = float(np.abs(e.values).max()) if e.values.size else 0.0
    return _close(g.values, e.values, max(atol, 100 * eps * scale), max(rtol, 100 * eps))


def _explain(case: _Case, mistakes: dict[str, _Reading], n: int | None, atol: float,
             rtol: float, want: str | None) -> str:
    with np.errstate(all="ignore"):  # trying the fixes may divide inf by inf, say
        hint = _hint(case, mistakes, n, atol, rtol, want)
    r = case.result
    return (f"{r.name} is wrong.\n  expected: {case.e}\n"
            f"  got:      {case.g if case.g is not None else r.problem}\n"
            f"  max diff: {r.max_diff:.1e} (allowed: {atol:g} + {rtol:g} * |expected|)\n"
            f"Hint: {hint}")


def _leaves(name: str, got: Any, expected: Any) -> list[tuple[str, Any, Any]]:
    """(name, got, expected) per quantity: tuple items are named ``name[i]``, dict items by key."""
    if not isinstance(expected, (tuple, dict)):
        return [(name, got, expected)]
    is_dict = isinstance(expected, dict)
    keys = list(expected) if is_dict else list(range(len(expected)))
    names = [str(k) if is_dict else f"{name}[{k}]" for k in keys]
    if is_dict and isinstance(got, dict):
        parts = [got.get(k, _Unreadable(f"the key {k!r} is missing")) for k in keys]
    elif not is_dict and isinstance(got, (tuple, list)) and len(got) == len(keys):
        parts = list(got)
    else:  # a stub, or a misfit, stands for each of the parts
        if not (_is_stub(got) or isinstance(got, _Unreadable)):
            size = f" of {len(got)}" if isinstance(got, (tuple, list)) else ""
            got = _Unreadable(f"expected a {type(expected).__name__} of {len(keys)} "
                              f"({', '.join(names)}), got a {type(got).__name__}{size}")
        parts = [got] * len(keys)
    return [leaf for k, n, p in zip(keys, names, parts) for leaf in _leaves(n, p, expected[k])]


def _validate(atol: float, rtol: float, batch_size: Any, mistakes: Any, dtype: Any) -> str | None:
    """Reject the author's mistakes in the options; return the demanded dtype's name."""
    if not (atol >= 0 and rtol >= 0):
        raise ValueError(f"atol and rtol must be non-negative, got {atol} and {rtol}")
    if batch_size is not None and not (type(batch_size) is int and batch_size > 0):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if mistakes is not None and not isinstance(mistakes, dict):
        raise TypeError(f"mistakes must be a dict {{description: wrong answer}}: {mistakes!r}")
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype and str(dtype).removeprefix("torch.")
    try:
        return np.dtype(dtype).name
    except TypeError:
        raise TypeError(f"dtype must be a torch or numpy dtype, got {dtype!r}") from None


def compare(got: Any, expected: Any, *, name: str = "value", atol: float = 1e-6,
            rtol: float = 1e-5, dtype: Any = None) -> CheckResult:
    """Compare one quantity with its reference; print nothing, raise only for author errors.

    >>> r = compare(torch.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-7], name="x")
    >>> r.exact, r.close, r.ok
    (False, True, True)
    """
    want = _validate(atol, rtol, None, None, dtype)
    return _compare(name, got, expected, atol, rtol, want).result


def check(got: Any, expected: Any, *, name: str = "value", atol: float = 1e-6,
          rtol: float = 1e-5, batch_size: int | None = None,
          mistakes: dict[str, Any] | None = None, dtype: Any = None) -> bool:
    """Print one line per quantity; True if all are right, False if some are not attempted.

    Raises ``AssertionError``, after all lines, if any is wrong. ``batch_size`` lets hints
    spot sum vs mean; ``dtype`` demands that dtype; ``mistakes`` maps a description to a
    known-wrong answer (shaped like ``expected``) or to a function of ``expected`` giving one.

    >>> check(torch.tensor([0.5, 0.5]), np.array([0.5, 0.5]), name="p")
    p | exact: True | close: True | max diff: 0.0e+00
    True
    >>> check(..., torch.zeros(3), name="dW1")
    dW1 | not attempted yet
    False
    """
    want = _validate(atol, rtol, batch_size, mistakes, dtype)
    leaves = _leaves(name, got, expected)
    cases = [_compare(n, g, e, atol, rtol, want) for n, g, e in leaves]
    per_leaf: list[dict[str, _Reading]] = [{} for _ in leaves]
    for label, bad in (mistakes or {}).items():  # split like expected; missing parts skipped
        bad = bad(expected) if callable(bad) else bad
        for i, (_, part, _) in enumerate(_leaves(name, bad, expected)):
            if not (_is_stub(part) or isinstance(part, _Unreadable)):
                per_leaf[i][label] = _read_reference(part, f"the mistake {label!r}")
    for case in cases:
        print(case.result)
    wrong = [(c, m) for c, m in zip(cases, per_leaf) if c.result.attempted and not c.result.ok]
    if wrong:
        head = f"{len(wrong)} of {len(cases)} quantities are wrong.\n\n" if len(cases) > 1 else ""
        texts = [_explain(c, m, batch_size, atol, rtol, want) for c, m in wrong]
        raise AssertionError(head + "\n\n".join(texts)) from None
    return all(c.result.attempted for c in cases)


def check_all(pairs: dict[str, tuple[Any, Any]], **options: Any) -> bool:
    """``check`` several named quantities, ``pairs = {name: (got, expected)}``, one line each.

    ``options`` are those of ``check``; a mistake there is a dict ``{name: wrong answer}``.

    >>> check_all({"dW": (torch.ones(2), torch.ones(2)), "db": (None, torch.zeros(1))})
    dW | exact: True | close: True | max diff: 0.0e+00
    db | not attempted yet
    False
    """
    if not (isinstance(pairs, dict)
            and all(isinstance(p, tuple) and len(p) == 2 for p in pairs.values())):
        raise TypeError("check_all expects a dict {name: (got, expected)}")
    got, expected = ({k: p[i] for k, p in pairs.items()} for i in (0, 1))
    return check(got, expected, **options)


def _fresh(x: Any) -> Any:
    """A copy of an argument that the function it is given may modify freely."""
    if isinstance(x, torch.Tensor):
        return x.detach().clone().requires_grad_(x.requires_grad)
    return type(x)(map(_fresh, x)) if type(x) in (list, tuple) else copy.deepcopy(x)


_DECLARED: list[list] = []  # open declared_mistakes() lists, innermost last


@contextlib.contextmanager
def declared_mistakes() -> Iterator[list[tuple[str, Callable, Any]]]:
    """Collect the mistakes that checkers declare to :func:`check_function` as functions.

    Inside the ``with`` block, every ``check_function(student_fn, ..., mistakes={label:
    fn})`` call appends ``(label, fn, student_fn)`` for each mistake given as a function of
    the same arguments as ``student_fn``. Where ``student_fn`` is the student's own answer
    (not a wrapper around it), ``fn`` is a wrong answer written as a student would write it:
    the generic exercise tests run each such one through its checker and expect its own
    hint, so a mistake is written once, in the checker.

    >>> with declared_mistakes() as found:
    ...     _ = check_function(abs, abs, 1.0, mistakes={"doubled": lambda x: 2 * x})
    abs | exact: True | close: True | max diff: 0.0e+00
    >>> [(label, student is abs) for label, _, student in found]
    [('doubled', True)]
    """
    found: list[tuple[str, Callable, Any]] = []
    _DECLARED.append(found)
    try:
        yield found
    finally:
        _DECLARED.remove(found)


class Forbidden(Exception):
    """Raised by a function an exercise forbids, while the student's code runs (see
    :func:`forbidden`)."""


def _resolve(dotted: str):
    """(owner, attribute) of a dotted name such as ``torch.softmax`` or
    ``torch.Tensor.softmax``."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:-1]:
            owner = getattr(owner, part)
        return owner, parts[-1]
    raise ValueError(f"forbid: cannot find {dotted!r}")


@contextlib.contextmanager
def forbidden(names: tuple[str, ...]) -> Iterator[None]:
    """Inside the ``with`` block, each dotted name (``"torch.softmax"``,
    ``"torch.Tensor.backward"``) raises :class:`Forbidden` naming itself; outside, it is
    restored. ``check_function(forbid=...)`` uses it around the student's function."""
    saved = []
    try:
        for dotted in names:
            owner, attr = _resolve(dotted)
            saved.append((owner, attr, getattr(owner, attr)))

            def refuse(*args, _name=dotted, **kwargs):
                raise Forbidden(f"this exercise asks you not to call {_name}")
            setattr(owner, attr, refuse)
        yield
    finally:
        for owner, attr, original in reversed(saved):
            setattr(owner, attr, original)


def _describe(args: tuple) -> str:
    """The arguments of a case, as a failure message shows them: shapes, not values."""
    def one(x):
        if isinstance(x, torch.Tensor):
            return f"tensor{tuple(x.shape)}"
        if isinstance(x, (list, tuple)):
            return f"{type(x).__name__} of {len(x)}"
        if isinstance(x, float):
            return f"{x:.4g}"
        return repr(x) if len(repr(x)) <= 20 else type(x).__name__
    return ", ".join(one(x) for x in args)


_NOT_YET = object()  # the student's function raised NotImplementedError: a stub


def _call_student(student_fn: Callable, args: tuple, name: str, forbid: tuple) -> Any:
    """The student's answer for one case; any exception but the stub's becomes an
    AssertionError that names it (a checker raises nothing else)."""
    try:
        with forbidden(forbid):
            got = student_fn(*args)
    except NotImplementedError:
        return _NOT_YET
    except Forbidden as err:
        raise AssertionError(f"{name}: {err}.\nHint: write it with the basic operations the "
                             "exercise names.") from None
    except Exception as err:  # noqa: BLE001 - the student's bug, reported, not propagated
        raise AssertionError(f"{name}: your function raised {type(err).__name__}: {err}\n"
                             f"  called with: ({_describe(args)})\n"
                             "Hint: run it yourself on these inputs and read the traceback.") from None
    return got


def check_function(student_fn: Callable | None, reference_fn: Callable, *args: Any,
                   name: str | None = None, mistakes: dict[str, Any] | None = None,
                   cases: tuple | list = (), forbid: tuple | list = (),
                   inplace: tuple | list = (), **options: Any) -> bool:
    """``check`` the output of ``student_fn(*args)`` against that of ``reference_fn(*args)``,
    on the shown case and then on each of ``cases``.

    Each function gets its own copy of the arguments, so in-place changes stay private.

    - Only a stub is "not attempted": ``student_fn`` None or ``...``, or a function that
      raises ``NotImplementedError``. A written function that returns None (or ``...``)
      where an answer is expected fails: "did you forget ``return``?".
    - ``cases``: further argument tuples (hidden cases: other shapes, labels, step sizes),
      checked after the shown one; a failure names the case and its shapes.
    - ``forbid``: dotted names (``"torch.softmax"``) that raise while the student's
      function runs, with a message naming them.
    - ``inplace``: positions of arguments the function must change in place; after the
      call each must equal the reference's (changed) copy.
    - The student's exceptions become an ``AssertionError`` that names them; this function
      raises nothing else for the student's code (``TypeError``/``ValueError`` only for
      the author's mistakes in the options).

    A mistake may be a function of the same arguments (see :func:`declared_mistakes`).

    >>> def softmax(x): raise NotImplementedError
    >>> check_function(softmax, lambda x: x.softmax(-1), torch.zeros(2, 3))
    softmax | not attempted yet
    False
    """
    if not callable(reference_fn):
        raise TypeError(f"reference_fn must be a function, got {reference_fn!r}")
    _validate(0, 0, None, mistakes, None)
    name = name or getattr(student_fn if callable(student_fn) else reference_fn, "__name__", "?")
    for found in _DECLARED:
        found.extend((k, m, student_fn) for k, m in (mistakes or {}).items() if callable(m))
    for k, case in enumerate([args, *cases]):
        label = name if k == 0 else f"{name}, hidden case {k} ({_describe(case)})"
        ref_args = _fresh(case)
        expected = reference_fn(*ref_args)
        mine = _fresh(case)
        got = _NOT_YET if _is_stub(student_fn) else _call_student(student_fn, mine, label,
                                                                   tuple(forbid))
        if got is _NOT_YET:  # the result is not attempted (or, if none, what changes in place)
            stub_of = expected if expected is not None else _after(None, ref_args, inplace)
            return check(None, stub_of, name=label, **options)
        if not _is_stub(expected):
            returned(got, label)
        if inplace:  # the caller's own arguments, after the call (and the result, if any)
            got = _after(None if expected is None else got, mine, inplace)  # a result the
            expected = _after(expected, ref_args, inplace)  # exercise does not ask for is ignored
        resolved = _resolved(mistakes or {}, case, inplace)
        resolved = {m: v for m, v in resolved.items()  # a mistake that is right here hints nothing
                    if not _matches(v, expected, options.get("atol", 1e-6), options.get("rtol", 1e-5))}
        if k and isinstance(expected, dict):  # name each quantity with its hidden case
            suffix = label[len(name):]
            expected, got = _relabel(expected, suffix), _relabel(got, suffix)
            resolved = {m: _relabel(v, suffix) for m, v in resolved.items()}
        check(got, expected, name=label, mistakes=resolved, **options)
    return True


def _after(result: Any, args: tuple, inplace) -> Any:
    """What a call produced: its result, and the arguments it changed in place (those alone
    when it returned None)."""
    if not inplace:
        return result
    changed = tuple(args[i] for i in inplace)
    return changed if result is None else (result, *changed)


def _matches(wrong: Any, expected: Any, atol: float, rtol: float) -> bool:
    """Whether a declared mistake's answer equals the expected one on this case (then it
    cannot tell the mistake apart, and its hint would mislead)."""
    try:
        return all(_compare(n, w, e, atol, rtol, None).result.ok
                   for n, w, e in _leaves("mistake", wrong, expected))
    except (TypeError, ValueError):
        return False


def _relabel(x: Any, suffix: str) -> Any:
    return {f"{key}{suffix}": value for key, value in x.items()} if isinstance(x, dict) else x


def _resolved(mistakes: dict, case: tuple, inplace) -> dict:
    """Each declared mistake's answer for one case; one that cannot happen on this case's
    shapes (its function raises) is left out."""
    resolved = {}
    for label, mistake in mistakes.items():
        try:
            resolved[label] = _mistake(mistake, case, inplace)
        except Exception:  # noqa: BLE001
            continue
    return resolved


def _mistake(mistake: Any, case: tuple, inplace) -> Any:
    """A declared mistake's answer for one case (a function of the arguments, or a value)."""
    if not callable(mistake):
        return mistake
    args = _fresh(case)
    out = mistake(*args)
    if not inplace:
        return out
    changed = tuple(args[i] for i in inplace)
    return changed if out is None else (out, *changed)


def returned(value: Any, name: str) -> Any:
    """``value``, unless a written function returned nothing: then an ``AssertionError``
    that asks whether ``return`` was forgotten (for checkers that call the student's
    function themselves)."""
    if value is None or value is Ellipsis:
        raise AssertionError(f"{name}: your function returned {value!r}.\nHint: did you forget "
                             "`return`? (Or a branch that returns nothing.)")
    return value


def _number(x: Any) -> float:
    """A predicted number as a float, or ``_Unreadable`` saying why it is not one."""
    if isinstance(x, bool) or isinstance(x, str) or callable(x):
        shown = repr(x) if len(repr(x)) <= 30 else type(x).__name__
        raise _Unreadable(f"expected a number, got {type(x).__name__} {shown}")
    r = _read(x)
    if r.values.size != 1:
        raise _Unreadable(f"expected one number, got {r.desc} of shape {tuple(r.values.shape)}")
    value = float(r.values.ravel()[0])
    if not np.isfinite(value):
        raise _Unreadable(f"expected a finite number, got {value}")
    return value


def read_claim(claim: Any, *, name: str, what: str = "claim",
               hint: str = "write one number, e.g. `claim = 0.25`.",
               reader: Callable[[Any], Any] | None = None) -> Any:
    """A number the student wrote down (a prediction, or the result of an experiment), for
    a checker: None, after printing ``name | not attempted yet``, while it is a stub
    (``None`` or ``...``); its float when it is one finite number (an int, a float, a numpy
    scalar, a one-element tensor or list); otherwise it prints why on the checker's line and
    raises ``AssertionError`` ("your claim cannot be read: ...", then ``hint``). A claim of
    another form (two rates, say) gives its own ``reader``, which raises ``ValueError``
    saying why it cannot read it.

    >>> read_claim(torch.tensor([0.5]), name="lr")
    0.5
    >>> read_claim(None, name="lr") is None
    lr | not attempted yet
    True
    """
    if _is_stub(claim):
        print(f"{name} | not attempted yet")
        return None
    try:
        return (reader or _number)(claim)
    except (_Unreadable, ValueError) as err:
        print(f"{name} | {err}")
        raise AssertionError(f"{name}: your {what} cannot be read: {err}.\nHint: {hint}") from None


def check_prediction(predicted: Any, measured: Any, *, name: str, tolerance: float,
                     mistakes: dict[str, float] | None = None, explain: str = "") -> bool:
    """Grade a number the student wrote down *before* a cell measured it.

    Prints one line, ``name | predicted 3.9 | measured 3.91 | allowed ± 0.1 | ok``; True
    when ``|predicted - measured| <= tolerance``; False (``not attempted yet``) while the
    prediction is a stub (``None`` or ``...``). A wrong prediction raises ``AssertionError``
    with the gap and a hint: the declared mistake (``mistakes``: ``{description: the number
    that mistake predicts}``) nearest the prediction is named if it lies within half the
    tolerance of it; otherwise ``explain`` (the reasoning that closes the gap) is shown. A prediction that
    is not one finite number (a string, a list of several, NaN) fails with that reason.

    >>> check_prediction(2.3, 2.302, name="loss at init, V = 10", tolerance=0.05)
    loss at init, V = 10 | predicted 2.3 | measured 2.302 | allowed ± 0.05 | ok
    True
    >>> check_prediction(..., 2.302, name="loss at init, V = 10", tolerance=0.05)
    loss at init, V = 10 | not attempted yet
    False
    """
    if not tolerance > 0:
        raise ValueError(f"tolerance must be positive, got {tolerance!r}")
    try:
        truth = _number(measured)
    except _Unreadable as err:
        raise TypeError(f"the measured value of {name!r} must be one number: {err}") from None
    for found in _DECLARED:
        found.extend((label, value, predicted) for label, value in (mistakes or {}).items())
    guess = read_claim(predicted, name=name, what="prediction",
                       hint="write one number, e.g. `prediction = 0.25`.")
    if guess is None:
        return False
    gap = guess - truth
    if abs(gap) <= tolerance:
        print(f"{name} | predicted {guess:.4g} | measured {truth:.4g} | allowed ± {tolerance:g} | ok")
        return True
    print(f"{name} | predicted {guess:.4g} | measured {truth:.4g} | off by {gap:+.3g}")
    near = sorted((abs(guess - _number(value)), label) for label, value in (mistakes or {}).items())
    named = [label for gap_to, label in near[:1] if gap_to <= tolerance / 2]  # the nearest, if close
    hint = (f"your prediction matches a known mistake: {named[0]}." if named else
            explain or "work it out again from the page's argument, then compare.")
    raise AssertionError(f"{name}: your prediction {guess:.4g} is {abs(gap):.3g} "
                         f"{'above' if gap > 0 else 'below'} the measured {truth:.4g} (allowed: "
                         f"± {tolerance:g}).\nHint: {hint}")
