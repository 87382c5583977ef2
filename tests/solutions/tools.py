"""Reference solutions of chapter 0's exercises."""

import torch


def one_hot(y, num_classes):
    """Start from zeros and put a 1 in each row at the column given by the label. Advanced
    indexing does it in one line: the row indices `0..N-1` pair up with the labels."""
    out = torch.zeros(len(y), num_classes)
    out[torch.arange(len(y)), y] = 1.0
    return out


def char_frequencies(Y):
    """Compare every entry with every class at once: `Y[:, None]` of shape `(N, 1)` against
    `torch.arange(27)` of shape `(27,)` broadcasts to an `(N, 27)` table of booleans, one
    True per row (the same table as the one-hot matrix of exercise 1). The mean of each
    column is the fraction of entries equal to that class, 0 for a class that never occurs."""
    matches = Y[:, None] == torch.arange(27)      # (N, 27)
    return matches.float().mean(dim=0)            # (27,)


def bigram_counts(words):
    """Surround each name with the marker '.', walk through consecutive pairs of characters,
    and add 1 at (index of the first, index of the second). `VOCAB.index` gives the index
    ('.' is 0, 'a' is 1)."""
    from utils.data import VOCAB                 # '.' first, then 'a' to 'z'
    N = torch.zeros(27, 27, dtype=torch.long)   # (27, 27): row = first, column = second
    for word in words:
        chars = ["."] + list(word) + ["."]
        for first, second in zip(chars, chars[1:]):
            N[VOCAB.index(first), VOCAB.index(second)] += 1
    return N


# (32, 1) and (32,): line the shapes up from the right; the missing dimension of y counts
# as 1, so the result is (32, 32): every prediction minus every target. A loss computed as
# ((pred - y) ** 2).mean() then averages 1,024 numbers instead of 32, silently.
broadcast_entries = 32 * 32
