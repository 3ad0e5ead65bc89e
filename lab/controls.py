"""Two more controls for the CSV mode (python -m lab.series --controls), each changing one
thing of the network's comparison with the window models:

readout    the trained network, its readout (Why, by) fitted again by least squares on
           the fit rows, its recurrent weights as Adagrad left them: does the network
           lose to the polynomial in what its hidden state holds, or only in how well its
           last layer was fitted?
ff         a feed-forward network on the polynomial model's window (its last p values,
           levels or changes as the polynomial chose), one tanh layer of the network's
           size, trained by Adagrad with the network's budget (as many steps, each on as
           many targets as a window of --steps holds; its learning rate, annealing and
           clipping) and its weights kept at the best of 100 checks on the validation
           rows, as the network's are: the window model's inputs, the network's way of
           fitting. Against the polynomial it isolates the optimiser; against the
           network, the recurrence.

Both read the series in the network's representation (normalised levels or changes),
choose nothing on the held-out rows, and are scored there as the network is.
"""
import numpy as np

import rnn_cos
from lab.poly import lagged

CHECKS = 100         # the feed-forward network's weights are checked on validation this often


def readout_refit(model, params, z, fit_targets):
    """The network's one-step outputs on z (its normalised input series, read from the
    zero state), with its readout fitted again by least squares: the hidden state h_t
    after reading z[t] predicts z[t + 1], fitted on the rows fit_targets (indices t + 1
    into z). Returns the outputs, out[t] predicting z[t + 1], shape (len(z),)."""
    H = params["Why"].shape[1]
    hs = model.forward(params, z, model.init_state(H))[0][1:]       # h_t after z[t]
    X = np.column_stack([np.ones(len(z)), hs])
    rows = np.asarray(fit_targets) - 1
    coef, *_ = np.linalg.lstsq(X[rows], z[rows + 1], rcond=None)
    return X @ coef


def windows_of(v, p):
    """The inputs [v[t-1], ..., v[t-p]] (newest first) and the target v[t], for t = p,
    ..., len(v) - 1."""
    rows = np.arange(p, len(v))
    return lagged(v, p, rows), v[rows]


def ff_init(p, H, rng):
    """min-char-rnn's scale: small random weights, zero biases."""
    return dict(W1=rng.standard_normal((H, p)) * 0.01, b1=np.zeros(H),
                w2=rng.standard_normal(H) * 0.01, b2=np.zeros(1))


def ff_forward(params, X):
    h = np.tanh(X @ params["W1"].T + params["b1"])           # (n, H)
    return h, h @ params["w2"] + params["b2"][0]


def ff_lossFun(params, X, targets):
    """The mean squared error of a batch and its gradients (the network's loss)."""
    h, y = ff_forward(params, X)
    dy = 2.0 * (y - targets) / len(y)                        # dL/dy
    dh = np.outer(dy, params["w2"]) * (1 - h * h)            # back through the tanh
    return float(np.mean((y - targets) ** 2)), dict(
        W1=dh.T @ X, b1=dh.sum(axis=0), w2=h.T @ dy, b2=np.array([dy.sum()]))


class Batches:
    """Random batches of the rows (X, targets), handed to rnn_cos.train as its data
    classes hand out windows: next_batch(n), n rows drawn with replacement."""

    def __init__(self, X, targets, rng):
        self.X, self.targets, self.rng = X, targets, rng

    def next_batch(self, n):
        pick = self.rng.integers(0, len(self.X), n)
        return self.X[pick], self.targets[pick]


def ff_train(X, targets, val_X, val_score, H, iters, batch, lr, anneal, clip, rng):
    """The network's own loop (rnn_cos.train: Adagrad, clipping, the rate annealed) on
    random batches of (X, targets); its hook keeps the weights of the best of CHECKS
    checks of val_score(weights). Returns (the kept weights, their validation score)."""
    params = ff_init(X.shape[1], H, rng)
    every = max(1, iters // CHECKS)
    best = [val_score(params, val_X), {k: v.copy() for k, v in params.items()}]

    def check(n, loss, params):
        if (n + 1) % every == 0 or n + 1 == iters:
            score = val_score(params, val_X)
            if score < best[0]:
                best[:] = score, {k: v.copy() for k, v in params.items()}

    rnn_cos.train(lambda p, inputs, targets, h: (*ff_lossFun(p, inputs, targets), h),
                  params, Batches(X, targets, rng), None, iters, batch, lr, "reset",
                  anneal, clip, on_step=check)
    return best[1], best[0]


def feed_forward(y, n_fit, n_train, p, changes, H, args, seed):
    """The feed-forward control on the window of p values (changes: of the changes) of
    y: trained on the fit rows, its weights chosen on the validation rows, then its
    one-step predictions of every row from p (p + 1 for the changes) on, NaN before.
    Returns (predictions (len(y),), its validation RMSE)."""
    v = np.diff(y) if changes else np.asarray(y, dtype=float)
    mean, std = float(np.mean(v[:n_fit - changes])), float(np.std(v[:n_fit - changes]))
    vn = (v - mean) / std                                    # the network's normalisation
    X, targets = windows_of(vn, p)                           # row i: the target vn[p + i]
    fit = np.arange(len(targets)) < n_fit - changes - p      # targets among the fit rows
    val_rows = np.arange(n_fit, n_train)

    def predict(params, X_all):
        out = np.full(len(y), np.nan)
        g = ff_forward(params, X_all)[1] * std + mean        # predicts v[p + i]
        if changes:
            out[p + 1:] = y[p:-1] + g                        # y[t] = y[t-1] + v[t-1]
        else:
            out[p:] = g
        return out

    def val_score(params, X_all):
        pred = predict(params, X_all)[val_rows]
        return float(np.sqrt(np.mean((pred - y[val_rows]) ** 2)))

    params, val = ff_train(X[fit], targets[fit], X, val_score, H, args.iters, args.steps,
                           args.lr, args.anneal, 5.0, np.random.default_rng(seed))
    return predict(params, X), val
