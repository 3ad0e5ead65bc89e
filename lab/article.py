"""Measurements of the article's claims that no other script makes (docs/article.md).

    python -m lab.article clipping [--seeds 0-2] [--lrs 0.01,0.1,0.3] [--iters N]
    python -m lab.article forget [--gap 50] [--seeds 0-2] [--iters N]

clipping   claims 5 and 6: the plain RNN on the noisy cosine (rnn_cos.py's defaults)
           with and without min-char-rnn's gradient clipping, at the default learning
           rate and at larger ones, over seeds: whether each run diverges, the largest
           gradient norm it met, and its one-step test MSE.
forget     claim 8: an LSTM trained on the latch (lab/tasks.py, chrono initialisation):
           which units hold the fact during the gap (their cell state C_t follows the
           value), the forget gate f_t of those units during the gap, and the error
           when their forget gate is forced to 0 (C_t = 0 * C_{t-1} + ...) or to 1.

Each prints a table and writes a JSON file to --out (default results/article).
"""
import os
import sys

import numpy as np

import lstm_cos
import rnn_cos
from data import CosineData
from lab import plumbing, sweep
from lab.memory_span import latch_error
from lab.tasks import AskedOnly, LatchData, init

PROG = "python -m lab.article"
MAX_ITERS = 10_000_000   # about a day of training at the article's sizes
MAX_GAP = 100_000        # a latch sequence of 100,001 steps


# ---------------------------------------------------------------------------------------
# claims 5 and 6: exploding gradients and clipping
class Recorded:
    """A cell whose lossFun also records the largest norm of its gradients (all the
    weights' as one vector) before any clipping; everything else is the cell's."""

    def __init__(self, model):
        self.model, self.largest = model, 0.0

    def __getattr__(self, name):
        return getattr(self.model, name)

    def lossFun(self, params, inputs, targets, state):
        loss, grads, state = self.model.lossFun(params, inputs, targets, state)
        norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
        self.largest = max(self.largest, norm) if np.isfinite(norm) else float("inf")
        return loss, grads, state


def clipping_run(lr, clip, seed, iters):
    """One run of rnn_cos's defaults at learning rate lr, with the entries of the
    gradient clipped to [-clip, clip] or not (clip None): a dict of diverged, the
    largest gradient norm met and the one-step test MSE (NaN when diverged)."""
    d = rnn_cos.DEFAULTS
    data_seed, init_seed = np.random.SeedSequence(seed).spawn(2)
    data = CosineData(d["points"], 0.0, d["resolution"] * (d["points"] - 1),
                      noise=d["noise"], seed=data_seed)
    params = rnn_cos.init_params(d["hidden"], np.random.default_rng(init_seed))
    model = Recorded(rnn_cos)
    try:
        plumbing.train(model, params, data, iters, d["steps"], lr, d["hprev"], d["anneal"],
                       clip=clip)
    except plumbing.Diverged:
        return dict(diverged=True, largest_gradient=model.largest, test_mse=float("nan"))
    test = rnn_cos.evaluate(rnn_cos.predict, rnn_cos.forecast, params, data, d["steps"])
    return dict(diverged=False, largest_gradient=model.largest, test_mse=test["test_mse"])


def clipping(args):
    rows = []
    for lr in args.lrs:
        for clip in (5.0, None):
            for seed in args.seeds:
                r = dict(lr=lr, clip=clip, seed=seed, **clipping_run(lr, clip, seed, args.iters))
                rows.append(r)
    lines = ["learning rate, clipping: diverged of seeds; largest gradient norm, median "
             "[max]; one-step test MSE of the others, median [worst]"]
    for lr in args.lrs:
        for clip in (5.0, None):
            mine = [r for r in rows if r["lr"] == lr and r["clip"] == clip]
            g = [r["largest_gradient"] for r in mine]
            mse = [r["test_mse"] for r in mine if not r["diverged"]]
            lines.append(f"lr {lr:g}, {'clip at 5' if clip else 'no clipping'}: "
                         f"{sum(r['diverged'] for r in mine)} of {len(mine)} diverged; "
                         f"gradient norm {np.median(g):.3g} [{max(g):.3g}]; "
                         + (f"test MSE {np.median(mse):.2e} [{max(mse):.2e}]" if mse else
                            "no run finished"))
    return dict(iters=args.iters, seeds=args.seeds, runs=rows), "\n".join(lines)


# ---------------------------------------------------------------------------------------
# claim 8: the forget gate keeps the fact
def latch_lstm(gap, seed, iters, H=32):
    """An LSTM (chrono initialisation) trained on the latch of this gap."""
    train_seed, _, _, init_seed = np.random.SeedSequence(seed).spawn(4)
    params = init(lstm_cos, H, np.random.default_rng(init_seed), "chrono200")
    plumbing.train(AskedOnly(lstm_cos), params, LatchData(gap, seed=train_seed), iters,
                   gap + 1, 0.1, anneal=rnn_cos.DEFAULTS["anneal"])
    return params


def holders(params, data, n=500, share=0.5):
    """The units whose cell state holds the fact through the gap: |correlation| of
    C_T with the value over n sequences of data at least `share` of the largest.
    Returns (units, their correlations, the mean forget gate of each unit over the
    gap's steps, (n, units)... averaged: (H,))."""
    inputs, targets = data.sequences(n)
    v = targets[:, -1]
    C, F = [], []
    for x in inputs:
        hs, cs, gates, ys = lstm_cos.forward(params, x, lstm_cos.init_state(params["Why"].shape[1]))
        C.append(cs[-1])
        F.append(gates[1:, 1].mean(axis=0))            # f_t over the gap (t = 2..T+1)
    C, F = np.array(C), np.array(F)
    corr = np.array([abs(np.corrcoef(C[:, j], v)[0, 1]) if np.std(C[:, j]) > 0 else 0.0
                     for j in range(C.shape[1])])
    units = np.flatnonzero(corr >= share * corr.max())
    return units, corr, F.mean(axis=0)


def with_forget(params, units, value):
    """params with the forget gate of `units` forced to `value` (0 or 1) at every
    step: its bias set to -inf or +inf, its weights to 0."""
    p = {k: v.copy() for k, v in params.items()}
    p["Wf"][units] = 0.0
    p["bf"][units] = -np.inf if value == 0 else np.inf
    return p


def forget(args):
    out, lines = [], [f"the latch, gap {args.gap}: the units holding the fact, their forget "
                      f"gate over the gap, and the error (1 = remembers nothing)"]
    for seed in args.seeds:
        params = latch_lstm(args.gap, seed, args.iters)
        test = lambda p: latch_error(lstm_cos, p, LatchData(args.gap, seed=1000 + seed), 500)  # noqa: E731
        units, corr, f = holders(params, LatchData(args.gap, seed=2000 + seed))
        with np.errstate(all="ignore"):
            r = dict(seed=seed, units=units.tolist(), correlation=corr[units].tolist(),
                     forget_gate=f[units].tolist(), other_forget_gate=float(np.median(
                         np.delete(f, units))), error=test(params),
                     error_forget_0=test(with_forget(params, units, 0)),
                     error_forget_1=test(with_forget(params, units, 1)))
        out.append(r)
        lines.append(f"seed {seed}: error {r['error']:.4f}; {len(units)} units hold it "
                     f"(|corr| {min(r['correlation']):.2f} to {max(r['correlation']):.2f}), "
                     f"forget gate {min(r['forget_gate']):.4f} to {max(r['forget_gate']):.4f} "
                     f"(the other units' median {r['other_forget_gate']:.3f}); with f = 0 on "
                     f"them: error {r['error_forget_0']:.3f}; with f = 1: "
                     f"{r['error_forget_1']:.3f}")
    return dict(gap=args.gap, iters=args.iters, seeds=out), "\n".join(lines)


# ---------------------------------------------------------------------------------------
def parse_args(argv):
    p = plumbing.ArgumentParser(prog=PROG, description=plumbing.first_paragraph(__doc__),
                                formatter_class=plumbing.HelpFormatter)
    p.add_argument("what", choices=["clipping", "forget"])
    p.add_argument("--seeds", nargs="+", default=["0-2"], help="seeds (default 0-2)")
    p.add_argument("--lrs", default=None, metavar="LR,LR,...",
                   help="clipping only: the learning rates (default 0.01,0.1,0.3)")
    p.add_argument("--iters", type=plumbing.positive_int, default=None,
                   help=f"training iterations (default: clipping 20,000; forget 3,000; at "
                        f"most {MAX_ITERS:,})")
    p.add_argument("--gap", type=plumbing.positive_int, default=None,
                   help=f"forget only: the latch's gap (default 50, at most {MAX_GAP})")
    p.add_argument("--out", default=os.path.join("results", "article"),
                   help="folder for the JSON file (default results/article)")
    args = p.parse_args(argv)
    other = {"clipping": ("--gap", args.gap), "forget": ("--lrs", args.lrs)}[args.what]
    if other[1] is not None:                     # an option the other measurement takes
        p.error(f"argument {other[0]}: {args.what} does not take it (it is for "
                f"{'forget' if args.what == 'clipping' else 'clipping'})")
    try:
        args.seeds = sweep.parse_seeds(args.seeds)
    except ValueError as e:
        p.error(str(e))
    try:
        args.lrs = [float(v) for v in (args.lrs or "0.01,0.1,0.3").split(",")]
        if not args.lrs or not all(v > 0 and np.isfinite(v) for v in args.lrs):
            raise ValueError(args.lrs)
    except ValueError:
        p.error(f"argument --lrs: expected positive numbers separated by commas, got "
                f"{','.join(map(str, args.lrs)) if isinstance(args.lrs, list) else args.lrs!r}")
    args.gap = args.gap or 50
    args.iters = args.iters or {"clipping": 20_000, "forget": 3_000}[args.what]
    if args.iters > MAX_ITERS or args.gap > MAX_GAP:
        p.error(f"argument {'--iters' if args.iters > MAX_ITERS else '--gap'}: at most "
                f"{MAX_ITERS:,} iterations and a gap of {MAX_GAP} here (the runs would take "
                f"days, or more memory than there is)")
    problem = plumbing.check_out_folder(args.out, (f"{args.what}.json",))
    if problem:
        p.error(problem)
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    with plumbing.claimed(args.out, PROG):       # one command per folder
        print(f"{args.what}: {len(args.seeds)} seeds, {args.iters:,} iterations each",
              flush=True)
        result, text = {"clipping": clipping, "forget": forget}[args.what](args)
        path = os.path.join(args.out, f"{args.what}.json")
        plumbing.save_json(path, result)
        print(text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(plumbing.command(main, PROG))
