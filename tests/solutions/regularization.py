"""Reference solutions to the exercises of the regularization chapters (tests only)."""

import torch


def l1_prox_step(w, grad, lr, weight_decay):
    """Per coordinate, the minimiser of (u - v)^2 / 2 + t |u| with t = lr * weight_decay
    is v moved towards zero by t, or zero if |v| <= t (soft-thresholding)."""
    v = w - lr * grad                        # the gradient step on the data loss alone
    t = lr * weight_decay                    # how far one step of the penalty moves a weight
    return torch.sign(v) * torch.clamp(v.abs() - t, min=0)


# With no data gradient, the gradient Adam sees is the penalty's alone, g = 0.02 w, which
# keeps its sign and changes slowly (w moves by a tenth of its size at most). Adam divides
# m_hat by sqrt(v_hat): for a steady gradient both are about g, so each step is about lr =
# 0.01 whatever the penalty's strength. 50 steps: 5 - 50 * 0.01 = 4.5. (AdamW would shrink
# by (1 - 0.01 * 0.02) per step: 4.95.)
adam_l2_weight = 4.5


# The checker's AdamW runs (lr 1e-3, 1500 steps, matrices decayed) end with final
# validation losses 0.333, 0.295, 0.273, 0.284 and 0.451 for weight_decay 0.1, 0.3, 1, 3
# and 10: weaker decay still overfits, stronger decay underfits.
adamw_best_decay = 1.0


def train_with_early_stopping(model, train_epoch, val_loss, max_epochs, patience, path):
    best, best_epoch, bad = float("inf"), None, 0
    for epoch in range(1, max_epochs + 1):
        train_epoch(model)
        loss = val_loss(model)
        if loss < best:
            best, best_epoch, bad = loss, epoch, 0
            torch.save(model.state_dict(), path)
        else:
            bad += 1
            if bad == patience:
                break
    model.load_state_dict(torch.load(path))
    return best_epoch, best


def dropout_forward(x, mask, p, training):
    if not training:
        return x                       # inverted dropout: inference is the identity
    return x * mask / (1 - p)          # kept units scaled by 1 / (keep probability)


# Each entry is 1 / (1 - p) with probability 1 - p and 0 otherwise: mean 1, mean square
# 1 / (1 - p), so the variance is 1 / (1 - p) - 1 = p / (1 - p) = 0.36 / 0.64 and the
# standard deviation sqrt(0.5625) = 0.75.
dropout_std = 0.75
