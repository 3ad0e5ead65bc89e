"""Time training iterations of the tutorial's loop, rnn_cos.train (a window, lossFun, the
Adagrad step), against the article's literal loop (lossFun_literal: dicts xs, hs, ys and
every gradient summed inside the time loop; Adagrad over zip, as min-char-rnn writes
it), side by side in one process, at the same hidden size, on the same windows; and
what the hook costs: train with no hook, with a hook that does nothing, with the
script's (a smoothed loss, a stop flag), and with the laboratory's (lab.plumbing.train:
the divergence check, snapshots, the progress line and the stop flag).

    python benchmarks/bench_train.py                 # hidden sizes 32 and 100
    python benchmarks/bench_train.py --default-run   # also time `python rnn_cos.py`

Prints the median microseconds per iteration of each, and each one's median ratio to
the literal loop over rounds in which they all take turns, so that all see the same
machine load.
"""
import contextlib
import io
import math
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import rnn_cos                                               # noqa: E402
from data import CosineData                                  # noqa: E402
from lab import limits, plumbing                             # noqa: E402

NAMES = ("Wxh", "Whh", "Why", "bh", "by")
D = rnn_cos.DEFAULTS


def windows():
    """The same data, and so the same sequence of windows, every time."""
    return CosineData(D["points"], 0.0, D["resolution"] * (D["points"] - 1), seed=0)


def literal(params, iters, steps):
    """The article's loop: each window from h = 0 through lossFun_literal, its gradients
    clipped and Adagrad over zip, the learning rate annealed as the script's."""
    data, H = windows(), len(params["Whh"])
    mem = [np.zeros_like(params[k]) for k in NAMES]          # memory variables for Adagrad
    for n in range(iters):
        inputs, targets = data.next_batch(steps)
        hprev = np.zeros((H, 1))
        loss, grads, hprev = rnn_cos.lossFun_literal(params, inputs, targets, hprev)
        lr = D["lr"] * min(1.0, (iters - n) / max(1, round(D["anneal"] * iters)))
        for param, dparam, m in zip([params[k] for k in NAMES], [grads[k] for k in NAMES],
                                    mem):
            np.clip(dparam, -5, 5, out=dparam)               # against exploding gradients
            m += dparam * dparam
            param += -lr * dparam / np.sqrt(m + 1e-8)        # adagrad update


def tutorial(hook):
    """rnn_cos.train as the script calls it, with on_step=hook."""
    def run(params, iters, steps):
        rnn_cos.train(rnn_cos.lossFun, params, windows(), rnn_cos.init_state(len(
            params["Whh"])), iters, steps, D["lr"], "reset", D["anneal"], on_step=hook)
    return run


def nothing(n, loss, params):
    return True


def script_hook():
    """What rnn_cos.run_training gives the loop: min-char-rnn's smooth_loss, printed ten
    times a run (here: to nowhere), and the stop flag."""
    smooth = None

    def on_step(n, loss, params):
        nonlocal smooth
        smooth = loss if smooth is None else smooth * 0.999 + loss * 0.001
        if (n + 1) % 10_000 == 0:
            print(f"iter {n + 1:,}, smooth loss {smooth:.5f}", file=io.StringIO())
        return not rnn_cos.STOP and math.isfinite(loss)
    return on_step


def laboratory(params, iters, steps):
    """lab.plumbing.train: the same loop through the lab's hook, with its progress line
    (written to nowhere), its divergence check, snapshots and stop flag."""
    progress = plumbing.Progress(iters, stream=io.StringIO())
    plumbing.train(rnn_cos, params, windows(), iters, steps, D["lr"], "reset", D["anneal"],
                   keep=plumbing.snapshot_iterations(iters), progress=progress)


def bench(hidden, steps, iters, rounds):
    """{name: (median seconds per iteration, median ratio to the literal loop)} and the
    largest weight difference between the loops after the first round (the same
    arithmetic: the same updates)."""
    loops = dict(literal=literal, tutorial=tutorial(None), **{
        "tutorial, a hook that does nothing": tutorial(nothing),
        "tutorial, the script's hook": None, "laboratory's hook": laboratory})
    init = rnn_cos.init_params(hidden, np.random.default_rng(0))
    params = {name: {k: v.copy() for k, v in init.items()} for name in loops}
    times = {name: [] for name in loops}
    drift = None
    for _ in range(rounds):
        for name, loop in loops.items():
            loop = loop or tutorial(script_hook())
            t = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                loop(params[name], iters, steps)
            times[name].append((time.perf_counter() - t) / iters)
        if drift is None:
            drift = max(np.max(np.abs(p[k] - params["literal"][k])) for p in params.values()
                        for k in init)
    lit = np.array(times["literal"])
    return {name: (np.median(t), np.median(np.array(t) / lit)) for name, t in times.items()}, drift


def main():
    p = plumbing.ArgumentParser(description=__doc__.strip().splitlines()[0])
    whole = plumbing.positive_int
    p.add_argument("--hidden", type=whole, nargs="+", default=[32, 100])
    p.add_argument("--steps", type=whole, default=20)
    p.add_argument("--iters", type=whole, default=200, help="iterations per round")
    p.add_argument("--rounds", type=whole, default=25, help="rounds, the loops in turn")
    p.add_argument("--default-run", action="store_true",
                   help="also time the default `python rnn_cos.py` (100,000 iterations, "
                        "figures included) as a separate process")
    args = p.parse_args()
    problem = limits.benchmark_problem(rnn_cos, args.steps, args.hidden)
    if problem:
        p.error(problem)
    print(f"{args.steps} time steps per iteration; {args.rounds} rounds of {args.iters} "
          f"iterations, the loops taking turns; medians; load average before: "
          f"{os.getloadavg()[0]:.2f}")
    for hidden in args.hidden:
        result, drift = bench(hidden, args.steps, args.iters, args.rounds)
        print(f"hidden size {hidden} (largest weight difference after a round: {drift:.1e})")
        for name, (t, ratio) in result.items():
            print(f"  {name:<36} {t * 1e6:8.1f} us per iteration   {ratio:.3f} of the "
                  f"literal loop's time")
    if args.default_run:
        t = time.perf_counter()
        subprocess.run([sys.executable, os.path.join(ROOT, "rnn_cos.py"), "--out",
                        os.path.join(ROOT, "results")], check=True, stdout=subprocess.DEVNULL)
        print(f"default run (python rnn_cos.py, figures included): "
              f"{time.perf_counter() - t:.1f} s wall time")


if __name__ == "__main__":
    main()
