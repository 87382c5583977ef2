"""Reference solutions of Homework 2 (chapters/hw2_mlp_backprop.ipynb).

They are kept out of ``utils/``, which students import, and out of the notebook, which is
published. The checkers in ``utils/exercises/hw2.py`` never use them: they compute their
references with autograd. ``tests/test_exercises.py`` runs every checker on these, and
``tests/test_exercises_hw2.py`` plants mistakes in them (by editing their source) and
pastes them into the notebook.
"""

import torch
import torch.nn.functional as F

EPS = 1e-5  # the forward pass's BatchNorm epsilon


def manual_backward(cache):
    # the gradient of the loss with respect to every tensor of the forward pass, last to first
    Xb, Yb, C, W1, W2, bngain = (cache[k] for k in ("Xb", "Yb", "C", "W1", "W2", "bngain"))
    emb, embcat, hprebn, bndiff, bndiff2, bnvar, bnvar_inv, bnraw, h = (
        cache[k] for k in ("emb", "embcat", "hprebn", "bndiff", "bndiff2", "bnvar",
                           "bnvar_inv", "bnraw", "h"))
    logits, counts, counts_sum, counts_sum_inv, probs, logprobs = (
        cache[k] for k in ("logits", "counts", "counts_sum", "counts_sum_inv", "probs",
                           "logprobs"))
    n = Xb.shape[0]
    # cross-entropy: only the true classes' log-probabilities enter the mean
    dlogprobs = torch.zeros_like(logprobs)
    dlogprobs[torch.arange(n), Yb] = -1.0 / n
    dprobs = dlogprobs / probs
    dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)  # broadcast over the columns
    dcounts = counts_sum_inv * dprobs  # counts is used twice: first use
    dcounts_sum = -counts_sum ** -2 * dcounts_sum_inv
    dcounts += torch.ones_like(counts) * dcounts_sum  # second use
    dnorm_logits = counts * dcounts
    dlogit_maxes = -dnorm_logits.sum(1, keepdim=True)
    dlogits = dnorm_logits.clone()  # logits is used twice
    dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) * dlogit_maxes
    # second linear layer
    dh = dlogits @ W2.T
    dW2 = h.T @ dlogits
    db2 = dlogits.sum(0)
    # tanh
    dhpreact = (1.0 - h ** 2) * dh
    # BatchNorm, one step at a time
    dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
    dbnbias = dhpreact.sum(0, keepdim=True)
    dbnraw = bngain * dhpreact
    dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)
    dbndiff = bnvar_inv * dbnraw  # bndiff is used twice: first use
    dbnvar = -0.5 * (bnvar + EPS) ** -1.5 * dbnvar_inv
    dbndiff2 = torch.ones_like(bndiff2) * dbnvar / (n - 1)  # Bessel's n - 1
    dbndiff += 2 * bndiff * dbndiff2  # second use
    dbnmeani = -dbndiff.sum(0, keepdim=True)
    dhprebn = dbndiff.clone()  # hprebn is used twice
    dhprebn += torch.ones_like(hprebn) * dbnmeani / n
    # first linear layer, concatenation and embedding
    dembcat = dhprebn @ W1.T
    dW1 = embcat.T @ dhprebn
    db1 = dhprebn.sum(0)
    demb = dembcat.view(emb.shape)
    dC = torch.zeros_like(C)
    dC.index_add_(0, Xb.view(-1), demb.view(-1, C.shape[1]))  # rows used often add up
    return {"dlogprobs": dlogprobs, "dprobs": dprobs, "dcounts_sum_inv": dcounts_sum_inv,
            "dcounts_sum": dcounts_sum, "dcounts": dcounts, "dnorm_logits": dnorm_logits,
            "dlogit_maxes": dlogit_maxes, "dlogits": dlogits, "dh": dh, "dW2": dW2,
            "db2": db2, "dhpreact": dhpreact, "dbngain": dbngain, "dbnbias": dbnbias,
            "dbnraw": dbnraw, "dbnvar_inv": dbnvar_inv, "dbnvar": dbnvar,
            "dbndiff2": dbndiff2, "dbndiff": dbndiff, "dbnmeani": dbnmeani,
            "dhprebn": dhprebn, "dembcat": dembcat, "dW1": dW1, "db1": db1, "demb": demb,
            "dC": dC}


def dlogits_fused(probs, Yb):
    # d(mean cross-entropy)/dlogits: the softmax minus the one-hot labels, over n
    n = probs.shape[0]
    dlogits = probs.clone()
    dlogits[torch.arange(n), Yb] -= 1.0
    return dlogits / n


def dhprebn_fused(dhpreact, hprebn, bngain):
    # BatchNorm's backward pass in one expression, with the unbiased variance:
    # the factor n / (n - 1) in front of the last term is Bessel's
    n = hprebn.shape[0]
    bndiff = hprebn - hprebn.mean(0, keepdim=True)
    bnvar_inv = (bndiff.pow(2).sum(0, keepdim=True) / (n - 1) + EPS) ** -0.5
    bnraw = bndiff * bnvar_inv
    return bngain * bnvar_inv / n * (
        n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))


def backward_pass(cache):
    # the parameters' gradients, with the fused steps of exercises 2 and 3
    Xb, C, W1, W2, bngain = (cache[k] for k in ("Xb", "C", "W1", "W2", "bngain"))
    emb, embcat, bnraw, h = (cache[k] for k in ("emb", "embcat", "bnraw", "h"))
    dlogits = dlogits_fused(cache["probs"], cache["Yb"])
    dh = dlogits @ W2.T
    dW2 = h.T @ dlogits
    db2 = dlogits.sum(0)
    dhpreact = (1.0 - h ** 2) * dh
    dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
    dbnbias = dhpreact.sum(0, keepdim=True)
    dhprebn = dhprebn_fused(dhpreact, cache["hprebn"], bngain)
    dW1 = embcat.T @ dhprebn
    db1 = dhprebn.sum(0)
    demb = (dhprebn @ W1.T).view(emb.shape)
    dC = torch.zeros_like(C)
    dC.index_add_(0, Xb.view(-1), demb.view(-1, C.shape[1]))
    return {"dW2": dW2, "db2": db2, "dbngain": dbngain, "dbnbias": dbnbias, "dW1": dW1,
            "db1": db1, "dC": dC}
