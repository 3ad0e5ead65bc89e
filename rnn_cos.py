"""A vanilla recurrent neural network, in plain NumPy, that learns to predict the next
value of a noisy cosine from the values before it.

This is Karpathy's min-char-rnn changed from characters to regression: one float in,
one hidden layer of H tanh units whose state h (the network's "memory") is fed back
at every step, one float out, a mean squared error, backpropagation through time and
Adagrad. The article's program in its own form, in one short file, is
rnn_cos_minimal.py; this is the same method, fast, with the default run. Run it:

    python rnn_cos.py            # trains, evaluates, forecasts, writes results/
    python rnn_cos.py --help     # every option

The file reads top to bottom in the article's order: the defaults, the data, the
parameters, lossFun (the forward pass, the loss and backpropagation through time),
Adagrad and the training loop, then the trained network at work (one-step predictions,
the forecast, the gradient that vanishes) and the script that ties them together. The
plumbing (checking the command line, the progress line, Ctrl-C, saving) and the
analysis are in the package lab/; nothing of the method is there.
"""
import sys

import numpy as np

from data import (FORECAST_PERIODS, WARMUP, CosineData, forecast_cosine, test_cosine,
                  validation_cosine)
from lab import analysis, linear, plumbing      # the linear model, the analysis, the plumbing

# ---------------------------------------------------------------------------------------
# defaults (each one can be changed on the command line: python rnn_cos.py --help)
DEFAULTS = dict(
    iters=100_000,       # training iterations, one window of `steps` points each
    steps=20,            # T, time steps per window = how far back BPTT goes
    hidden=32,           # H, size of the hidden state h
    lr=0.01,             # Adagrad learning rate: the best of a sweep (docs/lr_sweep.md)
    anneal=0.1,          # the learning rate falls linearly to 0 over this last part of the run
    noise=0.05,          # standard deviation of the noise added to cos(x)
    resolution=0.5,      # spacing of the x values, the sampling step of the cosine
    points=1000,         # number of points in the noisy training cosine
    seed=0,              # seeds the data, the windows and the initial weights
    hprev="reset",       # where each window's h starts: reset, carry or sequential
    out="results",       # folder the results are written to
)
EPILOG = ("The article's original setting: python rnn_cos.py --lr 0.001 --anneal 0 "
          "--resolution 0.01 --points 5000 --hidden 100 --hprev carry --out results/article")
NAME = "rnn_cos"         # the saved parameters go to <out>/rnn_cos.npz
PARAM_NAMES = ("Wxh", "Whh", "Why", "bh", "by")

# ---------------------------------------------------------------------------------------
# the data: data.CosineData(num_points, xmin, xmax, noise) makes y = cos(x) + noise once;
# its next_batch(steps) hands out a random window of steps + 1 consecutive points:
#     inputs = the first `steps` values, targets = the last `steps` values,
# so that targets[t] is the value that follows inputs[t].


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

    The article's form, with dicts indexed by time and every gradient summed inside
    the loop, is rnn_cos_minimal.lossFun: the same numbers (the tests hold them equal),
    written there step by step and here for speed.

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
# Adagrad and the training loop (the LSTM and GRU scripts train with this loop too)
def train(model, params, data, iters, steps, learning_rate, h0, hprev_mode="reset",
          anneal=0.0, keep=(), progress=None, stop=None, clip=5.0):
    """Train params (a dict of arrays, updated in place) with Adagrad on windows of data,
    each window through model.lossFun (this file's, or a gated cell's).

    Each iteration takes a window of steps + 1 points, runs lossFun on it from the state
    hprev and makes one Adagrad step. hprev_mode says where each window's state starts
    (see windows below): 'reset' from h0 (zeros), 'carry' from where the previous random
    window ended (the article), 'sequential' as in min-char-rnn.
    anneal: over this last fraction of the iterations the learning rate falls linearly
    towards 0, so that the last noisy windows no longer kick the weights about (0: the
    same learning rate throughout, as in min-char-rnn).
    keep: the iterations after which to keep a copy of the weights (0 is before the
    first step). progress.update(n, losses) is told of every iteration; the loop ends
    early when stop.requested turns true (Ctrl-C). clip: each gradient entry is clipped
    to [-clip, clip], min-char-rnn's guard against exploding gradients (None: not at all).
    Returns (losses, kept): the loss of every iteration done, shape (iterations,), and
    {iteration: a copy of params}. Raises plumbing.Diverged when the loss is NaN,
    infinite, or blown up (plumbing.check_loss).
    """
    progress, stop = progress or plumbing.SILENT, stop or plumbing.SILENT
    mem = {k: np.zeros_like(p) for k, p in params.items()}  # Adagrad memory, one per weight
    zero_loss = float(np.mean(data.y_data ** 2))   # the loss of always predicting 0
    losses, kept, keep = [], {}, set(keep)
    batches, hprev = windows(data, steps, hprev_mode), h0
    with np.errstate(over="ignore", invalid="ignore"):   # an overflow ends in Diverged
        for n in range(iters):
            if stop.requested:                           # Ctrl-C: stop after this iteration
                break
            if n in keep:                                # a snapshot, to watch it learn
                kept[n] = {k: v.copy() for k, v in params.items()}
            inputs, targets, fresh = next(batches)       # fresh: this window starts from h0
            if fresh:
                hprev = h0
            loss, grads, hprev = model.lossFun(params, inputs, targets, hprev)
            plumbing.check_loss(loss, n + 1, zero_loss)  # raises Diverged if it blew up
            losses.append(loss)
            lr = annealed(learning_rate, n, iters, anneal)
            for k in params:                             # Adagrad, one weight array at a time
                dparam = grads[k]                        # clip: against exploding gradients
                if clip:
                    np.clip(dparam, -clip, clip, out=dparam)
                mem[k] += dparam * dparam
                params[k] += -lr * dparam / np.sqrt(mem[k] + 1e-8)  # adagrad update
            progress.update(n + 1, losses)               # the progress line
    if len(losses) in keep:
        kept[len(losses)] = {k: v.copy() for k, v in params.items()}
    progress.finish()
    return np.array(losses, dtype=float), kept


def windows(data, steps, hprev_mode):
    """The training windows, one per iteration, as (inputs, targets, fresh), fresh when
    the window's state starts from h0:
        reset       random windows (data.next_batch), each fresh
        carry       random windows, none fresh: each starts where the previous one ended
        sequential  consecutive windows, as in min-char-rnn: p += steps and the state
                    carried on, both back to p = 0 and h0 when the data runs out"""
    p = 0
    while True:
        if hprev_mode != "sequential":
            yield (*data.next_batch(steps), hprev_mode == "reset")
            continue
        fresh = p + steps + 1 > data.num_points         # out of data: back to the start
        if fresh:
            p = 0
        yield (*data.batch_at(p, steps), fresh)
        p += steps


def annealed(learning_rate, n, iters, anneal):
    """The learning rate of iteration n: learning_rate, falling linearly towards 0 over
    the last `anneal` fraction of the iters."""
    if not anneal:
        return learning_rate
    calm = max(1, round(anneal * iters))                # the last `calm` iterations anneal
    return learning_rate * min(1.0, (iters - n) / calm)


# ---------------------------------------------------------------------------------------
# the trained network at work
def predict(params, inputs, h0=None):
    """One-step predictions: y_t from the true x_1..x_t (teacher forcing), from h0
    (zeros when None). inputs shape (T,); returns shape (T,)."""
    if h0 is None:
        h0 = init_state(params["Whh"].shape[0])
    return forward(params, inputs, h0)[1]


def forecast(params, seed_values, n_future, return_states=False):
    """Warm up h from zeros on the seed values, then feed each prediction back in as the
    next input: returns the n_future predicted values, shape (n_future,) (and with
    return_states the hidden states they come from, (n_future, H))."""
    Wxh, Whh, Why, bh, by = (params[k] for k in PARAM_NAMES)
    hs, ys = forward(params, seed_values, init_state(Whh.shape[0]))
    # With its output fed back, x_{t+1} = y_t = Why h_t + by, the network runs on its own:
    #   h_{t+1} = tanh(Wxh (Why h_t + by) + Whh h_t + bh) = tanh(M h_t + b)
    # with M = Whh + Wxh Why and b = bh + Wxh by: a recurrent network with no input.
    M = Whh + Wxh @ Why
    b = (bh + Wxh @ by)[:, 0]
    h = np.empty((n_future, Whh.shape[0]))
    if n_future:
        h[0] = hs[-1]                                # h after the last seed value
    for t in range(1, n_future):
        np.tanh(M.dot(h[t - 1]) + b, out=h[t])
    y = h @ Why[0] + by[0, 0]                        # y_t = Why h_t + by, the forecasts
    return (y, h) if return_states else y


def hidden_gradients(params, inputs, target):
    """dL/dh_{T-k} for k = 0..T-1, as the rows of a (T, H) array, where L = (y_T -
    target)^2 is the loss of the last step alone, after running over inputs (T,) from
    zeros.

    Each step back multiplies the gradient by Whh^T diag(1 - h_t^2): unless Whh is large
    enough to make up for the tanh's slope, which is at most 1, the product shrinks
    geometrically. That is the vanishing gradient."""
    Whh, Why = params["Whh"], params["Why"]
    hs, ys = forward(params, inputs, init_state(Whh.shape[0]))
    dhs = np.empty((len(hs) - 1, Whh.shape[0]))
    dh = 2.0 * (ys[-1] - target) * Why[0]                # dL/dh_T
    for k, t in enumerate(range(len(hs) - 1, 0, -1)):
        dhs[k] = dh                                      # dL/dh_t, t = T - k
        dh = Whh.T.dot((1.0 - hs[t] ** 2) * dh)          # dL/dh_{t-1}
    return dhs


# ---------------------------------------------------------------------------------------
# evaluation on a clean cosine, next to the linear model
def evaluate(model, params, data):
    """How the trained model does on the clean cosines of data.py, sampled like the
    training data (data.resolution): one-step (teacher-forced) predictions from h = 0,
    and their mean squared error after the first WARMUP steps; then a forecast:
    FORECAST_SEED clean values, then FORECAST_PERIODS periods on its own predictions,
    and its RMSE.

    Beside it, on the same steps, the linear model (lab/linear.py): AR(p), p by AIC, fitted
    by least squares on the same noisy training series data.y_data. A sampled cosine
    obeys y[t+1] = 2 cos(r) y[t] - y[t-1], so this model is hard to beat here. Its
    one-step predictions read the p true values before each step (before the test
    cosine's start, the clean cosine continued backwards), its forecast the same seed."""
    r = data.resolution
    x, inputs, targets = test_cosine(r)
    predictions = model.predict(params, inputs)
    mse = float(np.mean((predictions[WARMUP:] - targets[WARMUP:]) ** 2))
    same = float(np.mean((inputs[WARMUP:] - targets[WARMUP:]) ** 2))   # 'same as last value'

    fx, seed, truth = forecast_cosine(r)
    fc = model.forecast(params, seed, len(truth))
    rmse = float(np.sqrt(np.mean((fc - truth) ** 2)))
    # the same one-step measure on the validation cosine, where choices are made
    _, val_inputs, val_targets = validation_cosine(r)
    val_error = model.predict(params, val_inputs)[WARMUP:] - val_targets[WARMUP:]

    p, coef = linear.choose_ar(data.y_data)
    before = np.cos((np.arange(-p, 0) + 0.5) * r)              # the p values before x[0]
    y = np.concatenate([before, inputs, targets[-1:]])         # y[p + t] = inputs[t]
    ar = linear.ar_one_step(coef, y, np.arange(p + 1, len(y)))  # predicts targets[t]
    ar_fc = linear.ar_forecast(coef, seed, len(truth))
    return dict(test_x=x, test_inputs=inputs, test_targets=targets,
                test_predictions=predictions, test_mse=mse, baseline_mse=same, warmup=WARMUP,
                val_mse=float(np.mean(val_error ** 2)),
                forecast_x=fx, forecast_seed=seed, forecast_true=truth, forecast=fc,
                forecast_rmse=rmse, ar_order=p, ar_coef=coef, ar_predictions=ar,
                ar_mse=float(np.mean((ar[WARMUP:] - targets[WARMUP:]) ** 2)),
                ar_forecast=ar_fc, ar_forecast_rmse=float(np.sqrt(np.mean((ar_fc - truth) ** 2))),
                x_label="x (radians)", y_label="value", series="cos(x)")


def summary(r, steps):
    """The lines a run ends with: the network, the linear model and 'same as last value',
    one-step and forecast; and, when the linear model or 'same as last value' wins, that
    it does and why (steps: the window's length)."""
    period = (f"learned period {r['learned_period']:.3f} steps" if np.isfinite(
        r["learned_period"]) else "on its own it does not oscillate")
    ar = f"AR({r['ar_order']})"
    line = (f"one-step test MSE on the clean cosine: network {r['test_mse']:.2e}, linear "
            f"{ar} {r['ar_mse']:.2e}, 'same as last value' {r['baseline_mse']:.2e}  "
            f"forecast RMSE over {FORECAST_PERIODS} periods: network "
            f"{r['forecast_rmse']:.3f}, {ar} {r['ar_forecast_rmse']:.3f}  {period} (true "
            f"{r['true_period']:.3f})")
    if r["ar_mse"] < r["test_mse"] or r["ar_forecast_rmse"] < r["forecast_rmse"]:
        line += (f"\nthe linear {ar} model beats the network on the cosine: a sampled cosine "
                 f"obeys y[t+1] = 2 cos(r) y[t] - y[t-1], a linear recurrence (see the "
                 f"README)")
    period = r["true_period"]                       # 2 pi / the sampling step, in steps
    if r["baseline_mse"] < r["test_mse"] and steps < period / 4:
        line += (f"\n'same as last value' beats the network: a period is {period:,.0f} "
                 f"steps, and a window of {steps} holds {steps / period:.0%} of it, so the "
                 f"next value is nearly the last one and the network never has to learn "
                 f"the curve's shape (a coarser --resolution makes it; docs/defaults.md)")
    elif r["baseline_mse"] < r["test_mse"]:
        line += ("\n'same as last value' beats the network: it has not learned the curve "
                 "yet (more --iters?)")
    return line


def loss_note(noise, position_mse, hprev_mode):
    """Why the training loss stays above the noise variance, in a few words: with
    --hprev reset each window starts from h = 0, and its first steps pay for it
    (position_mse, the MSE at each step of a window)."""
    if hprev_mode != "reset":
        return f"noise variance {noise ** 2:g}"
    return (f"the noise variance, {noise ** 2:g}, is the floor; each window starts from "
            f"h = 0, and its first steps pay for it: MSE {position_mse[0]:.3g} at step 1, "
            f"{position_mse[-1]:.3g} at step {len(position_mse)} (loss.png)")


def snapshot_iterations(iters):
    """About a dozen iterations, spaced about evenly on a log scale, at which to keep the
    weights to watch the network learn: 0, 50, 100, 200, 500, 1,000, ... and iters."""
    marks = [0] + [m * 10 ** e for e in range(1, 12) for m in (5, 10, 20)]
    return sorted({m for m in marks if m < iters} | {iters})


# ---------------------------------------------------------------------------------------
# the script: the data, the parameters, the training loop, evaluation, saving, figures
def main(model=None, argv=None):
    """python rnn_cos.py [options]; the LSTM and GRU scripts call it with their own cell
    as `model` (a module with this file's NAME, DEFAULTS, init_params, init_state,
    lossFun, predict and forecast). Returns the exit status."""
    model = model or sys.modules[__name__]
    args = plumbing.parse_args(model, argv)      # a bad option exits here, with status 2

    # the data and the initial weights, each from its own stream of the seed
    data_seed, init_seed = np.random.SeedSequence(args.seed).spawn(2)
    data = CosineData(args.points, 0.0, args.resolution * (args.points - 1),
                      noise=args.noise, seed=data_seed)
    params = model.init_params(args.hidden, np.random.default_rng(init_seed))
    about = (f"{args.points:,} points of cos(x) + {args.noise:g} * noise, "
             f"spaced {args.resolution:g}")

    with plumbing.Run(model, args, about) as run:            # progress line, Ctrl-C, saving
        losses, snapshots = train(model, params, data, args.iters, args.steps, args.lr, model.init_state(args.hidden), args.hprev,
                                  args.anneal, keep=snapshot_iterations(args.iters),
                                  progress=run.progress, stop=run.stop)
        results = evaluate(model, params, data)          # the test, beside the linear model
        # what it learned (lab/analysis.py): on its own it oscillates, with what period?
        # what do its hidden units do? how did its forecast take shape during training?
        # how far back does the gradient of the last step's loss reach, before training
        # and after (the vanishing gradient)? and is the loss the same at every step of a
        # window (the first steps start from h = 0)?
        results.update(analysis.what_it_learned(model, params, data.resolution),
                       **analysis.learning(model, snapshots, losses, data.resolution),
                       position_mse=analysis.loss_by_position(model, params, data, args.steps),
                       vanishing_init=analysis.vanishing(model, snapshots[0], data.resolution),
                       vanishing_trained=analysis.vanishing(model, params, data.resolution))
        settings = dict(noise=args.noise, resolution=data.resolution, points=args.points)
        npz = run.save(params, losses, results, settings, snapshots,   # npz, metrics.json
                       loss_note=loss_note(args.noise, results["position_mse"], args.hprev))
        if not args.no_plot:
            import plot_results                              # the figures (matplotlib)
            run.wrote(plot_results.plot_file(npz, args.out))
        run.report(summary(results, args.steps))
    return run.status


if __name__ == "__main__":
    sys.exit(main())
