"""Reference solutions of Homework 1 (chapters/hw1_single_layer.ipynb).

They are kept out of ``utils/``, which students import, and out of the notebook, which is
published. The checkers in ``utils/exercises/hw1.py`` never use them: they compute their
references with PyTorch. ``tests/test_exercises.py`` runs every checker on these.
"""

import torch


def softmax(logits):
    # logits: (N, C) -> (N, C); subtracting each row's max changes nothing but the overflow
    e = torch.exp(logits - logits.max(dim=1, keepdim=True).values)  # (N, C)
    return e / e.sum(dim=1, keepdim=True)


def cross_entropy(logits, y):
    # logits: (N, C), y: (N,) labels -> mean over N of -log softmax(logits)[i, y[i]]
    m = logits.max(dim=1, keepdim=True).values  # (N, 1)
    logsumexp = m[:, 0] + torch.log(torch.exp(logits - m).sum(dim=1))  # (N,)
    return (logsumexp - logits[torch.arange(len(y)), y]).mean()


def backward(X, probs, Y):
    # X: (N, D), probs and Y: (N, C) -> dW (D, C), db (C,)
    dZ = (probs - Y) / len(X)  # (N, C)
    return X.T @ dZ, dZ.sum(dim=0)


def sgd_step(params, grads, lr):
    for p, g in zip(params, grads):
        p -= lr * g


# With weights of order 0.01 every logit is close to 0, so the softmax gives each of the
# C = 10 classes about the same probability, 1/10, and the loss of every example is about
# -log(1/10) = log(10) = 2.303. The logits are not exactly 0, so the measured loss differs
# from that by a few thousandths.
initial_loss = 2.3


def two_layer_gradients(X, Y, params):
    W1, b1, W2, b2 = params
    Hid = torch.tanh(X @ W1 + b1)  # (N, H)
    P = softmax(Hid @ W2 + b2)  # (N, C)
    dZ = (P - Y) / len(X)  # (N, C)
    dA = (dZ @ W2.T) * (1 - Hid**2)  # (N, H)
    return X.T @ dA, dA.sum(dim=0), Hid.T @ dZ, dZ.sum(dim=0)
