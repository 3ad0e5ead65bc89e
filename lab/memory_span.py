"""How far back each cell remembers: the plain RNN, the LSTM and the GRU trained on the
delayed echo, over delays and seeds.

    python -m lab.memory_span [--delays 1,2,5,10,20,40] [--seeds 0-2] [--iters N]
                          [--workers W] [--out results/memory_span] [--lrs LR,LR,...]

The task (lab/tasks.py's EchoData): the input is white noise, uniform on [-1, 1], and the target
at step t is the input at step t - d. Nothing about the past can be guessed from the
present: to answer, the network must hold the last d inputs in its hidden state. Each
cell trains with the training loop of rnn_cos.py (Adagrad, windows from h = 0, its
learning rate annealed over the last 10%) on windows of d + 60 steps, so that every
window holds the delay and 60 steps that can be scored (with 20, the LSTM needs several
times the iterations to learn a delay of 20).

The score is the normalised error on a test series never trained on: 500 windows of
the training length, each run from h = 0 as in training, the mean squared error over
the steps t >= d (the first d steps' answers lie before the window) divided by the
variance of the input. 1 is a network that remembers nothing (it answers the mean, 0),
0 a perfect echo.

Each cell trains at its own learning rate (LRS below), chosen on a validation series,
a third noise series that is neither trained on nor scored: with --lrs, every cell is
trained at each rate given, and the rate whose validation error, averaged over the
delays and seeds, is lowest is the one reported; the test error is never looked at.

Every (cell, delay, seed, rate) is a run of this script (--run) in a process of its
own, through the runner lab.sweep and lab.compare_cells share: in parallel, resumable
(runs.csv in --out; the same command again redoes nothing, a row made by other code is
made again). Writes memory_span.json ({"cells": {"RNN": {"lr", "delays", "nmse": one
list of one value per seed for each delay}, ...}}), memory_span.png (the error against
the delay, every seed shown) and runs.csv.
"""
import json
import os
import sys

import numpy as np

import gru_cos
import lstm_cos
import rnn_cos
from lab import limits, plumbing, runner, sweep
from lab.tasks import EchoData

PROG = "python -m lab.memory_span"

CELLS = {"RNN": rnn_cos, "LSTM": lstm_cos, "GRU": gru_cos}
COLORS = {"RNN": "tab:blue", "LSTM": "tab:green", "GRU": "tab:purple"}
# each cell's learning rate on this task: the lowest mean validation error of
# python -m lab.memory_span --lrs 0.003,0.01,0.03,0.1 (docs/cells.md)
LRS = {"RNN": 0.03, "LSTM": 0.1, "GRU": 0.03}
DELAYS = (1, 2, 5, 10, 20, 40)
ITERS = 30_000       # training iterations of each run
SCORED = 60          # a window is delay + SCORED steps long
HIDDEN = 32
TRAIN_POINTS = 100_000
WINDOWS = 500        # test (and validation) windows
COLUMNS = ["cell", "delay", "seed", "lr", "iters", *runner.FINGERPRINT, "status",
           "val_nmse", "test_nmse", "train_loss", "seconds"]


# ---------------------------------------------------------------------------------------
# one run: train a cell on the echo, score it
def normalised_error(model, params, data, delay, steps):
    """The mean squared error of the outputs over the steps t >= delay of consecutive
    windows of `steps` steps of data, each from the cell's zero state, divided by the
    variance of data's input. A float."""
    windows = data.num_points // steps
    errors = np.empty((windows, steps - delay))
    for w in range(windows):
        inputs, targets = data.batch_at(w * steps, steps)
        errors[w] = (model.predict(params, inputs) - targets)[delay:]
    return float(np.mean(errors ** 2) / np.var(data.y_data))


def train_and_score(cell, delay, seed, lr, iters):
    """Train `cell` on the delayed echo and score it on the validation and the test
    series: a dict with val_nmse, test_nmse and train_loss (the mean of the last 1,000
    losses). Each series has its own stream of the seed, and so do the initial
    weights."""
    model = CELLS[cell]
    steps = delay + SCORED
    train_seed, val_seed, test_seed, init_seed = np.random.SeedSequence(seed).spawn(4)
    data = EchoData(TRAIN_POINTS, delay, seed=train_seed)
    params = model.init_params(HIDDEN, np.random.default_rng(init_seed))
    losses, _ = rnn_cos.train(model, params, data, iters, steps, lr,
                              model.init_state(HIDDEN), anneal=rnn_cos.DEFAULTS["anneal"])
    return dict(
        val_nmse=normalised_error(model, params, EchoData(WINDOWS * steps, delay, val_seed),
                                  delay, steps),
        test_nmse=normalised_error(model, params, EchoData(WINDOWS * steps, delay, test_seed),
                                   delay, steps),
        train_loss=float(np.mean(losses[-1000:])))


def run_main(argv):
    """python -m lab.memory_span --run CELL DELAY SEED LR ITERS: one run; prints its scores
    as one line of JSON. Exit status plumbing.EXIT_DIVERGED (3) if it diverged."""
    cell, delay, seed, lr, iters = argv
    try:
        scores = train_and_score(cell, int(delay), int(seed), float(lr), int(iters))
    except plumbing.Diverged as e:
        return plumbing.fail(PROG, f"the loss diverged: {e}", plumbing.EXIT_DIVERGED)
    print(json.dumps(scores))
    return 0


# ---------------------------------------------------------------------------------------
# the command line
def parse_list(text, kind, what):
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(not (v > 0 and np.isfinite(v)) for v in values):
        raise ValueError(f"argument --{what}: expected a comma-separated list of positive "
                         f"numbers, got {text!r}")
    return list(dict.fromkeys(values))


def parse_args(argv=None):
    p = plumbing.ArgumentParser(prog=PROG,
                                description=plumbing.first_paragraph(__doc__),
                                formatter_class=plumbing.HelpFormatter)
    p.add_argument("--delays", default=",".join(map(str, DELAYS)), metavar="D,D,...",
                   help="the delays d to train on")
    p.add_argument("--iters", type=plumbing.positive_int, default=ITERS,
                   help="training iterations of each run")
    p.add_argument("--lrs", default=None, metavar="LR,LR,...",
                   help="learning rates to try for every cell; the one with the lowest "
                        "validation error is reported (by default each cell's own: "
                        + ", ".join(f"{c} {lr:g}" for c, lr in LRS.items()) + ")")
    p.add_argument("--cells", nargs="+", default=list(CELLS), metavar="CELL",
                   help=f"the cells to train (by default {' '.join(CELLS)})")
    runner.add_grid_options(p, "0-2", os.path.join("results", "memory_span"),
                            "folder for memory_span.json, memory_span.png and runs.csv")
    args = p.parse_args(argv)
    try:
        args.delays = sorted(parse_list(args.delays, int, "delays"))
        args.seeds = sweep.parse_seeds(args.seeds)
        args.lrs = parse_list(args.lrs, float, "lrs") if args.lrs else None
        unknown = [c for c in args.cells if c.upper() not in CELLS]
        if unknown:
            raise ValueError(f"argument --cells: unknown cell {unknown[0]!r} "
                             f"(one of: {', '.join(CELLS)})")
        args.cells = list(dict.fromkeys(c.upper() for c in args.cells))
        steps = max(args.delays) + SCORED
        if steps >= TRAIN_POINTS:
            raise ValueError(f"argument --delays: at most {TRAIN_POINTS - SCORED - 1} (a "
                             f"window is the delay and {SCORED} steps, within the "
                             f"{TRAIN_POINTS:,} points of the training series); got "
                             f"{max(args.delays)}")
        if WINDOWS * steps * 8 * 40 > (limits.memory_available() or float("inf")):
            raise ValueError(f"argument --delays: a delay of {max(args.delays)} needs "
                             f"more memory than this machine has available")
    except ValueError as e:
        p.error(str(e))
    return args


# ---------------------------------------------------------------------------------------
# the grid, the choice of learning rate, the results
def jobs_of(args):
    code = runner.code_fingerprint("lab.memory_span")
    jobs = []
    for cell in args.cells:
        for lr in (args.lrs or [LRS[cell]]):
            for delay in args.delays:
                for seed in args.seeds:
                    jobs.append(dict(cell=cell, row=dict(
                        cell=cell, delay=str(delay), seed=str(seed), lr=repr(float(lr)),
                        iters=str(args.iters), code=code, data="")))
    return jobs


def work(job):
    r = job["row"]
    status, stdout, stderr, seconds = runner.run_script(
        "lab.memory_span", ["--run", r["cell"], r["delay"], r["seed"], r["lr"], r["iters"]])
    if status == plumbing.EXIT_DIVERGED:               # the run says its loss diverged
        return dict(r, status="diverged", seconds=f"{seconds:.2f}")
    if status != 0:
        lines = stderr.strip().splitlines()
        raise runner.Failed(f"{r['cell']}, delay {r['delay']}, seed {r['seed']}, lr "
                            f"{r['lr']}: {lines[-1] if lines else f'exit status {status}'}")
    scores = json.loads(stdout.strip().splitlines()[-1])
    return dict(r, status="ok", seconds=f"{seconds:.2f}",
                **{k: repr(float(v)) for k, v in scores.items()})


def value(row, key):
    return float(row[key]) if row["status"] == "ok" else float("nan")


def choose(rows, args):
    """Per cell: the learning rate with the lowest mean validation error over the delays
    and seeds (a diverged run counts as infinite), and the test errors at that rate as
    [[one per seed] per delay]. Returns (summary for memory_span.json, validation table
    {cell: {lr: mean validation error}})."""
    cells, validation = {}, {}
    for cell in args.cells:
        mine = [r for r in rows if r["cell"] == cell]
        lrs = sorted({float(r["lr"]) for r in mine})
        mean_val = {}
        for lr in lrs:
            v = [value(r, "val_nmse") for r in mine if float(r["lr"]) == lr]
            mean_val[lr] = float(np.mean([x if np.isfinite(x) else np.inf for x in v]))
        best = min(lrs, key=lambda lr: (mean_val[lr], lr))
        at = {(int(r["delay"]), int(r["seed"])): value(r, "test_nmse") for r in mine
              if float(r["lr"]) == best}
        cells[cell] = dict(lr=best, delays=list(args.delays),
                           nmse=[[at[d, s] for s in args.seeds] for d in args.delays])
        validation[cell] = mean_val
    return dict(cells=cells), validation


def table(summary, seeds):
    heads = ["delay"] + [f"{c} (lr {v['lr']:g})" for c, v in summary["cells"].items()]
    lines = [f"normalised test error (1 = remembers nothing, 0 = a perfect echo), median "
             f"[best, worst] of seeds {', '.join(map(str, seeds))}:",
             "  ".join(f"{h:>26}" if i else f"{h:>5}" for i, h in enumerate(heads))]
    delays = next(iter(summary["cells"].values()))["delays"]
    for i, d in enumerate(delays):
        cells = []
        for c in summary["cells"].values():
            v = np.array(c["nmse"][i], dtype=float)
            v = v[np.isfinite(v)]
            cells.append(f"{np.median(v):.4f} [{v.min():.4f}, {v.max():.4f}]" if len(v)
                         else "diverged")
        lines.append("  ".join([f"{d:>5}"] + [f"{c:>26}" for c in cells]))
    return "\n".join(lines)


def plot(summary, seeds, iters, path):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.subplots()
    floor = 1e-6                                     # the axis ends here
    for j, (cell, c) in enumerate(summary["cells"].items()):
        d = np.array(c["delays"], dtype=float)
        v = np.array(c["nmse"], dtype=float)         # (delays, seeds)
        shift = 1 + 0.04 * (j - 1)                   # the cells' dots side by side
        for k in range(v.shape[1]):
            ax.plot(d * shift, np.maximum(v[:, k], floor), "o", color=COLORS[cell],
                    alpha=0.5, ms=5)
        ax.plot(d * shift, np.maximum(np.nanmedian(v, axis=1), floor), color=COLORS[cell],
                lw=2, label=f"{cell} (lr {c['lr']:g}): median, a dot per seed")
    ax.axhline(1, color="black", ls="--", lw=1, label="1: remembers nothing (answers 0)")
    ax.axhline(0.05, color="0.5", ls=":", lw=1, label="0.05 (below $10^{-6}$: drawn at $10^{-6}$)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(floor / 2, 3)
    delays = summary["cells"][next(iter(summary["cells"]))]["delays"]
    ax.set_xticks(delays, [str(d) for d in delays])
    ax.set_xlabel("delay d: the target is the input d steps back")
    ax.set_ylabel("test MSE / variance of the input (log scale)")
    ax.set_title(f"The delayed echo: how far back each cell remembers\n({iters:,} "
                 f"iterations on windows of d + {SCORED} steps, {len(seeds)} seeds; "
                 f"scored on a test series never trained on)", fontsize="medium")
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(True, which="major", alpha=0.3)
    plumbing.write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=100))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--run"] and len(argv) == 6:
        return run_main(argv[1:])
    args = parse_args(argv)
    say = (lambda *a, **k: None) if args.quiet else print
    problem = plumbing.drawing_problem(args.out)
    if problem:
        return plumbing.fail(PROG, problem, 2)
    grid = runner.Grid(os.path.join(args.out, "runs.csv"), COLUMNS,
                       ["cell", "delay", "seed", "lr", "iters"])
    jobs = jobs_of(args)
    try:
        todo, have, stale = grid.plan(jobs)
    except ValueError as e:
        return plumbing.fail(PROG, str(e), 2)
    if grid.dropped_note():
        print(grid.dropped_note(), flush=True)
    say(f"memory_span: {len(jobs)} runs ({len(args.cells)} cells x {len(args.delays)} delays "
        f"x {len(args.seeds)} seeds" + (f" x {len(args.lrs)} learning rates" if args.lrs
                                         else "") + f"), {args.iters:,} iterations each; "
        f"{len(have)} already in {grid.path}{runner.stale_note(stale)}; {len(todo)} to run "
        f"on {min(args.workers, max(len(todo), 1))} workers", flush=True)
    try:
        failed = grid.run(todo, work, args.workers, say)
    except KeyboardInterrupt:
        return plumbing.fail(PROG, f"interrupted; the finished runs are in "
                                               f"{grid.path}", 130)
    if failed:
        return plumbing.fail(PROG, f"{len(failed)} of {len(jobs)} runs failed "
                                               f"(the first: {failed[0][1]}); nothing was "
                                               f"summarised", 1)
    summary, validation = choose(grid.finished(jobs), args)
    if args.lrs:
        for cell, by_lr in validation.items():
            say(f"{cell}: mean validation error " + ", ".join(
                f"{v:.4f} at lr {lr:g}" for lr, v in by_lr.items())
                + f"; chosen {summary['cells'][cell]['lr']:g}")
    plumbing.save_json(os.path.join(args.out, "memory_span.json"), summary)
    plot(summary, args.seeds, args.iters, os.path.join(args.out, "memory_span.png"))
    print(table(summary, args.seeds))
    say(f"wrote {os.path.join(args.out, 'memory_span.json')}, memory_span.png, runs.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
