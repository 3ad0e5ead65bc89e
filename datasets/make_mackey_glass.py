"""Make datasets/mackey_glass.csv: the Mackey-Glass series, a chaotic series that a
linear model cannot predict well and a recurrent network can.

The delay differential equation (Mackey and Glass, 1977)

    dx/dt = beta x(t - tau) / (1 + x(t - tau)^n) - gamma x(t)

with tau = 17, beta = 0.2, gamma = 0.1, n = 10 (the chaotic setting used throughout the
forecasting literature), from the history x(t) = 1.2 for t <= 0. It is integrated with
the classical fourth-order Runge-Kutta method, step 0.1 (tau is 170 steps). A step needs
the delayed value at the step's start, middle and end: the start and the end are points
already computed, and the middle lies halfway between two of them, where the cubic
Hermite interpolant through their values and slopes gives it to fourth order:

    x(t_k + dt/2) = (x_k + x_{k+1}) / 2 + dt / 8 (f_k - f_{k+1}),   f = dx/dt.

The first 1,200 time units are a transient and are left out; then one value every 6
time units, 1,000 values. Run it from the repository's top folder:

    python datasets/make_mackey_glass.py          # writes datasets/mackey_glass.csv

It needs nothing beyond Python itself. tests/test_mackey_glass.py checks the integration
against the same one with half the step, and the shipped file against this script.
"""
import os
import sys
import tempfile

TAU, BETA, GAMMA, N = 17.0, 0.2, 0.1, 10
DT = 0.1             # integration step, in time units
X0 = 1.2             # x(t) for t <= 0
SAMPLE = 6.0         # one value every 6 time units
TRANSIENT = 1200.0   # time units left out at the start
VALUES = 1000


def mackey_glass(t_end, dt=DT, tau=TAU, beta=BETA, gamma=GAMMA, n=N, x0=X0):
    """x(k dt) for k = 0..round(t_end / dt), as a list of floats. tau must be a whole
    number of steps."""
    lag = round(tau / dt)
    if abs(lag * dt - tau) > 1e-9 * tau:
        raise ValueError(f"tau = {tau} is not a whole number of steps of {dt}")

    def f(x, delayed):
        return beta * delayed / (1.0 + delayed ** n) - gamma * x

    steps = round(t_end / dt)
    x = [x0] * (steps + 1)              # x[k] = x(k dt)
    slope = [0.0] * (steps + 1)         # slope[k] = dx/dt at k dt
    slope[0] = f(x0, x0)
    for k in range(steps):
        if k - lag >= 0:                # the delayed values: start, middle, end of the step
            a, b = x[k - lag], x[k - lag + 1]
            mid = 0.5 * (a + b) + dt / 8 * (slope[k - lag] - slope[k - lag + 1])
        else:                           # still inside the constant history (t - tau <= 0)
            a = b = mid = x0
        k1 = slope[k]
        k2 = f(x[k] + dt / 2 * k1, mid)
        k3 = f(x[k] + dt / 2 * k2, mid)
        k4 = f(x[k] + dt * k3, b)
        x[k + 1] = x[k] + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        later = x[k + 1 - lag] if k + 1 - lag >= 0 else x0
        slope[k + 1] = f(x[k + 1], later)
    return x


def sampled(dt=DT, values=VALUES, transient=TRANSIENT, sample=SAMPLE):
    """(t, x): the series every `sample` time units after the transient, `values` of
    them, integrated with step dt."""
    every = round(sample / dt)
    first = round(transient / dt)
    x = mackey_glass(transient + sample * (values - 1), dt)
    ks = range(first, first + every * values, every)
    return [k * dt for k in ks], [x[k] for k in ks]


def main(path=os.path.join(os.path.dirname(os.path.abspath(__file__)), "mackey_glass.csv")):
    """Write the series to path, through a temporary file renamed over it: only a
    regular file is ever replaced (a folder, a FIFO, a device or a link is refused in
    one line, before any work)."""
    if os.path.lexists(path) and (os.path.islink(path) or not os.path.isfile(path)):
        sys.stderr.write(f"make_mackey_glass.py: error: {path} is not a regular file; it is "
                         f"left as it is: give another --out\n")
        return 2
    t, x = sampled()
    lines = ["t,x"] + [f"{a:g},{b:.10f}" for a, b in zip(t, x)]
    try:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    except OSError as e:
        sys.stderr.write(f"make_mackey_glass.py: error: cannot write {path}: "
                         f"{e.strerror or e}\n")
        return 1
    print(f"wrote {len(x)} values to {path}")
    return 0


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("--out", default=main.__defaults__[0],
                        help="the CSV file to write (default: datasets/mackey_glass.csv)")
    sys.exit(main(parser.parse_args().out))
