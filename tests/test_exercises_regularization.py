"""Regularization chapter's checkers: reference solutions pass, planted mistakes get their hints."""

import pytest
import torch

from utils.exercises.regularization import (check_dropout_forward, check_early_stopping,
                                            check_l2_term)


def stub(*args):
    raise NotImplementedError


@pytest.mark.parametrize("answer", [stub, None, ...])
def test_stubs_are_not_attempted(capsys, answer):
    for checker in (check_l2_term, check_dropout_forward, check_early_stopping):
        checker(answer)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert lines and all(line.endswith("not attempted yet") for line in lines)


@pytest.mark.parametrize("checker", [check_l2_term, check_dropout_forward, check_early_stopping])
def test_a_written_function_that_returns_nothing_fails(checker):
    with pytest.raises(AssertionError, match="forget `return"):
        checker(lambda *args: None)


# ------------------------------------------------------------------ the L2 term
def _l2(penalty_scale=0.5, grad_scale=1.0, biases=False, reduce=torch.sum, sign=1):
    def l2_term(params, lam):
        use = [p for p in params if biases or p.dim() >= 2]
        penalty = penalty_scale * lam * sum(reduce(p ** 2) for p in use)
        n = lambda p: p.numel() if reduce is torch.mean else 1  # noqa: E731
        grads = [sign * grad_scale * lam * p / n(p) if (biases or p.dim() >= 2)
                 else torch.zeros_like(p) for p in params]
        return penalty, grads
    return l2_term


@pytest.mark.parametrize("wrong, hint", [
    (_l2(grad_scale=2.0), "the 2 from the square cancels"),
    (_l2(penalty_scale=1.0, grad_scale=2.0), "with the 1/2"),
    (_l2(biases=True), "biases were penalised too"),
    (_l2(reduce=torch.mean), "mean of the squared entries"),
    (_l2(sign=-1), "wrong sign"),
])
def test_l2_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_l2_term(wrong)


def test_l2_gradient_that_skips_nothing_is_named_per_tensor(capsys):
    with pytest.raises(AssertionError) as err:
        check_l2_term(_l2(biases=True))
    out = capsys.readouterr().out
    assert "dW1 | exact: True" in out and "db1 | exact: False" in out
    assert "3 of 5 quantities are wrong" in str(err.value)  # penalty, db1, db2


# ------------------------------------------------------------------ dropout
@pytest.mark.parametrize("wrong, hint", [
    (lambda x, m, p, t: x * m if t else x, "not rescaled"),
    (lambda x, m, p, t: x * m / p if t else x, "probability of DROPPING"),
    (lambda x, m, p, t: x * m * (1 - p) if t else x, "original dropout's rule"),
    (lambda x, m, p, t: x * m / (1 - p), "applied in eval mode"),
    (lambda x, m, p, t: x * m / (1 - p) if t else x * (1 - p), "eval mode is the identity"),
    (lambda x, m, p, t: x * (1 - m) / (1 - p) if t else x, "wrong way round"),
])
def test_dropout_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_dropout_forward(wrong)


def test_dropout_with_torch_functional_is_right_in_eval_only(capsys):
    # F.dropout draws its own mask: right in eval mode, wrong in train mode
    def own_mask(x, m, p, training):
        return torch.nn.functional.dropout(x, p, training=training)
    with pytest.raises(AssertionError, match="train mode is wrong"):
        check_dropout_forward(own_mask)
    assert "eval mode | exact: True" in capsys.readouterr().out


# ------------------------------------------------------------------ early stopping
def _early(compare_with_last=False, late=False, never=False, zero_based=False,
           restore=True, return_last=False, save_always=False, save=True):
    def train_with_early_stopping(model, train_epoch, val_loss, max_epochs, patience, path):
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


def test_early_stopping_saving_every_epoch_is_caught():
    # restores the last epoch's file: the model ends with the wrong weights
    with pytest.raises(AssertionError, match="weights of the LAST epoch"):
        check_early_stopping(_early(save_always=True))


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
    from utils.exercises import grading
    check_early_stopping(_early_stopping)  # the right answer passes every run
    assert "hidden case 2" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="EQUAL to the best is no improvement"):
        check_early_stopping(lambda *a: _early_stopping(*a, improved=lambda loss, best: loss <= best))
    with pytest.raises(AssertionError, match="restored only when training stopped early"):
        check_early_stopping(lambda *a: _early_stopping(*a, restore_always=False))
    with grading():
        assert check_early_stopping(lambda *a: _early_stopping(*a, restore_always=False)).status == "failed"


def test_changing_x_in_place_is_named_not_blamed_on_eval():
    def in_place(x, mask, p, training):
        if training:
            x *= mask / (1 - p)
        return x
    with pytest.raises(AssertionError, match="changed its input x in place"):
        check_dropout_forward(in_place)
