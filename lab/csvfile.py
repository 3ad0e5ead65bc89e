"""Your own series, read from a CSV file: one numeric column (read_csv_column), its time
axis in the first column (numbers, or dates such as 1990-06), and the data class that
hands it out in training windows as data.CosineData hands out the cosine (SeriesData).
The CSV mode (lab/series.py) is built on it.
"""
import csv
import io

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


def read_csv_column(path, column=None, about=None):
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
    "number", "month" (YYYY-MM), "date" (YYYY-MM-DD) or "row".
    """
    text = read_text(path, about)
    rows, lines = read_rows(text, path, ",")    # the rows, and the line each one ends on
    first_row = next((r for r in rows if any(c.strip() for c in r)), [])
    decimal_comma = False
    if len(first_row) == 1 and ";" in first_row[0]:
        # separated by semicolons, as spreadsheets write where the decimal mark is a comma
        rows, lines = read_rows(text, path, ";")
        decimal_comma = True
    elif len(first_row) == 1 and "\t" in first_row[0]:
        rows, lines = read_rows(text, path, "\t")      # separated by tabs
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
    else:
        raise ValueError(f"{path} has no column {column!r} (columns: {', '.join(header)})")
    name = header[j]
    y = np.empty(len(body))
    for i, cell in enumerate(cells(j)):
        if cell == "":
            raise ValueError(f"{path}, line {lines[i]}: empty cell in column {name!r}")
        if not is_number(cell):
            raise ValueError(f"{path}, line {lines[i]}: {cell!r} in column {name!r} "
                             f"is not a number")
        y[i] = float(cell)
    if len(y) == 1:
        raise ValueError(f"{path} has one row of data: a series needs many more")
    if np.all(y == y[0]):
        raise ValueError(f"column {name!r} of {path} is constant ({y[0]:g} in every row): "
                         f"there is nothing to learn")
    x, x_label = np.arange(len(y), dtype=float), "row"
    if about is not None:
        about["x"] = "row"
    if j != 0:
        first_cells = cells(0)
        dates = [parse_date(c) for c in first_cells]            # as decimal years, or None
        if all(is_number(c) for c in first_cells):
            x0 = np.array([float(c) for c in first_cells])
        elif None not in dates:
            x0 = np.array(dates)
        else:
            x0 = None
            # a time column with a bad cell (2005-13 among months, inf, nan) is refused
            # naming the line: dropping the whole time axis would count rows instead
            good = [is_number(c) or d is not None for c, d in zip(first_cells, dates)]
            if all(good):
                raise ValueError(f"{path}: the first column ({header[0]!r}), the time, mixes "
                                 f"numbers and dates; write them all one way")
            if sum(good) > len(good) / 2:
                i = good.index(False)
                raise ValueError(f"{path}, line {lines[i]}: {first_cells[i]!r} in the first "
                                 f"column ({header[0]!r}), the time, is neither a finite "
                                 f"number nor a date such as 1990-06 or 1990-06-15")
        if x0 is not None:
            step = np.diff(x0)
            if np.all(step > 0):
                x, x_label = x0, header[0]
                if about is not None:
                    about["x"] = ("number" if is_number(first_cells[0]) else "month"
                                  if len(first_cells[0].replace("/", "-").split("-")) == 2
                                  else "date")
            elif np.all(step <= 0) or np.all(step >= 0):
                i = int(np.flatnonzero(step < 0)[0] if np.any(step < 0) else
                        np.flatnonzero(step == 0)[0])
                how = "decreases" if step[i] < 0 else "repeats"
                raise ValueError(
                    f"{path}, line {lines[i + 1]}: the first column ({header[0]!r}) {how} "
                    f"({first_cells[i]} on line {lines[i]}, {first_cells[i + 1]} here): the "
                    + ("rows must run oldest first; sort them by time" if how == "decreases"
                       else "rows must have one x each; remove or merge the repeated one"))
    return y, x, x_label, name


def read_text(path, about=None):
    """The text of the file at path, read once; about["sha"], if about is given, is the
    fingerprint of its bytes (runner.sha, as the grids take it), so that a run says
    which version of the file it read. ValueError, naming the file, if it cannot be read
    or is not text."""
    try:
        with open(path, "rb") as f:
            data = f.read()
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
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
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


def is_number(text):
    """True for a cell holding a finite number."""
    try:
        return np.isfinite(float(text))
    except ValueError:
        return False
