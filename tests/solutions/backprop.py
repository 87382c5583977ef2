"""Reference solutions to the exercises of the chapter *Backpropagation by hand*."""

import math

import torch


def sigmoid_backward(a):
    """Write the derivative in terms of the output, sigma(a)(1 - sigma(a)), and compute the
    output with `torch.sigmoid`, which never overflows. The form e^-a / (1 + e^-a)^2 is the
    same function on paper, but at a = -800 it computes inf / inf = NaN."""
    s = torch.sigmoid(a)
    return s * (1 - s)


# L = (a*b + a) * a uses a three times. Along each path, multiply the local derivatives:
#   the last product, directly:        a*b + a  = 4.5
#   through a*b, then the last product: b * a    = 1.5
#   through the + node, then the product:   1 * a = 3
# The paths add up (the backward pass uses +=): 4.5 + 1.5 + 3 = 9, which is 2ab + 2a.
dL_da = 9.0


def softplus(x):
    """A new node whose value is log(1 + e^x) and whose input is x. Its local derivative,
    e^x / (1 + e^x), is the sigmoid of x; the backward closure multiplies it by the gradient
    arriving from above and adds it to x's gradient, as every op of the engine does."""
    from utils.autograd import Value
    out = Value(math.log1p(math.exp(x.data)), _parents=(x,), _op="softplus")

    def _backward():
        x.grad += 1 / (1 + math.exp(-x.data)) * out.grad
    out._backward = _backward
    return out


# (x + h)^3 - (x - h)^3 = 6 x^2 h + 2 h^3 (the even powers of h cancel), so the central
# difference is 3x^2 + h^2: its error is h^2 = 0.01 at every x, for f(x) = x^3. (The Taylor
# remainder f'''(x) h^2 / 6 says the same, with f''' = 6.)
central_error = 0.01
