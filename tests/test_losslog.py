"""utils.losslog and the committed full-budget results file (written by `make reproduce`)."""

import json

import pytest
import torch

from utils.losslog import LECTURE_VAL, RESULTS_FILE, load_full_results, loss_log
from utils.models import NAMES_INITS


def test_results_file_reproduces_the_lecture_within_0_02():
    record = load_full_results()
    assert record["steps"] == 200_000 and record["batch_size"] == 32
    assert [row["init"] for row in record["rows"]] == list(NAMES_INITS)
    for row in record["rows"]:
        assert row["lecture_val"] == LECTURE_VAL[row["init"]]
        assert abs(row["val"] - row["lecture_val"]) <= 0.02, row
        assert row["train"] < row["val"] + 0.05  # a sane pair, not a swapped one
    for key in ("produced", "machine", "command", "wall_s"):
        assert record[key], key


def test_missing_results_file_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="make reproduce"):
        load_full_results(tmp_path / "nope.json")
    assert RESULTS_FILE.parts[-3:] == ("utils", "results", "loss_log_full.json")


def test_results_ship_as_package_data_and_load_without_the_repository():
    # load_full_results() reads through importlib.resources; the file is package data
    from importlib import resources
    assert resources.files("utils").joinpath("results", RESULTS_FILE.name).is_file()
    assert load_full_results() == load_full_results(RESULTS_FILE)


def test_loss_log_short_run_is_deterministic_and_rows_are_independent():
    g = torch.Generator().manual_seed(0)
    X = torch.randint(0, 27, (2000, 3), generator=g)
    Y = (X[:, 0] + X[:, 2]) % 27
    splits = ((X[:1500], Y[:1500]), (X[1500:], Y[1500:]), (X[:0], Y[:0]))
    a = loss_log(40, splits=splits, progress=False)
    b = loss_log(40, rows=("kaiming", "batchnorm"), splits=splits, progress=False)
    for row in ("kaiming", "batchnorm"):
        assert a[row]["val"] == b[row]["val"] and torch.equal(a[row]["losses"], b[row]["losses"])
    # the lecture's first-step losses: ~27 for the original init, ~3.3 once the output is scaled
    assert a["original"]["losses"][0] > 10 and abs(a["kaiming"]["losses"][0] - 3.3) < 0.2
    with pytest.raises(ValueError, match="rows must come from"):
        loss_log(1, rows=("xavier",), splits=splits, progress=False)
    json.dumps({k: v["val"] for k, v in a.items() if k != "seconds"})  # plain floats
