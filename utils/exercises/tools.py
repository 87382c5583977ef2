"""Checkers for the exercises of chapter 0, *The tools of this course*.

References: ``torch.nn.functional.one_hot``, ``torch.bincount`` and the course's own
``utils.data.build_dataset`` (tested in ``tests/test_data.py``), never a copy of a solution.
Each mistake is written the way a student who made it would write the function, without
the calls the exercise forbids, so that the generic tests can plant it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..checks import check_function, check_prediction
from ..data import VOCAB, build_dataset
from . import exercise

NUM_CLASSES = 27


def _targets() -> torch.Tensor:
    # Fixed targets with every class but the last ('z') present: an answer that sizes its
    # output from the data instead of from num_classes comes out one column short.
    g = torch.Generator().manual_seed(0)
    return torch.cat([torch.arange(NUM_CLASSES - 1), torch.randint(0, NUM_CLASSES - 1, (38,), generator=g)])  # (64,)


def _placed(y: torch.Tensor, columns: torch.Tensor, width: int) -> torch.Tensor:
    """A (len(y), width) float tensor with a 1 at (i, columns[i]): a mistake's building block."""
    out = torch.zeros(len(y), width)
    out[torch.arange(len(y)), columns] = 1.0
    return out


@exercise("00_tools", "one_hot")
def check_one_hot(one_hot: Callable | None) -> None:
    """Exercise: ``one_hot(y, num_classes)`` -> float tensor of shape (N, num_classes).

    The reference is ``torch.nn.functional.one_hot(y, num_classes).float()``; the student's
    function may not call it.
    """
    y = _targets()
    # Hidden: 6 and 9 classes, where a hard-coded 27 fails, and one label. In every case some
    # class above the largest label exists, so that each mistake differs from the answer.
    hidden = torch.tensor([4, 0, 2, 2, 1])
    check_function(
        one_hot,
        lambda y, c: F.one_hot(y, c).float(),
        y,
        NUM_CLASSES,
        cases=[(hidden, 6), (hidden, 9), (torch.tensor([2]), 4)],
        forbid=("torch.nn.functional.one_hot",),
        name="one_hot",
        dtype=torch.float32,
        mistakes={
            "the classes are counted from 1 instead of 0 (row k has its 1 in column k+1)":
                lambda y, c: _placed(y, (y + 1) % c, c),
            "num_classes was ignored: the width comes from the largest label in y, not from num_classes":
                lambda y, c: _placed(y, y, int(y.max()) + 1),
            "every column up to the label is set, not only the label's column":
                lambda y, c: (torch.arange(c) <= y[:, None]).float(),
        },
    )


def _count(y: torch.Tensor, num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """How often each class occurs, written without bincount (the exercise forbids it)."""
    return torch.tensor([int((y == k).sum()) for k in range(num_classes)])


def _present(y: torch.Tensor) -> int:
    return len(set(y.tolist()))


@exercise("00_tools", "char_frequencies")
def check_char_frequencies(char_frequencies: Callable | None) -> None:
    """Exercise: ``char_frequencies(Y)`` -> the (27,) relative frequency of each class in Y,
    without ``torch.bincount`` (or ``histc``)."""
    y = _targets()
    # Hidden: other lengths, 'z' present and '.' absent, two classes only. No case has 27
    # entries or a single class, where some mistakes would give the right answer.
    hidden = [(torch.tensor([26, 5, 5, 1, 26, 26, 13]),),        # N = 7
              (torch.tensor([3, 3, 3, 0, 3, 3, 0, 3, 3, 0]),)]   # N = 10, classes 0 and 3
    check_function(
        char_frequencies,
        lambda y: torch.bincount(y, minlength=NUM_CLASSES).float() / len(y),
        y,
        cases=hidden,
        forbid=("torch.bincount", "torch.Tensor.bincount", "torch.histc", "torch.Tensor.histc"),
        name="char_frequencies",
        mistakes={
            "counts, not fractions: nothing was divided by the number of entries":
                lambda y: _count(y).float(),
            "divided by the number of classes (27) instead of the number of entries in Y":
                lambda y: _count(y).float() / NUM_CLASSES,
            "only the classes that occur in Y have an entry: every one of the 27 classes needs one, "
            "with 0 for those that never occur":
                lambda y: torch.unique(y, return_counts=True)[1].float() / len(y),
            "divided by the number of distinct classes present instead of the number of entries":
                lambda y: _count(y).float() / _present(y),
            "integer division (//) of the counts truncates every fraction below 1 to 0":
                lambda y: _count(y) // len(y),
            "divided by the largest count, not by the total: the fractions must sum to 1":
                lambda y: _count(y).float() / _count(y).max(),
        },
    )


def _bigram_reference(words) -> torch.Tensor:
    """The (27, 27) counts from build_dataset's examples with a window of one character:
    each (context, target) pair is one bigram."""
    X, Y = build_dataset(list(words), block_size=1)  # (N, 1), (N,)
    pairs = X[:, 0] * NUM_CLASSES + Y                 # (N,): one index per bigram
    return torch.bincount(pairs, minlength=NUM_CLASSES**2).reshape(NUM_CLASSES, NUM_CLASSES)


def _bigrams(words, *, start=True, end=True, index=VOCAB.index, once=False, flip=False):
    """Bigram counts with one thing done wrong: each keyword names a mistake."""
    N = torch.zeros(NUM_CLASSES, NUM_CLASSES, dtype=torch.long)
    for w in words:
        chars = (["."] if start else []) + list(w) + (["."] if end else [])
        pairs = list(zip(chars, chars[1:]))
        for first, second in (dict.fromkeys(pairs) if once else pairs):
            i, j = index(first), index(second)
            N[(j, i) if flip else (i, j)] += 1
    return N


def _letters_first(ch: str) -> int:  # 'a'..'z' -> 0..25 and '.' -> 26
    return 26 if ch == "." else ord(ch) - ord("a")


@exercise("00_tools", "bigram_counts")
def check_bigram_counts(bigram_counts: Callable | None) -> None:
    """Exercise: ``bigram_counts(words)`` -> (27, 27) integer tensor whose entry [i, j]
    counts how often character j follows character i, with '.' before and after each name.

    The reference reads the bigrams off ``utils.data.build_dataset(words, block_size=1)``.
    """
    # Every case has a bigram repeated inside one name (ba and ar in barbara, la in lala, za
    # in zaza) and is not symmetric (as palindromes like anna would be), so that each
    # mistake gives a wrong answer on each case. Hidden: a one-letter name, 'z' (the last
    # index), names that share bigrams, the same name twice.
    hidden = [(["lala", "otis", "x"],), (["zaza", "eva", "ava", "ava"],)]
    check_function(
        bigram_counts,
        _bigram_reference,
        ["emma", "barbara"],
        cases=hidden,
        name="bigram_counts",
        mistakes={
            "the start marker is missing: each name's first letter follows a '.'":
                lambda w: _bigrams(w, start=False),
            "the end marker is missing: each name's last letter is followed by a '.'":
                lambda w: _bigrams(w, end=False),
            "rows and columns swapped: row i must hold what follows character i":
                lambda w: _bigrams(w, flip=True),
            "the letters are numbered from 'a' = 0: in VOCAB the end marker '.' comes first":
                lambda w: _bigrams(w, index=_letters_first),
            "a bigram that occurs twice in one name was counted once":
                lambda w: _bigrams(w, once=True),
        },
    )


BATCH = 32


@exercise("00_tools", "broadcast_entries", stubs=((None,), (...,)))
def check_broadcast_entries(broadcast_entries) -> None:
    """Prediction: how many numbers ``pred - y`` holds for ``pred`` of shape (32, 1), the
    output of ``nn.Linear(n, 1)``, and targets ``y`` of shape (32,)."""
    pred = torch.zeros(BATCH, 1)  # (32, 1)
    y = torch.zeros(BATCH)        # (32,)
    check_prediction(
        broadcast_entries, (pred - y).numel(),
        name="entries of pred - y", tolerance=0.5,
        mistakes={
            f"{BATCH}: the shapes (32, 1) and (32,) do not pair up entry by entry": BATCH,
            f"{2 * BATCH}: broadcasting does not concatenate": 2 * BATCH,
            "1: pred - y is not reduced to a number; only a sum or mean does that": 1,
            "0: the subtraction raises no error and is not empty; the shapes broadcast": 0,
            f"{BATCH + 1}: a size-1 dimension is stretched to the other size, not added to it":
                BATCH + 1,
        },
        explain="line the two shapes up from the right, treat a missing dimension as size 1, "
                "and stretch every size-1 dimension to the other shape's size.",
    )
