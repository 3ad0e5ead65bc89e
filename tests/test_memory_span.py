"""The delayed echo (lab/tasks.py) and lab/memory_span.py: the data's alignment by hand, the
score against models whose answers are known, and the script's grid, choice and files."""
import csv
import json
import os

import numpy as np
import pytest

from lab import memory_span
import rnn_cos
from conftest import in_process
from lab.tasks import EchoData


def test_echo_windows_by_hand():
    data = EchoData(12, 2, seed=0)
    u = data.y_data
    assert u.shape == (12,) and np.all(np.abs(u) <= 1)
    inputs, targets = data.batch_at(3, 5)
    np.testing.assert_array_equal(inputs, u[3:8])
    np.testing.assert_array_equal(targets, [0, 0, u[3], u[4], u[5]])
    for _ in range(50):                            # random windows: the same rule
        inputs, targets = data.next_batch(4)
        assert len(inputs) == len(targets) == 4
        np.testing.assert_array_equal(targets[2:], inputs[:2])
        np.testing.assert_array_equal(targets[:2], [0, 0])
    with pytest.raises(ValueError, match="no window"):
        data.batch_at(9, 5)
    with pytest.raises(ValueError, match="delay"):
        EchoData(10, -1)
    # delay 0: the target is the input itself
    inputs, targets = EchoData(5, 0, seed=1).batch_at(0, 5)
    np.testing.assert_array_equal(inputs, targets)


def test_the_noise_is_uniform_on_minus_one_one():
    u = EchoData(200_000, 3, seed=0).y_data
    assert u.min() >= -1 and u.max() <= 1
    assert np.var(u) == pytest.approx(1 / 3, rel=0.01)
    assert abs(np.mean(u)) < 0.01


class Answer:
    """A model whose outputs are given by a function of the inputs."""

    def __init__(self, f):
        self.f = f

    def predict(self, params, inputs):
        return self.f(np.asarray(inputs))


def test_a_network_that_answers_zero_scores_one_and_a_perfect_echo_zero():
    data = EchoData(500 * 25, 5, seed=3)
    zero = memory_span.normalised_error(Answer(np.zeros_like), None, data, 5, 25)
    # by hand: the mean square of the scored targets over the variance of the input
    windows = data.y_data.reshape(500, 25)
    scored = windows[:, :20]                          # targets t >= 5 are inputs 0..19
    assert zero == pytest.approx(np.mean(scored ** 2) / np.var(data.y_data), rel=1e-12)
    assert zero == pytest.approx(1.0, abs=0.03)
    echo = Answer(lambda x: np.r_[np.zeros(5), x[:-5]])
    assert memory_span.normalised_error(echo, None, data, 5, 25) == 0.0
    one_late = Answer(lambda x: np.r_[np.zeros(6), x[:-6]])   # the wrong delay: ~2
    assert memory_span.normalised_error(one_late, None, data, 5, 25) == pytest.approx(2, abs=0.1)


@pytest.mark.parametrize("delay", [1, 3, 7])
def test_a_delay_line_built_by_hand_remembers_exactly_d_steps(delay):
    # a plain RNN as a shift register: unit 0 takes the input (scaled down to tanh's
    # linear range), Whh moves unit j to unit j + 1, and the output reads unit d
    H, eps = 8, 1e-4
    params = dict(Wxh=np.zeros((H, 1)), Whh=np.eye(H, k=-1), Why=np.zeros((1, H)),
                  bh=np.zeros((H, 1)), by=np.zeros((1, 1)))
    params["Wxh"][0, 0] = eps
    params["Why"][0, delay] = 1 / eps
    data = EchoData(500 * 30, delay, seed=0)
    assert memory_span.normalised_error(rnn_cos, params, data, delay, 30) < 1e-7
    other = EchoData(500 * 30, delay + 1, seed=0)           # asked one step further back
    assert memory_span.normalised_error(rnn_cos, params, other, delay + 1, 30) > 1.5


def run(*args):
    return in_process("lab.memory_span", *args)


@pytest.mark.parametrize("args, words", [
    (["--delays", "0,2"], "--delays"),
    (["--delays", "two"], "--delays"),
    (["--delays", ""], "--delays"),
    (["--seeds", "3-1"], "--seeds"),
    (["--lrs", "0.1,-1"], "--lrs"),
    (["--cells", "cnn"], "no cell 'cnn' in the echo task"),
    (["--task", "latch", "--cells", "GRU", "bogus"], "no cell 'bogus' in the latch task"),
    (["--task", "copy"], "--task"),
    (["--noise"], "only the latch has distractors"),
    (["--window", "20"], "only the recall"),
    (["--task", "recall", "--delays", "100,200"], "one longest gap"),
    (["--task", "recall", "--delays", "3"], "between 4 and"),
    (["--workers", "0"], "--workers"),
    (["--iters", "0"], "--iters"),
])
def test_bad_options_one_line_exit_2(tmp_path, capsys, args, words):
    # in this process: parse_args is all a run does before its first job
    with pytest.raises(SystemExit) as e:
        memory_span.main([*args, "--out", str(tmp_path / "never")])
    assert e.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m lab.memory_span: error: ")
    assert words in lines[0] and not (tmp_path / "never").exists()


def test_a_bad_option_as_a_process_too(tmp_path):
    p = run("--task", "copy", "--out", str(tmp_path / "never"))
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1
    assert "--task" in p.stderr and not (tmp_path / "never").exists()


def test_a_tiny_grid_chooses_the_rate_on_validation_and_writes_exactly_the_format(tmp_path):
    out = tmp_path / "m"
    args = ["--delays", "1,3", "--seeds", "0", "--iters", "40", "--cells", "gru",
            "--lrs", "0.003,0.1", "--workers", "2", "--out", str(out)]
    p = run(*args)
    assert p.returncode == 0, p.stderr
    summary = json.loads((out / "memory_span.json").read_text())
    assert summary["task"] == "echo" and list(summary["cells"]) == ["GRU"]
    assert summary["iters"] == 40 and summary["beyond_capacity"] == {}
    assert (out / "reach.png").stat().st_size > 10_000
    with open(out / "runs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 2 and all(r["status"] == "ok" for r in rows)
    for cell, c in summary["cells"].items():
        assert list(c) == ["lr", "hidden", "init", "delays", "nmse", "reach_init",
                           "reach_trained"] and c["delays"] == [1, 3]
        # the state's reach at k = 0, 1, 2, 5, 10, 20, 50 (below 61 and 63 steps): 1 at 0
        assert all(len(v) == 7 and v[0] == 1.0 for d in c["reach_trained"] for v in d)
        assert c["hidden"] == 32 and c["init"] == "default"
        mine = [r for r in rows if r["label"] == cell]
        # the rate with the lowest mean validation error, worked out from the rows
        mean_val = {lr: np.mean([float(r["val_nmse"]) for r in mine if float(r["lr"]) == lr])
                    for lr in (0.003, 0.1)}
        assert c["lr"] == min(mean_val, key=mean_val.get)
        for i, d in enumerate((1, 3)):
            assert c["nmse"][i] == [float(r["test_nmse"]) for s in ("0",) for r in mine
                                    if float(r["lr"]) == c["lr"] and r["delay"] == str(d)
                                    and r["seed"] == s]
    assert (out / "memory_span.png").stat().st_size > 10_000
    again = run(*args, "--no-plot")              # and no figure left of another summary
    assert again.returncode == 0 and "4 already in" in again.stdout and "0 to run" in again.stdout
    assert json.loads((out / "memory_span.json").read_text()) == summary
    assert sorted(os.listdir(out)) == ["memory_span.json", "runs.csv"]


def test_a_run_is_what_train_and_score_gives():
    p = run("--run", "echo", "lstm_cos", "default", "0.1", "2", "1", "30", "0", "-")
    assert p.returncode == 0, p.stderr
    got, want = json.loads(p.stdout), memory_span.train_and_score("echo", "lstm_cos",
                                                                   "default", 0.1, 2, 1, 30)
    assert got.keys() == want.keys()
    for k in got:
        assert got[k] == pytest.approx(want[k]), k


def test_a_tiny_recall_grid_writes_the_format_and_tests_the_best_cell_against_the_window(
        tmp_path):
    out = tmp_path / "r"
    p = run("--task", "recall", "--iters", "20", "--seeds", "0", "--cells", "GRU",
            "linear window", "--window", "30", "--workers", "2", "--out", str(out))
    assert p.returncode == 0, p.stderr
    summary = json.loads((out / "memory_span.json").read_text())
    assert summary["task"] == "recall" and list(summary["cells"]) == ["GRU", "linear window"]
    for c in summary["cells"].values():
        assert list(c) == ["lr", "hidden", "init", "delays", "nmse"]
        assert c["delays"] == list(memory_span.BINS) and len(c["nmse"]) == len(memory_span.BINS)
    window = summary["cells"]["linear window"]
    assert window["lr"] is None and window["init"] in memory_span.WINDOWS_LINEAR
    with open(out / "runs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["window"] for r in rows} == {"30"}
    # the window chosen is the one with the lowest validation error of its rows
    mine = {r["init"]: float(r["val_nmse"]) for r in rows if r["label"] == "linear window"}
    assert window["init"] == min(mine, key=mine.get)
    dm = summary["dm"]
    assert dm["cell"] == "GRU" and dm["window"] == "linear window" and len(dm["p"]) == 1
    # the log names the better one: the smaller mean squared error over the intervals
    gru = summary["cells"]["GRU"]
    far = {r["label"]: np.mean(json.loads(r["test_far"])) for r in rows
           if (r["label"], r["init"]) in (("GRU", gru["init"]), ("linear window", window["init"]))
           and (r["label"] == "linear window" or float(r["lr"]) == gru["lr"])}
    better = "the window" if far["linear window"] < far["GRU"] else "the cell"
    assert f"({better} better)" in p.stdout
    assert (out / "memory_span.png").stat().st_size > 10_000 and not (out / "reach.png").exists()
