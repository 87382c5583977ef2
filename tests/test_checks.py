"""Tests of utils.checks: every path both ways.

For each misconception the reference answer passes (True, a line with ``exact``/``close``)
and the planted mistake is caught with the right hint. Stubs print ``not attempted yet``
and return False without raising. Printed lines are read with ``capsys``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from utils.checks import CheckResult, check, check_all, check_function, compare


@pytest.fixture
def W() -> torch.Tensor:
    """A (4, 3) float64 matrix with no zeros, no symmetry and no constant ratios."""
    g = torch.Generator().manual_seed(0)
    return torch.rand(4, 3, generator=g, dtype=torch.float64) + 0.5


@pytest.fixture
def S() -> torch.Tensor:
    """A square, non-symmetric matrix."""
    return torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 10.0]], dtype=torch.float64)


def lines(capsys) -> list[str]:
    return capsys.readouterr().out.splitlines()


def hint_of(excinfo) -> str:
    message = str(excinfo.value)
    assert "Hint: " in message
    return message.split("Hint: ")[-1]


# --- the right answer passes -------------------------------------------------------


def test_identical_answer_passes_with_exact_line(W, capsys):
    assert check(W.clone(), W, name="dW1") is True
    assert lines(capsys) == ["dW1 | exact: True | close: True | max diff: 0.0e+00"]


def test_tiny_difference_is_close_but_not_exact(W, capsys):
    got = W.clone()
    got[2, 1] += 2.5e-7
    assert check(got, W, name="dW1") is True
    [line] = lines(capsys)
    assert line.startswith("dW1 | exact: False | close: True | max diff: 2.5e-07")


def test_float32_answer_to_float64_reference_passes(W, capsys):
    assert check(W.float(), W, name="h") is True
    assert "close: True" in lines(capsys)[0]


def test_numpy_list_and_python_numbers_are_accepted(capsys):
    assert check(np.array([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert check([[1, 2], [3, 4]], np.array([[1.0, 2.0], [3.0, 4.0]]))  # a list of ints is fine
    assert check(2.302585, torch.tensor(2.302585, dtype=torch.float64), name="loss")
    assert check(torch.tensor(3.0), 3, name="n")
    assert all("close: True" in line for line in lines(capsys))


def test_tensor_with_grad_and_int_reference_to_int_answer(capsys):
    x = torch.ones(3, requires_grad=True) * 2  # a non-leaf tensor that requires grad
    assert check(x, [2.0, 2.0, 2.0], name="x")
    assert check(torch.tensor([1, 2]), torch.tensor([1, 2]), name="idx")
    assert len(lines(capsys)) == 2


def test_compare_neither_prints_nor_raises(W, capsys):
    good = compare(W + 1e-9, W, name="a")
    bad = compare(-W, W, name="b")
    assert (good.exact, good.close, good.ok) == (False, True, True)
    assert (bad.exact, bad.close, bad.ok) == (False, False, False)
    assert bad.max_diff == pytest.approx(2 * W.abs().max().item())
    assert str(bad).startswith("b | exact: False | close: False | max diff: ")
    assert capsys.readouterr().out == ""


def test_check_result_line_format():
    line = str(CheckResult("dW1", exact=False, close=True, max_diff=2.4e-07))
    assert line == "dW1 | exact: False | close: True | max diff: 2.4e-07"
    assert str(CheckResult("dW1", attempted=False)) == "dW1 | not attempted yet"


def test_tolerances_are_honoured(W):
    assert compare(W * (1 + 1e-4), W).close is False
    assert compare(W * (1 + 1e-4), W, rtol=1e-3).close is True
    assert compare(W + 1e-3, W, atol=1e-2).close is True


# --- stubs: not attempted, no exception --------------------------------------------


@pytest.mark.parametrize("stub", [None, ...])
def test_stub_value_is_not_attempted(W, stub, capsys):
    assert check(stub, W, name="dW1") is False
    assert lines(capsys) == ["dW1 | not attempted yet"]


def test_only_a_stub_is_not_attempted(W, capsys):
    def softmax(logits):
        raise NotImplementedError

    assert check_function(softmax, reference_softmax, W) is False
    assert check_function(..., reference_softmax, W, name="softmax") is False
    assert lines(capsys) == ["softmax | not attempted yet", "softmax | not attempted yet"]


@pytest.mark.parametrize("nothing", [None, ...])
def test_a_written_function_that_returns_nothing_fails(W, nothing):
    def softmax(logits):
        logits.exp()  # written, but the result is never returned

    with pytest.raises(AssertionError, match="did you forget `return`"):
        check_function(lambda logits: nothing, reference_softmax, W, name="softmax")
    with pytest.raises(AssertionError, match="returned None"):
        check_function(softmax, reference_softmax, W)


def test_stub_parts_of_a_tuple_are_not_attempted(W, capsys):
    assert check((W, ...), (W, W), name="grads") is False
    assert lines(capsys) == ["grads[0] | exact: True | close: True | max diff: 0.0e+00",
                             "grads[1] | not attempted yet"]


# --- each misconception gets its own hint ------------------------------------------


def test_transposed_rectangular(W, capsys):
    with pytest.raises(AssertionError) as excinfo:
        check(W.T, W, name="dW1")
    assert hint_of(excinfo).startswith("transposed:")
    assert "expected shape (4, 3), got (3, 4)" in str(excinfo.value)
    assert "dW1 | exact: False | close: False" in lines(capsys)[0]


def test_transposed_square(S):
    with pytest.raises(AssertionError) as excinfo:
        check(S.T, S)
    assert hint_of(excinfo).startswith("transposed:")


def test_transposed_shape_with_other_values(W):
    with pytest.raises(AssertionError) as excinfo:
        check(W.T + 1, W)
    assert hint_of(excinfo).startswith("wrong shape: expected shape (4, 3), got (3, 4)")


def test_wrong_shape_names_both_shapes():
    expected = torch.ones(32, 27)
    with pytest.raises(AssertionError) as excinfo:
        check(torch.ones(27), expected, name="probs")
    assert hint_of(excinfo).startswith("wrong shape: expected shape (32, 27), got (27,)")


def test_right_numbers_in_a_squeezed_shape(W):
    column = W[:, :1]
    with pytest.raises(AssertionError) as excinfo:
        check(column.squeeze(1), column)
    assert hint_of(excinfo).startswith("right numbers, wrong shape: expected shape (4, 1), got (4,)")


def test_wrong_sign(W):
    with pytest.raises(AssertionError) as excinfo:
        check(-W, W, name="dlogits")
    assert hint_of(excinfo).startswith("wrong sign")


def test_sum_instead_of_mean(W):
    with pytest.raises(AssertionError) as excinfo:
        check(W * 32, W, batch_size=32)
    assert hint_of(excinfo).startswith("sum instead of mean: your answer is batch_size=32 times too large")
    assert check(W, W, batch_size=32)


def test_mean_instead_of_sum(W):
    with pytest.raises(AssertionError) as excinfo:
        check(W / 32, W, batch_size=32)
    assert hint_of(excinfo).startswith("mean instead of sum: your answer is batch_size=32 times too small")


def test_batch_size_factor_without_batch_size_is_a_constant_factor(W):
    with pytest.raises(AssertionError) as excinfo:
        check(W / 32, W)
    assert hint_of(excinfo).startswith("off by a constant factor: your answer is 1/32 times")


@pytest.mark.parametrize("factor, text", [(2.0, "2"), (0.5, "1/2"), (-3.0, "-3"), (0.7, "0.7")])
def test_constant_factor_is_reported(W, factor, text):
    with pytest.raises(AssertionError) as excinfo:
        check(W * factor, W)
    assert hint_of(excinfo).startswith(f"off by a constant factor: your answer is {text} times")


def test_single_numbers_name_only_round_factors():
    with pytest.raises(AssertionError) as excinfo:
        check(4.6, 2.3, name="loss")
    assert hint_of(excinfo).startswith("off by a constant factor: your answer is 2 times")
    with pytest.raises(AssertionError) as excinfo:
        check(2.5, 2.3, name="loss")
    assert hint_of(excinfo).startswith("no common mistake matches")


def test_nan_is_reported_first_with_its_count(W, capsys):
    got = -W  # also the wrong sign: NaN must win
    got[0, 0] = got[3, 2] = float("nan")
    with pytest.raises(AssertionError) as excinfo:
        check(got, W, name="loss")
    assert hint_of(excinfo).startswith("your answer has 2 NaN and 0 inf entries")
    assert lines(capsys)[0].endswith("| 2 NaN, 0 inf")


def test_inf_is_reported_with_its_count(W):
    got = W.clone()
    got[1, 1] = float("inf")
    with pytest.raises(AssertionError) as excinfo:
        check(got, W)
    assert hint_of(excinfo).startswith("your answer has 0 NaN and 1 inf entries")


def test_expected_infinities_and_nans_are_fine(capsys):
    masked = torch.tensor([0.5, -float("inf"), 1.5])  # e.g. a causal mask
    assert check(masked.clone(), masked)
    assert check([float("nan"), 1.0], [float("nan"), 1.0])
    assert lines(capsys)[0] == "value | exact: True | close: True | max diff: 0.0e+00"
    with pytest.raises(AssertionError) as excinfo:
        check(torch.tensor([0.5, 0.0, 1.5]), masked)
    assert "NaN" not in hint_of(excinfo)
    with pytest.raises(AssertionError) as excinfo:  # the shared -inf is no difference
        check(torch.tensor([0.5, -float("inf"), 9.0]), masked)
    assert "the largest at index (2,) (expected 1.5, got 9)" in hint_of(excinfo)


def test_integer_answer_where_floats_are_expected():
    expected = torch.tensor([1.0, 2.0, 3.0])
    with pytest.raises(AssertionError) as excinfo:
        check(torch.tensor([1, 2, 3]), expected, name="counts")  # values equal, dtype wrong
    assert hint_of(excinfo).startswith("wrong dtype int64, expected float numbers. Integer")
    with pytest.raises(AssertionError) as excinfo:
        check(np.array([0, 1, 2]), expected)  # integer division truncated the values too
    assert hint_of(excinfo).startswith("wrong dtype int64, expected float numbers")


def test_demanded_dtype(W, capsys):
    assert check(W, W, dtype=torch.float64) is True
    assert check(W.numpy(), W, dtype="float64") is True
    with pytest.raises(AssertionError) as excinfo:
        check(W.float(), W, dtype=torch.float64)
    assert hint_of(excinfo).startswith("wrong dtype float32, expected float64")
    assert lines(capsys)[-1].endswith("| dtype float32, expected float64")


def test_wrong_device(W):
    with pytest.raises(AssertionError) as excinfo:
        check(W.to("meta"), W, name="h")
    assert hint_of(excinfo).startswith("your tensor is on meta, the expected one on cpu")


def test_custom_mistake_given_as_a_value(W):
    bias_grad_missing = W - 1
    with pytest.raises(AssertionError) as excinfo:
        check(W - 1, W, mistakes={"forgot the bias gradient": bias_grad_missing})
    assert hint_of(excinfo) == "your answer matches a known mistake: forgot the bias gradient."


def test_custom_mistake_given_as_a_function_of_expected(W):
    overwritten = {"gradient overwritten instead of accumulated": lambda e: e / 2}
    assert check(W, W, mistakes=overwritten)
    with pytest.raises(AssertionError) as excinfo:
        check(W / 2, W, mistakes=overwritten)
    assert "gradient overwritten instead of accumulated" in hint_of(excinfo)


def test_custom_mistake_wins_over_built_in_hints(W):
    with pytest.raises(AssertionError) as excinfo:
        check(-W, W, mistakes={"forgot the minus of -log p": -W})
    assert "forgot the minus of -log p" in hint_of(excinfo)


def test_non_matching_custom_mistake_falls_back_to_built_in_hint(W):
    with pytest.raises(AssertionError) as excinfo:
        check(-W, W, mistakes={"something else": W + 7})
    assert hint_of(excinfo).startswith("wrong sign")


def test_generic_hint_points_at_the_differences(W):
    got = W.clone()
    got[1, 2] += 0.3
    got[3, 0] += 0.9
    with pytest.raises(AssertionError) as excinfo:
        check(got, W)
    hint = hint_of(excinfo)
    assert hint.startswith("no common mistake matches. 2 of 12 entries differ")
    assert "the first at index (1, 2)" in hint and "the largest at index (3, 0)" in hint


def test_message_shows_expected_and_got():
    with pytest.raises(AssertionError) as excinfo:
        check(torch.tensor([1.5, 2.0]), torch.tensor([1.0, 2.0]), name="b1")
    message = str(excinfo.value)
    assert message.startswith("b1 is wrong.")
    assert "expected: torch.float32 tensor of shape (2,): [1, 2]" in message
    assert "got:      torch.float32 tensor of shape (2,): [1.5, 2]" in message
    assert "max diff: 5.0e-01" in message


def test_unreadable_answers_are_assertion_errors():
    with pytest.raises(AssertionError) as excinfo:
        check([[1.0, 2.0], [3.0]], torch.ones(2, 2))  # ragged
    assert "no array can be made of this list" in hint_of(excinfo)
    with pytest.raises(AssertionError) as excinfo:
        check(["a", "b"], torch.ones(2))
    assert "does not hold only real numbers" in hint_of(excinfo)
    with pytest.raises(AssertionError) as excinfo:
        check(torch.softmax, torch.ones(2))
    assert "did you forget" in hint_of(excinfo) or "call it" in hint_of(excinfo)


# --- several quantities in one call ------------------------------------------------


def test_tuple_and_dict_give_one_line_each(W, S, capsys):
    assert check((W, S), (W, S), name="grads") is True
    assert check({"dW": W, "dS": S}, {"dW": W, "dS": S}) is True
    assert [line.split(" |")[0] for line in lines(capsys)] == ["grads[0]", "grads[1]", "dW", "dS"]


def test_tuple_of_the_wrong_length(W):
    with pytest.raises(AssertionError) as excinfo:
        check((W, W, W), (W, W), name="grads")
    assert "expected a tuple of 2" in hint_of(excinfo)
    with pytest.raises(AssertionError) as excinfo:
        check({"dW": W}, {"dW": W, "db": W})
    assert "the key 'db' is missing" in hint_of(excinfo)
    with pytest.raises(AssertionError) as excinfo:
        check(W, {"dW": W, "db": W})
    assert "expected a dict of 2 (dW, db), got a Tensor" in hint_of(excinfo)


def test_check_all_prints_every_line_then_lists_only_wrong_ones(W, S, capsys):
    with pytest.raises(AssertionError) as excinfo:
        check_all({"dW": (W, W), "dS": (-S, S), "db": (W.sum(0), W.sum(0)), "dx": (None, W)})
    assert [line.split(" |")[0] for line in lines(capsys)] == ["dW", "dS", "db", "dx"]
    message = str(excinfo.value)
    assert message.startswith("1 of 4 quantities are wrong.")
    assert "dS is wrong." in message and "wrong sign" in message
    assert "dW is wrong" not in message and "db is wrong" not in message


def test_check_all_explains_every_wrong_quantity(W, S):
    with pytest.raises(AssertionError) as excinfo:
        check_all({"dW": (2 * W, W), "dS": (S.T, S)})
    message = str(excinfo.value)
    assert message.startswith("2 of 2 quantities are wrong.")
    assert "off by a constant factor" in message and "transposed" in message


def test_check_all_passes_and_not_attempted(W, capsys):
    assert check_all({"dW": (W, W), "db": (W[0], W[0])}) is True
    assert check_all({"dW": (W, W), "db": (..., W[0])}) is False
    assert lines(capsys)[-1] == "db | not attempted yet"


def test_check_all_mistakes_per_quantity(W, S):
    with pytest.raises(AssertionError) as excinfo:
        check_all({"dW": (W, W), "dS": (S + 1, S)}, mistakes={"added one": {"dS": S + 1}})
    assert "known mistake: added one" in str(excinfo.value)


# --- check_function ----------------------------------------------------------------


def reference_softmax(logits: torch.Tensor) -> torch.Tensor:
    return torch.softmax(logits, dim=-1)


def test_check_function_passes_and_names_the_line(W, capsys):
    def softmax(logits):
        exps = (logits - logits.max(-1, keepdim=True).values).exp()
        return exps / exps.sum(-1, keepdim=True)

    assert check_function(softmax, reference_softmax, W) is True
    assert lines(capsys)[0].startswith("softmax | exact: ")


def test_check_function_custom_mistake_as_a_function(W):
    def softmax(logits):
        return logits.exp() / logits.exp().sum()  # normalised over the whole matrix

    def over_everything(logits):
        return logits.exp() / logits.exp().sum()

    with pytest.raises(AssertionError) as excinfo:
        check_function(softmax, reference_softmax, W, mistakes={"summed over all entries": over_everything})
    assert hint_of(excinfo) == "your answer matches a known mistake: summed over all entries."


def test_check_function_gives_each_call_its_own_arguments(W):
    original = W.clone()
    seen = []

    def softmax(logits):
        result = reference_softmax(logits.clone())
        logits.zero_()  # vandalises its argument
        return result

    def mistake(logits):
        seen.append(logits.clone())
        return logits * 0

    assert check_function(softmax, reference_softmax, W, mistakes={"zeros": mistake})
    assert torch.equal(W, original)
    assert torch.equal(seen[0], original)


def test_check_function_on_a_tuple_output(W):
    def reference(x):
        return x.sum(0), x.sum(1)

    def student(x):
        return x.sum(0), -x.sum(1)

    with pytest.raises(AssertionError) as excinfo:
        check_function(student, reference, W, name="sums")
    assert "sums[1] is wrong" in str(excinfo.value) and "wrong sign" in str(excinfo.value)
    assert "sums[0] is wrong" not in str(excinfo.value)


def test_the_students_errors_become_an_assertion_that_names_them(W):
    def softmax(logits):
        raise ZeroDivisionError("oops")

    with pytest.raises(AssertionError, match=r"raised ZeroDivisionError: oops\n  called with: \(tensor\(4, 3\)\)"):
        check_function(softmax, reference_softmax, W)


def test_hidden_cases_are_checked_and_named_with_their_shapes(W, capsys):
    def square_only(logits):  # right only when N == D
        assert logits.shape[0] == logits.shape[1]
        return reference_softmax(logits)

    wide = torch.randn(2, 5, dtype=torch.float64)
    assert check_function(reference_softmax, reference_softmax, W, cases=[(wide,)]) is True
    assert lines(capsys)[1].startswith("reference_softmax, hidden case 1 (tensor(2, 5)) | exact: True")
    with pytest.raises(AssertionError, match=r"hidden case 1 \(tensor\(2, 5\)\): your function raised"):
        check_function(square_only, reference_softmax, torch.randn(3, 3, dtype=torch.float64),
                       cases=[(wide,)])


def test_a_forbidden_function_is_named_and_restored(W):
    with pytest.raises(AssertionError, match="this exercise asks you not to call torch.softmax"):
        check_function(lambda z: torch.softmax(z, 1), reference_softmax, W, forbid=["torch.softmax"])
    with pytest.raises(AssertionError, match="not to call torch.Tensor.softmax"):
        check_function(lambda z: z.softmax(1), reference_softmax, W, forbid=["torch.Tensor.softmax"])
    assert torch.softmax(torch.zeros(2), 0).tolist() == [0.5, 0.5]  # put back afterwards
    assert torch.zeros(2).softmax(0).tolist() == [0.5, 0.5]


def test_in_place_contracts_check_the_callers_tensors(capsys):
    def step(p, g, lr):  # p -= lr * g in place, returns nothing
        p -= lr * g

    def reference(p, g, lr):
        p.sub_(lr * g)

    p, g = torch.ones(3, dtype=torch.float64), torch.full((3,), 2.0, dtype=torch.float64)
    assert check_function(step, reference, p, g, 0.1, inplace=[0], name="step") is True
    assert p.tolist() == [1.0, 1.0, 1.0]  # the caller's own tensor is left alone: copies

    def rebinds(p, g, lr):  # a new tensor bound to the local name: the caller's is unchanged
        p = p - lr * g

    with pytest.raises(AssertionError, match=r"step\[0\] is wrong"):
        check_function(rebinds, reference, p, g, 0.1, inplace=[0], name="step")


# --- misuse by the notebook's author -----------------------------------------------


def test_author_errors_are_type_or_value_errors(W):
    with pytest.raises(TypeError):
        check(W, None)
    with pytest.raises(TypeError):
        check(W, ...)
    with pytest.raises(TypeError):
        check(W, ["a"])
    with pytest.raises(ValueError):
        check(W, W, atol=-1)
    with pytest.raises(ValueError):
        check(W, W, batch_size=0)
    with pytest.raises(TypeError):
        check(W, W, mistakes=[W])
    with pytest.raises(TypeError):
        check(W, W, dtype="not a dtype")
    with pytest.raises(TypeError):
        check(W, W, mistakes={"unreadable mistake": "abc"})
    with pytest.raises(TypeError):
        check_all([(W, W)])
    with pytest.raises(TypeError):
        check_function(reference_softmax, "not a function", W)


def test_format_diff_prints_bounds_at_the_rounding_floor_and_values_above_it():
    from utils.checks import format_diff
    assert format_diff(0.0, 1e-12) == "< 1e-12"
    assert format_diff(1.4e-17, 1e-12) == "< 1e-12"
    assert format_diff(torch.tensor(3e-8), 1e-6) == "< 1e-6"
    assert format_diff(2.4e-7, 1e-12) == "= 2.4e-07"
    assert format_diff(-2.4e-7, 1e-12) == "= -2.4e-07"
    assert format_diff(float("nan"), 1e-12) == "nan"  # never hidden under a bound
    with pytest.raises(ValueError, match="positive floor, got 0"):
        format_diff(1.0, 0)


@pytest.mark.parametrize("got, expected, hint", [
    (torch.ones(1, 4), torch.ones(4), "extra dimension of size 1"),
    (torch.ones(4), torch.ones(4, 1), "missing: use keepdim=True"),
    (torch.arange(6.0).reshape(2, 3), torch.arange(6.0).reshape(3, 2), "Reshape the result"),
])
def test_a_shape_hint_names_the_extra_or_missing_dimension(got, expected, hint):
    with pytest.raises(AssertionError, match=hint):
        check(got, expected, name="x")


# --- check_prediction: a number written down before a cell measures it -----------------

from utils.checks import check_prediction  # noqa: E402


@pytest.mark.parametrize("guess", [3.9, 4, np.float32(3.95), torch.tensor(3.9), torch.tensor([3.9]),
                                   np.array(3.9)])
def test_a_prediction_within_tolerance_passes_in_any_numeric_form(guess, capsys):
    assert check_prediction(guess, 3.912, name="loss", tolerance=0.1) is True
    assert capsys.readouterr().out.strip().endswith("| ok")


@pytest.mark.parametrize("stub", [None, ...])
def test_a_stub_prediction_is_not_attempted(stub, capsys):
    assert check_prediction(stub, 3.912, name="loss", tolerance=0.1) is False
    assert capsys.readouterr().out.strip() == "loss | not attempted yet"


def test_a_wrong_prediction_names_the_gap_and_the_explanation(capsys):
    with pytest.raises(AssertionError) as err:
        check_prediction(2.0, 3.912, name="loss", tolerance=0.1, explain="think of 1/V")
    text = str(err.value)
    assert "1.91 below the measured 3.912" in text and "Hint: think of 1/V" in text
    assert "off by -1.91" in capsys.readouterr().out


def test_a_wrong_prediction_that_matches_a_declared_mistake_names_it():
    with pytest.raises(AssertionError, match="known mistake: log base 10"):
        check_prediction(1.7, 3.912, name="loss", tolerance=0.1,
                         mistakes={"log base 10": np.log10(50)}, explain="think of 1/V")


@pytest.mark.parametrize("odd, reason", [("3.9", "got str"), ([3.9, 4.0], "one number"),
                                         (float("nan"), "finite"), (True, "got bool"),
                                         (print, "got builtin_function_or_method")])
def test_an_unreadable_prediction_fails_with_its_reason(odd, reason, capsys):
    with pytest.raises(AssertionError, match=reason):
        check_prediction(odd, 3.912, name="loss", tolerance=0.1)


def test_prediction_author_errors_are_type_and_value_errors():
    with pytest.raises(ValueError, match="tolerance"):
        check_prediction(1.0, 1.0, name="x", tolerance=0)
    with pytest.raises(TypeError, match="measured value"):
        check_prediction(1.0, [1.0, 2.0], name="x", tolerance=0.1)


def test_value_mistakes_of_a_prediction_are_declared():
    from utils.checks import declared_mistakes
    guess = 3.9
    with declared_mistakes() as found:
        check_prediction(guess, 3.912, name="loss", tolerance=0.1, mistakes={"base 10": 1.7})
    assert found == [("base 10", 1.7, guess)]


def test_a_declared_mistake_that_is_right_on_a_case_gives_no_hint_there():
    """On a case where the mistake's answer equals the right one, a wrong dtype is named,
    not the mistake."""
    def student(x):
        return x.abs().double()  # right values, wrong dtype

    with pytest.raises(AssertionError) as err:
        check_function(student, lambda x: x.abs(), torch.tensor([1.0, 2.0]), dtype=torch.float32,
                       mistakes={"forgot the absolute value": lambda x: x})
    assert "known mistake" not in str(err.value) and "dtype" in str(err.value)


def test_a_float32_answer_right_to_its_own_precision_is_told_to_use_float64():
    expected = torch.tensor([0.1062732], dtype=torch.float64) + 1e-9
    got = expected.float()
    with pytest.raises(AssertionError, match="only to float32 precision"):
        check(got, expected, atol=1e-12, rtol=1e-12)


def test_a_float64_answer_where_float32_is_demanded_is_not_called_integer_arithmetic():
    with pytest.raises(AssertionError) as err:
        check(np.ones(3), torch.ones(3), dtype=torch.float32)
    assert "Integer arithmetic" not in str(err.value) and ".astype" in str(err.value)


def test_a_transposed_rectangular_answer_is_called_transposed():
    with pytest.raises(AssertionError, match="right but the result is transposed"):
        check(torch.ones(3, 2), torch.ones(2, 3))


def test_a_prediction_is_matched_only_to_the_nearest_mistake_within_half_the_tolerance():
    mistakes = {"exact for quadratics": 0.0, "h squared over 6": 0.00167}
    with pytest.raises(AssertionError) as err:  # h cubed: no declared mistake is that close
        check_prediction(0.001, 0.01, name="error", tolerance=0.001, mistakes=mistakes,
                         explain="expand f to third order")
    assert "known mistake" not in str(err.value) and "third order" in str(err.value)
    with pytest.raises(AssertionError, match="known mistake: h squared over 6"):
        check_prediction(0.0017, 0.01, name="error", tolerance=0.001, mistakes=mistakes)


def test_read_claim_reads_numbers_and_claims_of_other_forms(capsys):
    from utils.checks import read_claim
    assert read_claim(np.float32(0.5), name="lr") == 0.5
    assert read_claim(..., name="lr") is None
    assert capsys.readouterr().out.strip() == "lr | not attempted yet"

    def two(x):
        if len(x) != 2:
            raise ValueError(f"expected two numbers, got {len(x)}")
        return tuple(x)

    assert read_claim([1, 2], name="rates", reader=two) == (1, 2)
    with pytest.raises(AssertionError, match="your claim cannot be read: expected two numbers, got 3"):
        read_claim([1, 2, 3], name="rates", reader=two, hint="write two rates")
