"""What every cell's script shares: the command line, Adagrad, the training loop with its
progress line, evaluation, and saving the results.

A model is a module (rnn_cos, lstm_cos, gru_cos) that defines
    NAME, DEFAULTS, PARAM_NAMES
    init_params(hidden_size, rng) -> dict of arrays
    init_state(hidden_size) -> the state before the first step (zeros)
    lossFun(params, inputs, targets, state) -> (loss, grads, last_state)
    predict(params, inputs) -> one-step predictions, shape (T,)
    forecast(params, seed_values, n_future) -> free-running predictions, shape (n_future,)
and calls training.main(model) as its script.
"""
import argparse
import json
import math
import os
import signal
import sys
import tempfile
import time

import numpy as np

from data import CosineData, SeriesData, read_csv_column

WARMUP = 10          # test steps left out of the test MSE while h settles from h_0 = 0
TEST_PERIODS = 4     # length of the clean test cosine, in periods of cos(x)
FORECAST_SEED = 40   # clean values the forecast starts from
FORECAST_PERIODS = 3 # how far the forecast runs on its own predictions


# ---------------------------------------------------------------------------------------
# command line
class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad argument gets one line on stderr (and exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def checked(kind, ok, expected):
    """An argparse type: text -> kind(text), refused with a message unless ok(value)."""
    def convert(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    return convert


positive_int = checked(int, lambda v: v >= 1, "a positive integer")
positive_float = checked(float, lambda v: math.isfinite(v) and v > 0, "a positive finite number")
nonnegative_float = checked(float, lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0")
seed_int = checked(int, lambda v: v >= 0, "an integer >= 0")


def build_parser(model):
    d = model.DEFAULTS
    p = ArgumentParser(
        prog=f"{model.NAME}.py",
        description=" ".join((model.__doc__ or "").strip().split("\n\n")[0].split()),
        epilog=getattr(model, "EPILOG", None),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--iters", type=positive_int, default=d["iters"],
                   help="training iterations, one window of --steps points each")
    p.add_argument("--steps", type=positive_int, default=d["steps"],
                   help="time steps per window: how far back BPTT goes")
    p.add_argument("--hidden", type=positive_int, default=d["hidden"],
                   help="size H of the hidden state")
    p.add_argument("--lr", type=positive_float, default=d["lr"],
                   help="Adagrad learning rate")
    p.add_argument("--noise", type=nonnegative_float, default=d["noise"],
                   help="standard deviation of the normal noise added to cos(x)")
    p.add_argument("--resolution", type=positive_float, default=d["resolution"],
                   help="spacing of the x values of the cosine (its sampling step)")
    p.add_argument("--points", type=positive_int, default=d["points"],
                   help="number of points of the noisy training cosine")
    p.add_argument("--seed", type=seed_int, default=d["seed"],
                   help="random seed of the data, the windows and the initial weights")
    p.add_argument("--carry-hprev", action=argparse.BooleanOptionalAction,
                   default=d["carry_hprev"],
                   help="carry the hidden state from one window to the next "
                        "(the article's 'memory') instead of starting each window at 0")
    p.add_argument("--csv", metavar="FILE",
                   help="train on a column of this CSV file instead of the cosine "
                        "(the last 20%% of its rows are held out for testing)")
    p.add_argument("--column", metavar="NAME",
                   help="the CSV column (default: the only numeric one, or the last)")
    p.add_argument("--out", default=d["out"], help="folder the results are written to")
    p.add_argument("--no-plot", action="store_true", help="do not draw the figures")
    p.add_argument("--quiet", action="store_true", help="print only the final summary")
    return p


def parse_args(model, argv=None):
    """Parse and check every argument; a bad one exits with status 2 before any work."""
    parser = build_parser(model)
    args = parser.parse_args(argv)
    if args.points < 2:
        parser.error(f"argument --points: need at least 2 points, got {args.points}")
    if args.csv is None and args.steps + 1 > args.points:
        parser.error(f"argument --steps: a window of {args.steps} steps needs "
                     f"{args.steps + 1} points, but the data has {args.points} (--points)")
    top = TEST_PERIODS * 2 * np.pi / (WARMUP + 2)       # the test cosine needs its steps
    if args.csv is None and args.resolution > top:
        parser.error(f"argument --resolution: at most {top:.3g}, so that the clean test "
                     f"cosine has more than {WARMUP} steps after its warm-up; got "
                     f"{args.resolution:g}")
    if args.column is not None and args.csv is None:
        parser.error("argument --column: goes with --csv FILE")
    return args


# ---------------------------------------------------------------------------------------
# Adagrad
def adagrad_update(param, grad, mem, learning_rate, clip=5.0):
    """One Adagrad step, in place, as in min-char-rnn (arrays of any one shape):
        g = clip(grad, -5, 5)          (clip to mitigate exploding gradients; grad is overwritten)
        mem += g * g                   (running sum of squared gradients, per entry)
        param -= lr * g / sqrt(mem + 1e-8)
    """
    np.minimum(grad, clip, out=grad)                 # clip to [-clip, clip], in place
    np.maximum(grad, -clip, out=grad)
    mem += grad * grad
    param -= learning_rate * grad / np.sqrt(mem + 1e-8)


def flatten(params):
    """Copy params (a dict of arrays) into one flat vector; return the vector and a dict
    of views into it, with the same keys and shapes. Adagrad treats every number on its
    own, so it can update all the parameters at once through the vector."""
    flat = np.concatenate([p.ravel() for p in params.values()])
    views, start = {}, 0
    for name, p in params.items():
        views[name] = flat[start:start + p.size].reshape(p.shape)
        start += p.size
    return flat, views


# ---------------------------------------------------------------------------------------
# the training loop
class Diverged(Exception):
    """The loss became NaN or infinite."""

    def __init__(self, iteration, loss):
        super().__init__(f"the loss became {loss} at iteration {iteration:,}")
        self.iteration, self.loss = iteration, loss


class StopOnCtrlC:
    """While active, a first Ctrl-C only asks the loop to stop after the current
    iteration (`.requested` turns True); a second one interrupts at once."""

    def __enter__(self):
        self.requested = False
        self.old = signal.signal(signal.SIGINT, self.handler)
        return self

    def handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self.old)


def train(model, params, data, iters, steps, learning_rate, state0, carry_state=False,
          progress=None, stop=None):
    """Train params (a dict, updated in place) with Adagrad on windows from data.

    Each iteration: a window of steps + 1 points from data.next_batch, lossFun for the
    loss and gradients, one Adagrad step. The state (hprev) starts at state0 (zeros);
    with carry_state it is passed on from one window to the next, else every window
    starts again from state0. Returns the loss of every iteration done: fewer than
    iters when `stop` (a StopOnCtrlC) asked to stop early. Raises Diverged on a NaN or
    infinite loss.
    """
    names = list(params)
    flat, views = flatten(params)           # train the views; copied back at the end
    mem = np.zeros_like(flat)               # Adagrad memory, one entry per parameter entry
    state = state0
    losses = np.empty(iters)
    done = 0
    # an overflow shows up as a NaN or infinite loss, which stops training below
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            for n in range(iters):
                if stop is not None and stop.requested:
                    break
                inputs, targets = data.next_batch(steps)
                loss, grads, state = model.lossFun(views, inputs, targets,
                                                   state if carry_state else state0)
                if not math.isfinite(loss):
                    raise Diverged(n + 1, loss)
                losses[n] = loss
                grad = np.concatenate([grads[k].ravel() for k in names])
                adagrad_update(flat, grad, mem, learning_rate)
                done = n + 1
                if progress is not None:
                    progress.update(done, losses)
        finally:
            for k in names:                 # the trained values, into the caller's dict
                params[k][...] = views[k]
    return losses[:done].copy()


class Progress:
    """Prints iteration, loss (raw, and the mean of the last 1,000 iterations),
    iterations per second and time left: on a terminal one line refreshed in place
    about 5 times a second; otherwise (output piped to a file) a plain line about every
    5% of the run."""

    def __init__(self, iters, stream=sys.stdout):
        self.iters, self.stream = iters, stream
        self.tty = stream.isatty()
        self.every = max(1, iters // 20)        # piped: a line every 5%
        self.start = self.last = time.perf_counter()

    def update(self, n, losses):
        """After iteration n; losses[:n] are the losses so far."""
        if self.tty:
            if n % 100 and n != self.iters:
                return                          # look at the clock every 100 iterations
            now = time.perf_counter()
            if now - self.last < 0.2 and n != self.iters:
                return
            self.last = now
            self.stream.write("\r" + self.line(n, losses, now) + " ")
        elif n % self.every == 0 or n == self.iters:
            self.stream.write(self.line(n, losses, time.perf_counter()) + "\n")
        self.stream.flush()

    def line(self, n, losses, now):
        rate = n / max(now - self.start, 1e-9)
        left = (self.iters - n) / rate
        width = len(f"{self.iters:,}")
        return (f"iter {n:>{width},}/{self.iters:,}  loss {losses[n - 1]:.5f}  "
                f"mean of last 1,000 {np.mean(losses[max(0, n - 1000):n]):.5f}  "
                f"{rate:,.0f} it/s  {left:4.0f} s left")

    def finish(self):
        """Ends the refreshing line on a terminal."""
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def moving_average(values, window):
    """Trailing mean: out[n] = mean(values[n-window+1 : n+1]), fewer at the start."""
    c = np.cumsum(np.concatenate([[0.0], values]))
    n = np.arange(1, len(values) + 1)
    lo = np.maximum(n - window, 0)
    return (c[n] - c[lo]) / (n - lo)


# ---------------------------------------------------------------------------------------
# evaluation on a clean cosine
def test_cosine(resolution):
    """A smooth, noise-free cosine over TEST_PERIODS periods, sampled like the training
    data: returns x (N+1,), inputs cos(x[:-1]) and targets cos(x[1:]), each (N,)."""
    n = int(round(TEST_PERIODS * 2 * np.pi / resolution))
    x = np.arange(n + 1) * resolution
    y = np.cos(x)
    return x, y[:-1], y[1:]


def evaluate(model, params, resolution):
    """One-step (teacher-forced) predictions on the clean test cosine from h = 0, and
    their mean squared error after the first WARMUP steps."""
    x, inputs, targets = test_cosine(resolution)
    predictions = model.predict(params, inputs)
    mse = float(np.mean((predictions[WARMUP:] - targets[WARMUP:]) ** 2))
    return dict(test_x=x, test_inputs=inputs, test_targets=targets,
                test_predictions=predictions, test_mse=mse)


def evaluate_forecast(model, params, resolution):
    """Warm up on FORECAST_SEED clean values of cos(x) from x = 0, then let the network
    run FORECAST_PERIODS periods on its own predictions; RMSE against the true cosine."""
    n_future = int(round(FORECAST_PERIODS * 2 * np.pi / resolution))
    x = np.arange(FORECAST_SEED + n_future) * resolution
    y = np.cos(x)
    seed, truth = y[:FORECAST_SEED], y[FORECAST_SEED:]
    forecast = model.forecast(params, seed, n_future)
    rmse = float(np.sqrt(np.mean((forecast - truth) ** 2)))
    return dict(forecast_x=x, forecast_seed=seed, forecast_true=truth,
                forecast=forecast, forecast_rmse=rmse)


def last_step_gradients(model, params, inputs, target):
    """||dL/dh_{T-k}|| for k = 0..T-1, where L = (y_T - target)^2 is the loss of the last
    step alone, after running over inputs (T,) from zeros. For a model whose
    forward(params, x, state) returns (hs, *cache, ys) and whose backward(params, x, hs,
    *cache, dh_y) returns (grads, dhs) with dhs[t-1] = dL/dh_t (the LSTM and the GRU)."""
    x = np.asarray(inputs, dtype=float)
    hs, *cache, ys = model.forward(params, x, model.init_state(params["Why"].shape[1]))
    dh_y = np.zeros((len(x), hs.shape[1]))
    dh_y[-1] = 2.0 * (ys[-1] - target) * params["Why"][0]   # only the last step's loss
    _, dhs = model.backward(params, x, hs, *cache, dh_y)
    return np.linalg.norm(dhs[::-1], axis=1)


# ---------------------------------------------------------------------------------------
# saving: every file is written to a temporary file in the same folder, then renamed,
# so a crash never leaves half a file
UMASK = os.umask(0)
os.umask(UMASK)


def write_atomic(path, write):
    """Call write(f) on a temporary binary file next to path, then rename it to path."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~UMASK)       # mkstemp makes it private; use the usual mode
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def save_npz(path, arrays):
    """np.savez of plain arrays (numbers, or a str); refuses anything that would pickle."""
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    for k, v in arrays.items():
        if v.dtype.hasobject:
            raise TypeError(f"{k} would be pickled")
    write_atomic(path, lambda f: np.savez(f, **arrays))


def save_json(path, obj):
    text = json.dumps(obj, indent=2) + "\n"
    write_atomic(path, lambda f: f.write(text.encode()))


def check_out_folder(out):
    """Create the output folder and make sure a file can be written in it; return an
    error message, or None."""
    try:
        os.makedirs(out, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out, prefix=".write-test.")
        os.close(fd)
        os.remove(tmp)
    except OSError as e:
        return f"cannot write to the output folder {out!r}: {e.strerror or e}"
    return None


# ---------------------------------------------------------------------------------------
# the script
def fail(prog, message, status):
    """One line on stderr, then exit with status."""
    sys.stderr.write(f"{prog}: error: {message}\n")
    return status


def main(model, argv=None):
    """Train model from the command line (argv: the arguments, default sys.argv[1:]),
    evaluate it, save the results and draw the figures. Returns the exit status."""
    args = parse_args(model, argv)
    prog = f"{model.NAME}.py"
    say = (lambda *a: None) if args.quiet else print
    t_start = time.perf_counter()

    # the data gets its own seed (noise and windows), the initial weights another
    data_seed, init_seed = np.random.SeedSequence(args.seed).spawn(2)
    try:
        task = csv_task(args, data_seed) if args.csv else cosine_task(args, data_seed)
    except ValueError as e:
        return fail(prog, str(e), 2)
    problem = check_out_folder(args.out)
    if problem:
        return fail(prog, problem, 2)

    params = model.init_params(args.hidden, np.random.default_rng(init_seed))
    say(f"{model.NAME}: {args.iters:,} iterations of {args.steps} steps, hidden size "
        f"{args.hidden}, learning rate {args.lr:g}, on {task['about']}")
    progress = None if args.quiet else Progress(args.iters)
    t_train = time.perf_counter()
    try:
        with StopOnCtrlC() as stop:
            losses = train(model, params, task["data"], args.iters, args.steps, args.lr,
                           model.init_state(args.hidden), args.carry_hprev,
                           progress=progress, stop=stop)
    except Diverged as e:
        if progress:
            progress.finish()
        return fail(prog, f"{e}; try a lower --lr (now {args.lr:g}). "
                          f"Nothing was written to {args.out}", 1)
    except KeyboardInterrupt:
        return fail(prog, "interrupted; nothing was written", 130)
    t_train = time.perf_counter() - t_train
    done = len(losses)
    interrupted = done < args.iters
    if progress:
        progress.finish()
    if done == 0:
        return fail(prog, "stopped before the first iteration; nothing was written", 130)
    if interrupted:
        print(f"stopped by Ctrl-C after {done:,} of {args.iters:,} iterations; "
              f"saving what was trained so far")

    try:
        results, recent, written = save_results(model, args, task, params, losses,
                                                t_train, interrupted)
    except KeyboardInterrupt:
        return fail(prog, "interrupted while saving; every file written is whole", 130)

    say(f"trained {done:,} iterations in {t_train:.1f} s ({done / t_train:,.0f} it/s); "
        f"mean loss of the last 1,000: {recent:.5f}{task['loss_note']}")
    print(task["summary"](results))
    say(f"wrote {', '.join(written)} in {time.perf_counter() - t_start:.1f} s")
    return 130 if interrupted else 0


def save_results(model, args, task, params, losses, t_train, interrupted):
    """Evaluate the trained model, write the npz, metrics.json and (unless --no-plot) the
    figures. Returns the results, the mean of the last 1,000 losses and the paths."""
    done = len(losses)
    results = task["evaluate"](model, params)
    recent = float(np.mean(losses[-1000:]))
    settings = dict(model=model.NAME, iters=args.iters, iters_done=done, steps=args.steps,
                    hidden=args.hidden, lr=args.lr, seed=args.seed,
                    carry_hprev=args.carry_hprev, **task["settings"])
    npz_path = os.path.join(args.out, f"{model.NAME}.npz")
    save_npz(npz_path, {**params, "loss": losses, **results, **settings})
    metrics = dict(train_loss_last_1000=recent,
                   **{k: v for k, v in results.items() if np.ndim(v) == 0},
                   train_seconds=round(t_train, 3),
                   iters_per_second=round(done / t_train, 1),
                   interrupted=interrupted, settings=settings)
    metrics_path = os.path.join(args.out, "metrics.json")
    save_json(metrics_path, metrics)
    written = [npz_path, metrics_path]
    if not args.no_plot:
        import plot_results                  # matplotlib only when plotting
        written += plot_results.plot_file(npz_path, args.out)
    return results, recent, written


def cosine_task(args, seed):
    """The noisy cosine to train on, and how to evaluate on a clean one."""
    data = CosineData(args.points, 0.0, args.resolution * (args.points - 1),
                      noise=args.noise, seed=seed)

    def evaluate_all(model, params):
        return {**evaluate(model, params, data.resolution),
                **evaluate_forecast(model, params, data.resolution),
                "warmup": WARMUP, "x_label": "x (radians)", "y_label": "value",
                "series": "cos(x)"}

    def summary(r):
        return (f"one-step test MSE on the clean cosine: {r['test_mse']:.2e}  "
                f"forecast RMSE over {FORECAST_PERIODS} periods: {r['forecast_rmse']:.3f}")

    return dict(data=data, evaluate=evaluate_all, summary=summary,
                about=f"{args.points:,} points of cos(x) + {args.noise:g} * noise, "
                      f"spaced {args.resolution:g}",
                loss_note=f" (noise variance {args.noise ** 2:g})",
                settings=dict(noise=args.noise, resolution=data.resolution,
                              points=args.points))


HELD_OUT = 0.2       # the last 20% of a CSV series is held out for testing


def csv_task(args, seed):
    """A column of a CSV file: train on the first 80% (normalised with its own mean and
    standard deviation), evaluate on the last 20% in the original units. ValueError
    with a message for a file or column it cannot use."""
    y, x, x_label, column = read_csv_column(args.csv, args.column)
    n = len(y)
    n_train = int(round(n * (1 - HELD_OUT)))
    if n_train < args.steps + 1 or n - n_train < 2:
        need = next(m for m in range(n, 10 * n + 100)
                    if int(round(m * (1 - HELD_OUT))) >= args.steps + 1
                    and m - int(round(m * (1 - HELD_OUT))) >= 2)
        raise ValueError(f"{args.csv} has {n} rows of data; with --steps {args.steps} it needs "
                         f"at least {need} (the first 80% must hold steps + 1 values)")
    mean, std = float(np.mean(y[:n_train])), float(np.std(y[:n_train]))
    if std == 0:
        raise ValueError(f"column {column!r} of {args.csv} is constant over its first 80%: "
                         f"there is nothing to learn")
    data = SeriesData((y[:n_train] - mean) / std, x[:n_train], seed=seed)

    def evaluate_all(model, params):
        return evaluate_series(model, params, y, x, n_train, mean, std) | {
            "warmup": 0, "x_label": x_label, "y_label": column,
            "series": f"{column} ({os.path.basename(args.csv)})"}

    def summary(r):
        gain = 100 * (1 - r["test_rmse"] / r["baseline_rmse"])
        return (f"held-out one-step RMSE: {r['test_rmse']:.4g} ('same as last value': "
                f"{r['baseline_rmse']:.4g}, {abs(gain):.0f}% {'lower' if gain >= 0 else 'higher'})"
                f"  forecast RMSE over the {n - n_train} held-out rows: "
                f"{r['forecast_rmse']:.4g}")

    return dict(data=data, evaluate=evaluate_all, summary=summary,
                about=f"column {column!r} of {args.csv}: the first {n_train} of {n} rows, "
                      f"normalised (mean {mean:.4g}, std {std:.4g})",
                loss_note=" (normalised units)",
                settings=dict(csv=os.path.abspath(args.csv), column=column, mean=mean,
                              std=std, n_train=n_train, noise=float("nan"),
                              resolution=float(x[1] - x[0])))


def evaluate_series(model, params, y, x, n_train, mean, std):
    """On the held-out part y[n_train:], in the original units: one-step predictions (the
    network reads the true series from its start, h = 0 at y[0]), the 'same as last
    value' baseline, and a forecast that starts from the end of the training part."""
    z = (y - mean) / std
    pred = model.predict(params, z[:-1]) * std + mean     # pred[i] predicts y[i + 1]
    inputs, targets = y[n_train - 1:-1], y[n_train:]
    predictions = pred[n_train - 1:]
    forecast = model.forecast(params, z[:n_train], len(y) - n_train) * std + mean
    rmse = lambda a: float(np.sqrt(np.mean((a - targets) ** 2)))   # noqa: E731
    return dict(test_x=x[n_train - 1:], test_inputs=inputs, test_targets=targets,
                test_predictions=predictions, test_mse=rmse(predictions) ** 2,
                test_rmse=rmse(predictions), baseline_rmse=rmse(inputs),
                forecast_x=x, forecast_seed=y[:n_train], forecast_true=targets,
                forecast=forecast, forecast_rmse=rmse(forecast))
