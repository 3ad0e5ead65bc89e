"""What a trained network has learned, measured: the network running on its own (its
output fed back as its next input) is a dynamical system, and its oscillation has a
period and an amplitude that can be compared with the cosine's.
"""
import numpy as np

TRANSIENT = 2000     # free-running steps left to settle before measuring (at least) ...
MEASURED = 2000      # ... and steps measured after them (at least)
MIN_PERIODS = 20     # (each at least this many periods of the true cosine)


def free_run_steps(resolution):
    """How many steps learned_period runs the network on its own: (transient, measured)."""
    periods = int(np.ceil(MIN_PERIODS * 2 * np.pi / resolution))
    return max(TRANSIENT, periods), max(MEASURED, periods)


def period(y):
    """The period, in steps, of a sampled oscillation y (T,): the mean time between its
    upward crossings of its own mean level, each crossing placed by linear interpolation
    between the two samples around it. NaN when y crosses fewer than twice or hardly
    moves (a fixed point, not an oscillation)."""
    y = np.asarray(y, dtype=float)
    if len(y) < 3 or not np.all(np.isfinite(y)):
        return float("nan")
    level = y.mean()
    if y.max() - y.min() <= 1e-9 * max(1.0, abs(level)):
        return float("nan")
    d = y - level
    up = np.flatnonzero((d[:-1] < 0) & (d[1:] >= 0))   # d crosses 0 between up and up + 1
    if len(up) < 2:
        return float("nan")
    crossings = up + d[up] / (d[up] - d[up + 1])        # where the line through them hits 0
    return float((crossings[-1] - crossings[0]) / (len(crossings) - 1))


def learned_oscillation(model, params, seed_values, resolution):
    """Let the network run on its own from seed_values for a long transient, then measure
    the period (in steps) and the amplitude (max - min) of its output. Returns
    (period, amplitude, y), y the measured stretch."""
    transient, measured = free_run_steps(resolution)
    y = model.forecast(params, seed_values, transient + measured)[transient:]
    amplitude = float(y.max() - y.min()) if np.all(np.isfinite(y)) else float("nan")
    return period(y), amplitude, y
