"""A vanilla recurrent neural network in plain NumPy that learns to predict the next value
of a noisy cosine, then continues the curve on its own: min-char-rnn changed from
characters to regression (one float in, H tanh units whose state h is fed back at every
step, one float out; a mean squared error, backpropagation through time and Adagrad)."""
import argparse, contextlib, itertools, math, os, signal, sys, time      # noqa: E401

if __name__ == "__main__":        # a signal while NumPy loads: one line, exit 128 + it
    for s in (signal.SIGINT, signal.SIGTERM):                    # (print returns None)
        signal.signal(s, lambda n, f: os._exit(print("rnn_cos.py: stopped by", signal.Signals(
            n).name, file=sys.stderr) or 128 + n))

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import plot_results
from data import (FORECAST_SEED, MAX_RESOLUTION, WARMUP, CosineData, forecast_cosine,
                  test_cosine, validation_cosine)

DEFAULTS = dict(        # each one is an option: python rnn_cos.py --help
    iters=100_000,      # training iterations, one window each
    steps=20,           # T, time steps per window: how far back BPTT goes
    hidden=32,          # H, the size of the hidden state h
    lr=0.01,            # Adagrad's learning rate (the best of a sweep: docs/lr_sweep.md)
    anneal=0.1,         # over this last part of the run the learning rate falls to 0
    noise=0.05,         # standard deviation of the normal noise added to cos(x)
    resolution=0.5,     # the spacing of the x values: the cosine's sampling step
    points=1000,        # points of the noisy training cosine
    hprev="reset",      # where each window's h starts: reset (zeros), carry, sequential
    seed=0,             # seeds the data, the windows and the initial weights
    out="results",      # the folder for rnn_cos.npz, metrics.json and the figures
)
NAME = "rnn_cos"
STOP = {}     # how the run was asked to stop: {"by": "SIGINT", "status": 130}, or diverged


# --- the parameters, with min-char-rnn's names ----------------------------------------
def init_params(H, rng):
    """Small random weights, zero biases: Wxh (H,1), Whh (H,H), Why (1,H), bh (H,1), by."""
    return dict(Wxh=rng.standard_normal((H, 1)) * 0.01,     # input to hidden
                Whh=rng.standard_normal((H, H)) * 0.01,     # hidden to hidden
                Why=rng.standard_normal((1, H)) * 0.01,     # hidden to output
                bh=np.zeros((H, 1)), by=np.zeros((1, 1)))   # the biases


def init_state(hidden_size):
    return np.zeros((hidden_size, 1))                       # h_0 = 0, (H,1)


# --- the forward pass, the loss and backpropagation through time ----------------------
def forward(params, inputs, hprev):
    """h_t = tanh(Wxh x_t + Whh h_{t-1} + bh), y_t = Why h_t + by over inputs x_1..x_T (T,)
    from h_0 = hprev (H,1). Returns hs (T+1, H), row t = h_t, and ys (T,), ys[t-1] = y_t."""
    Wxh, Whh, Why, bh, by = (params[k] for k in ("Wxh", "Whh", "Why", "bh", "by"))
    x = np.asarray(inputs, dtype=float)
    xh = x[:, None] * Wxh[:, 0] + bh[:, 0]   # Wxh x_t + bh, every t at once: no h in it
    hs = np.empty((len(x) + 1, len(Whh)))
    hs[0] = hprev[:, 0]
    for t in range(1, len(x) + 1):           # only this waits for the step before
        np.tanh(xh[t - 1] + Whh.dot(hs[t - 1]), out=hs[t])      # hidden state h_t
    return hs, hs[1:] @ Why[0] + by[0, 0]    # y_t = Why h_t + by, every t


def lossFun(params, inputs, targets, hprev):
    """Forward pass, the loss 1/T sum_t (y_t - target_t)^2 and BPTT over inputs, targets
    (T,) from hprev (H,1): (loss, gradients shaped as params, h_T: the next hprev)."""
    Whh, Why = params["Whh"], params["Why"]
    x, T = np.asarray(inputs, dtype=float), len(inputs)
    hs, ys = forward(params, x, hprev)
    err = ys - targets
    dy = 2.0 * err / T                                   # dL/dy_t
    dh_y = dy[:, None] * Why[0]                          # row t-1: Why^T dy_t, into h_t
    dtanh = 1.0 - hs[1:] ** 2                            # tanh'(a_t) = 1 - h_t^2
    dhraw = np.empty_like(dh_y)                          # row t-1: dL/da_t
    dhnext = np.zeros(len(Whh))                          # dL/dh_t through h_{t+1}
    for t in range(T, 0, -1):
        dhraw[t - 1] = dtanh[t - 1] * (dh_y[t - 1] + dhnext)  # into h, then through tanh
        dhnext = Whh.T.dot(dhraw[t - 1])                 # into h_{t-1}: Whh^T dhraw_t
    # each weight gradient is a sum over t: one matrix product after the loop
    grads = dict(Wxh=(dhraw.T @ x)[:, None],             # sum_t dhraw_t x_t
                 Whh=dhraw.T @ hs[:-1],                  # sum_t dhraw_t h_{t-1}^T
                 Why=(dy @ hs[1:])[None, :],             # sum_t dy_t h_t^T
                 bh=dhraw.sum(axis=0)[:, None], by=np.array([[dy.sum()]]))
    return float(err @ err) / T, grads, hs[-1][:, None].copy()


def lossFun_literal(params, inputs, targets, hprev):
    """lossFun as the article writes it: dicts xs, hs, ys by time, sums in the loop."""
    Wxh, Whh, Why, bh, by = (params[k] for k in ("Wxh", "Whh", "Why", "bh", "by"))
    xs, hs, ys, loss, T = {}, {-1: np.copy(hprev)}, {}, 0.0, len(inputs)
    for t in range(T):                                   # forward pass
        xs[t] = np.array([[inputs[t]]])                              # x_t, (1,1)
        hs[t] = np.tanh(Wxh @ xs[t] + Whh @ hs[t - 1] + bh)          # hidden state
        ys[t] = Why @ hs[t] + by                                     # the prediction
        loss += (ys[t][0, 0] - targets[t]) ** 2 / T                  # mean squared error
    dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    dbh, dby, dhnext = np.zeros_like(bh), np.zeros_like(by), np.zeros_like(bh)
    for t in reversed(range(T)):                         # backward pass
        dy = 2 * (ys[t] - targets[t]) / T                # dL/dy_t
        dWhy += dy @ hs[t].T
        dby += dy
        dh = Why.T @ dy + dhnext                         # backprop into h
        dhraw = (1 - hs[t] * hs[t]) * dh                 # backprop through tanh
        dbh += dhraw
        dWxh += dhraw @ xs[t].T
        dWhh += dhraw @ hs[t - 1].T
        dhnext = Whh.T @ dhraw
    return loss, dict(Wxh=dWxh, Whh=dWhh, Why=dWhy, bh=dbh, by=dby), hs[T - 1]


# --- Adagrad and the training loop (the LSTM and the GRU train with it too) -----------
def train(lossFun, params, data, h0, iters, steps, learning_rate, hprev_mode="reset",
          anneal=0.0, clip=5.0, on_step=None):
    """Adagrad on `iters` windows of data through lossFun, each from the hprev that
    hprev_mode says (windows), gradients clipped, the rate falling to 0 over the last
    `anneal` of the run; on_step(n, loss, params) after each (False: stop). The losses."""
    mem = {k: np.zeros_like(p) for k, p in params.items()}   # Adagrad's memory
    calm = max(1, round(anneal * iters))                     # the annealed iterations
    losses, batches, hprev = [], windows(data, steps, hprev_mode), h0
    with np.errstate(over="ignore", invalid="ignore"):       # a NaN loss tells
        for n in range(iters):
            inputs, targets, fresh = next(batches)
            loss, grads, hprev = lossFun(params, inputs, targets, h0 if fresh else hprev)
            losses.append(loss)
            lr = learning_rate * min(1.0, (iters - n) / calm) if anneal else learning_rate
            for k, dparam in grads.items():                  # Adagrad, array by array
                if clip:                                     # against exploding gradients
                    np.clip(dparam, -clip, clip, out=dparam)
                mem[k] += dparam * dparam
                params[k] += -lr * dparam / np.sqrt(mem[k] + 1e-8)   # adagrad update
            if on_step is not None and on_step(n, loss, params) is False:
                break                                        # the caller asked to stop
    return np.array(losses, dtype=float)


def windows(data, steps, hprev_mode):
    """(inputs, targets, fresh: from h0) for each iteration. reset: random windows, each
    fresh; carry: random windows, each from where the one before ended (the article);
    sequential: consecutive windows, back to h0 at the end of the data (min-char-rnn)."""
    while hprev_mode != "sequential":                    # random windows, for ever
        yield (*data.next_batch(steps), hprev_mode == "reset")
    for p in itertools.cycle(range(0, data.num_points - steps, steps)):   # consecutive
        yield (*data.batch_at(p, steps), p == 0)         # ones; at the start, from h0


# --- the trained network at work ------------------------------------------------------
def predict(params, inputs, h0=None):
    """One step ahead: y_t from the true x_1..x_t (teacher forcing), from h0 (zeros)."""
    return forward(params, inputs, init_state(len(params["Whh"])) if h0 is None else h0)[1]


def forecast(params, seed_values, n_future, return_states=False):
    """min-char-rnn's sample, for numbers: h warmed up on the seed values, then each
    prediction fed back as the next input. n_future values (and their states h)."""
    Wxh, Whh, Why, bh, by = (params[k] for k in ("Wxh", "Whh", "Why", "bh", "by"))
    hs, _ = forward(params, seed_values, init_state(len(Whh)))
    # x_{t+1} = y_t = Why h_t + by, so h_{t+1} = tanh(M h_t + b) with M = Whh + Wxh Why
    # and b = bh + Wxh by: a recurrent network with no input at all
    M, b = Whh + Wxh @ Why, (bh + Wxh @ by)[:, 0]
    h = np.empty((n_future, len(Whh)))
    h[:1] = hs[-1]                                       # after the last seed value
    for t in range(1, n_future):
        np.tanh(M.dot(h[t - 1]) + b, out=h[t])
    y = h @ Why[0] + by[0, 0]
    return (y, h) if return_states else y


# --- the test on a clean cosine, beside 'same as last value' and a linear model -------
def evaluate(predict, forecast, params, data, p):
    """The one-step MSE on the clean test cosine (its first WARMUP steps not scored) and
    a forecast's RMSE, beside 'same as last value' and AR(p), y[t] = c + sum a_i y[t-i]."""
    r, y = data.resolution, data.y_data
    p = max(1, min(p, FORECAST_SEED, len(y) // 5))       # --steps, the network's window
    lagged = lambda v: np.column_stack([np.ones(len(v) - p + 1),  # [1, v[t], v[t-1], ...]
                                        sliding_window_view(v, p)[:, ::-1]])  # noqa: E731
    x, inputs, targets = test_cosine(r)
    fx, seed, truth = forecast_cosine(r)
    pred, fc = predict(params, inputs), forecast(params, seed, len(truth))
    coef = np.linalg.lstsq(lagged(y[:-1]), y[p:], rcond=None)[0]    # [c, a_1, ..., a_p]
    before = np.cos((np.arange(1 - p, 0) + 0.5) * r)     # the clean cosine before x[0]
    ar = lagged(np.r_[before, inputs]) @ coef            # from the p true values up to x_t
    ar_fc = np.r_[seed[-p:], np.empty(len(truth))]
    for t in range(p, len(ar_fc)):                       # fed its own output
        ar_fc[t] = coef[0] + coef[1:] @ ar_fc[t - p:t][::-1]
    mse = lambda a, b: float(np.mean((a[WARMUP:] - b[WARMUP:]) ** 2))       # noqa: E731
    rmse = lambda a: float(np.sqrt(np.mean((a - truth) ** 2)))              # noqa: E731
    _, val_inputs, val_targets = validation_cosine(r)    # where sweeps choose a rate
    return dict(test_x=x, test_inputs=inputs, test_targets=targets, test_predictions=pred,
                test_mse=mse(pred, targets), baseline_mse=mse(inputs, targets),
                val_mse=mse(predict(params, val_inputs), val_targets), forecast_x=fx,
                forecast_seed=seed, forecast_true=truth, forecast=fc, forecast_rmse=rmse(fc),
                ar_order=p, ar_coef=coef, ar_predictions=ar, ar_mse=mse(ar, targets),
                ar_forecast=ar_fc[p:], ar_forecast_rmse=rmse(ar_fc[p:]))


# --- the script: the command line, Ctrl-C, the run ------------------------------------
def number(kind, ok, expected):
    """An argparse type: kind(text), refused in one line unless ok(value)."""
    def convert(text):
        with contextlib.suppress(ValueError):
            if ok(kind(text)):
                return kind(text)
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return convert


def parse_args(argv=None, defaults=DEFAULTS, prog="rnn_cos.py", doc=__doc__):
    """The options; a bad one is refused in one line (exit status 2) before any work."""
    p = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.error = lambda message: p.exit(2, f"{prog}: error: {message}\n")    # one line
    whole = number(int, lambda v: v >= 1, "a whole number >= 1")
    upto = lambda top: number(float, lambda v: 0 <= v <= top, f"0 to {top:g}")  # noqa
    p.add_argument("--iters", type=whole, help="training iterations")
    p.add_argument("--steps", type=whole, help="time steps per window (BPTT's reach)")
    p.add_argument("--hidden", type=whole, help="the size H of the hidden state")
    p.add_argument("--lr", type=number(float, lambda v: 0 < v < math.inf, "a number > 0"),
                   help="Adagrad's learning rate")
    p.add_argument("--anneal", type=upto(1), help="the rate falls to 0 over this last part")
    p.add_argument("--noise", type=upto(1e6), help="the noise's standard deviation")
    p.add_argument("--resolution", type=number(float, lambda v: 0 < v <= MAX_RESOLUTION,
                   f"above 0, at most {MAX_RESOLUTION:.3g}"), help="the sampling step")
    p.add_argument("--points", type=whole, help="points of the noisy training cosine")
    p.add_argument("--hprev", choices=["reset", "carry", "sequential"], help="h_0's source")
    p.add_argument("--seed", type=number(int, lambda v: 0 <= v < 2 ** 64, "0 to 2**64-1"),
                   help="seeds the data, the windows and the initial weights")
    p.add_argument("--out", help="the folder the results go to")
    p.add_argument("--no-plot", action="store_true", help="draw no figures")
    p.set_defaults(**defaults)
    a = p.parse_args(argv)
    if a.steps >= a.points:
        p.error(f"argument --steps: a window of {a.steps} needs {a.steps + 1} --points")
    need = 8 * (200 * (a.hidden + 1) ** 2 + 8 * a.iters + 6 * a.points     # bytes, about
                + 32 * a.hidden * (a.steps + 50 / a.resolution))
    if hasattr(os, "sysconf") and need > os.sysconf("SC_PAGE_SIZE") * os.sysconf(
            "SC_PHYS_PAGES"):                                   # (this machine's memory)
        p.error(f"the run would need {need / 1e9:.3g} GB, more than this machine's memory")
    return a


@contextlib.contextmanager
def stop_signals(prog):
    """While a run lasts, the first Ctrl-C or SIGTERM during training ends the loop after
    this iteration (what it trained is kept); any other stops the run at once."""
    def on_signal(signum, frame):
        at_once = bool(STOP)                         # a second one, or one after training
        STOP.update(by=signal.Signals(signum).name, status=128 + signum)
        if at_once:
            raise KeyboardInterrupt
    STOP.clear()
    old = [signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)]
    try:
        yield
    except KeyboardInterrupt:
        print(f"{prog}: stopped by {STOP['by']}; nothing more was written", file=sys.stderr)
        sys.exit(STOP["status"])
    finally:
        signal.signal(signal.SIGINT, old[0]), signal.signal(signal.SIGTERM, old[1])


def say(text):      # print; a stdout closed or full (| head, > /dev/full) ends the run
    try:
        print(text, flush=True)
    except OSError as e:
        sys.exit(f"{os.path.basename(sys.argv[0])}: error: stdout: {e.strerror}")


def run_training(lossFun, init_params, init_state, args):
    """The data and the weights from the seed, trained with min-char-rnn's smooth_loss
    printed ten times, to the end, a Ctrl-C (what was trained is kept) or divergence."""
    data_seed, init_seed = np.random.SeedSequence(args.seed).spawn(2)
    data = CosineData(args.points, 0.0, args.resolution * (args.points - 1), args.noise,
                      seed=data_seed)
    params = init_params(args.hidden, np.random.default_rng(init_seed))
    say(f"training: {args.iters:,} iterations, hidden size {args.hidden}")
    smooth, start, every = None, time.perf_counter(), max(1, args.iters // 10)
    blown = 100 * np.mean(data.y_data ** 2)          # 100 times the loss of saying 0
    def on_step(n, loss, params):
        nonlocal smooth
        smooth = loss if smooth is None else smooth * 0.999 + loss * 0.001
        if (n + 1) % every == 0:
            say(f"iter {n + 1:,}, smooth loss {smooth:.5f} "
                f"({(n + 1) / (time.perf_counter() - start):,.0f} it/s)")
        if not loss < blown:                         # diverged (a NaN too)
            STOP["diverged"] = f"grew to {loss:.3g}" if loss > blown else f"became {loss}"
        return not STOP
    losses = train(lossFun, params, data, init_state(args.hidden), args.iters, args.steps,
                   args.lr, args.hprev, args.anneal, on_step=on_step)
    STOP.setdefault("trained", True)        # from now on, a Ctrl-C stops the run at once
    return data, params, losses


def finish(name, args, params, losses, results, prog):
    """Save, draw, summarise (plot_results). Exit status 0; 3 if the loss diverged (nothing
    saved); 130 or 143 after Ctrl-C or SIGTERM (what was trained is saved, not drawn)."""
    if "diverged" in STOP:
        print(f"{prog}: error: the loss {STOP['diverged']} at iteration {len(losses):,}: "
              f"try a lower --lr (now {args.lr:g}); nothing was saved", file=sys.stderr)
        return 3
    npz = plot_results.save(args.out, name, dict(params, loss=losses, **results), vars(args))
    if "by" in STOP:
        say(f"stopped by {STOP['by']} after {len(losses):,} iterations: saved {npz}")
        return STOP["status"]
    if not args.no_plot:
        say("wrote " + ", ".join(plot_results.draw(npz, args.out)))
    say(plot_results.summary(results))
    return 0


def main(argv=None):
    """python rnn_cos.py [options]; returns the exit status."""
    args = parse_args(argv)
    with plot_results.folder(args.out, "rnn_cos.py", not args.no_plot), \
            stop_signals("rnn_cos.py"):           # the folder is this run's; Ctrl-C
        data, params, losses = run_training(lossFun, init_params, init_state, args)
        results = evaluate(predict, forecast, params, data, args.steps)
        return finish(NAME, args, params, losses, results, "rnn_cos.py")


if __name__ == "__main__":
    sys.exit(main())
