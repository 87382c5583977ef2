import random

import numpy as np
import pytest
import torch

from utils.reproducibility import BUDGET_ENV, budget, by_budget, set_seed


def _draw():
    return random.random(), float(np.random.rand()), torch.rand(3).tolist()


def test_set_seed_makes_all_three_generators_repeat():
    set_seed(123)
    first = _draw()
    set_seed(123)
    assert _draw() == first
    set_seed(124)
    assert _draw() != first


@pytest.mark.parametrize("bad", [1.5, "3", None, True])
def test_set_seed_rejects_non_integers(bad):
    with pytest.raises(TypeError, match="expects an int"):
        set_seed(bad)


def test_set_seed_rejects_out_of_range():
    with pytest.raises(ValueError, match=r"0 <= seed < 2\*\*32, got -1"):
        set_seed(-1)


@pytest.mark.parametrize("value, expected", [(None, "default"), ("", "default"), ("full", "full"),
                                             (" Smoke ", "smoke"), ("default", "default")])
def test_budget_reads_the_environment(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv(BUDGET_ENV, raising=False)
    else:
        monkeypatch.setenv(BUDGET_ENV, value)
    assert budget() == expected


def test_budget_names_the_bad_value(monkeypatch):
    monkeypatch.setenv(BUDGET_ENV, "long")
    with pytest.raises(ValueError, match=r"TNN_BUDGET must be one of smoke, default, full .*got 'long'"):
        budget()


def test_by_budget_picks_the_matching_value(monkeypatch):
    for name, expected in [("smoke", 10), ("default", 1_000), ("full", 200_000)]:
        monkeypatch.setenv(BUDGET_ENV, name)
        assert by_budget(smoke=10, default=1_000, full=200_000) == expected
