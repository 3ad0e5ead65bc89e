"""The linear model every network here is compared with: an autoregression AR(p),

    y[t] = c + a_1 y[t-1] + ... + a_p y[t-p],

fitted by least squares, its order p chosen by AIC. It is what a practitioner fits
first, and on some series it is all there is to learn: a sampled cosine obeys
y[t+1] = 2 cos(r) y[t] - y[t-1] exactly, an AR(2) with no error at all. A recurrent
network earns its keep only where it beats this model.
"""
import numpy as np

AR_MAX_ORDER = 20    # p is chosen among 1..20 (at most a fifth of the rows)


def lags(y, p, rows):
    """The design matrix of AR(p) for the given rows t: [1, y[t-1], ..., y[t-p]]."""
    rows = np.asarray(rows)
    return np.column_stack([np.ones(len(rows))] + [y[rows - i] for i in range(1, p + 1)])


def fit_ar(y, p, first=None):
    """Least-squares AR(p) with an intercept, fitted on the rows t = first..len(y)-1
    (first = p by default). Returns the coefficients [c, a_1, ..., a_p] and the residual
    sum of squares."""
    rows = np.arange(p if first is None else first, len(y))
    X = lags(y, p, rows)
    coef, *_ = np.linalg.lstsq(X, y[rows], rcond=None)
    return coef, float(np.sum((X @ coef - y[rows]) ** 2))


def choose_ar(y_train):
    """The AR(p) a statistician would fit first: p from 1 to AR_MAX_ORDER (at most a
    fifth of the rows), each fitted on the same rows t >= p_max, with the smallest AIC
    = m log(RSS / m) + 2 (p + 1); then refitted on every row it can use. Returns
    (p, coefficients)."""
    p_max = max(1, min(AR_MAX_ORDER, len(y_train) // 5))
    m = len(y_train) - p_max
    with np.errstate(divide="ignore"):                  # RSS = 0: a perfect fit, -inf
        aic = [m * np.log(fit_ar(y_train, p, p_max)[1] / m) + 2 * (p + 1)
               for p in range(1, p_max + 1)]
    p = int(np.argmin(aic)) + 1
    return p, fit_ar(y_train, p)[0]


def ar_one_step(coef, y, rows):
    """AR predictions of y[t] for the given rows, from the true values before each."""
    return lags(y, len(coef) - 1, rows) @ coef


def ar_forecast(coef, history, n_future):
    """The AR model on its own after `history` (at least p values): each prediction is
    fed back as the newest value. Shape (n_future,)."""
    p = len(coef) - 1
    y = np.concatenate([np.asarray(history, dtype=float)[len(history) - p:],
                        np.empty(n_future)])
    for t in range(p, p + n_future):
        y[t] = coef[0] + coef[1:] @ y[t - p:t][::-1]     # c + a_1 y[t-1] + ... + a_p y[t-p]
    return y[p:]
