"""The classic sunspot split: train on 1700-1920 and predict each year of 1921-1955 one
step ahead, the test on which published sunspot models are compared with a
least-squares AR(9); and every year after 1920 in the file, 1921-2008.

    python benchmarks/classic_sunspots.py [--seeds 0-4] [--out results/classic]

For each seed it runs the default CSV mode, two runs at a time, each in a process of
its own and writing into <out>/seed<S>/:

    python -m lab.series --csv datasets/sunspots_yearly.csv --train-until 1920 --seed S

and prints what the validation rows chose, the network's one-step RMSE over both
ranges, and the Diebold-Mariano p-value of the network against AR(9), next to AR(9)
fitted by least squares on 1700-1920 and the linear model the run chose itself.
Nothing here is chosen on the held-out years; the runs are those of `rnn_cos.py`.
"""
import argparse
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from lab import linear                          # noqa: E402
from lab import runner                          # noqa: E402
from lab import sweep                           # noqa: E402
from lab.csvfile import read_csv_column       # noqa: E402

CSV = os.path.join(ROOT, "datasets", "sunspots_yearly.csv")
TRAIN_UNTIL, CLASSIC_END = 1920, 1955
AR_ORDER = 9


def rmse(errors):
    return float(np.sqrt(np.mean(np.square(errors))))


def run(seed, out):
    folder = os.path.join(out, f"seed{seed}")
    status, _, stderr, seconds = runner.run_script("lab.series", [
        "--csv", CSV, "--train-until", str(TRAIN_UNTIL), "--seed", str(seed), "--quiet",
        "--out", folder])
    if status != 0:
        raise SystemExit(f"classic_sunspots.py: seed {seed} failed: {stderr.strip()}")
    with np.load(os.path.join(folder, "rnn_cos.npz"), allow_pickle=False) as f:
        r = {k: f[k] for k in ("test_x", "test_predictions", "ar_predictions")}
    with open(os.path.join(folder, "metrics.json")) as f:
        return r, json.load(f), seconds


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    p.add_argument("--seeds", nargs="+", default=["0-4"], help="seeds (default: 0-4)")
    p.add_argument("--out", default=os.path.join("results", "classic"),
                   help="folder for the runs (default: %(default)s)")
    args = p.parse_args(argv)
    try:
        seeds = sweep.parse_seeds(args.seeds)
    except ValueError as e:
        p.error(str(e))
    y, x, _, _ = read_csv_column(CSV)
    n_train = int(np.searchsorted(x, TRAIN_UNTIL, side="right"))
    rows = {"1921-1955": np.arange(n_train, int(np.searchsorted(x, CLASSIC_END, "right"))),
            "1921-2008": np.arange(n_train, len(y))}
    ar9 = linear.ar_one_step(linear.fit_ar(y[:n_train], AR_ORDER)[0], y, rows["1921-2008"])
    print(f"training on {x[0]:.0f}-{TRAIN_UNTIL}, {len(seeds)} seeds, two at a time...",
          flush=True)
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda s: run(s, args.out), seeds))
    print("| seed | kept (on the validation rows) | "
          + " | ".join(f"network {k} | DM p vs AR(9)" for k in rows) + " |")
    print("|---|---|" + "---|---|" * len(rows))
    for s, (r, m, _) in zip(seeds, runs):
        kept = (f"average of {m['networks']}" if m["networks"] > 1 else
                f"{'changes' if m['diff'] else 'levels'}, {m['settings']['hidden']} units")
        cells = []
        for k, idx in rows.items():
            net = r["test_predictions"][idx - n_train] - y[idx]
            ar = ar9[idx - n_train] - y[idx]
            cells += [f"{rmse(net):.2f}", f"{linear.diebold_mariano(net, ar)[1]:.2f}"]
        print(f"| {s} | {kept} | " + " | ".join(cells) + " |")
    m = runs[0][1]
    chosen = f"AR({m['ar_order']}) on the {'changes' if m['ar_diff'] else 'levels'}"
    print("| AR(9), least squares on 1700-1920 | | "
          + " | ".join(f"{rmse(ar9[idx - n_train] - y[idx]):.2f} |" for idx in rows.values())
          + " |")
    print(f"| {chosen}, the run's linear model | | "
          + " | ".join(f"{rmse(runs[0][0]['ar_predictions'][idx - n_train] - y[idx]):.2f} |"
                       for idx in rows.values()) + " |")
    print(f"runs in {args.out}; {sum(sec for _, _, sec in runs) / 60:.1f} min of runs in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
