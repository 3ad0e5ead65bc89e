"""The memory tasks: data classes that hand out windows as data.CosineData does, so that
rnn_cos.train and each cell's lossFun train on them unchanged.
"""
import numpy as np

from data import check_steps


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
    the steps t >= delay are scored (lab/memory_span.py).

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
