"""The details a careful review asks for: evaluation aligned to the step, hand-built
models whose results are known, numeric edge cases that end in one clear line, and no
warnings from the cells outside training."""
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import data
import gru_cos
from lab import linear
import lstm_cos
import rnn_cos
from lab import series
from conftest import ROOT, command
from linear_cell import LinearCell, linear_cell


def cli(*args):
    """python rnn_cos.py ARGS, or python -m lab.series ARGS for the CSV mode."""
    script = "lab.series" if "--csv" in args else "rnn_cos.py"
    return subprocess.run([*command(script), *args], capture_output=True, text=True,
                          timeout=120)


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


@pytest.mark.parametrize("r", [0.5, 0.3, 0.01])
def test_the_oracle_is_perfect_on_the_clean_cosines(r):
    res = rnn_cos.evaluate(CosineOracle(r), None, training_cosine(r))
    assert res["test_mse"] < 1e-25
    assert res["forecast_rmse"] < 1e-9 * len(res["forecast"])


@pytest.mark.parametrize("r", [0.5, 0.3])
def test_the_linear_model_of_a_clean_cosine_is_exact_on_the_test_steps(r):
    # trained on a noise-free cosine, AR(p) is exact: any misalignment of its predictions
    # with the targets, or of its forecast with the truth, by one step costs ~ r^2
    res = rnn_cos.evaluate(CosineOracle(r), None, training_cosine(r, noise=0.0))
    assert len(res["ar_predictions"]) == len(res["test_targets"])
    assert res["ar_mse"] < 1e-18
    assert np.max(np.abs(res["ar_forecast"] - res["forecast_true"])) < 1e-6
    assert res["ar_forecast_rmse"] < 1e-7


def test_the_linear_model_beside_the_network_is_fitted_on_its_noisy_training_data():
    train = training_cosine(0.5)
    res = rnn_cos.evaluate(CosineOracle(0.5), None, train)
    p, coef = linear.choose_ar(train.y_data)
    assert res["ar_order"] == p
    np.testing.assert_allclose(res["ar_coef"], coef)
    # scored on the same steps as the network: the steps after WARMUP, each predicted
    # from the p true values before it (by hand, from the cosine's own formula)
    y = lambda k: np.cos((k + 0.5) * 0.5)    # noqa: E731  the test cosine's k-th value
    t = np.arange(data.WARMUP, len(res["test_targets"]))     # targets[t] = y(t + 1)
    by_hand = coef[0] + sum(coef[i] * y(t + 1 - i) for i in range(1, p + 1))
    assert res["ar_mse"] == pytest.approx(np.mean((by_hand - y(t + 1)) ** 2), rel=1e-9)


@pytest.mark.parametrize("r", [0.5, 0.3])
def test_same_as_last_value_by_the_formula(r):
    # cos(x) - cos(x + r) = 2 sin(x + r/2) sin(r/2); the test inputs are at x = (t + 1/2) r
    res = rnn_cos.evaluate(Repeat(r), None, training_cosine(r))
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
        model.hidden_gradients(params, np.linspace(-9, 9, 10), 0.0)


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
def test_a_loss_that_grows_is_stopped_like_a_nan(tmp_path, lr):
    out = tmp_path / "o"
    p = cli("--lr", lr, "--iters", "3000", "--hidden", "8", "--no-plot", "--out", str(out))
    assert p.returncode == 3
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "grew" in lines[0] and "try a lower --lr" in lines[0]
    assert not (out / "metrics.json").exists() and not (out / "rnn_cos.npz").exists()


def strict_json(text):
    def refuse(token):
        raise ValueError(f"not JSON: {token}")
    return json.loads(text, parse_constant=refuse)


def test_metrics_json_is_strict_json_even_with_undefined_numbers(tmp_path):
    # 30 iterations: the network does not oscillate yet, so its period is undefined
    out = tmp_path / "o"
    p = cli("--iters", "30", "--hidden", "3", "--no-plot", "--out", str(out))
    assert p.returncode == 0, p.stderr
    m = strict_json((out / "metrics.json").read_text())
    assert m["learned_period"] is None
    p = cli("--csv", os.path.join(ROOT, "datasets", "sunspots_yearly.csv"), "--iters", "30",
            "--hidden", "3", "--no-plot", "--out", str(tmp_path / "c"))
    assert p.returncode == 0, p.stderr
    m = strict_json((tmp_path / "c" / "metrics.json").read_text())
    assert m["settings"]["noise"] is None and m["settings"]["train_until"] is None


def test_the_validation_cosine_is_a_quarter_step_off_and_not_the_test_one():
    r = 0.5
    res = rnn_cos.evaluate(Repeat(r), None, training_cosine(r))
    t = np.arange(data.WARMUP, len(res["test_inputs"]))
    by_hand = np.mean((np.cos((t + 0.25) * r) - np.cos((t + 1.25) * r)) ** 2)
    assert res["val_mse"] == pytest.approx(by_hand, rel=1e-12)
    x_val = data.validation_cosine(r)[0]
    assert len(x_val) == len(res["test_x"])
    assert np.min(np.abs(x_val[:, None] - res["test_x"][None, :])) == pytest.approx(0.125)


def test_the_summary_says_why_same_as_last_value_wins_and_why_the_loss_stays_high():
    r = dict(learned_period=float("nan"), true_period=2 * np.pi / 0.01, ar_order=20,
             test_mse=7.3e-5, ar_mse=2.5e-5, baseline_mse=5.0e-5, forecast_rmse=1.06,
             ar_forecast_rmse=0.72)
    text = rnn_cos.summary(r, 20)
    assert "'same as last value' beats the network: a period is 628 steps" in text
    assert "a window of 20 holds 3% of it" in text
    r.update(true_period=12.566)                 # the default sampling: not the reason
    assert "has not learned the curve yet" in rnn_cos.summary(r, 20)
    r.update(test_mse=4e-5)
    assert "same as last value' beats" not in rnn_cos.summary(r, 20)
    note = rnn_cos.loss_note(0.05, np.array([0.143, 0.02, 0.00493]), "reset")
    assert "0.0025, is the floor" in note and "0.143 at step 1, 0.00493 at step 3" in note
    assert rnn_cos.loss_note(0.05, np.array([0.1]), "sequential") == "noise variance 0.0025"


def test_the_cosine_forecast_title_names_only_what_it_draws(tmp_path, monkeypatch):
    import plot_results
    out = tmp_path / "r"
    assert rnn_cos.main(rnn_cos, ["--iters", "30", "--hidden", "3", "--no-plot", "--quiet",
                                  "--out", str(out)]) == 0
    r = plot_results.load_results(str(out / "rnn_cos.npz"))
    plot_results.load_matplotlib()
    titles = []
    monkeypatch.setattr(plot_results, "save_figure",
                        lambda fig, path: titles.append(fig.axes[0].get_title()))
    plot_results.plot_forecast(r, str(tmp_path / "f.png"))
    assert "drift line" not in titles[0] and "RMSE network" in titles[0], titles
