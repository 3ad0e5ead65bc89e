"""What a run will cost, estimated from its options before anything is allocated, so that
a run too big for this machine is refused in one line instead of failing, or swapping,
part of the way through.
"""
import os

import numpy as np

import data
from lab import analysis

WEIGHT_COPIES = 40   # the weights, their gradients, Adagrad's memory, temporaries, snapshots
CSV_COPIES = 240     # in the CSV mode, one run's weights checked about 115 times, and a few
                     # copies (the best, the last, the snapshots) of each of up to four runs
STEP_ARRAYS = 32     # arrays of one row per time step and H columns, in lossFun and after
BYTES_PER_ITER = 64  # the loss of every iteration, its copies and its moving average
BYTES_PER_POINT = 48 # x, cos(x), the noise, the data, and temporaries
FUTURES = 500        # the CSV mode's simulated futures for the 80% interval (--ahead)
FUTURE_COPIES = 4    # the futures, their noise, the values read, the percentiles


def param_count(model, hidden_size):
    """How many numbers model.init_params(hidden_size) holds, without making them: every
    cell's weights are a quadratic in H (H x H matrices, H-vectors, a few numbers), so
    counting them at H = 1, 2, 3 fixes the count at any H."""
    counts = [sum(w.size for w in model.init_params(h, np.random.default_rng(0)).values())
              for h in (1, 2, 3)]
    a = (counts[2] - 2 * counts[1] + counts[0]) // 2       # second difference / 2
    b = counts[1] - counts[0] - 3 * a
    c = counts[0] - a - b
    H = hidden_size
    return a * H * H + b * H + c


def memory_needed(model, args, csv=False, hidden=None):
    """A rough upper estimate of the bytes each option makes the run hold at its peak:
    {option: bytes}. csv: the CSV mode (several networks, no cosine); hidden: the
    largest hidden size the run trains (by default args.hidden)."""
    H = hidden or args.hidden
    copies = WEIGHT_COPIES + (CSV_COPIES if csv else 0)
    need = {"--hidden": 8 * copies * param_count(model, H),
            "--steps": 8 * STEP_ARRAYS * (args.steps + 1) * H,
            "--iters": BYTES_PER_ITER * args.iters}
    if csv and getattr(args, "ahead", None):
        need["--ahead"] = 8 * FUTURE_COPIES * FUTURES * args.ahead
    if not csv:                            # the cosine: the test, forecast and free runs
        need["--points"] = BYTES_PER_POINT * args.points
        periods = data.TEST_PERIODS + data.FORECAST_PERIODS
        steps = int(periods * 2 * np.pi / args.resolution) + data.FORECAST_SEED + sum(
            analysis.free_run_steps(args.resolution))
        need["--resolution"] = 8 * STEP_ARRAYS * H * steps
    return need


def memory_available():
    """Bytes of memory this machine has free for a new process (None if unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def memory_problem(model, args, csv=False, hidden=None):
    """A message naming the option that makes the run too big to fit, or None."""
    need = memory_needed(model, args, csv, hidden)
    total, available = sum(need.values()), memory_available()
    if available is None or total <= available:
        return None
    option = max(need, key=need.get)
    value = getattr(args, option[2:])
    return (f"argument {option}: a run with {option} {value} needs about "
            f"{size(total)} of memory, and this machine has {size(available)} available")


def size(n):
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000


def benchmark_problem(model, steps, hidden, points=1000):
    """Why a benchmark of model's cell (the largest it times) with these sizes cannot run:
    a window longer than its data of `points` points, or weights too big for this
    machine's memory (hidden: one size or several). None if it can."""
    if steps >= points:
        return f"argument --steps: at most {points - 1} (the data has {points:,} points), got {steps}"
    for H in np.atleast_1d(hidden):
        need = 8 * WEIGHT_COPIES * param_count(model, int(H))
        if need > (memory_available() or float("inf")):
            return f"argument --hidden: {H} needs about {size(need)} of memory"
    return None
