"""The controls of the CSV mode and of the memory tasks, each against an independent
reference: the echo-state network's reservoir and ridge readout against a literal loop
and numpy's least squares, its alignment with a readout built by hand, its choice
blind to the held-out rows; the refitted readout against least squares on the
network's own states; the feed-forward network's gradients against finite differences;
the window rule and the readout-only latch on systems whose answers are known; the
initialisations by their defining property."""
import numpy as np
import pytest

import lstm_cos
import rnn_cos
from gradcheck import check_gradients
from lab import controls, esn, memory_span
from lab.tasks import LatchData, RecallData, init


def test_the_reservoir_steps_as_its_equation_one_at_a_time():
    res = esn.scaled(esn.draw(7, np.random.default_rng(0)), 0.9, 0.5)
    assert np.max(np.abs(np.linalg.eigvals(res.W))) == pytest.approx(0.9, rel=1e-10)
    assert np.max(np.abs(res.W_in)) <= 0.5 and np.max(np.abs(res.b)) <= 0.5
    u = np.random.default_rng(1).normal(0, 1, 30)
    x, by_hand = np.zeros(7), []
    for v in u:
        x = np.tanh(res.W_in * v + res.b + res.W @ x)       # x_t = tanh(W_in u_t + b + W x)
        by_hand.append(x)
    np.testing.assert_allclose(esn.states(res, u)[0], by_hand, rtol=1e-12, atol=1e-15)
    # several (rho, s) stepped at once: each as its own scaled reservoir, one at a time
    base = esn.draw(7, np.random.default_rng(0))
    many = esn.states(base, u, [(0.9, 0.5), (0.3, 2.0)])
    for k, (rho, s) in enumerate([(0.9, 0.5), (0.3, 2.0)]):
        one, x = esn.scaled(base, rho, s), np.zeros(7)
        for t, v in enumerate(u):
            x = np.tanh(one.W_in * v + one.b + one.W @ x)
            np.testing.assert_allclose(many[k, t], x, rtol=1e-12, atol=1e-15)


def test_the_ridge_readout_is_least_squares_on_the_augmented_system():
    rng = np.random.default_rng(2)
    for rows, cols in ((60, 5), (20, 45)):         # more rows than columns, and fewer
        X, y = rng.normal(0, 1, (rows, cols)), rng.normal(0, 1, rows)
        for r, w in zip((1e-8, 1e-2, 1.0), esn.ridge_solutions(X, y, (1e-8, 1e-2, 1.0))):
            lam = r * np.trace(X.T @ X) / cols
            aug_X = np.vstack([X, np.sqrt(lam) * np.eye(cols)])   # |Xw - y|^2 + lam |w|^2
            expected, *_ = np.linalg.lstsq(aug_X, np.r_[y, np.zeros(cols)], rcond=None)
            np.testing.assert_allclose(w, expected, rtol=1e-8, atol=1e-10)


def test_the_esn_reads_a_bounded_stretch_of_a_long_training_part(monkeypatch):
    # 20,000 training rows: every reservoir reads at most ESN_ROWS + WASHOUT rows before
    # the validation rows, and those rows, never the held-out ones
    read = []
    real = esn.states
    monkeypatch.setattr(esn, "states", lambda res, u, *a: read.append(len(u)) or real(
        res, u, *a))
    monkeypatch.setattr(esn, "SIZES", (5,))
    y = np.sin(0.1 * np.arange(25_000))
    m, _ = esn.choose(y, 18_000, 20_000, seed=0)
    assert read and max(read) <= esn.ESN_ROWS + esn.WASHOUT + 2_000
    assert m.N == 5 and read[-1] == esn.ESN_ROWS + esn.WASHOUT     # the refit


@pytest.mark.parametrize("changes", [False, True])
def test_the_esn_predicts_each_row_from_the_values_before_it(changes):
    # a readout that passes the input through ([1, u, x] . [0, 1, 0...]) says the last
    # value it read: for the levels y[t-1], for the changes y[t-1] + (y[t-1] - y[t-2])
    y = np.cumsum(np.random.default_rng(3).normal(0, 1, 400))
    res = esn.scaled(esn.draw(5, np.random.default_rng(4)), 0.5, 1.0)
    w = np.zeros(7)
    w[1] = 1.0
    m = esn.ESN(res, w, changes, 5, 0.5, 1.0, 0.0)
    rows = np.arange(300, 400)
    expected = y[rows - 1] + (y[rows - 1] - y[rows - 2] if changes else 0)
    np.testing.assert_allclose(m.one_step(y, rows), expected if changes else y[rows - 1],
                               rtol=1e-12)


def test_the_esn_learns_a_map_exactly_and_chooses_blind_to_the_held_out_rows(monkeypatch):
    # a logistic map's next value is a function of the last: a reservoir with its input
    # in the readout and a smooth tanh layer fits it far below the series' spread (of
    # the sizes, the smallest is enough: the choice over all of them runs in test_series)
    monkeypatch.setattr(esn, "SIZES", esn.SIZES[:1])
    y = np.empty(700)
    y[0] = 0.3
    for t in range(699):
        y[t + 1] = 3.8 * y[t] * (1 - y[t])
    m, val = esn.choose(y, 448, 560, seed=0)
    rows = np.arange(560, 700)
    err = np.sqrt(np.mean((m.one_step(y, rows) - y[rows]) ** 2))
    assert err < 0.02 * np.std(y) and val < 0.02 * np.std(y)
    changed = y.copy()
    changed[560:] = 5.0                                    # only the held-out rows
    m2, val2 = esn.choose(changed, 448, 560, seed=0)
    assert (m2.N, m2.rho, m2.s, m2.ridge, m2.changes, val2) == (m.N, m.rho, m.s, m.ridge,
                                                                m.changes, val)
    np.testing.assert_array_equal(m2.w, m.w)


def test_the_refitted_readout_is_least_squares_on_the_networks_states():
    rng = np.random.default_rng(5)
    params = {k: rng.normal(0, 0.5, v.shape) for k, v in rnn_cos.init_params(6, rng).items()}
    z = np.sin(0.3 * np.arange(120)) + 0.1 * rng.normal(0, 1, 120)
    fit = np.arange(1, 90)                               # targets z[1..89]
    out = controls.readout_refit(rnn_cos, params, z, fit)
    hs = [np.zeros(6)]
    for v in z:                                          # the states by hand
        hs.append(np.tanh(params["Wxh"][:, 0] * v + params["Whh"] @ hs[-1] + params["bh"][:, 0]))
    X = np.column_stack([np.ones(120), np.array(hs[1:])])
    coef, *_ = np.linalg.lstsq(X[fit - 1], z[fit], rcond=None)
    np.testing.assert_allclose(out, X @ coef, rtol=1e-9, atol=1e-12)


def test_the_feed_forward_gradients_match_finite_differences():
    rng = np.random.default_rng(6)
    params = {k: rng.normal(0, 0.7, v.shape) for k, v in controls.ff_init(4, 5, rng).items()}
    X, targets = rng.normal(0, 1, (8, 4)), rng.normal(0, 1, 8)
    worst, where = check_gradients(lambda p, i, t, s: (*controls.ff_lossFun(p, i, t), s),
                                   params, X, targets, None)
    assert worst < 1e-6, (worst, where)


@pytest.mark.parametrize("changes", [False, True])
def test_the_feed_forward_windows_and_predictions_are_aligned(changes):
    v = np.arange(10.0) ** 2
    X, targets = controls.windows_of(v, 3)
    np.testing.assert_array_equal(X[0], [v[2], v[1], v[0]])          # newest first
    np.testing.assert_array_equal(targets, v[3:])
    # trained for one iteration on a line, the control still predicts every row from the
    # rows before it: a row's prediction changes only with the values before it
    y = np.sin(0.4 * np.arange(200))
    args = type("A", (), dict(iters=50, steps=5, lr=0.01, anneal=0.1))
    pred, _ = controls.feed_forward(y, 120, 160, 3, changes, 4, args, 0)
    later = y.copy()
    later[170:] += 9.0
    pred2, _ = controls.feed_forward(later, 120, 160, 3, changes, 4, args, 0)
    np.testing.assert_array_equal(pred[:171], pred2[:171])
    assert np.all(np.isnan(pred[:3 + changes])) and np.all(np.isfinite(pred[3 + changes:]))


def test_the_window_rule_knows_the_value_while_the_marker_is_in_its_window():
    d = RecallData(3000, 40, seed=7)
    out = memory_span.window_rule(d, 20)
    asked = np.isfinite(d.targets) & (np.arange(3000) >= 19)
    near, far = asked & (d.since < 20), asked & (d.since >= 20)
    np.testing.assert_allclose(out[near], d.targets[near], atol=1e-12)
    np.testing.assert_array_equal(out[far], 0.0)           # no marker in the window: 0


def test_every_window_model_is_scored_on_the_same_steps():
    # each window's first p - 1 outputs are NaN (its window is not yet full): the recall is
    # scored from the longest window's length on, so that no window's score is NaN and
    # every model is scored on the same steps
    assert memory_span.LONGEST_WINDOW == max(
        int(w[1:].split("d")[0].rstrip("r")) for w in memory_span.WINDOWS_LINEAR
        + memory_span.WINDOWS_POLY + memory_span.WINDOWS_RULE)
    d = RecallData(3000, 200, seed=3)
    out = memory_span.window_rule(d, memory_span.LONGEST_WINDOW)
    total, bins, far = memory_span.recall_scores(out, d)
    assert np.isfinite(total) and total < 1e-20 and all(b < 1e-20 for b in bins)
    late = np.nan_to_num(d.targets)
    late[:memory_span.LONGEST_WINDOW] = np.nan                 # NaN only where not scored
    assert memory_span.recall_scores(late, d)[0] == 0.0


def test_a_readout_alone_solves_the_latch_with_relu_units_and_whh_identity():
    # h_t = relu(Wxh x_t + h_{t-1}): after the fact, zeros keep every unit's value, and
    # a readout by least squares reads it back exactly
    from lab import relu_rnn
    params = init(relu_rnn, 8, np.random.default_rng(0), "identity")
    fitted = memory_span.readout_only("latch", relu_rnn, params, 60, False,
                                      np.random.SeedSequence(1))
    assert memory_span.latch_error(relu_rnn, fitted, LatchData(60, seed=2), 300) < 1e-20


def test_the_initialisations_by_their_definition():
    rng = np.random.default_rng(0)
    p = init(rnn_cos, 16, rng, "orthogonal")
    np.testing.assert_allclose(p["Whh"] @ p["Whh"].T, np.eye(16), atol=1e-12)
    p = init(rnn_cos, 16, rng, "pytorch")
    every = np.concatenate([w.ravel() for w in p.values()])   # all within +-1/sqrt(H)
    assert np.all(np.abs(every) <= 0.25) and np.max(np.abs(every)) > 0.24
    p = init(lstm_cos, 4, rng, "noforget")                 # f = 1 at every step, kept so
    _, _, gates, _ = lstm_cos.forward(p, rng.normal(0, 3, 20), lstm_cos.init_state(4))
    assert np.all(gates[:, 1] == 1.0)
    _, grads, _ = lstm_cos.lossFun(p, rng.normal(0, 1, 20), rng.normal(0, 1, 20),
                                   lstm_cos.init_state(4))
    assert not np.any(grads["Wf"]) and not np.any(grads["bf"])


def test_a_delay_past_a_states_capacity_is_named_with_its_bound():
    # a delay of d needs the last d + 1 inputs: 31 fits in 32 numbers, 32 does not
    assert memory_span.beyond_capacity([1, 30, 31, 32, 40], 32) == {"32": 1 - 32 / 33,
                                                                     "40": 1 - 32 / 41}
