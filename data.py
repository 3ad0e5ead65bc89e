"""The training data: a noisy cosine, handed out in windows of consecutive points.

    data = CosineData(num_points=1000, xmin=0.0, xmax=200.0)
    inputs, targets = data.next_batch(20)   # 21 consecutive points, shifted by one

`inputs` are the first `steps` values of the window and `targets` the last `steps`, so
`targets[t]` is the value that follows `inputs[t]`: the network learns to predict the
next value of the series from the values before it.
"""
import csv

import numpy as np


class SeriesData:
    """A fixed series y_data (float64, shape (N,)) that hands out random training windows.

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

    def next_batch(self, steps, return_x=False):
        """A random window of steps + 1 consecutive points.

        Returns inputs = y[s : s+steps] and targets = y[s+1 : s+steps+1], each of shape
        (steps,), and with return_x=True also x = x_data[s : s+steps+1], shape (steps+1,).
        """
        check_steps(steps, self.num_points)
        start = self.rng.integers(0, self.num_points - steps)  # s + steps <= num_points - 1
        return self.batch_at(start, steps, return_x)

    def batch_at(self, start, steps, return_x=False):
        """The window of steps + 1 consecutive points from y[start], as next_batch hands
        them out; start + steps must be at most num_points - 1."""
        window = self.y_data[start:start + steps + 1]
        if len(window) != steps + 1 or start < 0:
            raise ValueError(f"no window of {steps} steps starts at {start} in "
                             f"{self.num_points} points")
        inputs, targets = window[:-1], window[1:]
        if return_x:
            return inputs, targets, self.x_data[start:start + steps + 1]
        return inputs, targets


class CosineData(SeriesData):
    """y = cos(x) + noise * N(0, 1) on `num_points` evenly spaced x in [xmin, xmax].

    The noise is drawn once, so the noisy data set is fixed for the life of the object;
    `seed` fixes it (and the windows `next_batch` picks) between runs.

    Attributes (all float64 arrays of shape (num_points,)): x_data, y_true = cos(x_data),
    y_data = y_true + noise; and resolution, the spacing of x_data.
    """

    def __init__(self, num_points, xmin, xmax, noise=0.05, seed=None):
        if isinstance(num_points, bool) or not isinstance(num_points, (int, np.integer)):
            raise ValueError(f"num_points must be an integer >= 2, got {num_points!r}")
        if num_points < 2:
            raise ValueError(f"num_points must be >= 2, got {num_points}")
        if not (np.isfinite(xmin) and np.isfinite(xmax) and xmax > xmin):
            raise ValueError(f"need finite xmin < xmax, got xmin={xmin!r}, xmax={xmax!r}")
        if not (np.isfinite(noise) and noise >= 0):
            raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
        rng = np.random.default_rng(seed)
        x = np.linspace(xmin, xmax, num_points)
        self.noise = float(noise)
        self.resolution = (xmax - xmin) / (num_points - 1)
        self.y_true = np.cos(x)
        # the same generator, having drawn the noise, goes on to pick the windows
        super().__init__(self.y_true + rng.standard_normal(num_points) * self.noise, x,
                         seed=rng)


class EchoData:
    """The delayed echo, a task of memory alone: the input is white noise, uniform on
    [-1, 1], and the target at step t is the input at step t - delay. To answer, a
    network must hold the last `delay` inputs in its hidden state.

    The noise u (float64, shape (num_points,)) is drawn once from `seed`. next_batch(steps)
    hands out a random window as the other data classes do, so that rnn_cos.train and
    each cell's lossFun train on it unchanged: inputs = u[s : s+steps] and targets[t] =
    inputs[t - delay] for t >= delay. The targets of the first `delay` steps would be
    inputs from before the window, which a network started from h = 0 cannot know;
    they are 0, the input's mean and so the best guess for a value never seen. Only
    the steps t >= delay are scored (memory_span.py).

    y_data is u (train() compares its loss with the mean square of y_data, 1/3).
    """

    def __init__(self, num_points, delay, seed=None):
        if isinstance(delay, bool) or not isinstance(delay, (int, np.integer)) or delay < 0:
            raise ValueError(f"delay must be an integer >= 0, got {delay!r}")
        if isinstance(num_points, bool) or not isinstance(num_points, (int, np.integer)) \
                or num_points < delay + 2:
            raise ValueError(f"need num_points >= delay + 2 = {delay + 2}, got {num_points!r}")
        self.rng = np.random.default_rng(seed)
        self.delay, self.num_points = int(delay), int(num_points)
        self.y_data = self.rng.uniform(-1.0, 1.0, self.num_points)

    def next_batch(self, steps):
        """A random window: inputs (steps,), and targets (steps,) with targets[t] =
        inputs[t - delay] for t >= delay and 0 before."""
        check_steps(steps, self.num_points)
        return self.batch_at(self.rng.integers(0, self.num_points - steps + 1), steps)

    def batch_at(self, start, steps):
        """The window of `steps` inputs from u[start], with its targets."""
        inputs = self.y_data[start:start + steps]
        if len(inputs) != steps or start < 0:
            raise ValueError(f"no window of {steps} steps starts at {start} in "
                             f"{self.num_points} points")
        targets = np.zeros(steps)
        targets[self.delay:] = inputs[:steps - self.delay]
        return inputs, targets


def check_steps(steps, num_points):
    """Raise ValueError unless 1 <= steps and steps + 1 <= num_points."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise ValueError(f"steps must be an integer, got {steps!r}")
    if not 1 <= steps <= num_points - 1:
        raise ValueError(f"steps must be between 1 and {num_points - 1} "
                         f"(num_points - 1) for {num_points} points, got {steps}")


# ---------------------------------------------------------------------------------------
# the clean cosines a trained network is tested on, sampled every `resolution` like the
# training data but half a step off its grid: the training cosine has x = 0, r, 2r, ...
# and the test cosines x = r/2, 3r/2, ..., so no test value is a training value.
WARMUP = 10          # test steps left out of the test MSE while h settles from h_0 = 0
VALIDATION_OFFSET = 0.25   # the validation cosine: x = r/4, 5r/4, ... (the test's: r/2, ...)
TEST_PERIODS = 4     # length of the clean test cosine, in periods of cos(x)
FORECAST_SEED = 40   # clean values the forecast starts from
FORECAST_PERIODS = 3 # how far the forecast runs on its own predictions
# the coarsest sampling step that leaves the test cosine more than WARMUP + 1 steps
MAX_RESOLUTION = TEST_PERIODS * 2 * np.pi / (WARMUP + 2)


def test_cosine(resolution, offset=0.5):
    """A smooth, noise-free cosine over TEST_PERIODS periods, off the training grid by
    `offset` steps: returns x (N+1,), inputs cos(x[:-1]) and targets cos(x[1:]), each
    (N,)."""
    n = int(round(TEST_PERIODS * 2 * np.pi / resolution))
    x = (np.arange(n + 1) + offset) * resolution
    y = np.cos(x)
    return x, y[:-1], y[1:]


def validation_cosine(resolution):
    """The cosine on which choices (a learning rate) are made, never the test one: the
    same length, a quarter step off the training grid instead of half a step."""
    return test_cosine(resolution, VALIDATION_OFFSET)


def forecast_cosine(resolution):
    """FORECAST_SEED clean values of cos(x) to start a forecast from, off the training
    grid, and the FORECAST_PERIODS periods that follow them: returns x (all of them),
    seed, truth."""
    n_future = int(round(FORECAST_PERIODS * 2 * np.pi / resolution))
    x = (np.arange(FORECAST_SEED + n_future) + 0.5) * resolution
    y = np.cos(x)
    return x, y[:FORECAST_SEED], y[FORECAST_SEED:]


def evaluation_steps(resolution):
    """How many time steps the tests above run, together."""
    return int((TEST_PERIODS + FORECAST_PERIODS) * 2 * np.pi / resolution) + FORECAST_SEED + 2


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
    rows, lines = read_rows(path, ",")      # the rows, and the line each one ends on
    first_row = next((r for r in rows if any(c.strip() for c in r)), [])
    decimal_comma = False
    if len(first_row) == 1 and ";" in first_row[0]:
        # separated by semicolons, as spreadsheets write where the decimal mark is a comma
        rows, lines = read_rows(path, ";")
        decimal_comma = True
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


def read_rows(path, delimiter):
    """Every row of a CSV file, as lists of strings, and the line each one ends on;
    ValueError, naming the file, if it cannot be read."""
    rows, lines = [], []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter)
            for row in reader:
                rows.append(row)
                lines.append(reader.line_num)
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}")
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
