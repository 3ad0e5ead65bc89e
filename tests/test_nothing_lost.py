"""Nothing lost, mixed or hung: each class of fault as a user meets it. A second run
into a folder, a real FIFO, /dev/zero, a sparse 2 GB file, a signal in each phase of a
command, stdout on a full device, time columns that are not a regular axis, digits that
only Python reads, outputs that are not regular files. Refusals that need no process go
through the command's main in this process (conftest.in_process); the rest are real
processes, kept short."""
import os
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

import plot_results
import rnn_cos
from conftest import ROOT, command, in_process
from test_sweep import running_with

SUNSPOTS = os.path.join(ROOT, "datasets", "sunspots_yearly.csv")
TINY = ["--iters", "30", "--hidden", "3"]
SWEEP = ["--iters", "30", "--vary", "hidden=3"]


def start(script, *args, **kw):
    return subprocess.Popen([*command(script), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def one_line(p, status, *words):
    """p (a Ran or CompletedProcess) ended with status and one line on stderr, holding
    every word; the line."""
    lines = p.stderr.strip().splitlines()
    assert p.returncode == status, (p.returncode, p.stderr)
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def wait_for(check, timeout=60):
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, "timed out"
        time.sleep(0.02)


# --- one run per folder -----------------------------------------------------------------
def test_a_second_writer_to_a_folder_is_refused_by_every_command(tmp_path):
    out = tmp_path / "r"
    first = start("rnn_cos.py", "--iters", "1000000", "--hidden", "4", "--no-plot",
                  "--out", out)
    assert first.stdout.readline().startswith("training:")     # it holds the folder
    # a second run of the tutorial, one of the lab, and plot_results, into that folder
    one_line(in_process("rnn_cos.py", *TINY, "--no-plot", "--out", out), 1,
             "another run is writing to it")
    one_line(in_process("lab.series", "--csv", SUNSPOTS, *TINY, "--out", out), 2,
             "another command is writing to")
    other = tmp_path / "other"
    assert rnn_cos.main([*TINY, "--no-plot", "--out", str(other)]) == 0
    one_line(in_process("plot_results.py", "--results", other, "--out", out), 1,
             "another run is writing to it")
    assert not out.exists() or os.listdir(out) == []      # nothing of theirs went in
    first.send_signal(signal.SIGTERM)                     # the first: what it trained, kept
    _, err = first.communicate(timeout=60)
    assert first.returncode == 143, err
    assert sorted(os.listdir(out)) == ["metrics.json", "rnn_cos.npz"]


def test_figures_are_never_drawn_beside_another_runs_results(tmp_path):
    rnn, lstm = tmp_path / "rnn", tmp_path / "lstm"
    assert rnn_cos.main([*TINY, "--no-plot", "--out", str(rnn)]) == 0
    assert in_process("lstm_cos.py", *TINY, "--no-plot", "--out", lstm).returncode == 0
    before = sorted(os.listdir(lstm))
    one_line(in_process("plot_results.py", "--results", rnn / "rnn_cos.npz", "--out", lstm),
             2, "holds another run's results")
    one_line(in_process("lab.figures", "--results", rnn / "rnn_cos.npz", "--out", lstm), 2,
             "holds another run's results")
    assert sorted(os.listdir(lstm)) == before


def test_a_sweep_rerun_into_its_folder_leaves_nothing_of_the_earlier_one(tmp_path):
    out = tmp_path / "s"
    out.mkdir()
    for name in ("failed.txt", "sweep.png"):                 # an earlier sweep's
        (out / name).write_text("old")
    (out / ".run-killed").mkdir()                            # a killed sweep's run folder
    p = in_process("lab.sweep", *SWEEP, "--seeds", "0", "--no-plot", "--out", out)
    assert p.returncode == 0, p.stderr
    assert sorted(os.listdir(out)) == ["runs.csv", "summary.md"]


def test_a_sweep_killed_outright_leaves_no_run_running(tmp_path):
    # SIGKILL cannot be caught: its runs end with it (the kernel tells them: PDEATHSIG)
    out = tmp_path / "s"
    sweep = start("lab.sweep", "--iters", "1000000", "--vary", "hidden=3", "--seeds", "0",
                  "--workers", "1", "--out", out)
    wait_for(lambda: len(running_with(str(out))) >= 2)        # the sweep and its run
    sweep.kill()
    sweep.communicate(timeout=30)
    wait_for(lambda: running_with(str(out)) == [], timeout=10)


def test_plot_results_stopped_while_drawing_changes_no_figure(tmp_path):
    out = tmp_path / "r"
    assert rnn_cos.main([*TINY, "--no-plot", "--out", str(out)]) == 0
    for name in plot_results.FIGURES:
        (out / name).write_bytes(b"an earlier drawing")
    p = start("plot_results.py", "--results", out)
    wait_for(lambda: any(n.startswith(".figures-") for n in os.listdir(out)))
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    one_line(subprocess.CompletedProcess(p.args, p.returncode, "", err), 143,
             "stopped by SIGTERM", "no figure changed")
    assert sorted(os.listdir(out)) == sorted(["metrics.json", "rnn_cos.npz",
                                              *plot_results.FIGURES])
    assert all((out / n).read_bytes() == b"an earlier drawing" for n in plot_results.FIGURES)


# --- nothing but a regular file is ever replaced ------------------------------------------
def test_no_command_replaces_a_fifo_a_folder_or_a_link(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    p = subprocess.run([sys.executable, os.path.join(ROOT, "datasets", "make_mackey_glass.py"),
                        "--out", str(fifo)], capture_output=True, text=True, timeout=30)
    one_line(p, 2, "not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    # a folder where an output goes, a link to nothing as the output folder
    out = tmp_path / "r"
    (out / "metrics.json").mkdir(parents=True)
    one_line(in_process("rnn_cos.py", *TINY, "--out", out), 1,
             "metrics.json is not a regular file")
    one_line(in_process("lab.series", "--csv", SUNSPOTS, *TINY, "--out", out), 2,
             "metrics.json is not a regular file")
    assert os.listdir(out) == ["metrics.json"] and os.listdir(out / "metrics.json") == []
    dangling = tmp_path / "dangling"
    os.symlink(tmp_path / "nowhere", dangling)
    one_line(in_process("rnn_cos.py", *TINY, "--out", dangling), 1, "is not a folder")
    one_line(in_process("lab.series", "--csv", SUNSPOTS, "--out", dangling), 2,
             "a link to nothing")
    assert os.path.islink(dangling) and not os.path.exists(tmp_path / "nowhere")
    # runs.csv a FIFO: refused before it is opened (a process: opening it would block)
    (tmp_path / "s").mkdir()
    os.mkfifo(tmp_path / "s" / "runs.csv")
    p = subprocess.run([*command("lab.sweep"), *SWEEP, "--out", str(tmp_path / "s")],
                       capture_output=True, text=True, timeout=30)
    one_line(p, 2, "runs.csv is not a regular file")


# --- input that is not a regular file, or too large to read ---------------------------------
def test_a_fifo_a_device_or_a_huge_file_as_the_csv_is_refused_unread(tmp_path):
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/zero", "/dev/urandom"):      # a process: reading would hang
        p = subprocess.run([*command("lab.series"), "--csv", str(path), "--out",
                            str(tmp_path / "never")], capture_output=True, text=True,
                           timeout=30)
        one_line(p, 2, "not a regular file")
    sparse = tmp_path / "huge.csv"
    with open(sparse, "wb") as f:
        f.truncate(2_000_000_000)                         # 2 GB, and no disk used
    one_line(in_process("lab.series", "--csv", sparse, "--out", tmp_path / "never"), 2,
             "is 2 GB", "at most 200 MB")
    assert not (tmp_path / "never").exists()


# --- time columns: a regular axis, or refused -------------------------------------------------
def months(n, start=2000):
    return [f"{start + m // 12}-{m % 12 + 1:02d}" for m in range(n)]


def csv_with_time(tmp_path, times):
    path = tmp_path / "t.csv"
    values = 10 + np.sin(0.5 * np.arange(len(times))) + 0.01 * np.arange(len(times))
    path.write_text("t,v\n" + "".join(f"{t},{v:.4f}\n" for t, v in zip(times, values)))
    return path


def swapped(times, i):
    times = list(times)
    times[i], times[i + 1] = times[i + 1], times[i]
    return times


@pytest.mark.parametrize("times, words", [
    (swapped(months(80), 30), ["decreases", "sort them by time"]),
    (months(40) + [f"2003-{5 + d // 28:02d}-{d % 28 + 1:02d}" for d in range(40)],
     ["line 42", "--rows"]),
    ([f"{d % 28 + 1:02d}/{d // 28 + 1:02d}/2000" for d in range(80)],
     ["'01/01/2000'", "--rows"]),
    ([f"2000-01-{1 + h // 24:02d}T{h % 24:02d}:00:00" for h in range(80)],
     ["'2000-01-01T00:00:00'", "--rows"]),
    ([f"{2000 + i // 4}Q{i % 4 + 1}" for i in range(80)], ["'2000Q1'", "--rows"]),
    (months(30) + months(50, 2003), ["line 32", "fill the gap", "--rows"]),
    ([str(1900 + i + 3 * (i > 40)) for i in range(80)], ["line 43", "--rows"]),
])
def test_a_time_column_that_is_not_a_regular_axis_is_refused_with_a_way_on(
        tmp_path, times, words):
    # what is wrong, where, and how to go on: sort the rows, fill the gap, or --rows
    one_line(in_process("lab.series", "--csv", csv_with_time(tmp_path, times),
                        "--out", tmp_path / "never"), 2, *words)
    assert not (tmp_path / "never").exists()


def test_rows_reads_no_time_and_continues_the_rows(tmp_path):
    path = csv_with_time(tmp_path, [str(1900 + i + 3 * (i > 40)) for i in range(80)])
    p = in_process("lab.series", "--csv", path, "--rows", *TINY, "--no-diff", "--ahead", "2",
                   "--no-plot", "--quiet", "--out", tmp_path / "r")
    assert p.returncode == 0, p.stderr
    future = (tmp_path / "r" / "forecast.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in future[1:]] == ["80", "81"]


@pytest.mark.parametrize("text, words", [
    ("".join(f"{1900 + i},{v}\n" for i, v in enumerate(range(80))), ["header row"]),
    ("t,v\n" + "".join(f"{1900 + i},1_0{i % 7}\n" for i in range(80)),
     ["'1_00'", "not a number as a spreadsheet writes one"]),
    ("t,v\n" + "".join(f"{1900 + i},\u0661\u0660{i % 7}\n" for i in range(80)), ["not a number"]),
    ("t,v\n" + "".join(f"{1900 + i},\uff11\uff10{i % 7}\n" for i in range(80)), ["not a number"]),
    ("t,v\n" + "".join(f"{1900 + i},\"5,0{i % 7}6.29\"\n" for i in range(80)),
     ["thousands separator"]),
    ("t v\n" + "".join(f"{1900 + i} {i % 7}\n" for i in range(80)), ["separated by spaces"]),
    ("t,v\n" + "".join(f"{1900 + i},{i % 7}\n" for i in range(50)) + "1950,\"3\n"
     + "".join(f"{1951 + i},{i % 7}\n" for i in range(30)), ["line 52", "quote"]),
    ("t,v\n" + "".join(f"{1900 + i},{0 if i < 60 else i}\n" for i in range(80)),
     ["constant over the rows the network trains on"]),
])
def test_what_only_python_reads_or_a_spreadsheet_would_not_write_is_refused(
        tmp_path, text, words):
    path = tmp_path / "f.csv"
    path.write_text(text, encoding="utf-8")
    one_line(in_process("lab.series", "--csv", path, "--out", tmp_path / "never"), 2,
             *words)
    assert not (tmp_path / "never").exists()


def test_the_time_column_is_not_taken_for_the_values(tmp_path):
    path = tmp_path / "y.csv"
    path.write_text("YEAR,v\n" + "".join(f"{1900 + i},{i % 7}\n" for i in range(80)))
    one_line(in_process("lab.series", "--csv", path, "--column", "YEAR", "--no-diff",
                        "--out", tmp_path / "never"), 2, "'YEAR' is the first column")
    one_line(in_process("lab.series", "--csv", path, "--train-until", "\u0661\u0669\u0665\u0660",
                        "--out", tmp_path / "never"), 2, "--train-until")


# --- a signal in every phase, stdout that cannot be written --------------------------------------
def loaded(proc, name):
    """True once the process has mapped a shared library of name (NumPy's: it is
    importing NumPy, after the first lines of the script ran)."""
    with open(f"/proc/{proc.pid}/maps") as f:
        return name in f.read()


@pytest.mark.parametrize("script", ["rnn_cos.py", "lab.series"])
def test_ctrl_c_while_the_modules_load_is_one_line(tmp_path, script):
    p = start(script, "--csv", SUNSPOTS, "--out", tmp_path / "never") if script[0] == "l" \
        else start(script, "--out", tmp_path / "never")
    wait_for(lambda: p.poll() is not None or loaded(p, "_multiarray_umath"), timeout=30)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    one_line(subprocess.CompletedProcess(p.args, p.returncode, "", err), 130, "SIGINT")
    assert not (tmp_path / "never").exists()


def test_a_signal_after_the_training_stops_at_once_and_keeps_what_is_whole(
        tmp_path, monkeypatch):
    # rnn_cos: SIGTERM during the test of the trained network (after the training)
    out = tmp_path / "r"
    real = rnn_cos.evaluate

    def evaluate(*a):
        os.kill(os.getpid(), signal.SIGTERM)
        return real(*a)
    monkeypatch.setattr(rnn_cos, "evaluate", evaluate)
    one_line(in_process("rnn_cos.py", *TINY, "--out", out), 143, "stopped by SIGTERM")
    assert not out.exists() or os.listdir(out) == []
    # lab.series: Ctrl-C while the echo-state network is chosen (after the trainings):
    # the networks trained are saved at once, untested
    from lab import esn

    def choose(*a):
        os.kill(os.getpid(), signal.SIGINT)
        raise AssertionError("not stopped")
    monkeypatch.setattr(esn, "choose", choose)
    p = in_process("lab.series", "--csv", SUNSPOTS, *TINY, "--no-diff", "--no-plot",
                   "--out", tmp_path / "s")
    assert p.returncode == 130 and "Traceback" not in p.stderr, p.stderr
    assert "stopped by Ctrl-C: the 1 network(s) trained so far are saved" in p.stdout
    assert sorted(os.listdir(tmp_path / "s")) == ["metrics.json", "rnn_cos.npz"]


@pytest.mark.parametrize("script, args", [
    ("rnn_cos.py", [*TINY, "--no-plot"]),
    ("lab.series", ["--csv", SUNSPOTS, *TINY, "--no-diff", "--no-plot"]),
])
def test_stdout_on_a_full_device_is_one_line(tmp_path, script, args):
    with open("/dev/full", "w") as full:
        p = subprocess.run([*command(script), *args, "--out", str(tmp_path / "r")],
                           stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    one_line(p, 1, "No space left on device")
    assert not [n for n in os.listdir(tmp_path / "r") if n.startswith(".")]


# --- bounds and options a subcommand does not take -------------------------------------------------
@pytest.mark.parametrize("script, args, words", [
    ("lab.sweep", ["--seeds", "0-100000000"], ["--seeds", "at most 10,000"]),
    ("lab.sweep", ["--vary", "seed=1,2"], ["--seeds"]),
    ("lab.sweep", ["--vary", "cell=lstm"], ["--cells"]),
    ("lab.article", ["forget", "--gap", "100000000"], ["--gap"]),
    ("lab.article", ["clipping", "--iters", "1e14"], ["--iters"]),
    ("lab.article", ["forget", "--lrs", "0.1"], ["--lrs", "forget does not take it"]),
    ("lab.article", ["clipping", "--gap", "5"], ["--gap", "clipping does not take it"]),
    ("lab.article", ["clipping", "--seeds", "3-1"], ["--seeds"]),
    ("rnn_cos.py", ["--noise", "1e200"], ["--noise"]),
])
def test_what_a_command_cannot_do_is_refused_before_any_work(tmp_path, script, args, words):
    one_line(in_process(script, *args, "--out", tmp_path / "never"), 2, *words)
    assert not (tmp_path / "never").exists()


# --- files edited by hand --------------------------------------------------------------------
def test_runs_csv_edited_by_hand(tmp_path):
    out = tmp_path / "s"
    assert in_process("lab.sweep", *SWEEP, "--seeds", "0", "--no-plot", "--out",
                      out).returncode == 0
    good = (out / "runs.csv").read_bytes()
    header, row = good.decode().splitlines()
    col = header.split(",").index("status")
    for edit, words in (("banana", ["status", "'banana'"]), ("mse", ["not a number"])):
        cells = row.split(",")
        if edit == "banana":
            cells[col] = "banana"
        else:
            cells[header.split(",").index("test_mse")] = "n/a"
        (out / "runs.csv").write_text(header + "\n" + ",".join(cells) + "\n")
        one_line(in_process("lab.sweep", *SWEEP, "--seeds", "0", "--no-plot", "--out", out),
                 2, "runs.csv", *words)
    # as editors save it: a byte-order mark, no newline after the last row; the row holds
    for edited in (b"\xef\xbb\xbf" + good, good.rstrip(b"\n")):
        (out / "runs.csv").write_bytes(edited)
        p = in_process("lab.sweep", *SWEEP, "--seeds", "0", "--no-plot", "--out", out)
        assert p.returncode == 0 and "1 already in runs.csv; 0 to run" in p.stdout, p.stdout


def test_a_state_of_one_unit_is_drawn(tmp_path):
    # --hidden 1: what the network learned has one principal component, not two
    from lab import analysis, figures
    figures.load_matplotlib()
    params = rnn_cos.init_params(1, np.random.default_rng(0))
    params["Whh"][:] = 0.9
    params["Wxh"][:] = 1.0
    params["Why"][:] = 1.0
    from data import CosineData
    r = dict(rnn_cos.evaluate(rnn_cos.predict, rnn_cos.forecast, params,
                              CosineData(200, 0.0, 99.5), 20),
             **analysis.what_it_learned(rnn_cos, params, 0.5), model="rnn_cos")
    assert r["memory_loop"].shape[1] == 2 and np.all(r["memory_loop"][:, 1] == 0)
    figures.plot_memory(r, str(tmp_path / "memory.png"))
    assert (tmp_path / "memory.png").stat().st_size > 10_000
