"""utils.train / utils.batched: the engine against the plain loop it replaces.

The central claim: a variant trained side by side with others has *bit for bit* the losses
and parameters of the plain lecture loop run alone with the same generator (float32, CPU),
whichever variants run beside it. Small datasets keep every test to a second or two.
"""

import pytest
import torch
import torch.nn.functional as F

from utils import nn
from utils.batched import Stacked
from utils.models import NAMES_INITS, count_parameters, deep_mlp, names_mlp
from utils.train import Recorder, evaluate, sgd, step_decay, throughput, train

SEED = 2147483647


def gen(seed=SEED):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def data():
    g = gen(1)
    X = torch.randint(0, 27, (3000, 3), generator=g)
    Y = (X.sum(1) * 7 + torch.randint(0, 3, (3000,), generator=g)) % 27  # learnable, noisy
    return X, Y


def lecture_loop(X, Y, steps, init_scale, lr_fn, batch=32):
    """The makemore lecture's loop, raw tensors, verbatim in spirit."""
    g = gen()
    C = torch.randn((27, 10), generator=g)
    W1 = torch.randn((30, 200), generator=g)
    W1 = W1 * (5 / 3) / (30 ** 0.5) if init_scale["W1"] == "kaiming" else W1 * init_scale["W1"]
    b1 = torch.randn(200, generator=g) * init_scale["b1"]
    W2 = torch.randn((200, 27), generator=g) * init_scale["W2"]
    b2 = torch.randn(27, generator=g) * init_scale["b2"]
    parameters = [C, W1, b1, W2, b2]
    for p in parameters:
        p.requires_grad = True
    lossi = []
    for i in range(steps):
        ix = torch.randint(0, X.shape[0], (batch,), generator=g)
        Xb, Yb = X[ix], Y[ix]
        emb = C[Xb]
        h = torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Yb)
        for p in parameters:
            p.grad = None
        loss.backward()
        for p in parameters:
            p.data += -lr_fn(i) * p.grad
        lossi.append(loss.item())
    return torch.tensor(lossi), parameters


SCALES = {
    "original": {"W1": 1, "b1": 1, "W2": 1, "b2": 1},
    "fix softmax": {"W1": 1, "b1": 1, "W2": 0.01, "b2": 0},
    "fix tanh": {"W1": 0.2, "b1": 0.01, "W2": 0.01, "b2": 0},
    "kaiming": {"W1": "kaiming", "b1": 0.01, "W2": 0.01, "b2": 0},  # the lecture's two roundings
}


def test_names_mlp_parameter_counts_and_lecture_values():
    assert count_parameters(names_mlp("kaiming", generator=gen())) == 11_897
    assert count_parameters(names_mlp("batchnorm", generator=gen())) == 12_097
    model = names_mlp("fix tanh", generator=gen())
    g = gen()
    C, W1 = torch.randn((27, 10), generator=g), torch.randn((30, 200), generator=g) * 0.2
    assert torch.equal(model[0].weight, C) and torch.equal(model[2].weight, W1.T)
    with pytest.raises(ValueError, match="init must be one of"):
        names_mlp("xavier", generator=gen())


def test_engine_is_the_lecture_loop_bit_for_bit(data):
    """Four loss-log variants side by side == four lecture loops, losses and parameters."""
    X, Y = data
    steps, schedule = 300, step_decay(0.1, 0.01, at=150)
    inits = list(SCALES)
    gens = [gen() for _ in inits]  # each variant's generator: it draws the init, then batches
    models = [names_mlp(name, generator=g) for name, g in zip(inits, gens)]
    run = train(models, X, Y, steps=steps, generators=gens, lr=schedule, progress=False)
    for v, name in enumerate(inits):
        lossi, (C, W1, b1, W2, b2) = lecture_loop(X, Y, steps, SCALES[name], schedule)
        assert torch.equal(run.losses[v], lossi), name
        m = run.models[v]
        assert torch.equal(m[0].weight, C) and torch.equal(m[2].weight, W1.T)
        assert torch.equal(m[2].bias, b1) and torch.equal(m[4].weight, W2.T)
        assert torch.equal(m[4].bias, b2)


def _plain_loop(model, X, Y, steps, g, lr, opt=None, penalty=None, batch=32):
    params = model.parameters()
    losses = []
    for _ in range(steps):
        ix = torch.randint(0, len(X), (batch,), generator=g)
        loss = F.cross_entropy(model(X[ix]), Y[ix])
        if penalty is not None:
            loss = loss + penalty([layer.weight for layer in model if isinstance(layer, nn.Linear)])
        for p in params:
            p.grad = None
        loss.backward()
        if opt is None:
            for p in params:
                p.data += -lr * p.grad
        else:
            opt.step()
        losses.append(loss.item())
    return torch.tensor(losses)


def _deep(seed, **kw):
    g = gen(seed)
    return deep_mlp(generator=g, n_layers=3, n_hidden=32, **kw), g


@pytest.mark.parametrize("kw", [dict(batchnorm=True), dict(gain=3.0, nonlinearity=nn.ReLU),
                                dict(nonlinearity=None, gain=1.0)], ids=["bn", "relu", "linear"])
def test_deep_net_variants_match_plain_loops_and_do_not_interact(data, kw):
    X, Y = data
    pairs = [_deep(s, **kw) for s in (3, 4, 5)]
    run = train([m for m, _ in pairs], X, Y, steps=120, generators=[g for _, g in pairs],
                lr=[0.05, 0.1, 0.2], progress=False)
    m1, g1 = _deep(4, **kw)
    solo = train(m1, X, Y, steps=120, generators=g1, lr=0.1, progress=False)
    assert torch.equal(run.losses[1], solo.losses[0])  # the company it keeps changes nothing
    for v, (seed, lr) in enumerate([(3, 0.05), (4, 0.1), (5, 0.2)]):
        model, g = _deep(seed, **kw)
        expected = _plain_loop(model, X, Y, 120, g, lr)
        assert torch.equal(run.losses[v], expected)
        for ours, ref in zip(run.models[v].parameters(), model.parameters()):
            assert torch.equal(ours, ref)
        for layer_ours, layer_ref in zip(run.models[v], model):
            if isinstance(layer_ref, nn.BatchNorm1d):
                assert torch.equal(layer_ours.running_mean, layer_ref.running_mean)
                assert torch.equal(layer_ours.running_var, layer_ref.running_var)
                assert int(layer_ours.num_batches_tracked) == 120


def test_dropout_variants_use_their_own_layer_generators(data):
    X, Y = data

    def build(seed):
        g = gen(seed)
        model = nn.Sequential(nn.Embedding(27, 8, generator=g), nn.Flatten(),
                              nn.Linear(24, 40, generator=g), nn.ReLU(),
                              nn.Dropout(0.3, generator=gen(seed + 100)), nn.Linear(40, 27, generator=g))
        return model, g

    pairs = [build(s) for s in (1, 2)]
    run = train([m for m, _ in pairs], X, Y, steps=80, generators=[g for _, g in pairs],
                lr=0.2, progress=False)
    for v, seed in enumerate((1, 2)):
        model, g = build(seed)
        assert torch.equal(run.losses[v], _plain_loop(model, X, Y, 80, g, 0.2))


def test_torch_optimizer_and_penalty_match_plain_loop(data):
    X, Y = data
    l2 = lambda ws: 1e-3 * sum((w ** 2).sum(dim=tuple(range(w.dim() - 2, w.dim()))) for w in ws)
    pairs = [_deep(s) for s in (7, 8)]
    run = train([m for m, _ in pairs], X, Y, steps=60, generators=[g for _, g in pairs],
                optimizer=lambda ps: torch.optim.AdamW(ps, lr=3e-3, weight_decay=0.05),
                penalty=l2, progress=False)
    for v, seed in enumerate((7, 8)):
        model, g = _deep(seed)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
        expected = _plain_loop(model, X, Y, 60, g, None, opt=opt, penalty=l2)
        torch.testing.assert_close(run.losses[v], expected, rtol=0, atol=1e-6)
        for ours, ref in zip(run.models[v].parameters(), model.parameters()):
            torch.testing.assert_close(ours, ref, rtol=0, atol=1e-6)


def test_scheduler_is_stepped_each_step(data):
    X, Y = data
    model, g = _deep(9)
    seen = []
    train(model, X, Y, steps=10, generators=g, progress=False,
          optimizer=lambda ps: torch.optim.SGD(ps, lr=0.1),
          scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5),
          eval_data={"train": (X, Y)}, eval_every=1,
          callback=lambda step, run: seen.append(step) and False)
    assert seen == list(range(1, 11))


def test_evaluation_callback_and_early_stop(data):
    X, Y = data
    pairs = [_deep(s) for s in (10, 11)]
    calls = []

    def callback(step, run):
        calls.append((step, run.models[0][2].weight.clone()))
        return step >= 40

    run = train([m for m, _ in pairs], X, Y, steps=100, generators=[g for _, g in pairs],
                lr=0.1, eval_data={"train": (X, Y), "val": (X[:500], Y[:500])},
                eval_every=20, callback=callback, progress=False)
    assert run.eval_steps == [20, 40] and run.steps_done == 40 and run.losses.shape == (2, 40)
    assert run.evals["val"].shape == (2, 2)
    # the models were written back before each callback: the weights had moved by then
    assert not torch.equal(calls[0][1], calls[1][1])
    # evaluation equals the plain model's loss on the same data, in eval mode
    for v in range(2):
        model = run.models[v]
        expected = F.cross_entropy(model(X), Y).item()
        assert abs(run.final("train")[v].item() - expected) < 1e-5
    assert "2 variants x 40 steps" in throughput(run)


def test_evaluate_uses_running_statistics(data):
    X, Y = data
    model, g = _deep(12, batchnorm=True)
    train(model, X, Y, steps=30, generators=g, lr=0.1, progress=False)
    stack = Stacked([model])
    value = evaluate(stack, X, Y)[0].item()
    model.eval()
    assert abs(value - F.cross_entropy(model(X), Y).item()) < 1e-5
    assert stack.layers[3].training is True  # restored after evaluation


def test_recorder_snapshots_and_update_ratios(data):
    X, Y = data
    model, g = _deep(13)
    rec = Recorder(snapshots=(0, 5))
    run = train(model, X, Y, steps=6, generators=g, lr=0.1, record=rec, progress=False)
    # replay the plain loop to step 5 and compare the recorded tanh outputs and gradients
    ref, gr = _deep(13)
    params = ref.parameters()
    for step in range(6):
        ix = torch.randint(0, len(X), (32,), generator=gr)
        x, outs = X[ix], []
        for layer in ref:
            x = layer(x)
            if isinstance(layer, nn.Tanh):
                x.retain_grad()
                outs.append(x)
        loss = F.cross_entropy(x, Y[ix])
        for p in params:
            p.grad = None
        loss.backward()
        if step == 5:
            acts, grads = rec.activations(5), rec.activation_grads(5)
            assert list(acts) == [f"layer {i} (Tanh)" for i in (3, 5, 7)]
            for (name, a), o in zip(acts.items(), outs):
                assert torch.equal(a, o.detach().flatten())
                assert torch.equal(grads[name], o.grad.flatten())
            wg = rec.weight_grads(5)
            assert torch.equal(wg["layer 2 (Linear).weight"], ref[2].weight.grad.flatten())
            ratios = rec.update_ratios()
            expected = ((0.1 * ref[2].weight.grad).std() / ref[2].weight.std()).log10()
            torch.testing.assert_close(ratios["layer 2 (Linear).weight"][5], expected)
        for p in params:
            p.data += -0.1 * p.grad
    assert set(rec.update_ratios()) == {"layer 0 (Embedding).weight", "layer 2 (Linear).weight",
                                        "layer 4 (Linear).weight", "layer 6 (Linear).weight",
                                        "layer 8 (Linear).weight"}
    assert rec.update_ratios()["layer 8 (Linear).weight"].shape == (6,)
    with pytest.raises(KeyError, match="no snapshot at step 3; recorded: \\[0, 5\\]"):
        rec.activations(3)
    assert run.steps_done == 6


def test_bad_input_is_named(data):
    X, Y = data
    a, ga = _deep(1)
    b, gb = deep_mlp(generator=gen(2), n_layers=2, n_hidden=32), gen(3)
    with pytest.raises(ValueError, match="same architecture: variant 0 has 9 layers, variant 1 has 7"):
        train([a, b], X, Y, steps=1, generators=[ga, gb], progress=False)
    wide = deep_mlp(generator=gen(2), n_layers=3, n_hidden=16)
    with pytest.raises(ValueError, match=r"layer 2 is Linear\(in_features=30, out_features=32.* in "
                                         r"variant 0 but Linear\(in_features=30, out_features=16"):
        Stacked([a, wide])
    with pytest.raises(ValueError, match="its own generator"):
        train([a, _deep(2)[0]], X, Y, steps=1, generators=[ga, ga], progress=False)
    with pytest.raises(ValueError, match="expected one per variant \\(2\\), got 3"):
        train([a, _deep(2)[0]], X, Y, steps=1, generators=[ga, gb, gen(4)], progress=False)
    with pytest.raises(TypeError, match="int64 class indices, got dtype torch.float32"):
        train(a, X, Y.float(), steps=1, generators=ga, progress=False)
    class Square(nn.Module):
        def __call__(self, x):
            return x * x

    with pytest.raises(TypeError, match="cannot stack a Square layer"):
        Stacked([nn.Sequential(Square())])
    with pytest.raises(ValueError, match="lr: expected one per variant \\(1\\), got 2"):
        train(a, X, Y, steps=1, generators=ga, lr=[0.1, 0.2], progress=False)


def test_all_loss_log_inits_build():
    for name in NAMES_INITS:
        model = names_mlp(name, generator=gen())
        assert model(torch.zeros(4, 3, dtype=torch.long)).shape == (4, 27)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_engine_runs_on_cuda(data):
    X, Y = data
    pairs = [_deep(s) for s in (1, 2)]
    run = train([m for m, _ in pairs], X, Y, steps=50, generators=[g for _, g in pairs],
                lr=0.1, device="cuda", eval_data={"val": (X, Y)}, progress=False)
    pairs = [_deep(s) for s in (1, 2)]
    cpu = train([m for m, _ in pairs], X, Y, steps=50, generators=[g for _, g in pairs],
                lr=0.1, progress=False)
    torch.testing.assert_close(run.losses, cpu.losses, rtol=0, atol=1e-4)


def test_recorder_with_an_optimizer_reports_the_step_taken(data):
    X, Y = data
    model, g = _deep(14)
    rec = Recorder(snapshots=())
    before = model[2].weight.detach().clone()
    train(model, X, Y, steps=1, generators=g, record=rec, progress=False,
          optimizer=lambda ps: torch.optim.Adam(ps, lr=1e-2))
    change = model[2].weight.detach() - before
    expected = (change.std() / model[2].weight.detach().std()).log10()
    torch.testing.assert_close(rec.update_ratios()["layer 2 (Linear).weight"][0], expected)


def test_cross_entropy_mean_is_torch_mean_to_the_last_bit():
    from utils.batched import cross_entropy_mean
    g = gen(21)
    for B in (1, 7, 16, 17, 32, 100, 300):
        logits = torch.randn(50, B, 27, generator=g) * 4
        y = torch.randint(0, 27, (50, B), generator=g)
        per = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none").view(50, B)
        expected = torch.stack([F.cross_entropy(logits[r], y[r]) for r in range(50)])
        assert torch.equal(cross_entropy_mean(per), expected), B
        assert not torch.equal(per.mean(1), expected) or B < 17  # the naive mean is not it


def test_row_std_matches_torch_std_for_weights_and_gradients():
    from utils.train import _row_std
    g = gen(31)
    for shape, scale, shift in [((4, 10_000), 0.1, 0.01), ((3, 270), 1.0, 0.0), ((2, 2700), 1e-4, 1e-5)]:
        x = torch.randn(shape, generator=g) * scale + shift
        torch.testing.assert_close(_row_std(x), x.std(1), rtol=1e-4, atol=0)


@pytest.mark.parametrize("batchnorm", [False, True])
def test_sgd_is_bit_for_bit_the_training_engine(batchnorm):
    g = _gen(6)
    X = torch.randint(0, 27, (500, 3), generator=g)
    Y = torch.randint(0, 27, (500,), generator=g)
    a = deep_mlp(generator=_gen(7), n_layers=3, n_hidden=16, batchnorm=batchnorm)
    b = deep_mlp(generator=_gen(7), n_layers=3, n_hidden=16, batchnorm=batchnorm)
    seen = []
    losses = sgd(a, X, Y, steps=60, generator=_gen(8), lr=0.2, every=20, progress=False,
                 callback=lambda step, model: seen.append(step))
    run = train(b, X, Y, steps=60, generators=_gen(8), lr=0.2, progress=False)
    assert seen == [0, 20, 40, 60]
    assert torch.equal(losses, run.losses[0])
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    if batchnorm:
        assert torch.equal(a[3].running_var, b[3].running_var)


def _gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("init", ["kaiming", "batchnorm"])
def test_one_variant_trains_the_model_itself_and_equals_a_stack_of_one(data, init):
    """One CPU variant without a Recorder runs as itself (batched.Single): its own tensors
    are trained, no copies; a stack of one (forced by a Recorder) gives the same bits."""
    X, Y = data
    schedule = step_decay(0.1, 0.01, at=100)
    g1, g2 = gen(), gen()
    alone, stacked = names_mlp(init, generator=g1), names_mlp(init, generator=g2)
    own = [p for p in alone.parameters()]
    run1 = train(alone, X, Y, steps=200, generators=g1, lr=schedule, progress=False,
                 eval_data={"train": (X, Y)}, eval_every=50)
    run2 = train(stacked, X, Y, steps=200, generators=g2, lr=schedule, progress=False,
                 eval_data={"train": (X, Y)}, eval_every=50,
                 record=Recorder(snapshots=(), update_ratios=False))
    assert all(p is q for p, q in zip(own, alone.parameters()))  # the same tensors, trained
    assert not torch.equal(own[1], names_mlp(init, generator=gen()).parameters()[1])
    assert torch.equal(run1.losses, run2.losses)
    assert torch.equal(run1.evals["train"], run2.evals["train"])
    for p, q in zip(alone.parameters(), stacked.parameters()):
        assert torch.equal(p, q)
    if init == "batchnorm":  # BatchNorm's running statistics too
        assert torch.equal(alone[3].running_mean, stacked[3].running_mean)
        assert torch.equal(alone[3].running_var, stacked[3].running_var)
