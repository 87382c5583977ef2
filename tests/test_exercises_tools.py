"""Chapter 0's checkers: the reference solutions pass, each planted mistake gets its hint."""

import pytest
import torch

from utils.exercises.tools import check_char_frequencies, check_one_hot


def one_hot_solution(y, num_classes):
    out = torch.zeros(len(y), num_classes)
    out[torch.arange(len(y)), y] = 1.0
    return out


def frequencies_solution(Y):
    return torch.bincount(Y, minlength=27).float() / len(Y)


def stub(*args):
    raise NotImplementedError


def test_reference_solutions_pass(capsys):
    check_one_hot(one_hot_solution)
    check_char_frequencies(frequencies_solution)
    out = capsys.readouterr().out
    assert "one_hot | exact: True | close: True" in out
    assert "char_frequencies | exact: True | close: True" in out


def test_untouched_stubs_are_not_attempted(capsys):
    check_one_hot(stub)
    check_char_frequencies(stub)
    out = capsys.readouterr().out
    assert out.count("not attempted yet") == 2


@pytest.mark.parametrize("wrong, hint", [
    (lambda y, c: one_hot_solution(y, c).T, "transposed"),
    (lambda y, c: one_hot_solution(y, c).long(), "dtype"),
    (lambda y, c: one_hot_solution((y + 1) % c, c), "counted from 1 instead of 0"),
    (lambda y, c: one_hot_solution(y, int(y.max()) + 1), "num_classes was ignored"),
    (lambda y, c: -one_hot_solution(y, c), "sign"),
])
def test_one_hot_mistakes_are_named(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_one_hot(wrong)


@pytest.mark.parametrize("wrong, hint", [
    (lambda Y: torch.bincount(Y, minlength=27).float(), "sum instead of mean"),
    (lambda Y: torch.bincount(Y).float() / len(Y), "minlength=27"),
    (lambda Y: 2 * frequencies_solution(Y), "factor"),
    (lambda Y: frequencies_solution(Y) / 0.0, "NaN|inf"),
])
def test_frequency_mistakes_are_named(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_char_frequencies(wrong)
