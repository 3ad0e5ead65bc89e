"""Your own series: `python rnn_cos.py --csv FILE [--column NAME]` trains the network on
one column of a CSV file instead of the cosine.

The split is chronological: the network trains on windows from the first 80% of the
rows, normalised with their own mean and standard deviation, and the last 20% are held
out. On them it reports, in the original units, the one-step RMSE of the network (which
reads the true series from its start) against the "same as last value" baseline, and a
forecast that starts where the training part ends.
"""
import os

import numpy as np

import plumbing
from data import SeriesData, read_csv_column

HELD_OUT = 0.2       # the last 20% of a series is held out for testing


def main(model, args, train):
    """Train model on the CSV column of args with train (rnn_cos.train), evaluate it on
    the held-out rows, save and draw. Returns the exit status."""
    prog = f"{model.NAME}.py"
    try:
        y, x, x_label, column = read_csv_column(args.csv, args.column)
        n_train, mean, std = split(y, args, column)
    except ValueError as e:
        return plumbing.fail(prog, str(e), 2)
    data_seed, init_seed = np.random.SeedSequence(args.seed).spawn(2)
    data = SeriesData((y[:n_train] - mean) / std, x[:n_train], seed=data_seed)
    params = model.init_params(args.hidden, np.random.default_rng(init_seed))
    n = len(y)
    about = (f"column {column!r} of {args.csv}: the first {n_train} of {n} rows, "
             f"normalised (mean {mean:.4g}, std {std:.4g})")

    with plumbing.Run(model, args, about) as run:
        losses, _ = train(model.lossFun, params, data, args.iters, args.steps, args.lr,
                          model.init_state(args.hidden), args.hprev,
                          progress=run.progress, stop=run.stop)
        results = evaluate(model, params, y, x, n_train, mean, std) | {
            "warmup": 0, "x_label": x_label, "y_label": column,
            "series": f"{column} ({os.path.basename(args.csv)})"}
        settings = dict(csv=os.path.abspath(args.csv), column=column, mean=mean, std=std,
                        n_train=n_train, noise=float("nan"), resolution=float(x[1] - x[0]))
        npz = run.save(params, losses, results, settings, loss_note="normalised units")
        if not args.no_plot:
            import plot_results                              # matplotlib, only to draw
            run.wrote(plot_results.plot_file(npz, args.out))
        run.report(summary(results, n - n_train))
    return run.status


def split(y, args, column):
    """The number of training rows, and their mean and standard deviation; ValueError
    when the series is too short for --steps or its training part is constant."""
    n = len(y)
    n_train = int(round(n * (1 - HELD_OUT)))
    if n_train < args.steps + 1 or n - n_train < 2:
        need = next(m for m in range(n, 10 * n + 100)
                    if int(round(m * (1 - HELD_OUT))) >= args.steps + 1
                    and m - int(round(m * (1 - HELD_OUT))) >= 2)
        raise ValueError(f"{args.csv} has {n} rows of data; with --steps {args.steps} it needs "
                         f"at least {need} (the first 80% must hold steps + 1 values)")
    mean, std = float(np.mean(y[:n_train])), float(np.std(y[:n_train]))
    if std == 0:
        raise ValueError(f"column {column!r} of {args.csv} is constant over its first 80%: "
                         f"there is nothing to learn")
    return n_train, mean, std


def evaluate(model, params, y, x, n_train, mean, std):
    """On the held-out part y[n_train:], in the original units: one-step predictions (the
    network reads the true series from its start, h = 0 at y[0]), the 'same as last
    value' baseline, and a forecast that starts from the end of the training part."""
    z = (y - mean) / std
    pred = model.predict(params, z[:-1]) * std + mean     # pred[i] predicts y[i + 1]
    inputs, targets = y[n_train - 1:-1], y[n_train:]
    predictions = pred[n_train - 1:]
    forecast = model.forecast(params, z[:n_train], len(y) - n_train) * std + mean
    rmse = lambda a: float(np.sqrt(np.mean((a - targets) ** 2)))   # noqa: E731
    return dict(test_x=x[n_train - 1:], test_inputs=inputs, test_targets=targets,
                test_predictions=predictions, test_mse=rmse(predictions) ** 2,
                test_rmse=rmse(predictions), baseline_rmse=rmse(inputs),
                forecast_x=x, forecast_seed=y[:n_train], forecast_true=targets,
                forecast=forecast, forecast_rmse=rmse(forecast))


def summary(r, n_held_out):
    gain = 100 * (1 - r["test_rmse"] / r["baseline_rmse"])
    return (f"held-out one-step RMSE: {r['test_rmse']:.4g} ('same as last value': "
            f"{r['baseline_rmse']:.4g}, {abs(gain):.0f}% {'lower' if gain >= 0 else 'higher'})"
            f"  forecast RMSE over the {n_held_out} held-out rows: {r['forecast_rmse']:.4g}")
