"""Train the plain RNN, the LSTM and the GRU on the same noisy cosine, from the same seed,
for the same number of iterations, and compare them; then measure the vanishing
gradient of each.

    python compare_cells.py [--iters 50000] [--out results/compare]

writes compare.png (loss curves, one-step errors on a clean cosine, forecasts),
vanishing.png (how fast the gradient of the last step's loss fades with the number of
steps back, at initialisation and after training) and compare.json, and prints a table.
"""
import argparse
import os
import sys
import time

import numpy as np

import gru_cos
import lstm_cos
import plumbing
import rnn_cos
from data import CosineData
from plot_results import moving_average

MODELS = (rnn_cos, lstm_cos, gru_cos)
LABELS = {rnn_cos: "RNN", lstm_cos: "LSTM", gru_cos: "GRU"}
COLORS = {rnn_cos: "tab:blue", lstm_cos: "tab:green", gru_cos: "tab:purple"}
BACK = 100           # vanishing.png: gradients up to this many steps back


def parse_args(argv=None):
    p = plumbing.ArgumentParser(prog="compare_cells.py",
                                description=__doc__.strip().splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--iters", type=plumbing.positive_int, default=50_000,
                   help="training iterations for each cell")
    p.add_argument("--hidden", type=plumbing.positive_int, default=rnn_cos.DEFAULTS["hidden"],
                   help="hidden size of every cell")
    p.add_argument("--lr", type=plumbing.positive_float, default=rnn_cos.DEFAULTS["lr"],
                   help="Adagrad learning rate of every cell")
    p.add_argument("--seed", type=plumbing.seed_int, default=rnn_cos.DEFAULTS["seed"],
                   help="seed of the data and of the initial weights")
    p.add_argument("--out", default=os.path.join("results", "compare"),
                   help="folder for compare.png, vanishing.png and compare.json")
    p.add_argument("--quiet", action="store_true", help="print only the table")
    return p.parse_args(argv)


def vanishing(model, params, resolution):
    """||dL/dh_{T-k}|| / ||dL/dh_T||, k = 0..BACK, L the loss of the last step of a clean
    cosine of BACK + 1 steps."""
    y = np.cos(np.arange(BACK + 2) * resolution)
    norms = model.hidden_gradients(params, y[:-1], y[-1])
    return norms / norms[0]


def train_one(model, args, quiet):
    """Train one cell as rnn_cos.py would with these settings; returns what was measured."""
    settings = plumbing.parse_args(model, ["--iters", str(args.iters), "--hidden",
                                           str(args.hidden), "--seed", str(args.seed),
                                           "--lr", repr(args.lr), "--no-plot"])
    data_seed, init_seed = np.random.SeedSequence(args.seed).spawn(2)
    data = CosineData(settings.points, 0.0, settings.resolution * (settings.points - 1),
                      noise=settings.noise, seed=data_seed)
    params = model.init_params(args.hidden, np.random.default_rng(init_seed))
    at_init = vanishing(model, params, data.resolution)
    if not quiet:
        print(f"{LABELS[model]}:")
    t = time.perf_counter()
    losses, _ = rnn_cos.train(model.lossFun, params, data, args.iters, settings.steps,
                              settings.lr, model.init_state(args.hidden), settings.hprev,
                              progress=plumbing.Progress(args.iters, quiet=quiet))
    seconds = time.perf_counter() - t
    r = rnn_cos.evaluate(model, params, data.resolution)
    return dict(losses=losses, results=r, vanishing_init=at_init,
                vanishing_trained=vanishing(model, params, data.resolution),
                us_per_iter=1e6 * seconds / args.iters,
                parameters=int(sum(v.size for v in params.values())))


def plot_compare(runs, path):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(9, 10.5), layout="constrained")
    loss_ax, err_ax, fc_ax = fig.subplots(3, 1)
    for model, run in runs.items():
        n = len(run["losses"])
        window = max(1, min(1000, n // 20))
        loss_ax.plot(np.arange(1, n + 1), moving_average(run["losses"], window),
                     color=COLORS[model], label=LABELS[model])
    loss_ax.set_yscale("log")
    loss_ax.set_xlabel("iteration")
    loss_ax.set_ylabel(f"training loss (MSE),\nmean of the last {window:,}")
    loss_ax.set_title("Training loss: the same data, seed and iterations for each cell")
    loss_ax.legend()
    r0 = next(iter(runs.values()))["results"]
    x = r0["test_x"][1:]
    for model, run in runs.items():
        r = run["results"]
        err_ax.plot(x, r["test_predictions"] - r["test_targets"], color=COLORS[model],
                    label=f"{LABELS[model]} (MSE {r['test_mse']:.1e} after {r['warmup']} steps)")
    err_ax.axhline(0, color="black", lw=0.8)
    warm = int(r0["warmup"])
    err_ax.axvspan(x[0], x[warm - 1], color="0.9", label="warm-up, not in the MSE")
    after = max(np.max(np.abs(run["results"]["test_predictions"][warm:]
                              - run["results"]["test_targets"][warm:])) for run in runs.values())
    err_ax.set_ylim(-2.5 * after, 2.5 * after)        # the warm-up's large errors run off
    err_ax.set_xlabel("x (radians)")
    err_ax.set_ylabel("one-step prediction − true")
    err_ax.set_title("One-step predictions on a clean cosine: the error of each cell")
    err_ax.legend(ncol=2, fontsize="small", loc="upper right")
    k = len(r0["forecast_seed"])
    fx = r0["forecast_x"]
    fc_ax.plot(fx[:k], r0["forecast_seed"], color="black", lw=1.5, label="seed")
    fc_ax.plot(fx[k:], r0["forecast_true"], color="0.35", lw=5, alpha=0.35, label="truth")
    for model, run in runs.items():
        r = run["results"]
        fc_ax.plot(fx[k:], r["forecast"], color=COLORS[model], lw=1.5,
                   label=f"{LABELS[model]} (RMSE {r['forecast_rmse']:.3f})")
    fc_ax.axvline(fx[k - 1], color="black", ls=":", lw=1)
    lo, hi = fc_ax.get_ylim()
    fc_ax.set_ylim(lo, hi + 0.45 * (hi - lo))
    fc_ax.set_xlabel("x (radians)")
    fc_ax.set_ylabel("value")
    fc_ax.set_title("Forecasts: each cell fed its own predictions after 40 true values")
    fc_ax.legend(loc="upper center", ncol=5, fontsize="small")
    for ax in (loss_ax, err_ax, fc_ax):
        ax.grid(True, alpha=0.3)
    plumbing.write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=100))


def plot_vanishing(runs, path):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(8, 4.8), layout="constrained")
    ax = fig.subplots()
    k = np.arange(BACK + 1)
    tiny = np.finfo(float).tiny
    for model, run in runs.items():
        ax.plot(k, np.maximum(run["vanishing_init"], tiny), color=COLORS[model], ls="--",
                lw=1.2, label=f"{LABELS[model]}, at initialisation")
        ax.plot(k, np.maximum(run["vanishing_trained"], tiny), color=COLORS[model], lw=2,
                label=f"{LABELS[model]}, trained")
    ax.set_yscale("log")
    ax.set_ylim(bottom=1e-30, top=10)
    ax.set_xlabel("k, steps back from the last step")
    ax.set_ylabel("‖dL/dh_{T−k}‖ / ‖dL/dh_T‖  (log scale)")
    ax.set_title("Vanishing gradients: how much of the last step's gradient reaches "
                 "k steps back")
    ax.legend(ncol=3, fontsize="small", loc="lower left")
    ax.grid(True, which="major", alpha=0.3)
    plumbing.write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=100))


def main(argv=None):
    args = parse_args(argv)
    problem = plumbing.check_out_folder(args.out)
    if problem:
        return plumbing.fail("compare_cells.py", problem, 2)
    try:
        runs = {model: train_one(model, args, args.quiet) for model in MODELS}
    except plumbing.Diverged as e:
        return plumbing.fail("compare_cells.py", f"{e}; nothing was written", 1)
    except KeyboardInterrupt:
        return plumbing.fail("compare_cells.py", "interrupted; nothing was written", 130)

    table = {}
    for model, run in runs.items():
        r = run["results"]
        v = run["vanishing_trained"]
        table[LABELS[model]] = dict(
            test_mse=r["test_mse"], forecast_rmse=r["forecast_rmse"],
            us_per_iter=round(run["us_per_iter"], 1), parameters=run["parameters"],
            train_loss_last_1000=float(np.mean(run["losses"][-1000:])),
            gradient_ratio_trained={str(k): float(v[k]) for k in (10, 20, 50, 100)},
            gradient_ratio_init={str(k): float(run["vanishing_init"][k]) for k in (10, 20, 50, 100)})
    summary = dict(iters=args.iters, hidden=args.hidden, lr=args.lr, seed=args.seed,
                   cells=table)
    import matplotlib
    matplotlib.use("Agg")
    plot_compare(runs, os.path.join(args.out, "compare.png"))
    plot_vanishing(runs, os.path.join(args.out, "vanishing.png"))
    plumbing.save_json(os.path.join(args.out, "compare.json"), summary)

    print(f"{args.iters:,} iterations each, hidden size {args.hidden}, learning rate "
          f"{args.lr:g}, seed {args.seed}")
    print(f"{'cell':<5} {'one-step test MSE':>17} {'forecast RMSE':>13} "
          f"{'us/iteration':>12} {'parameters':>10} {'gradient at k=20':>16}")
    for name, row in table.items():
        print(f"{name:<5} {row['test_mse']:>17.2e} {row['forecast_rmse']:>13.3f} "
              f"{row['us_per_iter']:>12.0f} {row['parameters']:>10,} "
              f"{row['gradient_ratio_trained']['20']:>16.1e}")
    print(f"wrote {args.out}/compare.png, vanishing.png, compare.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
