"""The article's program, rnn_cos_minimal.py, as the tests' oracle: its lossFun and its
training loop read the weights from module-level arrays, as min-char-rnn's do, so these
helpers set those arrays from a dict of weights and read them back."""
import numpy as np

import rnn_cos_minimal as minimal

NAMES = ("Wxh", "Whh", "Why", "bh", "by")


def set_weights(params):
    """Make rnn_cos_minimal's weights copies of params (a dict with NAMES)."""
    for k in NAMES:
        setattr(minimal, k, np.array(params[k], dtype=float, copy=True))
    minimal.hidden_size = params["Whh"].shape[0]


def weights():
    """rnn_cos_minimal's weights now, as a dict of copies."""
    return {k: getattr(minimal, k).copy() for k in NAMES}


def lossFun_literal(params, inputs, targets, hprev):
    """rnn_cos_minimal.lossFun with the weights params, in rnn_cos.lossFun's contract:
    returns (loss, grads, h_last)."""
    set_weights(params)
    loss, dWxh, dWhh, dWhy, dbh, dby, h = minimal.lossFun(inputs, targets, hprev)
    return loss, dict(Wxh=dWxh, Whh=dWhh, Why=dWhy, bh=dbh, by=dby), h


def adagrad_literal(params, grads, mem, learning_rate):
    """min-char-rnn's parameter update, one array at a time, as rnn_cos_minimal.train
    makes it."""
    for k in params:
        np.clip(grads[k], -5, 5, out=grads[k])
        mem[k] += grads[k] * grads[k]
        params[k] += -learning_rate * grads[k] / np.sqrt(mem[k] + 1e-8)
