"""The three cells by name, and for each one a step that advances many sequences at once
(the simulated futures of the CSV mode's interval, lab/series.py). The cells' own files
run one sequence at a time, as the article does; these steps are the same equations on
a batch, each row a sequence, and the tests hold them equal to each cell's forward pass.
"""
import numpy as np

import gru_cos
import lstm_cos
import rnn_cos
from lstm_cos import sigmoid

CELLS = {"rnn": rnn_cos, "lstm": lstm_cos, "gru": gru_cos}


def rnn_step(params, x, h):
    """One step of P sequences of the plain RNN: x (P,) the inputs x_t, h (P,H) the
    states h_{t-1} as rows; returns h_t (P,H). The output of each is y_t = Why h_t + by."""
    Wxh, Whh, bh = params["Wxh"][:, 0], params["Whh"], params["bh"][:, 0]
    return np.tanh(x[:, None] * Wxh + h @ Whh.T + bh)    # h_t = tanh(Wxh x_t + Whh h_{t-1} + bh)


def lstm_step(params, x, state):
    """One step of P sequences of the LSTM: x (P,), state = (h, C), each (P,H) with a
    row per sequence; returns (h_t, C_t)."""
    h, c = state
    H = h.shape[1]

    def pre(g):                                          # W_g [h_{t-1}; x_t] + b_g
        W = params[f"W{g}"]
        return h @ W[:, :H].T + x[:, None] * W[:, H] + params[f"b{g}"][:, 0]

    with np.errstate(over="ignore"):                     # sigmoid of a << 0 is 0
        f, i, o = sigmoid(pre("f")), sigmoid(pre("i")), sigmoid(pre("o"))
    c = f * c + i * np.tanh(pre("c"))                    # C_t = f_t C_{t-1} + i_t C~_t
    return o * np.tanh(c), c                             # h_t = o_t tanh(C_t)


def gru_step(params, x, h):
    """One step of P sequences of the GRU: x (P,), h (P,H) with a row per sequence;
    returns h_t (P,H)."""
    H = h.shape[1]
    Wz, Wr, Wh = params["Wz"], params["Wr"], params["Wh"]
    with np.errstate(over="ignore"):                     # sigmoid of a << 0 is 0
        z = sigmoid(h @ Wz[:, :H].T + x[:, None] * Wz[:, H] + params["bz"][:, 0])
        r = sigmoid(h @ Wr[:, :H].T + x[:, None] * Wr[:, H] + params["br"][:, 0])
    hc = np.tanh((r * h) @ Wh[:, :H].T + x[:, None] * Wh[:, H] + params["bh"][:, 0])
    return h + z * (hc - h)                              # (1 - z_t) h_{t-1} + z_t h~_t


STEPS = {rnn_cos.NAME: rnn_step, lstm_cos.NAME: lstm_step, gru_cos.NAME: gru_step}


def batched_step(model):
    """The batched step of a cell: its own `step` if it has one (the tests' hand-built
    linear cell), else the one above."""
    return getattr(model, "step", None) or STEPS[model.NAME]
