"""The optimizer comparison of chapter 03 ("On a real model"), checked on the committed
notebook: what its prose claims must be true of the run that built the page.

- every optimizer's best learning rate, by validation loss (the rate chosen) and by training
  loss, lies strictly inside its grid, and so does Adam's best rate in the four-times-longer
  run; a best rate on the edge of a grid would only say "this far, or further";
- the chosen rate is the one with the lowest mean validation loss in the printed table;
- the test set is read in one cell only, after the rates are chosen, and the comparison
  rests on several seeds.

These read the glued values (MyST-NB's scrapbook outputs) and the printed table of the
notebook as committed, executed at the default budget (``tests/test_notebook_conventions.py``
checks that), so they need no kernel.
"""

import ast
import re

import nbformat
import pytest

from conftest import CHAPTERS

NOTEBOOK = CHAPTERS / "03_optimizers.ipynb"
OPTIMIZERS = ["SGD", "momentum", "Adagrad", "RMSprop", "Adam"]


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(NOTEBOOK, as_version=4)


@pytest.fixture(scope="module")
def glued(nb):
    """{key: text} of every value the notebook glued."""
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is not None:
                values[name] = ast.literal_eval(out["data"]["application/papermill.record/text/plain"])
    return values


def _grid(text):
    low, high = (float(x) for x in text.split(" to "))
    return low, high


def _cell(nb, cell_id):
    return next(cell for cell in nb.cells if cell.get("id") == cell_id)


def _printed_rows(nb):
    """{optimizer: (rates, losses, chosen index, lowest-training-loss index)} from the table
    the grid cell printed."""
    text = "".join(out.get("text", "") for out in _cell(nb, "cell-030").outputs
                   if out.output_type == "stream")
    rows = {}
    for name in OPTIMIZERS:
        match = re.search(rf"^{name}\s+rate(.*)\n\s+loss(.*)$", text, re.M)
        assert match, f"no printed row for {name}"
        rates = [float(r) for r in match.group(1).split()]
        entries = []
        for token in match.group(2).split():  # a '*' after a space belongs to the entry before
            if token == "*":
                entries[-1] += token
            else:
                entries.append(token)
        losses = [float(e.strip("[]*")) for e in entries]
        chosen = [i for i, e in enumerate(entries) if e.startswith("[")]
        by_train = [i for i, e in enumerate(entries) if e.endswith("*")]
        assert len(rates) == len(losses) and len(chosen) == len(by_train) == 1, match.group(0)
        rows[name] = rates, losses, chosen[0], by_train[0]
    return rows


def test_the_notebook_was_executed_at_the_default_budget(nb):
    assert nb.metadata["tnn_execution"]["budget"] == "default"


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_best_rates_lie_strictly_inside_their_grids(glued, name):
    low, high = _grid(glued[f"grid_{name.lower()}"])
    for key in (f"rate_{name.lower()}", f"rate_{name.lower()}_train"):
        rate = float(glued[key])
        assert low < rate < high, f"{key} = {rate} is not strictly inside the grid {low}..{high}"


def test_adams_best_rate_in_the_long_run_lies_inside_its_grid(glued):
    low, high = _grid(glued["grid_adam_long"])
    assert low < float(glued["adam_rate_long"]) < high


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_the_printed_table_agrees_with_the_glued_rates(nb, glued, name):
    rates, losses, chosen, by_train = _printed_rows(nb)[name]
    assert 0 < chosen < len(rates) - 1 and 0 < by_train < len(rates) - 1
    assert losses[chosen] == min(losses), "the chosen rate has the lowest mean validation loss"
    assert rates[chosen] == pytest.approx(float(glued[f"rate_{name.lower()}"]))
    assert rates[by_train] == pytest.approx(float(glued[f"rate_{name.lower()}_train"]))
    assert (rates[0], rates[-1]) == pytest.approx(_grid(glued[f"grid_{name.lower()}"]))


def test_the_test_set_is_read_once_after_the_rates_are_chosen(nb):
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    uses = [cell.get("id") for cell in code if re.search(r"\bX_test\b", cell.source)]
    # cell-030 makes the split (and never evaluates on it); comparison-test reads it
    assert uses == ["cell-030", "comparison-test"], uses
    split = _cell(nb, "cell-030").source
    assert len(re.findall(r"\bX_test\b", split)) == 1, "cell-030 only makes the split"


def test_the_comparison_rests_on_several_seeds(glued):
    assert int(glued["n_seeds"]) >= 3
