"""The strongest fixed-window model beside the network: a polynomial autoregression,

    y[t] = sum of c_m * (a product of at most `degree` of y[t-1], ..., y[t-p]),

every monomial of degree 0 to `degree` in the last p values, fitted by least squares.
Degree 1 is the linear AR(p) of lab/linear.py; degree 2 adds every y[t-i] y[t-j], and
so on. A window of p values and a polynomial of them is what a practitioner tries
before a network: wherever the next value is a smooth function of the last few (a
map, or a chaotic system sampled coarsely enough), it is hard to beat.

The guard against an ill-conditioned design (powers of nearly equal columns): each
column is scaled to unit length, and the singular values below POLY_RCOND of the
largest are dropped (lstsq's rcond): the least-squares solution of smallest norm.
A well-conditioned fit is untouched by it, so degree 1 is exactly the AR(p) fit.
"""
from functools import lru_cache
from itertools import combinations_with_replacement
from math import comb

import numpy as np

from lab.linear import lags

POLY_MAX_ORDER = 20    # p from 1 to 20, as the linear model's
POLY_MAX_DEGREE = 4    # degree from 1 to 4
POLY_SHARE = 0.5       # at most one coefficient per two rows fitted ...
POLY_MAX_TERMS = 400   # ... and at most this many (a long series' fits stay cheap)
POLY_RCOND = 1e-10
POLY_ROWS = 1000       # fitted on at most the last 1,000 rows (none of the shipped series has more)
WIDEN = 0.5            # on its own, each value is held within the training range +- half its span


@lru_cache(maxsize=None)                 # design() asks at every step of a forecast
def terms(p, degree):
    """The monomials of degree 0..degree in p lagged values, each a tuple of lag
    indices (0 is y[t-1]): (), (0,), (1,), ..., (0, 0), (0, 1), ... C(p + degree, degree)."""
    return tuple(t for d in range(degree + 1) for t in combinations_with_replacement(range(p), d))


def n_terms(p, degree):
    return comb(p + degree, degree)


def design(window, degree):
    """The design matrix: window (N, p) holds the lagged values [y[t-1], ..., y[t-p]]
    of each row; one column per monomial of terms(p, degree)."""
    window = np.asarray(window, dtype=float)
    cols = [np.ones(len(window))]
    for t in terms(window.shape[1], degree)[1:]:
        cols.append(np.prod(window[:, list(t)], axis=1))
    return np.column_stack(cols)


def lagged(y, p, rows):
    """[y[t-1], ..., y[t-p]] for each row t: (len(rows), p)."""
    return lags(y, p, rows)[:, 1:]


def fit(y, p, degree, first=None):
    """The least-squares polynomial AR of order p and this degree, on the rows
    t = first..len(y)-1 (first = p by default), with the guard above. Returns the
    coefficients, one per monomial of terms(p, degree)."""
    rows = np.arange(p if first is None else first, len(y))
    return least_squares(design(lagged(y, p, rows), degree), y[rows])


def least_squares(X, y):
    """The coefficients c minimising |X c - y|, with the guard above: the columns
    scaled to unit length, singular values below POLY_RCOND of the largest dropped."""
    norm = np.sqrt(np.sum(X ** 2, axis=0))
    norm[norm == 0] = 1.0
    coef, *_ = np.linalg.lstsq(X / norm, y, rcond=POLY_RCOND)
    return coef / norm


class Poly:
    """A fitted polynomial AR: order p, degree, coefficients, and whether it is of the
    changes y[t+1] - y[t] rather than of the levels (as lab/linear.py's)."""

    def __init__(self, p, degree, coef, changes=False, bounds=(-np.inf, np.inf)):
        self.p, self.degree, self.coef, self.changes = p, degree, coef, changes
        self.bounds = bounds                        # of what it reads: levels or changes

    def one_step(self, y, rows):
        """Predictions of y[t] for the given rows, from the true values before each."""
        rows = np.asarray(rows)
        if not self.changes:
            return design(lagged(y, self.p, rows), self.degree) @ self.coef
        d = np.diff(y)
        return y[rows - 1] + design(lagged(d, self.p, rows - 1), self.degree) @ self.coef

    def iterate(self, histories, n_future):
        """The model on its own after each history (a list, or one array): each
        prediction is fed back as the newest value, held within self.bounds.
        Returns (len(histories), n_future), or (n_future,) for one history."""
        one = np.ndim(histories[0]) == 0
        hs = [np.asarray(histories, dtype=float)] if one else [np.asarray(h, float)
                                                              for h in histories]
        seen = [np.diff(h) if self.changes else h for h in hs]
        window = np.array([s[len(s) - self.p:][::-1] for s in seen])   # newest first
        last = np.array([h[-1] for h in hs])
        out = np.empty((len(hs), n_future))
        for k in range(n_future):
            nxt = np.clip(design(window, self.degree) @ self.coef, *self.bounds)
            window = np.column_stack([nxt, window[:, :-1]])
            last = last + nxt if self.changes else nxt
            out[:, k] = last
        return out[0] if one else out


def candidates(rows_fitted):
    """Every (p, degree) tried: p 1..POLY_MAX_ORDER, degree 1..POLY_MAX_DEGREE, with at
    most POLY_SHARE coefficients per row fitted and at most POLY_MAX_TERMS."""
    cap = min(POLY_MAX_TERMS, int(POLY_SHARE * rows_fitted))
    return [(p, d) for d in range(1, POLY_MAX_DEGREE + 1)
            for p in range(1, POLY_MAX_ORDER + 1)
            if p < rows_fitted and n_terms(p, d) <= cap]


def bounds(v):
    """The range a model on its own is held within: v's, widened by WIDEN of its span."""
    lo, hi = float(np.min(v)), float(np.max(v))
    return lo - WIDEN * (hi - lo), hi + WIDEN * (hi - lo)


def choose(y, n_fit, n_train):
    """The polynomial AR a practitioner would keep: levels or changes, order p and
    degree, each combination fitted on the fit rows y[:n_fit] and scored by its
    one-step RMSE on the validation rows [n_fit, n_train); the best is refitted on the
    whole training part y[:n_train] (on a long series, each fit on its last POLY_ROWS
    rows). Nothing after n_train is read. Returns (the Poly,
    its validation RMSE)."""
    y = np.asarray(y, dtype=float)
    val_rows = np.arange(n_fit, n_train)
    scores = []
    for changes in (False, True):
        v = recent(np.diff(y[:n_fit]) if changes else y[:n_fit])
        for p, d in candidates(len(v) - 1):
            if changes and p + 1 > val_rows[0]:
                continue
            m = Poly(p, d, fit(v, p, d), changes)
            with np.errstate(all="ignore"):
                err = m.one_step(y[:n_train], val_rows) - y[val_rows]
                score = float(np.sqrt(np.mean(err ** 2)))
            if np.isfinite(score):
                scores.append((score, d, p, changes))
    score, d, p, changes = min(scores)
    v = np.diff(y[:n_train]) if changes else y[:n_train]
    return Poly(p, d, fit(recent(v), p, d), changes, bounds(v)), score


def recent(v):
    """The last POLY_ROWS values of v: what a fit reads of a long series."""
    return v[max(0, len(v) - POLY_ROWS):]


def label(r):
    """A fitted model's results (poly_degree, poly_order, poly_diff) in words: 'degree-3
    AR(8) on the levels'."""
    return (f"degree-{int(r['poly_degree'])} AR({int(r['poly_order'])}) on the "
            f"{'changes' if bool(r['poly_diff']) else 'levels'}")
