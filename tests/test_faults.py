"""Faults a run meets, as a user would meet them: one run's files per folder whatever
came before, a signal at the worst moment, the folder removed or replaced during the
training, a full disk."""
import errno
import json
import os
import subprocess
import sys
import time

import numpy as np

import rnn_cos
from conftest import ROOT, command
from lab import plumbing

SUNSPOTS = os.path.join(ROOT, "datasets", "sunspots_yearly.csv")
TINY = ["--iters", "40", "--hidden", "3"]


def run(script, *args):
    return subprocess.run([*command(script), *args], capture_output=True, text=True,
                          timeout=120)


def test_a_run_leaves_no_file_of_an_earlier_run_beside_its_own(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "notes.txt").write_text("mine")                     # a user's file: never touched
    p = run("lab.series", "--csv", SUNSPOTS, *TINY, "--no-diff", "--ahead", "3", "--no-plot",
            "--out", str(out))
    assert p.returncode == 0, p.stderr
    for name in ("ahead.png", "horizon.png", "learning.gif"):   # an earlier run's figures
        (out / name).write_bytes(b"\x89PNG old")
    assert {"forecast.csv", "ahead.png", "horizon.png"} <= set(os.listdir(out))
    p = run("rnn_cos.py", *TINY, "--no-plot", "--seed", "4", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert sorted(os.listdir(out)) == ["metrics.json", "notes.txt", "rnn_cos.npz"]
    p = run("lstm_cos.py", *TINY, "--no-plot", "--out", str(out))   # another cell
    assert p.returncode == 0, p.stderr
    assert sorted(os.listdir(out)) == ["lstm_cos.npz", "metrics.json", "notes.txt"]
    assert json.loads((out / "metrics.json").read_text())["settings"]["model"] == "lstm_cos"
    assert (out / "notes.txt").read_text() == "mine"


def test_a_signal_while_saving_never_leaves_files_of_two_runs(tmp_path, monkeypatch, capsys):
    # the npz of the new run is written, then a signal comes before metrics.json: the
    # folder holds the new run's npz alone, never beside the old run's metrics.json
    out = tmp_path / "r"
    assert rnn_cos.main(rnn_cos, [*TINY, "--no-plot", "--quiet", "--out", str(out)]) == 0

    def interrupted(path, obj):
        raise KeyboardInterrupt

    monkeypatch.setattr(plumbing, "save_json", interrupted)
    status = rnn_cos.main(rnn_cos, [*TINY, "--seed", "7", "--no-plot", "--quiet", "--out", str(out)])
    assert status == 130
    assert "every file written is whole and of this run" in capsys.readouterr().err
    assert sorted(os.listdir(out)) == ["rnn_cos.npz"]
    with np.load(out / "rnn_cos.npz", allow_pickle=False) as f:
        assert int(f["seed"]) == 7


def test_a_full_disk_saves_the_weights_elsewhere_and_says_where(tmp_path, monkeypatch, capsys):
    out = tmp_path / "r"
    real = plumbing.write_atomic

    def full(path, write):
        if os.path.dirname(os.path.abspath(path)) == str(out):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, write)

    monkeypatch.setattr(plumbing, "write_atomic", full)
    status = rnn_cos.main(rnn_cos, [*TINY, "--seed", "5", "--no-plot", "--quiet", "--out", str(out)])
    assert status == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "No space left on device" in line and "saved in" in line, line
    spare = line.split("saved in ")[1].split(" instead")[0]
    try:
        with np.load(spare, allow_pickle=False) as f:
            assert int(f["seed"]) == 5 and f["Whh"].shape == (3, 3)
    finally:
        os.remove(spare)


def start_and_wait(tmp_path, out):
    """A cosine run long enough to be interfered with, once it is training."""
    proc = subprocess.Popen([*command("rnn_cos.py"), "--iters", "10000", "--hidden", "3",
                             "--no-plot", "--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while not out.exists() and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    return proc


def test_the_output_folder_removed_during_the_run_is_made_again(tmp_path):
    out = tmp_path / "r"
    proc = start_and_wait(tmp_path, out)
    os.rmdir(out)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert sorted(os.listdir(out)) == ["metrics.json", "rnn_cos.npz"]


def test_the_output_folder_replaced_by_a_file_saves_the_weights_elsewhere(tmp_path):
    out = tmp_path / "r"
    proc = start_and_wait(tmp_path, out)
    os.rmdir(out)
    out.write_text("in the way")
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1
    (line,) = stderr.strip().splitlines()
    assert f"cannot write to {out}" in line and "saved in" in line, line
    spare = line.split("saved in ")[1].split(" instead")[0]
    try:
        with np.load(spare, allow_pickle=False) as f:
            assert len(f["loss"]) == 10000
    finally:
        os.remove(spare)
    assert out.read_text() == "in the way"


def test_plot_results_refuses_arrays_it_cannot_draw_and_changes_no_figure(tmp_path):
    out = tmp_path / "r"
    assert rnn_cos.main(rnn_cos, [*TINY, "--no-plot", "--quiet", "--out", str(out)]) == 0
    before = {n: f"{n} of an earlier drawing".encode() for n in ("loss.png", "memory.png")}
    for name, data in before.items():
        (out / name).write_bytes(data)
    with np.load(out / "rnn_cos.npz", allow_pickle=False) as f:
        r = {k: f[k] for k in f.files}
    cases = {"all-nan loss": (dict(r, loss=np.full_like(r["loss"], np.nan)), "no finite value"),
             "a shortened snap_forecast": (dict(r, snap_forecast=r["snap_forecast"][:1]),
                                           "cannot be drawn"),
             "string predictions": (dict(r, test_predictions=r["test_predictions"].astype(str)),
                                    "values, not numbers")}
    procs = {}
    for what, (arrays, words) in cases.items():
        path = tmp_path / (what.replace(" ", "_") + ".npz")
        np.savez(path, **arrays)
        procs[what] = subprocess.Popen([*command("plot_results.py"), "--results", str(path),
                                        "--out", str(out)], stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    procs["a FIFO"] = subprocess.Popen([*command("plot_results.py"), "--results", str(fifo)],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cases["a FIFO"] = (None, "not a regular file")
    for what, proc in procs.items():
        _, stderr = proc.communicate(timeout=60)          # a FIFO would block: it is not read
        assert proc.returncode == 2, (what, stderr)
        assert stderr.count("\n") == 1 and cases[what][1] in stderr, (what, stderr)
    assert {n: (out / n).read_bytes() for n in before} == before
    assert not [n for n in os.listdir(out) if n.startswith(".")]


def test_a_seed_too_large_to_save_is_refused_before_the_training(tmp_path):
    p = run("rnn_cos.py", "--seed", str(2 ** 64), "--out", str(tmp_path / "never"))
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "--seed" in p.stderr
    assert not (tmp_path / "never").exists()


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
