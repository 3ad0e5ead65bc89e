"""Time training iterations (rnn_cos.train: a window, lossFun, the Adagrad step) of the
three cells at the same hidden size, side by side in one process, on the same windows.

    python benchmarks/bench_cells.py [--hidden 32]

Prints the median microseconds per iteration of each cell over rounds in which the cells
take turns, and each cell's cost relative to the plain RNN (median of the per-round
ratios).
"""
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import gru_cos                           # noqa: E402
import lstm_cos                          # noqa: E402
from lab import limits, plumbing  # noqa: E402
import rnn_cos                           # noqa: E402
from data import CosineData              # noqa: E402

MODELS = (rnn_cos, lstm_cos, gru_cos)


def run_round(model, params, hidden, steps, iters):
    data = CosineData(1000, 0.0, 0.5 * 999, seed=0)       # the same windows every round
    t = time.perf_counter()
    rnn_cos.train(model.lossFun, params, data, model.init_state(hidden), iters, steps, 0.01)
    return (time.perf_counter() - t) / iters


def main():
    p = plumbing.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--hidden", type=plumbing.positive_int, default=32)
    p.add_argument("--steps", type=plumbing.positive_int, default=20)
    p.add_argument("--iters", type=plumbing.positive_int, default=200, help="iterations per round")
    p.add_argument("--rounds", type=plumbing.positive_int, default=25)
    args = p.parse_args()
    problem = limits.benchmark_problem(lstm_cos, args.steps, args.hidden)
    if problem:
        p.error(problem)
    params = {m: m.init_params(args.hidden, np.random.default_rng(0)) for m in MODELS}
    times = {m: [] for m in MODELS}
    for _ in range(args.rounds):
        for m in MODELS:
            times[m].append(run_round(m, params[m], args.hidden, args.steps, args.iters))
    rnn = np.array(times[rnn_cos])
    print(f"hidden size {args.hidden}, {args.steps} time steps; {args.rounds} rounds of "
          f"{args.iters} iterations, the cells taking turns; medians")
    print(f"{'cell':>5}  {'per iteration':>13}  {'relative to the RNN':>19}  {'parameters':>10}")
    for m in MODELS:
        n = sum(v.size for v in params[m].values())
        ratio = np.median(np.array(times[m]) / rnn)
        print(f"{m.NAME.split('_')[0].upper():>5}  {np.median(times[m]) * 1e6:>10.1f} us  "
              f"{ratio:>18.2f}x  {n:>10,}")


if __name__ == "__main__":
    main()
