"""Regularization chapters' checkers: what the generic tests (tests/test_exercises.py)
cannot plant. Early stopping runs the student's function on scripted problems, so its
mistakes are planted here; the measured claim is tested on stand-in measurements (the
generic test trains it once, for the reference); dropout's in-place contract and the
forbidden softshrink are named."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from utils.exercises import grading
from utils.exercises import regularization as reg
from utils.exercises.regularization import (check_adamw_best_decay, check_dropout_forward,
                                            check_early_stopping, check_l1_prox_step)


def stub(*args):
    raise NotImplementedError


@pytest.mark.parametrize("answer", [stub, None, ...])
def test_stubs_are_not_attempted(capsys, answer):
    for checker in (check_l1_prox_step, check_dropout_forward, check_early_stopping):
        assert checker(answer).status == "not attempted"
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert lines and all(line.endswith("not attempted yet") for line in lines)


@pytest.mark.parametrize("checker", [check_l1_prox_step, check_dropout_forward,
                                     check_early_stopping])
def test_a_written_function_that_returns_nothing_fails(checker):
    with pytest.raises(AssertionError, match="forget `return"):
        checker(lambda *args: None)


# ------------------------------------------------------------------ the L1 proximal step
def test_softshrink_is_refused_while_the_answer_runs():
    for answer in (lambda w, g, lr, wd: F.softshrink(w - lr * g, lr * wd),
                   lambda w, g, lr, wd: torch.nn.Softshrink(lr * wd)(w - lr * g)):
        with pytest.raises(AssertionError, match="not to call torch.nn.functional.softshrink"):
            check_l1_prox_step(answer)
    assert F.softshrink(torch.tensor([2.0]), 1.0).item() == 1.0  # restored afterwards


def test_the_threshold_case_names_itself():
    # right except on the vector whose entries sit on the threshold: |v| == t must give 0
    def keeps_the_edge(w, grad, lr, weight_decay):
        v, t = w - lr * grad, lr * weight_decay
        return torch.where(v.abs() >= t, v - t * torch.sign(v), torch.zeros_like(v)) \
            + torch.where(v.abs() == t, torch.sign(v), torch.zeros_like(v))
    with pytest.raises(AssertionError, match=r"hidden case 2 \(tensor\(6,\), tensor\(6,\), 1, 0.25\)"):
        check_l1_prox_step(keeps_the_edge)


def test_a_numpy_answer_is_read():
    def in_numpy(w, grad, lr, weight_decay):
        v = (w - lr * grad).numpy()
        return np.sign(v) * np.maximum(np.abs(v) - lr * weight_decay, 0)
    assert check_l1_prox_step(in_numpy).status == "passed"


# ------------------------------------------------------------------ AdamW's best decay (claim)
FAKE = {0.1: (0.0004, 0.333), 0.3: (0.001, 0.295), 1.0: (0.003, 0.2735), 3.0: (0.014, 0.284),
        10.0: (0.21, 0.451)}


@pytest.fixture
def measured(monkeypatch):
    """Stand-in measurements, so that no test here trains (the generic test trains once)."""
    monkeypatch.setattr(reg, "_MEASURED", dict(FAKE))


@pytest.mark.parametrize("claim, hint", [
    (0.003, "the SGD penalty's strength"),
    (2.0, "one of the grid's values, the one you measured"),
    (0.3, "the page's value, matched to the SGD run"),
    (0.1, "too weak a decay"),
    (3.0, "too strong a decay"),
    (10, "too strong a decay"),
    ("1", "cannot be read"),
    ([1.0, 3.0], "expected one number"),
    (float("nan"), "finite number"),
])
def test_adamw_claim_mistakes(measured, claim, hint):
    with pytest.raises(AssertionError, match=hint):
        check_adamw_best_decay(claim)


@pytest.mark.parametrize("claim", [1, 1.0, np.float64(1.0), torch.tensor(1.0), [1.0]])
def test_adamw_claim_accepts_any_form_of_one_number(measured, claim):
    assert check_adamw_best_decay(claim).status == "passed"


def test_adamw_claim_only_measures_the_claim_and_its_neighbours(measured, capsys):
    check_adamw_best_decay(1.0)
    line = capsys.readouterr().out
    assert "0.3: 0.2950; 1: 0.2735; 3: 0.2840 | ok" in line and "10:" not in line


# ------------------------------------------------------------------ early stopping
def _early(compare_with_last=False, late=False, never=False, zero_based=False,
           restore=True, return_last=False, save_always=False, save=True, fixed_patience=None):
    def train_with_early_stopping(model, train_epoch, val_loss, max_epochs, patience, path):
        patience = fixed_patience or patience
        best, best_epoch, bad, last = float("inf"), None, 0, float("inf")
        for epoch in range(1, max_epochs + 1):
            train_epoch(model)
            loss = val_loss(model)
            if save_always:
                torch.save(model.state_dict(), path)
            if loss < (last if compare_with_last else best):
                bad = 0
                if loss < best:
                    best, best_epoch = loss, epoch
                    if save and not save_always:
                        torch.save(model.state_dict(), path)
            else:
                bad += 1
            last = loss
            if not never and (bad > patience if late else bad >= patience):
                break
        if restore:
            model.load_state_dict(torch.load(path))
        return best_epoch - zero_based, (loss if return_last else best)
    return train_with_early_stopping


@pytest.mark.parametrize("wrong, hint", [
    (_early(compare_with_last=True), "since the BEST loss"),
    (_early(late=True), "one epoch late"),
    (_early(never=True), "never stopped"),
    (_early(zero_based=True), "count from 1"),
    (_early(restore=False), "weights of the LAST epoch"),
    (_early(return_last=True), "return the best one"),
    (_early(save_always=True), "weights of the LAST epoch"),  # restores the last epoch's file
    (_early(fixed_patience=3), "patience given as an argument was not used"),
])
def test_early_stopping_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_early_stopping(wrong)


def test_early_stopping_needs_the_checkpoint_file():
    def in_memory(model, train_epoch, val_loss, max_epochs, patience, path):
        best, best_epoch, bad, kept = float("inf"), None, 0, None
        for epoch in range(1, max_epochs + 1):
            train_epoch(model)
            loss = val_loss(model)
            if loss < best:
                best, best_epoch, bad, kept = loss, epoch, 0, model.state_dict()
            else:
                bad += 1
                if bad >= patience:
                    break
        model.load_state_dict(kept)
        return best_epoch, best
    with pytest.raises(AssertionError, match="torch.save"):
        check_early_stopping(in_memory)


def _early_stopping(model, train_epoch, val_loss, max_epochs, patience, path,
                    improved=lambda loss, best: loss < best, restore_always=True):
    best, best_epoch, bad = float("inf"), 0, 0
    for epoch in range(1, max_epochs + 1):
        train_epoch(model)
        loss = val_loss(model)
        if improved(loss, best):
            best, best_epoch, bad = loss, epoch, 0
            torch.save(model.state_dict(), path)
        else:
            bad += 1
            if bad >= patience:
                model.load_state_dict(torch.load(path))
                return best_epoch, best
    if restore_always:
        model.load_state_dict(torch.load(path))
    return best_epoch, best


def test_the_hidden_runs_catch_a_tie_counted_as_improvement_and_a_restore_only_on_stop(capsys):
    check_early_stopping(_early_stopping)  # the right answer passes every run
    assert "hidden run 3 (patience 2)" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="EQUAL to the best is no improvement"):
        check_early_stopping(lambda *a: _early_stopping(*a, improved=lambda loss, best: loss <= best))
    with pytest.raises(AssertionError, match="restored only when training stopped early"):
        check_early_stopping(lambda *a: _early_stopping(*a, restore_always=False))
    with grading():
        assert check_early_stopping(lambda *a: _early_stopping(*a, restore_always=False)).status == "failed"


# ------------------------------------------------------------------ dropout
def test_changing_x_in_place_is_named_not_blamed_on_eval():
    def in_place(x, mask, p, training):
        if training:
            x *= mask / (1 - p)
        return x
    with pytest.raises(AssertionError, match="changed its input x in place"):
        check_dropout_forward(in_place)


def test_changing_the_mask_in_place_is_named():
    def scales_the_mask(x, mask, p, training):
        return x * mask.div_(1 - p) if training else x
    with pytest.raises(AssertionError, match="changed its input mask in place"):
        check_dropout_forward(scales_the_mask)


def test_dropout_with_its_own_mask_fails_on_the_shown_case():
    # F.dropout draws a mask of its own: right in eval mode only
    def own_mask(x, m, p, training):
        return F.dropout(x, p, training=training)
    with pytest.raises(AssertionError, match="dropout is wrong"):
        check_dropout_forward(own_mask)


def test_a_hard_coded_rate_fails_on_a_hidden_case():
    with pytest.raises(AssertionError, match=r"hidden case 2 \(tensor\(3, 5, 2\)"):
        check_dropout_forward(lambda x, m, p, training: x * m / 0.7 if training else x)
