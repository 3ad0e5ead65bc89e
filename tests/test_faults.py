"""Faults a run meets, as a user would meet them: one run's files per folder whatever
came before, a signal at the worst moment, the folder removed or replaced during the
training, a full disk."""
import errno
import json
import os
import signal
import subprocess

import numpy as np
import pytest

import lstm_cos
import plot_results
import rnn_cos
from conftest import ROOT, command

SUNSPOTS = os.path.join(ROOT, "datasets", "sunspots_yearly.csv")
TINY = ["--iters", "40", "--hidden", "3"]


def run(script, *args):
    return subprocess.run([*command(script), *args], capture_output=True, text=True,
                          timeout=120)


def test_a_run_leaves_no_file_of_an_earlier_run_beside_its_own(tmp_path, capsys):
    out = tmp_path / "r"
    out.mkdir()
    (out / "notes.txt").write_text("mine")                     # a user's file: never touched
    from lab import series
    assert series.main(["--csv", SUNSPOTS, *TINY, "--no-diff", "--ahead", "3", "--no-plot",
                        "--quiet", "--out", str(out)]) == 0
    for name in ("loss.png", "predictions.png"):                # an earlier run's figures
        (out / name).write_bytes(b"\x89PNG old")
    assert {"forecast.csv", "rnn_cos.npz", "metrics.json"} <= set(os.listdir(out))
    # the lab's next run removes every file the lab or the tutorial writes
    assert rnn_cos.main([*TINY, "--no-plot", "--seed", "4", "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert "csv" not in m["settings"] and m["settings"]["seed"] == 4
    assert not {"loss.png", "predictions.png"} & set(os.listdir(out))
    assert lstm_cos.main([*TINY, "--no-plot", "--out", str(out)]) == 0   # another cell
    assert not {"rnn_cos.npz", "loss.png"} & set(os.listdir(out))
    assert "lstm_cos.npz" in os.listdir(out)
    assert series.main(["--csv", SUNSPOTS, *TINY, "--no-diff", "--no-plot", "--quiet",
                        "--out", str(out)]) == 0
    assert sorted(os.listdir(out)) == ["metrics.json", "notes.txt", "rnn_cos.npz"]
    assert (out / "notes.txt").read_text() == "mine"


def test_a_signal_while_saving_never_leaves_files_of_two_runs(tmp_path, monkeypatch, capsys):
    # the npz of the new run is written, then a signal comes before metrics.json: the
    # folder holds the new run's npz alone, never beside the old run's metrics.json
    out = tmp_path / "r"
    assert rnn_cos.main([*TINY, "--no-plot", "--out", str(out)]) == 0
    real = plot_results.write_whole

    def interrupted(path, data):
        if path.endswith("metrics.json"):
            os.kill(os.getpid(), signal.SIGINT)          # a real Ctrl-C, at this moment
        real(path, data)

    monkeypatch.setattr(plot_results, "write_whole", interrupted)
    with pytest.raises(SystemExit) as e:
        rnn_cos.main([*TINY, "--seed", "7", "--no-plot", "--out", str(out)])
    assert e.value.code == 130
    assert "stopped by SIGINT; nothing more was written" in capsys.readouterr().err
    assert sorted(os.listdir(out)) == ["rnn_cos.npz"]
    with np.load(out / "rnn_cos.npz", allow_pickle=False) as f:
        assert int(f["seed"]) == 7


def test_a_full_disk_is_one_line(tmp_path, monkeypatch, capsys):
    out = tmp_path / "r"

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(plot_results, "write_whole", full)
    with pytest.raises(SystemExit) as e:
        rnn_cos.main([*TINY, "--seed", "5", "--no-plot", "--out", str(out)])
    assert e.value.code.startswith("rnn_cos.py: error: cannot write the results into")
    assert e.value.code.endswith("No space left on device") and "\n" not in e.value.code
    assert os.listdir(out) == []


def start_and_wait(tmp_path, out):
    """A cosine run long enough to be interfered with, once it is training."""
    proc = subprocess.Popen([*command("rnn_cos.py"), "--iters", "3000", "--hidden", "3",
                             "--no-plot", "--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("training:")
    return proc


def test_the_output_folder_removed_during_the_run_is_made_again(tmp_path):
    out = tmp_path / "r"
    proc = start_and_wait(tmp_path, out)
    os.rmdir(out)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert sorted(os.listdir(out)) == ["metrics.json", "rnn_cos.npz"]


def test_the_output_folder_replaced_by_a_file_is_one_line_and_left_as_it_is(tmp_path):
    out = tmp_path / "r"
    proc = start_and_wait(tmp_path, out)
    os.rmdir(out)
    out.write_text("in the way")
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1
    (line,) = stderr.strip().splitlines()
    assert f"cannot write the results into '{out}'" in line, line
    assert out.read_text() == "in the way"


def test_plot_results_refuses_what_it_cannot_draw_and_changes_no_figure(tmp_path, capsys):
    out = tmp_path / "r"
    assert rnn_cos.main([*TINY, "--no-plot", "--out", str(out)]) == 0
    before = {n: f"{n} of an earlier drawing".encode() for n in ("loss.png", "forecast.png")}
    for name, data in before.items():
        (out / name).write_bytes(data)
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    for path, words in ((fifo, "not a regular file"), ("/dev/zero", "not a regular file"),
                        (tmp_path / "none.npz", "no such file")):
        assert plot_results.main(["--results", str(path), "--out", str(out)]) == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert words in line, line
    assert {n: (out / n).read_bytes() for n in before} == before
    assert not [n for n in os.listdir(out) if n.startswith(".")]


def test_the_benchmarks_refuse_bad_sizes_in_one_line():
    bad = [("benchmarks/bench_cells.py", ["--iters", "0"]),
           ("benchmarks/bench_cells.py", ["--hidden", "-3"]),
           ("benchmarks/bench_cells.py", ["--rounds", "0"]),
           ("benchmarks/bench_cells.py", ["--steps", "5000"]),
           ("benchmarks/bench_train.py", ["--hidden", "32", "300000"]),
           ("benchmarks/bench_adagrad.py", ["--iters", "-5"])]
    procs = [(s, a, subprocess.Popen([*command(s), *a], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)) for s, a in bad]
    for script, args, proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 2 and err.count("\n") == 1 and args[0] in err, (script, err)
        assert out == ""
