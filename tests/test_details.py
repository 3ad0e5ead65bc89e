"""The details a careful review asks for: evaluation aligned to the step, hand-built
models whose results are known, numeric edge cases that end in one clear line, and no
warnings from the cells outside training."""
import json
import os
import warnings

import numpy as np
import pytest

import data
import gru_cos
import lstm_cos
import plot_results
import rnn_cos
from conftest import ROOT, in_process
from lab import analysis, linear, series
from linear_cell import LinearCell, linear_cell


def cli(*args):
    """python rnn_cos.py ARGS, or python -m lab.series ARGS for the CSV mode, in this
    process."""
    return in_process("lab.series" if "--csv" in args else "rnn_cos.py", *args)


class CosineOracle:
    """A model that knows the sampled cosine's rule, x_{t+1} = 2 cos(r) x_t - x_{t-1}:
    a perfect one-step predictor after its first step, and a perfect forecaster from
    the last two seed values. Any misalignment of inputs, targets, seed or truth by a
    step shows up as an error."""

    def __init__(self, r):
        self.c = 2 * np.cos(r)

    def predict(self, params, x):
        x = np.asarray(x, dtype=float)
        out = np.empty(len(x))
        out[0] = x[0]                                   # no previous value yet
        out[1:] = self.c * x[1:] - x[:-1]
        return out

    def forecast(self, params, seed, n):
        a, b = seed[-2], seed[-1]
        out = []
        for _ in range(n):
            a, b = b, self.c * b - a
            out.append(b)
        return np.array(out)


def training_cosine(r, noise=0.05):
    """The default training data, sampled every r."""
    return data.CosineData(1000, 0.0, r * 999, noise=noise, seed=0)


class Repeat(CosineOracle):
    """A model whose prediction is its input: 'same as last value'."""

    def predict(self, params, x):
        return np.asarray(x, dtype=float).copy()


def evaluate(model, train, p=20):
    """rnn_cos.evaluate of a model built by hand (its predict and forecast)."""
    return rnn_cos.evaluate(model.predict, model.forecast, None, train, p)


@pytest.mark.parametrize("r", [0.5, 0.3, 0.01])
def test_the_oracle_is_perfect_on_the_clean_cosines(r):
    res = evaluate(CosineOracle(r), training_cosine(r))
    assert res["test_mse"] < 1e-25
    assert res["forecast_rmse"] < 1e-9 * len(res["forecast"])


@pytest.mark.parametrize("r", [0.5, 0.3])
def test_the_linear_model_of_a_clean_cosine_is_exact_on_the_test_steps(r):
    # trained on a noise-free cosine, AR(p) is exact: any misalignment of its predictions
    # with the targets, or of its forecast with the truth, by one step costs ~ r^2
    res = evaluate(CosineOracle(r), training_cosine(r, noise=0.0))
    assert len(res["ar_predictions"]) == len(res["test_targets"])
    assert res["ar_mse"] < 1e-18
    assert np.max(np.abs(res["ar_forecast"] - res["forecast_true"])) < 1e-6
    assert res["ar_forecast_rmse"] < 1e-7


@pytest.mark.parametrize("steps, p", [(20, 20), (7, 7), (60, 40)])   # at most the seed's
def test_the_linear_model_beside_the_network_is_fitted_on_its_noisy_training_data(steps, p):
    # AR(p) on the network's window (p = --steps, at most the 40 values of the forecast's
    # seed), against the lab's own least-squares fit (lab/linear.py, written apart)
    train = training_cosine(0.5)
    res = evaluate(CosineOracle(0.5), train, steps)
    coef, _ = linear.fit_ar(train.y_data, p)
    assert res["ar_order"] == p
    np.testing.assert_allclose(res["ar_coef"], coef, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(res["ar_forecast"], linear.ar_forecast(
        coef, data.forecast_cosine(0.5)[1], len(res["forecast_true"])), rtol=1e-6, atol=1e-9)
    # scored on the same steps as the network: the steps after WARMUP, each predicted
    # from the p true values before it (by hand, from the cosine's own formula)
    y = lambda k: np.cos((k + 0.5) * 0.5)    # noqa: E731  the test cosine's k-th value
    t = np.arange(data.WARMUP, len(res["test_targets"]))     # targets[t] = y(t + 1)
    by_hand = coef[0] + sum(coef[i] * y(t + 1 - i) for i in range(1, p + 1))
    assert res["ar_mse"] == pytest.approx(np.mean((by_hand - y(t + 1)) ** 2), rel=1e-9)


@pytest.mark.parametrize("r", [0.5, 0.3])
def test_same_as_last_value_by_the_formula(r):
    # cos(x) - cos(x + r) = 2 sin(x + r/2) sin(r/2); the test inputs are at x = (t + 1/2) r
    res = evaluate(Repeat(r), training_cosine(r))
    n = len(res["test_inputs"])
    t = np.arange(data.WARMUP, n)
    expected = np.mean((2 * np.sin((t + 1) * r) * np.sin(r / 2)) ** 2)
    assert res["test_mse"] == pytest.approx(expected, rel=1e-10)
    assert res["baseline_mse"] == pytest.approx(expected, rel=1e-10)
    assert n == round(data.TEST_PERIODS * 2 * np.pi / r)


def test_the_test_cosines_are_off_the_training_grid():
    r = 0.5
    x, inputs, targets = data.test_cosine(r)
    grid = data.CosineData(1000, 0.0, r * 999, seed=0).x_data
    assert np.min(np.abs(x[:, None] - grid[None, :])) == pytest.approx(r / 2)
    np.testing.assert_allclose(inputs, np.cos(x[:-1]))
    np.testing.assert_allclose(targets, np.cos(x[1:]))
    fx, seed, truth = data.forecast_cosine(r)
    assert np.min(np.abs(fx[:, None] - grid[None, :])) == pytest.approx(r / 2)
    assert len(seed) == data.FORECAST_SEED
    np.testing.assert_allclose(np.concatenate([seed, truth]), np.cos(fx))


@pytest.mark.parametrize("model", [rnn_cos, lstm_cos, gru_cos])
def test_first_forecast_is_one_literal_step_from_the_seeds_last_state(model):
    rng = np.random.default_rng(7)
    params = {k: rng.normal(0, 0.4, v.shape) for k, v in
              model.init_params(5, np.random.default_rng(0)).items()}
    seed = np.cos(np.arange(12) * 0.5)
    # the output after the last seed value, from the forward pass over the seed alone
    y_after_seed = model.forward(params, seed, model.init_state(5))[-1][-1]
    fc = model.forecast(params, seed, 3)
    assert fc[0] == pytest.approx(y_after_seed, rel=1e-12)
    # and the next one is the forward pass over the seed and that first value
    y_next = model.forward(params, np.append(seed, fc[0]), model.init_state(5))[-1][-1]
    assert fc[1] == pytest.approx(y_next, rel=1e-12)


def test_csv_evaluation_with_hand_built_models():
    r = 0.4
    x = np.arange(60.0)
    y = 2.0 * np.cos(x * r)
    n_train = 48
    z, mean, std = series.representation(y, 38, diff=False)
    # 'same as last value' in normalised units is 'same as last value' in the original ones
    net = [series.Member(linear_cell(1.0), False, mean, std)]
    res = series.evaluate(LinearCell, net, y, x, 38, n_train)
    # the drift line: the last training value plus the mean change per step
    steps = np.arange(1, len(y) - n_train + 1)
    np.testing.assert_allclose(res["drift_forecast"],
                               y[47] + steps * (y[47] - y[0]) / 47, rtol=1e-12)
    # the linear model of an exact cosine is exact, on the levels or on the changes
    assert res["ar_rmse"] < 1e-8
    # forecasts from every origin of the held-out part, h = 6 steps (half of 12 rows):
    # origins 48..54; 'same as last value' by hand, and the network, which repeats its
    # last input, fed its own output is 'same as last value' too
    np.testing.assert_array_equal(res["horizon"], np.arange(1, 7))
    assert res["horizon_origins"] == 7
    origins = np.arange(48, 55)
    for k in range(1, 7):
        same = np.sqrt(np.mean((y[origins - 1] - y[origins + k - 1]) ** 2))
        assert res["horizon_persistence"][k - 1] == pytest.approx(same, rel=1e-12)
        assert res["horizon_network"][k - 1] == pytest.approx(same, rel=1e-12)
    assert np.max(res["horizon_linear"]) < 1e-6
    assert res["test_rmse"] == pytest.approx(res["baseline_rmse"], rel=1e-12)
    expected = np.sqrt(np.mean((y[n_train:] - y[n_train - 1:-1]) ** 2))
    assert res["baseline_rmse"] == pytest.approx(expected, rel=1e-12)
    # the forecast starts from the end of the training part, not a step earlier: the
    # cosine's own rule y[t+1] = 2 cos(r) y[t] - y[t-1], in normalised units (z = (y -
    # mean) / std: z[t+1] = 2 cos(r) z[t] - z[t-1] + (2 cos(r) - 2) mean / std), continues
    # it exactly
    c = 2 * np.cos(r)
    oracle = [series.Member(linear_cell(c, -1.0, bias=(c - 2) * mean / std), False, mean, std)]
    fc = series.forecast(LinearCell, oracle, y, n_train, 12)
    np.testing.assert_allclose(fc, y[n_train:], atol=1e-9)


def test_lstm_forget_bias_starts_at_one_so_f_starts_near_0_73():
    p = lstm_cos.init_params(6, np.random.default_rng(0))
    np.testing.assert_array_equal(p["bf"], 1.0)
    for g in "ico":
        np.testing.assert_array_equal(p[f"b{g}"], 0.0)
    # from h = 0 and x = 0 every pre-activation is its bias: f = 1 / (1 + e^-1)
    _, _, gates, _ = lstm_cos.forward(p, [0.0], lstm_cos.init_state(6))
    np.testing.assert_allclose(gates[0, 1], 0.7310585786300049, rtol=1e-12)
    np.testing.assert_allclose(gates[0, 0], 0.5, rtol=1e-12)         # o = sigmoid(0)


@pytest.mark.parametrize("bf, keeps", [(50.0, True), (-50.0, False)])
def test_forget_and_input_gates_by_hand(bf, keeps):
    # f = 1 keeps C_{t-1} and adds i C~; f = 0 forgets it. The input gate is open
    # (bi = 50) and the candidate is nonzero, so both gates are exercised.
    H = 3
    rng = np.random.default_rng(2)
    p = {k: np.zeros_like(v) for k, v in lstm_cos.init_params(H, rng).items()}
    p["Wc"] = rng.normal(0, 0.7, (H, H + 1))
    p["bc"] = rng.normal(0, 0.3, (H, 1))
    p["bf"][:] = bf
    p["bi"][:] = 50.0
    p["bo"][:] = 50.0
    c = np.array([0.5, -1.0, 2.0])
    h = np.zeros(H)
    _, cs, _, _ = lstm_cos.forward(p, [0.7, -0.2, 1.1], (h[:, None], c[:, None]))
    for t, x in enumerate([0.7, -0.2, 1.1], 1):
        candidate = np.tanh(p["Wc"] @ np.append(h, x) + p["bc"][:, 0])
        c = (c if keeps else 0) + candidate
        h = np.tanh(c)
        np.testing.assert_allclose(cs[t], c, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("model", [rnn_cos, lstm_cos, gru_cos])
def test_forecast_of_nothing_is_empty(model):
    params = model.init_params(4, np.random.default_rng(0))
    out = model.forecast(params, np.cos(np.arange(5.0)), 0)
    assert out.shape == (0,)


@pytest.mark.parametrize("model", [rnn_cos, lstm_cos, gru_cos])
def test_no_warnings_outside_training_even_with_huge_weights(model):
    params = {k: v * 1e4 + 300 for k, v in
              model.init_params(4, np.random.default_rng(1)).items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(params, np.linspace(-900, 900, 30))
        model.forecast(params, np.linspace(-900, 900, 30), 20)
        analysis.hidden_gradients(model, params, np.linspace(-9, 9, 10), 0.0)


# ---------------------------------------------------------------------------------------
# numeric edge cases, as a user meets them
def csv_file(tmp_path, name, values):
    path = tmp_path / name
    path.write_text("v\n" + "".join(f"{float(v)!r}\n" for v in values))
    return str(path)


@pytest.mark.parametrize("values, words", [
    (np.r_[np.full(80, 0.1), np.sin(np.arange(40.0))], "constant"),
    (np.sin(np.arange(120.0)) * 1e200, "too large to normalise"),
    (np.r_[np.full(60, 1e307), -np.full(60, 1e307)], "too large to normalise"),
    (np.r_[np.full(100, 5.0), np.arange(20.0)], "constant"),
])
def test_columns_that_cannot_be_normalised_are_refused(tmp_path, values, words):
    out = tmp_path / "never"
    p = cli("--csv", csv_file(tmp_path, "v.csv", values), "--out", str(out))
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], p.stderr
    assert "Warning" not in p.stderr and not out.exists()
    if "large" in words:
        assert f"{np.max(np.abs(values)):.3g}" in lines[0]     # names the values
        assert "--lr" not in lines[0]


@pytest.mark.parametrize("lr", ["1000", "1e6"])
def test_a_loss_that_grows_is_stopped_like_a_nan(tmp_path, capsys, lr):
    out = tmp_path / "o"
    status = rnn_cos.main(["--lr", lr, "--iters", "3000", "--hidden", "8", "--no-plot",
                           "--out", str(out)])
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 3
    assert len(lines) == 1 and "grew" in lines[0] and "try a lower --lr" in lines[0]
    assert os.listdir(out) == []


def strict_json(text):
    def refuse(token):
        raise ValueError(f"not JSON: {token}")
    return json.loads(text, parse_constant=refuse)


def test_metrics_json_is_strict_json_even_with_undefined_numbers(tmp_path, capsys):
    # the tutorial's: a NaN among the numbers is written null
    out = tmp_path / "o"
    path = plot_results.save(str(tmp_path), "rnn_cos", dict(
        loss=np.array([0.5, 0.25]), test_mse=float("nan"), ar_order=3), dict(noise=0.05))
    m = strict_json((tmp_path / "metrics.json").read_text())
    assert m["test_mse"] is None and m["ar_order"] == 3 and m["iters_done"] == 2
    assert m["settings"] == {"noise": 0.05} and path.endswith("rnn_cos.npz")
    assert rnn_cos.main(["--iters", "30", "--hidden", "3", "--no-plot", "--out",
                         str(out)]) == 0
    strict_json((out / "metrics.json").read_text())
    # the CSV mode's
    from lab import series
    assert series.main(["--csv", os.path.join(ROOT, "datasets", "sunspots_yearly.csv"),
                        "--iters", "30", "--hidden", "3", "--no-plot", "--quiet", "--out",
                        str(tmp_path / "c")]) == 0
    m = strict_json((tmp_path / "c" / "metrics.json").read_text())
    assert m["settings"]["noise"] is None and m["settings"]["train_until"] is None


def test_the_validation_cosine_is_a_quarter_step_off_and_not_the_test_one():
    r = 0.5
    res = evaluate(Repeat(r), training_cosine(r))
    t = np.arange(data.WARMUP, len(res["test_inputs"]))
    by_hand = np.mean((np.cos((t + 0.25) * r) - np.cos((t + 1.25) * r)) ** 2)
    assert res["val_mse"] == pytest.approx(by_hand, rel=1e-12)
    x_val = data.validation_cosine(r)[0]
    assert len(x_val) == len(res["test_x"])
    assert np.min(np.abs(x_val[:, None] - res["test_x"][None, :])) == pytest.approx(0.125)


def test_the_summary_says_who_wins_and_why():
    r = dict(test_x=np.arange(5) * 0.01, ar_order=20, test_mse=7.3e-5, ar_mse=2.5e-5,
             baseline_mse=5.0e-5, forecast_rmse=1.06, ar_forecast_rmse=0.72)
    text = plot_results.summary(r)
    assert "network 7.30e-05, linear AR(20) 2.50e-05, 'same as last value' 5.00e-05" in text
    assert "the linear AR(20) model beats the network: a sampled cosine" in text
    assert "'same as last value' beats the network" in text
    assert "a period is 628 steps: the next value is nearly the last" in text
    r.update(test_x=np.arange(5) * 0.5)          # the default sampling: not the reason
    assert "not learned the curve yet (more --iters?)" in plot_results.summary(r)
    r.update(test_mse=2e-5)
    text = plot_results.summary(r)
    assert "beats the network" not in text and "network 2.00e-05" in text


def test_the_figures_titles_say_what_is_drawn_worked_out_from_the_arrays(tmp_path, capsys):
    out = tmp_path / "r"
    assert rnn_cos.main(["--iters", "30", "--hidden", "3", "--no-plot", "--out",
                         str(out)]) == 0
    r = plot_results.load(str(out))
    from matplotlib.figure import Figure
    titles = {}
    for plot in (plot_results.plot_predictions, plot_results.plot_forecast):
        fig = Figure()
        plot(r, fig)
        titles[plot.__name__] = fig.axes[0].get_title().replace("\n", " ")
    m = json.loads((out / "metrics.json").read_text())
    assert f"network {m['test_mse']:.1e}, linear AR(20) {m['ar_mse']:.1e}" in \
        titles["plot_predictions"]
    assert f"RMSE network {m['forecast_rmse']:.3g}, linear AR(20)" in titles["plot_forecast"]
