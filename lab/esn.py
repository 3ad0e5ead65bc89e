"""The control that isolates the optimiser from the recurrence: an echo-state network.

    x_t = tanh(W_in u_t + b + W x_{t-1})        a fixed random recurrent layer of N units
    y_t = w . [1, u_t, x_t]                     the readout, the one thing fitted

Its recurrent layer is drawn once and never trained; only its readout is fitted, by
ridge least squares (exact, in one solve). It is a recurrent network with no gradient
descent at all: beside the network trained by Adagrad and the polynomial window model
fitted exactly, it tells whether what decides a comparison is the model class (a
recurrence, or a window), or the way it is fitted (an exact solve, or 100,000 noisy
steps). Jaeger (2001) introduced it; the usual practice is followed here: W scaled to a
spectral radius rho below or near 1, so that the state forgets its start (the "echo
state" property), the inputs and biases scaled by s, a washout of the first rows before
the readout is fitted, and N, rho, s and the ridge chosen on validation rows.

As the window models of lab/poly.py, it reads the series' levels or its changes, in
units of the training rows' spread, chooses everything on the validation rows, refits
its readout on the whole training part and is tested on the held-out rows.
"""
import functools
from typing import NamedTuple

import numpy as np

SIZES = (50, 200, 400)         # N, the reservoir's units
RADII = (0.6, 0.8, 0.95, 1.0)  # rho, W's spectral radius
SCALES = (0.2, 1.0, 3.0)       # s: W_in and b uniform on [-s, s]
RIDGES = (1e-12, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2)   # times the mean diagonal of X^T X
WASHOUT = 100                  # rows of states read and not fitted: the start forgotten
ESN_ROWS = 1000                # the readout is fitted on at most the last 1,000 rows


class Reservoir(NamedTuple):
    """A drawn reservoir: W (N, N) of spectral radius rho, W_in and b (N,)."""
    W: np.ndarray
    W_in: np.ndarray
    b: np.ndarray


@functools.lru_cache(maxsize=8)       # one eigendecomposition per (N, seed)
def base(N, seed):
    return draw(N, np.random.default_rng([seed, N]))


def draw(N, rng):
    """A reservoir of N units, of spectral radius 1 and scale 1: W normal, rescaled to
    spectral radius 1; W_in and b uniform on [-1, 1]. scaled() gives its (rho, s)."""
    W = rng.standard_normal((N, N))
    W /= np.max(np.abs(np.linalg.eigvals(W)))
    return Reservoir(W, rng.uniform(-1, 1, N), rng.uniform(-1, 1, N))


def scaled(res, rho, s):
    """The same reservoir with W of spectral radius rho and W_in, b on [-s, s]."""
    return Reservoir(rho * res.W, s * res.W_in, s * res.b)


def states(res, u, settings=((1.0, 1.0),)):
    """x_t for each input u_t of u (m,), from x_0 = 0, of the reservoir res scaled to
    each (rho, s) of settings (scaled(res, rho, s)), all stepped at once: (K, m, N)."""
    rho, s = (np.array(v, dtype=float)[:, None] for v in zip(*settings))   # (K, 1)
    x = np.zeros((len(settings), len(res.b)))
    out = np.empty((len(settings), len(u), len(res.b)))
    drive = s[:, None] * (np.outer(u, res.W_in) + res.b)    # s (W_in u_t + b), every t
    for t in range(len(u)):
        x = out[:, t] = np.tanh(drive[:, t] + rho * (x @ res.W.T))
    return out


def features(u, xs):
    """The readout's inputs [1, u_t, x_t], one row per t."""
    return np.column_stack([np.ones(len(u)), u, xs])


def ridge_solutions(X, y, ridges=RIDGES):
    """The ridge least-squares readouts w minimising |X w - y|^2 + lam |w|^2, lam = r
    times the mean diagonal of X^T X, for each r of ridges, from one SVD X = U S V^T:
    w = V diag(s / (s^2 + lam)) U^T y. (Not by solving with X^T X, whose condition
    number is the square of X's: at the smallest ridges its rounding errors would
    change the third digit of the result with the number of BLAS threads.)"""
    U, sv, Vt = np.linalg.svd(X, full_matrices=False)
    proj = U.T @ y
    scale = np.sum(sv ** 2) / X.shape[1]                # trace(X^T X) / columns
    return [Vt.T @ (sv * proj / (sv ** 2 + r * scale)) for r in ridges]


class ESN(NamedTuple):
    """A fitted echo-state network: its reservoir, its readout w, what it reads (levels
    or changes, in the units the series was given in) and its settings."""
    res: Reservoir
    w: np.ndarray
    changes: bool
    N: int
    rho: float
    s: float
    ridge: float

    def one_step(self, y, rows):
        """Predictions of y[t] for the rows (increasing), each from the true values before
        it: the reservoir reads the series from ESN_ROWS + WASHOUT rows before the first."""
        rows = np.asarray(rows)
        v = np.diff(y) if self.changes else np.asarray(y, dtype=float)
        last = rows[-1] - 1 - self.changes            # the last input read
        start = max(0, rows[0] - 1 - self.changes - ESN_ROWS - WASHOUT)
        u = v[start:last + 1]
        out = features(u, states(self.res, u)[0]) @ self.w  # predicts v[start + 1 + k]
        k = rows - 1 - self.changes - start              # reading v[t - 1 - changes]
        return y[rows - 1] + out[k] if self.changes else out[k]


def washout(rows):
    """The states read and not fitted: WASHOUT, or half the rows of a short series."""
    return min(WASHOUT, rows // 2)


def fit(res, v, end, ridges=RIDGES):
    """Readouts (one per ridge) of reservoir res on the values v[:end]: each state after
    reading v[t] predicts v[t + 1]; the first states (washout) are not fitted, and on a
    long series the fit reads its last ESN_ROWS rows."""
    start = max(0, end - 1 - ESN_ROWS - WASHOUT)
    u = v[start:end - 1]
    cut = washout(len(u))
    return ridge_solutions(features(u, states(res, u)[0])[cut:], v[start + 1 + cut:end],
                           ridges)


def choose(y, n_fit, n_train, seed):
    """The echo-state network a practitioner would keep: levels or changes, N, rho, s
    and the ridge, each combination's readout fitted on the fit rows y[:n_fit] and
    scored by its one-step RMSE on the validation rows [n_fit, n_train); the best
    refitted on the whole training part. Nothing after n_train is read; the reservoir
    of each N is drawn from seed once, and scaled to each (rho, s). Returns (the ESN,
    its validation RMSE)."""
    y = np.asarray(y, dtype=float)
    val_rows = np.arange(n_fit, n_train)
    best = (np.inf, None)
    settings = [(rho, s) for rho in RADII for s in SCALES]
    for N, changes in ((N, c) for N in SIZES for c in (False, True)):
        if changes and val_rows[0] < 2:
            continue
        v = np.diff(y[:n_train]) if changes else y[:n_train]
        end = n_fit - changes                         # the fit rows' values: v[:end]
        start = max(0, end - 1 - ESN_ROWS - WASHOUT)
        u = v[start:len(v) - 1]                       # read through the validation rows
        cut = washout(end - 1 - start)
        i = val_rows - 1 - changes - start            # the row that predicts y[t]
        for (rho, s), xs in zip(settings, states(base(N, seed), u, settings)):
            F = features(u, xs)                       # row i predicts v[start + 1 + i]
            ws = ridge_solutions(F[cut:end - 1 - start], v[start + 1 + cut:end])
            for r, w in zip(RIDGES, ws):
                with np.errstate(all="ignore"):
                    pred = F[i] @ w + (y[val_rows - 1] if changes else 0)
                    score = float(np.sqrt(np.mean((pred - y[val_rows]) ** 2)))
                if score < best[0]:
                    best = (score, ESN(scaled(base(N, seed), rho, s), w, changes, N, rho,
                                       s, r))
    score, m = best
    if m is None:
        return None, float("nan")
    v = np.diff(y[:n_train]) if m.changes else y[:n_train]
    return m._replace(w=fit(m.res, v, len(v), (m.ridge,))[0]), score


def label(m):
    """'echo-state network, 200 units (rho 0.95, s 0.2, ridge 1e-08), on the levels'."""
    return (f"echo-state network, {m.N} units (rho {m.rho:g}, s {m.s:g}, ridge "
            f"{m.ridge:g}), on the {'changes' if m.changes else 'levels'}")
