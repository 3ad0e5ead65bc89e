"""The results of a training run: saved whole, read back with every check, and drawn.

    python plot_results.py [--results results/rnn_cos.npz] [--out FOLDER]
draws, from the results file alone (the figures a run draws, byte for byte):
  loss.png         the training loss, smoothed, on log axes (where the learning is)
  predictions.png  one step ahead on a clean cosine, the linear model beside the network
  forecast.png     the network fed its own output for three periods, and the linear model"""
import argparse, contextlib, importlib.util, io, json, math, os, shutil, signal, sys, \
    tempfile  # noqa: E401

import numpy as np

from data import FORECAST_PERIODS, WARMUP

fcntl = None if os.name == "nt" else importlib.import_module("fcntl")  # Windows: no lock

FIGURES = ("loss.png", "predictions.png", "forecast.png")
RESULTS = {"rnn_cos.npz": "RNN", "lstm_cos.npz": "LSTM", "gru_cos.npz": "GRU"}
COLORS = dict(truth="0.6", network="tab:orange", ar="tab:green", loss="tab:blue")
LINES = ("test_x", "test_inputs", "test_targets", "test_predictions", "ar_predictions",
         "forecast_x", "forecast_seed", "forecast_true", "forecast", "ar_forecast", "loss")
NUMBERS = ("noise", "anneal", "iters", "ar_order")


# --- the results folder and file ------------------------------------------------------
@contextlib.contextmanager
def folder(out, prog, drawing=True):
    """The folder out, made if need be and locked while one run writes to it (a second
    run is refused; the lock ends with the process); a failed write ends it in one line."""
    if drawing and importlib.util.find_spec("matplotlib") is None:
        sys.exit(f"{prog}: error: the figures need matplotlib: pip install matplotlib (the "
                 f"training scripts run without it with --no-plot)")
    names = [os.path.join(out, n) for n in (*FIGURES, *RESULTS, "metrics.json")]
    odd = [f"{out} is not a folder"] * (os.path.lexists(out) and not os.path.isdir(out)) + [
        f"{p} is not a regular file" for p in names if os.path.islink(p) or os.path.lexists(
            p) and not os.path.isfile(p)]                # a link to nothing, a FIFO...
    lock = None
    try:
        if odd:
            raise OSError(f"{odd[0]}, and is left as it is")
        os.makedirs(out, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()                    # can a file be written?
        lock = os.open(out, os.O_RDONLY)
        fcntl and fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    except OSError as e:              # the lock taken, a full disk, the folder gone...
        why = "another run is writing to it" if isinstance(e, BlockingIOError) else (
            e.strerror or e)
        sys.exit(f"{prog}: error: cannot write the results into {out!r}: {why}")
    finally:
        lock is None or os.close(lock)


def save(out, name, arrays, settings):
    """Write <out>/<name>.npz (arrays, settings, model=name) and metrics.json (the numbers,
    strict JSON), each whole, an earlier run's files gone first. The npz's path."""
    os.makedirs(out, exist_ok=True)                          # again, if it went meanwhile
    for old in (*FIGURES, *RESULTS, "metrics.json"):
        if os.path.isfile(os.path.join(out, old)):
            os.remove(os.path.join(out, old))
    loss = arrays["loss"]
    numbers = dict({k: v for k, v in arrays.items() if np.ndim(v) == 0}, iters_done=len(
        loss), train_loss_last_1000=float(np.mean(loss[-1000:])), settings=settings)
    numbers = {k: None if isinstance(v, float) and not math.isfinite(v) else v
               for k, v in numbers.items()}                  # JSON has no NaN
    buf = io.BytesIO()
    np.savez(buf, **arrays, **settings, model=name)
    write_whole(os.path.join(out, f"{name}.npz"), buf.getvalue())
    write_whole(os.path.join(out, "metrics.json"),
                (json.dumps(numbers, indent=2, allow_nan=False) + "\n").encode())
    return os.path.join(out, f"{name}.npz")


def write_whole(path, data):
    """data to a temporary file, then renamed: path is the old file or the whole new one."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.remove(tmp)
        raise


class BadResults(Exception):
    """Not a results file of the tutorial's scripts: the message says why."""


def load(path):
    """The arrays of a results file (or of the one in the folder path), each checked: no
    pickle, every array there, numbers that are finite and fit together."""
    if os.path.isdir(path):
        found = [n for n in RESULTS if os.path.isfile(os.path.join(path, n))]
        if len(found) != 1:
            raise BadResults(f"{path} holds {len(found)} results files: give one")
        path = os.path.join(path, found[0])
    if not os.path.isfile(path):                         # a FIFO or a device: never opened
        raise BadResults(f"{path}: " + ("not a regular file" if os.path.exists(path) else
                                        "no such file; python rnn_cos.py writes one"))
    try:
        with np.load(path, allow_pickle=False) as f:
            r = {k: f[k] for k in f.files}
    except Exception as e:               # whatever np.load makes of a file not an npz
        raise BadResults(f"{path} is not a results file: "
                         f"{'it holds pickled objects' if 'pickle' in str(e) else e}")
    if "csv" in r:
        raise BadResults(f"{path} is a CSV run's: python -m lab.figures --results {path}")
    missing = [k for k in LINES + NUMBERS + ("model",) if k not in r]
    if missing:
        raise BadResults(f"{path} is not a results file: no {missing[0]!r} in it")
    bad = next((k for k in LINES + NUMBERS if r[k].dtype.kind not in "fiu" or not
                np.all(np.isfinite(r[k])) or r[k].ndim != (k in LINES)), None)
    if bad or len(r["loss"]) == 0 or np.any(r["loss"] < 0):
        raise BadResults(f"{path}: {bad or 'loss'!r} is not what a run writes there")
    n, k = len(r["test_inputs"]), len(r["forecast_seed"])
    if {len(r[x]) for x in LINES[1:5]} != {n} or len(r["test_x"]) != n + 1 or n <= WARMUP \
            or {len(r[x]) for x in LINES[7:10]} != {len(r["forecast_x"]) - k} \
            or str(r["model"]) + ".npz" not in RESULTS:
        raise BadResults(f"{path}: its arrays do not fit together")
    return dict(r, cell=RESULTS[str(r["model"]) + ".npz"])   # RNN, LSTM or GRU


# --- what the results say -------------------------------------------------------------
def summary(r):
    """The lines a run ends with: the network beside the two baselines, and who wins."""
    ar = f"linear AR({int(r['ar_order'])})"
    text = (f"one-step test MSE on the clean cosine: network {r['test_mse']:.2e}, {ar} "
            f"{r['ar_mse']:.2e}, 'same as last value' {r['baseline_mse']:.2e}\n"
            f"forecast RMSE over {FORECAST_PERIODS} periods on its own: network "
            f"{r['forecast_rmse']:.3f}, {ar} {r['ar_forecast_rmse']:.3f}")
    if r["ar_mse"] < r["test_mse"]:
        text += (f"\nthe {ar} model beats the network: a sampled cosine obeys y[t+1] = "
                 f"2 cos(r) y[t] - y[t-1], a linear recurrence (README.md)")
    period = 2 * np.pi / (r["test_x"][1] - r["test_x"][0])   # in steps
    if r["baseline_mse"] < r["test_mse"]:
        text += "\n'same as last value' beats the network: " + (
            "it has not learned the curve yet (more --iters?)" if period < 100 else
            f"a period is {period:,.0f} steps: the next value is nearly the last")
    return text


# --- the figures ----------------------------------------------------------------------
def plot_loss(r, fig):
    loss, ax = r["loss"], fig.subplots()
    n, anneal = np.arange(1, len(loss) + 1), float(r["anneal"])
    some = np.r_[0:min(len(loss), 2000), 2000:len(loss):max(1, len(loss) // 10_000)]
    ax.plot(n[some], loss[some], color=COLORS["loss"], alpha=0.2, lw=0.5,
            label="the loss of each window" + (" (some)" if len(some) < len(loss) else ""))
    c, w = np.r_[0, np.cumsum(loss)], np.clip(np.ceil(0.1 * n).astype(int), 1, 1000)
    ax.plot(n, (c[n] - c[n - w]) / w, color=COLORS["loss"], lw=2,
            label="smoothed: the mean of the last 10% of the iterations (at most 1,000)")
    if r["noise"] > 0:
        ax.axhline(r["noise"] ** 2, color="black", ls="--", lw=1,
                   label=f"the noise's variance, {float(r['noise']) ** 2:g}: the floor")
    if anneal > 0 and len(loss) == r["iters"]:
        ax.axvspan(len(loss) * (1 - anneal), len(loss), color="0.88",
                   label=f"the learning rate annealed to 0 (the last {anneal:.0%})")
    ax.set(xscale="log", yscale="log", xlabel="iteration (log scale)",
           ylabel="training loss: MSE of a window (log scale)")
    ax.set_title(f"{r['cell']}: the training loss of {len(loss):,} iterations", size=10)
    ax.legend(loc="lower left", fontsize="small")
    ax.grid(True, alpha=0.3)


def two_panels(fig, r, x, truth, network, ar, how):
    """Above, the truth, the network and the linear model; below, their errors."""
    top, low = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    top.plot(x, truth, color=COLORS["truth"], lw=4, alpha=0.6, label="the true values")
    top.plot(x, network, ".-", color=COLORS["network"], lw=1.2, ms=4,
             label=f"{r['cell']}, {how}")
    top.plot(x, ar, ":", color=COLORS["ar"], lw=1.5,
             label=f"linear AR({r['ar_order']}), {how}")
    low.axhline(0, color="black", lw=0.8)
    low.plot(x, network - truth, color=COLORS["network"], lw=1.2)
    low.plot(x, ar - truth, color=COLORS["ar"], lw=1.2)
    low.set(xlabel="x (radians)", ylabel="error: prediction − true")
    top.set(ylabel="value", ylim=(-1.2, 2.0))
    top.grid(True, alpha=0.3), low.grid(True, alpha=0.3)
    return top, low


def plot_predictions(r, fig):
    x, y = r["test_x"][1:], r["test_targets"]
    mse = lambda k: float(np.mean((r[k] - y)[WARMUP:] ** 2))    # noqa: E731 (as drawn)
    top, low = two_panels(fig, r, x, y, r["test_predictions"], r["ar_predictions"],
                          "one step ahead from the true values")
    low.axvspan(x[0], x[WARMUP - 1], color="0.88")
    low.text(x[0], 0, " warm-up\n (not scored)", fontsize="x-small", va="center")
    scored = max(np.abs(r[k] - y)[WARMUP:].max() for k in LINES[3:5])   # network, AR
    low.set_ylim(-1.3 * scored, 1.3 * scored)            # the warm-up's errors may leave it
    top.legend(loc="upper center", ncol=2, fontsize="small")
    top.set_title(f"One step ahead on a clean cosine, MSE (its first {WARMUP} steps not "
                  f"scored): network {mse('test_predictions'):.1e},\nlinear AR"
                  f"({r['ar_order']}) {mse('ar_predictions'):.1e}, 'same as last value' "
                  f"{mse('test_inputs'):.1e}", fontsize="medium")


def plot_forecast(r, fig):
    x, k = r["forecast_x"], len(r["forecast_seed"])
    rmse = lambda f: float(np.sqrt(np.mean((r[f] - r["forecast_true"]) ** 2)))  # noqa: E731
    top, low = two_panels(fig, r, x[k:], r["forecast_true"], r["forecast"],
                          r["ar_forecast"], "fed its own output")
    top.plot(x[:k + 1], np.r_[r["forecast_seed"], r["forecast_true"][0]], color="black",
             lw=1.5, label=f"the seed: {k} true values")
    low.set_xlim(x[0], x[-1])
    top.legend(loc="upper center", ncol=2, fontsize="small")
    top.set_title(f"On its own for {len(x) - k} steps after {k} true values: RMSE network "
                  f"{rmse('forecast'):.3g}, linear AR({r['ar_order']}) "
                  f"{rmse('ar_forecast'):.3g}", fontsize="medium")


def draw(results, out):
    """The figures of results, drawn into a temporary folder in out, then moved in: one
    that fails leaves the old ones as they were. Their paths."""
    r = load(results)
    os.environ.pop("MPLBACKEND", None)           # files only: no display, whatever it says
    from matplotlib.figure import Figure         # matplotlib, only now that it is needed
    drawing = tempfile.mkdtemp(dir=out, prefix=".figures-")
    try:
        for name, plot, height in zip(FIGURES, (plot_loss, plot_predictions, plot_forecast),
                                      (4.2, 5.5, 5.5)):
            plot(r, fig := Figure(figsize=(8, height), layout="constrained"))
            fig.savefig(os.path.join(drawing, name), dpi=100)
        for name in FIGURES:
            os.replace(os.path.join(drawing, name), os.path.join(out, name))
    finally:
        shutil.rmtree(drawing, ignore_errors=True)
    return [os.path.join(out, name) for name in FIGURES]


def main(argv=None):
    """python plot_results.py [--results FILE] [--out FOLDER]; returns the exit status."""
    p = argparse.ArgumentParser(prog="plot_results.py", description=__doc__.split("\n")[0])
    p.add_argument("--results", default=os.path.join("results", "rnn_cos.npz"),
                   help="a results file, or the folder a run wrote (default: %(default)s)")
    p.add_argument("--out", help="the folder for the figures (default: the results')")
    args = p.parse_args(argv)
    try:
        r = load(args.results)                   # refused before anything is written
        here = args.results if os.path.isdir(args.results) else os.path.dirname(
            args.results) or "."
        out, mine = args.out or here, os.path.join(here, str(r["model"]) + ".npz")
        if any(os.path.isfile(os.path.join(out, n)) and not os.path.samefile(
                os.path.join(out, n), mine) for n in RESULTS):  # figures beside their run
            raise BadResults(f"{out} holds another run's results: give another --out")
        with folder(out, "plot_results.py"):
            wrote = draw(args.results, out)
        print("wrote " + ", ".join(wrote), flush=True)
    except BadResults as e:
        print(f"plot_results.py: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:                                # stdout closed, or full
        print(f"plot_results.py: error: stdout: {e.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:           # Ctrl-C, or SIGTERM (stopped, below)
        by = e.args[0] if e.args else signal.SIGINT
        print(f"plot_results.py: stopped by {by.name}; no figure changed", file=sys.stderr)
        return 128 + by
    return 0


def stopped(signum, frame):          # SIGTERM stops it as Ctrl-C does, with 128 + it
    raise KeyboardInterrupt(signal.Signals(signum))


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stopped)
    sys.exit(main())
