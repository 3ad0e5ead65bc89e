"""The article's claim that a recurrent network gets slower as its input sequence gets
longer, measured: the time of one training iteration (rnn_cos.lossFun on a window of T
steps, and the Adagrad step) against T, side by side in one process.

    python benchmarks/bench_steps.py [--steps 5,10,20,40,80,160,320] [--rounds 3]

Each round times every T in turn (so that all see the same machine load), each for
enough iterations to take about a second; the median over the rounds is printed, with
the time per step of the sequence and the ratio to the shortest window. The forward
and backward passes are loops over the T steps, so the time should grow in proportion
to T, plus a fixed cost per iteration (the Adagrad step, the weight gradients' matrix
products); the last column shows how close to proportional it is.
"""
import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import rnn_cos                         # noqa: E402
from data import CosineData            # noqa: E402

D = rnn_cos.DEFAULTS


def seconds_per_iteration(steps, iters):
    seed = np.random.SeedSequence(D["seed"]).spawn(2)
    data = CosineData(D["points"], 0.0, D["resolution"] * (D["points"] - 1), D["noise"], seed[0])
    params = rnn_cos.init_params(D["hidden"], np.random.default_rng(seed[1]))
    start = time.perf_counter()
    rnn_cos.train(rnn_cos.lossFun, params, data, rnn_cos.init_state(D["hidden"]), iters, steps,
                  D["lr"])
    return (time.perf_counter() - start) / iters


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", default="5,10,20,40,80,160,320")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    try:
        steps = [int(v) for v in args.steps.split(",")]
        if not steps or min(steps) < 1 or max(steps) >= D["points"] or args.rounds < 1:
            raise ValueError
    except ValueError:
        p.error(f"--steps: comma-separated window lengths from 1 to {D['points'] - 1}, and "
                f"--rounds at least 1")
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; hidden size "
          f"{D['hidden']}")
    iters = {T: max(50, int(2000 * 20 / T)) for T in steps}    # about a second each
    times = {T: [] for T in steps}
    for _ in range(args.rounds):
        for T in steps:
            times[T].append(seconds_per_iteration(T, iters[T]))
    base = steps[0]
    t0 = np.median(times[base])
    print(f"{'T':>5} {'ms per iteration':>17} {'us per step':>12} {'x shortest':>11} "
          f"{'x if proportional':>18}")
    for T in steps:
        t = np.median(times[T])
        print(f"{T:>5} {1e3 * t:>17.3f} {1e6 * t / T:>12.1f} {t / t0:>11.2f} {T / base:>18.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
