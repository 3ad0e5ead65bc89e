"""The data: a noisy cosine, handed out in windows of consecutive points.

    data = CosineData(num_points=1000, xmin=0.0, xmax=499.5)
    inputs, targets = data.next_batch(20)   # 21 consecutive points, shifted by one

inputs are the first `steps` values of the window and targets the last `steps`, so
targets[t] is the value that follows inputs[t]. Below the class: the clean cosines a
trained network is tested on.
"""
import numpy as np


class CosineData:
    """y = cos(x) + noise * N(0, 1) at num_points evenly spaced x in [xmin, xmax]. The
    noise is drawn once from `seed`; the same generator then picks the windows. Arrays
    of shape (num_points,): x_data, y_true = cos(x_data), y_data = y_true + noise."""

    def __init__(self, num_points, xmin, xmax, noise=0.05, seed=None):
        if isinstance(num_points, bool) or not isinstance(num_points, (int, np.integer)) \
                or num_points < 2:
            raise ValueError(f"num_points must be an integer >= 2, got {num_points!r}")
        if not (np.isfinite(xmin) and np.isfinite(xmax) and xmax > xmin):
            raise ValueError(f"need finite xmin < xmax, got xmin={xmin!r}, xmax={xmax!r}")
        if not (np.isfinite(noise) and noise >= 0):
            raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
        self.rng = np.random.default_rng(seed)
        self.num_points, self.noise = int(num_points), float(noise)
        self.x_data = np.linspace(xmin, xmax, num_points)
        self.resolution = (xmax - xmin) / (num_points - 1)    # the sampling step
        self.y_true = np.cos(self.x_data)
        self.y_data = self.y_true + self.rng.standard_normal(num_points) * self.noise

    def next_batch(self, steps):
        """A random window of steps + 1 consecutive points: (inputs, targets), each
        (steps,), inputs = y[s : s+steps] and targets = y[s+1 : s+steps+1]."""
        check_steps(steps, self.num_points)
        start = self.rng.integers(0, self.num_points - steps)   # s + steps <= num_points - 1
        return self.batch_at(start, steps)

    def batch_at(self, start, steps):
        """The window of steps + 1 points from y[start], as next_batch hands them out."""
        window = self.y_data[start:start + steps + 1]
        if start < 0 or len(window) != steps + 1:
            raise ValueError(f"no window of {steps} steps starts at {start} in "
                             f"{self.num_points} points")
        return window[:-1], window[1:]


def check_steps(steps, num_points):
    """ValueError unless steps is an integer with 1 <= steps <= num_points - 1."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) \
            or not 1 <= steps <= num_points - 1:
        raise ValueError(f"steps must be an integer between 1 and {num_points - 1} "
                         f"(num_points - 1) for {num_points} points, got {steps!r}")


# ---------------------------------------------------------------------------------------
# the clean cosines a trained network is tested on, sampled every `resolution` like the
# training data (x = 0, r, 2r, ...) but off its grid, so that no test value is a training
# value: the test cosine at x = r/2, 3r/2, ..., the validation cosine at r/4, 5r/4, ...
WARMUP = 10            # test steps left out of the MSE while h settles from h_0 = 0
TEST_PERIODS = 4       # the test and validation cosines' length, in periods of cos(x)
FORECAST_SEED = 40     # true values a forecast starts from ...
FORECAST_PERIODS = 3   # ... before it runs on its own for this many periods
MAX_RESOLUTION = TEST_PERIODS * 2 * np.pi / (WARMUP + 2)   # more than WARMUP + 1 test steps


def test_cosine(resolution, offset=0.5):
    """cos(x) over TEST_PERIODS periods, x = (k + offset) * resolution: returns x (N+1,),
    inputs = cos(x[:-1]) and targets = cos(x[1:]), each (N,)."""
    n = int(round(TEST_PERIODS * 2 * np.pi / resolution))
    x = (np.arange(n + 1) + offset) * resolution
    return x, np.cos(x[:-1]), np.cos(x[1:])


def validation_cosine(resolution):
    """Where choices (a learning rate) are made, never on the test cosine: a quarter
    step off the training grid instead of half a step."""
    return test_cosine(resolution, offset=0.25)


def forecast_cosine(resolution):
    """FORECAST_SEED values of cos(x) off the training grid and the FORECAST_PERIODS
    periods that follow them: returns x (all of them), seed, truth."""
    n_future = int(round(FORECAST_PERIODS * 2 * np.pi / resolution))
    x = (np.arange(FORECAST_SEED + n_future) + 0.5) * resolution
    return x, np.cos(x[:FORECAST_SEED]), np.cos(x[FORECAST_SEED:])
