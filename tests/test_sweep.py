"""sweep.py: the grid, its parsing, resuming, parallel runs that match the scripts, and
the summary's medians."""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from lab import runner, sweep
from conftest import ROOT, command, in_process

TINY = ["--iters", "60", "--vary", "hidden=3"]


def run(*args, plot=False, **kw):
    """python -m lab.sweep ARGS, with --no-plot unless plot (sweep.png costs a second):
    in this process, or, given a cwd or an environment, in a process of its own (its
    runs are processes either way)."""
    args = [*args] + ([] if plot else ["--no-plot"])
    if not kw:
        return in_process("lab.sweep", *args)
    return subprocess.run([*command("lab.sweep"), *args],
                          capture_output=True, text=True, timeout=120, **kw)


def rows(out):
    with open(out / "runs.csv", newline="") as f:
        return list(csv.DictReader(f))


def by_key(table):
    return {tuple(r[c] for c in sweep.KEY + ["code", "data"]):
            {k: v for k, v in r.items() if k != "seconds"} for r in table}


@pytest.mark.parametrize("tokens, seeds", [
    (["0-9"], list(range(10))),
    (["0", "3", "7"], [0, 3, 7]),
    (["0,3,7"], [0, 3, 7]),
    (["5", "0-2", "2"], [0, 1, 2, 5]),
])
def test_seeds(tokens, seeds):
    assert sweep.parse_seeds(tokens) == seeds


@pytest.mark.parametrize("tokens", [["5-3"], ["x"], ["-1"], ["1-"], [""]])
def test_bad_seeds(tokens):
    with pytest.raises(ValueError, match="--seeds"):
        sweep.parse_seeds(tokens)


def test_vary_is_a_product_of_options_with_each_scripts_defaults():
    vary = sweep.parse_vary(["lr=0.001,0.01", "--hidden=16,32,64"])
    assert vary == {"lr": ["0.001", "0.01"], "hidden": ["16", "32", "64"]}
    grid = sweep.build_grid(["rnn", "gru"], vary, [0, 1], None)
    assert len(grid) == 2 * 2 * 3 * 2
    first = grid[0]["row"]
    assert first["cell"] == "rnn" and first["lr"] == "0.001" and first["hidden"] == "16"
    assert first["iters"] == "100000" and first["steps"] == "20" and first["hprev"] == "reset"
    assert [g["row"]["seed"] for g in grid[:2]] == ["0", "1"]
    assert len({tuple(g["row"].values()) for g in grid}) == len(grid)
    # what made each run: the code of the cell's script and of what it imports
    assert {g["row"]["code"] for g in grid if g["cell"] == "rnn"} != \
        {g["row"]["code"] for g in grid if g["cell"] == "gru"}
    assert all(g["row"]["data"] == "" for g in grid)


def test_values_that_parse_the_same_are_one_run():
    grid = sweep.build_grid(["rnn"], sweep.parse_vary(["lr=0.01,1e-2,0.010"]), [0, 1], None)
    assert [(g["row"]["lr"], g["row"]["seed"]) for g in grid] == [("0.01", "0"), ("0.01", "1")]


@pytest.mark.parametrize("args, words", [
    (["--cells", "rnn", "cnn"], "unknown cell 'cnn'"),
    (["--vary", "speed=1,2"], "'speed' is not an option"),
    (["--vary", "lr=0.01,fast"], "--lr"),
    (["--vary", "lr=-1"], "--lr"),
    (["--vary", "hprev=reset,forward"], "--hprev"),
    (["--vary", "lr="], "the grid is empty"),
    (["--vary", "lr"], "NAME=V1,V2"),
    (["--vary", "steps=20,2000"], "--steps"),         # 2000 steps need 2001 points
    (["--seeds", "3-1"], "--seeds"),
    (["--workers", "0"], "--workers"),
    (["--iters", "-4"], "--iters"),
])
def test_bad_input_one_line_exit_2_before_any_run(tmp_path, args, words):
    out = tmp_path / "never"
    p = run(*args, "--out", str(out))
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m lab.sweep: error: "), p.stderr
    assert words in lines[0] and "Traceback" not in p.stderr
    assert p.stdout == "" and not out.exists()


def test_unwritable_out(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    p = run("--iters", "10", "--out", str(blocker / "sub"))
    assert p.returncode == 2 and "cannot write to the output folder" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_same_numbers_with_one_or_two_workers_resume_and_a_wider_grid(tmp_path):
    grid = [*TINY, "--vary", "lr=0.03", "--seeds", "0-1"]
    one, two = tmp_path / "one", tmp_path / "two"
    p = run(*grid, "--workers", "1", "--out", str(one), plot=True)
    assert p.returncode == 0, p.stderr
    p = run(*grid, "--workers", "2", "--out", str(two))
    assert p.returncode == 0, p.stderr
    assert len(rows(one)) == 2 and all(r["status"] == "ok" for r in rows(one))
    assert by_key(rows(one)) == by_key(rows(two))
    for name in ("summary.md", "sweep.png"):
        assert (one / name).exists()
    # the same command again runs nothing and changes nothing
    before = (one / "runs.csv").read_bytes()
    p = run(*grid, "--workers", "2", "--out", str(one))
    assert p.returncode == 0 and "2 already in runs.csv; 0 to run" in p.stdout
    assert (one / "runs.csv").read_bytes() == before
    # a wider grid runs only what is missing
    p = run(*TINY, "--vary", "lr=0.03", "--seeds", "0-2", "--out", str(one))
    assert p.returncode == 0 and "2 already in runs.csv; 1 to run" in p.stdout
    assert (one / "runs.csv").read_bytes().startswith(before) and len(rows(one)) == 3
    assert not [n for n in os.listdir(one) if n.startswith(".run-")]


def test_a_row_is_what_the_cell_script_gives(tmp_path):
    p = run("--cells", "lstm", *TINY, "--vary", "lr=0.03", "--seeds", "2",
            "--out", str(tmp_path / "s"))
    assert p.returncode == 0, p.stderr
    (row,) = rows(tmp_path / "s")
    direct = subprocess.run([sys.executable, os.path.join(ROOT, "lstm_cos.py"), "--iters",
                             "60", "--hidden", "3", "--lr", "0.03", "--seed", "2",
                             "--no-plot", "--out", str(tmp_path / "d")],
                            capture_output=True, text=True)
    assert direct.returncode == 0, direct.stderr
    m = json.loads((tmp_path / "d" / "metrics.json").read_text())
    assert row["cell"] == "lstm" and row["seed"] == "2" and row["iters"] == "60"
    for column, key in (("test_mse", "test_mse"), ("forecast_rmse", "forecast_rmse"),
                        ("train_loss", "train_loss_last_1000"), ("val_mse", "val_mse")):
        assert row[column] == sweep.text(m[key]), column


def test_a_csv_row_records_what_was_chosen_on_the_validation_rows(tmp_path):
    short = os.path.join(ROOT, "datasets", "sunspots_1909_2008.csv")
    p = run("--iters", "60", "--vary", f"csv={short}", "--vary", "diff=true",
            "--seeds", "0", "--out", str(tmp_path / "s"))
    assert p.returncode == 0, p.stderr
    (row,) = rows(tmp_path / "s")
    direct = subprocess.run([*command("lab.series"), "--csv", short, "--diff", "--iters", "60", "--no-plot", "--quiet",
                             "--out", str(tmp_path / "d")], capture_output=True, text=True)
    assert direct.returncode == 0, direct.stderr
    m = json.loads((tmp_path / "d" / "metrics.json").read_text())
    assert row["hidden"] == "" and row["diff"] == "True"       # the size was not given
    assert row["choice"] == f"differences, {m['settings']['hidden']} units"
    assert m["settings"]["hidden"] in (16, 32) and len(m["candidates"]) == 2
    for column, key in (("test_mse", "test_mse"), ("ar_rmse", "ar_rmse"),
                        ("same_rmse", "baseline_rmse"), ("best_iteration", "best_iteration")):
        assert row[column] == sweep.text(m[key]), column
    # given a size, only the representation is a choice
    assert sweep.choice(m, dict(row, hidden="16")) == "differences"
    assert sweep.choice({"test_mse": 1.0}, row) == ""        # a cosine run chooses nothing
    assert sweep.choice(dict(m, networks=2), row) == "average of 2"


def test_a_diverging_run_is_recorded_as_such(tmp_path):
    p = run(*TINY, "--vary", "lr=1e300", "--seeds", "0", "--out", str(tmp_path / "s"))
    assert p.returncode == 0, p.stderr
    (row,) = rows(tmp_path / "s")
    assert row["status"] == "diverged" and row["test_mse"] == ""
    assert "1 diverged" in (tmp_path / "s" / "summary.md").read_text()


def test_a_run_that_crashes_is_failed_not_diverged_and_runs_again(tmp_path):
    # a copy of the project whose evaluation crashes with a traceback that quotes "loss"
    project = copy_of_the_project(tmp_path / "project")
    source = (project / "rnn_cos.py").read_text()
    crash = '    raise RuntimeError("the loss of a crash")\n'
    (project / "rnn_cos.py").write_text(source.replace(
        "def evaluate(predict, forecast, params, data, p):\n",
        "def evaluate(predict, forecast, params, data, p):\n" + crash, 1))
    out = tmp_path / "s"

    def sweep_():
        return subprocess.run([sys.executable, "-m", "lab.sweep", *TINY, "--seeds", "0", "--no-plot",
                               "--out", str(out)], capture_output=True, text=True,
                              timeout=120, cwd=project, env={**os.environ, "PYTHONPATH": str(project)})

    p = sweep_()
    assert p.returncode == 1 and "1 of 1 runs failed" in p.stderr, p.stderr
    assert "the loss of a crash" in (out / "failed.txt").read_text()
    assert not (out / "runs.csv").exists() or rows(out) == []
    p = sweep_()                                          # and it is tried again
    assert "0 already in runs.csv" in p.stdout and "1 to run" in p.stdout, p.stdout


def test_a_last_line_cut_short_is_dropped_and_its_run_made_again(tmp_path):
    out = tmp_path / "s"
    assert run(*TINY, "--seeds", "0-1", "--out", str(out)).returncode == 0
    whole = rows(out)
    data = (out / "runs.csv").read_bytes()
    (out / "runs.csv").write_bytes(data[:-25])           # a crash while a row was written
    p = run(*TINY, "--seeds", "0-1", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert "its last line was cut short" in p.stdout and "1 already in runs.csv" in p.stdout
    assert "1 to run" in p.stdout
    again = rows(out)
    assert len(again) == 2 and by_key(again).keys() == by_key(whole).keys()
    assert (out / "runs.csv").read_bytes().count(b"\n") == 3     # the header and two rows
    assert "| rnn | 3 | 2 |" in (out / "summary.md").read_text()


@pytest.mark.parametrize("kind", ["folder", "binary", "ragged"])
def test_a_runs_csv_it_cannot_use_is_refused_in_one_line(tmp_path, kind):
    out = tmp_path / "s"
    out.mkdir()
    if kind == "folder":
        (out / "runs.csv").mkdir()
    elif kind == "binary":
        (out / "runs.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe\n")
    else:
        assert run(*TINY, "--seeds", "0", "--out", str(out)).returncode == 0
        with open(out / "runs.csv", "a") as f:
            f.write("rnn,1,2\n")
    p = run(*TINY, "--seeds", "0-1", "--out", str(out))
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and str(out / "runs.csv") in lines[0] and "Traceback" not in p.stderr


def running_with(text):
    """The processes of this machine whose command line holds text."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(pid)
        except OSError:
            pass
    return found


def test_interrupted_sweep_keeps_its_finished_rows(tmp_path):
    sig = signal.SIGINT
    out = tmp_path / "s"
    args = ["--iters", "600", "--vary", "hidden=4", "--seeds", "0-4", "--workers", "2",
            "--out", str(out)]
    proc = subprocess.Popen([*command("lab.sweep"), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if (out / "runs.csv").exists() and len(rows(out)) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert running_with(str(out)) == []                  # no run left orphaned
    kept = rows(out)
    assert 2 <= len(kept) < 5 and all(r["status"] == "ok" for r in kept)
    assert not [n for n in os.listdir(out) if n.startswith(".run-")]
    p = run(*args)                                     # and the rest is run later
    assert p.returncode == 0 and f"{len(kept)} already in runs.csv" in p.stdout
    assert by_key(rows(out)).items() >= by_key(kept).items() and len(rows(out)) == 5


def test_a_sigterm_ends_the_runs_under_way_and_leaves_nothing_behind(tmp_path):
    # a job scheduler's stop: the runs under way are ended and waited for, none is left
    # running, no .run-* folder is left behind
    out = tmp_path / "s"
    proc = subprocess.Popen([*command("lab.sweep"), "--iters", "100000", "--vary", "hidden=3",
                             "--seeds", "0-1", "--workers", "2", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and len(running_with(str(out))) < 3:   # the sweep and 2 runs
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "interrupted" in stderr and "Traceback" not in stderr
    assert running_with(str(out)) == []
    assert not [n for n in os.listdir(out) if n.startswith(".run-")]


def test_summary_medians_worked_out_by_hand():
    def row(cell, lr, seed, mse, rmse, loss, val, status="ok"):
        return dict(cell=cell, lr=lr, seed=str(seed), status=status, test_mse=str(mse),
                    forecast_rmse=str(rmse), train_loss=str(loss), val_mse=str(val))
    table = [row("rnn", "0.01", 0, 3e-5, 0.02, 0.015, 12.3),
             row("rnn", "0.01", 1, 1e-5, 0.05, 0.014, 11.9),
             row("rnn", "0.01", 2, 2e-5, 0.01, 0.016, 12.05),
             row("rnn", "0.01", 3, "", "", "", "", status="diverged"),
             row("rnn", "0.03", 0, 4e-5, 0.08, 0.010, 13.0),
             row("rnn", "0.03", 1, 6e-5, 0.04, 0.011, 12.5)]
    s = sweep.summarise(table, ["lr"])
    assert [e["config"] for e in s] == [("rnn", "0.01"), ("rnn", "0.03")]
    a, b = s
    assert a["seeds"] == [0, 1, 2, 3] and a["diverged"] == 1
    assert a["test_mse"] == pytest.approx((2e-5, 1e-5, 3e-5))
    assert a["forecast_rmse"] == pytest.approx((0.02, 0.01, 0.05))
    assert a["train_loss"] == pytest.approx((0.015, 0.014, 0.016))
    assert a["val_mse"] == pytest.approx((12.05, 11.9, 12.3))
    assert b["test_mse"] == pytest.approx((5e-5, 4e-5, 6e-5))      # median of two: the mean
    assert b["val_mse"] == pytest.approx((12.75, 12.5, 13.0))
    md = sweep.markdown(s, ["lr"], "python sweep.py ...")
    val = f"{12.05:.2e} [{11.9:.2e}, {12.3:.2e}]"
    assert (f"| rnn | 0.01 | 4 (1 diverged) | 0.0150 [0.0140, 0.0160] | {val} | 2.00e-05 "
            f"[1.00e-05, 3.00e-05]" in md)


def copy_of_the_project(folder):
    """The project's scripts and modules, the lab's included, copied into folder (to
    change one)."""
    (folder / "lab").mkdir(parents=True)
    for sub in ("", "lab"):
        for name in os.listdir(os.path.join(ROOT, sub)):
            if name.endswith(".py"):
                (folder / sub / name).write_bytes(open(os.path.join(ROOT, sub, name), "rb").read())
    return folder


def test_a_row_made_from_other_data_or_by_other_code_is_run_again(tmp_path):
    project = copy_of_the_project(tmp_path / "project")
    series = tmp_path / "series.csv"
    series.write_text("t,y\n" + "".join(f"{t},{np.sin(0.7 * t) + 0.01 * t:.4f}\n"
                                        for t in range(80)))
    out = tmp_path / "s"
    args = ["--iters", "40", "--vary", f"csv={series}", "--vary", "hidden=3",
            "--vary", "diff=false", "--seeds", "0", "--out", str(out)]

    def sweep_(*extra):
        return subprocess.run([sys.executable, "-m", "lab.sweep", *args, *extra, "--no-plot"],
                              capture_output=True, text=True, timeout=120, cwd=project,
                              env={**os.environ, "PYTHONPATH": str(project)})

    p = sweep_()
    assert p.returncode == 0, p.stderr
    # (the same command again runs nothing: test_same_numbers_with_one_or_two_workers...)
    # one byte of the CSV changed: the row is stale, and the run is made again
    series.write_text(series.read_text().replace("t,y\n0,0.0000", "t,y\n0,0.0001"))
    p = sweep_()
    assert p.returncode == 0, p.stderr
    assert "0 already in runs.csv; 1 made from other data is run again; 1 to run" in p.stdout
    # one line of code changed in a module the script imports
    source = (project / "lab" / "csvfile.py").read_text()
    (project / "lab" / "csvfile.py").write_text(source.replace("import csv\n", "import csv  # \n", 1))
    p = sweep_()
    assert p.returncode == 0, p.stderr
    assert "0 already in runs.csv; 1 made by other code is run again; 1 to run" in p.stdout
    table = rows(out)
    assert len(table) == 3 and len({r["data"] for r in table}) == 2
    assert len({r["code"] for r in table}) == 2
    # the summary holds the newest run alone
    assert "| rnn | " in (out / "summary.md").read_text()
    assert (out / "summary.md").read_text().count("| 1 |") == 1


def test_duplicates_count_once_in_the_summary(tmp_path):
    p = run(*TINY, "--vary", "lr=0.01,1e-2", "--seeds", "0-1", "--out", str(tmp_path / "s"))
    assert p.returncode == 0, p.stderr
    assert "2 runs in the grid" in p.stdout and len(rows(tmp_path / "s")) == 2
    assert "| rnn | 3 | 0.01 | 2 |" in (tmp_path / "s" / "summary.md").read_text()


def test_a_file_every_run_would_need_is_refused_before_the_first_run(tmp_path):
    out = tmp_path / "s"
    p = run(*TINY, "--vary", f"csv={tmp_path / 'nonexistent.csv'}", "--out", str(out))
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot read" in lines[0] and "nonexistent.csv" in lines[0]
    assert not out.exists()


def test_a_sweep_with_a_failed_run_exits_1_and_says_where_its_message_is(tmp_path):
    short = tmp_path / "short.csv"
    short.write_text("t,y\n" + "".join(f"{t},{t % 3}\n" for t in range(10)))
    out = tmp_path / "s"
    p = run(*TINY, "--vary", f"csv={short}", "--seeds", "0", "--out", str(out))
    assert p.returncode == 1, p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert "1 of 1 runs failed" in last and str(out / "failed.txt") in last
    assert "needs at least" in (out / "failed.txt").read_text()
    assert "s left" not in p.stdout          # no time estimate without a finished run
    wrote = [line for line in p.stdout.splitlines() if line.startswith("wrote ")]
    assert not (out / "runs.csv").exists() and "runs.csv" not in wrote[0]  # none is claimed


@pytest.mark.parametrize("script", ["lab.sweep", "lab.compare_cells", "lab.memory_span"])
def test_help_opens_with_a_whole_sentence_and_refusals_say_see_help_once(script, tmp_path):
    p = subprocess.run([*command(script), "--help"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0
    description = " ".join(p.stdout.split("\n\n")[1].split())
    assert description.endswith(".") and "(default: [])" not in p.stdout, description
    bad = subprocess.run([*command(script), "--seeds", "x",
                          "--out", str(tmp_path / "o")], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("(see --help)") == 1, bad.stderr


def test_a_refusal_passed_on_from_a_cell_script_says_see_help_once(tmp_path):
    p = run("--vary", "lr=-1", "--out", str(tmp_path / "o"))
    assert p.returncode == 2 and p.stderr.count("(see --help)") == 1, p.stderr


def test_the_data_fingerprint_is_the_one_of_the_file_the_run_read(tmp_path):
    # the file changes after the grid was planned: the row carries the new file's
    # fingerprint, so it is not taken for a run on the old data
    path = tmp_path / "series.csv"
    path.write_text("t,y\n" + "".join(f"{t},{np.sin(0.7 * t):.4f}\n" for t in range(80)))
    (job,) = sweep.build_grid(["rnn"], {"csv": [str(path)], "hidden": ["3"], "diff": ["false"]},
                              [0], 30)
    planned = job["row"]["data"]
    assert planned == runner.file_fingerprint(str(path))
    path.write_text(path.read_text().replace("\n0,0.0000\n", "\n0,0.0001\n"))
    out = tmp_path / "s"
    out.mkdir()
    row = sweep.run_one(job, str(out))
    assert row["status"] == "ok" and row["data"] == runner.file_fingerprint(str(path)) != planned


def test_vary_diff_takes_the_three_representations(tmp_path):
    path = tmp_path / "series.csv"
    path.write_text("t,y\n" + "".join(f"{t},{np.sin(0.7 * t):.4f}\n" for t in range(80)))
    runs = sweep.build_grid(["rnn"], {"csv": [str(path)], "diff": ["true", "false", "both"]},
                            [0], 30)
    assert [r["argv"][2:4] for r in runs] == [["--csv", str(path)]] * 3
    assert [r["row"]["diff"] for r in runs] == ["True", "False", ""]
    assert ["--diff" in r["argv"] for r in runs] == [True, False, False]
    assert ["--no-diff" in r["argv"] for r in runs] == [False, True, False]
    with pytest.raises(ValueError, match="true, false or both"):
        sweep.build_grid(["rnn"], {"csv": [str(path)], "diff": ["maybe"]}, [0], 30)
