"""series.py: the split in time, levels and differences, the AR(p) baseline, choices
made on the validation rows only, and bad combinations."""
import csv
import json
import os
from types import SimpleNamespace

import numpy as np
import pytest

from lab import linear
from lab import plumbing
import gru_cos
import lstm_cos
import rnn_cos
from lab import series
from lab.series import Member
from conftest import ROOT, in_process
from linear_cell import LinearCell, linear_cell
from lab.csvfile import SeriesData, read_csv_column
from test_training import StopAfter

SUNSPOTS = os.path.join(ROOT, "datasets", "sunspots_yearly.csv")
PARAMS = ("Wxh", "Whh", "Why", "bh", "by")
GDP = os.path.join(ROOT, "datasets", "us_realgdp_quarterly.csv")


def cli(*args):
    """python -m lab.series ARGS (the CSV mode), in this process."""
    return in_process("lab.series", *args)


def write(tmp_path, name, values, x=None):
    x = np.arange(len(values)) if x is None else x
    path = tmp_path / name
    path.write_text("t,v\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(x, values)))
    return str(path)


# ---------------------------------------------------------------------------------------
# the AR(p) baseline
def ar_series(coef, n, seed=0):
    rng = np.random.default_rng(seed)
    p = len(coef) - 1
    y = np.zeros(n + 100)
    for t in range(p, len(y)):
        y[t] = coef[0] + sum(coef[i] * y[t - i] for i in range(1, p + 1)) + rng.normal()
    return y[100:]


def test_ar_fit_is_least_squares_and_finds_known_coefficients():
    y = ar_series([0.5, 0.6, -0.3], 5000)
    coef, rss = linear.fit_ar(y, 2)
    X = np.column_stack([np.ones(len(y) - 2), y[1:-1], y[:-2]])   # [1, y[t-1], y[t-2]]
    direct, res, *_ = np.linalg.lstsq(X, y[2:], rcond=None)
    np.testing.assert_allclose(coef, direct, rtol=1e-10)
    assert rss == pytest.approx(res[0], rel=1e-9)
    np.testing.assert_allclose(coef, [0.5, 0.6, -0.3], atol=0.05)


@pytest.mark.parametrize("coef, p", [([0.0, 0.8], 1), ([0.5, 0.6, -0.3], 2),
                                     ([0.0, 0.3, 0.0, 0.0, 0.5], 4)])
def test_aic_chooses_the_true_order_on_a_long_series(coef, p):
    chosen, fitted = linear.choose_ar(ar_series(coef, 4000, seed=p))
    assert chosen == p
    np.testing.assert_allclose(fitted, coef, atol=0.06)


def test_on_a_noisy_cosine_aic_runs_to_its_cap():
    # a sinusoid plus white noise is an ARMA(2, 2) whose moving-average roots lie on
    # the unit circle: (1 - 2 cos(r) B + B^2) y is that same filter applied to the
    # noise, so the MA roots are the AR roots, e^(+-ir). No finite AR is its best
    # predictor, so AIC takes every lag it is allowed (20 here), and more when allowed
    # more (with a cap of 60, seeds 0-9 give 25 to 59)
    from data import CosineData
    data_seed, _ = np.random.SeedSequence(0).spawn(2)
    y = CosineData(1000, 0.0, 0.5 * 999, noise=0.05, seed=data_seed).y_data
    assert linear.choose_ar(y)[0] == linear.AR_MAX_ORDER == 20
    assert linear.choose_ar(y, max_order=60)[0] == 38


def test_ar_one_step_by_hand():
    y = np.array([2.0, 4.0, 6.0, 5.0])
    # y[t] = 1 + 0.5 y[t-1]: rows 1, 2, 3 -> 1 + 1, 1 + 2, 1 + 3
    np.testing.assert_allclose(linear.ar_one_step(np.array([1.0, 0.5]), y, [1, 2, 3]),
                               [2.0, 3.0, 4.0])
    # y[t] = 0 + 1 y[t-1] - 1 y[t-2]: row 2 -> 4 - 2, row 3 -> 6 - 4
    np.testing.assert_allclose(linear.ar_one_step(np.array([0.0, 1.0, -1.0]), y, [2, 3]),
                               [2.0, 2.0])


# ---------------------------------------------------------------------------------------
# levels and differences, by hand
def test_differences_and_back_by_hand():
    y = np.array([1.0, 4.0, 9.0, 16.0, 25.0, 36.0])
    z, mean, std = series.representation(y, 4, diff=True)   # fit rows 0..3: changes 3, 5, 7
    assert mean == pytest.approx(5.0) and std == pytest.approx(np.std([3, 5, 7]))
    np.testing.assert_allclose(z * std + mean, [3, 5, 7, 9, 11])
    # "the change is the last change": y[t] = y[t-1] + (y[t-1] - y[t-2])
    repeat = linear_cell(1.0)
    pred = series.one_step(LinearCell, [Member(repeat, True, mean, std)], y)
    np.testing.assert_allclose(pred[2:], [4 + 3, 9 + 5, 16 + 7, 25 + 9])
    assert np.isnan(pred[:2]).all()
    # on levels the same model is "same as last value"
    zl, ml, sl = series.representation(y, 4, diff=False)
    np.testing.assert_allclose(
        series.one_step(LinearCell, [Member(repeat, False, ml, sl)], y)[1:], y[:-1])


def test_forecast_of_differences_adds_up_the_changes():
    y = np.array([1.0, 4.0, 9.0, 16.0, 25.0, 36.0])
    z, mean, std = series.representation(y, 4, diff=True)

    def on_changes(params, n):
        return series.forecast(LinearCell, [Member(params, True, mean, std)], y, 4, n)

    # predicted changes of 0 in normalised units are the mean change, 5, each step
    np.testing.assert_allclose(on_changes(linear_cell(0.0), 3), [16 + 5, 16 + 10, 16 + 15])
    np.testing.assert_allclose(on_changes(linear_cell(0.0, bias=1.0), 2),
                               [16 + 5 + std, 16 + 10 + 2 * std])
    # the last change read before the forecast starts is y[3] - y[2] = 7, and repeated
    np.testing.assert_allclose(on_changes(linear_cell(1.0), 2), [16 + 7, 16 + 14])
    # levels: the forecast is the values themselves
    zl, ml, sl = series.representation(y, 4, diff=False)

    def on_levels(params, n):
        return series.forecast(LinearCell, [Member(params, False, ml, sl)], y, 4, n)

    np.testing.assert_allclose(on_levels(linear_cell(0.0), 2), [ml, ml])
    np.testing.assert_allclose(on_levels(linear_cell(1.0), 2), [16, 16])   # y[3], repeated


def small_net(model, H, seed):
    rng = np.random.default_rng(seed)
    return {k: rng.normal(0, 0.5, v.shape) for k, v in model.init_params(H, rng).items()}


@pytest.mark.parametrize("model", [rnn_cos, lstm_cos, gru_cos])
@pytest.mark.parametrize("diff", [False, True])
def test_one_network_stepped_in_a_batch_is_its_own_forecast(model, diff):
    # series.simulate steps every future at once (lab/cells.py); with one network and
    # no noise each future is the network's own forecast (model.forecast) from its row,
    # of the values, or of the changes added up from the last value
    y = np.cumsum(np.random.default_rng(1).normal(0, 1, 40))
    m = Member(small_net(model, 5, 2), diff, 0.3, 2.0)
    z = series.reads(m, y)
    starts = [10, 25, 33]
    batch = series.simulate(model, [m], y, starts, 6)
    for t0, row in zip(starts, batch):
        if diff:
            own = y[t0 - 1] + np.cumsum(model.forecast(m.params, z[:t0 - 1], 6) * 2.0 + 0.3)
        else:
            own = model.forecast(m.params, z[:t0], 6) * 2.0 + 0.3
        np.testing.assert_allclose(row, own, rtol=1e-10)


@pytest.mark.parametrize("model", [rnn_cos, lstm_cos])
def test_the_average_goes_on_as_one_forecaster(model):
    # three networks (levels and changes, two sizes) whose predictions are averaged:
    # a row at a time, each network's prediction of the next row from its teacher-forced
    # pass over every row so far (series.network_one_step), averaged, plus the noise of
    # the future, appended; the batch of futures must be the same
    y = np.cumsum(np.random.default_rng(4).normal(0, 1, 30))
    nets = [Member(small_net(model, 4, 5), False, 0.1, 1.5),
            Member(small_net(model, 4, 6), True, -0.2, 0.7),
            Member(small_net(model, 3, 7), False, 0.0, 1.0)]
    starts, n = [20, 23, 20], 5
    noise = np.random.default_rng(8).normal(0, 0.3, (3, n))
    futures = series.simulate(model, nets, y, starts, n, noise)
    for t0, row, e in zip(starts, futures, noise):
        rows = list(y[:t0])
        for k in range(n):
            known = np.append(rows, np.nan)            # the row to predict, not yet known
            rows.append(np.mean([series.network_one_step(model, m, known)[-1]
                                 for m in nets]) + e[k])
        np.testing.assert_allclose(row, rows[t0:], rtol=1e-10)


def test_the_split_in_time():
    args = SimpleNamespace(train_until=None, diff=None, steps=20, csv="f.csv")
    y, x = np.arange(309.0), np.arange(1700.0, 2009.0)
    assert series.split(y, x, args) == (198, 247)        # 80% of 80%, 80%
    args.train_until = 1920
    assert series.split(y, x, args) == (177, 221)        # rows 1700..1920 train
    args.train_until = 1920.5
    assert series.split(y, x, args) == (177, 221)
    args.train_until = 1699          # 27 rows: 22 to fit (21 differences), 5 to validate
    with pytest.raises(ValueError, match="leaves 0 rows .* at least 27 are needed"):
        series.split(y, x, args)
    args.diff = False                # 26 rows: 21 to fit, a window of 21 levels
    with pytest.raises(ValueError, match="leaves 0 rows .* at least 26 are needed"):
        series.split(y, x, args)
    args.diff = None
    args.train_until = 2008
    with pytest.raises(ValueError, match="no rows .* held out"):
        series.split(y, x, args)
    args.train_until = 2007                               # one row held out: too few
    with pytest.raises(ValueError, match="and 1 held out; .* and 2 held out"):
        series.split(y, x, args)
    args.train_until, args.diff = None, True
    with pytest.raises(ValueError, match="has 30 rows of data; with --steps 20 and --diff "
                                         "it needs at least 34"):
        series.split(y[:30], x[:30], args)


# ---------------------------------------------------------------------------------------
# runs
def run_main(out, *args, hidden="6"):
    size = ["--hidden", hidden] if hidden else []          # None: the sizes are chosen
    status = series.main([*size, "--no-plot", "--quiet", "--out", str(out), *args])
    assert status == 0
    with np.load(out / "rnn_cos.npz", allow_pickle=False) as f:
        r = {k: f[k] for k in f.files}
    return r, json.loads((out / "metrics.json").read_text())


def test_choices_never_look_at_the_held_out_rows(tmp_path, capsys):
    # the four candidate networks (two sizes, levels or changes) and every model beside
    # them: what each chose on the validation rows is the same when only the held-out
    # rows change
    y, x, _, _ = read_csv_column(SUNSPOTS)
    changed = y.copy()
    changed[247:] = changed[247:] * 3 + 50                # only the held-out rows differ
    a = write(tmp_path, "a.csv", y, x)
    b = write(tmp_path, "b.csv", changed, x)
    ra, ma = run_main(tmp_path / "a", "--csv", a, "--iters", "150", hidden=None)
    rb, mb = run_main(tmp_path / "b", "--csv", b, "--iters", "150", hidden=None)
    assert len(ma["candidates"]) == 4
    for key in ("diff", "best_iteration", "val_rmse", "candidates", "networks",
                "average_val_rmse", "ar_order", "ar_diff", "ar_val_rmse", "poly_order",
                "poly_degree", "poly_diff", "poly_val_rmse", "window_model", "esn_diff",
                "esn_units", "esn_radius", "esn_scale", "esn_ridge", "esn_val_rmse"):
        assert ma[key] == mb[key], key
    assert ma["settings"]["hidden"] == mb["settings"]["hidden"]
    for k in PARAMS:
        np.testing.assert_array_equal(ra[k], rb[k])
    assert ma["test_rmse"] != mb["test_rmse"]             # the test itself did change


def test_kept_weights_are_those_of_a_run_stopped_at_the_reported_iteration(tmp_path, capsys):
    r, m = run_main(tmp_path / "r", "--csv", SUNSPOTS, "--iters", "1000", "--seed", "3")
    best, diff = m["best_iteration"], m["diff"]
    assert 0 < best <= 1000 and best % 10 == 0
    # the same run, stopped after `best` iterations
    y, x, _, _ = read_csv_column(SUNSPOTS)
    z, mean, std = series.representation(y, 198, diff)
    fit = z[:197] if diff else z[:198]
    data_seed, init_seed = np.random.SeedSequence(3).spawn(2)
    params = rnn_cos.init_params(6, np.random.default_rng(init_seed))
    plumbing.train(rnn_cos, params, SeriesData(fit, seed=data_seed), 1000, 20, 0.01, "reset",
                   0.1, stop=StopAfter(best))
    for k in PARAMS:
        np.testing.assert_array_equal(r[k], params[k])
    assert float(r["mean"]) == mean and float(r["std"]) == std


def test_hidden_size_and_representation_chosen_on_the_validation_rows(tmp_path, capsys):
    # without --hidden, --diff or --no-diff, four networks are trained and compared
    short = os.path.join(ROOT, "datasets", "sunspots_1909_2008.csv")
    r, m = run_main(tmp_path / "all", "--csv", short, "--iters", "600", "--seed", "1",
                    hidden=None)
    tried = m["candidates"]
    assert sorted((c["diff"], c["hidden"]) for c in tried) == sorted(
        (d, H) for d in (False, True) for H in series.HIDDEN_SIZES)
    best = min(tried, key=lambda c: c["val_rmse"])
    assert (m["diff"], m["settings"]["hidden"], m["best_iteration"], m["val_rmse"]) == (
        best["diff"], best["hidden"], best["best_iteration"], best["val_rmse"])
    assert r["Whh"].shape == (best["hidden"], best["hidden"])
    # the same network when asked for alone
    alone, ma = run_main(tmp_path / "alone", "--csv", short, "--iters", "600", "--seed", "1",
                         "--diff" if best["diff"] else "--no-diff", hidden=str(best["hidden"]))
    for k in PARAMS:
        np.testing.assert_array_equal(r[k], alone[k])
    assert (ma["val_rmse"], ma["best_iteration"], ma["test_rmse"]) == (
        m["val_rmse"], m["best_iteration"], m["test_rmse"])
    # here the average of the four does worse on the validation rows: it is not kept
    assert m["networks"] == 1 and m["average_val_rmse"] > best["val_rmse"]


def test_the_average_is_kept_when_better_on_the_validation_rows(tmp_path, capsys):
    short = os.path.join(ROOT, "datasets", "sunspots_1909_2008.csv")
    r, m = run_main(tmp_path / "avg", "--csv", short, "--iters", "600", "--seed", "2",
                    "--ahead", "3", hidden=None)
    assert m["networks"] == 4
    # --ahead trains all four again on every row, and forecasts with their average
    assert r["ahead_forecast"].shape == (3,) and np.all(r["ahead_lower"] <= r["ahead_upper"])
    assert 0 <= m["coverage_80"] <= 1
    assert m["average_val_rmse"] < min(c["val_rmse"] for c in m["candidates"])
    assert sorted(zip(r["member_diff"].tolist(), r["member_hidden"].tolist(),
                      r["member_iteration"].tolist())) == sorted(
        (c["diff"], c["hidden"], c["best_iteration"]) for c in m["candidates"])
    # the average by hand, from each network's saved weights and rnn_cos.predict
    y, _, _, _ = read_csv_column(short)

    def by_hand(params, diff, mean, std):                 # predictions of rows 2, 3, ...
        v = np.diff(y) if diff else y
        out = rnn_cos.predict(params, (v[:-1] - mean) / std) * std + mean
        return y[1:-1] + out if diff else out[1:]

    average = np.mean([by_hand({k: r[f"member{i}_{k}"] for k in PARAMS},
                               *(r[f"member_{k}"][i] for k in ("diff", "mean", "std")))
                       for i in range(4)], axis=0)
    n_fit, n_train = int(r["n_fit"]), int(r["n_train"])
    np.testing.assert_allclose(r["test_predictions"], average[n_train - 2:], rtol=1e-12)
    val = average[n_fit - 2:n_train - 2] - y[n_fit:n_train]
    assert m["average_val_rmse"] == pytest.approx(np.sqrt(np.mean(val ** 2)), rel=1e-12)
    # the best network alone, for comparison, is the one saved as the run's weights
    alone = by_hand({k: r[k] for k in PARAMS}, m["diff"], float(r["mean"]),
                    float(r["std"]))[n_train - 2:]
    assert m["single_rmse"] == pytest.approx(np.sqrt(np.mean((alone - y[n_train:]) ** 2)),
                                             rel=1e-12)
    assert m["single_rmse"] != m["test_rmse"]


def test_results_and_baselines_in_the_original_units(tmp_path, capsys):
    r, m = run_main(tmp_path / "r", "--csv", SUNSPOTS, "--iters", "500", "--no-diff")
    y, x, _, _ = read_csv_column(SUNSPOTS)
    held = y[247:]
    np.testing.assert_array_equal(r["test_targets"], held)
    assert m["baseline_rmse"] == pytest.approx(np.sqrt(np.mean((held - y[246:-1]) ** 2)))
    # both linear models, by least squares on the 247 training rows, written out here
    p, coef = linear.choose_ar(y[:247])
    assert m["ar_levels_order"] == p
    levels = coef[0] + sum(coef[i] * y[247 - i:309 - i] for i in range(1, p + 1))
    assert m["ar_levels_rmse"] == pytest.approx(np.sqrt(np.mean((levels - held) ** 2)))
    q, dcoef = linear.choose_ar(np.diff(y[:247]))
    d = np.diff(y)                                    # d[t - 1] = y[t] - y[t - 1]
    changes = y[246:308] + dcoef[0] + sum(dcoef[i] * d[246 - i:308 - i] for i in range(1, q + 1))
    assert m["ar_changes_order"] == q
    assert m["ar_changes_rmse"] == pytest.approx(np.sqrt(np.mean((changes - held) ** 2)))
    # the one chosen on the validation rows (the sunspots: the changes) is 'the' linear model
    assert m["ar_diff"] is True and m["ar_order"] == q
    assert m["ar_rmse"] == m["ar_changes_rmse"]
    assert m["diff"] is False and [c["diff"] for c in m["candidates"]] == [False]
    assert m["test_rmse"] == pytest.approx(np.sqrt(np.mean((r["test_predictions"] - held) ** 2)))


def test_summary_says_when_the_linear_model_wins():
    r = dict(test_rmse=20.0, ar_rmse=18.0, baseline_rmse=30.0, ar_order=9, diff=True,
             best_iteration=5000, val_rmse=12.5, forecast_rmse=40.0, ar_forecast_rmse=35.0,
             valid_steps=3, ar_valid_steps=1, valid_tolerance=4.25, ar_diff=False,
             ar_levels_rmse=18.0, ar_changes_rmse=19.0, drift_rmse=50.0, dm_stat=2.5,
             dm_pvalue=0.01, networks=1, coverage_80=0.79, network_better_rows=20,
             poly_rmse=19.0, poly_order=3, poly_degree=2, poly_diff=True, window_model="linear",
             dm_window_pvalue=0.01, network_better_window_rows=20, poly_forecast_rmse=33.0,
             poly_valid_steps=2, train_std=40.0, test_nrmse=0.5, ar_nrmse=0.45,
             poly_nrmse=0.475, baseline_nrmse=0.75, esn_units=200, esn_rmse=17.0,
             esn_nrmse=0.425, dm_esn_pvalue=0.03)
    text = series.summary(r, 16, 62, chosen=(True, True))
    assert ("the control, an echo-state network (a fixed random recurrence, its readout "
            "fitted by least squares; 200 units, chosen on the validation rows): 17 (network "
            "against it: Diebold-Mariano p = 0.03)") in text
    assert ("network 20, linear AR(9) on the levels 18, degree-2 AR(3) on the changes 19, "
            "'same as last value' 30") in text
    assert ("over the training rows' standard deviation (40): network 0.5, linear 0.45, "
            "polynomial 0.475, echo-state 0.425, 'same as last value' 0.75") in text
    assert ("the linear model, AR(9) on the levels, is significantly better than the network "
            "one step ahead (Diebold-Mariano p = 0.01; the network's error is the smaller on 20 of the 62 "
            "rows): its RMSE is 10% lower") in text
    assert "differences with 16 hidden units, both chosen on the validation rows" in text
    assert "weights of iteration 5,000, validation RMSE 12.5;" in text
    assert ("RMSE network 40, AR(9) on the levels 35, polynomial 33, drift line 50; valid for "
            "3 steps (network), 1 (linear) and 2 (polynomial), until the error first exceeds "
            "4.25, 10% of the training rows' standard deviation") in text
    assert "the polynomial model" not in text          # linear: the better window model
    r.update(window_model="poly", dm_window_pvalue=0.002, network_better_window_rows=9)
    assert ("the polynomial model, degree-2 AR(3) on the changes, is significantly better than "
            "the network one step ahead (Diebold-Mariano p = 0.002; the network's error is the smaller on 9 of "
            "the 62 rows): its RMSE is 5% lower") in series.summary(r, 16, 62, (True, True))
    r.update(poly_rmse=30.0)                    # and the network the better of the two
    assert ("the network is significantly better than the polynomial model (the better "
            "window model on the validation rows) one step ahead (Diebold-Mariano p = 0.002"
            in series.summary(r, 16, 62, (True, True)))
    r.update(window_model="linear", poly_rmse=19.0)
    assert "AR on the changes (19), not chosen on the validation rows, beats the network too" in text
    assert "the 80% interval, simulated from the end of the training part, held 79% of the 62" in text
    r["dm_pvalue"] = 0.43
    assert ("the network and the linear model are not significantly different one step ahead "
            "(Diebold-Mariano p = 0.43;") in series.summary(r, 16, 62, chosen=(True, True))
    r["dm_pvalue"] = 2.7e-19                    # not a precision squared errors can give
    assert "(Diebold-Mariano p < 1e-6;" in series.summary(r, 16, 62, chosen=(True, True))
    r["dm_pvalue"] = 0.43
    assert ("on differences (chosen on the validation rows) with 16 hidden units;"
            in series.summary(r, 16, 62, chosen=(True, False)))
    assert ("on differences with 16 hidden units (chosen on the validation rows);"
            in series.summary(r, 16, 62, chosen=(False, True)))
    r.update(ar_rmse=21.0, ar_levels_rmse=21.0, ar_changes_rmse=22.0)
    text = series.summary(r, 8, 62, chosen=(False, False))
    assert "beats" not in text and "(network on differences with 8 hidden units;" in text
    r.update(networks=4, average_val_rmse=12.0, single_rmse=23.0)
    text = series.summary(r, 16, 62, chosen=(True, True))
    assert ("(the average of the 4 candidates' predictions, each with the weights it kept: "
            "validation RMSE 12, against 12.5 for the best alone (differences with 16 hidden "
            "units), so the average was chosen; the best alone scores 23 held out;") in text


@pytest.mark.parametrize("args, words", [
    (["--diff"], "needs at least 34"),
    ([], "and the differences (one value fewer; --no-diff leaves them out) it needs at "
         "least 34"),
    (["--train-until", "5"], "at least 27 are needed to train on"),
    (["--train-until", "1000"], "no rows"),
    (["--train-until", "nan"], "--train-until"),
    (["--train-until", "inf"], "--train-until"),
    (["--train-until", "soon"], "--train-until"),
])
def test_bad_combinations_refused_in_one_line(tmp_path, args, words):
    path = write(tmp_path, "short.csv", np.sin(np.arange(33.0)))  # just enough, on levels
    out = tmp_path / "never"
    p = cli("--csv", path, *args, "--out", str(out))
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in p.stderr
    assert not out.exists()
    assert cli("--csv", path, "--iters", "30", "--no-diff", "--no-plot",
               "--out", str(tmp_path / "ok")).returncode == 0


def test_an_ar2_fitted_to_a_clean_cosine_is_its_recurrence():
    # cos(x + r) + cos(x - r) = 2 cos(r) cos(x): y[t+1] = 2 cos(r) y[t] - y[t-1], exactly
    for r in (0.5, 0.1, 1.3):
        y = np.cos(0.7 + r * np.arange(300))
        coef, rss = linear.fit_ar(y, 2)
        np.testing.assert_allclose(coef, [0.0, 2 * np.cos(r), -1.0], atol=1e-9)
        assert rss < 1e-20


def test_ar_forecast_feeds_its_predictions_back_by_hand():
    # y[t] = 1 + 0.5 y[t-1] from 2: 2, 2, 2 (its fixed point); from 6: 4, 3, 2.5
    np.testing.assert_allclose(linear.ar_forecast(np.array([1.0, 0.5]), [9.0, 2.0], 3),
                               [2.0, 2.0, 2.0])
    np.testing.assert_allclose(linear.ar_forecast(np.array([1.0, 0.5]), [6.0], 3),
                               [4.0, 3.0, 2.5])
    # y[t] = y[t-1] - y[t-2] from (1, 2): 1, -1, -2, -1, 1, 2 (period 6)
    np.testing.assert_allclose(linear.ar_forecast(np.array([0.0, 1.0, -1.0]), [5.0, 1.0, 2.0], 6),
                               [1.0, -1.0, -2.0, -1.0, 1.0, 2.0])


def test_valid_prediction_time_by_hand():
    truth = np.zeros(6)
    assert series.valid_steps([0.0, 0.05, -0.1, 0.2, 0.0, 0.0], truth, 0.1) == 3
    assert series.valid_steps([0.3, 0.0, 0.0, 0.0, 0.0, 0.0], truth, 0.1) == 0
    assert series.valid_steps(np.full(6, 0.09), truth, 0.1) == 6         # never leaves
    assert series.valid_steps([0.0, np.nan, 0.0, 0.0, 0.0, 0.0], truth, 0.1) == 1


def test_ar_on_the_changes_by_hand():
    y = np.array([1.0, 2.0, 4.0, 7.0])        # changes 1, 2, 3
    # change[t] = 1 + change[t-1]: y[3] = y[2] + 1 + (y[2] - y[1]) = 4 + 1 + 2
    np.testing.assert_allclose(linear.ar_changes_one_step(np.array([1.0, 1.0]), y, [2, 3]),
                               [2.0 + 1 + 1, 4.0 + 1 + 2])
    # on its own from (1, 2, 4): changes 3, 4, 5 added up from 4
    np.testing.assert_allclose(linear.ar_changes_forecast(np.array([1.0, 1.0]), y[:3], 3),
                               [7.0, 11.0, 16.0])


def test_the_linear_model_is_chosen_on_the_validation_rows_only():
    rng = np.random.default_rng(0)
    walk = np.cumsum(0.5 + rng.normal(size=300))
    steady = ar_series([0.0, 0.5], 300, seed=1)      # stationary: changes over-difference it
    for y in (walk, steady):
        ars, chosen, _ = series.linear_model(y, 192, 240)
        # by hand: each fitted on the 192 fit rows, scored on the 48 validation rows
        p, c = linear.choose_ar(y[:192])
        q, dc = linear.choose_ar(np.diff(y[:192]))
        rows = np.arange(192, 240)
        lev = c[0] + sum(c[i] * y[rows - i] for i in range(1, p + 1))
        d = np.diff(y)
        chg = y[rows - 1] + dc[0] + sum(dc[i] * d[rows - 1 - i] for i in range(1, q + 1))
        val = {False: np.mean((lev - y[rows]) ** 2), True: np.mean((chg - y[rows]) ** 2)}
        assert chosen == min(val, key=val.get)
        # and the test uses them refitted on the whole training part
        np.testing.assert_array_equal(ars[False][1], linear.choose_ar(y[:240])[1])
        np.testing.assert_array_equal(ars[True][1], linear.choose_ar(np.diff(y[:240]))[1])
    assert chosen is False                           # the stationary series: the levels
    ars, chosen, _ = series.linear_model(walk, 192, 240)
    # what lies after the training part changes nothing
    other = walk.copy()
    other[240:] = -other[240:] * 10
    again, chosen_again, _ = series.linear_model(other, 192, 240)
    assert chosen_again == chosen
    for d in (False, True):
        np.testing.assert_array_equal(again[d][1], ars[d][1])


def test_diebold_mariano_worked_out_by_hand():
    # d = a^2 - b^2 = 0, 3, 8: mean 11/3, variance (divisor n) 294/27,
    # DM = (11/3) / sqrt(294/81) = 33 / sqrt(294), corrected by sqrt((n-1)/n) = sqrt(2/3);
    # Student's t with 2 degrees of freedom: P(|T| > t) = 1 - t / sqrt(2 + t^2)
    stat, p = linear.diebold_mariano([1.0, 2.0, 3.0], [1.0, 1.0, 1.0])
    t = 33 / np.sqrt(294) * np.sqrt(2 / 3)
    assert stat == pytest.approx(t, rel=1e-12)
    assert p == pytest.approx(1 - t / np.sqrt(2 + t * t), rel=1e-10)
    stat, _ = linear.diebold_mariano([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])
    assert stat == pytest.approx(-t, rel=1e-12)                 # negative: a is better
    assert np.isnan(linear.diebold_mariano([1.0, 2.0], [1.0, 2.0])[1])


@pytest.mark.parametrize("a, b, closed_form", [
    (1.0, 1.0, lambda x: x), (3.0, 1.0, lambda x: x ** 3),
    (1.0, 2.5, lambda x: 1 - (1 - x) ** 2.5),
])
def test_incomplete_beta_against_closed_forms(a, b, closed_form):
    for x in (0.01, 0.2, 0.5, 0.77, 0.99):
        assert linear.incomplete_beta(a, b, x) == pytest.approx(closed_form(x), rel=1e-12)


def test_student_t_tail_against_closed_forms():
    for t in (0.0, 0.3, 1.0, 2.5, 40.0):
        # one degree of freedom: the Cauchy distribution; two: 1/2 - t / (2 sqrt(2 + t^2))
        assert linear.student_t_sf(t, 1) == pytest.approx(0.5 - np.arctan(t) / np.pi, rel=1e-10)
        assert linear.student_t_sf(t, 2) == pytest.approx(0.5 - t / (2 * np.sqrt(2 + t * t)),
                                                          rel=1e-10)
    # the familiar two-sided 5% point of t with 60 degrees of freedom, 2.000
    assert 2 * linear.student_t_sf(2.000, 60) == pytest.approx(0.0500, abs=2e-4)


def linear_rnn(a, w=1e-4):
    """A one-unit plain RNN that predicts a * x_t: h = tanh(w x) ~ w x, y = (a / w) h."""
    return dict(Wxh=np.array([[w]]), Whh=np.zeros((1, 1)), Why=np.array([[a / w]]),
                bh=np.zeros((1, 1)), by=np.zeros((1, 1)))


def ar1(a, n, seed=0):
    """x[t] = a x[t-1] + e, e ~ N(0, 1), from x[0] = 0: n values."""
    rng, y = np.random.default_rng(seed), np.zeros(n)
    for t in range(1, n):
        y[t] = a * y[t - 1] + rng.normal()
    return y


def test_the_interval_of_a_known_ar1_is_the_true_one():
    # x[t] = a x[t-1] + e, e ~ N(0, 1): k steps ahead of x_T the value is normal with
    # mean a^k x_T and variance sum_{i<k} a^(2i); its 80% interval is +-1.2816 sd
    a, y = 0.8, ar1(0.8, 2000)
    net = [Member(linear_rnn(a), False, 0.0, 1.0)]
    lower, upper = series.interval(rnn_cos, net, y, 1995, 5, np.random.default_rng(1),
                                   paths=4000)
    k = np.arange(1, 6)
    centre = a ** k * y[1994]
    sd = np.sqrt(np.cumsum(a ** (2 * (k - 1))))
    # a 10% or 90% point of 4,000 paths is off by about sqrt(0.09 / 4000) / 0.1755 =
    # 0.027 standard deviations (0.1755: the normal density there); the residuals' own
    # spread, estimated from 1,994 errors, adds about as much; at 5 steps (sd 1.6) the
    # two together are about 0.06, and 0.2 is more than three times that
    np.testing.assert_allclose(lower, centre - 1.2816 * sd, atol=0.2)
    np.testing.assert_allclose(upper, centre + 1.2816 * sd, atol=0.2)
    # and one step ahead from 150 origins, the interval holds about 80% of the values
    # (binomial standard deviation 0.033: the bounds are three of them)
    origins = range(350, 500)
    held = [series.interval(rnn_cos, net, y, s, 1, np.random.default_rng(s), paths=200)
            for s in origins]
    inside = np.mean([lo[0] <= y[s] <= hi[0] for s, (lo, hi) in zip(origins, held)])
    assert 0.70 <= inside <= 0.90, inside


def test_the_interval_noise_comes_from_rows_never_trained_on():
    # a network that repeats its input: its errors on rows 3..5 are the changes there
    y = np.array([0.0, 5.0, 1.0, 2.0, 4.0, 3.0, 9.0])
    net = [Member(linear_cell(1.0), False, 0.0, 1.0)]
    np.testing.assert_allclose(series.unseen_errors(LinearCell, net, y, [3, 4, 5]), [1, 2, -1])
    # and it reads nothing after the last of them
    y2 = y.copy()
    y2[6] = -100
    np.testing.assert_allclose(series.unseen_errors(LinearCell, net, y2, [3, 4, 5]), [1, 2, -1])


def test_the_warm_up_is_left_out_of_the_residuals():
    # a network that repeats its input: its errors are the changes, by hand
    y = np.array([0.0, 5.0, 1.0, 2.0, 4.0, 3.0])
    net = [Member(linear_cell(1.0), False, 0.0, 1.0)]
    np.testing.assert_allclose(series.residuals(LinearCell, net, y), [5, -4, 1, 2, -1])
    np.testing.assert_allclose(series.residuals(LinearCell, net, y, warmup=3), [1, 2, -1])


def test_the_coverage_by_horizon_of_a_known_ar1_is_about_80_percent():
    # the true AR(1) as the network: its interval at every horizon is the true one
    # (test_the_interval_of_a_known_ar1_is_the_true_one), so it holds about 80% of the
    # values at every horizon. From 60 origins 50 rows apart (nearly independent at
    # a = 0.8), one horizon's coverage has a binomial standard deviation of 0.052: the
    # bounds below are about four of them; the mean over the 20 horizons is steadier
    a, y = 0.8, ar1(0.8, 4000)
    net = [Member(linear_rnn(a), False, 0.0, 1.0)]
    pool = series.residuals(rnn_cos, net, y[:1000], warmup=5)
    c = series.coverage_by_horizon(rnn_cos, net, y, 1000, np.random.default_rng(1), pool)
    assert c["horizons"] == list(range(1, 21)) and c["origins"] == 60
    cover = np.array(c["coverage"])
    assert np.all((0.6 <= cover) & (cover <= 0.98)), cover
    assert 0.72 <= cover.mean() <= 0.88, cover.mean()
    assert np.all((np.array(c["lower"]) <= cover) & (cover <= np.array(c["upper"])))
    # the residuals come from the training rows only: held-out rows twice as wild as
    # those are held far less often
    wild = y.copy()
    wild[1000:] *= 2
    c = series.coverage_by_horizon(rnn_cos, net, wild, 1000, np.random.default_rng(1), pool)
    assert np.mean(c["coverage"]) < 0.6


class CtrlC:
    """The lab's training loop, with a Ctrl-C (stop.requested) at the start of its
    call number `at` (1: the first network), or just after that call ends."""

    def __init__(self, at, monkeypatch, after=False):
        self.at, self.after, self.calls, self.real = at, after, 0, plumbing.train
        monkeypatch.setattr(plumbing, "train", self.train)  # series calls plumbing.train

    def train(self, *args, stop, **kw):
        self.calls += 1
        if self.calls == self.at and not self.after:
            stop.requested = True
        out = self.real(*args, stop=stop, **kw)
        if self.calls == self.at and self.after:
            stop.requested = True
        return out


@pytest.mark.parametrize("at, after", [(2, False), (1, True)])
def test_ctrl_c_never_leaves_a_forecast_past_the_end_from_a_network_half_trained(
        tmp_path, capsys, monkeypatch, at, after):
    # (2, False): during the training on every row; (1, True): after the test's
    # training, before that one starts. The test's results are saved; no forecast.csv
    out = tmp_path / "r"
    args = series.parse_args(["--csv", SUNSPOTS, "--iters", "200", "--hidden", "4",
                              "--no-diff", "--ahead", "5", "--no-plot", "--quiet", "--out",
                              str(out)])
    method = CtrlC(at, monkeypatch, after)
    assert series.train_and_test(rnn_cos, args) == 130
    assert method.calls == (2 if not after else 1)
    # (1, True): the network is saved as it was trained, untested, at once
    assert ("saved in" if after else "forecast.csv and ahead.png are not written") in \
        capsys.readouterr().out
    assert sorted(os.listdir(out)) == ["metrics.json", "rnn_cos.npz"]
    with np.load(out / "rnn_cos.npz", allow_pickle=False) as f:
        assert "ahead_forecast" not in f.files
        assert f["candidate0_loss" if after else "loss"].shape == (200,)


@pytest.mark.parametrize("at, after", [(2, False), (1, True)])
def test_ctrl_c_between_candidates_saves_those_trained_as_interrupted(
        tmp_path, capsys, monkeypatch, at, after):
    # four candidates; Ctrl-C at the start of the second (which trains nothing) or just
    # after the first: the first alone is saved at once, untested, with its losses and its
    # weights (the best of its validation checks, or its last when stopped before them)
    out = tmp_path / "r"
    args = series.parse_args(["--csv", SUNSPOTS, "--iters", "200", "--no-plot", "--quiet",
                              "--out", str(out)])
    method = CtrlC(at, monkeypatch, after)
    assert series.train_and_test(rnn_cos, args) == 130
    assert method.calls == at
    assert "stopped by Ctrl-C: the 1 network(s) trained so far are saved" in \
        capsys.readouterr().out
    m = json.loads((out / "metrics.json").read_text())
    assert m["interrupted"] is True and "test_rmse" not in m
    assert [(c["diff"], c["hidden"], c["iterations"]) for c in m["candidates"]] == \
        [(False, 16, 200)]
    assert (m["candidates"][0]["best_iteration"] is None) == after
    with np.load(out / "rnn_cos.npz", allow_pickle=False) as f:
        assert f["candidate0_loss"].shape == (200,) and f["candidate0_Whh"].shape == (16, 16)
        assert not any(k.startswith("candidate1_") for k in f.files)
    # Ctrl-C before anything was trained: nothing is written
    monkeypatch.undo()
    CtrlC(1, monkeypatch)
    assert series.train_and_test(rnn_cos, series.parse_args([
        "--csv", SUNSPOTS, "--iters", "200", "--quiet", "--out", str(tmp_path / "none")])) == 130
    assert not (tmp_path / "none").exists() or not os.listdir(tmp_path / "none")


def test_ahead_writes_the_future_in_the_series_own_steps(tmp_path):
    months = [f"{2000 + m // 12}-{m % 12 + 1:02d}" for m in range(90)]
    values = [10 + 5 * np.sin(2 * np.pi * m / 12) + 0.1 * m for m in range(90)]
    path = tmp_path / "monthly.csv"
    path.write_text("month,v\n" + "".join(f"{d},{v:.3f}\n" for d, v in zip(months, values)))
    out = tmp_path / "r"
    p = cli("--csv", str(path), "--ahead", "14", "--iters", "200", "--hidden", "4",
            "--no-diff", "--out", str(out))
    assert p.returncode == 0, p.stderr
    with open(out / "forecast.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["x", "forecast", "lower", "upper"] and len(rows) == 14
    assert [r["x"] for r in rows[:3]] == ["2007-07", "2007-08", "2007-09"]
    assert rows[-1]["x"] == "2008-08"
    assert all(float(r["lower"]) <= float(r["upper"]) for r in rows)
    m = json.loads((out / "metrics.json").read_text())
    assert 0 <= m["coverage_80"] <= 1 and "the 80% interval" in p.stdout
    assert (out / "ahead.png").exists() and (out / "horizon.png").exists()
