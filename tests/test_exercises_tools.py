"""Chapter 0's checkers: what is special. The reference solutions, the stubs and the mistakes
each checker declares (planted as a student's answer, each caught with its own hint) are
tested generically in tests/test_exercises.py."""

import pytest
import torch

from solutions.tools import bigram_counts as bigrams_solution
from solutions.tools import char_frequencies as frequencies_solution
from solutions.tools import one_hot as one_hot_solution
from utils.exercises.tools import (check_bigram_counts, check_broadcast_entries,
                                   check_char_frequencies, check_one_hot)


@pytest.mark.parametrize("wrong, hint", [
    (lambda y, c: one_hot_solution(y, c).T, "transposed"),
    (lambda y, c: one_hot_solution(y, c).long(), "dtype"),
    (lambda y, c: -one_hot_solution(y, c), "sign"),
    (lambda y, c: torch.nn.functional.one_hot(y, c).float(), "not to call torch.nn.functional.one_hot"),
])
def test_one_hot_mistakes_are_named(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_one_hot(wrong)


def test_a_hard_coded_27_fails_the_hidden_cases():
    def hard_coded(y, num_classes):
        out = torch.zeros(len(y), 27)
        out[torch.arange(len(y)), y] = 1.0
        return out
    with pytest.raises(AssertionError, match="hidden case 1"):
        check_one_hot(hard_coded)


@pytest.mark.parametrize("wrong, hint", [
    (lambda Y: 2 * frequencies_solution(Y), "factor"),
    (lambda Y: frequencies_solution(Y) / 0.0, "NaN|inf"),
    (lambda Y: torch.bincount(Y, minlength=27).float() / len(Y), "not to call torch.bincount"),
    (lambda Y: Y.bincount(minlength=27).float() / len(Y), "not to call torch.Tensor.bincount"),
    (lambda Y: torch.histc(Y.float(), bins=27, min=0, max=26) / len(Y), "not to call torch.histc"),
])
def test_frequency_mistakes_are_named(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_char_frequencies(wrong)


def test_bincount_works_again_after_the_check():
    with pytest.raises(AssertionError):
        check_char_frequencies(lambda Y: torch.bincount(Y, minlength=27).float() / len(Y))
    assert torch.bincount(torch.tensor([1, 1])).tolist() == [0, 2]


def test_a_frequency_vector_that_is_only_right_for_64_entries_fails_a_hidden_case():
    with pytest.raises(AssertionError, match="hidden case 1"):
        check_char_frequencies(lambda Y: frequencies_solution(Y) * len(Y) / 64)


@pytest.mark.parametrize("wrong, hint", [
    (lambda w: bigrams_solution(w).float(), "dtype"),
    (lambda w: bigrams_solution(w)[:, :26], "shape"),
    (lambda w: bigrams_solution(w).tolist(), None),        # a list of lists is accepted
    (lambda w: bigrams_solution(w).to(torch.int32), None),  # so is another integer dtype
])
def test_bigram_counts_odd_answers(wrong, hint):
    if hint is None:
        assert check_bigram_counts(wrong)
    else:
        with pytest.raises(AssertionError, match=hint):
            check_bigram_counts(wrong)


@pytest.mark.parametrize("prediction", [1024, 1024.0, torch.tensor(1024), "1024"])
def test_the_broadcast_prediction_reads_numbers_not_text(prediction):
    if isinstance(prediction, str):
        with pytest.raises(AssertionError, match="cannot be read"):
            check_broadcast_entries(prediction)
    else:
        assert check_broadcast_entries(prediction)


def test_a_far_off_broadcast_prediction_gets_the_explanation():
    with pytest.raises(AssertionError, match="line the two shapes up from the right"):
        check_broadcast_entries(500)
