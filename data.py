"""The training data: a noisy cosine, handed out in windows of consecutive points.

    data = CosineData(num_points=1000, xmin=0.0, xmax=500.0)
    inputs, targets = data.next_batch(20)   # 21 consecutive points, shifted by one

`inputs` are the first `steps` values of the window and `targets` the last `steps`, so
`targets[t]` is the value that follows `inputs[t]`: the network learns to predict the
next value of the series from the values before it. Below the data class are the clean
cosines a trained network is tested on.
"""
import numpy as np


class CosineData:
    """y = cos(x) + noise * N(0, 1) on `num_points` evenly spaced x in [xmin, xmax].

    The noise is drawn once, so the noisy data set is fixed for the life of the object;
    `seed` fixes it (and the windows `next_batch` picks) between runs. The object owns
    its random generator and never touches NumPy's global random state.

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
        self.rng = np.random.default_rng(seed)
        self.num_points = int(num_points)
        self.x_data = np.linspace(xmin, xmax, num_points)
        self.resolution = (xmax - xmin) / (num_points - 1)
        self.noise = float(noise)
        self.y_true = np.cos(self.x_data)
        # the same generator, having drawn the noise, goes on to pick the windows
        self.y_data = self.y_true + self.rng.standard_normal(num_points) * self.noise

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
