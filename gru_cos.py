"""A GRU, in plain NumPy, that learns to predict the next value of a noisy cosine from the
values before it: rnn_cos.py with the tanh cell swapped for a gated recurrent unit. The
data, Adagrad, the training loop, the command line and the outputs are the same
(rnn_cos.py trains it with this file's lossFun).

Run it:

    python gru_cos.py            # trains, evaluates, forecasts, writes results/gru/
    python gru_cos.py --help     # every option

The cell, acting on the concatenation [h_{t-1}; x_t]:
    z_t = sigmoid(Wz [h_{t-1}; x_t] + bz)            update gate
    r_t = sigmoid(Wr [h_{t-1}; x_t] + br)            reset gate
    h~_t = tanh(Wh [r_t * h_{t-1}; x_t] + bh)        candidate state
    h_t = (1 - z_t) * h_{t-1} + z_t * h~_t           hidden state
    y_t = Why h_t + by                               output
Where z_t is near 0 the unit keeps h_{t-1} as it is, and the gradient passes back through
it unchanged: the GRU's answer to vanishing gradients, with one state instead of two.
"""
import os
import signal
import sys

if __name__ == "__main__":        # a signal while NumPy loads: one line, exit 128 + it
    for s in (signal.SIGINT, signal.SIGTERM):                    # (print returns None)
        signal.signal(s, lambda n, f: os._exit(print("gru_cos.py: stopped by", signal.Signals(
            n).name, file=sys.stderr) or 128 + n))

import numpy as np  # noqa: E402 (after the signals)

import plot_results
import rnn_cos
from lstm_cos import sigmoid

# the RNN's defaults, but its own learning rate (the best median test MSE over 5 seeds
# in docs/lr_sweep.md) and its own folder
DEFAULTS = dict(rnn_cos.DEFAULTS, lr=0.001, out="results/gru")
NAME = "gru_cos"
PARAM_NAMES = ("Wz", "Wr", "Wh", "bz", "br", "bh", "Why", "by")


def init_params(H, rng):
    """Wz, Wr, Wh (H, H+1): the last column multiplies x_t; bz, br, bh (H,1); Why (1,H);
    by (1,1)."""
    p = {f"W{g}": rng.standard_normal((H, H + 1)) * 0.1 for g in "zrh"}
    p.update({f"b{g}": np.zeros((H, 1)) for g in "zrh"})
    p["Why"] = rng.standard_normal((1, H)) * 0.1
    p["by"] = np.zeros((1, 1))
    return {k: p[k] for k in PARAM_NAMES}


def init_state(hidden_size):
    """h_0 = 0, shape (H,1)."""
    return np.zeros((hidden_size, 1))


def forward(params, inputs, hprev):
    """Run the cell over inputs x_1..x_T (shape (T,)) from h_0 = hprev (H,1).

    Returns hs (T+1, H) with row t = h_t; zr (T, 2, H) with zr[t-1] = (z_t, r_t);
    hcs (T, H) with row t-1 = h~_t; and ys (T,).
    """
    x = np.asarray(inputs, dtype=float)
    T, H = len(x), hprev.shape[0]
    Wzr = np.vstack([params["Wz"], params["Wr"]])        # both gates in one product
    Wzr_h = np.ascontiguousarray(Wzr[:, :H])             # the parts acting on h
    Wh_h = np.ascontiguousarray(params["Wh"][:, :H])     # (contiguous copies: faster)
    xzr = x[:, None] * Wzr[:, H] + np.concatenate([params["bz"][:, 0], params["br"][:, 0]])
    xh = x[:, None] * params["Wh"][:, H] + params["bh"][:, 0]   # input terms, every t
    hs = np.empty((T + 1, H))
    hs[0] = hprev[:, 0]
    zr = np.empty((T, 2, H))
    hcs = np.empty((T, H))
    with np.errstate(over="ignore"):                     # sigmoid of a << 0 is 0
        for t in range(1, T + 1):
            h = hs[t - 1]
            z, r = zr[t - 1] = sigmoid((xzr[t - 1] + Wzr_h.dot(h)).reshape(2, H))
            hcs[t - 1] = np.tanh(xh[t - 1] + Wh_h.dot(r * h))    # h~_t
            hs[t] = h + z * (hcs[t - 1] - h)             # (1 - z_t) h_{t-1} + z_t h~_t
    ys = hs[1:] @ params["Why"][0] + params["by"][0, 0]  # y_t = Why h_t + by
    return hs, zr, hcs, ys


def lossFun(params, inputs, targets, hprev):
    """Forward pass, mean squared error and backpropagation through time.

    inputs, targets: (T,); hprev (H,1). Returns (loss, grads, h_last): loss = 1/T sum_t
    (y_t - target_t)^2, grads with the keys and shapes of params, h_last = h_T (H,1).
    """
    x = np.asarray(inputs, dtype=float)
    hs, zr, hcs, ys = forward(params, x, hprev)
    err = ys - targets
    loss = float(err @ err) / len(x)                     # L = 1/T sum_t (y_t - target_t)^2
    dy = 2.0 * err / len(x)                              # dL/dy_t
    grads, _ = backward(params, x, hs, zr, hcs, dy[:, None] * params["Why"][0])
    grads["Why"] = (dy @ hs[1:])[None, :]                # sum_t dy_t h_t^T
    grads["by"] = np.array([[dy.sum()]])                 # sum_t dy_t
    return loss, grads, hs[-1][:, None].copy()


def backward(params, x, hs, zr, hcs, dh_y):
    """Backpropagation through time from dh_y (T, H), row t-1 = the gradient reaching h_t
    from the output y_t. Returns the gradients of Wz, Wr, Wh, bz, br, bh and dhs (T, H),
    row t-1 = dL/dh_t."""
    T, H = len(x), hs.shape[1]
    Wzr_h = np.ascontiguousarray(np.vstack([params["Wz"], params["Wr"]])[:, :H])  # (2H, H)
    Wh_h = np.ascontiguousarray(params["Wh"][:, :H])                              # (H, H)
    hprev, z, r = hs[:-1], zr[:, 0], zr[:, 1]
    # what does not depend on the incoming gradient, for all t before the loop:
    from_dh_z = (hcs - hprev) * z * (1 - z)              # da_z = dh_t (h~_t - h_{t-1}) sigmoid'(a_z)
    from_dh_c = z * (1 - hcs ** 2)                       # da_h = dh_t z_t tanh'(a_h)
    from_drh_r = hprev * r * (1 - r)                     # da_r = d(r h)_t h_{t-1} sigmoid'(a_r)
    keep = 1 - z                                         # dh_{t-1} = dh_t (1 - z_t) + ...
    da_zr = np.empty((T, 2, H))                          # dL/d(a_z, a_r), per t
    da_c = np.empty((T, H))                              # dL/da_h, per t
    dhs = np.empty((T, H))
    dhnext = np.zeros(H)                                 # from step t+1 into h_t
    for t in range(T - 1, -1, -1):
        dh = dhs[t] = dh_y[t] + dhnext                   # dL/dh_t
        da_c[t] = dh * from_dh_c[t]                      # into the candidate's a_h
        drh = da_c[t].dot(Wh_h)                          # into r_t * h_{t-1}: Wh_h^T da_h
        da_zr[t, 0] = dh * from_dh_z[t]                  # into a_z
        da_zr[t, 1] = drh * from_drh_r[t]                # into a_r
        dhnext = (dh * keep[t] + drh * r[t]              # h_{t-1} directly, through r_t h_{t-1}
                  + da_zr[t].ravel().dot(Wzr_h))         # and through both gates
    # weight gradients as matrix products: dW = sum_t da_t [input of that product]^T
    dWzr = da_zr.reshape(T, 2 * H).T @ np.column_stack([hprev, x])    # rows [h_{t-1}; x_t]
    dWh = da_c.T @ np.column_stack([r * hprev, x])                      # rows [r_t h_{t-1}; x_t]
    dbzr = da_zr.sum(axis=0)
    grads = dict(Wz=dWzr[:H], Wr=dWzr[H:], Wh=dWh, bz=dbzr[0][:, None],
                 br=dbzr[1][:, None], bh=da_c.sum(axis=0)[:, None])
    return grads, dhs


def predict(params, inputs, h0=None):
    """One-step predictions from the true inputs (teacher forcing), from zeros."""
    if h0 is None:
        h0 = init_state(params["Why"].shape[1])
    return forward(params, inputs, h0)[3]


def forecast(params, seed_values, n_future, return_states=False):
    """Warm up on the seed values from zeros, then feed each prediction back in as the
    next input: returns the n_future predicted values (and with return_states the
    hidden states they come from, (n_future, H))."""
    Why, by = params["Why"][0], params["by"][0, 0]
    hs, _, _, _ = forward(params, seed_values, init_state(len(Why)))
    h = hs[-1]
    Wz, Wr, Wh = params["Wz"], params["Wr"], params["Wh"]
    bz, br, bh = params["bz"][:, 0], params["br"][:, 0], params["bh"][:, 0]
    out, states = np.empty(n_future), np.empty((n_future, len(Why)))
    with np.errstate(over="ignore"):                     # sigmoid of a << 0 is 0
        for n in range(n_future):
            states[n] = h
            out[n] = y = Why @ h + by                    # the prediction is the next input
            hx = np.append(h, y)                         # [h_{t-1}; x_t]
            z, r = sigmoid(Wz @ hx + bz), sigmoid(Wr @ hx + br)
            hc = np.tanh(Wh @ np.append(r * h, y) + bh)  # h~_t
            h = (1 - z) * h + z * hc
    return (out, states) if return_states else out


def main(argv=None):
    """python gru_cos.py [options]: rnn_cos.py's run with this cell; the exit status."""
    args = rnn_cos.parse_args(argv, DEFAULTS, "gru_cos.py", __doc__)
    with plot_results.folder(args.out, "gru_cos.py", not args.no_plot), \
            rnn_cos.stop_signals("gru_cos.py"):      # the folder is this run's; Ctrl-C
        data, params, losses = rnn_cos.run_training(lossFun, init_params, init_state, args)
        results = rnn_cos.evaluate(predict, forecast, params, data, args.steps)
        return rnn_cos.finish(NAME, args, params, losses, results, "gru_cos.py")


if __name__ == "__main__":
    sys.exit(main())
