"""What the flat Adagrad update of rnn_cos.train saves over min-char-rnn's, measured on
whole training runs side by side in one process.

    python benchmarks/bench_adagrad.py [--iters 100000] [--rounds 3]

min-char-rnn updates the weights one array at a time:

    for param, dparam, mem in zip(params, grads, mems):
        np.clip(dparam, -5, 5, out=dparam)
        mem += dparam * dparam
        param += -learning_rate * dparam / np.sqrt(mem + 1e-8)

rnn_cos.train does the same arithmetic once, on one vector that holds every weight (the
weights are views into it, rnn_cos.flatten). Both loops here run the default run's
training (the same windows, the same annealing) and end with the same weights; each
round runs both, taking turns, so that both see the same machine load. Prints the
seconds of each and the median ratio.
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


def data():
    seed = np.random.SeedSequence(D["seed"]).spawn(2)[0]
    return CosineData(D["points"], 0.0, D["resolution"] * (D["points"] - 1), D["noise"], seed)


def flat_run(params, iters):
    """rnn_cos.train as the default run calls it (without snapshots and progress)."""
    rnn_cos.train(rnn_cos.lossFun, params, data(), iters, D["steps"], D["lr"],
                  rnn_cos.init_state(D["hidden"]), anneal=D["anneal"])


def zip_run(params, iters):
    """The same loop with min-char-rnn's update, one array at a time."""
    windows, h0 = data(), rnn_cos.init_state(D["hidden"])
    mems = {k: np.zeros_like(v) for k, v in params.items()}
    calm = max(1, round(D["anneal"] * iters))
    for n in range(iters):
        inputs, targets = windows.next_batch(D["steps"])
        loss, grads, hprev = rnn_cos.lossFun(params, inputs, targets, h0)
        lr = D["lr"] * min(1.0, (iters - n) / calm)
        for param, dparam, mem in zip(params.values(), grads.values(), mems.values()):
            np.clip(dparam, -5, 5, out=dparam)
            mem += dparam * dparam
            param += -lr * dparam / np.sqrt(mem + 1e-8)


def main():
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--iters", type=int, default=D["iters"])
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    init = rnn_cos.init_params(D["hidden"], np.random.default_rng(0))
    times = {"flat": [], "zip": []}
    for r in range(args.rounds):
        order = [("flat", flat_run), ("zip", zip_run)][::1 if r % 2 == 0 else -1]
        results = {}
        for name, run in order:
            params = {k: v.copy() for k, v in init.items()}
            t = time.perf_counter()
            run(params, args.iters)
            times[name].append(time.perf_counter() - t)
            results[name] = params
        diff = max(float(np.max(np.abs(results["flat"][k] - results["zip"][k])))
                   for k in init)
        print(f"round {r + 1}: flat {times['flat'][-1]:.2f} s, zip {times['zip'][-1]:.2f} s, "
              f"largest weight difference {diff:.1e}", flush=True)
    ratio = np.median(np.array(times["zip"]) / np.array(times["flat"]))
    print(f"{args.iters:,} iterations, hidden size {D['hidden']}, {args.rounds} rounds "
          f"taking turns: flat {np.median(times['flat']):.2f} s, zip "
          f"{np.median(times['zip']):.2f} s (medians); the zip loop takes {ratio:.3f} times "
          f"as long, so the flat update saves {100 * (1 - 1 / ratio):.1f}% of the run")
    print(f"load average before the last round: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
