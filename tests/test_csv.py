"""Training on a column of a CSV file, and refusing files it cannot use."""
import csv
import json
import os

import numpy as np
import pytest

from lab import series
from conftest import ROOT, in_process
from lab.csvfile import read_csv_column

SUNSPOTS = os.path.join(ROOT, "datasets", "sunspots_yearly.csv")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def sunspot_rows():
    with open(SUNSPOTS, newline="") as f:
        rows = list(csv.reader(f))
    return [float(r[0]) for r in rows[1:]], [float(r[1]) for r in rows[1:]]


def test_default_column_is_the_last_numeric_one_and_x_the_year():
    years, spots = sunspot_rows()
    y, x, x_label, column = read_csv_column(SUNSPOTS)
    assert column == "SUNACTIVITY" and x_label == "YEAR"
    np.testing.assert_array_equal(y, spots)
    np.testing.assert_array_equal(x, years)
    assert len(y) == 309


def test_named_column_and_row_numbers(tmp_path):
    path = write(tmp_path, "a.csv", "name,a,b\nx,1,5\ny,2,3\nz,4,1\n")
    y, x, x_label, column = read_csv_column(path, "a")
    np.testing.assert_array_equal(y, [1, 2, 4])
    assert column == "a" and x_label == "row"        # 'name' is not numeric
    np.testing.assert_array_equal(x, [0, 1, 2])
    assert read_csv_column(path)[3] == "b"            # the last numeric column


@pytest.mark.parametrize("text, column, words", [
    ("", None, "is empty"),
    ("a,b\n", None, "no rows of data"),
    ("a,b\n1,2\n3,4\n", "c", "no column 'c' (columns: a, b)"),
    ("a,b\n1,2\n3,oops\n5,6\n", "b", "line 3: 'oops' in column 'b' is not a number"),
    ("a,b\n1,2\n3,\n5,6\n", "b", "line 3: empty cell in column 'b'"),
    ("a,b\n1,2\n3\n5,6\n", "b", "line 3: empty cell in column 'b'"),
    ("a\nx\ny\n", None, "no column of numbers"),
    ("a,b\n1,2\n2,x\n3,4\n", None, "line 3: 'x' in column 'b' is not a number"),
    ("a,b\n1,7\n2,7\n3,7\n", "b", "constant"),
    ("a\n1\nnan\n3\n", "a", "'nan' in column 'a' is not a number"),
    ("a\n1\n2\n\n3\n", "a", "line 4: a blank line between rows of data"),
    ("a\n1\n2\n  \n3\n\n", None, "line 4: a blank line between rows of data"),
    ("t,a\n0,1\n,\n2,3\n", "a", "line 3: a blank line between rows of data"),
    ('a\n"1\n"\n2\n\n3\n', "a", "line 5: a blank line"),   # a quoted cell over two lines
])
def test_bad_files(tmp_path, text, column, words):
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(ValueError) as e:
        read_csv_column(path, column)
    assert words in str(e.value) and path in str(e.value)


def test_blank_lines_around_the_data_are_harmless(tmp_path):
    path = write(tmp_path, "ok.csv", "\n\nt,v\n0,1\n1,4\n2,9\n\n\n  \n")
    y, x, x_label, column = read_csv_column(path)
    np.testing.assert_array_equal(y, [1, 4, 9])
    np.testing.assert_array_equal(x, [0, 1, 2])
    assert (x_label, column) == ("t", "v")


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="cannot read .*nope.csv"):
        read_csv_column(str(tmp_path / "nope.csv"))


def cli(*args):
    """python -m lab.series ARGS (the CSV mode), in this process."""
    return in_process("lab.series", *args)


def cosine(*args):
    """python rnn_cos.py ARGS, in this process."""
    return in_process("rnn_cos.py", *args)


def test_bad_files_on_the_command_line_exit_2_and_write_nothing(tmp_path):
    rows = "t,v\n" + "".join(f"{i},{np.sin(i)}\n" for i in range(20))
    cases = {
        "missing": (str(tmp_path / "missing.csv"), []),
        "folder": (str(tmp_path), []),
        "empty": (write(tmp_path, "empty.csv", ""), []),
        "unknown column": (write(tmp_path, "u.csv", rows), ["--column", "w"]),
        "text cell": (write(tmp_path, "t.csv", rows + "20,abc\n"), []),
        "constant": (write(tmp_path, "c.csv", "v\n" + "3\n" * 40), []),
        "too few rows": (write(tmp_path, "few.csv", rows), []),   # 20 rows, --steps 20
        "blank line": (write(tmp_path, "gap.csv", "v\n" + "1\n2\n" * 20 + "\n3\n"), []),
    }
    for kind, (path, extra) in cases.items():
        out = tmp_path / ("out_" + kind.replace(" ", "_"))
        p = cli("--csv", path, *extra, "--iters", "50", "--out", str(out))
        assert p.returncode == 2, (kind, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("python -m lab.series: error: "), (kind, p.stderr)
        assert "Traceback" not in p.stderr
        assert not out.exists(), kind
    assert "'abc'" in cli("--csv", cases["text cell"][0]).stderr
    assert "line 22" in cli("--csv", cases["text cell"][0]).stderr
    assert "needs at least 34" in cli("--csv", cases["too few rows"][0]).stderr
    assert "needs at least 32" in cli("--csv", cases["too few rows"][0], "--no-diff").stderr
    assert "line 42: a blank line" in cli("--csv", cases["blank line"][0]).stderr


def test_column_without_csv_is_refused():
    p = cli("--column", "v")
    assert p.returncode == 2 and "--csv" in p.stderr
    p = cosine("--csv", SUNSPOTS)            # the tutorial's script has no CSV mode
    assert p.returncode == 2 and p.stderr == ("rnn_cos.py: error: unrecognized arguments: "
                                              f"--csv {SUNSPOTS}\n")


def test_sunspots_short_run_beats_same_as_last_value(tmp_path, capsys):
    out = tmp_path / "sun"
    status = series.main(["--csv", SUNSPOTS, "--iters", "2000", "--no-plot", "--quiet",
                          "--out", str(out)])
    assert status == 0
    _, spots = sunspot_rows()
    spots = np.array(spots)
    n_train = 247                                      # round(0.8 * 309); 62 held out
    n_fit = 198                                        # round(0.8 * 247); 49 validate
    with np.load(out / "rnn_cos.npz", allow_pickle=False) as f:
        r = {k: f[k] for k in f.files}
    # normalised with the rows it trains on only; results in the original units
    fitted = np.diff(spots[:n_fit]) if bool(r["diff"]) else spots[:n_fit]
    assert float(r["mean"]) == pytest.approx(fitted.mean())
    assert float(r["std"]) == pytest.approx(fitted.std())
    np.testing.assert_array_equal(r["test_targets"], spots[n_train:])
    baseline = np.sqrt(np.mean((spots[n_train:] - spots[n_train - 1:-1]) ** 2))
    assert float(r["baseline_rmse"]) == pytest.approx(baseline)
    rmse = np.sqrt(np.mean((r["test_predictions"] - spots[n_train:]) ** 2))
    assert float(r["test_rmse"]) == pytest.approx(rmse)
    assert rmse < 0.9 * baseline, (rmse, baseline)
    assert r["forecast"].shape == (62,) and np.all(np.isfinite(r["forecast"]))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["baseline_rmse"] == pytest.approx(baseline)
    assert metrics["settings"]["column"] == "SUNACTIVITY"


def test_files_that_used_to_give_a_silently_wrong_result(tmp_path):
    values = [f"{2000 + np.sin(0.7 * i) * 300 + 10 * i:.3f}" for i in range(60)]
    years = list(range(1950, 2010))
    cases = {
        # GDP written with unquoted thousands separators: 2,710.349 is two cells
        "thousands": ("year,gdp\n" + "".join(f'{t},"{float(v):,.3f}"\n' for t, v in
                                              zip(years, values)).replace('"', ""),
                      "line 2: 3 cells, but the header names 2 columns"),
        "newest first": ("year,v\n" + "".join(f"{t},{v}\n" for t, v in
                                              zip(years[::-1], values)),
                         "line 3: the first column ('year') decreases (2009 on line 2, "
                         "2008 here): the rows must run oldest first"),
        "repeated x": ("year,v\n" + "".join(f"{t},{v}\n" for t, v in
                                            zip(years[:30] + years[29:59], values)),
                       "line 32: the first column ('year') repeats (1979 on line 31"),
        "a straight line": ("t,v\n" + "".join(f"{t},{3 * t + 1}\n" for t in range(60)),
                            "(a straight line?); --no-diff trains on the values"),
    }
    for kind, (text, words) in cases.items():
        out = tmp_path / ("out_" + kind.replace(" ", "_"))
        p = cli("--csv", write(tmp_path, kind.replace(" ", "_") + ".csv", text),
                "--iters", "50", "--out", str(out))
        assert p.returncode == 2, (kind, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (kind, lines)
        assert not out.exists(), kind
    # --train-until where there is no time to count it in
    rows = write(tmp_path, "rows.csv", "v\n" + "".join(f"{v}\n" for v in values))
    p = cli("--csv", rows, "--train-until", "40", "--out", str(tmp_path / "never"))
    assert p.returncode == 2 and "needs a time in the first column" in p.stderr
    assert not (tmp_path / "never").exists()


def test_dates_and_semicolons_with_decimal_commas_are_read(tmp_path):
    months = [f"{1985 + m // 12}-{m % 12 + 1:02d}" for m in range(96)]
    temps = [10 + 8 * np.sin(2 * np.pi * m / 12) for m in range(96)]
    path = write(tmp_path, "temps.csv", "date;temp\n" + "".join(
        f"{d};{t:.2f}".replace(".", ",") + "\n" for d, t in zip(months, temps)))
    y, x, x_label, column = read_csv_column(path)
    assert (x_label, column) == ("date", "temp")
    np.testing.assert_allclose(y, np.round(temps, 2))
    np.testing.assert_allclose(x, 1985 + np.arange(96) / 12)         # months as years
    out = tmp_path / "r"
    p = cli("--csv", path, "--train-until", "1990-06", "--iters", "50", "--hidden", "4",
            "--no-plot", "--quiet", "--out", str(out))
    assert p.returncode == 0, p.stderr
    m = json.loads((out / "metrics.json").read_text())
    # rows up to 1990-06 train: 5 years and 6 months, 66 rows; the other 30 are held out
    assert m["settings"]["n_train"] == 66 and m["settings"]["column"] == "temp"
    assert m["settings"]["train_until"] == pytest.approx(1990 + 5 / 12)
    p = cli("--csv", path, "--train-until", "1990-13", "--out", str(tmp_path / "never"))
    assert p.returncode == 2 and "a date such as 1990-06" in p.stderr
