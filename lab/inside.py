"""What a trained network has learned, measured and drawn: python -m lab.inside [--cell
rnn|lstm|gru] with any option of the cell's script (python rnn_cos.py --help).

The cell trains exactly as its script trains it (the same seed, data, weights and loop:
python rnn_cos.py with the same options ends with the same weights), keeping a dozen
snapshots of its weights on the way, through the loop's hook. Then (lab/analysis.py):
  memory.png            the hidden units driven by a clean cosine; the network fed its own
                        output, a dynamical system: its loop, period and amplitude, and
                        for the plain RNN its fixed point and the eigenvalues there; how
                        its forecast drifts from the cosine
  learning.png, .gif    the forecast at each snapshot of training
  vanishing_<cell>.png  how far back the gradient of the last step's loss reaches, at
                        initialisation and trained: the vanishing gradient
  loss_by_step.png      the error at each step of a training window, from h_0 = 0: why
                        the training loss stays above the noise
Writes <cell>.npz (everything the figures are drawn from; python -m lab.figures
--results FOLDER draws them again) and metrics.json to --out (results/inside).
"""
import os
import sys

import numpy as np

import rnn_cos
from data import CosineData
from lab import analysis, limits, plumbing
from lab.cells import CELLS

PROG = "python -m lab.inside"


def parse_args(argv):
    """--cell, then the cell script's own options (rnn_cos.parse_args, which refuses a
    bad one in one line); a run too big for this machine is refused too."""
    p = plumbing.ArgumentParser(prog=PROG, add_help=False)
    p.add_argument("--cell", choices=list(CELLS), default="rnn")
    known, rest = p.parse_known_args(argv)
    model = CELLS[known.cell]
    folder = os.path.join("results", "inside" + ("" if known.cell == "rnn" else
                                                 f"-{known.cell}"))
    args = rnn_cos.parse_args(rest, dict(model.DEFAULTS, out=folder), PROG, __doc__)
    args.model, args.quiet = model, False
    problem = limits.memory_problem(model, args)
    if problem:
        sys.exit(plumbing.fail(PROG, problem, 2))
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    model = args.model
    if not args.no_plot and not plumbing.matplotlib_installed():
        return plumbing.fail(PROG, f"{plumbing.NO_MATPLOTLIB}, or run with --no-plot", 2)
    data_seed, init_seed = np.random.SeedSequence(args.seed).spawn(2)   # as the script's
    data = CosineData(args.points, 0.0, args.resolution * (args.points - 1), args.noise,
                      seed=data_seed)
    params = model.init_params(args.hidden, np.random.default_rng(init_seed))
    about = (f"{args.points:,} points of cos(x) + {args.noise:g} * noise, spaced "
             f"{args.resolution:g}")
    with plumbing.Run(model, args, about, prog=PROG) as run:
        losses, snapshots = plumbing.train(
            model, params, data, args.iters, args.steps, args.lr, args.hprev, args.anneal,
            keep=plumbing.snapshot_iterations(args.iters), progress=run.progress,
            stop=run.stop)
        run.stop.hard = True                             # from here on, Ctrl-C stops at once
        if run.stop.requested:                           # stopped: the weights, at once
            run.save(params, losses, {}, dict(noise=args.noise), snapshots,
                     loss_note="stopped: not analysed")
            run.report("stopped before its end: the weights are saved, nothing analysed")
            return run.status
        results = rnn_cos.evaluate(model.predict, model.forecast, params, data, args.steps)
        results.update(measure(model, params, data, snapshots, losses, args.steps))
        npz = run.save(params, losses, results, dict(noise=args.noise, resolution=data.resolution,
                                                     points=args.points), snapshots,
                       loss_note=f"noise variance {args.noise ** 2:g}")
        if not args.no_plot:
            from lab import figures                      # matplotlib, only to draw
            run.wrote(figures.plot_file(npz, args.out))
        run.report(summary(results, args.steps))
    return run.status


def measure(model, params, data, snapshots, losses, steps):
    """What it learned (analysis.what_it_learned), the forecast at each snapshot, the
    loss by step of a window, and the gradient's reach at initialisation and trained."""
    r = data.resolution
    initial = snapshots.get(0, params)
    return dict(analysis.what_it_learned(model, params, r),
                **analysis.learning(model, snapshots, losses, r),
                position_mse=analysis.loss_by_position(model, params, data, steps),
                vanishing_init=analysis.vanishing(model, initial, r),
                vanishing_trained=analysis.vanishing(model, params, r),
                warmup=rnn_cos.WARMUP, x_label="x (radians)", y_label="value",
                series="cos(x)")


def summary(r, steps):
    """The lines it ends with: the period learned, the fixed point, the gradient's reach."""
    if np.isfinite(r["learned_period"]):
        line = (f"on its own it oscillates with a period of {r['learned_period']:.3f} steps "
                f"(the cosine's: {r['true_period']:.3f}) and an amplitude of "
                f"{r['learned_amplitude']:.3f} (2)")
    else:
        line = "on its own it settles: no oscillation"
    if "spectral_radius" in r:
        line += (f"\nat its fixed point the leading eigenvalues have modulus "
                 f"{r['leading_eigenvalue_modulus']:.3f} and turn "
                 f"{r['leading_eigenvalue_angle']:.3f} rad a step (the sampling step: "
                 f"{2 * np.pi / r['true_period']:.3g})")
    k = min(steps, len(r["vanishing_trained"]) - 1)
    return (line + f"\nthe gradient of the last step's loss, {k} steps back: "
            f"{r['vanishing_init'][k]:.1e} of it at initialisation, "
            f"{r['vanishing_trained'][k]:.1e} trained; one-step MSE by step of a window: "
            f"{r['position_mse'][0]:.3g} at step 1, {r['position_mse'][-1]:.3g} at step "
            f"{len(r['position_mse'])}")


if __name__ == "__main__":
    sys.exit(plumbing.command(main, PROG))
