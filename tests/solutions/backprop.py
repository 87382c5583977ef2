"""Reference solutions to the exercises of the chapter *Backpropagation by hand* (tests only)."""

import torch


def sigmoid_backward(a):
    s = torch.sigmoid(a)
    return s * (1 - s)


def logistic_gradient(theta, x, y_star):
    y = torch.sigmoid(theta @ x)
    return (y - y_star) * x          # minus (y* - y) x: the loss is -J


def central_difference(f, x, h):
    grad = torch.empty_like(x)
    for i in range(len(x)):
        step = torch.zeros_like(x)
        step[i] = h
        grad[i] = (f(x + step) - f(x - step)) / (2 * h)
    return grad
