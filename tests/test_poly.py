"""lab/poly.py, the polynomial autoregression: its monomials by hand, exact recovery of
known quadratic maps, degree 1 as the linear model, the iteration against a literal
loop, and its choice made on the validation rows only."""
import numpy as np
import pytest

from lab import linear, poly, series


def logistic(n, r=3.9, y0=0.2):
    y = np.empty(n)
    y[0] = y0
    for t in range(1, n):
        y[t] = r * y[t - 1] * (1 - y[t - 1])
    return y


def henon(n, a=1.4, b=0.3):
    y = np.zeros(n)
    y[:2] = 0.1, 0.2
    for t in range(2, n):
        y[t] = 1 - a * y[t - 1] ** 2 + b * y[t - 2]
    return y


def test_the_monomials_by_hand():
    assert poly.terms(2, 2) == ((), (0,), (1,), (0, 0), (0, 1), (1, 1))
    assert len(poly.terms(8, 3)) == poly.n_terms(8, 3) == 165
    # y[t-1] = 2, y[t-2] = 3: 1, 2, 3, 4, 6, 9
    np.testing.assert_array_equal(poly.design([[2.0, 3.0]], 2), [[1, 2, 3, 4, 6, 9]])
    np.testing.assert_array_equal(poly.lagged(np.arange(10.0), 3, [5, 9]), [[4, 3, 2], [8, 7, 6]])


def test_a_known_quadratic_map_is_recovered_exactly():
    # the logistic map y[t] = 3.9 y[t-1] - 3.9 y[t-1]^2: coefficients of 1, y, y^2
    y = logistic(300)
    np.testing.assert_allclose(poly.fit(y, 1, 2), [0, 3.9, -3.9], atol=1e-9)
    # the Henon map y[t] = 1 - 1.4 y[t-1]^2 + 0.3 y[t-2]: terms 1, y1, y2, y1^2, y1 y2, y2^2
    y = henon(300)
    np.testing.assert_allclose(poly.fit(y, 2, 2), [1, 0, 0.3, -1.4, 0, 0], atol=1e-9)
    # and chosen on the validation rows, the model predicts the held-out rows exactly,
    # where the best linear model cannot
    m, val = poly.choose(y, 160, 200)
    assert m.degree >= 2 and m.p >= 2 and val < 1e-8
    rows = np.arange(200, 300)
    np.testing.assert_allclose(m.one_step(y, rows), y[rows], atol=1e-8)
    _, coef = linear.choose_ar(y[:200])
    assert np.sqrt(np.mean((linear.ar_one_step(coef, y, rows) - y[rows]) ** 2)) > 0.1


def test_degree_one_is_the_linear_model():
    rng = np.random.default_rng(0)
    y = np.cumsum(rng.normal(size=400)) * 0.1 + rng.normal(size=400)
    for p in (1, 3, 7):
        np.testing.assert_allclose(poly.fit(y, p, 1), linear.fit_ar(y, p)[0], rtol=1e-9,
                                   atol=1e-12)
        rows = np.arange(300, 400)
        levels = poly.Poly(p, 1, poly.fit(y, p, 1))
        np.testing.assert_allclose(levels.one_step(y, rows),
                                   linear.ar_one_step(linear.fit_ar(y, p)[0], y, rows), atol=1e-9)
        # on the changes: the last value plus the AR prediction of the change
        coef = linear.fit_ar(np.diff(y), p)[0]
        changes = poly.Poly(p, 1, poly.fit(np.diff(y), p, 1), changes=True)
        np.testing.assert_allclose(changes.one_step(y, rows),
                                   linear.ar_changes_one_step(coef, y, rows), atol=1e-9)
        # and on their own, fed back, as linear.iterate
        np.testing.assert_allclose(levels.iterate(y[:300], 12),
                                   linear.ar_forecast(linear.fit_ar(y, p)[0], y[:300], 12),
                                   atol=1e-9)
        np.testing.assert_allclose(changes.iterate(y[:300], 12),
                                   linear.ar_changes_forecast(coef, y[:300], 12), atol=1e-9)


def test_iteration_against_a_literal_loop_and_its_bounds():
    # y[t] = 0.5 + 0.2 y[t-1] - 0.3 y[t-2] + 0.1 y[t-1]^2 + 0.05 y[t-1] y[t-2], fed back
    coef = np.array([0.5, 0.2, -0.3, 0.1, 0.05, 0.0])
    m = poly.Poly(2, 2, coef)
    y = [1.0, 2.0]
    for _ in range(6):
        a, b = y[-1], y[-2]
        y.append(0.5 + 0.2 * a - 0.3 * b + 0.1 * a * a + 0.05 * a * b)
    np.testing.assert_allclose(m.iterate(np.array([7.0, 1.0, 2.0]), 6), y[2:], rtol=1e-12)
    many = m.iterate([np.array([1.0, 2.0]), np.array([0.0, 1.0, 2.0])], 6)
    np.testing.assert_allclose(many, [y[2:], y[2:]], rtol=1e-12)
    # a map that runs away is held within the bounds it was given
    runaway = poly.Poly(1, 2, np.array([0.0, 0.0, 2.0]), bounds=(-1.0, 3.0))
    np.testing.assert_array_equal(runaway.iterate(np.array([2.0]), 3), [3.0, 3.0, 3.0])
    assert poly.bounds(np.array([0.0, 4.0, 2.0])) == (-2.0, 6.0)


def test_the_guard_keeps_a_design_with_repeated_columns_solvable():
    # a constant series makes every column a multiple of the first: the fit is the
    # minimum-norm least-squares one, finite, and predicts the constant
    y = np.full(50, 3.0)
    coef = poly.fit(y, 3, 3)
    assert np.all(np.isfinite(coef))
    np.testing.assert_allclose(poly.Poly(3, 3, coef).one_step(y, np.arange(10, 50)), 3.0)


def test_the_number_of_coefficients_is_capped_by_the_rows_fitted():
    for p, d in poly.candidates(100):
        assert poly.n_terms(p, d) <= 50
    assert (20, 1) in poly.candidates(100) and (5, 2) in poly.candidates(100)
    assert (8, 3) in poly.candidates(640) and (8, 3) not in poly.candidates(300)


def test_the_polynomial_choice_never_reads_a_held_out_row():
    y = henon(400) + np.random.default_rng(1).normal(scale=0.01, size=400)
    a, val_a = poly.choose(y, 240, 300)
    changed = y.copy()
    changed[300:] = 5 * changed[300:] + 7
    b, val_b = poly.choose(changed, 240, 300)
    assert (a.p, a.degree, a.changes, val_a) == (b.p, b.degree, b.changes, val_b)
    np.testing.assert_array_equal(a.coef, b.coef)
    # while a change of the validation rows does change the choice's scores
    changed = y.copy()
    changed[250:300] += 0.3
    assert poly.choose(changed, 240, 300)[1] != val_a


def test_the_polynomial_choice_is_the_best_on_the_validation_rows_by_brute_force():
    # every candidate fitted on the fit rows and scored on the validation rows, one by
    # one: the one kept is the best of them, refitted on the whole training part
    y = henon(300) + np.random.default_rng(2).normal(scale=0.05, size=300)
    n_fit, n_train = 160, 200
    scores = {}
    for changes in (False, True):
        v = np.diff(y[:n_fit]) if changes else y[:n_fit]
        for p, d in poly.candidates(len(v) - 1):
            cand = poly.Poly(p, d, poly.fit(v, p, d), changes)
            err = cand.one_step(y, np.arange(n_fit, n_train)) - y[n_fit:n_train]
            scores[(p, d, changes)] = np.sqrt(np.mean(err ** 2))
    m, val = poly.choose(y, n_fit, n_train)
    best = min(scores, key=scores.get)
    assert (m.p, m.degree, m.changes) == best and val == pytest.approx(scores[best])
    v = np.diff(y[:n_train]) if m.changes else y[:n_train]
    np.testing.assert_allclose(m.coef, poly.fit(v, m.p, m.degree))


def test_wilson_interval_by_hand():
    # 8 of 10: centre (8 + 1.92) / 13.84, half 1.96 sqrt(1.6 + 0.96) / 13.84
    lo, hi = series.wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    lo, hi = series.wilson(0, 10)
    assert lo == pytest.approx(0.0, abs=1e-12) and hi == pytest.approx(0.2775, abs=1e-4)
