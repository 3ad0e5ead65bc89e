"""Your own series, read from a CSV file: one numeric column (read_csv_column), its time
axis in the first column (numbers, or dates such as 1990-06), and the data class that
hands it out in training windows as data.CosineData hands out the cosine (SeriesData).
The CSV mode (lab/series.py) is built on it.
"""
import csv
import io
import math
import os
import re
import stat

import numpy as np

from data import CosineData
from lab.runner import sha


class SeriesData(CosineData):
    """A fixed series y_data (float64, shape (N,)), handed out in random training windows
    as data.CosineData hands out the cosine (its next_batch and batch_at).

    x_data (shape (N,)) says where each value lies (default: 0, 1, 2, ...). The object
    owns its random generator (`seed`: anything np.random.default_rng takes, a Generator
    included) and never touches NumPy's global random state.
    """

    def __init__(self, y_data, x_data=None, seed=None):
        self.y_data = np.asarray(y_data, dtype=float)
        if self.y_data.ndim != 1 or len(self.y_data) < 2:
            raise ValueError(f"need a series of at least 2 values, got shape {self.y_data.shape}")
        self.num_points = len(self.y_data)
        self.x_data = (np.arange(self.num_points, dtype=float) if x_data is None
                       else np.asarray(x_data, dtype=float))
        self.rng = np.random.default_rng(seed)


# a number as a spreadsheet writes one, in ASCII digits (re.ASCII: \d is [0-9], not the
# digits of every script, which Python's float reads too)
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?", re.ASCII)            # 5,006.29
MAX_BYTES = 200_000_000     # a CSV file is read whole: at most 200 MB
ROWS_HINT = ("or give --rows to number the rows 0, 1, 2, ... and take them as equally "
             "spaced")


def read_csv_column(path, column=None, about=None, rows_only=False):
    """One numeric column of a CSV file with a header row.

    column: the column's name; by default the only numeric column, or the last one (a
    column counts as numeric when most of its cells are numbers: a stray bad cell in it
    is then reported, not passed over).
    Returns (y, x, x_label, column): y the column's values, shape (N,); x the first column
    when it is another numeric or date (YYYY-MM, YYYY-MM-DD; as decimal years) column,
    strictly increasing (a year, a time), else the row numbers 0..N-1, with its name as
    x_label. A file separated by semicolons is read with its decimal commas. Raises
    ValueError with a message that names the file (and the line) on anything it cannot
    use: a row with more cells than the header, a time column that decreases (newest
    first) or repeats a value, a bad cell. about, a dict if given, gets "x": what x is,
    "number", "month" (YYYY-MM), "date" (YYYY-MM-DD) or "row". The time column must be a
    regular axis (equal steps: the same number of units, months or days between rows),
    or it is refused; rows_only (--rows) numbers the rows instead and reads no time.
    """
    text = read_text(path, about)
    unclosed(text, path)
    rows, lines = read_rows(text, path, ",")    # the rows, and the line each one ends on
    first_row = next((r for r in rows if any(c.strip() for c in r)), [])
    decimal_comma = False
    if len(first_row) == 1 and ";" in first_row[0]:
        # separated by semicolons, as spreadsheets write where the decimal mark is a comma
        rows, lines = read_rows(text, path, ";")
        decimal_comma = True
    elif len(first_row) == 1 and "\t" in first_row[0]:
        rows, lines = read_rows(text, path, "\t")      # separated by tabs
    elif len(first_row) == 1 and len(first_row[0].split()) > 1:
        raise ValueError(f"{path}: its first line holds {len(first_row[0].split())} words "
                         f"separated by spaces, not commas ({first_row[0].strip()!r}); write "
                         f"the file with commas (or semicolons, or tabs) between the columns")
    filled = [i for i, r in enumerate(rows) if any(cell.strip() for cell in r)]
    if not filled:
        raise ValueError(f"{path} is empty")
    # blank lines before the header or after the last row are harmless; one between
    # rows of data is a missing value, and skipping it would shift the series in time
    first, last = filled[0], filled[-1]
    blank = sorted(set(range(first + 1, last)) - set(filled))
    if blank:
        raise ValueError(f"{path}, line {lines[blank[0]]}: a blank line between rows of "
                         f"data (a missing value?); fill it in or remove the line")
    header = [name.strip() for name in rows[first]]
    if all(is_number(h) for h in header):
        raise ValueError(f"{path}, line {lines[first]}: the first row holds numbers only, "
                         f"not the columns' names: a header row is needed (add one, such "
                         f"as t,value), or the first row of data would be lost")
    named = [h for h in header if h]
    twice = next((h for h in named if named.count(h) > 1), None)
    if twice is not None:
        where = [i + 1 for i, h in enumerate(header) if h == twice]
        raise ValueError(f"{path}: the header names column {twice!r} twice (columns "
                         f"{where[0]} and {where[1]}); rename one, so that --column can say "
                         f"which")
    body, lines = rows[first + 1:last + 1], lines[first + 1:last + 1]
    if not body:
        raise ValueError(f"{path} has a header but no rows of data")
    for r, line in zip(body, lines):
        extra = [c for c in r[len(header):] if c.strip()]
        if extra:
            raise ValueError(f"{path}, line {line}: {len(r)} cells, but the header names "
                             f"{len(header)} columns (numbers with unquoted thousands "
                             f"separators, such as 2,710.349? write them as 2710.349, or "
                             f"quote them)")

    def cells(j):
        column = [r[j].strip() if j < len(r) else "" for r in body]
        if decimal_comma:               # 3,14 is 3.14 in a file separated by semicolons
            column = [c.replace(",", ".") if c.count(",") == 1 and "." not in c else c
                      for c in column]
        return column

    if column is None:
        numeric = [j for j in range(len(header))
                   if sum(is_number(c) for c in cells(j)) > len(body) / 2]
        grouped = next((c for j in range(len(header)) for c in cells(j)
                        if THOUSANDS.fullmatch(c)), None)
        if grouped is not None:
            raise ValueError(f"{path}: numbers written with thousands separators "
                             f"({grouped!r}); write them without (as "
                             f"{grouped.replace(',', '')!r})")
        pythons = next(((lines[i], c, header[j]) for j in range(len(header))
                        for i, c in enumerate(cells(j)) if python_only(c)), None)
        if pythons is not None:
            raise ValueError(f"{path}, line {pythons[0]}: {pythons[1]!r} in column "
                             f"{pythons[2]!r} is not a number as a spreadsheet writes one "
                             f"(ASCII digits, a point, an exponent); write it so")
        if not numeric:
            raise ValueError(f"{path} has no column of numbers; name one with --column "
                             f"(columns: {', '.join(header)})")
        j = numeric[-1]
        if j == 0 and len(header) > 1:
            # the first column is the time; a value column that holds no numbers would
            # otherwise leave the time itself to be learned
            raise ValueError(f"{path}: the only column of numbers is the first, "
                             f"{header[0]!r}, which is read as the time; the others hold no "
                             f"numbers (line {lines[0]}: {cells(len(header) - 1)[0]!r} in "
                             f"{header[-1]!r}); name the column with --column")
    elif column in header:
        j = header.index(column)
        if j == 0 and len(header) > 1 and not rows_only:
            raise ValueError(f"{path}: {column!r} is the first column, read as the time; "
                             f"name a column of values (columns: {', '.join(header[1:])})")
    else:
        raise ValueError(f"{path} has no column {column!r} (columns: {', '.join(header)})")
    name = header[j]
    y = np.empty(len(body))
    for i, cell in enumerate(cells(j)):
        if cell == "":
            raise ValueError(f"{path}, line {lines[i]}: empty cell in column {name!r}")
        if not is_number(cell):
            grouped = " (written with a thousands separator?)" if THOUSANDS.fullmatch(
                cell) else ""
            raise ValueError(f"{path}, line {lines[i]}: {cell!r} in column {name!r} "
                             f"is not a number{grouped}")
        y[i] = float(cell)
    if len(y) == 1:
        raise ValueError(f"{path} has one row of data: a series needs many more")
    if np.all(y == y[0]):
        raise ValueError(f"column {name!r} of {path} is constant ({y[0]:g} in every row): "
                         f"there is nothing to learn")
    x, x_label = np.arange(len(y), dtype=float), "row"
    if about is not None:
        about["x"] = "row"
    if j != 0 and not rows_only:
        first_cells = cells(0)
        dates = [parse_date(c) for c in first_cells]            # as decimal years, or None
        if all(is_number(c) for c in first_cells):
            x0 = np.array([float(c) for c in first_cells])
        elif None not in dates:
            x0 = np.array(dates)
        elif sum(any(ch.isdigit() for ch in c) for c in first_cells) <= len(body) / 2:
            x0 = None                     # names, not times: the rows are counted
        else:
            # a time column the program cannot read (a bad cell, 15/06/2000, 2000Q1,
            # 2000-01-01T00:00) is refused naming the line: counting rows instead would
            # put each value at another time than the file says
            good = [is_number(c) or d is not None for c, d in zip(first_cells, dates)]
            if all(good):
                raise ValueError(f"{path}: the first column ({header[0]!r}), the time, mixes "
                                 f"numbers and dates; write them all one way")
            i = good.index(False)
            raise ValueError(f"{path}, line {lines[i]}: {first_cells[i]!r} in the first "
                             f"column ({header[0]!r}), the time, is neither a finite number "
                             f"nor a date written 1990-06 or 1990-06-15; write it so, "
                             f"{ROWS_HINT}")
        if x0 is not None:
            step = np.diff(x0)
            if np.all(step > 0):
                kind = ("number" if is_number(first_cells[0]) else "month"
                        if len(first_cells[0].replace("/", "-").split("-")) == 2 else "date")
                regular(first_cells, kind, path, header[0], lines)
                x, x_label = x0, header[0]
                if about is not None:
                    about["x"] = kind
            else:                 # a step back (rows out of order), or a repeat
                i = int(np.flatnonzero(step < 0)[0] if np.any(step < 0) else
                        np.flatnonzero(step == 0)[0])
                how = "decreases" if step[i] < 0 else "repeats"
                raise ValueError(
                    f"{path}, line {lines[i + 1]}: the first column ({header[0]!r}) {how} "
                    f"({first_cells[i]} on line {lines[i]}, {first_cells[i + 1]} here): the "
                    + ("rows must run oldest first; sort them by time" if how == "decreases"
                       else "rows must have one x each; remove or merge the repeated one"))
    return y, x, x_label, name


def regular(cells, kind, path, name, lines):
    """ValueError unless the time column's cells (of one kind: numbers, months YYYY-MM,
    dates YYYY-MM-DD) are equally spaced: the same step in units, in months, or in days
    (or, for dates, the same day of every month or year). A gap (a missing row) or an
    irregular axis would be read as equal steps, and --ahead would continue it wrongly."""
    tol = 0.0
    if kind == "number":
        v = np.array([float(c) for c in cells])
        unit = "units"
        decimals = max(len(c.strip().lower().split("e")[0].partition(".")[2]) for c in cells)
        tol = 2 * 10.0 ** -decimals if "e" not in "".join(cells).lower() else 0.0
    else:
        parts = [[int(p) for p in c.strip().replace("/", "-").split("-")] for c in cells]
        if {len(p) for p in parts} != {2 if kind == "month" else 3}:
            i = next(i for i, p in enumerate(parts) if len(p) != len(parts[0]))
            raise ValueError(f"{path}, line {lines[i]}: the first column ({name!r}), the "
                             f"time, mixes months (1990-06) and days (1990-06-15); write "
                             f"them all one way, {ROWS_HINT}")
        months = np.array([12 * p[0] + p[1] for p in parts])
        if kind == "month" or len({p[2] for p in parts}) == 1 and len(
                set(np.diff(months))) == 1:
            v, unit = months, "months"             # monthly, quarterly, yearly dates too
        else:
            v = np.array([np.datetime64(f"{p[0]:04d}-{p[1]:02d}-{p[2]:02d}").astype(int)
                          for p in parts])
            unit = "days"
    step = np.diff(v)
    usual = np.median(step)
    odd = np.flatnonzero(np.abs(step - usual) > 1e-6 * abs(usual) + tol)   # as written
    if len(odd):
        i = int(odd[0])
        raise ValueError(f"{path}, line {lines[i + 1]}: the time ({name!r}) steps "
                         f"{step[i]:g} {unit} from {cells[i]} to {cells[i + 1]}, where its "
                         f"usual step is {usual:g} (a missing row, or an irregular axis, "
                         f"would be read as an equal step); fill the gap, {ROWS_HINT}")


def unclosed(text, path):
    """ValueError naming the line of a quote opened and never closed, which the CSV
    reader would otherwise run on to the end of the file and report there (a quoted
    cell that holds a line break, closed on a later line, is fine)."""
    opened = None
    for n, line in enumerate(text.splitlines(), 1):
        if line.count('"') % 2:
            opened = n if opened is None else None
    if opened is not None:
        raise ValueError(f"{path}, line {opened}: a quote (\") opened and not closed")


def read_text(path, about=None):
    """The text of the file at path, read once; about["sha"], if about is given, is the
    fingerprint of its bytes (runner.sha, as the grids take it), so that a run says
    which version of the file it read. ValueError, naming the file, if it cannot be read
    or is not text, if it is not a regular file (a FIFO, a device: never read) or if it
    is larger than MAX_BYTES."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path} is not a regular file (a FIFO, a device?): give a CSV "
                             f"file")
        if info.st_size > MAX_BYTES:
            raise ValueError(f"{path} is {info.st_size / 1e9:.3g} GB; the CSV mode reads a "
                             f"file whole, at most {MAX_BYTES / 1e6:.0f} MB")
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
        text = data.decode("utf-8-sig")
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror or e}")
    except UnicodeDecodeError:
        raise ValueError(f"cannot read {path}: it is not text (UTF-8)")
    if about is not None:
        about["sha"] = sha(data)
    return text


def read_rows(text, path, delimiter):
    """Every row of the CSV text of the file at path, as lists of strings, and the line
    each one ends on; ValueError, naming the file, if it is not CSV."""
    rows, lines = [], []
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        for row in reader:
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as e:
        raise ValueError(f"{path} is not a readable CSV file: {e}")
    return rows, lines


def format_date(year, monthly):
    """A decimal year as a date: YYYY-MM when monthly, else YYYY-MM-DD (parse_date's
    inverse)."""
    y = int(np.floor(year + 1e-9))
    if monthly:
        return f"{y}-{int(round((year - y) * 12)) % 12 + 1:02d}"
    start, end = np.datetime64(f"{y:04d}-01-01"), np.datetime64(f"{y + 1:04d}-01-01")
    return str(start + np.timedelta64(int(round((year - y) * float((end - start) /
                                                                  np.timedelta64(1, "D")))), "D"))


def parse_date(text):
    """A date written YYYY-MM or YYYY-MM-DD (or with slashes) as a decimal year: 2000-01
    is 2000.0, 1990-07 is 1990.5, 2001-01-15 is 2001 + 14/365. None for anything else."""
    parts = text.strip().replace("/", "-").split("-")
    if len(parts) not in (2, 3) or len(parts[0]) != 4 or not all(
            p.isascii() and p.isdigit() for p in parts):          # ASCII digits only
        return None
    year, month = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12:
        return None
    if len(parts) == 2:
        return year + (month - 1) / 12
    try:
        day = np.datetime64(f"{year:04d}-{month:02d}-{int(parts[2]):02d}")
    except ValueError:
        return None
    start, end = np.datetime64(f"{year:04d}-01-01"), np.datetime64(f"{year + 1:04d}-01-01")
    return year + float((day - start) / (end - start))


def python_only(text):
    """True for a finite number that Python's float reads and a spreadsheet would not
    write: 1_000, digits of other scripts (full-width, Arabic-Indic)."""
    try:
        return not is_number(text) and math.isfinite(float(text))
    except ValueError:
        return False


def is_number(text):
    """True for a cell holding a finite number as a spreadsheet writes one: ASCII digits,
    a point, an exponent (not 1_000, not inf or nan, not other scripts' digits)."""
    return NUMBER.fullmatch(text.strip()) is not None and np.isfinite(float(text))
