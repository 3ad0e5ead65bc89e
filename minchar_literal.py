"""The vanilla RNN written the way the article (and min-char-rnn) writes it: dicts xs,
hs, ys indexed by time, column vectors, every weight gradient summed inside the
backward loop, and Adagrad one array at a time with zip-like loops over the weights,
their gradients and their memories.

Read it next to rnn_cos.py's lossFun, the same computation written for speed: there
only the truly sequential work stays in the time loops, and each weight gradient is
one matrix product after them. The tests (tests/test_rnn_gradients.py,
tests/test_training.py) hold the two equal, gradient for gradient and weight for
weight over training runs; benchmarks/bench_train.py times them side by side.
"""
import numpy as np


def lossFun_literal(params, inputs, targets, hprev):
    """Same contract as rnn_cos.lossFun: returns (loss, grads, h_last)."""
    Wxh, Whh, Why, bh, by = (params[k] for k in ("Wxh", "Whh", "Why", "bh", "by"))
    T = len(inputs)
    xs, hs, ys = {}, {}, {}
    hs[-1] = np.copy(hprev)
    loss = 0.0
    for t in range(T):
        xs[t] = np.array([[inputs[t]]])                           # (1,1)
        hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t - 1]) + bh)
        ys[t] = np.dot(Why, hs[t]) + by                           # (1,1)
        loss += (ys[t][0, 0] - targets[t]) ** 2 / T
    dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    dbh, dby = np.zeros_like(bh), np.zeros_like(by)
    dhnext = np.zeros_like(hs[0])
    for t in reversed(range(T)):
        dy = 2.0 * (ys[t] - targets[t]) / T
        dWhy += np.dot(dy, hs[t].T)
        dby += dy
        dh = np.dot(Why.T, dy) + dhnext
        dhraw = (1 - hs[t] * hs[t]) * dh
        dbh += dhraw
        dWxh += np.dot(dhraw, xs[t].T)
        dWhh += np.dot(dhraw, hs[t - 1].T)
        dhnext = np.dot(Whh.T, dhraw)
    grads = dict(Wxh=dWxh, Whh=dWhh, Why=dWhy, bh=dbh, by=dby)
    return loss, grads, hs[T - 1]


def adagrad_literal(params, grads, mem, learning_rate):
    """min-char-rnn's parameter update, one array at a time."""
    for k in params:
        np.clip(grads[k], -5, 5, out=grads[k])
        mem[k] += grads[k] * grads[k]
        params[k] += -learning_rate * grads[k] / np.sqrt(mem[k] + 1e-8)
