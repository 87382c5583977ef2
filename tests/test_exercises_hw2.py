"""Homework 2's checkers: what the generic tests (tests/test_exercises.py) do not cover.

The generic tests run the reference solutions, every stub form, the mistakes that
``check_dlogits_fused`` and ``check_dhprebn_fused`` declare, and odd answers. Here:

- mistakes *planted in the reference's own source* (one line edited, as a student would get
  it wrong, the error then flowing through every later line), each caught with its hint:
  for exercise 1 a missing sum over a broadcast dimension, ``=`` for ``+=`` on each tensor
  used twice and on ``dC``, transposed products, the Bessel factor, a shape that broadcast
  silently, a sum over the wrong dimension, tanh and the scale skipped, a sign, a sum for
  a mean, a hard-coded batch size; for exercises 2-4 the same kinds through the fused
  steps, an input changed in place, a missing key, gradients that change between calls;
- odd answers (not a dict, wrong keys, Nones, numpy arrays, float32, autograd);
- the page's forward pass and minibatch are the checker's;
- the reference pasted into the page passes every checker there, and training with it
  ends within 0.01 of autograd (``standalone``: it executes the notebook).

Run ``python tests/test_exercises_hw2.py full OUT.ipynb`` to execute the page with the
reference pasted in at ``TNN_BUDGET=full`` (the lecture-length training).
"""

import ast
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import CHAPTERS, ROOT  # noqa: E402
from solutions import hw2 as solution  # noqa: E402
from utils.data import itos, names_splits  # noqa: E402
from utils.exercises import grading  # noqa: E402
from utils.exercises import hw2  # noqa: E402
from utils.exercises.hw2 import (  # noqa: E402
    check_backward_pass,
    check_dhprebn_fused,
    check_dlogits_fused,
    check_manual_backward,
)

PAGE = CHAPTERS / "hw2_mlp_backprop.ipynb"


def planted(function, old, new, **replaced):
    """``function`` of the reference solution with the source text ``old`` replaced by
    ``new`` (which must occur exactly once), compiled in the solution's namespace, with
    ``replaced`` functions swapped in (e.g. a planted ``dhprebn_fused``)."""
    source = inspect.getsource(function)
    assert source.count(old) == 1, f"{old!r} occurs {source.count(old)} times"
    namespace = {**vars(solution), **replaced}
    exec(compile(source.replace(old, new), "<planted>", "exec"), namespace)
    return namespace[function.__name__]


def failure(checker, answer):
    with grading():
        outcome = checker(answer)
    assert outcome.status == "failed", outcome.message
    return outcome.message


def test_checkers_leave_the_global_generator_alone():
    state = torch.random.get_rng_state()
    check_manual_backward(solution.manual_backward)
    check_dlogits_fused(solution.dlogits_fused)
    assert torch.equal(state, torch.random.get_rng_state())


# --- exercise 1: every intermediate -----------------------------------------------------
BACKWARD_MISTAKES = [  # (old, new, the first wrong gradient, a phrase of its hint)
    ("dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)",
     "dcounts_sum_inv = counts * dprobs", "dcounts_sum_inv",
     "missing sum over the broadcast dimension"),
    ("dbngain = (bnraw * dhpreact).sum(0, keepdim=True)",
     "dbngain = bnraw * dhpreact", "dbngain", "missing sum over the broadcast dimension"),
    ("db2 = dlogits.sum(0)", "db2 = dlogits", "db2", "missing sum over the broadcast dimension"),
    ("dbngain = (bnraw * dhpreact).sum(0, keepdim=True)",
     "dbngain = (bnraw * dhpreact).sum(1, keepdim=True)", "dbngain",
     "summed over the wrong dimension"),
    ("dcounts += torch", "dcounts = torch", "dcounts", "= where += was needed"),
    ("dbndiff += 2", "dbndiff = 2", "dbndiff", "= where += was needed"),
    ("dhprebn += torch", "dhprebn = torch", "dhprebn", "= where += was needed"),
    ("dC.index_add_(0, Xb.view(-1), demb.view(-1, C.shape[1]))", "dC[Xb] = demb", "dC",
     "= where += was needed"),
    ("dW2 = h.T @ dlogits", "dW2 = dlogits.T @ h", "dW2", "transposed product"),
    ("dW1 = embcat.T @ dhprebn", "dW1 = dhprebn.T @ embcat", "dW1", "transposed product"),
    ("dbnvar / (n - 1)", "dbnvar / n", "dbndiff2", "the Bessel factor"),
    ("dbnmeani = -dbndiff.sum(0, keepdim=True)", "dbnmeani = -dbndiff.sum(0)", "dbnmeani",
     "broadcast silently"),
    ("dhpreact = (1.0 - h ** 2) * dh", "dhpreact = dh", "dhpreact", "as if its slope were 1"),
    ("dbnraw = bngain * dhpreact", "dbnraw = dhpreact", "dbnraw",
     "bngain multiplies the gradient"),
    ("dlogprobs[torch.arange(n), Yb] = -1.0 / n", "dlogprobs[torch.arange(n), Yb] = 1.0 / n",
     "dlogprobs", "wrong sign"),
    ("dlogprobs[torch.arange(n), Yb] = -1.0 / n", "dlogprobs[torch.arange(n), Yb] = -1.0",
     "dlogprobs", "sum instead of mean"),
]


@pytest.mark.parametrize("old, new, first, hint", BACKWARD_MISTAKES,
                         ids=[f"{m[2]}: {m[3][:30]}" for m in BACKWARD_MISTAKES])
def test_manual_backward_names_the_first_wrong_gradient_and_its_mistake(old, new, first, hint):
    message = failure(check_manual_backward, planted(solution.manual_backward, old, new))
    assert f"The first on the way back is {first}:" in message, message[-2000:]
    assert hint in message.split("Hint:")[1], message[-2000:]


def test_a_wrong_gradient_is_said_to_spoil_the_later_ones(capsys):
    message = failure(check_manual_backward,
                      planted(solution.manual_backward, "dbnvar / (n - 1)", "dbnvar / n"))
    assert "dbndiff, dhprebn, dembcat, dW1, demb and 1 more are computed from dbndiff2" in message
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("dbnvar | exact: False | close: True") for line in lines)


def test_a_hard_coded_batch_size_passes_the_page_and_fails_a_hidden_case():
    message = failure(check_manual_backward,
                      planted(solution.manual_backward, "n = Xb.shape[0]", "n = 32"))
    assert "manual_backward on the page's minibatch" not in message
    assert re.search(r"on hidden case \d \(batch (8|50|2),", message), message[:500]


def test_a_dict_with_gradients_left_none(capsys):
    def half_done(cache):
        grads = solution.manual_backward(cache)
        return {k: (v if k in ("dlogprobs", "dprobs") else None) for k, v in grads.items()}
    message = failure(check_manual_backward, half_done)
    assert "24 of 26 gradients are still None" in message and "the 2 you wrote are right" in message
    with grading():
        outcome = check_manual_backward(lambda cache: dict.fromkeys(hw2.GRADIENTS))
    assert outcome.status == "not attempted"


@pytest.mark.parametrize("answer, phrase", [
    (lambda cache: list(solution.manual_backward(cache).values()), "expected a dict"),
    (lambda cache: {k[1:]: v for k, v in solution.manual_backward(cache).items()},
     "none of the expected names"),
    (lambda cache: {k: v for k, v in solution.manual_backward(cache).items() if k != "dbnvar"},
     "dbnvar is missing from your dict"),
    (lambda cache: None, "did you forget `return`"),
    (lambda cache: torch.func.grad(lambda x: x.sum())(cache["C"]), "not to call torch.func.grad"),
    (lambda cache: cache["loss"].backward(), "not to call torch.Tensor.backward"),
    (lambda cache: {**solution.manual_backward(cache), "dC": solution.manual_backward(cache)["dC"].float()},
     "float32"),
])
def test_manual_backward_odd_answers_get_clear_messages(answer, phrase):
    assert phrase in failure(check_manual_backward, answer)


def test_numpy_arrays_and_tensors_that_require_grad_are_accepted():
    def numpy_answer(cache):
        return {k: v.numpy() for k, v in solution.manual_backward(cache).items()}

    def grad_answer(cache):
        return {k: v.clone().requires_grad_() for k, v in solution.manual_backward(cache).items()}
    for answer in (numpy_answer, grad_answer):
        with grading():
            assert check_manual_backward(answer).status == "passed"


def test_changing_the_cache_in_place_is_named():
    def in_place(cache):
        grads = solution.manual_backward(cache)
        cache["probs"] -= 1.0
        return grads
    assert "changed its input 'probs' in place" in failure(check_manual_backward, in_place)


def test_the_picture_colours_each_gradient_by_its_status():
    status = {"shown": {"dA": "exact", "dB": "wrong"}, "hidden": {"dA": "close", "dB": "not attempted"}}
    fig = hw2.gradient_picture(["dA", "dB"], ["shown", "hidden"], status)
    image = fig.axes[0].images[0].get_array()
    kinds = list(hw2.STATUS_COLOURS)
    assert image.tolist() == [[kinds.index("exact"), kinds.index("wrong")],
                              [kinds.index("close"), kinds.index("not attempted")]]


def test_the_pages_forward_pass_and_minibatch_are_the_checkers():
    nb = nbformat.read(PAGE, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    wanted = [s for s in code if "def init_params" in s or "def forward" in s]
    assert len(wanted) == 2
    namespace = {"torch": torch, "names_splits": names_splits, "itos": itos,
                 "LECTURE_SEED": hw2.LECTURE_SEED,
                 "F": torch.nn.functional, "check_all": lambda *a, **k: True,
                 "glue": lambda *a, **k: ""}
    for source in wanted:
        exec(source, namespace)
    params, Xb, Yb = hw2._shown()
    assert torch.equal(namespace["Xb"], Xb) and torch.equal(namespace["Yb"], Yb)
    theirs, ours = namespace["cache"], hw2._cache(params, Xb, Yb)
    assert list(theirs) == ["Xb", "Yb", *hw2.PARAMETERS, *hw2.INTERMEDIATES, "loss"]
    assert sorted(theirs) == sorted(ours)
    for name in ours:
        assert torch.equal(theirs[name].detach(), ours[name]), name
    graph = next(ast.parse(c) for c in code if "INPUTS = " in c)
    inputs = next(node.value for node in graph.body if isinstance(node, ast.Assign)
                  and getattr(node.targets[0], "id", None) == "INPUTS")
    assert ast.literal_eval(inputs) == hw2.INPUTS


# --- exercises 2 and 3: the fused steps ----------------------------------------------
@pytest.mark.parametrize("checker, function, old, new, phrase", [
    (check_dlogits_fused, solution.dlogits_fused, "dlogits = probs.clone()", "dlogits = probs",
     "changed its input 'probs' in place"),
    (check_dlogits_fused, solution.dlogits_fused, "return dlogits / n", "return dlogits",
     "n times too large"),
    (check_dlogits_fused, solution.dlogits_fused, "dlogits[torch.arange(n), Yb] -= 1.0",
     "dlogits[:, Yb] -= 1.0", "every row got every label"),
    (check_dlogits_fused, solution.dlogits_fused, "n = probs.shape[0]", "n = 32",
     "hidden case 1"),
    (check_dhprebn_fused, solution.dhprebn_fused, "n / (n - 1) * bnraw", "bnraw",
     "the Bessel factor"),
    (check_dhprebn_fused, solution.dhprebn_fused, "bngain * bnvar_inv / n", "bnvar_inv / n",
     "bngain is missing"),
    (check_dhprebn_fused, solution.dhprebn_fused, "/ (n - 1) + EPS) ** -0.5", "/ (n - 1)) ** -0.5",
     "eps is missing"),
    (check_dhprebn_fused, solution.dhprebn_fused, " - dhpreact.sum(0) -", " -",
     "the path through the batch mean is missing"),
])
def test_fused_steps_planted_in_the_reference(checker, function, old, new, phrase):
    assert phrase in failure(checker, planted(function, old, new))


def test_the_biased_variance_is_named_in_exercise_3():
    # biased statistics and the formula for them: both edits at once
    source = inspect.getsource(solution.dhprebn_fused).replace(
        "/ (n - 1) + EPS", "/ n + EPS").replace("n / (n - 1) * bnraw", "bnraw")
    namespace = dict(vars(solution))
    exec(source, namespace)
    assert "biased variance" in failure(check_dhprebn_fused, namespace["dhprebn_fused"])


def test_fused_steps_accept_numpy_and_refuse_autograd():
    with grading():
        assert check_dlogits_fused(
            lambda p, y: solution.dlogits_fused(p, y).numpy()).status == "passed"

    def by_autograd(probs, Yb):
        Z = probs.log().requires_grad_()
        return torch.autograd.grad(torch.nn.functional.cross_entropy(Z, Yb), Z)[0]
    assert "not to call torch.autograd.grad" in failure(check_dlogits_fused, by_autograd)


# --- exercise 4: train with your own gradients ----------------------------------------
def backward_with(**replaced):
    return planted(solution.backward_pass, "# the parameters' gradients", "#", **replaced)


@pytest.mark.parametrize("answer, phrases", [
    (lambda: backward_with(dhprebn_fused=planted(solution.dhprebn_fused, "n / (n - 1) * bnraw", "bnraw")),
     ["The first on the way back is dW1:", "the error is between dhpreact and dhprebn"]),
    (lambda: backward_with(dlogits_fused=planted(solution.dlogits_fused, "return dlogits / n", "return dlogits")),
     ["The first on the way back is dW2:", "at dlogits"]),
    (lambda: planted(solution.backward_pass, "dW1 = embcat.T @ dhprebn", "dW1 = dhprebn.T @ embcat"),
     ["transposed product"]),
    (lambda: planted(solution.backward_pass, "dC.index_add_(0, Xb.view(-1), demb.view(-1, C.shape[1]))",
                     "dC[Xb] = demb"), ["= where += was needed", "in the embedding"]),
    (lambda: planted(solution.backward_pass, '"db1": db1, ', ""), ["db1 is missing from your dict"]),
    (lambda: planted(solution.backward_pass, "db2 = dlogits.sum(0)", "db2 = dlogits.sum(1)"),
     ["summed over the wrong dimension", "at dlogits"]),
    (lambda: planted(solution.backward_pass, "dhpreact = (1.0 - h ** 2) * dh", "dhpreact = dh"),
     ["The first on the way back is dbngain:", "between dlogits and dhpreact"]),
    (lambda: backward_with(dlogits_fused=planted(solution.dlogits_fused, "dlogits = probs.clone()", "dlogits = probs")),
     ["changed its input 'probs' in place"]),
])
def test_backward_pass_planted_mistakes(answer, phrases):
    message = failure(check_backward_pass, answer())
    for phrase in phrases:
        assert phrase in message, message[-1500:]


def test_gradients_that_change_between_calls_fail_the_training(capsys):
    calls = {"n": 0}

    def drifting(cache):
        calls["n"] += 1
        grads = solution.backward_pass(cache)
        return grads if calls["n"] < 20 else {k: 3 * v for k, v in grads.items()}
    message = failure(check_backward_pass, drifting)
    assert f"after {hw2.TRAIN_STEPS} training steps" in message and "keep something between calls" in message


def test_the_reference_trains_like_autograd(capsys):
    with grading():
        assert check_backward_pass(solution.backward_pass).status == "passed"
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.search(r"training \d+ steps \| .* \| difference \d\.\de[-+]\d+ \| ok$", last), last


# --- the page with the reference pasted in --------------------------------------------
ANSWERS = ("manual_backward", "dlogits_fused", "dhprebn_fused", "backward_pass")


def pasted_notebook(out: Path) -> Path:
    """The page with each stub replaced by the reference solution's function."""
    nb = nbformat.read(PAGE, as_version=4)
    for cell in nb.cells:
        if cell.get("id") in {f"ex-{a}" for a in ANSWERS}:
            answer = cell["id"][3:]
            stub = re.search(rf"^def {answer}\(.*?raise NotImplementedError\n", cell.source,
                             re.S | re.M)
            assert stub, cell.source
            cell.source = cell.source.replace(stub.group(0),
                                              inspect.getsource(getattr(solution, answer)))
    path = out / PAGE.name
    nbformat.write(nb, path)
    return path


def execute(path: Path, budget: str, out: Path) -> nbformat.NotebookNode:
    env = {**os.environ, "TNN_BUDGET": budget}
    env.pop("MPLBACKEND", None)  # conftest's Agg would hide the page's figures
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "execute_notebooks.py"),
                           "--output-dir", str(out), str(path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=3 * 3600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return nbformat.read(out / path.name, as_version=4)


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


@pytest.mark.standalone
def test_the_reference_pasted_into_the_page_passes_every_checker(tmp_path):
    nb = execute(pasted_notebook(tmp_path), "smoke", tmp_path / "out")
    assert nb.metadata["tnn_execution"]["succeeded"]
    cells = {c.get("id"): c for c in nb.cells}
    for answer in ANSWERS:
        lines = [line for line in _text(cells[f"ex-{answer}"]).splitlines() if "|" in line]
        assert lines and all("close: True" in line or line.endswith("| ok") for line in lines), lines
    assert "not attempted" not in "".join(_text(c) for c in nb.cells if c.cell_type == "code")
    training = next(_text(c) for c in nb.cells if "largest difference" in _text(c))
    gap = float(re.search(r"largest difference between the two runs' losses: (\S+)", training).group(1))
    assert gap <= 0.01, training
    for compare in ("exercise 2 against exercise 1", "exercise 3 against exercise 1"):
        assert any(f"{compare} | exact" in _text(c) and "close: True" in _text(c) for c in nb.cells)


if __name__ == "__main__":  # python tests/test_exercises_hw2.py BUDGET OUT.ipynb
    budget, target = sys.argv[1], Path(sys.argv[2]).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    executed = execute(pasted_notebook(target.parent), budget, target.parent / "executed")
    nbformat.write(executed, target)
    training = next(_text(c) for c in executed.cells if "largest difference" in _text(c))
    print(training)
    print(json.dumps(executed.metadata["tnn_execution"], indent=1)[:400])
