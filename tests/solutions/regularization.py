"""Reference solutions to the exercises of the regularization chapter (tests only)."""

import torch



def l2_term(params, weight_decay):
    weights = [p for p in params if p.dim() >= 2]
    penalty = weight_decay / 2 * sum((w ** 2).sum() for w in weights)
    grads = [weight_decay * p if p.dim() >= 2 else torch.zeros_like(p) for p in params]
    return penalty, grads


def dropout_forward(x, mask, p, training):
    if not training:
        return x                       # inverted dropout: inference is the identity
    return x * mask / (1 - p)          # kept units scaled by 1 / (keep probability)


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
