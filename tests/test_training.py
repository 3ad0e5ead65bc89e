import json
import os

import numpy as np
import pytest

import plot_results
import rnn_cos
from data import CosineData
from lab import plumbing
from lab.figures import log_smooth

lossFun_literal = rnn_cos.lossFun_literal        # checked against finite differences too


def adagrad_literal(params, grads, mem, learning_rate):
    """min-char-rnn's parameter update, one array at a time: the gradient clipped to
    [-5, 5], its square added to the memory, the step divided by the memory's root."""
    for k in params:
        np.clip(grads[k], -5, 5, out=grads[k])
        mem[k] += grads[k] * grads[k]
        params[k] += -learning_rate * grads[k] / np.sqrt(mem[k] + 1e-8)


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
    rnn_cos.train(fake.lossFun, params, fake, None, 2, 3, 0.1)
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
    rnn_cos.train(fake.lossFun, params, fake, None, 6, 3, 0.05)
    for k in params:
        np.testing.assert_allclose(params[k], expected[k], rtol=1e-13)


def short_run(seed=0, iters=1500, **kw):
    data = CosineData(1000, 0.0, 0.3 * 999, seed=seed)
    params = rnn_cos.init_params(16, np.random.default_rng(seed))
    losses = rnn_cos.train(rnn_cos.lossFun, params, data, rnn_cos.init_state(16), iters, 20,
                           0.01, **kw)
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
    losses = rnn_cos.train(record.lossFun, params, data, rnn_cos.init_state(H), iters, steps,
                           0.01, mode)
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
    losses = rnn_cos.train(rnn_cos.lossFun, params, CosineData(80, 0.0, 20.0, seed=5),
                           rnn_cos.init_state(4), 50, 6, 0.05, "reset", anneal)
    np.testing.assert_allclose(losses, want, rtol=1e-10)
    for k in init:
        np.testing.assert_allclose(params[k], expected[k], rtol=1e-10, atol=1e-13)


def test_annealed_steps_by_hand():
    # a gradient of 1 every time: Adagrad's step is lr / sqrt(n + 1e-8) at the n-th
    # iteration; annealed over the last 2 of 4 iterations, lr is 1, 1, 2/2, 1/2 (x 0.1)
    params = dict(w=np.array([0.0]))
    fake = FixedGradients([dict(w=np.array([1.0]))] * 4)
    rnn_cos.train(fake.lossFun, params, fake, None, 4, 3, 0.1, anneal=0.5)
    steps = [f / np.sqrt(n + 1e-8) for f, n in zip([1, 1, 1, 0.5], [1, 2, 3, 4])]
    assert params["w"][0] == pytest.approx(-0.1 * sum(steps), rel=1e-12)


def test_sequential_mode_learns_below_reset():
    # with the state carried along the series, no window pays for a warm-up from zeros
    _, reset = short_run(iters=4000)
    _, sequential = short_run(iters=4000, hprev_mode="sequential")
    assert sequential[-1000:].mean() < 0.6 * reset[-1000:].mean(), (
        sequential[-1000:].mean(), reset[-1000:].mean())


def test_the_laboratory_stops_a_diverged_run_loudly():
    data = CosineData(200, 0.0, 60.0, seed=0)
    params = rnn_cos.init_params(8, np.random.default_rng(0))
    with pytest.raises(plumbing.Diverged, match="iteration"):
        plumbing.train(rnn_cos, params, data, 50, 10, 1e300)


def test_the_script_refuses_to_save_a_diverged_run(tmp_path, capsys):
    status = rnn_cos.main(["--iters", "50", "--lr", "1e300", "--no-plot", "--out",
                           str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 3 and "the loss " in err and "nothing was saved" in err
    assert os.listdir(tmp_path / "out") == []        # nothing written, not even a temporary


class Calls:
    """An on_step hook that records its calls and says False at iteration `stop`."""

    def __init__(self, stop=None):
        self.calls, self.stop = [], stop

    def __call__(self, n, loss, params):
        self.calls.append((n, loss, params["Whh"].copy()))
        return None if n != self.stop else False


def test_the_hook_sees_every_iteration_and_stops_the_loop():
    hook = Calls()
    params, losses = short_run(iters=30, on_step=hook)
    assert [c[0] for c in hook.calls] == list(range(30))
    np.testing.assert_array_equal([c[1] for c in hook.calls], losses)  # the same losses
    np.testing.assert_array_equal(hook.calls[-1][2], params["Whh"])     # after the update
    # the weights after iteration n are those of a run of n + 1 iterations (no annealing)
    again, _ = short_run(iters=12)
    np.testing.assert_array_equal(hook.calls[11][2], again["Whh"])
    stop = Calls(stop=36)                                              # False: stop
    _, losses = short_run(iters=100, on_step=stop)
    assert len(losses) == 37 and len(stop.calls) == 37
    np.testing.assert_array_equal(losses, short_run(iters=37)[1])      # None: go on


def test_the_laboratory_keeps_snapshots_of_the_weights():
    data = lambda: CosineData(300, 0.0, 0.5 * 299, seed=4)            # noqa: E731
    init = rnn_cos.init_params(6, np.random.default_rng(5))
    params = {k: v.copy() for k, v in init.items()}
    losses, kept = plumbing.train(rnn_cos, params, data(), 40, 10, 0.01, keep=(0, 7, 40))
    assert sorted(kept) == [0, 7, 40] and len(losses) == 40
    for k in init:
        np.testing.assert_array_equal(kept[0][k], init[k])
        np.testing.assert_array_equal(kept[40][k], params[k])
    seven = {k: v.copy() for k, v in init.items()}
    rnn_cos.train(rnn_cos.lossFun, seven, data(), rnn_cos.init_state(6), 7, 10, 0.01)
    for k in init:
        np.testing.assert_array_equal(kept[7][k], seven[k])


class StopAfter:
    def __init__(self, n):
        self.n, self.calls = n, 0

    @property
    def requested(self):
        self.calls += 1
        return self.calls > self.n


def test_stop_request_ends_after_a_whole_iteration():
    data = CosineData(1000, 0.0, 0.3 * 999, seed=0)
    params = rnn_cos.init_params(16, np.random.default_rng(0))
    losses, _ = plumbing.train(rnn_cos, params, data, 100, 20, 0.01, stop=StopAfter(37))
    assert len(losses) == 37 and np.all(np.isfinite(losses))
    np.testing.assert_array_equal(losses, short_run(iters=37)[1])


def run_main(tmp_path, name, *extra):
    out = tmp_path / name
    status = rnn_cos.main(["--iters", "300", "--hidden", "8", "--no-plot", "--out", str(out),
                           *extra])
    assert status == 0
    with np.load(out / "rnn_cos.npz", allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def test_fixed_seed_reproduces_bitwise_other_seed_differs(tmp_path, capsys):
    a = run_main(tmp_path, "a", "--seed", "3")
    b = run_main(tmp_path, "b", "--seed", "3")
    c = run_main(tmp_path, "c", "--seed", "4")
    assert a.keys() == b.keys()
    for k in a:
        if k != "out":
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
    params = {k: r[k] for k in ("Wxh", "Whh", "Why", "bh", "by")}
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


def test_the_tutorial_writes_whole_or_not_at_all(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("full")))
    with pytest.raises(OSError):
        plot_results.write_whole(str(path), b"new")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.bin"]
    monkeypatch.undo()
    plot_results.write_whole(str(path), b"new")
    assert path.read_bytes() == b"new" and os.listdir(tmp_path) == ["f.bin"]


def test_log_smooth_by_hand():
    v = np.arange(1.0, 31.0)                 # 1, 2, ..., 30
    out = log_smooth(v)
    # the mean of the last ceil(n / 10) values: 1 up to n = 10, 2 up to 20, 3 up to 30
    np.testing.assert_allclose(out[:10], v[:10])
    np.testing.assert_allclose(out[10], (10 + 11) / 2)
    np.testing.assert_allclose(out[20], (19 + 20 + 21) / 3)
    long = np.arange(20_000.0)
    assert log_smooth(long)[-1] == pytest.approx(long[-1000:].mean())   # at most 1,000
