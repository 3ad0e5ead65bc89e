"""The LSTM and GRU cells: gradients against finite differences, forecasts against the
forward pass, and the hidden-state gradients the vanishing-gradient figure plots."""
import numpy as np
import pytest

import gru_cos
import lstm_cos
import rnn_cos
from data import CosineData
from lab import analysis
from lab.cells import batched_step
from gradcheck import check_gradients, numerical_gradient

SHAPES = [(1, 1), (3, 6), (8, 20), (24, 5)]              # (H, T)


def random_params(model, H, rng, scale=0.6):
    """Weights large enough that every gradient entry is well away from zero."""
    return {k: rng.normal(0, scale, v.shape) for k, v in model.init_params(H, rng).items()}


def random_state(model, H, rng):
    state = model.init_state(H)
    if isinstance(state, tuple):
        return tuple(rng.uniform(-0.8, 0.8, s.shape) for s in state)
    return rng.uniform(-0.8, 0.8, state.shape)


@pytest.mark.parametrize("model", [lstm_cos, gru_cos])
@pytest.mark.parametrize("H,T", SHAPES)
def test_gradients_match_finite_differences(model, H, T):
    rng = np.random.default_rng(100 * H + T)
    params = random_params(model, H, rng)
    state = random_state(model, H, rng)                  # nonzero initial state
    inputs, targets = rng.normal(0, 1, T), rng.normal(0, 1, T)
    worst, where = check_gradients(model.lossFun, params, inputs, targets, state)
    assert worst < 1e-6, (worst, where)


@pytest.mark.parametrize("model", [lstm_cos, gru_cos])
def test_lossFun_returns_the_last_state_and_keeps_its_arguments(model):
    rng = np.random.default_rng(1)
    params = random_params(model, 4, rng)
    state = random_state(model, 4, rng)
    before = {k: v.copy() for k, v in params.items()}
    inputs = rng.normal(0, 1, 7)
    loss, grads, last = model.lossFun(params, inputs, rng.normal(0, 1, 7), state)
    assert set(grads) == set(params) == set(model.PARAM_NAMES)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
    # running the first 4 steps, then the last 3 from the state reached, is the same
    _, _, mid = model.lossFun(params, inputs[:4], np.zeros(4), state)
    _, _, end = model.lossFun(params, inputs[4:], np.zeros(3), mid)
    for a, b in zip(as_tuple(last), as_tuple(end)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def as_tuple(state):
    """The LSTM's state is (h, C); the GRU's is h alone."""
    return state if isinstance(state, tuple) else (state,)


def lstm_by_hand(params, inputs, h, c):
    """The LSTM equations one step at a time, exactly as written in lstm_cos's docstring."""
    sig = lambda a: 1 / (1 + np.exp(-a))                 # noqa: E731
    ys = []
    for x in inputs:
        hx = np.vstack([h, [[x]]])                       # [h_{t-1}; x_t]
        f = sig(params["Wf"] @ hx + params["bf"])
        i = sig(params["Wi"] @ hx + params["bi"])
        cc = np.tanh(params["Wc"] @ hx + params["bc"])
        c = f * c + i * cc
        o = sig(params["Wo"] @ hx + params["bo"])
        h = o * np.tanh(c)
        ys.append((params["Why"] @ h + params["by"]).item())
    return np.array(ys), h, c


def gru_by_hand(params, inputs, h):
    sig = lambda a: 1 / (1 + np.exp(-a))                 # noqa: E731
    ys = []
    for x in inputs:
        hx = np.vstack([h, [[x]]])
        z = sig(params["Wz"] @ hx + params["bz"])
        r = sig(params["Wr"] @ hx + params["br"])
        hc = np.tanh(params["Wh"] @ np.vstack([r * h, [[x]]]) + params["bh"])
        h = (1 - z) * h + z * hc
        ys.append((params["Why"] @ h + params["by"]).item())
    return np.array(ys), h


def test_lstm_forward_is_the_equations():
    rng = np.random.default_rng(2)
    params = random_params(lstm_cos, 5, rng)
    h0, c0 = random_state(lstm_cos, 5, rng)
    inputs = rng.normal(0, 1, 9)
    ys, h, c = lstm_by_hand(params, inputs, h0, c0)
    hs, cs, _, ys_fast = lstm_cos.forward(params, inputs, (h0, c0))
    np.testing.assert_allclose(ys_fast, ys, rtol=1e-12)
    np.testing.assert_allclose(hs[-1], h[:, 0], rtol=1e-12)
    np.testing.assert_allclose(cs[-1], c[:, 0], rtol=1e-12)


def test_gru_forward_is_the_equations():
    rng = np.random.default_rng(3)
    params = random_params(gru_cos, 5, rng)
    h0 = random_state(gru_cos, 5, rng)
    inputs = rng.normal(0, 1, 9)
    ys, h = gru_by_hand(params, inputs, h0)
    hs, _, _, ys_fast = gru_cos.forward(params, inputs, h0)
    np.testing.assert_allclose(ys_fast, ys, rtol=1e-12)
    np.testing.assert_allclose(hs[-1], h[:, 0], rtol=1e-12)


def test_forget_gate_of_one_keeps_the_cell_state():
    # f = 1 (huge forget bias), i = 0 (huge negative input bias): C_t = C_{t-1} exactly
    H = 3
    params = {k: np.zeros_like(v) for k, v in lstm_cos.init_params(H, np.random.default_rng(0)).items()}
    params["bf"][:] = 50.0
    params["bi"][:] = -50.0
    c0 = np.array([[0.5], [-1.0], [2.0]])
    _, cs, _, _ = lstm_cos.forward(params, np.ones(6), (np.zeros((H, 1)), c0))
    np.testing.assert_allclose(cs[-1], c0[:, 0], rtol=1e-12)


@pytest.mark.parametrize("model", [rnn_cos, lstm_cos, gru_cos])
def test_forecast_is_the_forward_pass_fed_its_own_outputs(model):
    rng = np.random.default_rng(4)
    params = random_params(model, 6, rng, scale=0.4)
    seed = rng.normal(0, 1, 8)
    fc = model.forecast(params, seed, 12)
    # feeding the forecast in as if it were data must predict the forecast again
    pred = model.predict(params, np.concatenate([seed, fc[:-1]]))
    np.testing.assert_allclose(pred[len(seed) - 1:], fc, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("model", [rnn_cos, lstm_cos, gru_cos])
def test_step_runs_many_sequences_as_the_forward_pass_runs_each(model):
    # three sequences from three states, a step at a time in one batch: row p of the
    # batch is the forward pass over sequence p alone
    rng = np.random.default_rng(8)
    params = random_params(model, 5, rng)
    starts = [random_state(model, 5, rng) for _ in range(3)]
    inputs = rng.normal(0, 1, (3, 7))
    rows = [np.hstack(s).T for s in zip(*map(as_tuple, starts))]  # (3, H): one row each
    state = tuple(rows) if model is lstm_cos else rows[0]
    for t in range(7):
        state = batched_step(model)(params, inputs[:, t], state)
    state = as_tuple(state)
    for p in range(3):
        out = model.forward(params, inputs[p], starts[p])
        np.testing.assert_allclose(state[0][p], out[0][-1], rtol=1e-12)
        if model is lstm_cos:
            np.testing.assert_allclose(state[1][p], out[1][-1], rtol=1e-12)
        y = state[0][p] @ params["Why"][0] + params["by"][0, 0]
        assert y == pytest.approx(out[-1][-1], rel=1e-12)


def run_from(model, params, state, inputs):
    """Last output after running inputs from a given state (h, or (h, C))."""
    return model.forward(params, inputs, state)[-1][-1]


@pytest.mark.parametrize("model", [rnn_cos, lstm_cos, gru_cos])
def test_hidden_gradients_match_finite_differences(model):
    # every component of dL/dh_{T-k}, sign included, against central differences of
    # the loss of the last step with h_{T-k} perturbed and the last k inputs run again
    # (k = 0: the output layer alone, y_T = Why h_T + by)
    rng = np.random.default_rng(5)
    H, T = 4, 12
    params = random_params(model, H, rng, scale=0.5)
    inputs, target = rng.normal(0, 1, T), 0.3
    grads = analysis.hidden_gradients(model, params, inputs, target)
    assert grads.shape == (T, H)
    zeros = model.init_state(H)
    for k in (0, 1, 5, T - 1):
        out = model.forward(params, inputs[:T - k], zeros)
        h = out[0][-1][:, None].copy()
        rest = inputs[T - k:]
        if k == 0:
            def loss():
                return ((params["Why"] @ h).item() + params["by"].item() - target) ** 2
        elif model is lstm_cos:
            c = out[1][-1][:, None]

            def loss():
                return (run_from(model, params, (h, c), rest) - target) ** 2
        else:
            def loss():
                return (run_from(model, params, h, rest) - target) ** 2
        numeric = np.array([numerical_gradient(loss, h, (j, 0)) for j in range(H)])
        np.testing.assert_allclose(grads[k], numeric, rtol=1e-6, atol=1e-12,
                                   err_msg=f"k = {k}")


@pytest.mark.parametrize("model", [lstm_cos, gru_cos])
def test_short_training_run_lowers_the_loss(model):
    data = CosineData(1000, 0.0, 0.5 * 999, seed=0)
    params = model.init_params(16, np.random.default_rng(0))
    losses = rnn_cos.train(model.lossFun, params, data, model.init_state(16), 800, 20, 0.01)
    assert np.all(np.isfinite(losses))
    assert losses[-100:].mean() < 0.1 * losses[:10].mean(), (losses[:10].mean(), losses[-100:].mean())
