"""The tutorial's scripts as a user runs them: their exit statuses, messages and files,
through main(argv) in this process, and as real processes where a signal is sent."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import gru_cos
import lstm_cos
import plot_results
import rnn_cos
from conftest import ROOT

TINY = ["--iters", "200", "--hidden", "8"]
FIGURES = ("loss.png", "predictions.png", "forecast.png")
SCRIPTS = {"rnn_cos.py": rnn_cos, "lstm_cos.py": lstm_cos, "gru_cos.py": gru_cos}


def main(script, *args):
    """script's main(args) as a process would end: its exit status, whether it returned
    it or exited (argparse's refusals, a folder it cannot write to)."""
    try:
        return SCRIPTS.get(script, plot_results).main(list(args))
    except SystemExit as e:
        if isinstance(e.code, str):                  # Python prints it, and exits with 1
            print(e.code, file=sys.stderr)
        return e.code if isinstance(e.code, int) else 1


def one_line(capsys, prog):
    """The one line a refusal wrote to stderr, checked for its form."""
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), err
    assert "Traceback" not in err
    return lines[0]


def is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny") / "results"
    from io import StringIO
    from contextlib import redirect_stdout
    printed = StringIO()
    with redirect_stdout(printed):
        assert rnn_cos.main([*TINY, "--out", str(out)]) == 0
    return out, printed.getvalue()


def test_tiny_run_writes_everything(tiny_run):
    out, printed = tiny_run
    assert sorted(os.listdir(out)) == sorted(["rnn_cos.npz", "metrics.json", *FIGURES])
    for name in FIGURES:
        assert is_png(out / name)
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("train_loss_last_1000", "test_mse", "forecast_rmse", "settings", "ar_mse",
                "ar_forecast_rmse", "ar_order", "baseline_mse", "val_mse", "iters_done"):
        assert key in metrics
    # the linear model and 'same as last value' are named in the summary, beside the
    # network
    assert (f"network {metrics['test_mse']:.2e}, linear AR({metrics['ar_order']}) "
            f"{metrics['ar_mse']:.2e}, 'same as last value' {metrics['baseline_mse']:.2e}"
            in printed)
    assert metrics["settings"]["iters"] == 200
    # the progress: min-char-rnn's smoothed loss, ten times, worked out here again
    with np.load(out / "rnn_cos.npz", allow_pickle=False) as f:
        loss = f["loss"]
    smooth = [loss[0]]
    for v in loss[1:]:
        smooth.append(smooth[-1] * 0.999 + v * 0.001)
    lines = [line for line in printed.splitlines() if line.startswith("iter ")]
    assert len(lines) == 10 and "\r" not in printed
    assert lines[-1].startswith(f"iter 200, smooth loss {smooth[-1]:.5f} (")


def test_plot_results_draws_the_same_figures_byte_for_byte(tiny_run, tmp_path, capsys):
    out, _ = tiny_run
    capsys.readouterr()
    assert main("plot_results.py", "--results", str(out), "--out", str(tmp_path)) == 0
    assert capsys.readouterr().out == "wrote " + ", ".join(
        str(tmp_path / n) for n in FIGURES) + "\n"
    for name in FIGURES:
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name
    # a copy of the results file alone draws them too
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "rnn_cos.npz").write_bytes((out / "rnn_cos.npz").read_bytes())
    assert main("plot_results.py", "--results", str(alone / "rnn_cos.npz")) == 0
    assert sorted(os.listdir(alone)) == sorted(["rnn_cos.npz", *FIGURES])
    assert (alone / "loss.png").read_bytes() == (out / "loss.png").read_bytes()


def test_no_plot_writes_no_figures(tmp_path, capsys):
    assert main("rnn_cos.py", *TINY, "--no-plot", "--out", str(tmp_path / "o")) == 0
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
    (["--anneal", "1.5"], "--anneal"),
    (["--noise", "-0.05"], "--noise"),
    (["--noise", "nan"], "--noise"),
    (["--noise", "1e200"], "--noise"),
    (["--steps", "1000"], "--steps"),            # needs 1001 points; the data has 1000
    (["--points", "30", "--steps", "30"], "--steps"),
    (["--points", "1"], "--steps"),              # one point holds no window
    (["--resolution", "0"], "--resolution"),
    (["--resolution", "3"], "--resolution"),     # too coarse for the test cosine
    (["--seed", "-1"], "--seed"),
    (["--seed", str(2 ** 64)], "--seed"),
    (["--hprev", "keep"], "--hprev"),
    (["--hidden", "100000"], "memory"),          # runs too big for this machine
    (["--iters", "100000000000"], "memory"),
    (["--points", "2000000000"], "memory"),
    (["--resolution", "0.0000001"], "memory"),
    (["--column", "v"], "unrecognized arguments: --column"),
    (["--bogus"], "unrecognized"),
])
@pytest.mark.parametrize("script", list(SCRIPTS))
def test_bad_arguments_one_line_exit_2_nothing_written(tmp_path, capsys, script, args,
                                                       words):
    out = tmp_path / "never"
    assert main(script, *args, "--out", str(out)) == 2
    assert words in one_line(capsys, script)
    assert not out.exists()


def test_help_names_every_option_with_its_default(capsys):
    assert main("rnn_cos.py", "--help") == 0
    text = " ".join(capsys.readouterr().out.split())
    assert text.startswith("usage: rnn_cos.py") and "A vanilla recurrent neural" in text
    for option, default in rnn_cos.DEFAULTS.items():
        assert f"--{option} " in text and f"(default: {default})" in text, option


def test_an_output_folder_that_cannot_be_made(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert main("rnn_cos.py", *TINY, "--out", str(blocker / "results")) == 1
    assert "cannot write the results into" in one_line(capsys, "rnn_cos.py")
    assert blocker.read_text() == "not a folder"


def test_a_diverging_loss_stops_with_exit_3_and_keeps_earlier_results(tiny_run, tmp_path,
                                                                       capsys):
    out = tmp_path / "results"
    out.mkdir()
    before = {}
    for name in os.listdir(tiny_run[0]):
        before[name] = (tiny_run[0] / name).read_bytes()
        (out / name).write_bytes(before[name])
    assert main("rnn_cos.py", *TINY, "--lr", "1e300", "--out", str(out)) == 3
    line = one_line(capsys, "rnn_cos.py")
    assert "iteration" in line and "--lr" in line
    assert sorted(os.listdir(out)) == sorted(before)
    for name, content in before.items():
        assert (out / name).read_bytes() == content


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_training_saves_what_was_trained(tmp_path, sig, status):
    # a real process and a real signal: it ends the loop after the iteration under way
    out = tmp_path / "results"
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "rnn_cos.py"), "--iters",
                             "10000000", "--hidden", "8", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("training: 10,000,000 iterations")
    time.sleep(0.5)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == status and stderr == "", stderr
    name = signal.Signals(sig).name
    assert f"stopped by {name} after " in stdout and "saved" in stdout
    with np.load(out / "rnn_cos.npz", allow_pickle=False) as f:
        done = len(f["loss"])
        assert 0 < done < 10_000_000 and np.all(np.isfinite(f["loss"]))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["iters_done"] == done and metrics["settings"]["iters"] == 10_000_000
    assert sorted(os.listdir(out)) == ["metrics.json", "rnn_cos.npz"]   # no figure


class Marker:
    """Unpickling this creates a file: proof that something was unpickled."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def bad_files(tmp_path, good_npz):
    files = {"missing": tmp_path / "missing.npz"}
    data = good_npz.read_bytes()
    files["truncated"] = tmp_path / "truncated.npz"
    files["truncated"].write_bytes(data[:len(data) // 2])
    files["unrelated"] = tmp_path / "unrelated.npz"
    np.savez(files["unrelated"], a=np.arange(3))
    files["text"] = tmp_path / "notes.txt"
    files["text"].write_text("hello\n")
    marker = tmp_path / "UNPICKLED"
    with np.load(good_npz, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    files["pickled"] = tmp_path / "pickled.npz"
    np.savez(files["pickled"], **dict(arrays, loss=np.array([Marker(str(marker)), 1.0],
                                                            dtype=object)))
    files["npy"] = tmp_path / "raw.npy"
    np.save(files["npy"], np.arange(4))
    for name, change in (("nan", dict(test_predictions=arrays["test_predictions"] * np.nan)),
                         ("complex", dict(loss=arrays["loss"] + 1j)),
                         ("negative", dict(loss=-arrays["loss"])),
                         ("short", dict(forecast=arrays["forecast"][:-3])),
                         ("matrix", dict(loss=arrays["loss"][:, None])),
                         ("text", dict(noise=np.array("0.05"))),
                         ("empty", dict(loss=np.zeros(0))),
                         ("model", dict(model=np.array("rm -rf")))):
        files[name + " array"] = tmp_path / f"{name}.npz"
        np.savez(files[name + " array"], **dict(arrays, **change))
    return files, marker


def test_plot_results_refuses_files_that_are_not_a_runs_and_draws_nothing(tiny_run, tmp_path,
                                                                         capsys):
    files, marker = bad_files(tmp_path, tiny_run[0] / "rnn_cos.npz")
    figs = tmp_path / "figs"
    for kind, path in files.items():
        assert main("plot_results.py", "--results", str(path), "--out", str(figs)) == 2, kind
        assert str(path) in one_line(capsys, "plot_results.py"), kind
        assert not marker.exists(), "something was unpickled"
    assert not figs.exists()                       # refused before the folder was made
    # the pickled file really holds a pickle that would have made the marker
    with np.load(files["pickled"], allow_pickle=True) as f:
        f["loss"]
    assert marker.exists()


def test_plot_results_takes_a_folder_and_says_what_to_give(tiny_run, tmp_path, capsys):
    folder = tiny_run[0]
    assert plot_results.load(str(folder))["model"] == "rnn_cos"     # the folder: its npz
    assert main("plot_results.py", "--results", str(folder / "metrics.json"), "--out",
                str(tmp_path / "x")) == 2
    assert "metrics.json is not a results file" in one_line(capsys, "plot_results.py")
    (tmp_path / "empty").mkdir()
    assert main("plot_results.py", "--results", str(tmp_path / "empty")) == 2
    assert "holds 0 results files" in one_line(capsys, "plot_results.py")
    assert main("plot_results.py", "--no-such-option") == 2


@pytest.mark.parametrize("script", ["lstm_cos.py", "gru_cos.py"])
def test_cell_scripts_write_everything(script, tmp_path, capsys):
    name = script[:-3]
    out = tmp_path / name
    assert main(script, "--iters", "100", "--hidden", "4", "--no-plot", "--out",
                str(out)) == 0
    assert sorted(os.listdir(out)) == sorted([f"{name}.npz", "metrics.json"])
    with np.load(out / f"{name}.npz", allow_pickle=False) as f:
        assert str(f["model"]) == name and f["loss"].shape == (100,)
        assert float(f["lr"]) == SCRIPTS[script].DEFAULTS["lr"]      # the cell's own
    assert main("plot_results.py", "--results", str(out)) == 0
    assert all(is_png(out / png) for png in FIGURES)


def test_the_scripts_as_processes(tmp_path):
    # the one process-level run of the tutorial's commands: python rnn_cos.py and
    # python plot_results.py from a folder of their own, with the figures (and an
    # MPLBACKEND that names no backend: they draw to files, and never read it)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MPLBACKEND"] = "nonsense"
    p = subprocess.run([sys.executable, os.path.join(ROOT, "rnn_cos.py"), "--iters", "100",
                        "--hidden", "4"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert "one-step test MSE on the clean cosine" in p.stdout
    assert sorted(os.listdir(tmp_path / "results")) == sorted(["rnn_cos.npz", "metrics.json",
                                                               *FIGURES])
    # plot_results.py, its stdout on a full device: the same figures drawn again, then
    # one line and status 1 (its "wrote ..." line, in this process: test_plot_results_...)
    drawn = {n: (tmp_path / "results" / n).read_bytes() for n in FIGURES}
    for n in FIGURES:
        (tmp_path / "results" / n).unlink()
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, os.path.join(ROOT, "plot_results.py")],
                           cwd=tmp_path, env=env, stdout=full, stderr=subprocess.PIPE,
                           text=True, timeout=120)
    assert p.returncode == 1 and p.stderr == "plot_results.py: error: stdout: No space " \
        "left on device\n", p.stderr
    assert {n: (tmp_path / "results" / n).read_bytes() for n in FIGURES} == drawn
