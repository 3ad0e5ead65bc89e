"""The laboratory's figures, drawn from a saved results file alone.

    python -m lab.figures --results FILE_OR_FOLDER [--out FOLDER]

For a run of the CSV mode (python -m lab.series) it draws
  loss.png         the training loss per iteration (log axes)
  predictions.png  one-step predictions on the held-out rows, beside the window models
  forecast.png     the network on its own from the end of the training rows, with the
                   80% interval of its simulated futures
  horizon.png      the RMSE of forecasts from every origin in the held-out rows, by steps
                   ahead, and how often the 80% interval held the truth
  ahead.png        with --ahead: the forecast past the end of the data, with its interval
and for what a network learned (python -m lab.inside)
  learning.png     the forecast at a dozen points of training, one panel each
  learning.gif     the same as an animation, with the loss curve
  memory.png       what the hidden state does, and the oscillator the network became
  vanishing_<cell>.png  how far back the gradient of the last step's loss reaches, before
                   and after training: the vanishing gradient
  loss_by_step.png the trained network's error at each step of a training window
Runs headless. The results file is read with allow_pickle=False.
"""
import argparse
import io
import os
import shutil
import sys
import tempfile
import zipfile

import numpy as np

from lab import plumbing
from lab.plumbing import NO_MATPLOTLIB, fail, write_atomic
from lab.poly import label as poly_label

matplotlib = Figure = FigureCanvasAgg = None   # imported when a figure is first drawn


def load_matplotlib():
    """Import matplotlib, to draw to files and never to a window: on the first figure
    only, so that a file refused takes no time (ImportError without it)."""
    global matplotlib, Figure, FigureCanvasAgg
    if matplotlib is None:
        import matplotlib as mpl
        import matplotlib.ticker  # noqa: F401
        mpl.use("Agg")
        from matplotlib.backends.backend_agg import FigureCanvasAgg as canvas
        from matplotlib.figure import Figure as figure
        matplotlib, Figure, FigureCanvasAgg = mpl, figure, canvas

REQUIRED = ("model", "loss", "noise", "test_x", "test_inputs", "test_targets",
            "test_predictions", "test_mse", "forecast_x", "forecast_seed",
            "forecast_true", "forecast", "forecast_rmse", "warmup", "x_label", "y_label",
            "series")
COLORS = dict(truth="0.35", prediction="tab:orange", seed="black", error="tab:red",
              baseline="tab:blue", ar="tab:green", loss="tab:blue", poly="tab:purple",
              esn="tab:brown")
LEARNING_FRAME_MS = 900    # how long each snapshot stays on screen in learning.gif
# fixed margins: a layout engine would cost more time than drawing the figure
MARGINS = dict(left=0.1, right=0.98, bottom=0.12, top=0.92)
LINES = ("test_x", "test_inputs", "test_targets", "test_predictions", "forecast_x",
         "forecast_seed", "forecast_true", "forecast", "loss")        # 1-d arrays
FINITE = ("test_x", "test_inputs", "test_targets", "forecast_x", "forecast_seed",
          "forecast_true")                                # data, never NaN (a forecast may be)
TEXT = ("model", "hprev", "series", "x_label", "y_label", "csv", "column",
        "data_fingerprint", "window_model")                        # every other array holds numbers
LEARNING_KEYS = ("snap_iters", "snap_forecast", "snap_loss", "snap_forecast_rmse")
MEMORY_KEYS = ("memory_h", "memory_x", "memory_input", "memory_loop", "learned_period",
               "true_period", "learned_amplitude", "loop_variance_explained")
EIGEN_KEYS = ("memory_eigenvalues", "memory_fixed_point", "spectral_radius",
              "leading_eigenvalue_modulus", "leading_eigenvalue_angle", "linear_period")


class BadResults(Exception):
    """The file is missing or is not a results file; the message says why."""


def results_in(path):
    """The results file that path names: path itself, or the one results file (*.npz)
    in the folder path. BadResults, saying which file to give, otherwise."""
    if os.path.isdir(path):
        found = sorted(n for n in os.listdir(path) if n.endswith(".npz"))
        if len(found) == 1:
            return os.path.join(path, found[0])
        if not found:
            raise BadResults(f"{path} is a folder with no results file (.npz) in it")
        raise BadResults(f"{path} is a folder with {len(found)} results files; give one: "
                         + ", ".join(os.path.join(path, n) for n in found))
    if not os.path.exists(path):
        raise BadResults(f"{path}: no such file")
    if not os.path.isfile(path):                 # a FIFO, a device: never opened
        raise BadResults(f"{path} is not a regular file")
    return path


def load_results(path):
    """The arrays of a results file as a dict; BadResults when it can't be one."""
    path = results_in(path)
    if not path.endswith(".npz"):
        folder = os.path.dirname(path) or "."
        found = sorted(n for n in os.listdir(folder) if n.endswith(".npz"))
        hint = (f"; the results file is {os.path.join(folder, found[0])}" if len(found) == 1
                else "; give the .npz file a training script wrote")
        raise BadResults(f"{path} is not a results file{hint}")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as e:
        raise BadResults(f"{path}: unreadable ({e.strerror or e})")
    if magic != b"PK\x03\x04":                   # every .npz is a zip file
        raise BadResults(f"{path} is not a results file (not an .npz file)")
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
    wrong = next((k for k in r if k not in TEXT and r[k].dtype.kind not in "fiubc"), None)
    if wrong is not None:
        raise BadResults(f"{path}: {wrong!r} holds {r[wrong].dtype} values, not numbers")
    if r["loss"].ndim != 1 or len(r["loss"]) == 0:
        raise BadResults(f"{path}: the loss history is empty")
    if not np.any(np.isfinite(r["loss"])):
        raise BadResults(f"{path}: the loss history holds no finite value")
    odd = next((k for k in REQUIRED[1:] if k not in TEXT and r[k].ndim != (k in LINES) or
                k in FINITE and not np.all(np.isfinite(r[k]))), None)
    if odd or "memory_loop" in r and r["memory_loop"].shape[1:] != (2,):
        raise BadResults(f"{path}: {odd or 'memory_loop'!r} is not what a run writes there")
    n = len(r["test_inputs"])
    if not (len(r["test_targets"]) == len(r["test_predictions"]) == n == len(r["test_x"]) - 1):
        raise BadResults(f"{path}: the test arrays do not match in length")
    if len(r["forecast_x"]) != len(r["forecast_seed"]) + len(r["forecast"]):
        raise BadResults(f"{path}: the forecast arrays do not match in length")
    return r


def save_figure(fig, path, dpi=100):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    write_atomic(path, lambda f: f.write(buf.getvalue()))


# ---------------------------------------------------------------------------------------
# loss.png, predictions.png, forecast.png
def plot_loss(r, path):
    loss = r["loss"]
    it = np.arange(1, len(loss) + 1)
    fig = Figure(figsize=(8, 4.2))
    fig.subplots_adjust(**MARGINS)
    ax = fig.subplots()
    # every iteration of the first 2,000, then every step-th: quick to draw, and on a log
    # axis the early drop keeps every point
    step = max(1, len(loss) // 10000)
    shown = np.r_[np.arange(min(len(loss), 2000)), np.arange(2000, len(loss), step)]
    ax.plot(it[shown], loss[shown], color=COLORS["loss"], alpha=0.2, lw=0.5,
            label="loss of each window" + (f" (after 2,000: every {step}th)" if step > 1 else ""))
    ax.plot(it, log_smooth(loss), color=COLORS["loss"], lw=2,
            label="mean of the last 10% of the iterations (at most 1,000)")
    noise = float(r["noise"])
    if noise > 0:
        ax.axhline(noise ** 2, color="black", ls="--", lw=1,
                   label=f"noise variance ${noise:g}^2 = {noise ** 2:g}$")
    anneal = float(r.get("anneal", 0))
    if anneal > 0 and len(loss) == int(r["iters"]):
        ax.axvspan(len(loss) * (1 - anneal), len(loss), color="0.9",
                   label=f"learning rate annealed to 0 (last {anneal:.0%})")
    if "best_iteration" in r:
        ax.axvline(max(int(r["best_iteration"]), 1), color="tab:green", lw=1.5,
                   label=f"weights kept: iteration {int(r['best_iteration']):,} "
                         f"(best on the validation rows)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("iteration (log scale)")
    units = "normalised units" if "mean" in r and "baseline_rmse" in r else "MSE"
    ax.set_ylabel(f"training loss ({units}, log scale)")
    recent = float(np.mean(loss[-1000:]))
    ax.set_title(f"{model_label(r)}: training loss of {len(loss):,} iterations "
                 f"(mean of the last {min(len(loss), 1000):,}: {recent:.4f})")
    ax.legend(loc="lower left", fontsize="small")
    ax.grid(True, which="major", alpha=0.3)
    save_figure(fig, path)


def plot_loss_by_step(r, path):
    """Why the training loss stays above the noise: the trained network's MSE at each
    step of a training window, every window started from h_0 = 0."""
    fig, ax = one_axes(4.2)
    pos, noise = r["position_mse"], float(r["noise"])
    ax.bar(np.arange(1, len(pos) + 1), pos, color=COLORS["loss"], alpha=0.8,
           label="the trained network's MSE at this step of a window")
    if noise > 0:
        ax.axhline(noise ** 2, color="black", ls="--", lw=1,
                   label=f"the noise's variance, {noise ** 2:g}: what knowing the clean "
                         f"cosine would leave")
    ax.set_yscale("log")
    ax.set_xlabel("step of the training window (each window starts from $h_0 = 0$)")
    ax.set_xticks(np.arange(1, len(pos) + 1, max(1, len(pos) // 10)))
    ax.set_ylabel("MSE on the training data (log scale)")
    ax.set_title(f"{model_label(r)}: its first steps, from $h_0 = 0$, know too little of the "
                 f"past (MSE {pos[0]:.3g} at step 1,\n{pos[-1]:.3g} at step {len(pos)}): "
                 f"that keeps the training loss, their mean, above the noise",
                 fontsize="medium")
    headroom(ax, 0.0)
    ax.set_ylim(top=ax.get_ylim()[1] * 8)
    ax.legend(loc="upper right", fontsize="small")
    ax.grid(True, which="major", alpha=0.3)
    save_figure(fig, path)


def log_smooth(values):
    """out[n] = the mean of the last 10% of values[:n+1] (at least 1, at most 1,000): a
    smoothing that suits a log axis, where early iterations are few and far apart."""
    c = np.cumsum(np.concatenate([[0.0], values]))
    n = np.arange(1, len(values) + 1)
    w = np.clip(np.ceil(0.1 * n).astype(int), 1, 1000)
    return (c[n] - c[n - w]) / w


def plot_predictions(r, path):
    x, targets, pred = r["test_x"][1:], r["test_targets"], r["test_predictions"]
    warmup = int(r["warmup"])
    ar = "ar_predictions" in r                    # the linear model beside the network
    ar_name = ar_label(r) if ar else ""
    fig = Figure(figsize=(8, 5.5))
    fig.subplots_adjust(**dict(MARGINS, bottom=0.09, top=0.92, hspace=0.06))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2.2, 1])
    top.plot(x, targets, color=COLORS["truth"], lw=3, alpha=0.5,
             label=f"true next value of {r['series']}")
    top.plot(x, pred, color=COLORS["prediction"], lw=1.5, marker=dots(pred), ms=4,
             label=f"{network_label(r)}, one step ahead")
    if ar:
        top.plot(x, r["ar_predictions"], color=COLORS["ar"], lw=1, ls=":", label=ar_name)
    poly = "poly_predictions" in r                # a CSV series: the polynomial model too
    if poly:
        top.plot(x, r["poly_predictions"], color=COLORS["poly"], lw=1, ls="-.",
                 label=poly_label(r))
    esn = "esn_predictions" in r and np.all(np.isfinite(r["esn_predictions"]))
    if esn:                                       # the control: a fixed random recurrence
        top.plot(x, r["esn_predictions"], color=COLORS["esn"], lw=1, ls=(0, (1, 1)),
                 label=f"echo-state network ({int(r['esn_units'])} units)")
    if "baseline_rmse" in r:                      # a CSV series: held-out rows
        top.plot(x, r["test_inputs"], color=COLORS["baseline"], lw=1, ls="--",
                 label="same as last value")
        top.set_title(f"{model_label(r)}, one-step on the {len(x)} held-out rows: RMSE "
                      f"{float(r['test_rmse']):.3g};\n{ar_name} "
                      f"{float(r['ar_rmse']):.3g}; "
                      + (f"{poly_label(r)} {float(r['poly_rmse']):.3g}; " if poly else "")
                      + (f"\nthe echo-state network {float(r['esn_rmse']):.3g}; " if esn
                         else "")
                      + f"same as last value {float(r['baseline_rmse']):.3g}",
                      fontsize="medium")
        fig.subplots_adjust(top=0.88 if esn else 0.92)
    else:
        winner = ("the linear model wins" if ar and float(r["ar_mse"]) < float(r["test_mse"])
                  else "")
        top.set_title(f"{model_label(r)}, one-step on a clean cosine, MSE after {warmup} "
                      f"steps: network {float(r['test_mse']):.1e}"
                      + (f", {ar_name} {float(r['ar_mse']):.1e}" if ar else "")
                      + (f";\n{winner}" if winner else "")
                      + f" ('same as last value': {float(r['baseline_mse']):.1e})",
                      fontsize="medium")
    top.set_ylabel(str(r["y_label"]))
    headroom(top, 0.45 if "baseline_rmse" in r else 0.3)
    top.legend(loc="upper center", ncol=2 if "baseline_rmse" in r else 3, fontsize="small")

    error = pred - targets
    bottom.axhline(0, color="black", lw=0.8)
    bottom.plot(x, error, color=COLORS["prediction"], lw=1.2, label=network_label(r))
    if ar:
        bottom.plot(x, r["ar_predictions"] - targets, color=COLORS["ar"], lw=1.2,
                    label=ar_name)
    if poly:
        bottom.plot(x, r["poly_predictions"] - targets, color=COLORS["poly"], lw=1.2,
                    label=poly_label(r))
    if esn:
        bottom.plot(x, r["esn_predictions"] - targets, color=COLORS["esn"], lw=1.2)
    if warmup:
        bottom.axvspan(x[0], x[min(warmup, len(x)) - 1], color="0.85",
                       label=f"warm-up ({warmup} steps, not in the MSE)")
        scored = np.abs(error[warmup:])
        limit = 1.3 * float(scored.max()) if len(scored) else 1.0
        early = float(np.max(np.abs(error[:warmup])))
        if early > limit:                         # the warm-up's large errors leave the axes
            bottom.set_ylim(-limit, limit)
    # no legend here (it would hide errors): the colours are those of the panel above
    if warmup:
        bottom.text(x[0], bottom.get_ylim()[1], " warm-up, not scored", fontsize="x-small",
                    va="top")
    bottom.set_xlabel(str(r["x_label"]))
    bottom.set_ylabel("prediction − true")
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
    save_figure(fig, path)


def plot_forecast(r, path):
    x, seed, truth, fc = r["forecast_x"], r["forecast_seed"], r["forecast_true"], r["forecast"]
    k = len(seed)
    fig = Figure(figsize=(8, 4.2))
    fig.subplots_adjust(**dict(MARGINS, top=0.84 if int(r["warmup"]) else 0.88))
    ax = fig.subplots()
    shown = min(k, max(40, 2 * len(fc)))      # a long seed: only its end, for scale
    what = "seed" if int(r["warmup"]) else "training rows"
    ax.plot(x[k - shown:k], seed[k - shown:], color=COLORS["seed"], lw=1.5,
            label=f"{what}: {k} true values" if shown == k else
            f"{what} (last {shown} of {k})")
    ax.plot(x[k - 1:], np.r_[seed[-1], truth], color=COLORS["truth"], lw=5, alpha=0.4,
            label="true continuation")
    if "test_lower" in r:                      # a CSV series: the 80% interval of its futures
        ax.fill_between(x[k - 1:], np.r_[seed[-1], r["test_lower"]],
                        np.r_[seed[-1], r["test_upper"]], color=COLORS["prediction"],
                        alpha=0.15, lw=0, label=f"80% interval: it holds "
                        f"{100 * float(r['coverage_80']):.0f}% of the true values")
    ax.plot(x[k - 1:], np.r_[seed[-1], fc], color=COLORS["prediction"], lw=1.5,
            marker=dots(fc), ms=4, markevery=range(1, len(fc) + 1),
            label=f"{network_label(r)}, fed its own output")
    if "ar_forecast" in r:
        ax.plot(x[k - 1:], np.r_[seed[-1], r["ar_forecast"]], color=COLORS["ar"], lw=1.2,
                ls=":", label=f"{ar_label(r)}, fed its own output")
    if "poly_forecast" in r:
        ax.plot(x[k - 1:], np.r_[seed[-1], r["poly_forecast"]], color=COLORS["poly"], lw=1.2,
                ls="-.", label=f"{poly_label(r)}, fed its own output")
    if "drift_forecast" in r:
        ax.plot(x[k - 1:], np.r_[seed[-1], r["drift_forecast"]], color=COLORS["baseline"],
                lw=1, ls="--", label="drift line")
    ax.axvline(x[k - 1], color="black", ls=":", lw=1)
    ax.set_xlabel(str(r["x_label"]))
    ax.set_ylabel(str(r["y_label"]))
    ar = (f", AR({int(r['ar_order'])}) {float(r['ar_forecast_rmse']):.3g}"
          if "ar_forecast_rmse" in r else "")
    if "poly_forecast_rmse" in r:
        ar += f", polynomial {float(r['poly_forecast_rmse']):.3g}"
    if "drift_forecast" in r:                  # a CSV series: the drift line drawn
        ar += f", drift line {float(r['drift_rmse']):.3g}"
    if int(r["warmup"]):
        what = (f"{len(fc)} steps on its own after {k} true values:\nRMSE network "
                f"{float(r['forecast_rmse']):.3g}{ar}\n{period_text(r)}")
    else:
        what = (f"the {len(fc)} held-out rows on its own:\nRMSE network "
                f"{float(r['forecast_rmse']):.3g}{ar}")
        if "valid_steps" in r:
            what += (f"; valid for {int(r['valid_steps'])} steps (AR: "
                     f"{int(r['ar_valid_steps'])})")
    ax.set_title(f"{model_label(r)}, forecast: {what}", fontsize="medium")
    clip_note(ax, fc, np.r_[seed[k - shown:], truth])
    headroom(ax)
    ax.legend(loc="upper center", ncol=2, fontsize="small")
    ax.grid(True, alpha=0.3)
    save_figure(fig, path)


def period_text(r):
    learned, true = float(r["learned_period"]), float(r["true_period"])
    if not np.isfinite(learned):
        return f"on its own it settles and does not oscillate (true period {true:.3f} steps)"
    return f"period {learned:.3f} steps (true {true:.3f})"


def clip_note(ax, curve, reference, margin=0.6):
    """Keep the y axis to the reference values (plus a margin); if the curve goes
    further, say so in the legend rather than squash the reference."""
    lo, hi = float(np.min(reference)), float(np.max(reference))
    pad = margin * (hi - lo)
    finite = np.asarray(curve)[np.isfinite(curve)]
    if len(finite) and (finite.min() < lo - pad or finite.max() > hi + pad) or \
            len(finite) < len(curve):
        ax.set_ylim(lo - pad, hi + pad)
        extreme = finite[np.argmax(np.abs(finite))] if len(finite) else float("nan")
        ax.plot([], [], " ", label=f"the forecast leaves the axes (it reaches {extreme:.3g})")


# ---------------------------------------------------------------------------------------
# learning.png and learning.gif
def forecast_panel(ax, r, i, shown_seed=16, ylim=(-1.7, 1.7)):
    """Panel of snapshot i: the end of the seed, the truth and that snapshot's forecast."""
    x, seed, truth = r["forecast_x"], r["forecast_seed"], r["forecast_true"]
    fc = r["snap_forecast"][i]
    k = len(seed)
    ax.plot(x[k - shown_seed:k], seed[-shown_seed:], color=COLORS["seed"], lw=1.5,
            label="seed (true values)")
    ax.plot(x[k - 1:], np.r_[seed[-1], truth], color=COLORS["truth"], lw=4, alpha=0.35,
            label="truth")
    ax.plot(x[k - 1:], np.r_[seed[-1], fc], color=COLORS["prediction"], lw=1.5,
            label="forecast, fed its own output")
    ax.axvline(x[k - 1], color="black", ls=":", lw=0.8)
    ax.set_ylim(*ylim)
    if leaves(fc, ylim[1]):
        ax.text(0.98, 0.04, "leaves the axes", transform=ax.transAxes, ha="right",
                fontsize="x-small", color=COLORS["prediction"])
    n = int(r["snap_iters"][i])
    ax.set_title(f"iteration {n:,}\nloss {float(r['snap_loss'][i]):.3g}, forecast RMSE "
                 f"{float(r['snap_forecast_rmse'][i]):.3f}", fontsize="small")


def leaves(curve, limit):
    """True when the curve goes past +-limit, or is not finite somewhere."""
    curve = np.asarray(curve)
    return bool(np.any(~np.isfinite(curve)) or np.any(np.abs(curve[np.isfinite(curve)]) > limit))


def plot_learning(r, path):
    iters = r["snap_iters"]
    cols = 4
    rows = int(np.ceil(len(iters) / cols))
    fig = Figure(figsize=(11, 2.5 * rows + 0.7))
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.07, top=0.89, wspace=0.08,
                        hspace=0.45)               # fixed margins: quicker than a layout engine
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, sharey=True)).ravel()
    for i, ax in enumerate(axes):
        if i < len(iters):
            forecast_panel(ax, r, i)
            ax.grid(True, alpha=0.3)
        else:
            ax.set_visible(False)
    axes[0].legend(loc="lower left", fontsize="x-small")
    fig.supxlabel(str(r["x_label"]))
    fig.suptitle(f"{model_label(r)} learning: its forecast after {len(r['forecast_seed'])} "
                 f"true values, at {len(iters)} points of training (loss: mean of the "
                 f"100 iterations before)")
    save_figure(fig, path)


def plot_learning_gif(r, path):
    """learning.gif: a frame per snapshot, the forecast above and the loss curve below
    with a marker at the snapshot. The figure is drawn once; each frame redraws only
    what moves (the forecast, the title, the marker) on top of it, and Pillow, which
    matplotlib installs, writes the frames as a GIF."""
    from PIL import Image
    loss, iters = r["loss"], r["snap_iters"]
    fig = Figure(figsize=(6.4, 4.8), dpi=100)
    fig.subplots_adjust(left=0.11, right=0.97, bottom=0.1, top=0.94, hspace=0.28)
    top, bottom = fig.subplots(2, 1, height_ratios=[1.6, 1])
    forecast_panel(top, r, 0)
    fc_line = top.get_lines()[2]
    top.legend(loc="lower left", fontsize="x-small")
    top.grid(True, alpha=0.3)
    for text in top.texts:                          # the panel's own note; see below
        text.remove()
    note = top.text(0.98, 0.04, "", transform=top.transAxes, ha="right",
                    fontsize="x-small", color=COLORS["prediction"])
    smooth = log_smooth(loss)
    shown = np.unique(np.geomspace(1, len(loss), 600).astype(int))   # even on a log axis
    bottom.plot(shown, smooth[shown - 1], color=COLORS["loss"], lw=1.5)
    bottom.set_xscale("log")
    bottom.set_yscale("log")
    plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}")
    bottom.xaxis.set_major_formatter(plain)
    bottom.yaxis.set_major_formatter(plain)
    bottom.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1, 2, 5)))
    bottom.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    bottom.set_xlabel("iteration (log scale)")
    bottom.set_ylabel("training loss")
    bottom.grid(True, alpha=0.3)
    marker, = bottom.plot([], [], "o", color=COLORS["prediction"], ms=8)
    moving = (fc_line, top.title, note, marker)
    for artist in moving:
        artist.set_animated(True)                   # left out of the background
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)
    seed_end, frames = r["forecast_seed"][-1], []
    for i, n in enumerate(iters):
        fc = r["snap_forecast"][i]
        fc_line.set_ydata(np.r_[seed_end, fc])
        note.set_text("leaves the axes" if leaves(fc, top.get_ylim()[1]) else "")
        top.set_title(f"{model_label(r)}, iteration {int(n):,}: forecast RMSE "
                      f"{float(r['snap_forecast_rmse'][i]):.3f}", fontsize="large")
        at = max(int(n), 1)
        marker.set_data([at], [smooth[min(at, len(loss)) - 1]])
        canvas.restore_region(background)
        for artist in moving:
            artist.axes.draw_artist(artist)
        rgba = np.asarray(canvas.buffer_rgba())
        frames.append(Image.fromarray(rgba[..., :3].copy()).quantize(
            colors=64, method=Image.Quantize.MEDIANCUT))
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:],
                   duration=LEARNING_FRAME_MS, loop=0)
    write_atomic(path, lambda f: f.write(buf.getvalue()))


# ---------------------------------------------------------------------------------------
# memory.png
def plot_memory(r, path):
    fig = Figure(figsize=(11, 9))
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.06, top=0.89, wspace=0.28,
                        hspace=0.5)
    (heat_ax, loop_ax), (eig_ax, drift_ax) = fig.subplots(2, 2)
    label = model_label(r)

    # the hidden units over a clean cosine
    h, xs = r["memory_h"], r["memory_x"]
    image = heat_ax.imshow(h.T, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1,
                           extent=[xs[0], xs[-1], h.shape[1] - 0.5, -0.5],
                           interpolation="nearest")
    fig.colorbar(image, ax=heat_ax, label="$h_j$", shrink=0.8)
    twin = heat_ax.twinx()
    twin.plot(xs, r["memory_input"], color="black", lw=1.5)
    twin.set_ylim(-4, 1.2)
    twin.set_yticks([])
    heat_ax.set_xlabel("x (radians); black: the input cos(x)")
    heat_ax.set_ylabel(f"hidden unit (sorted by phase), {h.shape[1]} in all")
    heat_ax.set_title(f"The memory: {label}'s hidden units over a clean cosine, from "
                      f"$h_0 = 0$", fontsize="medium")

    # the loop
    loop = r["memory_loop"]
    loop_ax.plot(loop[:, 0], loop[:, 1], color="tab:purple", lw=1.5, marker=".", ms=5)
    for j in range(0, len(loop) - 1, max(1, len(loop) // 6)):
        loop_ax.annotate("", xy=loop[j + 1], xytext=loop[j],
                         arrowprops=dict(arrowstyle="->", color="tab:purple", lw=1.5))
    oscillates = np.isfinite(float(r["learned_period"]))
    eigen = all(k in r for k in EIGEN_KEYS)        # the plain RNN
    if eigen:
        fp = r["memory_fixed_point"]
        stable = float(r["spectral_radius"]) < 1
        loop_ax.plot(fp[0], fp[1], "x", color="black", ms=10, mew=2,
                     label=f"fixed point $h^*$ ({'stable' if stable else 'unstable'})")
        loop_ax.legend(loc="upper right", fontsize="small")
    loop_ax.set_xlabel("principal component 1")
    loop_ax.set_ylabel("principal component 2")
    loop_ax.set_aspect("equal", adjustable="datalim")
    if oscillates:
        loop_ax.set_title(f"Running on its own: a closed loop (3 periods shown;\nthe 2 "
                          f"principal components hold "
                          f"{float(r['loop_variance_explained']):.1%} of the variance)",
                          fontsize="medium")
    else:
        loop_ax.set_title("Running on its own, after the transient:\nit settles, and "
                          "does not oscillate", fontsize="medium")

    # the eigenvalues at the fixed point (the plain RNN)
    resolution = 2 * np.pi / float(r["true_period"])
    if eigen:
        ev = r["memory_eigenvalues"]
        t = np.linspace(0, 2 * np.pi, 200)
        eig_ax.plot(np.cos(t), np.sin(t), color="0.5", lw=1, label="unit circle")
        eig_ax.plot(ev.real, ev.imag, "o", color="tab:blue", ms=5, alpha=0.8,
                    label="eigenvalues of $J = \\mathrm{diag}(1 - h^{*2})\\, M$")
        mod, ang = float(r["leading_eigenvalue_modulus"]), float(r["leading_eigenvalue_angle"])
        eig_ax.plot([mod * np.cos(ang)] * 2, [mod * np.sin(ang), -mod * np.sin(ang)], "o",
                    mfc="none", mec="tab:red", ms=12, mew=2,
                    label=f"leading pair: $|\\lambda|$ = {mod:.3f}, angle {ang:.3f} rad")
        reach = max(1.2, mod * 1.15)
        eig_ax.plot([0, reach * np.cos(resolution)], [0, reach * np.sin(resolution)],
                    color="tab:red", ls=":", lw=1.2,
                    label=f"the sampling step, {resolution:.3g} rad")
        eig_ax.set_aspect("equal")
        eig_ax.set_xlim(-reach, reach)
        eig_ax.set_ylim(-reach, reach)
        eig_ax.set_xlabel("real part")
        eig_ax.set_ylabel("imaginary part")
        eig_ax.legend(loc="lower left", fontsize="x-small")
        radius = float(r["spectral_radius"])
        growth = "grows" if mod > 1 else "shrinks"
        eig_ax.set_title(f"Linearised at the fixed point $h^*$: largest $|\\lambda|$ "
                         f"{radius:.2f} ({'unstable' if radius > 1 else 'stable'}),\nthe "
                         f"leading pair {growth} {mod:.2f}x and turns "
                         f"{ang:.3f} rad a step. The state\nleaves $h^*$ for the loop, where "
                         f"the tanh saturates (vanishing_{model_label(r).lower()}.png)",
                         fontsize="medium")
        eig_ax.grid(True, alpha=0.3)
    else:
        eig_ax.axis("off")
        eig_ax.text(0.5, 0.5, f"The fixed point and its eigenvalues are worked out\nfor "
                    f"the plain RNN, whose free-running map is\n"
                    f"$h \\leftarrow \\tanh(M h + b)$; the {label}'s state is\nmore than "
                    f"h, so this panel is left out.", ha="center", va="center",
                    fontsize="medium")

    # why a small period error makes a long forecast drift
    learned, true = float(r["learned_period"]), float(r["true_period"])
    measured = r["memory_drift_measured"]
    steps = np.arange(1, len(measured) + 1)
    drift_ax.plot(steps, measured, color=COLORS["prediction"], lw=2,
                  label="measured: its forecast from the seed, RMSE over the first t steps")
    if np.isfinite(learned):
        delta = steps * (2 * np.pi / learned - resolution)
        drift_ax.plot(steps, np.sqrt(np.cumsum(1 - np.cos(delta)) / steps), color="tab:purple",
                      ls="--", label="a period error alone, had it run on its loop from "
                                     "the first step")
    n = len(r["forecast"])
    drift_ax.plot(n, float(r["forecast_rmse"]), "o", color=COLORS["prediction"], ms=7,
                  label=f"forecast.png's RMSE, after {n} steps")
    drift_ax.set_xlabel("t: steps the network runs on its own")
    drift_ax.set_ylabel("forecast RMSE over the first t steps")
    drift_ax.legend(loc="upper left", fontsize="x-small")
    drift_ax.grid(True, alpha=0.3)
    err = learned - true
    drift_ax.set_title(f"Learned period {learned:.3f} steps, true {true:.3f} ({err:+.3f}, "
                       f"{100 * err / true:+.2f}%);\namplitude (peak to peak) "
                       f"{float(r['learned_amplitude']):.3f}, true 2" if np.isfinite(learned)
                       else "On its own the network settles: no oscillation, no period",
                       fontsize="medium")
    fig.suptitle(f"What the {label} learned: the hidden state as memory, and the network "
                 f"fed its own output" + (", an oscillator" if oscillates else ""))
    save_figure(fig, path)


# ---------------------------------------------------------------------------------------
# vanishing.png
def plot_vanishing(r, path):
    """The gradient of the last step's loss with respect to the hidden state k steps
    back, relative to k = 0, before and after training."""
    fig, ax = one_axes(5.0, left=0.12)
    floor = 1e-30                                    # the axis ends here
    tiny = np.finfo(float).tiny
    label = model_label(r)
    for key, ls, lw, when in (("vanishing_init", "--", 1.2, "at initialisation"),
                              ("vanishing_trained", "-", 2, "trained")):
        g = np.maximum(r[key], tiny)
        k = np.arange(len(g))
        below = np.flatnonzero(g < floor)
        note = f" (below $10^{{-30}}$ from k = {below[0]})" if len(below) else ""
        ax.plot(k, g, color=COLORS["loss"], ls=ls, lw=lw, label=f"{label}, {when}{note}")
    steps = int(r["steps"])
    vanishing_axes(ax, steps, floor)
    trained = np.maximum(r["vanishing_trained"], tiny)
    at = min(steps, len(trained) - 1)
    ax.set_title(f"{label}: the gradient of the last step's loss, k steps back\n"
                 f"trained, {at} steps back {trained[at]:.1e} of it is left", fontsize="medium")
    fig.subplots_adjust(bottom=0.22)
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=2,
               fontsize="small", bbox_to_anchor=(0.5, 0.0))   # below the axes: hides no line
    ax.grid(True, which="major", alpha=0.3)
    save_figure(fig, path)


def one_axes(height=4.2, **margins):
    """A figure 8 inches wide with one axes and the usual fixed margins: (fig, ax)."""
    fig = Figure(figsize=(8, height))
    fig.subplots_adjust(**dict(MARGINS, top=0.88, **margins))
    return fig, fig.subplots()


def plot_horizon(r, path):
    """RMSE against the forecast horizon over every origin in the held-out rows; below,
    when measured, how often the 80% interval held the truth at each horizon."""
    cover = "horizon_coverage_80" in r
    fig = Figure(figsize=(8, 7 if cover else 4.2))
    fig.subplots_adjust(**dict(MARGINS, top=0.92 if cover else 0.88, bottom=0.08 if cover
                               else 0.12, hspace=0.32))
    ax, *below = fig.subplots(2 if cover else 1, 1, squeeze=False)[:, 0]
    h = r["horizon"]
    lines = [("horizon_network", COLORS["prediction"], "o-", "network"),
             ("horizon_linear", COLORS["ar"], "s:", ar_label(r)),
             ("horizon_persistence", COLORS["baseline"], "^--", "same as last value")]
    if "horizon_poly" in r:
        lines.insert(2, ("horizon_poly", COLORS["poly"], "d-.", poly_label(r)))
    for key, color, style, label in lines:
        ax.plot(h, r[key], style, color=color, ms=4, lw=1.5, label=label)
    ax.set_xlabel("steps ahead (horizon)")
    ax.set_ylabel(f"RMSE ({r['y_label']})")
    ax.set_xticks(h if len(h) <= 20 else h[::2])
    ax.set_title(f"{model_label(r)}, forecasts from each of {int(r['horizon_origins'])} origins "
                 f"in the held-out rows:\nRMSE by steps ahead", fontsize="medium")
    headroom(ax, 0.3)
    ax.legend(loc="upper center", ncol=2, fontsize="small")
    ax.grid(True, alpha=0.3)
    if cover:
        plot_coverage(below[0], r)
    save_figure(fig, path)


def plot_coverage(ax, r):
    """The 80% interval's coverage by horizon, with its binomial 95% interval."""
    for name, color, shift, label in (
            ("horizon_coverage", COLORS["prediction"], -0.12, "the test's network"),
            ("ahead_horizon_coverage", COLORS["seed"], 0.12,
             "--ahead's, trained the same way on all but the held-out rows")):
        if f"{name}_80" not in r:
            continue
        c, lo, hi = (100 * np.asarray(r[f"{name}_{k}"], dtype=float)
                     for k in ("80", "lower", "upper"))
        ax.errorbar(np.asarray(r[f"{name}_h"]) + shift, c, yerr=[c - lo, hi - c], fmt="o",
                    color=color, ms=4, capsize=2, lw=1, label=label)
    ax.axhline(80, color="black", lw=0.8, ls=":")
    ax.axhspan(70, 90, color="0.9", zorder=0, label="70% to 90%")
    h = r["horizon_coverage_h"]
    ax.set_xticks(h if len(h) <= 20 else h[::2])
    ax.set_ylim(0, 105)
    ax.set_xlabel("steps ahead (horizon)")
    ax.set_ylabel("held by the 80% interval (%)")
    ax.set_title(f"how often the 80% interval held the true value, from "
                 f"{int(r['horizon_coverage_origins'])} origins (bars: 95% binomial interval)",
                 fontsize="medium")
    ax.legend(loc="lower left", fontsize="small", ncol=2)
    ax.grid(True, alpha=0.3)


def plot_ahead(r, path):
    """--ahead: the end of the series, and the forecast past it with its 80% interval."""
    fig, ax = one_axes()
    x = r["forecast_x"]
    y = np.r_[r["forecast_seed"], r["forecast_true"]]
    fx, fc = r["ahead_x"], r["ahead_forecast"]
    shown = min(len(y), max(40, 4 * len(fc)))
    ax.plot(x[-shown:], y[-shown:], color=COLORS["seed"], lw=1.5,
            label=f"the series (last {shown} of {len(y)} rows)")
    ax.fill_between(np.r_[x[-1], fx], np.r_[y[-1], r["ahead_lower"]],
                    np.r_[y[-1], r["ahead_upper"]], color=COLORS["prediction"], alpha=0.25,
                    lw=0, label="80% interval (simulated futures)")
    ax.plot(np.r_[x[-1], fx], np.r_[y[-1], fc], color=COLORS["prediction"], lw=1.5,
            marker=dots(fc), ms=4, markevery=range(1, len(fc) + 1),
            label=f"{network_label(r)}, fed its own output")
    ax.axvline(x[-1], color="black", ls=":", lw=1)
    ax.set_xlabel(str(r["x_label"]))
    ax.set_ylabel(str(r["y_label"]))
    coverage = (f";\nsimulated from the end of the training part, it held "
                f"{100 * float(r['coverage_80']):.0f}% of the held-out rows"
                if "coverage_80" in r else "")
    if "ahead_horizon_coverage_80" in r:       # measured on the same recipe, held-out rows
        c = 100 * np.asarray(r["ahead_horizon_coverage_80"], dtype=float)[:5]
        coverage = (f";\nthe same recipe on all but the held-out rows: it held "
                    f"{c.min():.0f}% to {c.max():.0f}% of them 1 to {len(c)} steps ahead")
    ax.set_title(f"{model_label(r)}, trained on every row: the next {len(fc)} steps with the "
                 f"80% interval of 500 futures{coverage}", fontsize="medium")
    headroom(ax)
    ax.legend(loc="upper center", ncol=2, fontsize="small")
    ax.grid(True, alpha=0.3)
    save_figure(fig, path)


def vanishing_axes(ax, steps, floor):
    """What every figure of the vanishing gradient shares: the line at --steps, the log
    axis down to floor, the labels."""
    ax.axvline(steps, color="black", ls=":", lw=1,
               label=f"training backpropagates {steps} steps (--steps)")
    ax.set_yscale("log")
    ax.set_ylim(bottom=floor, top=10)
    ax.set_xlabel("k, steps back from the last step")
    ax.set_ylabel(r"$\Vert\partial L/\partial h_{T-k}\Vert \;/\; \Vert\partial L/\partial h_T\Vert$"
                  "  (log scale)")


# ---------------------------------------------------------------------------------------
def dots(values):
    """Mark each value with a dot where there are few enough to tell apart."""
    return "." if len(values) <= 200 else None


def headroom(ax, frac=0.3):
    """Extend the y axis upwards so that a legend at the top covers no data."""
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + frac * (hi - lo))


def ar_label(r):
    """'linear AR(p)', and on a CSV series whether on the levels or the changes."""
    where = ""
    if "ar_diff" in r:
        where = " on the changes" if bool(r["ar_diff"]) else " on the levels"
    return f"linear AR({int(r['ar_order'])}){where}"


def network_label(r):
    """'network', or 'average of 4 networks' when a CSV run kept the average."""
    networks = int(r["networks"]) if "networks" in r else 1
    return "network" if networks == 1 else f"average of {networks} networks"


def model_label(r):
    """'RNN', 'LSTM' or 'GRU'; 'RNN (average of 4)' when a CSV run kept the average of its
    candidates."""
    name = {"rnn_cos": "RNN", "lstm_cos": "LSTM", "gru_cos": "GRU"}.get(str(r["model"]),
                                                                       str(r["model"]))
    networks = int(r["networks"]) if "networks" in r else 1
    return name if networks == 1 else f"{name} (average of {networks})"


def plot_file(npz_path, out):
    """Load npz_path and write its figures into out; returns their paths. Raises
    BadResults for a file that is not a results file."""
    r = load_results(npz_path)
    load_matplotlib()
    if "csv" in r:                               # a run of the CSV mode
        plots = [("loss.png", plot_loss), ("predictions.png", plot_predictions),
                 ("forecast.png", plot_forecast), ("horizon.png", plot_horizon)]
        if "ahead_forecast" in r:
            plots.append(("ahead.png", plot_ahead))
    elif all(k in r for k in LEARNING_KEYS + MEMORY_KEYS):     # python -m lab.inside
        plots = [("learning.png", plot_learning), ("learning.gif", plot_learning_gif),
                 ("memory.png", plot_memory),
                 (f"vanishing_{model_label(r).lower()}.png", plot_vanishing),
                 ("loss_by_step.png", plot_loss_by_step)]
    else:
        raise BadResults(f"{npz_path} is neither a CSV run's results nor lab.inside's"
                         + ("; python plot_results.py draws the tutorial's" if
                            "csv" not in r and "memory_h" not in r else ""))
    # every figure is drawn in a folder of its own first and moved into out only when
    # all of them are: a figure that cannot be drawn leaves every old one as it was
    drawing = tempfile.mkdtemp(dir=out, prefix=".figures-")
    try:
        for name, plot in plots:
            plot(r, os.path.join(drawing, name))
        for name, _ in plots:
            os.replace(os.path.join(drawing, name), os.path.join(out, name))
    finally:
        shutil.rmtree(drawing, ignore_errors=True)
    return [os.path.join(out, name) for name, _ in plots]


PROG = "python -m lab.figures"


def main(argv=None):
    p = argparse.ArgumentParser(prog=PROG, description="Draw the figures of a CSV run "
                                "(python -m lab.series) or of python -m lab.inside from its "
                                "saved results file.")
    p.add_argument("--results", required=True,
                   help="the .npz file the command wrote, or the folder it wrote it in")
    p.add_argument("--out", default=None,
                   help="folder for the figures (default: the results file's folder)")
    args = p.parse_args(argv)
    try:
        results = results_in(args.results)
        out = args.out if args.out is not None else (os.path.dirname(results) or ".")
        os.makedirs(out, exist_ok=True)
        other = [n for n in os.listdir(out) if n.endswith(".npz") and not
                 os.path.samefile(os.path.join(out, n), results)]
        if other:
            raise BadResults(f"{out} holds another run's results ({other[0]}), which these "
                             f"figures are not of: give another --out")
        with plumbing.claimed(out, PROG):
            paths = plot_file(results, out)
    except BadResults as e:
        return fail(PROG, str(e), 2)
    except ImportError:
        return fail(PROG, NO_MATPLOTLIB, 2)
    except OSError as e:
        return fail(PROG, f"cannot write to {out!r}: {e.strerror or e}", 1)
    except (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError) as e:
        # arrays that load but do not fit together (edited, or from another version)
        return fail(PROG, f"{results}: its arrays cannot be drawn ({type(e).__name__}: "
                          f"{e}); no figure was changed", 2)
    print("wrote " + ", ".join(paths))
    return 0


if __name__ == "__main__":
    sys.exit(plumbing.command(main, PROG))
