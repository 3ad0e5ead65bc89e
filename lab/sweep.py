"""Run a grid of training runs over several seeds, in parallel, and summarise them: the
median, best and worst of every configuration.

    python -m lab.sweep --cells rnn lstm gru --vary lr=0.001,0.003,0.01,0.03 --seeds 0-4 \\
        --out results/sweep [--vary hidden=16,32] [--iters N] [--workers K]

Every run is the cell's own script (rnn_cos.py, lstm_cos.py or gru_cos.py) in a process
of its own, with the grid's options and --no-plot: exactly what that script does
with those settings (lab/runner.py runs them; BLAS is kept to one thread in each, so the
numbers are the same whatever --workers is). Options not varied keep each script's own
default; values that parse the same (0.01 and 1e-2) are one run.

Writes to --out:
  runs.csv     one row per finished run, appended as each one ends: the cell, every
               option of the cell scripts (the varied ones among them), seed, iters,
               code and data (fingerprints of the code that ran and of the CSV file it
               read), status, train_loss, test_mse, forecast_rmse, val_mse (on the
               validation cosine, where a choice is made), the linear model's
               ar_mse (cosine runs) and ar_forecast_rmse; for --csv runs same_rmse,
               ar_rmse, ar_diff (the linear model on the changes), valid_steps and
               ar_valid_steps (how long each forecast stays within 10% of the series'
               standard deviation), coverage_80 (of the 80% interval on the held-out
               rows), dm_pvalue (network against the linear model), drift_rmse,
               poly_rmse and poly_model (the polynomial autoregression), dm_window_pvalue
               (network against the better window model on validation), test_nrmse,
               ar_nrmse and poly_nrmse (over the training rows' standard deviation),
               poly_forecast_rmse, coverage_80_h1 and _h5 (the interval's coverage at 1
               and 5 steps over rolling origins), choice
               (what the validation rows chose: levels or differences, and the hidden
               size unless it was given, or the average of the candidates) and
               best_iteration; seconds. Run again, the same command redoes nothing, a
               wider grid runs only the runs that are missing, and a row made by other
               code or from another version of the CSV file is made again (the sweep
               says how many); an interrupted sweep keeps every finished row.
  summary.md   per configuration, the median, best and worst over the seeds
  sweep.png    each measure against the varied option, a dot per seed, medians marked
               (not with --no-plot)
  failed.txt   only if some runs failed: their messages (the sweep then exits 1)
"""
import argparse
import io
import itertools
import json
import os
import shutil
import sys
import tempfile
from contextlib import redirect_stderr

import numpy as np

import rnn_cos
from lab import plumbing, poly, runner, series
from lab.cells import CELLS

NOT_VARIED = {"help", "iters", "seed", "out", "no_plot", "quiet", "cell"}  # the sweep's own
ACTIONS = {a.dest: a for a in series.build_parser()._actions if a.dest not in NOT_VARIED}
# every option of the cosine scripts (each takes a value: rnn_cos.parse_args) and of the
# CSV mode
OPTIONS = list(dict.fromkeys([k for k in rnn_cos.DEFAULTS if k not in NOT_VARIED]
                             + list(ACTIONS)))
METRICS = ("train_loss", "test_mse", "forecast_rmse", "val_mse")
SERIES_METRICS = ("test_rmse", "ar_rmse", "poly_rmse", "same_rmse")  # one-step RMSE, baselines
COSINE_METRICS = ("ar_mse", "ar_forecast_rmse")           # the linear model
VALID_METRICS = ("valid_steps", "ar_valid_steps", "coverage_80", "dm_pvalue",
                 "drift_rmse", "dm_window_pvalue", "test_nrmse", "ar_nrmse", "poly_nrmse",
                 "poly_forecast_rmse", "esn_rmse", "esn_nrmse", "dm_esn_pvalue",
                 "refit_rmse", "ff_rmse", "refit_nrmse", "ff_nrmse")
COVERAGE_METRICS = ("coverage_80_h1", "coverage_80_h5")   # --csv: by horizon                             # --csv: forecasts, significance
KEY = ["cell", *OPTIONS, "seed", "iters"]          # what a run was asked to do
COLUMNS = [*KEY, *runner.FINGERPRINT, "status", *METRICS, *COSINE_METRICS,
           "same_rmse", "ar_rmse", "ar_diff", "poly_rmse", "poly_model", *VALID_METRICS,
           *COVERAGE_METRICS,
           "choice", "best_iteration",
           "seconds"]


# ---------------------------------------------------------------------------------------
# the command line and the grid
MAX_SEEDS = 10_000      # a grid of more seeds than this would not end


def parse_seeds(tokens):
    """'0-9', '0 3 7' and '0,3,7' (and mixtures) to a sorted list of distinct seeds."""
    seeds = set()
    for token in " ".join(tokens).replace(",", " ").split():
        lo, sep, hi = token.partition("-")
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError:
            raise ValueError(f"argument --seeds: expected seeds like 0-9 or 0 3 7, "
                             f"got {token!r}")
        if a < 0 or b < a:
            raise ValueError(f"argument --seeds: {token!r} is not a range of seeds >= 0 "
                             f"(the first seed, then the last)")
        if b - a + len(seeds) >= MAX_SEEDS:
            raise ValueError(f"argument --seeds: at most {MAX_SEEDS:,} seeds, got {token!r}")
        seeds.update(range(a, b + 1))
    if not seeds:
        raise ValueError("argument --seeds: no seeds")
    return sorted(seeds)


def parse_vary(texts):
    """['lr=0.001,0.01', ...] to {option: [values as given]}, in the order given."""
    vary = {}
    for text in texts:
        name, sep, values = text.partition("=")
        name = name.strip().lstrip("-").replace("-", "_")
        if not sep or not name:
            raise ValueError(f"argument --vary: expected NAME=V1,V2,..., got {text!r}")
        own = {"seed": "--seeds 0-4", "seeds": "--seeds 0-4", "cell": "--cells rnn lstm",
               "cells": "--cells rnn lstm"}
        if name in own:
            raise ValueError(f"argument --vary: {name} is the sweep's own option: give "
                             f"{own[name]}")
        if name not in OPTIONS + ["iters"]:
            raise ValueError(f"argument --vary: {name!r} is not an option of the cell "
                             f"scripts (one of: {', '.join(OPTIONS + ['iters'])})")
        if name in vary:
            raise ValueError(f"argument --vary: {name} is given twice")
        values = [v.strip() for v in values.split(",") if v.strip()]
        if not values:
            raise ValueError(f"argument --vary: {name}= has no values: the grid is empty")
        vary[name] = values
    return vary


def argv_of(name, value):
    """The command-line words that set option `name` to `value` (a string). A switch
    takes true or false; --diff, which the command line gives three ways, takes true
    (--diff), false (--no-diff) or both (neither: both are tried)."""
    if name not in ACTIONS:                            # an option of the cosine scripts
        return [f"--{name}", value]
    action = ACTIONS[name]
    flag = action.option_strings[0]
    word = value.lower()
    if isinstance(action, argparse.BooleanOptionalAction):
        ways = {"true": [flag], "false": [action.option_strings[1]], "both": []}
        if word not in ways:
            raise ValueError(f"argument --vary: {name} takes true, false or both, got {value!r}")
        return ways[word]
    if action.nargs == 0:                               # a switch: true or false
        if word in ("1", "true", "yes", "on"):
            return [flag]
        if word in ("0", "false", "no", "off"):
            return []
        raise ValueError(f"argument --vary: {name} takes true or false, got {value!r}")
    return [flag, value]


def settings_of(module, argv):
    """The parsed arguments that `python -m module argv` (a cell's script, or lab.series)
    would run with; ValueError with its one-line message if it would refuse them."""
    err = io.StringIO()
    try:
        with redirect_stderr(err):
            if module == "lab.series":
                return series.parse_args(argv + ["--no-plot"])
            model = next(m for m in CELLS.values() if m.NAME == module)
            return rnn_cos.parse_args(argv + ["--no-plot"], model.DEFAULTS, f"{module}.py")
    except SystemExit:
        message = err.getvalue().strip().splitlines()[-1].split(": error: ", 1)[-1]
        message = message.removesuffix(plumbing.SEE_HELP)
        raise ValueError(f"python -m {module} would refuse {' '.join(argv)}: {message}")


def poly_model(m):
    """The polynomial model a CSV run chose, in words ('' for a cosine run)."""
    return poly.label(m) if "poly_degree" in m else ""


def coverage_columns(m):
    """The 80% interval's coverage at horizons 1 and 5 over the rolling origins."""
    c = m.get("coverage_80_by_horizon", {}).get("coverage", [])
    return {k: text(c[h - 1] if len(c) >= h else None)
            for k, h in zip(COVERAGE_METRICS, (1, 5))}


def choice(metrics, row):
    """What a --csv run chose on its validation rows: 'levels' or 'differences', and the
    hidden size when the run was not given one ('differences, 16 units'), or 'average of
    4' when it kept the average of its candidates; '' otherwise."""
    if "diff" not in metrics:
        return ""
    if metrics.get("networks", 1) > 1:
        return f"average of {metrics['networks']}"
    what = "differences" if metrics["diff"] else "levels"
    return what + (f", {metrics['settings']['hidden']} units" if row["hidden"] == "" else "")


def text(value):
    """An option's value as runs.csv holds it."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def build_grid(cells, vary, seeds, iters):
    """Every run of the grid, in order, once each: dicts with cell, model, argv, its
    row (the cell, every option's value as runs.csv holds it, seed, iters, and the
    fingerprints of the code and of the CSV file it reads) and config (the cell and the
    varied values). Values that parse the same (0.01 and 1e-2) are one run. ValueError
    for anything that would make every run fail: a value the script would refuse, a
    CSV file that can't be read."""
    runs, keys, data = [], set(), {}
    names = list(vary)
    for cell in cells:
        model = CELLS[cell]
        # a grid over CSV files runs the CSV mode with the cell, a grid on the cosine
        # the cell's own script
        module, own = ("lab.series", ["--cell", cell]) if "csv" in vary else (model.NAME, [])
        code = runner.code_fingerprint(module)
        for combo in itertools.product(*(vary[n] for n in names)):
            words = []
            for name, value in zip(names, combo):
                words += argv_of(name, value)
            for seed in seeds:
                argv = own + words + ["--seed", str(seed)] + (
                    ["--iters", str(iters)] if iters else [])
                s = settings_of(module, argv)
                csv = getattr(s, "csv", None)
                if csv and csv not in data:
                    data[csv] = runner.file_fingerprint(csv)
                row = {"cell": cell, **{o: text(getattr(s, o, None)) for o in OPTIONS},
                       "seed": str(s.seed), "iters": str(s.iters), "code": code,
                       "data": data.get(csv, "")}
                if tuple(row.values()) in keys:
                    continue
                keys.add(tuple(row.values()))
                runs.append(dict(cell=cell, model=model, module=module, argv=argv, row=row,
                                 config=(cell, *(row[n] for n in names))))
    return runs


def grid(out):
    return runner.Grid(os.path.join(out, "runs.csv"), COLUMNS, KEY, numeric=[
        *METRICS, *SERIES_METRICS, *COSINE_METRICS, *VALID_METRICS, *COVERAGE_METRICS,
        "best_iteration", "seconds"])


PROG = "python -m lab.sweep"


def parse_args(argv=None):
    p = plumbing.ArgumentParser(prog=PROG, description=plumbing.first_paragraph(__doc__),
                                formatter_class=plumbing.HelpFormatter)
    p.add_argument("--cells", nargs="+", default=["rnn"], metavar="CELL",
                   help=f"the cells to train: {', '.join(CELLS)} (by default rnn)")
    p.add_argument("--vary", action="append", default=[], metavar="NAME=V1,V2,...",
                   help="an option of the cell scripts or of the CSV mode (python -m "
                        "lab.series) and the values to try; repeat it for a grid of every "
                        "combination")
    p.add_argument("--iters", type=plumbing.positive_int, default=None,
                   help="training iterations of every run (by default each script's)")
    p.add_argument("--no-plot", action="store_true",
                   help="do not draw sweep.png (matplotlib is then not needed)")
    runner.add_grid_options(p, "0-4", None, "folder for runs.csv, summary.md, sweep.png",
                            "print only the summary")
    args = p.parse_args(argv)
    try:
        unknown = [c for c in args.cells if c not in CELLS]
        if unknown:
            raise ValueError(f"argument --cells: unknown cell {unknown[0]!r} "
                             f"(one of: {', '.join(CELLS)})")
        args.cells = list(dict.fromkeys(args.cells))
        args.vary = parse_vary(args.vary)
        if "iters" in args.vary and args.iters:
            raise ValueError("argument --iters: not with --vary iters=...")
        args.seeds = parse_seeds(args.seeds)
        args.runs = build_grid(args.cells, args.vary, args.seeds, args.iters)
    except ValueError as e:
        p.error(str(e))
    return args


# ---------------------------------------------------------------------------------------
# one run
def run_one(job, out):
    """Run the job's cell script with --no-plot --quiet in a folder of its own under
    out, and return its row: status 'ok', or 'diverged' when the run's exit status says
    so (plumbing.EXIT_DIVERGED); runner.Failed with its message if it ended otherwise (a
    crash: no row is kept, and the next sweep runs it again)."""
    tmp = tempfile.mkdtemp(dir=out, prefix=".run-")
    try:
        quiet = ["--quiet"] if job["module"] == "lab.series" else []   # the cells' print little
        status, _, stderr, seconds = runner.run_script(
            job["module"], job["argv"] + ["--no-plot", *quiet, "--out", tmp])
        row = dict(job["row"], seconds=f"{seconds:.2f}")
        if status == 0:
            with open(os.path.join(tmp, "metrics.json")) as f:
                m = json.load(f)
            # the fingerprint of the data the run itself read (the file may have changed
            # since the grid was planned: the row is then another run's, and is kept so)
            row.update(data=m["settings"].get("data_fingerprint", row["data"]))
            row.update(status="ok", train_loss=text(m["train_loss_last_1000"]),
                       test_mse=text(m["test_mse"]), forecast_rmse=text(m["forecast_rmse"]),
                       val_mse=text(m.get("val_mse")),
                       same_rmse=text(m["baseline_rmse"] if "baseline_rmse" in m
                                      else m["baseline_mse"] ** 0.5),
                       ar_rmse=text(m.get("ar_rmse")),
                       ar_diff=text(m.get("ar_diff")),
                       poly_rmse=text(m.get("poly_rmse")), poly_model=poly_model(m),
                       **{k: text(m.get(k)) for k in COSINE_METRICS + VALID_METRICS},
                       **coverage_columns(m),
                       choice=choice(m, job["row"]),
                       best_iteration=text(m.get("best_iteration")))
            return row
        if status == plumbing.EXIT_DIVERGED:          # the run says its loss diverged
            return dict(row, status="diverged")
        lines = stderr.strip().splitlines()
        raise runner.Failed(lines[-1] if lines else f"exit status {status}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# the summary
def plural(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"


def number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def summarise(rows, varied):
    """Per configuration (the cell and the varied options, in the order met), the
    seeds and, for each measure, (median, best, worst) over the runs that did not
    diverge. Returns a list of dicts."""
    groups = {}
    for r in rows:
        groups.setdefault((r["cell"], *(r[n] for n in varied)), []).append(r)
    table = []
    for config, group in groups.items():
        ok = [r for r in group if r["status"] == "ok"]
        entry = dict(config=config, seeds=[int(r["seed"]) for r in group],
                     diverged=len(group) - len(ok))
        for r in ok:
            r.setdefault("test_rmse", text(number(r["test_mse"]) ** 0.5))
        entry["choices"] = sorted({r.get("choice", "") for r in ok} - {""})
        entry["choice_counts"] = {c: sum(r.get("choice") == c for r in ok)
                                  for c in entry["choices"]}
        for m in METRICS + SERIES_METRICS + COSINE_METRICS + VALID_METRICS + COVERAGE_METRICS:
            values = np.array([number(r.get(m)) for r in ok])
            values = values[np.isfinite(values)]
            if len(values):
                entry[m] = (float(np.median(values)), float(values.min()), float(values.max()))
            else:
                entry[m] = None
        table.append(entry)
    return table


def markdown(table, varied, command):
    """summary.md: one table for the runs on the cosine, one for those on a CSV series
    (their one-step RMSE next to the AR(p) model's and 'same as last value')."""
    def cell(e, m, fmt):
        v = e[m]
        return "-" if v is None else f"{v[0]:{fmt}} [{v[1]:{fmt}}, {v[2]:{fmt}}]"

    def seeds(e):
        return f"{len(e['seeds'])}" + (f" ({e['diverged']} diverged)" if e["diverged"] else "")

    lines = [f"`{command}`", "",
             "Median over the seeds, then [best, worst]. Runs that diverged are counted, "
             "not included.", ""]
    cosine = [e for e in table if e.get("ar_rmse") is None]
    series = [e for e in table if e.get("ar_rmse") is not None]
    if cosine:
        heads = ["cell", *varied, "seeds", "train loss", "one-step validation MSE",
                 "one-step test MSE", "linear AR(p): one-step MSE", "forecast RMSE",
                 "AR(p): forecast RMSE"]
        lines += ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
        for e in cosine:
            lines.append("| " + " | ".join([*e["config"], seeds(e), cell(e, "train_loss", ".4f"),
                                             cell(e, "val_mse", ".2e"),
                                             cell(e, "test_mse", ".2e"), cell(e, "ar_mse", ".2e"),
                                             cell(e, "forecast_rmse", ".3f"),
                                             cell(e, "ar_forecast_rmse", ".3f")]) + " |")
        if cosine and cosine[0].get("same_rmse"):
            lines += ["", f"'Same as last value' on the clean cosine: one-step MSE "
                          f"{cosine[0]['same_rmse'][0] ** 2:.2e}."]
    if series:
        heads = ["cell", *varied, "seeds", "one-step RMSE: network", "AR(p)",
                 "polynomial AR", "same as last value", "NRMSE: network", "AR(p)",
                 "polynomial", "DM p-value: AR(p)", "better window model",
                 "chosen on validation",
                 "forecast RMSE: network", "AR(p)", "drift", "valid steps: network", "AR(p)",
                 "80% interval coverage", "at 1 step", "at 5 steps",
                 "echo-state network: RMSE", "NRMSE", "DM p-value, network against it",
                 "network, readout refitted", "feed-forward on the window"]
        lines += ["", "| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
        for e in series:
            chosen = ", ".join(f"{c} {n}x" for c, n in e["choice_counts"].items()) or "-"
            lines.append("| " + " | ".join([*e["config"], seeds(e), cell(e, "test_rmse", ".4g"),
                                             cell(e, "ar_rmse", ".4g"),
                                             cell(e, "poly_rmse", ".4g"),
                                             cell(e, "same_rmse", ".4g"),
                                             cell(e, "test_nrmse", ".3g"),
                                             cell(e, "ar_nrmse", ".3g"),
                                             cell(e, "poly_nrmse", ".3g"),
                                             cell(e, "dm_pvalue", ".2g"),
                                             cell(e, "dm_window_pvalue", ".2g"), chosen,
                                             cell(e, "forecast_rmse", ".4g"),
                                             cell(e, "ar_forecast_rmse", ".4g"),
                                             cell(e, "drift_rmse", ".4g"),
                                             cell(e, "valid_steps", ".0f"),
                                             cell(e, "ar_valid_steps", ".0f"),
                                             cell(e, "coverage_80", ".2f"),
                                             cell(e, "coverage_80_h1", ".2f"),
                                             cell(e, "coverage_80_h5", ".2f"),
                                             cell(e, "esn_rmse", ".4g"),
                                             cell(e, "esn_nrmse", ".3g"),
                                             cell(e, "dm_esn_pvalue", ".2g"),
                                             cell(e, "refit_rmse", ".4g"),
                                             cell(e, "ff_rmse", ".4g")]) + " |")
    return "\n".join(lines) + "\n"


def plot(rows, varied, path):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    x_name = varied[0] if varied else "cell"
    rest = varied[1:] if varied else []
    xs = list(dict.fromkeys(r[x_name] for r in rows))
    numeric = all(np.isfinite(number(v)) for v in xs)
    if numeric:
        xs = sorted(xs, key=number)
    series = list(dict.fromkeys((r["cell"], *(r[n] for n in rest)) for r in rows))
    cosine = any(number(r.get("ar_rmse")) != number(r.get("ar_rmse")) for r in rows)  # NaN
    if cosine:
        metrics = METRICS
        labels = dict(train_loss="training loss, mean of the last 1,000",
                      test_mse="one-step test MSE (clean cosine)",
                      forecast_rmse="forecast RMSE, 3 periods",
                      val_mse="one-step validation MSE (where a choice is made)")
    else:
        metrics = ("train_loss", "test_rmse", "forecast_rmse")
        labels = dict(train_loss="training loss (normalised), last 1,000",
                      test_rmse="held-out one-step RMSE",
                      forecast_rmse="held-out forecast RMSE")
        for r in rows:
            r.setdefault("test_rmse", text(number(r["test_mse"]) ** 0.5))
    fig = Figure(figsize=(10, 7.5 if len(metrics) == 4 else 3.8 * 1.2), layout="constrained")
    axes = fig.subplots(2, 2).ravel() if len(metrics) == 4 else fig.subplots(1, 3)
    width = 0.7 / max(len(series), 1)
    for ax, m in zip(axes, metrics):
        for s_i, s in enumerate(series):
            color = f"C{s_i % 10}"
            label = " ".join([s[0].upper()] + [f"{n}={v}" for n, v in zip(rest, s[1:])])
            for x_i, xv in enumerate(xs):
                vals = np.array([number(r[m]) for r in rows if r["status"] == "ok"
                                 and r[x_name] == xv
                                 and (r["cell"], *(r[n] for n in rest)) == s])
                vals = vals[np.isfinite(vals)]
                if not len(vals):
                    continue
                pos = x_i + (s_i - (len(series) - 1) / 2) * width
                ax.plot(np.full(len(vals), pos), vals, "o", ms=3.5, color=color, alpha=0.6,
                        label=label if x_i == 0 else None)
                ax.plot([pos - width / 2.5, pos + width / 2.5], [np.median(vals)] * 2,
                        color=color, lw=2.5)
        ax.set_yscale("log")
        baselines = {"test_rmse": (("ar_rmse", "s", "AR(p)"), ("poly_rmse", "D", "polynomial AR"),
                                   ("same_rmse", "^", "same as last value")),
                     "test_mse": (("ar_mse", "s", "linear AR(p)"),),
                     "forecast_rmse": (("ar_forecast_rmse", "s", "linear AR(p)"),) if cosine
                     else ()}.get(m, ())
        if baselines:                              # the baselines' medians, one mark per x
            for x_i, xv in enumerate(xs):
                for key, style, what in baselines:
                    v = [number(r[key]) for r in rows if r[x_name] == xv and r["status"] == "ok"]
                    v = [a for a in v if np.isfinite(a)]
                    if v:
                        ax.plot(x_i, np.median(v), style, color="black", mfc="none", ms=8,
                                label=what if x_i == 0 else None)
        ax.set_xticks(range(len(xs)), [os.path.basename(v) for v in xs],
                      rotation=15 if max(len(os.path.basename(v)) for v in xs) > 8 else 0)
        ax.set_xlabel(x_name)
        ax.set_ylabel(labels[m])
        ax.grid(True, alpha=0.3)
    for ax in axes:
        if any(not h.get_label().startswith("_") for h in ax.get_lines()):
            ax.legend(fontsize="small")
    n_seeds = len({r["seed"] for r in rows})
    diverged = sum(r["status"] != "ok" for r in rows)
    fig.suptitle(f"{len(rows)} runs: a dot per seed ({n_seeds} seeds), a bar at the median"
                 + (f"; {diverged} diverged and are not shown" if diverged else ""))
    plumbing.write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=100))


# ---------------------------------------------------------------------------------------
def main(argv=None):
    args = parse_args(argv)
    say = (lambda *a, **k: None) if args.quiet else print
    problem = plumbing.check_out_folder(args.out, ("runs.csv", "summary.md", "sweep.png",
                                                    "failed.txt"))
    if problem:
        return plumbing.fail(PROG, problem, 2)
    with plumbing.claimed(args.out, PROG):       # one command per folder
        for name in os.listdir(args.out):        # the run folders of a sweep killed
            if name.startswith(".run-"):
                shutil.rmtree(os.path.join(args.out, name), ignore_errors=True)
        runs = grid(args.out)
        try:
            todo, have, stale = runs.plan(args.runs)
        except ValueError as e:
            return plumbing.fail(PROG, str(e), 2)
        if runs.dropped_note():
            print(runs.dropped_note(), flush=True)
        settings = len({job["config"] for job in args.runs}) // len(args.cells)
        workers = min(args.workers, max(len(todo), 1))
        say(f"sweep: {len(args.runs)} runs in the grid ({plural(len(args.cells), 'cell')} x "
            f"{plural(settings, 'setting')} x {plural(len(args.seeds), 'seed')}); "
            f"{len(have)} already in runs.csv{runner.stale_note(stale)}; {len(todo)} to run on "
            f"{plural(workers, 'worker')}", flush=True)
        try:
            failed = runs.run(todo, lambda job: run_one(job, args.out), args.workers, say)
        except KeyboardInterrupt:
            n = len(runs.finished(args.runs))
            return plumbing.fail(PROG, f"interrupted; the {n} finished runs of this grid "
                                             f"are in {runs.path}", plumbing.stop_status())
        rows = runs.finished(args.runs)
        varied = list(args.vary)
        command = "python -m lab.sweep " + " ".join(argv if argv is not None else sys.argv[1:])
        table = summarise(rows, varied)
        text_md = markdown(table, varied, command)
        plumbing.write_atomic(os.path.join(args.out, "summary.md"),
                              lambda f: f.write(text_md.encode()))
        wrote = ([runs.path] if os.path.exists(runs.path) else []) + [
            os.path.join(args.out, "summary.md")]
        if rows and not args.no_plot and plumbing.matplotlib_installed():
            plot(rows, varied, os.path.join(args.out, "sweep.png"))
            wrote.append(os.path.join(args.out, "sweep.png"))
        # an earlier sweep's figure or failures, which this one did not make, are not
        # left beside its summary
        for name in {"sweep.png", "failed.txt"} - {os.path.basename(w) for w in wrote} - (
                {"failed.txt"} if failed else set()):
            if os.path.isfile(os.path.join(args.out, name)):
                os.remove(os.path.join(args.out, name))
        print(text_md, end="")
        say(f"wrote {', '.join(wrote)}")
        if failed:
            return failures(PROG, failed, len(args.runs), args.out)
        return 0


def failures(prog, failed, total, out):
    """Write the failed runs' messages to <out>/failed.txt; say how many failed, and
    where; return 1."""
    path = os.path.join(out, "failed.txt")
    lines = [f"python -m {job['module']} {' '.join(job['argv'])}: {message}"
             for job, message in failed]
    plumbing.write_atomic(path, lambda f: f.write(("\n".join(lines) + "\n").encode()))
    return plumbing.fail(prog, f"{len(failed)} of {total} runs failed; their messages are "
                               f"in {path} (the first: {failed[0][1]})", 1)


if __name__ == "__main__":
    sys.exit(plumbing.command(main, PROG))
