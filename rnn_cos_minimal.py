"""The article's program in one file: min-char-rnn changed from characters to regression.

A vanilla recurrent network reads a noisy cosine one value at a time and learns to
predict the next value. One float in, H tanh units whose state h is fed back at every
step, one float out; a mean squared error, backpropagation through time, Adagrad.

    python rnn_cos_minimal.py           # 100,000 iterations, about 80 s
    python rnn_cos_minimal.py 3000      # a short run
Needs numpy and matplotlib; ends by writing rnn_cos_minimal.png (the loss, and the
predictions on a smooth cosine). rnn_cos.py is the same method, fast, with more to see.
"""
import sys

import matplotlib
matplotlib.use("Agg")                       # draw to a file, with or without a screen
import matplotlib.pyplot as plt             # noqa: E402
import numpy as np                          # noqa: E402


# data: cos(x) plus normal noise times 0.05, handed out in windows of consecutive points
class CosineData:
    def __init__(self, num_points, xmin, xmax, noise=0.05, seed=0):
        self.rng = np.random.default_rng(seed)
        self.x_data = np.linspace(xmin, xmax, num_points)
        self.y_data = np.cos(self.x_data) + noise * self.rng.standard_normal(num_points)

    def next_batch(self, steps):
        """steps + 1 consecutive points from a random start: the first `steps` are the
        inputs, the last `steps` the targets (targets[t] is the value after inputs[t])."""
        start = self.rng.integers(0, len(self.y_data) - steps)
        window = self.y_data[start:start + steps + 1]
        return window[:-1], window[1:]


# hyperparameters
hidden_size = 100      # size of the hidden layer (rnn_cos.py's 32: nearly as good, faster)
seq_length = 20        # time steps per window: how far back BPTT goes
learning_rate = 1e-2   # the article: 1e-3; 1e-2 annealed is better (docs/lr_sweep.md)
anneal = 0.1           # the rate falls to 0 over the last 10% (docs/defaults.md)
resolution = 0.5       # spacing of the x values (the article: 0.01; docs/defaults.md)

# model parameters: min-char-rnn's names, shapes and scale, one float in and one out
rng = np.random.default_rng(0)
Wxh = rng.standard_normal((hidden_size, 1)) * 0.01            # input to hidden
Whh = rng.standard_normal((hidden_size, hidden_size)) * 0.01  # hidden to hidden
Why = rng.standard_normal((1, hidden_size)) * 0.01            # hidden to output
bh = np.zeros((hidden_size, 1))                               # hidden bias
by = np.zeros((1, 1))                                         # output bias


def lossFun(inputs, targets, hprev):
    """inputs, targets: arrays of T floats; hprev: (H,1), the initial hidden state.
    Returns the loss (the mean squared error over the window), the gradients of the
    parameters and the last hidden state."""
    xs, hs, ys = {}, {}, {}
    hs[-1] = np.copy(hprev)
    T = len(inputs)
    loss = 0
    # forward pass
    for t in range(T):
        xs[t] = np.array([[inputs[t]]])                                 # x_t, (1,1)
        hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t - 1]) + bh)  # hidden state
        ys[t] = np.dot(Why, hs[t]) + by                                 # the prediction
        loss += (ys[t][0, 0] - targets[t]) ** 2 / T                     # L = 1/T sum (y - target)^2
    # backward pass: compute gradients going backwards
    dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    dbh, dby = np.zeros_like(bh), np.zeros_like(by)
    dhnext = np.zeros_like(hs[0])
    for t in reversed(range(T)):
        dy = 2 * (ys[t] - targets[t]) / T          # dL/dy_t
        dWhy += np.dot(dy, hs[t].T)
        dby += dy
        dh = np.dot(Why.T, dy) + dhnext            # backprop into h
        dhraw = (1 - hs[t] * hs[t]) * dh           # backprop through tanh nonlinearity
        dbh += dhraw
        dWxh += np.dot(dhraw, xs[t].T)
        dWhh += np.dot(dhraw, hs[t - 1].T)
        dhnext = np.dot(Whh.T, dhraw)
    return loss, dWxh, dWhh, dWhy, dbh, dby, hs[T - 1]


def predict(inputs):
    """One-step predictions: y_t from the true x_1..x_t, from h = 0."""
    h, ys = np.zeros((hidden_size, 1)), []
    for x in inputs:
        h = np.tanh(np.dot(Wxh, [[x]]) + np.dot(Whh, h) + bh)
        ys.append((np.dot(Why, h) + by)[0, 0])
    return np.array(ys)


def train(data, iters):
    """Adagrad on `iters` windows of data; returns the loss of every iteration."""
    mWxh, mWhh, mWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    mbh, mby = np.zeros_like(bh), np.zeros_like(by)  # memory variables for Adagrad
    losses = []
    for n in range(iters):
        inputs, targets = data.next_batch(seq_length)
        # every window from h = 0: better here than carrying hprev on (docs/defaults.md),
        # so the last state lossFun returns, the article's next hprev, goes unused
        hprev = np.zeros((hidden_size, 1))
        loss, dWxh, dWhh, dWhy, dbh, dby, hprev = lossFun(inputs, targets, hprev)
        losses.append(loss)
        if n % (iters // 10 or 1) == 0:
            print(f"iter {n}, loss: {loss:f}")
        lr = learning_rate * min(1.0, (iters - n) / (anneal * iters))
        # perform parameter update with Adagrad
        for param, dparam, mem in zip([Wxh, Whh, Why, bh, by],
                                      [dWxh, dWhh, dWhy, dbh, dby],
                                      [mWxh, mWhh, mWhy, mbh, mby]):
            np.clip(dparam, -5, 5, out=dparam)     # clip to mitigate exploding gradients
            mem += dparam * dparam
            param += -lr * dparam / np.sqrt(mem + 1e-8)  # adagrad update, in place
    return np.array(losses)


if __name__ == "__main__":
    usage = "usage: python rnn_cos_minimal.py [ITERATIONS], a positive whole number"
    if "-h" in sys.argv or "--help" in sys.argv:
        print(usage + "\n\n" + __doc__.strip())
        sys.exit(0)
    if len(sys.argv) > 2 or not all(a.isdigit() and int(a) > 0 for a in sys.argv[1:]):
        sys.exit(f"{usage} (got {' '.join(sys.argv[1:])!r})")
    iters = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    data = CosineData(1000, 0.0, resolution * 999)
    losses = train(data, iters)

    # predictions on a smooth cosine, half a step off the training grid, from h = 0
    x = (np.arange(101) + 0.5) * resolution
    y = np.cos(x)
    pred = predict(y[:-1])
    mse = np.mean((pred[10:] - y[11:]) ** 2)           # after 10 steps of warm-up
    same = np.mean((y[10:-1] - y[11:]) ** 2)
    print(f"one-step test MSE on the clean cosine: {mse:.2e} ('same as last value': {same:.2e})")

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.semilogy(np.convolve(losses, np.ones(100) / 100, "valid"))
    a.axhline(0.05 ** 2, color="0.5", ls="--", label="noise variance")
    a.set(xlabel="iteration", ylabel="training loss (mean of 100 windows)",
          title="the loss falls; each window's first steps, from h = 0, keep it\nabove the noise")
    a.legend(loc="upper right")
    b.plot(x[1:], y[1:], color="0.6", lw=3, label="cos(x)")
    b.plot(x[1:], pred, "C3.", ms=4, label="network, one step ahead")
    b.set(xlabel="x (radians)", ylabel="value", ylim=(-1.6, 1.6),
          title=f"one step ahead on a clean cosine: MSE {mse:.1e}\n(after 10 steps of warm-up)")
    b.legend(loc="lower center", ncol=2)
    fig.tight_layout()
    fig.savefig("rnn_cos_minimal.png", dpi=80)
    print("wrote rnn_cos_minimal.png")
