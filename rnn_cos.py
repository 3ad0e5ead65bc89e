"""A vanilla recurrent neural network, in plain NumPy, that learns to predict the next
value of a noisy cosine from the values before it.

This is Karpathy's min-char-rnn changed from characters to regression: one float in,
one hidden layer of H tanh units whose state h (the network's "memory") is fed back
at every step, one float out, a mean squared error, backpropagation through time and
Adagrad. Run it:

    python rnn_cos.py            # trains, evaluates, forecasts, writes results/
    python rnn_cos.py --help     # every option

The file reads top to bottom: defaults, parameters, the forward pass, lossFun
(forward, loss and backward), prediction, forecasting and the gradient that vanishes
(hidden_gradients), then the script. The
training loop, Adagrad, the command line and saving are shared with the LSTM and GRU
scripts and live in training.py.
"""
import numpy as np

# ---------------------------------------------------------------------------------------
# defaults (each one can be changed on the command line: python rnn_cos.py --help)
DEFAULTS = dict(
    iters=100_000,       # training iterations, one window of `steps` points each
    steps=20,            # T, time steps per window = how far back BPTT goes
    hidden=32,           # H, size of the hidden state h
    lr=0.01,             # Adagrad learning rate (the article used 0.001, see README)
    noise=0.05,          # standard deviation of the noise added to cos(x)
    resolution=0.5,      # spacing of the x values, the sampling step of the cosine
    points=1000,         # number of points in the noisy training cosine
    seed=0,              # seeds the data, the windows and the initial weights
    carry_hprev=False,   # carry h from one window to the next instead of starting at 0
    out="results",       # folder the results are written to
)
EPILOG = ("The article's original setting: python rnn_cos.py --lr 0.001 --resolution 0.01 "
          "--points 5000 --hidden 100 --carry-hprev --out results/article")
NAME = "rnn_cos"         # the saved parameters go to <out>/rnn_cos.npz
PARAM_NAMES = ("Wxh", "Whh", "Why", "bh", "by")


# ---------------------------------------------------------------------------------------
# parameters
def init_params(hidden_size, rng):
    """Small random weights and zero biases, with min-char-rnn's names and shapes.

    Wxh (H,1) input to hidden, Whh (H,H) hidden to hidden, Why (1,H) hidden to output,
    bh (H,1) hidden bias, by (1,1) output bias.
    """
    H = hidden_size
    return dict(
        Wxh=rng.standard_normal((H, 1)) * 0.01,
        Whh=rng.standard_normal((H, H)) * 0.01,
        Why=rng.standard_normal((1, H)) * 0.01,
        bh=np.zeros((H, 1)),
        by=np.zeros((1, 1)),
    )


def init_state(hidden_size):
    """The hidden state before the first step: h_0 = 0, shape (H,1)."""
    return np.zeros((hidden_size, 1))


# ---------------------------------------------------------------------------------------
# forward pass, loss and backpropagation through time
def forward(params, inputs, hprev):
    """Run the network over inputs x_1..x_T (shape (T,)) from h_0 = hprev (H,1).

    Returns hs, shape (T+1, H), with hs[t] = h_t as a row (hs[0] = h_0), and the
    outputs ys, shape (T,), with ys[t-1] = y_t.
    """
    Wxh, Whh, Why, bh, by = (params[k] for k in PARAM_NAMES)
    x = np.asarray(inputs, dtype=float)
    T, H = len(x), Whh.shape[0]
    # h_t = tanh(Wxh x_t + Whh h_{t-1} + bh). The input term Wxh x_t + bh does not depend
    # on h, so it is computed for every t at once (row t-1 of xh); only Whh h_{t-1} and
    # the tanh have to wait for the previous step.
    xh = x[:, None] * Wxh[:, 0] + bh[:, 0]              # (T, H)
    hs = np.empty((T + 1, H))
    hs[0] = hprev[:, 0]
    for t in range(1, T + 1):
        np.tanh(xh[t - 1] + Whh.dot(hs[t - 1]), out=hs[t])  # hidden state h_t
    ys = hs[1:] @ Why[0] + by[0, 0]                      # y_t = Why h_t + by, every t
    return hs, ys


def lossFun(params, inputs, targets, hprev):
    """Forward pass, mean squared error and backpropagation through time.

    inputs, targets: shape (T,); targets[t] is the value that follows inputs[t].
    hprev: (H,1), the hidden state before the first input.
    Returns (loss, grads, h_last): loss = 1/T sum_t (y_t - target_t)^2 as a float; grads,
    a dict with the keys and shapes of params (not clipped); h_last = h_T, shape (H,1).
    """
    Whh, Why = params["Whh"], params["Why"]
    x = np.asarray(inputs, dtype=float)
    T = len(x)
    hs, ys = forward(params, x, hprev)
    err = ys - targets
    loss = float(err @ err) / T                          # L = 1/T sum_t (y_t - target_t)^2

    # backward pass: the same steps in reverse
    dy = 2.0 * err / T                                   # dL/dy_t
    dWhy = (dy @ hs[1:])[None, :]                        # sum_t dy_t h_t^T       (1,H)
    dby = np.array([[dy.sum()]])                         # sum_t dy_t             (1,1)
    dh_y = dy[:, None] * Why[0]                          # row t-1: Why^T dy_t, into h_t
    dtanh = 1.0 - hs[1:] ** 2                            # tanh'(a_t) = 1 - h_t^2
    dhraw = np.empty_like(dh_y)                          # row t-1: dL/da_t, a_t the pre-activation
    dhnext = np.zeros(Whh.shape[0])                      # dL/dh_t through h_{t+1}
    for t in range(T, 0, -1):
        dh = dh_y[t - 1] + dhnext                        # backprop into h_t: from y_t and h_{t+1}
        dhraw[t - 1] = dtanh[t - 1] * dh                 # backprop through tanh nonlinearity
        dhnext = Whh.T.dot(dhraw[t - 1])                 # backprop into h_{t-1}: Whh^T dhraw_t
    # the weight gradients are sums over t; each is one matrix product after the loop
    dWxh = (dhraw.T @ x)[:, None]                        # sum_t dhraw_t x_t           (H,1)
    dWhh = dhraw.T @ hs[:-1]                             # sum_t dhraw_t h_{t-1}^T     (H,H)
    dbh = dhraw.sum(axis=0)[:, None]                     # sum_t dhraw_t               (H,1)
    grads = dict(Wxh=dWxh, Whh=dWhh, Why=dWhy, bh=dbh, by=dby)
    return loss, grads, hs[-1][:, None].copy()


# ---------------------------------------------------------------------------------------
# using the trained network
def predict(params, inputs, h0=None):
    """One-step predictions: y_t from the true x_1..x_t (teacher forcing), from h0
    (zeros when None). inputs shape (T,); returns shape (T,)."""
    if h0 is None:
        h0 = init_state(params["Whh"].shape[0])
    return forward(params, inputs, h0)[1]


def forecast(params, seed_values, n_future):
    """Warm up h from zeros on the seed values, then feed each prediction back in as the
    next input: returns the n_future predicted values, shape (n_future,)."""
    Wxh, Whh, Why, bh, by = (params[k] for k in PARAM_NAMES)
    hs, ys = forward(params, seed_values, init_state(Whh.shape[0]))
    # With its output fed back, x_{t+1} = y_t = Why h_t + by, the network runs on its own:
    #   h_{t+1} = tanh(Wxh (Why h_t + by) + Whh h_t + bh) = tanh(M h_t + b)
    # with M = Whh + Wxh Why and b = bh + Wxh by: a recurrent network with no input.
    M = Whh + Wxh @ Why
    b = (bh + Wxh @ by)[:, 0]
    h = np.empty((n_future, Whh.shape[0]))
    h[0] = hs[-1]                                    # h after the last seed value
    for t in range(1, n_future):
        np.tanh(M.dot(h[t - 1]) + b, out=h[t])
    return h @ Why[0] + by[0, 0]                     # y_t = Why h_t + by, the forecasts


def hidden_gradients(params, inputs, target):
    """||dL/dh_{T-k}|| for k = 0..T-1, where L = (y_T - target)^2 is the loss of the last
    step alone, after running over inputs (T,) from zeros. Shape (T,).

    Each step back multiplies the gradient by Whh^T diag(1 - h_t^2): unless Whh is large
    enough to make up for the tanh's slope, which is at most 1, the product shrinks
    geometrically. That is the vanishing gradient."""
    Whh, Why = params["Whh"], params["Why"]
    hs, ys = forward(params, inputs, init_state(Whh.shape[0]))
    dh = 2.0 * (ys[-1] - target) * Why[0]                # dL/dh_T
    norms = np.empty(len(hs) - 1)
    for k, t in enumerate(range(len(hs) - 1, 0, -1)):
        norms[k] = np.linalg.norm(dh)                    # ||dL/dh_t||, t = T - k
        dh = Whh.T.dot((1.0 - hs[t] ** 2) * dh)          # dL/dh_{t-1}
    return norms


# ---------------------------------------------------------------------------------------
# the script: command line, training loop, evaluation, saving and plots (training.py)
if __name__ == "__main__":
    import sys
    import training
    sys.exit(training.main(sys.modules[__name__]))
