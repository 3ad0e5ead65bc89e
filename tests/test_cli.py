"""The scripts as a user runs them: real processes, real exit statuses and messages."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import ROOT, command

TINY = ["--iters", "200", "--hidden", "8"]
FIGURES = ("loss.png", "predictions.png", "forecast.png", "learning.png", "learning.gif",
           "memory.png", "vanishing.png")


def run(script, *args, cwd=None):
    return subprocess.run([*command(script), *args],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def is_png(path):
    """A PNG file (or, for a .gif, a GIF file)."""
    with open(path, "rb") as f:
        head = f.read(8)
    if str(path).endswith(".gif"):
        return head[:6] in (b"GIF87a", b"GIF89a")
    return head == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny") / "results"
    p = run("rnn_cos.py", *TINY, "--out", str(out))
    assert p.returncode == 0, p.stderr
    return out, p


def test_tiny_run_writes_everything(tiny_run):
    out, p = tiny_run
    assert sorted(os.listdir(out)) == sorted(["rnn_cos.npz", "metrics.json", *FIGURES])
    for name in FIGURES:
        assert is_png(out / name)
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("train_loss_last_1000", "test_mse", "forecast_rmse", "train_seconds",
                "iters_per_second", "settings", "ar_mse", "ar_forecast_rmse", "ar_order"):
        assert key in metrics
    # the linear model is named in the summary line, next to the network
    assert f"linear AR({metrics['ar_order']}) {metrics['ar_mse']:.2e}" in p.stdout
    # the vanishing gradient, before and after training, from the saved weights alone
    from lab import analysis
    import rnn_cos
    with np.load(out / "rnn_cos.npz", allow_pickle=False) as f:
        r = {k: f[k] for k in f.files}
    trained = {k: r[k] for k in rnn_cos.PARAM_NAMES}
    first = {k: r[f"snap_{k}"][0] for k in rnn_cos.PARAM_NAMES}
    assert int(r["snap_iters"][0]) == 0
    for weights, key in ((trained, "vanishing_trained"), (first, "vanishing_init")):
        y = np.cos(np.arange(102) * 0.5)
        g = np.linalg.norm(rnn_cos.hidden_gradients(weights, y[:-1], y[-1]), axis=1)
        np.testing.assert_allclose(r[key], g / g[0], rtol=1e-12)
    assert analysis.vanishing(rnn_cos, trained, 0.5)[20] == pytest.approx(r["vanishing_trained"][20])
    assert metrics["settings"]["iters"] == 200
    assert "one-step test MSE" in p.stdout and p.stderr == ""
    # piped output: plain lines, no carriage returns
    assert "\r" not in p.stdout and "iter 200/200" in p.stdout
    # before 1,000 iterations the mean is of those there are, and says so
    assert "mean of last 200 " in p.stdout and "mean of last 1,000" not in p.stdout
    assert "(annealed to 0 over the last 10%)" in p.stdout


def test_a_constant_learning_rate_is_called_constant(tmp_path):
    p = run("rnn_cos.py", "--iters", "20", "--hidden", "3", "--anneal", "0", "--no-plot",
            "--out", str(tmp_path / "o"))
    assert p.returncode == 0, p.stderr
    assert "learning rate 0.01 (constant)" in p.stdout and "0%" not in p.stdout


def test_plot_results_regenerates_the_figures_from_the_npz_alone(tiny_run, tmp_path):
    out, _ = tiny_run
    npz = tmp_path / "copy.npz"
    npz.write_bytes((out / "rnn_cos.npz").read_bytes())
    p = run("plot_results.py", "--results", str(npz), "--out", str(tmp_path / "figs"))
    assert p.returncode == 0, p.stderr
    for name in FIGURES:
        assert is_png(tmp_path / "figs" / name)


def test_no_plot_writes_no_figures(tmp_path):
    p = run("rnn_cos.py", *TINY, "--no-plot", "--out", str(tmp_path / "o"))
    assert p.returncode == 0, p.stderr
    assert sorted(os.listdir(tmp_path / "o")) == ["metrics.json", "rnn_cos.npz"]


@pytest.mark.parametrize("args, words", [
    (["--iters", "0"], "--iters"),
    (["--iters", "-5"], "--iters"),
    (["--iters", "ten"], "--iters"),
    (["--iters", "2.5"], "--iters"),
    (["--steps", "0"], "--steps"),
    (["--steps", "x"], "--steps"),
    (["--hidden", "0"], "--hidden"),
    (["--hidden", "-1"], "--hidden"),
    (["--lr", "0"], "--lr"),
    (["--lr", "-0.1"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--lr", "inf"], "--lr"),
    (["--lr", "fast"], "--lr"),
    (["--noise", "-0.05"], "--noise"),
    (["--noise", "nan"], "--noise"),
    (["--steps", "1000"], "--steps"),            # needs 1001 points; the data has 1000
    (["--points", "30", "--steps", "30"], "--steps"),
    (["--resolution", "0"], "--resolution"),
    (["--resolution", "3"], "--resolution"),             # too coarse for the test cosine
    (["--seed", "-1"], "--seed"),
    (["--column", "v"], "--csv"),
    (["--bogus"], "unrecognized"),
])
def test_bad_arguments_one_line_exit_2_nothing_written(tmp_path, args, words):
    out = tmp_path / "never"
    p = run("rnn_cos.py", *args, "--out", str(out))
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("rnn_cos.py: error: ") and words in lines[0]
    assert "Traceback" not in p.stderr and p.stdout == ""
    assert not out.exists()


def test_output_folder_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    p = run("rnn_cos.py", *TINY, "--out", str(blocker / "results"))
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write to the output folder" in lines[0]
    assert "Traceback" not in p.stderr
    assert blocker.read_text() == "not a folder"


def test_diverging_loss_stops_with_exit_1_and_keeps_earlier_results(tiny_run, tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    before = {}
    for name in os.listdir(tiny_run[0]):
        before[name] = (tiny_run[0] / name).read_bytes()
        (out / name).write_bytes(before[name])
    p = run("rnn_cos.py", *TINY, "--lr", "1e300", "--out", str(out))
    assert p.returncode == 3                  # a divergence: not a crash (1)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "iteration" in lines[0] and "--lr" in lines[0]
    assert sorted(os.listdir(out)) == sorted(before)
    for name, content in before.items():
        assert (out / name).read_bytes() == content


@pytest.mark.parametrize("sig, name", [(signal.SIGINT, "Ctrl-C"), (signal.SIGTERM, "SIGTERM")])
def test_ctrl_c_saves_what_was_trained(tmp_path, sig, name):
    out = tmp_path / "results"
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "rnn_cos.py"),
                             "--iters", "10000000", "--hidden", "8", "--no-plot",
                             "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    header = proc.stdout.readline()                # printed just before training starts
    assert header.startswith("rnn_cos:")
    time.sleep(1.5)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert f"stopped by {name}" in stdout
    with np.load(out / "rnn_cos.npz", allow_pickle=False) as f:
        done = int(f["iters_done"])
        assert 0 < done < 10_000_000
        assert f["loss"].shape == (done,) and np.all(np.isfinite(f["loss"]))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["interrupted"] is True


class Marker:
    """Unpickling this creates a file: proof that something was unpickled."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def bad_files(tmp_path, good_npz):
    files = {}
    files["missing"] = tmp_path / "missing.npz"
    truncated = tmp_path / "truncated.npz"
    data = good_npz.read_bytes()
    truncated.write_bytes(data[:len(data) // 2])
    files["truncated"] = truncated
    unrelated = tmp_path / "unrelated.npz"
    np.savez(unrelated, a=np.arange(3))
    files["unrelated"] = unrelated
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    files["text"] = text
    marker = tmp_path / "UNPICKLED"
    pickled = tmp_path / "pickled.npz"
    with np.load(good_npz, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["loss"] = np.array([Marker(str(marker)), 1.0], dtype=object)
    np.savez(pickled, **arrays)
    files["pickled"] = pickled
    raw = tmp_path / "raw.npy"
    np.save(raw, np.arange(4))
    files["npy"] = raw
    return files, marker


def test_plot_results_rejects_bad_files(tiny_run, tmp_path):
    files, marker = bad_files(tmp_path, tiny_run[0] / "rnn_cos.npz")
    for kind, path in files.items():
        p = run("plot_results.py", "--results", str(path), "--out", str(tmp_path / "figs"))
        assert p.returncode == 2, kind
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1, (kind, p.stderr)
        assert str(path) in lines[0] and "python rnn_cos.py" in lines[0], (kind, lines)
        assert "Traceback" not in p.stderr
        assert not marker.exists(), "something was unpickled"
    assert not any(n.endswith(".png") for n in os.listdir(tmp_path / "figs"))
    # the pickled file really holds a pickle that would have made the marker
    with np.load(files["pickled"], allow_pickle=True) as f:
        f["loss"]
    assert marker.exists()


def test_plot_results_takes_a_folder_and_names_the_results_file(tiny_run, tmp_path):
    import plot_results
    folder = tiny_run[0]
    npz = folder / "rnn_cos.npz"
    assert plot_results.results_in(str(folder)) == str(npz)     # the folder: its npz
    for wrong in (folder / "metrics.json",):
        p = run("plot_results.py", "--results", str(wrong), "--out", str(tmp_path / "x"))
        assert p.returncode == 2
        assert p.stderr.strip() == (f"plot_results.py: error: {wrong} is not a results "
                                    f"file; the results file is {npz}")
        assert "pickle" not in p.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    p = run("plot_results.py", "--results", str(empty))
    assert p.returncode == 2 and "no results file (.npz) in it" in p.stderr
    p = run("plot_results.py", "--no-such-option")
    assert p.returncode == 2


@pytest.mark.parametrize("script", ["lstm_cos.py", "gru_cos.py"])
def test_cell_scripts_write_everything(script, tmp_path):
    # the LSTM draws its figures itself; the GRU's are drawn from its npz alone
    name = script[:-3]
    out = tmp_path / name
    plot = [] if script == "lstm_cos.py" else ["--no-plot"]
    p = run(script, "--iters", "100", "--hidden", "4", *plot, "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert sorted(os.listdir(out)) == sorted([f"{name}.npz", "metrics.json",
                                              *(FIGURES if not plot else [])])
    with np.load(out / f"{name}.npz", allow_pickle=False) as f:
        assert str(f["model"]) == name and f["loss"].shape == (100,)
    p = run("plot_results.py", "--results", str(out / f"{name}.npz"), "--out",
            str(tmp_path / "again"))
    assert p.returncode == 0, p.stderr
    for png in FIGURES:
        assert is_png(tmp_path / "again" / png)


@pytest.mark.parametrize("script", ["lstm_cos.py", "gru_cos.py", "lab.compare_cells"])
@pytest.mark.parametrize("args, words", [
    (["--iters", "0"], "--iters"),
    (["--iters", "many"], "--iters"),
    (["--hidden", "-2"], "--hidden"),
    (["--seed", "-1"], "--seed"),
])
def test_other_scripts_share_the_bad_input_handling(tmp_path, script, args, words):
    out = tmp_path / "never"
    p = run(script, *args, "--out", str(out))
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    prog = script if script.endswith(".py") else f"python -m {script}"
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: ") and words in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("script", ["lstm_cos.py", "gru_cos.py"])
def test_cell_scripts_refuse_bad_learning_rate_and_steps(tmp_path, script):
    for args in (["--lr", "nan"], ["--steps", "1000"]):
        p = run(script, *args, "--out", str(tmp_path / "never"))
        assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "never").exists()


def test_compare_cells_tiny_run(tmp_path):
    out = tmp_path / "cmp"
    p = run("lab.compare_cells", "--iters", "60", "--hidden", "4", "--seeds", "0-1",
            "--quiet", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert sorted(os.listdir(out)) == ["compare.json", "compare.png", "runs", "runs.csv",
                                       "vanishing.png"]
    assert is_png(out / "compare.png") and is_png(out / "vanishing.png")
    summary = json.loads((out / "compare.json").read_text())
    assert set(summary["cells"]) == {"RNN", "LSTM", "GRU"}
    import gru_cos
    import lstm_cos
    import rnn_cos
    # weights at H = 4, by hand: Wxh, Whh, Why, bh, by; four (H, H+1) gates and four
    # biases, Why, by; three gates and three biases, Why, by
    by_hand = {"RNN": 4 + 16 + 4 + 4 + 1, "LSTM": 4 * 20 + 4 * 4 + 4 + 1, "GRU": 3 * 20 + 3 * 4 + 4 + 1}
    for name, model in (("RNN", rnn_cos), ("LSTM", lstm_cos), ("GRU", gru_cos)):
        cell = summary["cells"][name]
        assert cell["lr"] == model.DEFAULTS["lr"]          # each cell at its own default
        assert cell["seeds"] == [0, 1]
        assert cell["parameters"] == by_hand[name]
        for key in ("test_mse", "forecast_rmse", "learned_period", "train_loss_last_1000"):
            assert len(cell[key]) == 2, key
        # each entry is what that cell's script wrote for that seed
        for i, seed in enumerate((0, 1)):
            m = json.loads((out / "runs" / f"{name.lower()}-seed{seed}" /
                            "metrics.json").read_text())
            assert cell["test_mse"][i] == m["test_mse"]
            assert cell["forecast_rmse"][i] == m["forecast_rmse"]
        assert name in p.stdout
    # and the RNN's seed 1 is the script's own run
    direct = run("rnn_cos.py", "--iters", "60", "--hidden", "4", "--seed", "1", "--no-plot",
                 "--out", str(tmp_path / "direct"))
    assert direct.returncode == 0
    m = json.loads((tmp_path / "direct" / "metrics.json").read_text())
    assert summary["cells"]["RNN"]["test_mse"][1] == m["test_mse"]
    # the linear model beside them, fitted on each seed's data: the same for every cell
    for name in ("RNN", "LSTM", "GRU"):
        assert summary["cells"][name]["ar_mse"][1] == m["ar_mse"]
    # run again, it resumes: nothing is trained, and the summary is the same
    stamp = os.path.getmtime(out / "runs" / "rnn-seed0" / "rnn_cos.npz")
    again = run("lab.compare_cells", "--iters", "60", "--hidden", "4", "--seeds", "0-1",
                "--out", str(out))
    assert again.returncode == 0 and "6 of 6 runs already in" in again.stdout
    assert os.path.getmtime(out / "runs" / "rnn-seed0" / "rnn_cos.npz") == stamp
    assert json.loads((out / "compare.json").read_text()) == summary
