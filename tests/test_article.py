"""lab/article.py: the gradient recorder against the gradients by hand, and the forget
gate's probe on an LSTM latch built by hand, whose holding unit and gate are known."""
import numpy as np
import pytest

import lstm_cos
import rnn_cos
from lab import article
from lab.memory_span import latch_error
from lab.tasks import LatchData


def test_the_recorder_keeps_the_largest_gradient_norm():
    rng = np.random.default_rng(0)
    params = rnn_cos.init_params(4, rng)
    rec = article.Recorded(rnn_cos)
    norms = []
    for _ in range(3):
        x, t = rng.normal(size=6), rng.normal(size=6)
        _, grads, _ = rnn_cos.lossFun(params, x, t, rnn_cos.init_state(4))
        norms.append(np.linalg.norm(np.concatenate([g.ravel() for g in grads.values()])))
        rec.lossFun(params, x, t, rnn_cos.init_state(4))
    assert rec.largest == pytest.approx(max(norms), rel=1e-12)
    assert rec.init_params is rnn_cos.init_params          # everything else is the cell's


def hand_latch(H=3, eps=1e-2):
    """An LSTM whose unit 0 keeps the first input: its forget gate is always 1, its
    input gate 1/2, its candidate tanh(eps x) (0 when the input is 0), its output gate
    1; y = 2 / eps * h_0. The other units do nothing."""
    p = {f"W{g}": np.zeros((H, H + 1)) for g in "fico"}
    p.update({f"b{g}": np.full((H, 1), -50.0) for g in "fico"})
    p["bf"][0], p["bi"][0], p["bo"][0] = 50.0, 0.0, 50.0
    p["Wc"][0, H] = eps
    p["bc"][:] = 0.0
    p["Why"] = np.zeros((1, H))
    p["Why"][0, 0] = 2 / eps
    p["by"] = np.zeros((1, 1))
    return {k: p[k] for k in lstm_cos.PARAM_NAMES}


def test_the_probe_finds_the_unit_that_holds_the_fact_and_its_gate():
    params = hand_latch()
    data = LatchData(30, seed=0)
    assert latch_error(lstm_cos, params, data, 400) < 1e-3     # it latches
    units, corr, f = article.holders(params, LatchData(30, seed=1))
    assert list(units) == [0] and corr[0] > 0.999 and f[0] == pytest.approx(1.0)
    # forced to forget, it remembers nothing; forced to keep, nothing changes
    assert latch_error(lstm_cos, article.with_forget(params, units, 0), data, 400) > 0.95
    assert latch_error(lstm_cos, article.with_forget(params, units, 1), data, 400) < 1e-3


@pytest.mark.parametrize("args, words", [
    (["copy"], "invalid choice"),
    (["clipping", "--lrs", "0.1,-1"], "--lrs"),
    (["forget", "--gap", "0"], "--gap"),
    (["forget", "--seeds", "2-1"], "--seeds"),
])
def test_bad_options_one_line_exit_2(tmp_path, capsys, args, words):
    with pytest.raises(SystemExit) as e:
        article.main([*args, "--out", str(tmp_path / "x")])
    assert e.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], lines
    assert not (tmp_path / "x").exists()
