"""The linear model every network here is compared with: an autoregression AR(p),

    y[t] = c + a_1 y[t-1] + ... + a_p y[t-p],

fitted by least squares, its order p chosen by AIC. It is what a practitioner fits
first, and on some series it is all there is to learn: a sampled cosine obeys
y[t+1] = 2 cos(r) y[t] - y[t-1] exactly, an AR(2) with no error at all. A recurrent
network earns its keep only where it beats this model, and the polynomial one of
lab/poly.py, its nonlinear extension.
"""
import math

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


def choose_ar(y_train, max_order=AR_MAX_ORDER):
    """The AR(p) a statistician would fit first: p from 1 to max_order (at most a
    fifth of the rows), each fitted on the same rows t >= p_max, with the smallest AIC
    = m log(RSS / m) + 2 (p + 1); then refitted on every row it can use. Returns
    (p, coefficients)."""
    p_max = max(1, min(max_order, len(y_train) // 5))
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


def ar_changes(y_train):
    """AR(p) on the changes d[t] = y[t+1] - y[t] of y_train, p by AIC: (p, coefficients).
    Its prediction of y[t] is y[t-1] plus the predicted change."""
    return choose_ar(np.diff(y_train))


def ar_changes_one_step(coef, y, rows):
    """Predictions of y[t] for the given rows (each at least p + 1): the last true value
    plus the AR prediction of the change, from the true changes before it."""
    rows = np.asarray(rows)
    return y[rows - 1] + ar_one_step(coef, np.diff(y), rows - 1)


def ar_changes_forecast(coef, history, n_future):
    """The AR model of the changes on its own after `history`: its predicted changes
    are added up from the last value. Shape (n_future,)."""
    history = np.asarray(history, dtype=float)
    return history[-1] + np.cumsum(ar_forecast(coef, np.diff(history), n_future))


def predict(coef, y, rows, changes=False):
    """One-step predictions of y[rows] by AR(p) on the levels, or on the changes."""
    return ar_changes_one_step(coef, y, rows) if changes else ar_one_step(coef, y, rows)


def iterate(coef, history, n_future, changes=False):
    """AR(p) on the levels, or on the changes, on its own after `history`."""
    return (ar_changes_forecast if changes else ar_forecast)(coef, history, n_future)


# ---------------------------------------------------------------------------------------
# is one forecaster better than another, or is the difference noise?
def diebold_mariano(errors_a, errors_b):
    """The Diebold-Mariano test of equal accuracy of two one-step forecasts under squared
    error, with the small-sample correction of Harvey, Leybourne and Newbold (1997).

    d_t = a_t^2 - b_t^2; DM = mean(d) / sqrt(var(d) / n), var with divisor n (one step
    ahead: no autocovariances); corrected, DM* = DM sqrt((n - 1) / n), compared with
    Student's t with n - 1 degrees of freedom. Returns (DM*, two-sided p-value): DM* < 0
    when a is the more accurate. NaN, NaN when the two are identical."""
    d = np.asarray(errors_a, dtype=float) ** 2 - np.asarray(errors_b, dtype=float) ** 2
    n = len(d)
    var = float(np.mean((d - d.mean()) ** 2))
    if n < 3 or not var > 0:
        return float("nan"), float("nan")
    stat = float(d.mean() / np.sqrt(var / n) * np.sqrt((n - 1) / n))
    return stat, 2 * student_t_sf(abs(stat), n - 1)


def p_text(p):
    """A p-value as it can be trusted: 'p = 0.043', or 'p < 1e-6' below that (smaller
    values mean only that the difference is far beyond the noise)."""
    return "p < 1e-6" if np.isfinite(p) and p < 1e-6 else f"p = {p:.2g}"


def student_t_sf(t, df):
    """P(T > t) for Student's t with df degrees of freedom, t >= 0:
    I_x(df/2, 1/2) / 2 with x = df / (df + t^2), I the regularised incomplete beta."""
    return 0.5 * incomplete_beta(df / 2, 0.5, df / (df + t * t))


def incomplete_beta(a, b, x):
    """The regularised incomplete beta function I_x(a, b), by its continued fraction
    (Lentz's method), using I_x(a, b) = 1 - I_{1-x}(b, a) where it converges slowly."""
    if x <= 0 or x >= 1:
        return float(x >= 1)
    if x > (a + 1) / (a + b + 2):
        return 1.0 - incomplete_beta(b, a, 1 - x)
    front = a * math.log(x) + b * math.log1p(-x) - (
        math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))     # x^a (1-x)^b / B(a, b)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    f = d
    for m in range(1, 300):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            f *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return math.exp(front) * f / a
