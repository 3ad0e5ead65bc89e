"""forecast(): the network continuing a series on its own predictions."""
import math

import numpy as np
import pytest

import rnn_cos
from data import CosineData


def one_unit(wxh, whh, why, bh=0.0, by=0.0):
    return dict(Wxh=np.array([[wxh]]), Whh=np.array([[whh]]), Why=np.array([[why]]),
                bh=np.array([[bh]]), by=np.array([[by]]))


def test_forecast_of_a_known_rule_next_equals_tanh_of_last():
    # h_t = tanh(x_t), y_t = h_t: the network's next value is tanh of the last one
    params = one_unit(1.0, 0.0, 1.0)
    seed = [0.3, -2.0, 0.9]
    expected, value = [], math.tanh(0.9)       # the prediction after the last seed value
    for _ in range(6):
        expected.append(value)
        value = math.tanh(value)
    assert rnn_cos.forecast(params, seed, 6) == pytest.approx(expected, abs=1e-15)


def test_forecast_of_a_known_rule_with_memory():
    # h_t = tanh(0.5 x_t + 0.5 h_{t-1}), y_t = 2 h_t + 0.1, worked out with plain floats
    params = one_unit(0.5, 0.5, 2.0, by=0.1)
    seed = [1.0, 0.0]
    h = math.tanh(0.5 * 1.0)
    h = math.tanh(0.5 * 0.0 + 0.5 * h)
    expected = []
    for _ in range(5):
        y = 2 * h + 0.1
        expected.append(y)
        h = math.tanh(0.5 * y + 0.5 * h)
    assert rnn_cos.forecast(params, seed, 5) == pytest.approx(expected, abs=1e-14)


def literal_forecast(params, seed_values, n_future):
    """Feed each prediction back as the next input, one column-vector step at a time."""
    h = np.zeros((params["Whh"].shape[0], 1))
    step = lambda x, h: np.tanh(params["Wxh"] * x + params["Whh"] @ h + params["bh"])  # noqa: E731
    for x in seed_values:
        h = step(x, h)
    out = []
    for _ in range(n_future):
        y = (params["Why"] @ h + params["by"]).item()
        out.append(y)
        h = step(y, h)
    return np.array(out)


@pytest.mark.parametrize("H", [1, 4, 32])
def test_forecast_matches_the_step_by_step_feedback(H):
    rng = np.random.default_rng(H)
    params = dict(Wxh=rng.normal(0, 1, (H, 1)), Whh=rng.normal(0, 1 / np.sqrt(H), (H, H)),
                  Why=rng.normal(0, 1, (1, H)), bh=rng.normal(0, 0.2, (H, 1)),
                  by=rng.normal(0, 0.2, (1, 1)))
    seed = rng.normal(0, 1, 7)
    np.testing.assert_allclose(rnn_cos.forecast(params, seed, 30),
                               literal_forecast(params, seed, 30), rtol=1e-12, atol=1e-12)


def test_trained_forecast_beats_repeating_the_last_value():
    data = CosineData(1000, 0.0, 0.5 * 999, seed=0)
    params = rnn_cos.init_params(32, np.random.default_rng(0))
    rnn_cos.train(rnn_cos.lossFun, params, data, rnn_cos.init_state(32), 3000, 20, 0.01)
    r = rnn_cos.evaluate(rnn_cos.predict, rnn_cos.forecast, params, data, 20)
    flat = np.full_like(r["forecast_true"], r["forecast_seed"][-1])
    flat_rmse = np.sqrt(np.mean((flat - r["forecast_true"]) ** 2))
    assert r["forecast_rmse"] < 0.5 * flat_rmse, (r["forecast_rmse"], flat_rmse)
    # the forecast really is of 3 periods of the cosine that follows the 40 seed values,
    # half a step off the training grid
    x = (np.arange(40 + len(flat)) + 0.5) * 0.5
    np.testing.assert_allclose(r["forecast_true"], np.cos(x[40:]))
    np.testing.assert_allclose(r["forecast_seed"], np.cos(x[:40]))
    assert len(flat) * 0.5 == pytest.approx(3 * 2 * np.pi, abs=0.5)
