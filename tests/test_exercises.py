"""Every exercise checker, one parametrised test: the reference solution passes (every line
the checker prints says ``close: True`` or ``ok``), and an untouched stub is "not attempted
yet" (every line says so, and nothing is raised). No hand-kept counts of lines: a checker
that prints a new quantity needs no change here.

What is special about one exercise (its planted mistakes and their hints, odd inputs) stays in
``tests/test_exercises_<chapter>.py``.
"""

import pytest

import utils.exercises.backprop as backprop
import utils.exercises.batchnorm as batchnorm
import utils.exercises.boolean as boolean
import utils.exercises.hw1 as hw1
import utils.exercises.init as init
import utils.exercises.optim as optim
import utils.exercises.regularization as regularization
import utils.exercises.tools as tools
from solutions import backprop as backprop_ref
from solutions import batchnorm as batchnorm_ref
from solutions import boolean as boolean_ref
from solutions import hw1 as hw1_ref
from solutions import init as init_ref
from solutions import optim as optim_ref
from solutions import regularization as regularization_ref
from solutions import tools as tools_ref


def stub(*args, **kwargs):
    raise NotImplementedError


# checker, the reference answer's arguments, the untouched stub's arguments
EXERCISES = [
    (tools.check_one_hot, (tools_ref.one_hot,), (stub,)),
    (tools.check_char_frequencies, (tools_ref.char_frequencies,), (stub,)),
    (backprop.check_sigmoid_backward, (backprop_ref.sigmoid_backward,), (stub,)),
    (backprop.check_logistic_gradient, (backprop_ref.logistic_gradient,), (stub,)),
    (backprop.check_central_difference, (backprop_ref.central_difference,), (stub,)),
    (hw1.check_softmax, (hw1_ref.softmax,), (stub,)),
    (hw1.check_cross_entropy, (hw1_ref.cross_entropy,), (stub,)),
    (hw1.check_backward, (hw1_ref.backward,), (stub,)),
    (hw1.check_sgd_step, (hw1_ref.sgd_step,), (stub,)),
    (hw1.check_two_layer_gradients, (hw1_ref.two_layer_gradients,), (stub,)),
    (boolean.check_nand, boolean_ref.NAND, (None, None)),
    (boolean.check_majority, boolean_ref.MAJORITY, (..., ...)),
    (boolean.check_triangle, (boolean_ref.TRIANGLE,), (None,)),
    (optim.check_momentum_step, (optim_ref.momentum_step,), (stub,)),
    (optim.check_adam_step, (optim_ref.adam_step,), (stub,)),
    (optim.check_rmsprop_step, (optim_ref.rmsprop_step,), (stub,)),
    (init.check_initial_loss, (init_ref.expected_initial_loss,), (stub,)),
    (init.check_relu_std, (init_ref.relu_std,), (stub,)),
    (init.check_fixed_init, (init_ref.fixed_init_,), (stub,)),
    (batchnorm.check_batchnorm_forward, (batchnorm_ref.batchnorm_forward,), (stub,)),
    (batchnorm.check_running_stats, (batchnorm_ref.update_running_stats,), (stub,)),
    (batchnorm.check_batchnorm_backward, (batchnorm_ref.batchnorm_backward,), (stub,)),
    (batchnorm.check_layernorm_backward, (batchnorm_ref.layernorm_backward,), (stub,)),
    (regularization.check_l2_term, (regularization_ref.l2_term,), (stub,)),
    (regularization.check_dropout_forward, (regularization_ref.dropout_forward,), (stub,)),
    (regularization.check_early_stopping, (regularization_ref.train_with_early_stopping,), (stub,)),
]
IDS = [f"{checker.__module__.rsplit('.', 1)[1]}.{checker.__name__}" for checker, _, _ in EXERCISES]


def _lines(capsys):
    return [line for line in capsys.readouterr().out.splitlines() if line.strip()]


@pytest.mark.parametrize("checker, reference, _", EXERCISES, ids=IDS)
def test_the_reference_solution_passes(checker, reference, _, capsys):
    checker(*reference)
    lines = _lines(capsys)
    assert lines, f"{checker.__name__} printed nothing"
    for line in lines:
        assert "close: True" in line or line.rstrip().endswith("| ok"), line


@pytest.mark.parametrize("checker, _, untouched", EXERCISES, ids=IDS)
def test_an_untouched_stub_is_not_attempted(checker, _, untouched, capsys):
    checker(*untouched)
    lines = _lines(capsys)
    assert lines and all(line.endswith("| not attempted yet") for line in lines), lines


def test_every_checker_of_every_chapter_is_registered():
    registered = {checker for checker, _, _ in EXERCISES}
    for module in (tools, backprop, hw1, boolean, optim, init, batchnorm, regularization):
        checkers = {value for name, value in vars(module).items() if name.startswith("check_")
                    and getattr(value, "__module__", None) == module.__name__}
        assert checkers <= registered, f"not in EXERCISES: {checkers - registered}"
