import json
import os

import numpy as np
import pytest

from lab import plumbing
import rnn_cos
from data import CosineData
from minimal import adagrad_literal, lossFun_literal
from plot_results import log_smooth


class FixedGradients:
    """A lossFun that returns given gradients (and a loss of 0), and a data set to go
    with it: the training loop then makes exactly the Adagrad steps of those gradients."""

    def __init__(self, grads):
        self.grads, self.calls = grads, 0
        self.y_data, self.num_points = np.ones(10), 10

    def next_batch(self, steps):
        return np.zeros(steps), np.zeros(steps)

    def lossFun(self, params, inputs, targets, hprev):
        g = self.grads[self.calls]
        self.calls += 1
        return 0.0, {k: v.copy() for k, v in g.items()}, hprev


def test_adagrad_steps_worked_out_by_hand():
    params = dict(a=np.array([1.0, -2.0]), b=np.array([[0.5], [3.0]]))
    grads = [dict(a=np.array([0.5, 10.0]), b=np.array([[-7.0], [0.0]])),
             dict(a=np.array([0.5, 1.0]), b=np.array([[1.0], [2.0]]))]
    fake = FixedGradients(grads)
    rnn_cos.train(fake, params, fake, 2, 3, 0.1, None)
    # step 1: clipped g = [0.5, 5 | -5, 0], mem = [0.25, 25 | 25, 0]
    #   a = [1 - 0.1*0.5/0.5, -2 - 0.1*5/5] = [0.9, -2.1]; b = [0.5 + 0.1, 3 - 0] = [0.6, 3]
    # step 2: g = [0.5, 1 | 1, 2], mem = [0.5, 26 | 26, 4]
    #   a = [0.9 - 0.05/sqrt(0.5), -2.1 - 0.1/sqrt(26)]; b = [0.6 - 0.1/sqrt(26), 3 - 0.2/2]
    np.testing.assert_allclose(params["a"], [0.9 - 0.05 / np.sqrt(0.5), -2.1 - 0.1 / np.sqrt(26)],
                               rtol=1e-7)
    np.testing.assert_allclose(params["b"], [[0.6 - 0.1 / np.sqrt(26)], [2.9]], rtol=1e-7)


def test_adagrad_equals_the_literal_update():
    rng = np.random.default_rng(0)
    params = rnn_cos.init_params(5, rng)
    grads = [{k: rng.normal(0, 4, v.shape) for k, v in params.items()} for _ in range(6)]
    expected = {k: v.copy() for k, v in params.items()}
    mem = {k: np.zeros_like(v) for k, v in params.items()}
    for g in grads:
        adagrad_literal(expected, {k: v.copy() for k, v in g.items()}, mem, 0.05)
    fake = FixedGradients(grads)
    rnn_cos.train(fake, params, fake, 6, 3, 0.05, None)
    for k in params:
        np.testing.assert_allclose(params[k], expected[k], rtol=1e-13)


def short_run(seed=0, iters=1500, **kw):
    data = CosineData(1000, 0.0, 0.3 * 999, seed=seed)
    params = rnn_cos.init_params(16, np.random.default_rng(seed))
    losses, _ = rnn_cos.train(rnn_cos, params, data, iters, 20, 0.01,
                              rnn_cos.init_state(16), **kw)
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


@pytest.mark.parametrize("mode", ["carry", "sequential"])
def test_carried_state_also_trains(mode):
    _, losses = short_run(hprev_mode=mode)
    assert losses[-200:].mean() < 0.1 * losses[:20].mean()


def literal_loop(params, data, iters, steps, lr, mode, anneal=0.0):
    """The training loop as min-char-rnn writes it, with the literal lossFun and Adagrad:
    'sequential' walks p through the data; 'carry' and 'reset' take random windows.
    With anneal, the learning rate of iteration n (from 0) is lr * (iters - n) / m over
    the last m = anneal * iters iterations."""
    m = round(anneal * iters)
    mem = {k: np.zeros_like(v) for k, v in params.items()}
    H = params["Whh"].shape[0]
    p, hprev, losses, starts = 0, np.zeros((H, 1)), [], []
    for n in range(iters):
        if mode == "sequential":
            if p + steps + 1 > len(data.y_data) or n == 0:
                hprev, p = np.zeros((H, 1)), 0
            inputs = data.y_data[p:p + steps]
            targets = data.y_data[p + 1:p + steps + 1]
            starts.append(p)
            p += steps
        else:
            inputs, targets = data.next_batch(steps)
            if mode == "reset":
                hprev = np.zeros((H, 1))
        loss, grads, hprev = lossFun_literal(params, inputs, targets, hprev)
        adagrad_literal(params, grads, mem, lr * (iters - n) / m if n >= iters - m else lr)
        losses.append(loss)
    return np.array(losses), starts


class Recorder:
    """Wraps a lossFun and records the inputs and the state each window starts from."""

    def __init__(self, lossFun):
        self.inner, self.inputs, self.states = lossFun, [], []

    def lossFun(self, params, inputs, targets, hprev):
        self.inputs.append(inputs.copy())
        self.states.append(hprev.copy())
        return self.inner(params, inputs, targets, hprev)


@pytest.mark.parametrize("mode", ["reset", "carry", "sequential"])
def test_hprev_modes_match_the_literal_loop(mode):
    H, steps, iters = 6, 7, 90               # 100 points: 14 windows, then back to the start
    init = rnn_cos.init_params(H, np.random.default_rng(1))
    expected = {k: v.copy() for k, v in init.items()}
    want, starts = literal_loop(expected, CosineData(100, 0.0, 30.0, seed=2), iters, steps,
                                0.01, mode)
    params = {k: v.copy() for k, v in init.items()}
    record = Recorder(rnn_cos.lossFun)
    data = CosineData(100, 0.0, 30.0, seed=2)
    losses, _ = rnn_cos.train(record, params, data, iters, steps, 0.01,
                              rnn_cos.init_state(H), mode)
    np.testing.assert_allclose(losses, want, rtol=1e-10)
    for k in init:
        np.testing.assert_allclose(params[k], expected[k], rtol=1e-10, atol=1e-13)
    zero = [not np.any(s) for s in record.states]
    if mode == "reset":
        assert all(zero)
    elif mode == "carry":
        assert zero[0] and not any(zero[1:])
    else:
        # consecutive windows walk through the data, 14 to a pass, the state carried on
        # within a pass and back to zeros at its start
        assert starts[:16] == [0, 7, 14, 21, 28, 35, 42, 49, 56, 63, 70, 77, 84, 91, 0, 7]
        for inputs, p in zip(record.inputs, starts):
            np.testing.assert_array_equal(inputs, data.y_data[p:p + steps])
        assert zero == [p == 0 for p in starts]


@pytest.mark.parametrize("anneal", [0.1, 0.5, 1.0])
def test_annealing_matches_the_literal_loop(anneal):
    init = rnn_cos.init_params(4, np.random.default_rng(3))
    expected = {k: v.copy() for k, v in init.items()}
    want, _ = literal_loop(expected, CosineData(80, 0.0, 20.0, seed=5), 50, 6, 0.05,
                           "reset", anneal)
    params = {k: v.copy() for k, v in init.items()}
    losses, _ = rnn_cos.train(rnn_cos, params, CosineData(80, 0.0, 20.0, seed=5),
                              50, 6, 0.05, rnn_cos.init_state(4), "reset", anneal)
    np.testing.assert_allclose(losses, want, rtol=1e-10)
    for k in init:
        np.testing.assert_allclose(params[k], expected[k], rtol=1e-10, atol=1e-13)


def test_annealed_steps_by_hand():
    # a gradient of 1 every time: Adagrad's step is lr / sqrt(n + 1e-8) at the n-th
    # iteration; annealed over the last 2 of 4 iterations, lr is 1, 1, 2/2, 1/2 (x 0.1)
    params = dict(w=np.array([0.0]))
    fake = FixedGradients([dict(w=np.array([1.0]))] * 4)
    rnn_cos.train(fake, params, fake, 4, 3, 0.1, None, anneal=0.5)
    steps = [f / np.sqrt(n + 1e-8) for f, n in zip([1, 1, 1, 0.5], [1, 2, 3, 4])]
    assert params["w"][0] == pytest.approx(-0.1 * sum(steps), rel=1e-12)


def test_sequential_mode_learns_below_reset():
    # with the state carried along the series, no window pays for a warm-up from zeros
    _, reset = short_run(iters=4000)
    _, sequential = short_run(iters=4000, hprev_mode="sequential")
    assert sequential[-1000:].mean() < 0.6 * reset[-1000:].mean(), (
        sequential[-1000:].mean(), reset[-1000:].mean())


def test_training_diverges_loudly():
    data = CosineData(200, 0.0, 60.0, seed=0)
    params = rnn_cos.init_params(8, np.random.default_rng(0))
    with pytest.raises(plumbing.Diverged, match="iteration"):
        rnn_cos.train(rnn_cos, params, data, 50, 10, 1e300, rnn_cos.init_state(8))


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
    status = rnn_cos.main(rnn_cos, ["--iters", "300", "--hidden", "8", "--no-plot",
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


def test_saved_results_hold_the_weights_losses_and_settings(tmp_path, capsys):
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
        plumbing.write_atomic(str(path), half_then_crash)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]          # no temporary file left behind
    plumbing.write_atomic(str(path), lambda f: f.write(b"new"))
    assert path.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_log_smooth_by_hand():
    v = np.arange(1.0, 31.0)                 # 1, 2, ..., 30
    out = log_smooth(v)
    # the mean of the last ceil(n / 10) values: 1 up to n = 10, 2 up to 20, 3 up to 30
    np.testing.assert_allclose(out[:10], v[:10])
    np.testing.assert_allclose(out[10], (10 + 11) / 2)
    np.testing.assert_allclose(out[20], (19 + 20 + 21) / 3)
    long = np.arange(20_000.0)
    assert log_smooth(long)[-1] == pytest.approx(long[-1000:].mean())   # at most 1,000


def test_the_article_program_trains_as_rnn_cos_train(monkeypatch):
    # rnn_cos_minimal.py's own loop (its data windows, its lossFun with dicts, Adagrad
    # over zip, the annealing) against rnn_cos.train from the same weights on the same
    # windows: the same losses and weights after 60 iterations
    import rnn_cos_minimal as minimal
    from minimal import NAMES, weights
    init = rnn_cos.init_params(6, np.random.default_rng(4))
    for k in NAMES:
        monkeypatch.setattr(minimal, k, init[k].copy())
    monkeypatch.setattr(minimal, "hidden_size", 6)
    monkeypatch.setattr(minimal, "seq_length", 7)
    data = minimal.CosineData(200, 0.0, 0.5 * 199, seed=3)
    want = minimal.train(data, 60)
    trained = weights()
    params = {k: v.copy() for k, v in init.items()}
    got, _ = rnn_cos.train(rnn_cos, params, minimal.CosineData(200, 0.0, 0.5 * 199, seed=3),
                           60, 7, minimal.learning_rate, rnn_cos.init_state(6), "reset",
                           minimal.anneal)
    np.testing.assert_allclose(got, want, rtol=1e-10)
    for k in NAMES:
        np.testing.assert_allclose(params[k], trained[k], rtol=1e-10, atol=1e-13)
    assert not np.allclose(params["Whh"], init["Whh"])          # it did train
    # and its data class hands out the windows the project's does, from the same seed
    ours, theirs = CosineData(200, 0.0, 0.5 * 199, seed=3), minimal.CosineData(200, 0.0, 0.5 * 199, seed=3)
    np.testing.assert_array_equal(ours.y_data, theirs.y_data)
    for _ in range(5):
        for a, b in zip(ours.next_batch(7), theirs.next_batch(7)):
            np.testing.assert_array_equal(a, b)
