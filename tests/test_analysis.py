"""analysis.py and the snapshots: every computed fact against an independent reference
(finite differences, a plain fixed-point iteration, networks built by hand whose
behaviour is known, sinusoids of known period, runs stopped early)."""
import json
import os

import numpy as np
import pytest

import rnn_cos
from data import CosineData, forecast_cosine
from lab import analysis, figures, inside, plumbing
from test_training import StopAfter


def rotation_network(scale, angle):
    """A two-unit RNN whose free-running map is h <- tanh(M h) with M = scale * R(angle),
    a rotation: Whh = M - Wxh Why, so that M = Whh + Wxh Why, and b = 0."""
    c, s = np.cos(angle), np.sin(angle)
    Wxh, Why = np.array([[0.5], [0.2]]), np.array([[1.0, 0.0]])
    return dict(Wxh=Wxh, Whh=scale * np.array([[c, -s], [s, c]]) - Wxh @ Why, Why=Why,
                bh=np.zeros((2, 1)), by=np.zeros((1, 1)))


@pytest.mark.parametrize("P, rel", [(12.566370614359172, 1e-6), (7.3, 1e-6), (50.2, 1e-6),
                                    (2.5, 1e-4), (3.14159, 1e-4)])   # few samples a period
def test_period_of_sampled_sinusoids(P, rel):
    t = np.arange(4000)
    assert analysis.period(np.cos(2 * np.pi * t / P + 0.7)) == pytest.approx(P, rel=rel)
    # not a sinusoid, the same period: a harmonic and an offset do not change it
    y = 3 + np.cos(2 * np.pi * t / P) + 0.3 * np.cos(4 * np.pi * t / P + 1)
    assert analysis.period(y) == pytest.approx(P, rel=1e-4)


def test_no_period_without_an_oscillation():
    assert np.isnan(analysis.period(np.full(100, 0.3)))
    assert np.isnan(analysis.period(np.exp(-np.arange(100.0))))   # crosses its mean once
    assert np.isnan(analysis.period([1.0, np.nan, 2.0, 0.0]))


def test_jacobian_against_finite_differences():
    rng = np.random.default_rng(0)
    M, b, h = rng.normal(0, 0.6, (5, 5)), rng.normal(0, 0.3, 5), rng.normal(0, 0.5, 5)
    J = analysis.jacobian(M, b, h)
    eps = 1e-6
    numeric = np.column_stack([(np.tanh(M @ (h + eps * e) + b) - np.tanh(M @ (h - eps * e) + b))
                               / (2 * eps) for e in np.eye(5)])
    np.testing.assert_allclose(J, numeric, rtol=1e-7, atol=1e-10)


def test_fixed_point_against_plain_iteration():
    rng = np.random.default_rng(1)
    M = rng.normal(0, 1, (6, 6))
    M *= 0.7 / np.linalg.norm(M, 2)                     # a contraction: one fixed point
    b = rng.normal(0, 0.5, 6)
    h, residual = analysis.fixed_point(M, b)
    assert residual < 1e-12
    g = np.zeros(6)
    for _ in range(2000):
        g = np.tanh(M @ g + b)
    np.testing.assert_allclose(h, g, atol=1e-12)


def test_fixed_point_of_a_trained_like_network_has_a_small_residual():
    rng = np.random.default_rng(2)
    params = dict(Wxh=rng.normal(0, 1, (16, 1)), Whh=rng.normal(0, 0.4, (16, 16)),
                  Why=rng.normal(0, 0.4, (1, 16)), bh=rng.normal(0, 0.2, (16, 1)),
                  by=rng.normal(0, 0.2, (1, 1)))
    M, b = analysis.free_running_map(params)
    np.testing.assert_allclose(M, params["Whh"] + params["Wxh"] @ params["Why"])
    h, residual = analysis.fixed_point(M, b)
    assert residual < 1e-10
    np.testing.assert_allclose(h, np.tanh(M @ h + b), atol=1e-10)


@pytest.mark.parametrize("scale, angle", [(1.5, 0.5), (1.2, 0.3), (2.0, 1.1)])
def test_eigenvalues_of_a_scaled_rotation(scale, angle):
    params = rotation_network(scale, angle)
    M, b = analysis.free_running_map(params)
    h, residual = analysis.fixed_point(M, b)
    np.testing.assert_allclose(h, 0.0, atol=1e-15)
    lead = analysis.leading_pair(np.linalg.eigvals(analysis.jacobian(M, b, h)))
    assert abs(lead) == pytest.approx(scale, rel=1e-12)
    assert np.angle(lead) == pytest.approx(angle, rel=1e-12)


def test_a_barely_unstable_rotation_oscillates_at_its_angle():
    # |lambda| = 1.005: the spiral grows slowly and the tanh stops it at a small
    # amplitude, where tanh is almost linear, so the loop turns `angle` per step
    angle = 2 * np.pi / 12.5
    params = rotation_network(1.005, angle)
    per, amp, y, states = analysis.learned_oscillation(rnn_cos, params, [0.3, 0.5], 0.5)
    assert per == pytest.approx(12.5, rel=2e-3)
    # a circle: both units swing alike, and the output is unit 1
    assert np.ptp(states[:, 0]) == pytest.approx(np.ptp(states[:, 1]), rel=0.01)
    assert amp == pytest.approx(np.ptp(states[:, 0]), rel=1e-12)


def test_a_stable_rotation_settles_and_has_no_period():
    params = rotation_network(0.9, 0.5)
    per, amp, y, _ = analysis.learned_oscillation(rnn_cos, params, [0.3, 0.5], 0.5)
    assert np.isnan(per) and amp < 1e-12


def test_what_it_learned_of_a_rotation_network():
    angle = 2 * np.pi / 12.5
    numbers = arrays = analysis.what_it_learned(rnn_cos, rotation_network(1.3, angle), 0.5)
    assert numbers["leading_eigenvalue_modulus"] == pytest.approx(1.3, rel=1e-12)
    assert numbers["leading_eigenvalue_angle"] == pytest.approx(angle, rel=1e-12)
    assert numbers["linear_period"] == pytest.approx(12.5, rel=1e-12)
    assert numbers["fixed_point_residual"] < 1e-14
    assert numbers["loop_variance_explained"] == pytest.approx(1.0)   # two units: a plane
    assert numbers["true_period"] == pytest.approx(2 * np.pi / 0.5)
    assert arrays["memory_h"].shape[1] == 2 and sorted(arrays["memory_units"]) == [0, 1]


def test_drift_rmse_by_hand():
    assert analysis.drift_rmse(2 * np.pi / 0.5, 0.5, 40) == pytest.approx(0.0, abs=1e-15)
    # a constant phase error d per step: after t steps the error is t d and
    # the mean over the phase of (cos a - cos(a + t d))^2 is 1 - cos(t d)
    P, n = 12.4, 38
    d = 2 * np.pi / P - 0.5
    expected = np.sqrt(np.mean([1 - np.cos(t * d) for t in range(1, n + 1)]))
    assert analysis.drift_rmse(P, 0.5, n) == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------------------------------
# snapshots
def test_snapshot_iterations():
    assert plumbing.snapshot_iterations(100_000) == [0, 50, 100, 200, 500, 1000, 2000, 5000,
                                                     10000, 20000, 50000, 100000]
    assert plumbing.snapshot_iterations(300) == [0, 50, 100, 200, 300]
    assert plumbing.snapshot_iterations(1) == [0, 1]


def run(iters, **kw):
    data = CosineData(300, 0.0, 0.5 * 299, seed=4)
    params = rnn_cos.init_params(6, np.random.default_rng(5))
    losses, kept = plumbing.train(rnn_cos, params, data, iters, 10, 0.01, "reset", 0.1, **kw)
    return params, losses, kept


def test_snapshots_are_the_weights_of_a_run_stopped_there():
    keep = {0, 7, 50, 123, 200}
    _, losses, kept = run(200, keep=keep)
    assert sorted(kept) == sorted(keep)
    init = rnn_cos.init_params(6, np.random.default_rng(5))
    for k in init:
        np.testing.assert_array_equal(kept[0][k], init[k])
    for n in (7, 50, 123):
        stopped, part, _ = run(200, stop=StopAfter(n))
        np.testing.assert_array_equal(part, losses[:n])
        for k in stopped:
            np.testing.assert_array_equal(kept[n][k], stopped[k])


def inside_run(tmp_path, iters, *extra):
    """python -m lab.inside, in process: its results as a dict."""
    out = tmp_path / "inside"
    assert inside.main(["--iters", str(iters), "--hidden", "6", "--out", str(out),
                        *extra]) == 0
    with np.load(out / "rnn_cos.npz", allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def test_the_inside_trains_the_scripts_network_and_keeps_its_snapshots(tmp_path, capsys):
    r = inside_run(tmp_path, 300, "--no-plot")
    # the same weights as python rnn_cos.py with the same options
    assert rnn_cos.main(["--iters", "300", "--hidden", "6", "--no-plot", "--out",
                         str(tmp_path / "script")]) == 0
    with np.load(tmp_path / "script" / "rnn_cos.npz", allow_pickle=False) as f:
        for k in ("Wxh", "Whh", "Why", "bh", "by", "loss"):
            np.testing.assert_array_equal(r[k], f[k])
    np.testing.assert_array_equal(r["snap_iters"], [0, 50, 100, 200, 300])
    _, seed, truth = forecast_cosine(0.5)
    names = ("Wxh", "Whh", "Why", "bh", "by")
    for i, n in enumerate(r["snap_iters"]):
        weights = {k: r[f"snap_{k}"][i] for k in names}
        np.testing.assert_array_equal(r["snap_forecast"][i],
                                      rnn_cos.forecast(weights, seed, len(truth)))
    for k in names:                                       # the last one is the result
        np.testing.assert_array_equal(r[f"snap_{k}"][-1], r[k])
    assert r["snap_loss"][2] == pytest.approx(r["loss"][0:100].mean())
    m = json.loads((tmp_path / "inside" / "metrics.json").read_text())
    for key in ("learned_period", "true_period", "learned_amplitude", "fixed_point_residual",
                "leading_eigenvalue_angle"):
        assert key in m


def test_the_inside_draws_the_learning_and_memory_figures(tmp_path, capsys):
    inside_run(tmp_path, 600, "--no-plot")
    (tmp_path / "figs").mkdir()
    paths = figures.plot_file(str(tmp_path / "inside" / "rnn_cos.npz"), str(tmp_path / "figs"))
    names = sorted(os.path.basename(p) for p in paths)
    assert names == ["learning.gif", "learning.png", "loss_by_step.png", "memory.png",
                     "vanishing_rnn.png"]
    from PIL import Image
    with Image.open(tmp_path / "figs" / "learning.gif") as gif:
        assert gif.n_frames == 6                           # 0, 50, 100, 200, 500, 600
    assert os.path.getsize(tmp_path / "figs" / "learning.gif") < 2e6
