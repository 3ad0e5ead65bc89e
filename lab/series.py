"""Your own series: a recurrent network (the plain RNN, the LSTM or the GRU) trained on one
column of a CSV file instead of the cosine, and tested on the rows it held out beside
the linear model. `python -m lab.series --csv FILE [--column NAME] [--cell rnn|lstm|gru]`.

The rows are split in time, never shuffled:
    fit         the first 80% of the training part: the windows the network trains on
    validation  the rest of the training part: where the choices are made
    held out    the last 20% of the rows (or those after --train-until): the test
The network trains on the series' levels or on its changes from one row to the next
(its first differences, --diff), each normalised with the fit rows' mean and standard
deviation. Without --diff or --no-diff it trains on both, and without --hidden it
trains networks of 16 and of 32 hidden units; of these candidates it keeps the one
whose one-step predictions are best on the validation rows, or, when the average of
all the candidates' predictions does better there still, that average. During
training each network evaluates its weights every so often on the validation rows and
keeps the best. Only
then is the network tested on the held-out rows, in the original units, next to two
baselines: "same as last value" (persistence) and a linear autoregressive model AR(p)
fitted by least squares on the training part, its order p chosen by AIC.
"""
import argparse
import os
import signal
import sys
from typing import NamedTuple

import numpy as np

import rnn_cos
from lab import controls, esn, limits, linear, plumbing, poly
from lab.cells import CELLS, batched_step
from lab.csvfile import SeriesData, format_date, is_number, parse_date, read_csv_column
from lab.linear import ar_changes, choose_ar, diebold_mariano, p_text

HELD_OUT = 0.2       # without --train-until, the last 20% of the rows are held out
VALIDATION = 0.2     # the last 20% of the training part is the validation slice
CHECKS = 100         # the weights are evaluated on the validation slice this many times
VALID_FRACTION = 0.1 # a forecast is valid until its error exceeds 10% of the series' std
PATHS = limits.FUTURES  # simulated futures for the 80% interval (500)
INTERVAL = (10, 90)  # ... between these percentiles of them
MAX_HORIZON = 20     # the rolling-origin forecasts reach at most this many steps ahead
# bounds on the work of a long series (none is reached by the shipped ones, of at most
# 1,000 rows): the validation checks read at most CHECK_BUDGET rows per network, and so
# are fewer than CHECKS on a series of more than 10,000 training rows (at least 10);
# the forecasts by horizon start from at most MAX_ORIGINS origins, evenly spread; the
# coverage of the 80% interval is measured on the first COVERED held-out rows at most
CHECK_BUDGET = 1_000_000
MAX_ORIGINS = 200
COVERED = 1000
COVER_ORIGINS = 60   # the coverage of the interval by horizon: at most 60 origins ...
COVER_PATHS = 200    # ... with 200 futures each
HIDDEN_SIZES = (16, 32)  # without --hidden, both are tried
MAGNITUDE = (1e-100, 1e100)  # the values' largest magnitude must lie between these


# ---------------------------------------------------------------------------------------
# the command line
class XValue(float):
    """A value of a series' x, given as a number or a date (YYYY-MM, YYYY-MM-DD: its
    decimal year, csvfile.parse_date); .text is what was written."""

    def __new__(cls, text):
        value = parse_date(text)
        if value is None and not is_number(text):   # as a spreadsheet writes numbers
            raise ValueError(text)
        value = float(text) if value is None else value
        self = super().__new__(cls, value)
        self.text = text
        return self


x_value = plumbing.checked(XValue, lambda v: True, "a finite number or a date such as 1990-06")
PROG = "python -m lab.series"


def build_parser():
    d = dict(rnn_cos.DEFAULTS, hidden=None, lr=None, out=None)
    p = plumbing.ArgumentParser(prog=PROG, description=plumbing.first_paragraph(__doc__),
                                formatter_class=plumbing.HelpFormatter)
    p.add_argument("--csv", metavar="FILE", required=True,
                   help="the CSV file: a header row, then a row per time step, oldest first "
                        "(see docs/series.md)")
    p.add_argument("--column", metavar="NAME",
                   help="the column to learn (by default the only numeric one, or the last)")
    p.add_argument("--cell", choices=list(CELLS), default="rnn",
                   help="the recurrent cell: rnn_cos.py's, lstm_cos.py's or gru_cos.py's")
    p.add_argument("--train-until", type=x_value, metavar="X",
                   help="train on the rows whose x (the first column: a number, or a date "
                        "such as 1990-06) is at most X and hold out the rest (by default "
                        "the last 20%% of the rows are held out)")
    p.add_argument("--diff", action=argparse.BooleanOptionalAction,
                   help="train on the changes from one row to the next (--diff) or on the "
                        "values (--no-diff); by default both are tried and the better one "
                        "on the validation rows is kept")
    p.add_argument("--rows", action="store_true",
                   help="number the rows 0, 1, 2, ... and take them as equally spaced, "
                        "reading no time from the first column (for a time column that is "
                        "not a regular axis, or not numbers or dates)")
    p.add_argument("--controls", action="store_true",
                   help="also the two controls of lab/controls.py: the network with its "
                        "readout fitted again by least squares, and a feed-forward network "
                        "on the polynomial model's window trained as the network is")
    p.add_argument("--ahead", type=plumbing.positive_int, metavar="N",
                   help="after the test, train the chosen network on all the rows and "
                        "forecast the N steps after the last one, with an 80%% interval "
                        "(forecast.csv, ahead.png)")
    plumbing.add_training_options(
        p, d, lr_help="Adagrad learning rate (default: the cell's own, "
                      + ", ".join(f"{c} {m.DEFAULTS['lr']:g}" for c, m in CELLS.items()) + ")",
        hidden_help=f"size H of the hidden state (default: "
                    f"{' and '.join(map(str, HIDDEN_SIZES))} are both tried and the better "
                    f"one on the validation rows is kept)")
    plumbing.add_output_options(p, d)
    p.set_defaults(out=None)
    for a in p._actions:
        if a.dest == "out":
            a.help = ("folder the results are written to (default: results/ and the file's "
                      "name, with -lstm or -gru for those cells: results/sunspots_yearly)")
    return p


def parse_args(argv=None):
    """The CSV mode's arguments, every one checked before any work (exit 2 if bad);
    args.model is the cell's module."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.model = CELLS[args.cell]
    if args.lr is None:
        args.lr = args.model.DEFAULTS["lr"]
    if args.out is None:
        stem = os.path.splitext(os.path.basename(args.csv))[0] or "series"
        args.out = os.path.join("results", stem + ("" if args.cell == "rnn" else f"-{args.cell}"))
    plumbing.check_costs(parser, args.model, args, csv=True,
                         hidden=args.hidden or max(HIDDEN_SIZES))
    return args


# ---------------------------------------------------------------------------------------
# splitting the series, and the two ways of feeding it to the network
def split(y, x, args, x_label=None):
    """(n_fit, n_train): rows [0, n_fit) are fitted, [n_fit, n_train) validate, and
    [n_train, n) are held out. ValueError, naming what is missing, for a series too
    short for --steps and the split."""
    n = len(y)
    fit_rows = lambda n_train: int(round(n_train * (1 - VALIDATION)))  # noqa: E731
    # a window is steps + 1 values; the differences (tried unless --no-diff) are one fewer
    need_fit = args.steps + 1 + (args.diff is not False)
    enough = lambda n_train, n: (fit_rows(n_train) >= need_fit  # noqa: E731
                                 and n_train - fit_rows(n_train) >= 2 and n - n_train >= 2)
    with_steps = f"with --steps {args.steps}" + {
        True: " and --diff", False: "",
        None: " and the differences (one value fewer; --no-diff leaves them out)"}[args.diff]
    if args.train_until is None:
        n_train = int(round(n * (1 - HELD_OUT)))
        if not enough(n_train, n):
            m = next(m for m in range(n, 10 * n + 100)
                     if enough(int(round(m * (1 - HELD_OUT))), m))
            raise ValueError(f"{args.csv} has {n} rows of data; {with_steps} it needs at "
                             f"least {m} (the network trains on windows of steps + 1 values "
                             f"from the first 64%, validates on the next 16% and is tested "
                             f"on the last 20%)")
        return fit_rows(n_train), n_train
    until = getattr(args.train_until, "text", f"{args.train_until:g}")
    if x_label == "row":
        raise ValueError(f"--train-until needs a time in the first column of {args.csv} "
                         f"(numbers or dates such as 1990-06, increasing), and it has none; "
                         f"without --train-until the last 20% of the rows are held out")
    n_train = int(np.searchsorted(x, args.train_until, side="right"))
    if n_train == n:
        raise ValueError(f"--train-until {until} leaves no rows of {args.csv} held out "
                         f"(its last x is {x[-1]:g})")
    if not enough(n_train, n):
        k = next(k for k in range(n_train, 10 * n + 100) if enough(k, k + 2))
        raise ValueError(f"--train-until {until} leaves {n_train} rows of {args.csv} to "
                         f"train on and {n - n_train} held out; {with_steps} at least {k} "
                         f"are needed to train on (windows of steps + 1 values from the "
                         f"first 80% of them) and 2 held out")
    return fit_rows(n_train), n_train


def representation(y, n_fit, diff):
    """What the network reads: the levels y, or the differences y[t+1] - y[t]; both
    normalised with the mean and standard deviation of the part from the fit rows.
    Returns (z, mean, std)."""
    with np.errstate(all="ignore"):                       # too large or flat: see check()
        v = np.diff(y) if diff else y
        fitted = v[:n_fit - 1] if diff else v[:n_fit]
        mean, std = float(np.mean(fitted)), float(np.std(fitted))
        return (v - mean) / std, mean, std


class Member(NamedTuple):
    """One trained network as this module uses it: its weights, whether it reads the
    changes (diff) or the levels, and the mean and std that normalise what it reads."""
    params: dict
    diff: bool
    mean: float
    std: float


def reads(m, y):
    """What network m reads of the series y: its normalised levels or changes."""
    return ((np.diff(y) if m.diff else y) - m.mean) / m.std


def one_step(model, members, y):
    """pred (N,) with pred[t] the prediction of y[t] from y[0..t-1], in the original
    units: the network's (one member), or the average of the networks' (several). NaN
    where nothing comes before: pred[0], and pred[1] for differences. Each network reads
    the series from its start, from h = 0."""
    return np.mean([network_one_step(model, m, y) for m in members], axis=0)


def network_one_step(model, m, y):
    z = reads(m, y)
    out = model.predict(m.params, z[:-1]) * m.std + m.mean
    pred = np.full(len(y), np.nan)
    if m.diff:                            # out[i] predicts z[i + 1] = y[i + 2] - y[i + 1]
        pred[2:] = y[1:-1] + out          # (nothing predicts y[1]: no change came before)
    else:                                 # out[i] predicts z[i + 1] = y[i + 1]
        pred[1:] = out
    return pred


def forecast(model, members, y, start, n_future):
    """The network (or the average of the networks) on its own from row `start` on: it
    reads the series up to row start - 1, then feeds each prediction back in as the
    next value; a network on the changes adds its predicted changes up from
    y[start - 1]. Shape (n_future,). (simulate, with one future and no noise.)"""
    return simulate(model, members, y, [start], n_future)[0]


def rmse(pred, truth):
    return float(np.sqrt(np.mean((np.asarray(pred) - np.asarray(truth)) ** 2)))


# ---------------------------------------------------------------------------------------
# the script
def main(argv=None):
    """python -m lab.series --csv FILE [options]: returns the exit status."""
    args = parse_args(argv)
    try:
        return train_and_test(args.model, args)
    except KeyboardInterrupt:              # Ctrl-C while reading the file, before the run
        return plumbing.fail(PROG, "interrupted; nothing was written", 130)


def train_and_test(model, args):
    """Train model (a cell's module) on the CSV column of args with the tutorial's loop
    (rnn_cos.train, through plumbing.train's hook), choose
    on the validation rows, test on the held-out rows, save and draw. Returns the exit
    status."""
    prog = PROG
    try:
        about_x = {}
        y, x, x_label, column = read_csv_column(args.csv, args.column, about_x, args.rows)
        n_fit, n_train = split(y, x, args, x_label)
        if args.ahead and args.ahead > len(y):
            raise ValueError(f"argument --ahead: at most the number of rows of {args.csv} "
                             f"({len(y)}): a forecast further ahead than the series is long "
                             f"is more than it can tell; got {args.ahead}")
        ways = [args.diff] if args.diff is not None else [False, True]
        prepared = {d: representation(y, n_fit, d) for d in ways}
        for d, (z, mean, std) in prepared.items():
            check(y, n_fit, z, mean, std, d, column, args.csv)
    except ValueError as e:
        return plumbing.fail(prog, str(e), 2)
    sizes = [args.hidden] if args.hidden else list(HIDDEN_SIZES)
    candidates = [(d, H) for d in ways for H in sizes]     # each one trained, then compared
    n = len(y)
    data_seed, init_seed = np.random.SeedSequence(args.seed).spawn(2)
    every = check_every(args.iters, n_train)
    snapshots = set(plumbing.snapshot_iterations(args.iters))
    keep = set(range(0, args.iters + 1, every)) | snapshots
    val_rows = np.arange(n_fit, n_train)
    about = (f"column {column!r} of {args.csv}: {n_fit} rows to fit, {n_train - n_fit} to "
             f"validate, {n - n_train} held out; "
             + ("levels and differences" if len(ways) == 2 else
                ("differences" if ways[0] else "levels")))

    hidden = args.hidden or " or ".join(map(str, sizes))
    with plumbing.Run(model, args, about, prog=prog, hidden=hidden) as run:
        tried = []
        for d, H in candidates:
            if len(candidates) > 1:
                run.next_progress(f"on the {'differences' if d else 'levels'}, "
                                  f"{H} hidden units:")
            z, mean, std = prepared[d]
            fit = z[:n_fit - 1] if d else z[:n_fit]
            data = SeriesData(fit, x[1:n_fit] if d else x[:n_fit], seed=data_seed)
            params = model.init_params(H, np.random.default_rng(init_seed))
            losses, kept = plumbing.train(
                model, params, data, args.iters, args.steps, args.lr, args.hprev,
                args.anneal, keep=keep, progress=run.progress, stop=run.stop)
            if run.stop.requested:               # Ctrl-C or SIGTERM: no checks, no test
                tried.append(dict(diff=d, hidden=H, losses=losses, params=params))
                break
            # the weights of every check, on the validation rows; the best are kept (a
            # Ctrl-C during the checks ends them: the best of those made is kept)
            checks = sorted(k for k in kept if k % every == 0 or k == len(losses))
            val, asked = [], run.stop.requested      # a Ctrl-C before the checks: all made
            for k in checks:
                if run.stop.requested and not asked and val:
                    checks = checks[:len(val)]
                    break
                pred = one_step(model, [Member(kept[k], d, mean, std)], y[:n_train])
                val.append(rmse(pred[val_rows], y[val_rows]))
            val = np.array(val)
            found = np.any(np.isfinite(val))
            best = checks[int(np.nanargmin(val))] if found else checks[-1]
            kept = {k: w for k, w in kept.items()                 # only what may be saved
                    if k in snapshots or k in (best, len(losses))}
            tried.append(dict(diff=d, hidden=H, losses=losses, kept=kept, checks=checks,
                              val=val, best=best,
                              val_rmse=float(np.nanmin(val)) if found else float("nan")))
            if run.stop.requested:
                break
        # after a Ctrl-C (or SIGTERM) during the trainings, or one from here on (it stops
        # at once), what was trained is saved at once, untested
        run.stop.hard = True
        tried = [c for c in tried if len(c["losses"])]
        if not tried:
            raise plumbing.NothingTrained
        if run.stop.requested:
            return save_stopped(run, args, tried, prepared)
        try:                  # a Ctrl-C from here on: the networks saved at once, untested
            table = [dict(diff=c["diff"], hidden=c["hidden"], val_rmse=c["val_rmse"],
                          best_iteration=c["best"]) for c in tried]
            t, chosen, average_val = choose(model, tried, prepared, y, val_rows)
            members = [as_member(c, prepared, c["best"]) for c in chosen]
            d, params = t["diff"], t["kept"][t["best"]]
            results = evaluate(model, members, y, x, n_fit, n_train, args.seed)
            # for comparison only (nothing is chosen on these): the weights of the last
            # iteration, and the best single candidate when the average was kept
            rows = np.arange(n_train, n)
            last = [as_member(c, prepared, len(c["losses"]) if len(c["losses"]) in c["kept"]
                              else c["best"]) for c in chosen]
            results["final_weights_rmse"] = rmse(one_step(model, last, y)[rows], y[rows])
            results["single_rmse"] = rmse(
                one_step(model, [as_member(t, prepared, t["best"])], y)[rows], y[rows])
            if args.controls:                          # the readout, the optimiser
                results.update(control_runs(model, as_member(t, prepared, t["best"]), y, n_fit,
                                            n_train, results, args))
            # how often the 80% interval of --ahead, simulated from the end of the training
            # part, holds the held-out rows; and by horizon, over rolling origins. The noise
            # is drawn from the errors on the validation rows, which no network trained on
            covered = min(n - n_train, COVERED)
            pool = unseen_errors(model, members, y, val_rows)
            lower, upper = interval(model, members, y, n_train, covered,
                                    np.random.default_rng(data_seed), pool=pool)
            held = y[n_train:n_train + covered]
            pad = np.full(n - n_train - covered, np.nan)          # past COVERED: not simulated
            by_h = coverage_by_horizon(model, members, y, n_train,
                                       np.random.default_rng(data_seed), pool)
            results.update(coverage_80=float(np.mean((held >= lower) & (held <= upper))),
                           coverage_rows=covered, test_lower=np.r_[lower, pad],
                           test_upper=np.r_[upper, pad], **coverage_arrays("horizon_coverage", by_h))
            # the network again, on every row, for the future
            future = None
            if args.ahead:
                run.stop.hard = False                 # its training stops as the others do
                future = ahead(model, args, y, x, about_x, chosen, init_seed, data_seed, run,
                               n_train, pool, unseen_errors(model, members, y, np.arange(n_fit, n)))
            if future is not None:
                future_x, fc, lo, hi, future_text, ahead_cover = future
                results.update(ahead_x=future_x, ahead_forecast=fc, ahead_lower=lo,
                               ahead_upper=hi, **coverage_arrays("ahead_horizon_coverage", ahead_cover))
            _, mean, std = prepared[d]
            results.update(labels(x_label, column, args.csv), diff=d, best_iteration=t["best"],
                           val_rmse=t["val_rmse"], val_iters=np.array(t["checks"]),
                           val_curve=t["val"], networks=len(members), average_val_rmse=average_val,
                           **{f"candidate_{k}": np.array([c[k] for c in table]) for k in table[0]})
            settings = dict(hidden=t["hidden"], csv=os.path.abspath(args.csv), column=column,
                            data_fingerprint=about_x["sha"],
                            mean=mean, std=std, n_fit=n_fit, n_train=n_train,
                            train_until=np.nan if args.train_until is None else float(args.train_until),
                            noise=float("nan"), resolution=float(x[1] - x[0]))
            if len(members) > 1:        # the weights of every network averaged, by number
                results.update({f"member{i}_{k}": w for i, m in enumerate(members)
                                for k, w in m.params.items()},
                               member_hidden=np.array([c["hidden"] for c in chosen]),
                               member_iteration=np.array([c["best"] for c in chosen]),
                               **{f"member_{k}": np.array([getattr(m, k) for m in members])
                                  for k in ("diff", "mean", "std")})
            saved = {k: w for k, w in t["kept"].items() if k in snapshots or k == t["best"]}
            npz = run.save(params, t["losses"], results, settings, saved,
                           loss_note="normalised units",
                           iterations=sum(len(c["losses"]) for c in tried),
                           more_metrics=dict(
                               candidates=table, horizon_rmse=dict(
                                   horizons=results["horizon"].tolist(),
                                   origins=results["horizon_origins"],
                                   **{k: results[f"horizon_{k}"].tolist()
                                      for k in ("network", "linear", "poly", "persistence")}),
                               coverage_80_by_horizon=by_h,
                               **({} if future is None else
                                  dict(ahead_coverage_80_by_horizon=future[-1]))))
        except KeyboardInterrupt:
            return save_stopped(run, args, tried, prepared)
        if future is not None:
            path = os.path.join(args.out, "forecast.csv")
            write_forecast(path, future_text, fc, lo, hi)
            run.wrote([path])
        elif args.ahead:
            print(f"stopped by {run.stop.by or 'Ctrl-C'} before the networks for --ahead were "
                  f"trained on every row: forecast.csv and ahead.png are not written (and "
                  f"those of an earlier run in {args.out} are removed)")
            run.status = 128 + (run.stop.last or signal.SIGINT)          # 130, or 143
        if not args.no_plot and not run.status:          # stopped: at once, undrawn
            from lab import figures                          # matplotlib, only to draw
            run.wrote(figures.plot_file(npz, args.out))
        run.report(summary(results, t["hidden"], n - n_train,
                           chosen=(len(ways) > 1, len(sizes) > 1)))
    return run.status


def control_runs(model, m, y, n_fit, n_train, results, args):
    """lab/controls.py's two controls, scored on the held-out rows as the network is:
    the best network m (a Member) with its readout refitted by least squares, and the
    feed-forward network on the polynomial model's window, of m's size and trained with
    its budget. A dict of their predictions and RMSEs."""
    rows, z = np.arange(n_train, len(y)), reads(m, y)
    fit_targets = np.arange(1, n_fit - m.diff)          # z's values from the fit rows
    out = controls.readout_refit(model, m.params, z, fit_targets) * m.std + m.mean
    refit = np.full(len(y), np.nan)
    if m.diff:
        refit[2:] = y[1:-1] + out[:-1]                  # out[j] predicts z[j + 1]
    else:
        refit[1:] = out[:-1]
    ff, ff_val = controls.feed_forward(y, n_fit, n_train, int(results["poly_order"]),
                                       bool(results["poly_diff"]), m.params["Why"].shape[1],
                                       args, args.seed)
    val_rows = np.arange(n_fit, n_train)
    return dict(refit_predictions=refit[rows], refit_rmse=rmse(refit[rows], y[rows]),
                refit_val_rmse=rmse(refit[val_rows], y[val_rows]),
                ff_predictions=ff[rows], ff_rmse=rmse(ff[rows], y[rows]), ff_val_rmse=ff_val,
                refit_nrmse=rmse(refit[rows], y[rows]) / results["train_std"],
                ff_nrmse=rmse(ff[rows], y[rows]) / results["train_std"])


def save_stopped(run, args, tried, prepared):
    """What a Ctrl-C or SIGTERM during the trainings leaves, saved at once: each network
    trained so far (its best checked weights, or its last when it was stopped before its
    checks), its losses and its representation, as candidate<i>_<name> arrays, and the
    table of candidates in metrics.json, marked interrupted. Nothing is tested. Returns
    the exit status, 130 or 143."""
    arrays, table = {}, []
    for i, c in enumerate(tried):
        weights = c["kept"][c["best"]] if "best" in c else c["params"]
        _, mean, std = prepared[c["diff"]]
        arrays.update({f"candidate{i}_{k}": w for k, w in weights.items()},
                      **{f"candidate{i}_loss": c["losses"], f"candidate{i}_mean": mean,
                         f"candidate{i}_std": std})
        table.append(dict(diff=c["diff"], hidden=c["hidden"], iterations=len(c["losses"]),
                          val_rmse=c.get("val_rmse"), best_iteration=c.get("best")))
    plumbing.clear_outputs(args.out)                 # no file of an earlier run beside these
    npz = os.path.join(args.out, f"{args.model.NAME}.npz")
    plumbing.save_npz(npz, dict(arrays, model=args.model.NAME, csv=os.path.abspath(args.csv)))
    plumbing.save_json(os.path.join(args.out, "metrics.json"), dict(
        interrupted=True, candidates=table, settings={k: v for k, v in vars(args).items()
                                                      if k != "model"}))
    by = "SIGTERM" if run.stop.last == signal.SIGTERM else "Ctrl-C"
    print(f"stopped by {by}: the {len(tried)} network(s) trained so far are saved in {npz}, "
          f"untested (run the command again to finish)", flush=True)
    run.status = 143 if by == "SIGTERM" else 130
    return run.status


def check_every(iters, n_train):
    """How many iterations apart the validation checks are: CHECKS of them, or fewer on a
    long series (CHECK_BUDGET rows read in all, at least 10 checks)."""
    checks = max(10, min(CHECKS, CHECK_BUDGET // max(n_train, 1)))
    return max(1, -(-iters // checks))                   # iters / checks, rounded up


def as_member(c, prepared, k):
    """Candidate c (a dict of main's) with the weights of iteration k, as a Member."""
    return Member(c["kept"][k], c["diff"], *prepared[c["diff"]][1:])


def choose(model, tried, prepared, y, val_rows):
    """The candidate with the best one-step RMSE on the validation rows; then, when
    there are several and every one was scored, the
    average of all their predictions, kept instead if it is lower there still. Returns
    (the best candidate, the candidates kept: it alone or all of them, the average's
    validation RMSE: NaN if not tried)."""
    t = min(tried, key=lambda c: (np.nan_to_num(c["val_rmse"], nan=np.inf),
                                  c["diff"], c["hidden"]))
    if len(tried) < 2 or not all(np.isfinite(c["val_rmse"]) for c in tried):
        return t, [t], float("nan")
    every = [as_member(c, prepared, c["best"]) for c in tried]
    average_val = rmse(one_step(model, every, y)[val_rows], y[val_rows])
    return t, (tried if average_val < t["val_rmse"] else [t]), average_val


def check(y, n_fit, z, mean, std, diff, column, path):
    """ValueError when what the network would train on cannot be normalised: values so
    large that their mean or variance overflows, or a part that is constant up to
    rounding."""
    what = "changes" if diff else "values"
    big = float(np.max(np.abs(y)))
    too_large = ValueError(
        f"column {column!r} of {path} holds values as large as {big:.3g}: too large to "
        f"normalise here (beyond {MAGNITUDE[1]:.0e} the sums of squares of the errors and "
        f"of the {what} overflow); rescale the column")
    if not (np.isfinite(mean) and np.isfinite(std)) or big > MAGNITUDE[1]:
        raise too_large
    if big < MAGNITUDE[0]:
        raise ValueError(f"column {column!r} of {path} holds no value larger than "
                         f"{big:.3g}: too small to work with here (below {MAGNITUDE[0]:.0e} "
                         f"the squares of the {what} underflow); rescale the column")
    # against the values' own magnitude: changes at the level of the values' rounding
    # (5 and 5.000000000000001 in turn) are no signal either
    scale = max(float(np.max(np.abs(y[:n_fit]))), np.finfo(float).tiny)
    if not std > 1e-9 * scale:
        raise ValueError(f"the {what} of column {column!r} of {path} are constant over "
                         f"the rows the network trains on (the first {n_fit}), up to "
                         f"rounding (a spread of {std:.3g} on values as large as "
                         f"{scale:.3g}): there is nothing to learn"
                         + (" from them" + (" (a straight line?)" if np.ptp(
                             np.diff(y[:n_fit])) == 0 else "") + "; --no-diff trains on "
                            "the values" if diff else ""))
    if not np.all(np.isfinite(z)):
        raise too_large


def labels(x_label, column, path):
    return {"warmup": 0, "x_label": x_label, "y_label": column,
            "series": f"{column} ({os.path.basename(path)})"}


def linear_model(y, n_fit, n_train):
    """The linear baseline, fair to the network: AR(p) on the levels and AR(p) on the
    changes, each p by AIC; the one kept is the one with the lower one-step RMSE on the
    validation rows [n_fit, n_train) when fitted on the fit rows, as the network's
    representation is chosen. Returns {False: levels, True: changes}, each (p, coef)
    refitted on the whole training part, the representation chosen, and its
    validation RMSE."""
    val_rows = np.arange(n_fit, n_train)
    on_fit = {False: choose_ar(y[:n_fit]), True: ar_changes(y[:n_fit])}
    val = {d: rmse(linear.predict(coef, y, val_rows, d), y[val_rows])
           for d, (_, coef) in on_fit.items()}
    chosen = min(val, key=lambda d: (val[d], d))
    return {False: choose_ar(y[:n_train]), True: ar_changes(y[:n_train])}, chosen, val[chosen]


def evaluate(model, members, y, x, n_fit, n_train, seed=0):
    """On the held-out rows y[n_train:], in the original units: the network's one-step
    predictions (it reads the true series from its start, h = 0 at the first row) next
    to 'same as last value', the linear model (linear_model: AR(p) on the levels or
    on the changes, chosen on the validation rows) and the polynomial autoregression
    (lab/poly.py: levels or changes, order and degree chosen on the validation rows),
    with Diebold-Mariano tests of the network against the linear model and against
    the better of the two window models on the validation rows; members: the network,
    or the networks whose predictions are averaged; and the forecasts from the end of
    the training part: the network's, the window models' and the drift line's (the last
    training value plus the mean change of the training part per step). Beside them
    the control that tells the recurrence from the way it is fitted: an echo-state
    network (lab/esn.py: a fixed random recurrent layer, its readout fitted by ridge
    least squares; levels or changes, size, spectral radius, input scale and ridge
    chosen on the validation rows; its reservoir drawn from seed), one step ahead.
    Every RMSE is also given over the training part's standard deviation (*_nrmse)."""
    rows = np.arange(n_train, len(y))
    targets = y[rows]
    predictions = one_step(model, members, y)[rows]
    # the window models and the tests work in units of the training part's spread, so
    # that no sum of squares overflows or underflows whatever the series' magnitude
    unit = float(np.mean(y[:n_train])), float(np.std(y[:n_train]))    # (centre, spread)
    yn = (y - unit[0]) / unit[1]
    back = lambda v: np.asarray(v) * unit[1] + unit[0]               # noqa: E731
    ars, ar_diff, ar_val = linear_model(yn, n_fit, n_train)
    both = {d: back(linear.predict(coef, yn, rows, d)) for d, (_, coef) in ars.items()}
    p, coef = ars[ar_diff]
    ar = both[ar_diff]
    pm, poly_val = poly.choose(yn, n_fit, n_train)
    pp = back(pm.one_step(yn, rows))
    em, esn_val = esn.choose(yn, n_fit, n_train, seed)
    ep = back(em.one_step(yn, rows)) if em else np.full(len(rows), np.nan)
    window = "poly" if poly_val < ar_val else "linear"     # the better on validation
    wp = pp if window == "poly" else ar
    dm_stat, dm_pvalue = diebold_mariano((predictions - targets) / unit[1],
                                         (ar - targets) / unit[1])
    dmw_stat, dmw_pvalue = diebold_mariano((predictions - targets) / unit[1],
                                           (wp - targets) / unit[1])
    better = lambda other: int(np.sum((predictions - targets) ** 2 < (other - targets) ** 2))  # noqa: E731
    fc = forecast(model, members, y, n_train, len(rows))
    ar_fc = back(linear.iterate(coef, yn[:n_train], len(rows), ar_diff))
    poly_fc = back(pm.iterate(yn[:n_train], len(rows)))
    steps = np.arange(1, len(rows) + 1)
    drift = y[n_train - 1] + steps * (y[n_train - 1] - y[0]) / (n_train - 1)
    tolerance = VALID_FRACTION * unit[1]             # of the training part's spread
    by_horizon = rolling_origin(model, members, y, n_train, ar_diff, coef, unit, pm)
    r = dict(horizon=np.array(by_horizon["horizons"]),
             **{f"horizon_{k}": np.array(by_horizon[k])
                for k in ("network", "linear", "poly", "persistence")},
             horizon_origins=by_horizon["origins"],
             test_x=x[n_train - 1:], test_inputs=y[rows - 1], test_targets=targets,
             test_predictions=predictions, test_mse=rmse(predictions, targets) ** 2,
             test_rmse=rmse(predictions, targets), baseline_rmse=rmse(y[rows - 1], targets),
             ar_predictions=ar, ar_rmse=rmse(ar, targets), ar_order=p, ar_diff=ar_diff,
             ar_val_rmse=ar_val * unit[1],
             ar_levels_rmse=rmse(both[False], targets),
             ar_changes_rmse=rmse(both[True], targets),
             ar_levels_order=ars[False][0], ar_changes_order=ars[True][0],
             poly_predictions=pp, poly_rmse=rmse(pp, targets), poly_order=pm.p,
             poly_degree=pm.degree, poly_diff=pm.changes, poly_terms=len(pm.coef),
             poly_val_rmse=poly_val * unit[1], window_model=window,
             esn_predictions=ep, esn_rmse=rmse(ep, targets), esn_val_rmse=esn_val * unit[1],
             esn_diff=bool(em and em.changes), esn_units=em.N if em else 0,
             esn_radius=em.rho if em else np.nan, esn_scale=em.s if em else np.nan,
             esn_ridge=em.ridge if em else np.nan,
             dm_esn_pvalue=diebold_mariano((predictions - targets) / unit[1],
                                           (ep - targets) / unit[1])[1],
             dm_stat=dm_stat, dm_pvalue=dm_pvalue, network_better_rows=better(ar),
             dm_window_stat=dmw_stat, dm_window_pvalue=dmw_pvalue,
             network_better_window_rows=better(wp),
             series_variance=float(np.var(y)), train_std=unit[1],
             forecast_x=x, forecast_seed=y[:n_train], forecast_true=targets,
             forecast=fc, forecast_rmse=rmse(fc, targets), ar_forecast=ar_fc,
             ar_forecast_rmse=rmse(ar_fc, targets), poly_forecast=poly_fc,
             poly_forecast_rmse=rmse(poly_fc, targets), drift_forecast=drift,
             drift_rmse=rmse(drift, targets), valid_tolerance=tolerance,
             valid_steps=valid_steps(fc, targets, tolerance),
             ar_valid_steps=valid_steps(ar_fc, targets, tolerance),
             poly_valid_steps=valid_steps(poly_fc, targets, tolerance))
    for k in ("test", "baseline", "ar", "poly", "esn", "forecast", "ar_forecast",
              "poly_forecast"):
        r[f"{k}_nrmse"] = r[f"{k}_rmse"] / unit[1]
    return r


def rolling_origin(model, members, y, n_train, ar_diff, ar_coef, unit=(0.0, 1.0), pm=None):
    """Forecasts from every origin in the held-out part, as forecasters evaluate them:
    from each row t0 = n_train, ..., n - h, knowing y[:t0], forecast rows t0..t0+h-1
    (h = min(MAX_HORIZON, half the held-out rows)) with the network on its own, the
    linear model on its own, the polynomial model pm on its own (the coefficients of
    both are of y in units `unit`: (y - centre) / spread) and 'same as last value'.
    Returns the horizons 1..h and the RMSE of each forecaster at each horizon over
    the origins, as a dict."""
    n = len(y)
    h = horizon(n, n_train)
    origins = origins_of(n, n_train, h)
    truth = np.array([y[t0:t0 + h] for t0 in origins])                 # (origins, h)
    yn = (y - unit[0]) / unit[1]
    paths = {
        "network": simulate(model, members, y, origins, h),
        "linear": [linear.iterate(ar_coef, yn[:t0], h, ar_diff) * unit[1] + unit[0]
                   for t0 in origins],
        "persistence": [np.full(h, y[t0 - 1]) for t0 in origins]}
    if pm is not None:
        paths["poly"] = pm.iterate([yn[:t0] for t0 in origins], h) * unit[1] + unit[0]
    out = {"horizons": list(range(1, h + 1)), "origins": len(origins)}
    for name, p in paths.items():
        out[name] = np.sqrt(np.mean((np.array(p) - truth) ** 2, axis=0)).tolist()
    return out


def horizon(n, n_train):
    """How far ahead the rolling-origin forecasts reach: MAX_HORIZON steps, or half
    the held-out rows."""
    return min(MAX_HORIZON, (n - n_train) // 2)


def origins_of(n, n_train, h, most=MAX_ORIGINS):
    """The rows t0 = n_train, ..., n - h the forecasts start from (at most `most`,
    evenly spread)."""
    origins = np.arange(n_train, n - h + 1)
    if len(origins) > most:                              # a long series: evenly spread
        origins = origins[np.round(np.linspace(0, len(origins) - 1, most)).astype(int)]
    return origins


# ---------------------------------------------------------------------------------------
# --ahead: a forecast past the end of the data, with an interval from simulated futures
def simulate(model, members, y, starts, n_future, noise=None):
    """Futures of the series y, one from each row t0 of starts: a future reads the true
    y[:t0] from h = 0 at the first row, then goes on by itself for n_future rows, each
    row the networks' (average) prediction plus, if given, noise[p, k] in y's units; every
    network then reads that value as the next one, in its own representation. All the
    futures step together, as the rows of a batch (lab/cells.py). Shape (P, n_future)."""
    starts = np.asarray(starts)
    P, end, first = len(starts), int(starts.max()) + n_future, int(starts.min())
    base = max(first - 1, 0)                    # seen[:, t - base] is row t
    # the rows before the first start are the same for every future: each network reads
    # them once, in its forward pass
    states, guess = read(model, members, y[:first])
    states = [tuple(np.repeat(s, P, axis=0) for s in st) if isinstance(st, tuple)
              else np.repeat(st, P, axis=0) for st in states]
    seen = np.full((P, end - base), np.nan)     # the value each future reads at each row
    seen[:, :max(min(end, len(y)) - base, 0)] = y[base:end]
    guess = np.full(P, np.nan) if guess is None else np.repeat(guess, P)
    step = batched_step(model)
    for t in range(first, end):
        own = (starts <= t) & (t < starts + n_future)   # the futures on their own here
        seen[own, t - base] = guess[own] + (0 if noise is None else noise[own, t - starts[own]])
        states, guess = advance(step, members, states, seen[:, t - base],
                                seen[:, t - 1 - base] if t else None)
    return np.array([seen[p, t0 - base:t0 - base + n_future] for p, t0 in enumerate(starts)])


def read(model, members, known):
    """Every network's state after reading the values `known` from h = 0 (a batch of
    one: arrays (1, H)), and the average of their predictions of the next value (shape
    (1,), or None when nothing was read): what advance() gives row by row, from each
    network's forward pass."""
    states, guesses = [], []
    for m in members:
        H = m.params["Why"].shape[1]
        z = reads(m, known) if len(known) else np.empty(0)
        if len(z) == 0:                             # nothing to read yet (or no change)
            states.append(zero_state(model, H, 1))
            guesses.append(np.nan)
            continue
        hs, *cache, ys = model.forward(m.params, z, model.init_state(H))
        lstm = isinstance(model.init_state(H), tuple)            # (h, C): the LSTM's
        states.append((hs[-1:], cache[0][-1:]) if lstm else hs[-1:])
        out = ys[-1] * m.std + m.mean
        guesses.append(known[-1] + out if m.diff else out)
    return states, (np.array([np.mean(guesses)]) if len(known) else None)


def zero_state(model, H, P):
    """The model's state before the first row (h = 0, and C = 0 for the LSTM) for a
    batch of P sequences: arrays (P, H)."""
    state = model.init_state(H)
    return (tuple(np.zeros((P, H)) for _ in state) if isinstance(state, tuple)
            else np.zeros((P, H)))


def advance(step, members, states, now, before):
    """One row for a batch, with the cell's batched step: every network reads the values `now` (P,) (the changes from
    `before` for a network on the changes; before is None at the first row, where there
    is none yet and its state stays as it is). Returns the new states and the average of
    the networks' predictions of the next value (P,)."""
    new, guesses = [], []
    for m, state in zip(members, states):
        if m.diff and before is None:
            new.append(state)
            guesses.append(np.full(len(now), np.nan))
            continue
        x = ((now - before) if m.diff else now) - m.mean
        state = step(m.params, x / m.std, state)
        h = state[0] if isinstance(state, tuple) else state  # the LSTM's state is (h, C)
        out = (h @ m.params["Why"][0] + m.params["by"][0, 0]) * m.std + m.mean  # Why h + by
        new.append(state)
        guesses.append(now + out if m.diff else out)
    return new, np.mean(guesses, axis=0)


def residuals(model, members, known, warmup=0):
    """The one-step errors of the network on the rows `known`, in y's units, after the
    first `warmup` rows (read from h = 0, its first errors are not those of a network
    in the middle of a series: they are left out of the pool the noise is drawn from)."""
    errors = (known - one_step(model, members, known))[warmup:]
    return errors[np.isfinite(errors)]


def interval(model, members, y, start, n_future, rng, paths=PATHS, warmup=0, pool=None):
    """The 80% interval of the values y[start:start + n_future], from `paths` futures
    simulated after y[:start]; the noise is drawn from `pool`, by default the one-step
    errors on the rows before start after the warm-up. Returns (lower, upper), each
    (n_future,), in y's units."""
    if pool is None:
        pool = residuals(model, members, y[:start], warmup)
    noise = rng.choice(pool, size=(paths, n_future))
    futures = simulate(model, members, y, np.full(paths, start), n_future, noise)
    lower, upper = np.percentile(futures, INTERVAL, axis=0)
    return lower, upper


def coverage_by_horizon(model, members, y, n_train, rng, pool, paths=COVER_PATHS):
    """How often the 80% interval holds the truth, by horizon, over rolling origins in
    the held-out rows (those of rolling_origin, at most COVER_ORIGINS of them): from
    each origin t0, `paths` futures simulated after y[:t0] with noise drawn from `pool`
    (errors from before n_train only), and at each horizon whether y is within their
    10th and 90th percentiles. Returns a dict: horizons, coverage, the binomial 95%
    interval of each (Wilson's; the origins overlap, so the bounds are a guide, not
    exact), and the number of origins."""
    n = len(y)
    h = horizon(n, n_train)
    origins = origins_of(n, n_train, h, COVER_ORIGINS)
    inside = []
    for t0 in origins:
        lower, upper = interval(model, members, y, t0, h, rng, paths, pool=pool)
        truth = y[t0:t0 + h]
        inside.append((truth >= lower) & (truth <= upper))
    k, m = np.sum(inside, axis=0), len(origins)
    low, high = wilson(k, m)
    return dict(horizons=list(range(1, h + 1)), coverage=(k / m).tolist(),
                lower=low.tolist(), upper=high.tolist(), origins=m)


def unseen_errors(model, members, y, rows):
    """The one-step errors y[t] - prediction on rows the networks never trained on
    (the validation rows, or those and the held-out rows): the pool the interval's
    noise is drawn from. Errors on the rows a network trained on are smaller than those
    it makes on new rows, and an interval built from them is too narrow."""
    rows = np.asarray(rows)
    errors = y[rows] - one_step(model, members, y[:rows[-1] + 1])[rows]
    return errors[np.isfinite(errors)]


def wilson(k, m, z=1.959964):
    """Wilson's score interval for a proportion k / m (95% with z = 1.96): the
    p with |k - m p| <= z sqrt(m p (1 - p)). Returns (lower, upper)."""
    k = np.asarray(k, dtype=float)
    centre = (k + z * z / 2) / (m + z * z)
    half = z * np.sqrt(k * (m - k) / m + z * z / 4) / (m + z * z)
    return centre - half, centre + half


def retrain(model, args, y, chosen, init_seed, data_seed, run, n_rows):
    """The chosen network (each network of the average) trained again on y[:n_rows]:
    its representation, hidden size and the number of iterations kept. Returns the
    members, or None when Ctrl-C stopped the training."""
    members, seen_rows = [], y[:n_rows]
    for c in chosen:
        z, mean, std = representation(seen_rows, n_rows, c["diff"])
        which = "" if len(chosen) == 1 else (f" ({'changes' if c['diff'] else 'levels'}, "
                                             f"{c['hidden']} hidden units)")
        rows = (f"all {n_rows} rows" if n_rows == len(y) else
                f"the first {n_rows} rows (to measure the interval on the last {len(y) - n_rows})")
        run.next_progress(f"again on {rows}{which}, {c['best']:,} iterations (the number "
                          f"kept):")
        params = model.init_params(c["hidden"], np.random.default_rng(init_seed))
        seen = z[:n_rows - 1] if c["diff"] else z
        plumbing.train(model, params, SeriesData(seen, seed=data_seed), max(c["best"], 1),
                       args.steps, args.lr, args.hprev, args.anneal, progress=run.progress,
                       stop=run.stop)
        if run.stop.requested:
            return None
        members.append(Member(params, c["diff"], mean, std))
    return members


def ahead(model, args, y, x, about, chosen, init_seed, data_seed, run, n_train, check_pool,
          pool):
    """Train the chosen network again on every row (retrain), and forecast args.ahead
    steps past the last, with the 80% interval, its noise drawn from `pool` (the test's
    networks' errors on the validation and the held-out rows, none of which they
    trained on). First, the same recipe on all but the held-out rows: its interval,
    with noise from `check_pool` (the errors on the validation rows), is measured on
    them (coverage_by_horizon). Returns (x of the future, forecast, lower, upper, the x
    as text, that coverage), or None when Ctrl-C stopped a training."""
    n = len(y)
    check = retrain(model, args, y, chosen, init_seed, data_seed, run, n_train)
    members = check and retrain(model, args, y, chosen, init_seed, data_seed, run, n)
    if not members:
        return None
    run.stop.hard = True                          # the simulation: a Ctrl-C stops at once
    coverage = coverage_by_horizon(model, check, y, n_train,
                                   np.random.default_rng(data_seed), check_pool)
    fc = forecast(model, members, y, n, args.ahead)
    lower, upper = interval(model, members, y, n, args.ahead,
                            np.random.default_rng(data_seed), pool=pool)
    step = float(np.median(np.diff(x)))
    future = x[-1] + step * np.arange(1, args.ahead + 1)
    kind = about.get("x")
    text = ([format_date(v, kind == "month") for v in future] if kind in ("month", "date")
            else [f"{v:.10g}" for v in future])
    return future, fc, lower, upper, text, coverage


def coverage_arrays(name, c):
    """coverage_by_horizon's dict as arrays of the .npz (for the figures)."""
    return {f"{name}_h": np.array(c["horizons"]), f"{name}_80": np.array(c["coverage"]),
            f"{name}_lower": np.array(c["lower"]), f"{name}_upper": np.array(c["upper"]),
            f"{name}_origins": c["origins"]}


def write_forecast(path, text, fc, lower, upper):
    lines = ["x,forecast,lower,upper"] + [f"{t},{f:.10g},{lo:.10g},{hi:.10g}"
                                          for t, f, lo, hi in zip(text, fc, lower, upper)]
    plumbing.write_atomic(path, lambda f: f.write(("\n".join(lines) + "\n").encode()))


def valid_steps(forecast, truth, tolerance):
    """The valid prediction time of a forecast: how many steps it stays within
    `tolerance` of the truth before its error first exceeds it (all of them if it never
    does)."""
    off = np.flatnonzero(~(np.abs(np.asarray(forecast) - truth) <= tolerance))
    return int(off[0]) if len(off) else len(truth)


def summary(r, hidden, n_held_out, chosen):
    """The lines the run ends with: the network against the baselines, one step ahead
    and on its own, in words too. chosen: (whether levels or differences, whether the
    hidden size) was chosen on the validation rows."""
    net, ar, same = r["test_rmse"], r["ar_rmse"], r["baseline_rmse"]
    what, size = ("differences" if r["diff"] else "levels"), f"{hidden} hidden units"
    network = {(True, True): f"{what} with {size}, both chosen on the validation rows",
               (True, False): f"{what} (chosen on the validation rows) with {size}",
               (False, True): f"{what} with {size} (chosen on the validation rows)",
               (False, False): f"{what} with {size}"}[tuple(map(bool, chosen))]
    ar_name = f"AR({r['ar_order']}) on the {'changes' if r['ar_diff'] else 'levels'}"
    poly_name = poly.label(r)
    if r["networks"] > 1:
        network = (f"the average of the {r['networks']} candidates' predictions, each with "
                   f"the weights it kept: validation RMSE {r['average_val_rmse']:.4g}, "
                   f"against {r['val_rmse']:.4g} for the best alone ({what} with {size}), "
                   f"so the average was chosen; the best alone scores {r['single_rmse']:.4g} "
                   f"held out")
    else:
        network = (f"network on {network}; weights of iteration {r['best_iteration']:,}, "
                   f"validation RMSE {r['val_rmse']:.4g}")
    line = (f"held-out one-step RMSE over {n_held_out} rows: network {net:.4g}, linear "
            f"{ar_name} {ar:.4g}, {poly_name} {r['poly_rmse']:.4g}, 'same as last value' "
            f"{same:.4g}  ({network}; the window models' form chosen on the validation "
            f"rows too)\n"
            f"the control, an echo-state network (a fixed random recurrence, its readout "
            f"fitted by least squares; {r['esn_units']} units, chosen on the validation "
            f"rows): {r['esn_rmse']:.4g} (network against it: Diebold-Mariano "
            f"{p_text(r['dm_esn_pvalue'])})\n"
            f"over the training rows' standard deviation ({r['train_std']:.4g}): network "
            f"{r['test_nrmse']:.3g}, linear {r['ar_nrmse']:.3g}, polynomial "
            f"{r['poly_nrmse']:.3g}, echo-state {r['esn_nrmse']:.3g}, 'same as last value' "
            f"{r['baseline_nrmse']:.3g}\n"
            + (f"the controls (--controls): the network with its readout fitted again by "
               f"least squares {r['refit_rmse']:.4g}; a feed-forward network on the "
               f"polynomial's window of {r['poly_order']}, trained as the network is "
               f"{r['ff_rmse']:.4g}\n" if "ff_rmse" in r else "") +
            f"forecast of the held-out rows from the end of the training part: RMSE "
            f"network {r['forecast_rmse']:.4g}, {ar_name} {r['ar_forecast_rmse']:.4g}, "
            f"polynomial {r['poly_forecast_rmse']:.4g}, drift line {r['drift_rmse']:.4g}; "
            f"valid for {r['valid_steps']} steps (network), {r['ar_valid_steps']} (linear) "
            f"and {r['poly_valid_steps']} (polynomial), until the error first exceeds "
            f"{r['valid_tolerance']:.3g}, 10% of the training rows' standard deviation")
    line += "\n" + test_line(net, ar, r["dm_pvalue"], r["network_better_rows"], n_held_out,
                             f"the linear model, {ar_name},", "the linear model")
    if r["window_model"] == "poly":
        line += "\n" + test_line(net, r["poly_rmse"], r["dm_window_pvalue"],
                                 r["network_better_window_rows"], n_held_out,
                                 f"the polynomial model, {poly_name},",
                                 "the polynomial model (the better window model on the "
                                 "validation rows)")
    other = r["ar_changes_rmse"] if not r["ar_diff"] else r["ar_levels_rmse"]
    if other < net:
        line += (f"\nAR on the {'levels' if r['ar_diff'] else 'changes'} ({other:.4g}), not "
                 f"chosen on the validation rows, beats the network too")
    if net > same:
        line += "\nrepeating the last value beats the network here"
    covered = int(r.get("coverage_rows", n_held_out))
    line += (f"\nthe 80% interval, simulated from the end of the training part, held "
             f"{100 * r['coverage_80']:.0f}% of the "
             + (f"{n_held_out} held-out rows" if covered == n_held_out else
                f"first {covered} held-out rows (of {n_held_out})"))
    if "horizon_coverage_80" in r:
        line += "\n" + coverage_line(r, "horizon_coverage", "the test's network")
    if "ahead_horizon_coverage_80" in r:
        line += "\n" + coverage_line(r, "ahead_horizon_coverage", "--ahead's network, trained "
                                      "the same way on all but the held-out rows")
    return line


def test_line(net, other, p, rows_better, n, name, plain):
    """One line of a Diebold-Mariano test of the network against another model."""
    rows = f"the network's error is the smaller on {rows_better} of the {n} rows"
    if not np.isfinite(p) or p >= 0.05:
        return (f"the network and {plain} are not significantly different one step "
                f"ahead (Diebold-Mariano {p_text(p)}; {rows})")
    better = f"the network is significantly better than {plain}" if net < other else \
        f"{name} is significantly better than the network"
    return (f"{better} one step ahead (Diebold-Mariano "
            f"{p_text(p)}; {rows}): its RMSE is {100 * (1 - min(net, other) / max(net, other)):.0f}% "
            f"lower")


def coverage_line(r, name, whose):
    """The interval's coverage by horizon, at the first horizons, in words."""
    h, c = np.asarray(r[f"{name}_h"]), np.asarray(r[f"{name}_80"])
    lo, hi = np.asarray(r[f"{name}_lower"]), np.asarray(r[f"{name}_upper"])
    shown = ", ".join(f"{int(k)}: {100 * v:.0f}% [{100 * a:.0f}, {100 * b:.0f}]"
                      for k, v, a, b in zip(h[:5], c[:5], lo[:5], hi[:5]))
    return (f"the 80% interval of {whose}, from {int(r[f'{name}_origins'])} origins in the "
            f"held-out rows, held by horizon {shown} (95% interval)"
            + (f"; at {int(h[-1])} steps {100 * c[-1]:.0f}%" if len(h) > 5 else "")
            + f"; {coverage_verdict(lo, hi)}")


def coverage_verdict(lower, upper):
    """Whether the interval's coverage by horizon is what it claims, from Wilson's 95%
    intervals: 80% within each, or below, or above, at how many horizons. The origins
    overlap, so hits at nearby origins are not independent and the binomial intervals
    are narrower than the truth: a guide, not a test."""
    lower, upper = np.asarray(lower), np.asarray(upper)
    below, above = int(np.sum(upper < 0.8)), int(np.sum(lower > 0.8))
    n = len(lower)
    if not below and not above:
        verdict = f"80% lies within the 95% interval at every one of the {n} horizons"
    else:
        verdict = (f"the coverage is below 80% beyond its 95% interval at {below} of the {n} "
                   f"horizons, above it at {above}")
    return verdict + " (the origins overlap: hits are dependent, the intervals a guide)"


if __name__ == "__main__":
    sys.exit(plumbing.command(main, PROG))
