import json
import os

import numpy as np
import pytest

import rnn_cos
import training
from data import CosineData
from minchar_literal import adagrad_literal


def test_adagrad_step_worked_out_by_hand():
    param = np.array([1.0, -2.0, 0.5, 3.0])
    grad = np.array([0.5, 10.0, -7.0, 0.0])
    mem = np.array([0.0, 1.0, 0.0, 4.0])
    training.adagrad_update(param, grad, mem, learning_rate=0.1)
    # clipped gradient: [0.5, 5, -5, 0]; memory: [0.25, 1 + 25, 25, 4]
    np.testing.assert_allclose(grad, [0.5, 5.0, -5.0, 0.0])
    np.testing.assert_allclose(mem, [0.25, 26.0, 25.0, 4.0])
    # param - 0.1 * g / sqrt(mem): 1 - 0.1*0.5/0.5, -2 - 0.1*5/sqrt(26), 0.5 + 0.1*5/5, 3
    np.testing.assert_allclose(param, [0.9, -2.0 - 0.5 / np.sqrt(26.0), 0.6, 3.0], rtol=1e-7)


def test_flat_adagrad_equals_per_array_adagrad():
    rng = np.random.default_rng(0)
    params = rnn_cos.init_params(5, rng)
    grads = {k: rng.normal(0, 4, v.shape) for k, v in params.items()}
    mem = {k: rng.uniform(0, 2, v.shape) for k, v in params.items()}
    expected = {k: v.copy() for k, v in params.items()}
    adagrad_literal(expected, {k: g.copy() for k, g in grads.items()},
                    {k: m.copy() for k, m in mem.items()}, 0.05)
    flat, views = training.flatten(params)
    training.adagrad_update(flat, np.concatenate([g.ravel() for g in grads.values()]),
                            np.concatenate([m.ravel() for m in mem.values()]), 0.05)
    for k in params:
        np.testing.assert_allclose(views[k], expected[k], rtol=1e-14)


def test_flatten_gives_views_with_the_same_values():
    params = rnn_cos.init_params(4, np.random.default_rng(1))
    flat, views = training.flatten(params)
    for k in params:
        np.testing.assert_array_equal(views[k], params[k])
    flat += 1.0
    for k in params:
        np.testing.assert_array_equal(views[k], params[k] + 1.0)


def short_run(seed=0, iters=1500, **kw):
    data = CosineData(1000, 0.0, 0.3 * 999, seed=seed)
    params = rnn_cos.init_params(16, np.random.default_rng(seed))
    losses = training.train(rnn_cos, params, data, iters, 20, 0.01, rnn_cos.init_state(16),
                            **kw)
    return params, losses


def test_short_training_run_lowers_the_loss():
    params, losses = short_run()
    assert len(losses) == 1500 and np.all(np.isfinite(losses))
    start, end = losses[:20].mean(), losses[-200:].mean()
    assert end < 0.1 * start, (start, end)
    assert end < 0.05
    # and the trained network predicts a clean cosine far better than the untrained one
    x = np.arange(100) * 0.3
    untrained = rnn_cos.init_params(16, np.random.default_rng(0))
    mse = lambda p: np.mean((rnn_cos.predict(p, np.cos(x[:-1]))[10:] - np.cos(x[1:])[10:]) ** 2)  # noqa: E731
    assert mse(params) < 0.05 * mse(untrained)


def test_carried_state_also_trains():
    _, losses = short_run(carry_state=True)
    assert losses[-200:].mean() < 0.1 * losses[:20].mean()


def test_training_diverges_loudly():
    data = CosineData(200, 0.0, 60.0, seed=0)
    params = rnn_cos.init_params(8, np.random.default_rng(0))
    with pytest.raises(training.Diverged, match="iteration"):
        training.train(rnn_cos, params, data, 50, 10, 1e300, rnn_cos.init_state(8))


class StopAfter:
    def __init__(self, n):
        self.n, self.calls = n, 0

    @property
    def requested(self):
        self.calls += 1
        return self.calls > self.n


def test_stop_request_ends_after_a_whole_iteration():
    params, losses = short_run(iters=100, stop=StopAfter(37))
    assert len(losses) == 37 and np.all(np.isfinite(losses))


def run_main(tmp_path, name, *extra):
    out = tmp_path / name
    status = training.main(rnn_cos, ["--iters", "300", "--hidden", "8", "--no-plot",
                                     "--quiet", "--out", str(out), *extra])
    assert status == 0
    with np.load(out / "rnn_cos.npz", allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def test_fixed_seed_reproduces_bitwise_other_seed_differs(tmp_path, capsys):
    a = run_main(tmp_path, "a", "--seed", "3")
    b = run_main(tmp_path, "b", "--seed", "3")
    c = run_main(tmp_path, "c", "--seed", "4")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert len(a["loss"]) == 300
    assert not np.array_equal(a["loss"], c["loss"])
    assert not np.array_equal(a["Whh"], c["Whh"])


def test_saved_results_hold_what_the_issue_names(tmp_path, capsys):
    r = run_main(tmp_path, "r", "--seed", "1")
    for k in ("Wxh", "Whh", "Why", "bh", "by", "loss", "resolution", "test_inputs",
              "test_targets", "test_predictions", "iters", "steps", "hidden", "lr",
              "noise", "seed"):
        assert k in r
    assert r["Whh"].shape == (8, 8) and r["loss"].shape == (300,)
    assert float(r["resolution"]) == pytest.approx(0.5)
    # the saved predictions are what predict() gives with the saved parameters
    params = {k: r[k] for k in rnn_cos.PARAM_NAMES}
    np.testing.assert_array_equal(rnn_cos.predict(params, r["test_inputs"]),
                                  r["test_predictions"])
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    expected = np.mean((r["test_predictions"][10:] - r["test_targets"][10:]) ** 2)
    assert metrics["test_mse"] == pytest.approx(expected, rel=1e-12)
    assert metrics["settings"]["hidden"] == 8


def test_write_atomic_leaves_the_old_file_on_failure(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")

    def half_then_crash(f):
        f.write(b"half")
        raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        training.write_atomic(str(path), half_then_crash)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]          # no temporary file left behind
    training.write_atomic(str(path), lambda f: f.write(b"new"))
    assert path.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_moving_average_by_hand():
    np.testing.assert_allclose(training.moving_average(np.array([1.0, 3, 5, 7]), 2),
                               [1, 2, 4, 6])
