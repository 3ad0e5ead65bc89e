"""The plain RNN with ReLU units instead of tanh, for the memory experiments: the
article's "better activation functions", with the identity initialisation of Le, Jaitly
and Hinton (2015, "IRNN") in lab/tasks.py. Everything is rnn_cos.py's but the
nonlinearity:

    h_t = max(0, Wxh x_t + Whh h_{t-1} + bh)       ReLU instead of tanh
    y_t = Why h_t + by

and so its derivative in backpropagation through time: 1 where a unit is active
(h_t > 0), 0 where it is not, in place of tanh's 1 - h_t^2. With Whh = I and bh = 0 an
active unit keeps its value from step to step exactly, and the gradient passes back
through it unchanged: neither vanishes nor explodes while the units stay active.
"""
import numpy as np

import rnn_cos
from rnn_cos import init_params, init_state  # noqa: F401 (the same weights)

NAME = "relu_rnn"
DEFAULTS = rnn_cos.DEFAULTS
PARAM_NAMES = ("Wxh", "Whh", "Why", "bh", "by")


def forward(params, inputs, hprev):
    """hs (T+1, H) with hs[0] = h_0, and ys (T,): rnn_cos.forward with ReLU."""
    Wxh, Whh, Why, bh, by = (params[k] for k in PARAM_NAMES)
    x = np.asarray(inputs, dtype=float)
    xh = x[:, None] * Wxh[:, 0] + bh[:, 0]              # Wxh x_t + bh, every t at once
    hs = np.empty((len(x) + 1, Whh.shape[0]))
    hs[0] = hprev[:, 0]
    for t in range(1, len(x) + 1):
        np.maximum(xh[t - 1] + Whh.dot(hs[t - 1]), 0.0, out=hs[t])  # h_t = relu(...)
    return hs, hs[1:] @ Why[0] + by[0, 0]


def lossFun(params, inputs, targets, hprev):
    """(loss, grads, h_T) as rnn_cos.lossFun, L = 1/T sum_t (y_t - target_t)^2."""
    Whh, Why = params["Whh"], params["Why"]
    x = np.asarray(inputs, dtype=float)
    hs, ys = forward(params, x, hprev)
    T, err = len(x), ys - targets
    dy = 2.0 * err / T                                   # dL/dy_t
    dh_y = dy[:, None] * Why[0]                          # Why^T dy_t, into h_t
    active = (hs[1:] > 0).astype(float)                  # relu'(a_t): 1 if h_t > 0
    dhraw = np.empty_like(dh_y)
    dhnext = np.zeros(Whh.shape[0])
    for t in range(T, 0, -1):
        dhraw[t - 1] = active[t - 1] * (dh_y[t - 1] + dhnext)   # through the ReLU
        dhnext = Whh.T.dot(dhraw[t - 1])                 # into h_{t-1}: Whh^T dhraw_t
    grads = dict(Wxh=(dhraw.T @ x)[:, None], Whh=dhraw.T @ hs[:-1],
                 Why=(dy @ hs[1:])[None, :], bh=dhraw.sum(axis=0)[:, None],
                 by=np.array([[dy.sum()]]))
    return float(err @ err) / T, grads, hs[-1][:, None].copy()


def derivative(h):
    """relu'(a_t), from h_t = relu(a_t): 1 where the unit is active, 0 where not."""
    return (h > 0).astype(float)


def predict(params, inputs, h0=None):
    if h0 is None:
        h0 = init_state(params["Whh"].shape[0])
    return forward(params, inputs, h0)[1]


def hidden_gradients(params, inputs, target):
    """dL/dh_{T-k} for k = 0..T-1 (rows of a (T, H) array), L = (y_T - target)^2."""
    Whh, Why = params["Whh"], params["Why"]
    hs, ys = forward(params, inputs, init_state(Whh.shape[0]))
    dhs = np.empty((len(hs) - 1, Whh.shape[0]))
    dh = 2.0 * (ys[-1] - target) * Why[0]
    for k, t in enumerate(range(len(hs) - 1, 0, -1)):
        dhs[k] = dh
        dh = Whh.T.dot((hs[t] > 0) * dh)
    return dhs


def step(params, x, h):
    """One step of P sequences at once (as lab/cells.py's): x (P,), h (P,H) -> h_t."""
    Wxh, Whh, bh = params["Wxh"][:, 0], params["Whh"], params["bh"][:, 0]
    return np.maximum(x[:, None] * Wxh + h @ Whh.T + bh, 0.0)
