"""Draw the figures of a training run from its saved results file alone.

    python plot_results.py [--results results/rnn_cos.npz] [--out results/]

writes loss.png (the training loss per iteration), predictions.png (one-step
predictions on a clean cosine) and forecast.png (the network continuing the cosine on
its own). Runs headless: no display is needed. The results file is read with
allow_pickle=False, so it never runs code from the file.
"""
import argparse
import io
import os
import sys
import zipfile

import numpy as np

from plumbing import write_atomic

try:
    import matplotlib
    matplotlib.use("Agg")                  # draw to files, never to a window
    from matplotlib.figure import Figure
except ImportError:                        # main() says so in one line
    matplotlib = None

REQUIRED = ("model", "loss", "noise", "test_x", "test_inputs", "test_targets",
            "test_predictions", "test_mse", "forecast_x", "forecast_seed",
            "forecast_true", "forecast", "forecast_rmse", "warmup", "x_label", "y_label",
            "series")
COLORS = dict(truth="0.35", prediction="tab:orange", seed="black", error="tab:red")


class BadResults(Exception):
    """The file is missing or is not a results file; the message says why."""


def load_results(path):
    """The arrays of a results file as a dict; BadResults when it can't be one."""
    if not os.path.isfile(path):
        raise BadResults(f"{path}: no such file")
    try:
        f = np.load(path, allow_pickle=False)
        if not isinstance(f, np.lib.npyio.NpzFile):
            raise BadResults(f"{path}: not an .npz results file")
        with f:
            missing = [k for k in REQUIRED if k not in f.files]
            if missing:
                raise BadResults(f"{path}: not a results file (no {missing[0]!r} array)")
            r = {k: f[k] for k in f.files}
    except BadResults:
        raise
    except ValueError as e:
        if "pickle" in str(e):
            raise BadResults(f"{path}: holds pickled objects, which are never loaded")
        raise BadResults(f"{path}: unreadable ({e})")
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise BadResults(f"{path}: truncated or not an .npz file ({e})")
    if r["loss"].ndim != 1 or len(r["loss"]) == 0:
        raise BadResults(f"{path}: the loss history is empty")
    n = len(r["test_inputs"])
    if not (len(r["test_targets"]) == len(r["test_predictions"]) == n == len(r["test_x"]) - 1):
        raise BadResults(f"{path}: the test arrays do not match in length")
    if len(r["forecast_x"]) != len(r["forecast_seed"]) + len(r["forecast"]):
        raise BadResults(f"{path}: the forecast arrays do not match in length")
    return r


def save_figure(fig, path):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    write_atomic(path, lambda f: f.write(buf.getvalue()))


def plot_loss(r, path):
    loss = r["loss"]
    it = np.arange(1, len(loss) + 1)
    fig = Figure(figsize=(8, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.plot(it, loss, color="tab:blue", alpha=0.25, lw=0.5, label="loss of each window")
    window = max(1, min(1000, len(loss) // 20))
    ax.plot(it, moving_average(loss, window), color="tab:blue", lw=2,
            label=f"mean of the last {window:,} iterations")
    noise = float(r["noise"])
    if noise > 0:
        ax.axhline(noise ** 2, color="black", ls="--", lw=1,
                   label=f"noise variance {noise:g}² = {noise ** 2:g}")
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("mean squared error (log scale)")
    ax.set_title(f"{model_label(r)}: the training loss drops within a few thousand "
                 "iterations, then creeps down")
    ax.legend(loc="upper right")
    ax.grid(True, which="major", alpha=0.3)
    save_figure(fig, path)


def plot_predictions(r, path):
    x, targets, pred = r["test_x"][1:], r["test_targets"], r["test_predictions"]
    fig = Figure(figsize=(8, 5.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2.2, 1])
    top.plot(x, targets, color=COLORS["truth"], lw=3, alpha=0.5,
             label=f"true next value of {r['series']}")
    top.plot(x, pred, color=COLORS["prediction"], lw=1.5, marker=dots(pred), ms=4,
             label="one-step prediction")
    if "baseline_rmse" in r:
        top.plot(x, r["test_inputs"], color="tab:blue", lw=1, ls="--",
                 label="same as last value")
        top.set_title(f"{model_label(r)} on the held-out 20%: one-step RMSE "
                      f"{float(r['test_rmse']):.3g}, 'same as last value' "
                      f"{float(r['baseline_rmse']):.3g}")
    else:
        top.set_title(f"{model_label(r)}: one-step predictions follow a clean cosine "
                      f"(test MSE {float(r['test_mse']):.1e})")
    top.set_ylabel(str(r["y_label"]))
    headroom(top)
    top.legend(loc="upper center", ncol=3, fontsize="small")

    error = pred - targets
    bottom.axhline(0, color="black", lw=0.8)
    bottom.plot(x, error, color=COLORS["error"], lw=1.2)
    warmup = int(r["warmup"])
    if warmup:
        bottom.axvspan(x[0], x[min(warmup, len(x)) - 1], color="0.85",
                       label=f"warm-up ({warmup} steps, not in the MSE)")
        bottom.legend(loc="upper right")
    bottom.set_xlabel(str(r["x_label"]))
    bottom.set_ylabel("prediction − true")
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
    save_figure(fig, path)


def plot_forecast(r, path):
    x, seed, truth, fc = r["forecast_x"], r["forecast_seed"], r["forecast_true"], r["forecast"]
    k = len(seed)
    fig = Figure(figsize=(8, 4.2), layout="constrained")
    ax = fig.subplots()
    shown = min(k, max(40, 2 * len(fc)))      # a long seed: only its end, for scale
    ax.plot(x[k - shown:k], seed[k - shown:], color=COLORS["seed"], lw=1.5,
            label=f"seed: {k} true values" if shown == k else f"seed (last {shown} of {k})")
    ax.plot(x[k:], truth, color=COLORS["truth"], lw=5, alpha=0.4, label="true continuation")
    ax.plot(x[k:], fc, color=COLORS["prediction"], lw=1.5, marker=dots(fc), ms=4,
            label="forecast, fed its own output")
    ax.axvline(x[k - 1], color="black", ls=":", lw=1)
    ax.set_xlabel(str(r["x_label"]))
    ax.set_ylabel(str(r["y_label"]))
    what = "the curve from a seed" if int(r["warmup"]) else "the series past its training part"
    ax.set_title(f"{model_label(r)}: continuing {what} "
                 f"(forecast RMSE {float(r['forecast_rmse']):.3g})")
    headroom(ax)
    ax.legend(loc="upper center", ncol=3)
    ax.grid(True, alpha=0.3)
    save_figure(fig, path)


def moving_average(values, window):
    """Trailing mean: out[n] = mean(values[n-window+1 : n+1]), fewer at the start."""
    c = np.cumsum(np.concatenate([[0.0], values]))
    n = np.arange(1, len(values) + 1)
    lo = np.maximum(n - window, 0)
    return (c[n] - c[lo]) / (n - lo)


def dots(values):
    """Mark each value with a dot where there are few enough to tell apart."""
    return "." if len(values) <= 200 else None


def headroom(ax, frac=0.3):
    """Extend the y axis upwards so that a legend at the top covers no data."""
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + frac * (hi - lo))


def model_label(r):
    return {"rnn_cos": "RNN", "lstm_cos": "LSTM", "gru_cos": "GRU"}.get(str(r["model"]),
                                                                       str(r["model"]))


def plot_file(npz_path, out):
    """Load npz_path and write loss.png, predictions.png and forecast.png into out;
    returns their paths. Raises BadResults for a file that is not a results file."""
    r = load_results(npz_path)
    paths = []
    for name, plot in (("loss", plot_loss), ("predictions", plot_predictions),
                       ("forecast", plot_forecast)):
        paths.append(os.path.join(out, f"{name}.png"))
        plot(r, paths[-1])
    return paths


def main(argv=None):
    p = argparse.ArgumentParser(description="Draw loss.png, predictions.png and "
                                "forecast.png from a saved results file.")
    p.add_argument("--results", default=os.path.join("results", "rnn_cos.npz"),
                   help="the .npz file a training script wrote (default: %(default)s)")
    p.add_argument("--out", default=None,
                   help="folder for the PNG files (default: the results file's folder)")
    args = p.parse_args(argv)
    if matplotlib is None:
        sys.stderr.write("plot_results.py: error: the figures need matplotlib, which is not "
                         "installed: install it with 'python -m pip install matplotlib' "
                         "(or -r requirements.txt)\n")
        return 2
    out = args.out if args.out is not None else (os.path.dirname(args.results) or ".")
    try:
        os.makedirs(out, exist_ok=True)
        paths = plot_file(args.results, out)
    except BadResults as e:
        sys.stderr.write(f"plot_results.py: error: {e}; run `python rnn_cos.py` "
                         f"to make a results file\n")
        return 1
    except OSError as e:
        sys.stderr.write(f"plot_results.py: error: cannot write to {out!r}: "
                         f"{e.strerror or e}\n")
        return 1
    print("wrote " + ", ".join(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
