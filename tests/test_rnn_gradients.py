"""lossFun's gradients against central finite differences, and against the literal
min-char-rnn formulation beside it (lossFun_literal, itself checked against finite
differences)."""
import numpy as np
import pytest

import rnn_cos
from gradcheck import check_gradients

SHAPES = [(1, 1), (3, 5), (8, 20), (40, 7)]   # (hidden size H, time steps T)


def random_case(H, T, seed):
    rng = np.random.default_rng(seed)
    params = dict(Wxh=rng.normal(0, 0.8, (H, 1)), Whh=rng.normal(0, 0.8 / np.sqrt(H), (H, H)),
                  Why=rng.normal(0, 0.8, (1, H)), bh=rng.normal(0, 0.3, (H, 1)),
                  by=rng.normal(0, 0.3, (1, 1)))
    inputs = rng.normal(0, 1, T)
    targets = rng.normal(0, 1, T)
    hprev = rng.uniform(-0.9, 0.9, (H, 1))     # nonzero initial state
    return params, inputs, targets, hprev


@pytest.mark.parametrize("H,T", SHAPES)
def test_gradients_match_finite_differences(H, T):
    params, inputs, targets, hprev = random_case(H, T, seed=H * 100 + T)
    worst, where = check_gradients(rnn_cos.lossFun, params, inputs, targets, hprev)
    assert worst < 1e-6, (worst, where)


@pytest.mark.parametrize("H,T", SHAPES)
def test_the_literal_form_matches_finite_differences(H, T):
    params, inputs, targets, hprev = random_case(H, T, seed=H * 10 + T)
    worst, where = check_gradients(rnn_cos.lossFun_literal, params, inputs, targets, hprev)
    assert worst < 1e-6, (worst, where)


@pytest.mark.parametrize("H,T", SHAPES)
def test_matches_literal_min_char_rnn(H, T):
    params, inputs, targets, hprev = random_case(H, T, seed=7 + H + T)
    loss, grads, h = rnn_cos.lossFun(params, inputs, targets, hprev)
    loss_ref, grads_ref, h_ref = rnn_cos.lossFun_literal(params, inputs, targets, hprev)
    assert loss == pytest.approx(loss_ref, rel=1e-12, abs=1e-12)
    for name in params:
        np.testing.assert_allclose(grads[name], grads_ref[name], rtol=1e-12, atol=1e-12)
    assert h.shape == (H, 1)
    np.testing.assert_allclose(h, h_ref, rtol=1e-12, atol=1e-12)


def test_loss_is_plain_mse():
    params, inputs, targets, hprev = random_case(4, 6, seed=1)
    loss, _, _ = rnn_cos.lossFun(params, inputs, targets, hprev)
    # forward pass by hand, one step at a time
    h, errors = hprev, []
    for x, target in zip(inputs, targets):
        h = np.tanh(params["Wxh"] * x + params["Whh"] @ h + params["bh"])
        errors.append((params["Why"] @ h + params["by"]).item() - target)
    assert loss == pytest.approx(np.mean(np.square(errors)), rel=1e-12)


@pytest.mark.parametrize("lossFun", [rnn_cos.lossFun, rnn_cos.lossFun_literal])
def test_lossFun_does_not_change_its_arguments(lossFun):
    params, inputs, targets, hprev = random_case(5, 4, seed=2)
    before = {k: v.copy() for k, v in params.items()}
    h0 = hprev.copy()
    _, _, h = lossFun(params, inputs, targets, hprev)
    h[...] = 123.0                             # the returned state is a copy
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
    np.testing.assert_array_equal(hprev, h0)


def test_predict_is_the_forward_pass_from_zeros():
    params, inputs, targets, _ = random_case(6, 9, seed=3)
    zeros = np.zeros((6, 1))
    h, expected = zeros, []
    for x in inputs:
        h = np.tanh(params["Wxh"] * x + params["Whh"] @ h + params["bh"])
        expected.append((params["Why"] @ h + params["by"]).item())
    np.testing.assert_allclose(rnn_cos.predict(params, inputs), expected, rtol=1e-12)


def test_init_params_shapes():
    p = rnn_cos.init_params(7, np.random.default_rng(0))
    assert {k: v.shape for k, v in p.items()} == dict(
        Wxh=(7, 1), Whh=(7, 7), Why=(1, 7), bh=(7, 1), by=(1, 1))
