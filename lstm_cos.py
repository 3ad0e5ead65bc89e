"""An LSTM, in plain NumPy, that learns to predict the next value of a noisy cosine from
the values before it: rnn_cos.py with the tanh cell swapped for a long short-term memory
cell. The data, Adagrad, the training loop, the command line and the outputs are the
same (rnn_cos.py trains it with this file's lossFun).

Run it:

    python lstm_cos.py            # trains, evaluates, forecasts, writes results/lstm/
    python lstm_cos.py --help     # every option

The cell, in the notation of Olah's diagrams, acts on the concatenation [h_{t-1}; x_t]:
    f_t  = sigmoid(Wf [h_{t-1}; x_t] + bf)      forget gate
    i_t  = sigmoid(Wi [h_{t-1}; x_t] + bi)      input gate
    C~_t = tanh(Wc [h_{t-1}; x_t] + bc)         candidate values
    C_t  = f_t * C_{t-1} + i_t * C~_t           cell state
    o_t  = sigmoid(Wo [h_{t-1}; x_t] + bo)      output gate
    h_t  = o_t * tanh(C_t)                      hidden state
    y_t  = Why h_t + by                         output
A forget value f_t = 1 keeps C_{t-1} whole and f_t = 0 erases it: the gate says how much
to *keep*. Because C_t is a sum rather than a squashed product, the gradient can travel
back through C unchanged while f_t stays near 1: the fix for vanishing gradients.
"""
import os
import signal
import sys

if __name__ == "__main__":        # a signal while NumPy loads: one line, exit 128 + it
    for s in (signal.SIGINT, signal.SIGTERM):                    # (print returns None)
        signal.signal(s, lambda n, f: os._exit(print("lstm_cos.py: stopped by", signal.Signals(
            n).name, file=sys.stderr) or 128 + n))

import numpy as np  # noqa: E402 (after the signals)

import plot_results
import rnn_cos

# the RNN's defaults, but its own learning rate (the best median test MSE over 5 seeds
# in docs/lr_sweep.md) and its own folder
DEFAULTS = dict(rnn_cos.DEFAULTS, lr=0.1, out="results/lstm")
NAME = "lstm_cos"
GATES = ("o", "f", "i", "c")                 # output, forget, input gates; candidate C~
PARAM_NAMES = ("Wf", "Wi", "Wc", "Wo", "bf", "bi", "bc", "bo", "Why", "by")


def init_params(H, rng):
    """Wf, Wi, Wc, Wo (H, H+1): the last column multiplies x_t; bf, bi, bc, bo (H,1);
    Why (1,H); by (1,1). The forget bias starts at 1, so that the cell keeps most of its
    state from the start of training."""
    p = {f"W{g}": rng.standard_normal((H, H + 1)) * 0.1 for g in "fico"}
    p.update({f"b{g}": np.zeros((H, 1)) for g in "fico"})
    p["bf"][:] = 1.0
    p["Why"] = rng.standard_normal((1, H)) * 0.1
    p["by"] = np.zeros((1, 1))
    return {k: p[k] for k in PARAM_NAMES}


def init_state(hidden_size):
    """(h_0, C_0) = (0, 0), each (H,1)."""
    return np.zeros((hidden_size, 1)), np.zeros((hidden_size, 1))


def sigmoid(a):
    """1 / (1 + exp(-a)). For a below about -709, exp(-a) overflows to inf and the result
    is exactly 0, its limit: the callers silence that overflow (np.errstate)."""
    return 1.0 / (1.0 + np.exp(-a))


def stacked(params):
    """The four gate matrices stacked as one (4H, H+1) matrix W, in the order o, f, i, c
    (the three sigmoid gates first), and the biases as b (4H,): all four pre-activations
    of a step are then one product W [h_{t-1}; x_t] + b."""
    W = np.vstack([params[f"W{g}"] for g in GATES])
    b = np.concatenate([params[f"b{g}"][:, 0] for g in GATES])
    return W, b


def forward(params, inputs, state):
    """Run the cell over inputs x_1..x_T (shape (T,)) from state = (h_0, C_0).

    Returns hs, cs (T+1, H) with row t = h_t, C_t (row 0 the initial state), the gate
    values gates (T, 4, H) with gates[t-1] = (o_t, f_t, i_t, C~_t), and ys (T,).
    """
    W, b = stacked(params)
    x = np.asarray(inputs, dtype=float)
    T, H = len(x), W.shape[0] // 4
    Wh = np.ascontiguousarray(W[:, :H])                  # acts on h_{t-1} (contiguous: faster)
    xb = x[:, None] * W[:, H] + b                        # W_x x_t + b, every t at once
    hs, cs = np.empty((T + 1, H)), np.empty((T + 1, H))
    hs[0], cs[0] = state[0][:, 0], state[1][:, 0]
    gates = np.empty((T, 4, H))
    with np.errstate(over="ignore"):                     # sigmoid of a << 0 is 0
        for t in range(1, T + 1):
            a = (xb[t - 1] + Wh.dot(hs[t - 1])).reshape(4, H)  # all pre-activations
            o, f, i, cc = g = gates[t - 1]
            g[:3] = sigmoid(a[:3])                       # o_t, f_t, i_t
            g[3] = np.tanh(a[3])                         # C~_t
            cs[t] = f * cs[t - 1] + i * cc               # C_t = f_t C_{t-1} + i_t C~_t
            hs[t] = o * np.tanh(cs[t])                   # h_t = o_t tanh(C_t)
    ys = hs[1:] @ params["Why"][0] + params["by"][0, 0]  # y_t = Why h_t + by
    return hs, cs, gates, ys


def lossFun(params, inputs, targets, state):
    """Forward pass, mean squared error and backpropagation through time.

    inputs, targets: (T,); state = (h_0, C_0), each (H,1). Returns (loss, grads, state):
    loss = 1/T sum_t (y_t - target_t)^2, grads with the keys and shapes of params, and
    the last state (h_T, C_T).
    """
    x = np.asarray(inputs, dtype=float)
    hs, cs, gates, ys = forward(params, x, state)
    err = ys - targets
    loss = float(err @ err) / len(x)                     # L = 1/T sum_t (y_t - target_t)^2
    dy = 2.0 * err / len(x)                              # dL/dy_t
    grads, _ = backward(params, x, hs, cs, gates, dy[:, None] * params["Why"][0])
    grads["Why"] = (dy @ hs[1:])[None, :]                # sum_t dy_t h_t^T
    grads["by"] = np.array([[dy.sum()]])                 # sum_t dy_t
    return loss, grads, (hs[-1][:, None].copy(), cs[-1][:, None].copy())


def backward(params, x, hs, cs, gates, dh_y):
    """Backpropagation through time from dh_y (T, H), row t-1 = the gradient reaching h_t
    from the output y_t (Why^T dy_t). Returns the gradients of the gate weights and biases
    and dhs (T, H), row t-1 = dL/dh_t."""
    W, _ = stacked(params)
    T, H = len(x), W.shape[0] // 4
    o, f, i, cc = gates[:, 0], gates[:, 1], gates[:, 2], gates[:, 3]
    tanh_c = np.tanh(cs[1:])
    # what does not depend on the incoming gradient, for all t before the loop:
    dc_dh = o * (1 - tanh_c ** 2)                        # dC_t from dh_t: o_t tanh'(C_t)
    from_dh = tanh_c * o * (1 - o)                       # da_o = dh_t tanh(C_t) sigmoid'(a_o)
    from_dc = np.stack([cs[:-1] * f * (1 - f),           # da_f = dC_t C_{t-1} sigmoid'(a_f)
                        cc * i * (1 - i),                # da_i = dC_t C~_t sigmoid'(a_i)
                        i * (1 - cc ** 2)], axis=1)      # da_c = dC_t i_t tanh'(a_c)
    Wh = np.ascontiguousarray(W[:, :H])                  # (4H, H)
    da = np.empty((T, 4, H))                             # dL/d(pre-activations), per t
    dhs = np.empty((T, H))
    dhnext, dcnext = np.zeros(H), np.zeros(H)            # from step t+1 into h_t, C_t
    for t in range(T - 1, -1, -1):
        dh = dhs[t] = dh_y[t] + dhnext                   # dL/dh_t
        dc = dcnext + dh * dc_dh[t]                      # dL/dC_t
        da[t, 0] = from_dh[t] * dh                       # into a_o
        da[t, 1:] = from_dc[t] * dc                      # into a_f, a_i, a_c
        dcnext = dc * f[t]                               # C_t = f_t C_{t-1} + ...
        dhnext = da[t].ravel().dot(Wh)                   # back into h_{t-1}: Wh^T da_t
    # weight gradients as matrix products: dW = sum_t da_t [h_{t-1}; x_t]^T
    z = np.column_stack([hs[:-1], x])                    # rows [h_{t-1}; x_t]   (T, H+1)
    dW = da.reshape(T, 4 * H).T @ z                      # (4H, H+1)
    db = da.sum(axis=0)                                  # (4, H)
    grads = {}
    for n, g in enumerate(GATES):
        grads[f"W{g}"] = dW[n * H:(n + 1) * H]
        grads[f"b{g}"] = db[n][:, None]
    return grads, dhs


def predict(params, inputs, state=None):
    """One-step predictions from the true inputs (teacher forcing), from zeros."""
    if state is None:
        state = init_state(params["Why"].shape[1])
    return forward(params, inputs, state)[3]


def forecast(params, seed_values, n_future, return_states=False):
    """Warm up on the seed values from zeros, then feed each prediction back in as the
    next input: returns the n_future predicted values (and with return_states the
    hidden states h they come from, (n_future, H))."""
    W, b = stacked(params)
    Why, by = params["Why"][0], params["by"][0, 0]
    H = len(Why)
    hs, cs, _, _ = forward(params, seed_values, init_state(H))
    h, c = hs[-1], cs[-1]
    out, states = np.empty(n_future), np.empty((n_future, H))
    with np.errstate(over="ignore"):                     # sigmoid of a << 0 is 0
        for n in range(n_future):
            states[n] = h
            out[n] = y = Why @ h + by                    # the prediction ...
            a = (W.dot(np.append(h, y)) + b).reshape(4, H)  # ... is the next input x_{t+1}
            o, f, i = sigmoid(a[:3])
            c = f * c + i * np.tanh(a[3])                # C_t = f_t C_{t-1} + i_t C~_t
            h = o * np.tanh(c)                           # h_t = o_t tanh(C_t)
    return (out, states) if return_states else out


def main(argv=None):
    """python lstm_cos.py [options]: rnn_cos.py's run with this cell; the exit status."""
    args = rnn_cos.parse_args(argv, DEFAULTS, "lstm_cos.py", __doc__)
    with plot_results.folder(args.out, "lstm_cos.py", not args.no_plot), \
            rnn_cos.stop_signals("lstm_cos.py"):     # the folder is this run's; Ctrl-C
        data, params, losses = rnn_cos.run_training(lossFun, init_params, init_state, args)
        results = rnn_cos.evaluate(predict, forecast, params, data, args.steps)
        return rnn_cos.finish(NAME, args, params, losses, results, "lstm_cos.py")


if __name__ == "__main__":
    sys.exit(main())
