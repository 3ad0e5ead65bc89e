"""Train the plain RNN, the LSTM and the GRU on the same noisy cosine, over several seeds,
each cell at its own default learning rate, and compare them; then measure the
vanishing gradient of each.

    python -m lab.compare_cells [--iters 100000] [--seeds 0-4] [--workers K] [--out results/compare]

Each (cell, seed) is the cell's own script run in a process of its own (see lab/sweep.py),
all cores at once; its files stay in <out>/runs/. Writes compare.png (loss curves,
one-step test errors and forecast errors over the seeds), vanishing.png (how fast the
gradient of the last step's loss fades with the number of steps back, at initialisation
and after training) and compare.json, and prints a table of medians and ranges.
"""
import os
import sys

import numpy as np

from lab import analysis
import gru_cos
import lstm_cos
from lab import plumbing
import rnn_cos
from lab import runner
from lab import sweep

PROG = "python -m lab.compare_cells"
MODELS = (rnn_cos, lstm_cos, gru_cos)
LABELS = {rnn_cos: "RNN", lstm_cos: "LSTM", gru_cos: "GRU"}
COLORS = {rnn_cos: "tab:blue", lstm_cos: "tab:green", gru_cos: "tab:purple", "AR": "0.3"}
BACK = 100           # vanishing.png: gradients up to this many steps back
MEASURES = ("test_mse", "baseline_mse", "forecast_rmse", "learned_period", "true_period",
            "ar_mse", "ar_forecast_rmse", "ar_order")


def parse_args(argv=None):
    p = plumbing.ArgumentParser(prog=PROG,
                                description=plumbing.first_paragraph(__doc__),
                                formatter_class=plumbing.HelpFormatter)
    p.add_argument("--iters", type=plumbing.positive_int, default=rnn_cos.DEFAULTS["iters"],
                   help="training iterations for each cell")
    p.add_argument("--hidden", type=plumbing.positive_int, default=rnn_cos.DEFAULTS["hidden"],
                   help="hidden size of every cell")
    runner.add_grid_options(p, "0-4", os.path.join("results", "compare"),
                            "folder for compare.png, vanishing.png, compare.json and runs/")
    args = p.parse_args(argv)
    try:
        args.seeds = sweep.parse_seeds(args.seeds)
        for model in MODELS:                         # what each script would refuse
            sweep.settings_of(model.NAME, ["--iters", str(args.iters), "--hidden",
                                      str(args.hidden)])
    except ValueError as e:
        p.error(str(e))
    return args


def run_folder(args, model, seed):
    return os.path.join(args.out, "runs", f"{LABELS[model].lower()}-seed{seed}")


COLUMNS = ["cell", "hidden", "seed", "iters", *runner.FINGERPRINT, "status", "seconds"]


def train_all(args, say):
    """Run every (cell, seed) as its script would, in parallel, each into its own folder
    under <out>/runs/, and note it in <out>/runs.csv; a run already there, made by the
    same code, is not run again. KeyboardInterrupt ends it; RuntimeError, with the first
    failed run's message, if any run failed or diverged."""
    grid = runner.Grid(os.path.join(args.out, "runs.csv"), COLUMNS,
                       ["cell", "hidden", "seed", "iters"], numeric=["seconds"])
    jobs = [dict(model=m, seed=s, row=dict(cell=LABELS[m], hidden=str(args.hidden),
                                           seed=str(s), iters=str(args.iters),
                                           code=runner.code_fingerprint(m.NAME),
                                           data=""))
            for m in MODELS for s in args.seeds]
    todo, have, stale = grid.plan(jobs)          # ValueError: a runs.csv it cannot use
    if grid.dropped_note():
        print(grid.dropped_note(), flush=True)
    lost = [j for j in jobs if j not in todo and not os.path.exists(
        os.path.join(run_folder(args, j["model"], j["seed"]), f"{j['model'].NAME}.npz"))]
    todo += lost                                   # noted, but its files are gone
    say(f"{len(jobs) - len(todo)} of {len(jobs)} runs already in {grid.path}"
        f"{runner.stale_note(stale)}; {len(todo)} to run", flush=True)

    def work(job):
        m, s = job["model"], job["seed"]
        status, _, stderr, seconds = runner.run_script(
            m.NAME, ["--iters", str(args.iters), "--hidden", str(args.hidden),
                             "--seed", str(s), "--no-plot",
                             "--out", run_folder(args, m, s)])
        if status != 0:
            lines = stderr.strip().splitlines()
            message = lines[-1].split(": error: ")[-1] if lines else f"exit status {status}"
            raise runner.Failed(f"{LABELS[m]}, seed {s}: {message}")
        say(f"{LABELS[m]}, seed {s}: done", flush=True)
        return dict(job["row"], status="ok", seconds=f"{seconds:.2f}")

    failed = grid.run(todo, work, args.workers, say)
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(jobs)} runs failed; the first: "
                           f"{failed[0][1]}")


def load_run(args, model, seed):
    """The saved results of one run, with the period it learned (analysis) and the
    gradient's reach, at initialisation (the weights rebuilt from the seed, as the
    script makes them) and trained."""
    path = os.path.join(run_folder(args, model, seed), f"{model.NAME}.npz")
    with np.load(path, allow_pickle=False) as f:
        r = {k: f[k] for k in f.files}
    _, init_seed = np.random.SeedSequence(seed).spawn(2)          # as rnn_cos.run_training
    init = model.init_params(args.hidden, np.random.default_rng(init_seed))
    trained = {k: r[k] for k in init}
    resolution = float(r["resolution"])
    r["learned_period"], *_ = analysis.learned_oscillation(model, trained,
                                                           r["forecast_seed"], resolution)
    r["true_period"] = 2 * np.pi / resolution
    r["vanishing_init"] = analysis.vanishing(model, init, resolution, BACK)
    r["vanishing_trained"] = analysis.vanishing(model, trained, resolution, BACK)
    r["parameters"] = sum(v.size for v in trained.values())
    return r


def summarise(args, runs):
    """compare.json's content: per cell, its learning rate and one entry per seed."""
    cells = {}
    for model in MODELS:
        rs = [runs[model, s] for s in args.seeds]
        entry = dict(lr=float(rs[0]["lr"]), anneal=float(rs[0]["anneal"]),
                     seeds=list(args.seeds), parameters=int(rs[0]["parameters"]))
        for key in MEASURES:
            entry[key] = [float(r[key]) for r in rs]
        entry["train_loss_last_1000"] = [float(np.mean(r["loss"][-1000:])) for r in rs]
        for k in (10, 20, 50, 100):
            entry.setdefault("gradient_ratio_trained", {})[str(k)] = [
                float(r["vanishing_trained"][k]) for r in rs]
            entry.setdefault("gradient_ratio_init", {})[str(k)] = [
                float(r["vanishing_init"][k]) for r in rs]
        cells[LABELS[model]] = entry
    return dict(iters=args.iters, hidden=args.hidden, seeds=list(args.seeds), cells=cells)


def spread(values, fmt):
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return "-"
    return f"{np.median(v):{fmt}} [{v.min():{fmt}}, {v.max():{fmt}}]"


def table(summary):
    n = len(summary["seeds"])
    lines = [f"{summary['iters']:,} iterations each, hidden size {summary['hidden']}, "
             f"seeds {', '.join(map(str, summary['seeds']))}: median [best, worst] of {n} "
             f"(the period: [shortest, longest])",
             f"{'cell':<5} {'lr':>6} {'one-step test MSE':>29} {'forecast RMSE':>23} "
             f"{'learned period':>26} {'params':>6} {'gradient at k=20':>16}"]
    for name, c in summary["cells"].items():
        lines.append(f"{name:<5} {c['lr']:>6g} {spread(c['test_mse'], '.2e'):>29} "
                     f"{spread(c['forecast_rmse'], '.3f'):>23} "
                     f"{spread(c['learned_period'], '.3f'):>26} {c['parameters']:>6,} "
                     f"{np.median(c['gradient_ratio_trained']['20']):>16.1e}")
    c0 = next(iter(summary["cells"].values()))
    orders = sorted({int(p) for p in c0["ar_order"]})
    lines.append(f"{'AR(p)':<5} {'':>6} {spread(c0['ar_mse'], '.2e'):>29} "
                 f"{spread(c0['ar_forecast_rmse'], '.3f'):>23}   the linear model, fitted by "
                 f"least squares on each seed's training data, p = "
                 f"{', '.join(map(str, orders))} (the window, --steps)")
    lines.append(f"true period {c0['true_period'][0]:.3f} steps; 'same as last value' "
                 f"one-step MSE {c0['baseline_mse'][0]:.2e}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# figures
def plot_compare(args, runs, summary, path):
    from matplotlib.figure import Figure
    from lab.figures import log_smooth
    fig = Figure(figsize=(9, 10), layout="constrained")
    top, middle, bottom = fig.subfigures(3, 1, height_ratios=[1.1, 1, 1.1])
    loss_ax = top.subplots()
    mse_ax, fc_ax = middle.subplots(1, 2)
    path_ax = bottom.subplots()
    for model in MODELS:
        curves = np.array([log_smooth(runs[model, s]["loss"]) for s in args.seeds])
        it = np.arange(1, curves.shape[1] + 1)
        loss_ax.fill_between(it, curves.min(0), curves.max(0), color=COLORS[model], alpha=0.2,
                             lw=0)
        loss_ax.plot(it, np.median(curves, axis=0), color=COLORS[model],
                     label=f"{LABELS[model]} (lr {summary['cells'][LABELS[model]]['lr']:g})")
    loss_ax.set_xscale("log")
    loss_ax.set_yscale("log")
    loss_ax.set_xlabel("iteration (log scale)")
    loss_ax.set_ylabel("training loss (MSE), mean of\nthe last 10% of iterations")
    loss_ax.set_title(f"Training loss: median over {len(args.seeds)} seeds, band from best "
                      f"to worst seed")
    loss_ax.legend()
    for ax, key, ar_key, what in (
            (mse_ax, "test_mse", "ar_mse", "one-step test MSE, clean cosine"),
            (fc_ax, "forecast_rmse", "ar_forecast_rmse", "forecast RMSE over 3 periods")):
        ar = summary["cells"]["RNN"][ar_key]                # the same for every cell
        for i, (v, color) in enumerate(
                [(summary["cells"][LABELS[m]][key], COLORS[m]) for m in MODELS]
                + [(ar, COLORS["AR"])]):
            ax.plot(np.full(len(v), i), v, "o", color=color, alpha=0.6, ms=5)
            ax.plot([i - 0.25, i + 0.25], [np.median(v)] * 2, color=color, lw=3)
        ax.set_xticks(range(len(MODELS) + 1), [LABELS[m] for m in MODELS] + ["linear\nAR(p)"])
        ax.set_yscale("log")
        ax.set_ylabel(what)
        ax.set_title(f"{what.split(',')[0]}: a dot per seed", fontsize="medium")
    base = summary["cells"]["RNN"]["baseline_mse"][0]
    mse_ax.axhline(base, color="black", ls="--", lw=1, label=f"same as last value ({base:.1e})")
    mse_ax.legend(fontsize="small", loc="center right")
    first = runs[MODELS[0], args.seeds[0]]
    k = len(first["forecast_seed"])
    fx = first["forecast_x"]
    for model in MODELS:
        for j, s in enumerate(args.seeds):
            path_ax.plot(fx[k:], runs[model, s]["forecast"] - first["forecast_true"],
                         color=COLORS[model], lw=1, alpha=0.7,
                         label=f"{LABELS[model]}, each seed" if j == 0 else None)
    path_ax.axhline(0, color="black", lw=0.8)
    path_ax.set_xlabel("x (radians)")
    path_ax.set_ylabel("forecast − true cosine")
    path_ax.set_title("Forecast errors after 40 true values, fed their own output: "
                      "one line per seed")
    path_ax.legend(ncol=3, fontsize="small", loc="upper left")
    for ax in (loss_ax, mse_ax, fc_ax, path_ax):
        ax.grid(True, alpha=0.3)
    plumbing.write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=100))


def plot_vanishing(args, runs, path):
    from matplotlib.figure import Figure
    from lab.figures import vanishing_axes
    fig = Figure(figsize=(8, 4.8), layout="constrained")
    ax = fig.subplots()
    k = np.arange(BACK + 1)
    tiny = np.finfo(float).tiny
    floor = 1e-30                                    # the axis ends here
    for model in MODELS:
        for key, ls, lw, when in (("vanishing_init", "--", 1.2, "at initialisation"),
                                  ("vanishing_trained", "-", 2, "trained")):
            curves = np.maximum([runs[model, s][key] for s in args.seeds], tiny)
            median = np.median(curves, axis=0)
            below = np.flatnonzero(median < floor)
            note = f" (below $10^{{-30}}$ from k = {below[0]})" if len(below) else ""
            ax.plot(k, median, color=COLORS[model], ls=ls, lw=lw,
                    label=f"{LABELS[model]}, {when}{note}")
            if key == "vanishing_trained":
                ax.fill_between(k, curves.min(0), curves.max(0), color=COLORS[model],
                                alpha=0.15, lw=0)
    vanishing_axes(ax, rnn_cos.DEFAULTS["steps"], floor)
    ax.set_title(f"The last step's gradient, k steps back: median of {len(args.seeds)} "
                 f"seeds (band: trained, all seeds)", fontsize="medium")
    ax.legend(ncol=2, fontsize="x-small", loc="lower left")
    ax.grid(True, which="major", alpha=0.3)
    plumbing.write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=100))


def main(argv=None):
    args = parse_args(argv)
    say = (lambda *a, **k: None) if args.quiet else print
    problem = plumbing.drawing_problem(args.out, ("runs.csv", "compare.json", "compare.png",
                                                  "vanishing.png"))
    if problem:
        return plumbing.fail(PROG, problem, 2)
    with plumbing.claimed(args.out, PROG):       # one command per folder
        say(f"compare_cells: RNN, LSTM and GRU, {args.iters:,} iterations each, seeds "
            f"{', '.join(map(str, args.seeds))}, {args.workers} at a time", flush=True)
        try:
            train_all(args, say)
        except ValueError as e:
            return plumbing.fail(PROG, str(e), 2)
        except RuntimeError as e:
            return plumbing.fail(PROG, f"{e}; no summary was written", 1)
        except KeyboardInterrupt:
            return plumbing.fail(PROG, "interrupted; no summary was written",
                                 plumbing.stop_status())
        runs = {(m, s): load_run(args, m, s) for m in MODELS for s in args.seeds}
        summary = summarise(args, runs)
        import matplotlib
        matplotlib.use("Agg")
        plot_compare(args, runs, summary, os.path.join(args.out, "compare.png"))
        plot_vanishing(args, runs, os.path.join(args.out, "vanishing.png"))
        plumbing.save_json(os.path.join(args.out, "compare.json"), summary)
        print(table(summary))
        say(f"wrote {args.out}/compare.png, vanishing.png, compare.json")
        return 0


if __name__ == "__main__":
    sys.exit(plumbing.command(main, PROG))
