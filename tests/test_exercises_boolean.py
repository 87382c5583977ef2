"""Checkers of the Boolean-capacity chapter: reference answers pass, planted mistakes get hints."""

import pytest

from solutions import boolean as solution
from utils.exercises.boolean import check_majority, check_nand, check_triangle


@pytest.mark.parametrize("weights, bias, hint", [
    ((1, 1), -2, "this is AND"),
    ((-1, -1), 0, "this is NOR"),
    ((1, 1), -1, "this is OR"),
    ((1, 1, 1), -2, "expected 2 weights"),
])
def test_nand_mistakes(weights, bias, hint):
    with pytest.raises(AssertionError, match=hint):
        check_nand(weights, bias)


@pytest.mark.parametrize("weights, bias, hint", [
    ((1, 1, 1), -1, "at least ONE"),
    ((1, 1, 1), -3, "all THREE"),
    ((1, 1, -1), -1, "Hint"),
])
def test_majority_mistakes(weights, bias, hint):
    with pytest.raises(AssertionError, match=hint):
        check_majority(weights, bias)


def test_triangle_mistakes():
    flipped = [(-1, 0, 0), *solution.TRIANGLE[1:]]
    with pytest.raises(AssertionError, match=r"half-plane 0 .* multiply it by -1"):
        check_triangle(flipped)
    wrong_edge = [*solution.TRIANGLE[:2], (-1, -1, 2)]  # x + y <= 2: the wrong hypotenuse
    with pytest.raises(AssertionError, match="both ends of each edge"):
        check_triangle(wrong_edge)
    with pytest.raises(AssertionError, match=r"shape \(3, 3\)"):
        check_triangle([(1, 0, 0), (0, 1, 0)])
