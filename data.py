"""The training data: a noisy cosine, handed out in windows of consecutive points.

    data = CosineData(num_points=1000, xmin=0.0, xmax=200.0)
    inputs, targets = data.next_batch(20)   # 21 consecutive points, shifted by one

`inputs` are the first `steps` values of the window and `targets` the last `steps`, so
`targets[t]` is the value that follows `inputs[t]`: the network learns to predict the
next value of the series from the values before it.
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
        self.num_points = int(num_points)
        self.noise = float(noise)
        self.rng = np.random.default_rng(seed)
        self.x_data = np.linspace(xmin, xmax, self.num_points)
        self.resolution = (xmax - xmin) / (self.num_points - 1)
        self.y_true = np.cos(self.x_data)
        self.y_data = self.y_true + self.rng.standard_normal(self.num_points) * self.noise

    def next_batch(self, steps, return_x=False):
        """A random window of steps + 1 consecutive points.

        Returns inputs = y[s : s+steps] and targets = y[s+1 : s+steps+1], each of shape
        (steps,), and with return_x=True also x = x_data[s : s+steps+1], shape (steps+1,).
        """
        check_steps(steps, self.num_points)
        start = self.rng.integers(0, self.num_points - steps)  # s + steps <= num_points - 1
        window = self.y_data[start:start + steps + 1]
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
