"""Time training iterations of rnn_cos.py (its training loop: a window, lossFun, the
Adagrad step) against the literal per-timestep min-char-rnn formulation of the article's
program (rnn_cos_minimal.py's lossFun and train), side by side in one process, at the
same hidden size, on the same windows.

    python benchmarks/bench_train.py                 # hidden sizes 100 and 32
    python benchmarks/bench_train.py --default-run   # also time `python rnn_cos.py`

Prints the median microseconds per iteration of each and the median ratio over rounds
in which the two formulations take turns, so that both see the same machine load.
"""
import contextlib
import io
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from lab import limits, plumbing  # noqa: E402
import rnn_cos                                               # noqa: E402
import rnn_cos_minimal as minimal                            # noqa: E402
from data import CosineData                                  # noqa: E402

NAMES = ("Wxh", "Whh", "Why", "bh", "by")


def windows():
    """The same data, and so the same sequence of windows, every time."""
    return CosineData(1000, 0.0, 0.5 * 999, seed=0)


def fast_round(params, iters, steps, hprev):
    """rnn_cos.train, as the scripts run it (Adagrad's memory starts at zero; every
    window from zeros; the learning rate annealed over the last 10%, as in
    rnn_cos_minimal.py)."""
    rnn_cos.train(rnn_cos, params, windows(), iters, steps, minimal.learning_rate, hprev,
                  anneal=minimal.anneal)


def literal_round(params, iters, steps, hprev):
    """rnn_cos_minimal.train from the weights params (its weights are module-level
    arrays, as min-char-rnn's are); params becomes its trained weights."""
    for k in NAMES:
        setattr(minimal, k, params[k].copy())
    minimal.hidden_size, minimal.seq_length = params["Whh"].shape[0], steps
    with contextlib.redirect_stdout(io.StringIO()):        # its loss now and then
        minimal.train(windows(), iters)
    params.update({k: getattr(minimal, k) for k in NAMES})


def bench(hidden, steps, iters, rounds):
    """Median time per iteration of each formulation, and the median of the per-round
    ratios: in each round both run the same `iters` windows, one right after the other,
    so that both see the same load on a shared machine."""
    init = rnn_cos.init_params(hidden, np.random.default_rng(0))
    hprev = np.zeros((hidden, 1))
    fast_params = {k: v.copy() for k, v in init.items()}
    lit_params = {k: v.copy() for k, v in init.items()}
    fast, literal, drift = [], [], None
    for _ in range(rounds):
        t = time.perf_counter()
        fast_round(fast_params, iters, steps, hprev)
        fast.append((time.perf_counter() - t) / iters)
        t = time.perf_counter()
        literal_round(lit_params, iters, steps, hprev)
        literal.append((time.perf_counter() - t) / iters)
        if drift is None:
            # the same arithmetic, so the same weights after the same first round of
            # updates (later rounds restart Adagrad's memory, and rounding differences
            # of 1e-16 can grow)
            drift = max(np.max(np.abs(fast_params[k] - lit_params[k])) for k in init)
    ratio = np.median(np.array(literal) / np.array(fast))
    return np.median(fast), np.median(literal), ratio, drift


def main():
    p = plumbing.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--hidden", type=plumbing.positive_int, nargs="+", default=[100, 32])
    p.add_argument("--steps", type=plumbing.positive_int, default=20)
    p.add_argument("--iters", type=plumbing.positive_int, default=200, help="iterations per round")
    p.add_argument("--rounds", type=plumbing.positive_int, default=25, help="rounds, each formulation in turn")
    p.add_argument("--default-run", action="store_true",
                   help="also time the default `python rnn_cos.py` (100,000 iterations, "
                        "plots included) as a separate process")
    args = p.parse_args()
    problem = limits.benchmark_problem(rnn_cos, args.steps, args.hidden)
    if problem:
        p.error(problem)
    print(f"{args.steps} time steps per iteration; {args.rounds} rounds of {args.iters} "
          f"iterations, the two formulations taking turns; medians")
    print(f"{'hidden':>6}  {'rnn_cos.py':>12}  {'literal':>12}  {'speed-up':>8}  "
          f"{'weight difference':>17}")
    for hidden in args.hidden:
        fast, literal, ratio, drift = bench(hidden, args.steps, args.iters, args.rounds)
        print(f"{hidden:>6}  {fast * 1e6:>9.1f} us  {literal * 1e6:>9.1f} us  "
              f"{ratio:>7.2f}x  {drift:>17.1e}")
    if args.default_run:
        out = os.path.join(ROOT, "results")
        t = time.perf_counter()
        subprocess.run([sys.executable, os.path.join(ROOT, "rnn_cos.py"), "--quiet",
                        "--out", out], check=True, stdout=subprocess.DEVNULL)
        print(f"default run (python rnn_cos.py, plots included): "
              f"{time.perf_counter() - t:.1f} s wall time")


if __name__ == "__main__":
    main()
