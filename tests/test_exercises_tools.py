"""Chapter 0's checkers: the generic hints (transposed, dtype, sum vs mean, a factor, NaN). The
reference solutions, the stubs and the mistakes each checker declares: tests/test_exercises.py."""

import pytest
import torch

from solutions.tools import char_frequencies as frequencies_solution
from solutions.tools import one_hot as one_hot_solution
from utils.exercises.tools import check_char_frequencies, check_one_hot


@pytest.mark.parametrize("wrong, hint", [
    (lambda y, c: one_hot_solution(y, c).T, "transposed"),
    (lambda y, c: one_hot_solution(y, c).long(), "dtype"),
    (lambda y, c: -one_hot_solution(y, c), "sign"),
])
def test_one_hot_mistakes_are_named(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_one_hot(wrong)


@pytest.mark.parametrize("wrong, hint", [
    (lambda Y: torch.bincount(Y, minlength=27).float(), "sum instead of mean"),
    (lambda Y: 2 * frequencies_solution(Y), "factor"),
    (lambda Y: frequencies_solution(Y) / 0.0, "NaN|inf"),
])
def test_frequency_mistakes_are_named(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_char_frequencies(wrong)


def test_a_hard_coded_27_fails_the_hidden_cases():
    def hard_coded(y, num_classes):
        out = torch.zeros(len(y), 27)
        out[torch.arange(len(y)), y] = 1.0
        return out
    with pytest.raises(AssertionError, match="hidden case 1"):
        check_one_hot(hard_coded)
