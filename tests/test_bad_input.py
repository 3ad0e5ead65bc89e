"""Files and options that once gave a silently wrong result, each refused in one line
(exit 2, nothing written) or read right, as a user meets them; and the linear model and
its test the same whatever the series' units."""
import json
import os
import subprocess

import numpy as np
import pytest

from conftest import ROOT, command, in_process
from lab import series
from lab.series import Member
from linear_cell import LinearCell, linear_cell

SUNSPOTS = os.path.join(ROOT, "datasets", "sunspots_yearly.csv")


def series_cli(*args):
    return in_process("lab.series", *args)


def months(n):
    return [f"{2000 + m // 12}-{m % 12 + 1:02d}" for m in range(n)]


def wave(n):
    return [f"{10 + 5 * np.sin(0.5 * t) + 0.01 * t:.4f}" for t in range(n)]


def write(tmp_path, name, header, rows):
    path = tmp_path / name
    path.write_text(header + "\n" + "".join(",".join(r) + "\n" for r in rows))
    return str(path)


def refused(p, out, *words):
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert not out.exists()
    return lines[0]


def cases(tmp_path):
    n = 80
    t = [str(1900 + i) for i in range(n)]
    yield "values near 1e150", write(tmp_path, "big.csv", "year,v", [
        (a, f"{float(b) * 1e150!r}") for a, b in zip(t, wave(n))]), [], ["too large", "rescale"]
    yield "values near 1e-300", write(tmp_path, "tiny.csv", "year,v", [
        (a, f"{float(b) * 1e-300!r}") for a, b in zip(t, wave(n))]), [], ["too small", "rescale"]
    yield "a value column of nan", write(tmp_path, "nan.csv", "year,v", [
        (a, "nan") for a in t]), ["--no-diff"], ["'year'", "is read as the time", "--column"]
    yield "a value column of hex floats", write(tmp_path, "hex.csv", "year,v", [
        (a, float.hex(float(b))) for a, b in zip(t, wave(n))]), ["--no-diff"], ["--column"]
    for bad in ("2005-13", "inf", "nan", "2005-0\x007"):
        rows = list(zip(months(n), wave(n)))
        rows[30] = (bad, rows[30][1])
        yield f"a time cell {bad!r}", write(tmp_path, f"time_{len(bad)}{bad[-1]}.csv", "month,v", rows), [], [
            "line 32", repr(bad), "neither a finite number nor a date"]
    rows = list(zip(months(n), wave(n)))
    rows[30] = ("2002", rows[30][1])
    yield "numbers among dates", write(tmp_path, "mixed.csv", "month,v", rows), [], [
        "mixes numbers and dates"]
    yield "a NUL byte", write(tmp_path, "nul.csv", "month,v", [
        (m, v if i != 20 else v + "\0") for i, (m, v) in enumerate(zip(months(n), wave(n)))]), [], [
        "nul.csv"]
    yield "two columns of one name", write(tmp_path, "twice.csv", "t,value,value", [
        (a, b, b) for a, b in zip(t, wave(n))]), [], ["'value' twice", "columns 2 and 3"]
    yield "changes at the level of rounding", write(tmp_path, "rounding.csv", "t,v", [
        (a, "5" if i % 2 else "5.000000000000001") for i, a in enumerate(t)]), ["--diff"], [
        "up to rounding", "--no-diff"]


def test_files_that_gave_a_silently_wrong_result_are_refused_in_one_line(tmp_path):
    # in this process (the command's main, its stdout, stderr and exit status): a real
    # process meets the same refusals in test_cli and test_faults
    for what, path, extra, words in cases(tmp_path):
        out = tmp_path / ("never-" + "".join(c for c in what if c.isalnum()))
        p = series_cli("--csv", path, *extra, "--iters", "30", "--out", str(out))
        line = refused(p, out, *words)
        assert line.startswith("python -m lab.series: error: "), (what, line)


def test_the_cosine_s_options_are_refused_by_the_csv_mode(tmp_path):
    for option in (["--noise", "0.1"], ["--points", "500"], ["--resolution", "0.3"]):
        p = series_cli("--csv", SUNSPOTS, *option, "--out", str(tmp_path / "never"))
        refused(p, tmp_path / "never", "unrecognized arguments", option[0])


def test_a_file_separated_by_tabs_is_read(tmp_path):
    path = tmp_path / "tabs.csv"
    path.write_text("year\tv\n" + "".join(f"{1900 + i}\t{v}\n" for i, v in enumerate(wave(80))))
    p = series_cli("--csv", str(path), "--iters", "30", "--hidden", "3", "--no-diff",
                   "--no-plot", "--out", str(tmp_path / "r"))
    assert p.returncode == 0, p.stderr
    m = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert m["settings"]["column"] == "v" and m["x_label"] == "year"


def test_the_linear_model_and_its_test_do_not_depend_on_the_series_units():
    # the same series in units 1e40 times larger (and shifted): the same orders, the
    # same choice, the same p-value; the errors in the new units
    y, x, _, _ = series.read_csv_column(SUNSPOTS)
    n_fit, n_train = 198, 247
    repeat = [Member(linear_cell(1.0), False, 0.0, 1.0)]     # 'same as last value'
    a = series.evaluate(LinearCell, repeat, y, x, n_fit, n_train)
    b = series.evaluate(LinearCell, repeat, y * 1e40 + 3e41, x, n_fit, n_train)
    assert (a["ar_order"], a["ar_diff"]) == (b["ar_order"], b["ar_diff"])
    assert (a["ar_levels_order"], a["ar_changes_order"]) == (b["ar_levels_order"], b["ar_changes_order"])
    assert b["dm_pvalue"] == pytest.approx(a["dm_pvalue"], rel=1e-6)
    for k in ("ar_rmse", "ar_forecast_rmse", "test_rmse"):
        assert b[k] == pytest.approx(a[k] * 1e40, rel=1e-8), k


def test_one_row_of_data_is_not_called_constant(tmp_path):
    path = write(tmp_path, "one.csv", "t,v", [("1", "5")])
    line = refused(series_cli("--csv", path, "--out", str(tmp_path / "never")),
                   tmp_path / "never", "one row of data")
    assert "constant" not in line


def test_the_work_of_a_long_series_is_bounded():
    # the shipped series (at most 1,000 rows) get the full 100 checks; a long one fewer,
    # never fewer than 10, each reading the training rows once
    assert series.check_every(100_000, 800) == 1000 and series.check_every(200, 800) == 2
    for n_train in (20_000, 80_000, 10_000_000):
        every = series.check_every(100_000, n_train)
        checks = 100_000 // every
        assert 10 <= checks <= 100 and checks * n_train <= max(series.CHECK_BUDGET, 10 * n_train)


def test_a_long_series_runs_in_bounded_time_and_stops_at_ctrl_c(tmp_path):
    # 2,700 rows held out: the forecasts by horizon from 200 origins, the coverage on
    # the first 1,000 held-out rows; and a Ctrl-C while it runs is acknowledged, ends in
    # exit 130 (what bounds the work on a long training part: test_controls, test_series)
    import signal
    import time
    t = np.arange(3_000)
    y = np.sin(0.05 * t) + 0.1 * np.random.default_rng(0).standard_normal(len(t))
    path = tmp_path / "long.csv"
    path.write_text("t,v\n" + "".join(f"{a},{b:.5f}\n" for a, b in zip(t, y)))
    out = tmp_path / "r"
    p = series_cli("--csv", str(path), "--train-until", "299", "--iters", "60", "--hidden",
                   "4", "--no-diff", "--no-plot", "--quiet", "--out", str(out))
    assert p.returncode == 0, p.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["coverage_rows"] == 1000 and m["horizon_rmse"]["origins"] == 200
    assert "of the first 1000 held-out rows (of 2700)" in p.stdout
    proc = subprocess.Popen([*command("lab.series"), "--csv", str(path), "--iters", "100000",
                             "--hidden", "4", "--no-diff", "--no-plot", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("rnn_cos:")        # training has begun
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr
    assert "Ctrl-C: stopping after this iteration" in stdout
    assert json.loads((out / "metrics.json").read_text())["interrupted"] is True
