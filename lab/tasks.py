"""The memory tasks: data classes that hand out windows as data.CosineData does, so that
rnn_cos.train (the tutorial's loop) and each cell's lossFun train on them unchanged.
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


class LatchData:
    """One fact, far back (Bengio, Simard and Frasconi's latch, 1994): a value v, uniform
    on [-1, 1], at the first step of a sequence, then `gap` steps of distractors on the
    same input (zeros, or noise: normal with standard deviation NOISE), and the answer,
    v, asked at the last step only. A sequence is gap + 1 steps: next_batch(gap + 1)
    hands out a new one, its targets NaN where nothing is asked (AskedOnly below trains
    on it). y_data is a sample of the values, for train()'s scale of the loss."""

    NOISE = 0.2

    def __init__(self, gap, noise=False, seed=None):
        if isinstance(gap, bool) or not isinstance(gap, (int, np.integer)) or gap < 1:
            raise ValueError(f"gap must be an integer >= 1, got {gap!r}")
        self.gap, self.noise = int(gap), bool(noise)
        self.rng = np.random.default_rng(seed)
        self.y_data = np.random.default_rng(0).uniform(-1.0, 1.0, 1000)
        self.num_points = self.gap + 2                 # windows of gap + 1 steps fit

    def next_batch(self, steps):
        """A new sequence: inputs (gap + 1,) and targets (gap + 1,), NaN but the last."""
        if steps != self.gap + 1:
            raise ValueError(f"a latch sequence is gap + 1 = {self.gap + 1} steps, got {steps}")
        inputs, targets = self.sequences(1)
        return inputs[0], targets[0]

    def sequences(self, n):
        """n sequences at once: inputs and targets, each (n, gap + 1)."""
        inputs = np.zeros((n, self.gap + 1))
        inputs[:, 0] = v = self.rng.uniform(-1.0, 1.0, n)      # the fact, at the start
        if self.noise:
            inputs[:, 1:] = self.rng.normal(0.0, self.NOISE, (n, self.gap))
        targets = np.full((n, self.gap + 1), np.nan)            # nothing asked ...
        targets[:, -1] = v                                      # ... but at the end
        return inputs, targets


class RecallData:
    """Keep the value of the last marker, for up to `longest` steps. The input is
    a stream of noise, uniform on [-1/4, 1/4]; at random times comes a marker, an input out
    of the noise's range that carries a value v: MARKER + v, v uniform on [-1/2, 1/2]
    (so the marker lies in [1.5, 2.5]). From the marker until the next one, the target
    at every step is the value v kept last. The gaps between markers are uniform on
    longest // 4 + 1 .. longest steps: with a longest gap of 200, always more than 50,
    so a window of the last 50 inputs or fewer holds no marker most of the time, and
    whatever its model, it cannot know the value then; a window of `longest` inputs
    always holds the last marker, and a rule that finds it answers exactly.

    y_data (num_points,) is the input stream, targets the target stream (NaN before
    the first marker: nothing is asked), since the steps since the last marker (-1
    before it), interval the number of that marker (-1 before the first).
    next_batch and batch_at hand out windows as EchoData's."""

    MARKER = 2.0
    NOISE = 0.25

    def __init__(self, num_points, longest, seed=None):
        if isinstance(longest, bool) or not isinstance(longest, (int, np.integer)) \
                or longest < 4:
            raise ValueError(f"the longest gap must be an integer >= 4, got {longest!r}")
        self.rng = np.random.default_rng(seed)
        self.longest, self.num_points = int(longest), int(num_points)
        n = self.num_points
        x = self.rng.uniform(-self.NOISE, self.NOISE, n)
        targets, since, interval = np.full(n, np.nan), np.full(n, -1), np.full(n, -1)
        m, k = int(self.rng.integers(0, self.longest)), 0    # the first marker
        while m < n:
            v = self.rng.uniform(-0.5, 0.5)
            x[m] = self.MARKER + v
            gap = int(self.rng.integers(self.longest // 4 + 1, self.longest + 1))
            end = min(m + gap, n)                      # kept until the next marker
            targets[m:end] = v
            since[m:end] = np.arange(end - m)
            interval[m:end] = k
            m, k = m + gap, k + 1
        self.y_data, self.targets, self.since, self.interval = x, targets, since, interval

    def next_batch(self, steps):
        check_steps(steps, self.num_points)
        return self.batch_at(self.rng.integers(0, self.num_points - steps + 1), steps)

    def batch_at(self, start, steps):
        if start < 0 or start + steps > self.num_points:
            raise ValueError(f"no window of {steps} steps starts at {start} in "
                             f"{self.num_points} points")
        return self.y_data[start:start + steps], self.targets[start:start + steps]


class AskedOnly:
    """A cell whose loss counts only the steps where an answer is asked (a target that
    is not NaN), with the cell's own lossFun unchanged: each step where nothing is
    asked is given the network's own output as its target, so that its error, and so
    every gradient that flows from it, is zero. The loss is rescaled to the mean over
    the asked steps (the gradients are left as they are: Adagrad does not see their
    scale). It costs one more forward pass a window. Everything else is the cell's."""

    def __init__(self, model):
        self.model = model

    def __getattr__(self, name):
        return getattr(self.model, name)

    def lossFun(self, params, inputs, targets, state):
        asked = np.isfinite(targets)
        if not asked.all():
            own = self.model.forward(params, inputs, state)[-1]    # the outputs y_t
            targets = np.where(asked, targets, own)
        loss, grads, state = self.model.lossFun(params, inputs, targets, state)
        return loss * len(asked) / max(int(asked.sum()), 1), grads, state


# ---------------------------------------------------------------------------------------
# the initialisations the literature uses to let memory through
def init(model, hidden, rng, how="default"):
    """The cell's initial weights, as its init_params makes them ("default": for the
    plain RNN min-char-rnn's, every weight N(0, 0.01^2), a spectral radius near 0.06;
    for the LSTM a forget bias of 1), or:
    "orthogonal" Whh a random orthogonal matrix (the plain RNN; Saxe, McClelland and
                Ganguli 2014; Keras's default for recurrent weights): every singular
                value 1, so a linear step keeps the state's length;
    "pytorch"   every weight and bias uniform on [-1/sqrt(H), 1/sqrt(H)] (the plain
                RNN; PyTorch's nn.RNN default);
    "identity"  Whh = I (a plain RNN; Le, Jaitly and Hinton 2015): each unit starts by
                keeping its value;
    "biasB"     the LSTM's forget-gate bias at B instead of 1 (Gers, Schmidhuber and
                Cummins 2000; Jozefowicz, Zaremba and Sutskever 2015): f = sigmoid(B)
                starts near 1 (0.95 at 3, 0.998 at 6), so the cell state is kept;
    "chronoT"   the LSTM's chrono initialisation (Tallec and Ollivier 2018) for memories
                of up to T steps: each unit's forget bias log(u), u uniform on [1, T - 1],
                and its input bias the opposite, so that C is an average of the
                candidates over about u steps and stays bounded;
    "noforget"  the LSTM of 1997, without a forget gate: f = 1 at every step (its bias
                50, its weights 0: sigmoid(50) is 1 in float64, and its gradient 0, so
                it stays so), C_t = C_{t-1} + i_t C~_t."""
    params = model.init_params(hidden, rng)
    if how == "identity":
        params["Whh"] = np.eye(hidden)
    elif how == "orthogonal":
        q, r = np.linalg.qr(rng.standard_normal((hidden, hidden)))
        params["Whh"] = q * np.sign(np.diag(r))           # uniform over the orthogonal
    elif how == "pytorch":
        k = 1 / np.sqrt(hidden)
        params = {n: rng.uniform(-k, k, w.shape) for n, w in params.items()}
    elif how == "noforget":
        params["Wf"][:] = 0.0
        params["bf"][:] = 50.0
    elif how.startswith("bias"):
        params["bf"][:] = float(how[4:])
    elif how.startswith("chrono"):
        T = float(how[6:])
        params["bf"][:] = np.log(rng.uniform(1.0, T - 1.0, (hidden, 1)))
        params["bi"][:] = -params["bf"]
    elif how != "default":
        raise ValueError(f"unknown initialisation {how!r}")
    return params
