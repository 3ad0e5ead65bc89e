"""What a flat Adagrad update would save over min-char-rnn's (rnn_cos.train's), measured
on whole training runs side by side in one process.

    python benchmarks/bench_adagrad.py [--iters 100000] [--rounds 3]

min-char-rnn, and rnn_cos.train, update the weights one array at a time:

    for param, dparam, mem in zip(params, grads, mems):
        np.clip(dparam, -5, 5, out=dparam)
        mem += dparam * dparam
        param += -learning_rate * dparam / np.sqrt(mem + 1e-8)

The flat form does the same arithmetic once, on one vector that holds every weight (the
weights are views into it, flatten below). Both loops here run the default run's
training (the same windows, the same annealing) and end with the same weights; each
round runs both, taking turns, so that both see the same machine load. Prints the
seconds of each and the median ratio.
"""
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from lab import plumbing  # noqa: E402
import rnn_cos                         # noqa: E402
from data import CosineData            # noqa: E402

D = rnn_cos.DEFAULTS


def data():
    seed = np.random.SeedSequence(D["seed"]).spawn(2)[0]
    return CosineData(D["points"], 0.0, D["resolution"] * (D["points"] - 1), D["noise"], seed)


def zip_run(params, iters):
    """rnn_cos.train as the default run calls it (without snapshots and progress)."""
    rnn_cos.train(rnn_cos.lossFun, params, data(), rnn_cos.init_state(D["hidden"]), iters,
                  D["steps"], D["lr"], anneal=D["anneal"])


def flatten(params):
    """Copy params (a dict of arrays) into one flat vector; return the vector and a dict
    of views into it, with the same keys and shapes."""
    flat = np.concatenate([p.ravel() for p in params.values()])
    views, start = {}, 0
    for name, p in params.items():
        views[name] = flat[start:start + p.size].reshape(p.shape)
        start += p.size
    return flat, views


def flat_run(params, iters):
    """The same loop with every weight updated at once through one flat vector."""
    windows, h0 = data(), rnn_cos.init_state(D["hidden"])
    flat, views = flatten(params)
    mem = np.zeros_like(flat)
    for n in range(iters):
        inputs, targets = windows.next_batch(D["steps"])
        loss, grads, hprev = rnn_cos.lossFun(views, inputs, targets, h0)
        lr = D["lr"] * min(1.0, (iters - n) / max(1, round(D["anneal"] * iters)))  # train's
        dparams = np.concatenate([grads[k].ravel() for k in views])
        np.clip(dparams, -5, 5, out=dparams)
        mem += dparams * dparams
        flat += -lr * dparams / np.sqrt(mem + 1e-8)
    params.update({k: v.copy() for k, v in views.items()})


def main():
    p = plumbing.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--iters", type=plumbing.positive_int, default=D["iters"])
    p.add_argument("--rounds", type=plumbing.positive_int, default=3)
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
          f"{np.median(times['zip']):.2f} s (medians); the zip loop (rnn_cos.train) takes "
          f"{ratio:.3f} times as long, so a flat update would save "
          f"{100 * (1 - 1 / ratio):.1f}% of the run")
    print(f"load average before the last round: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
