"""How far back each cell remembers, on three tasks, over gaps and seeds.

    python -m lab.memory_span [--task echo|latch|recall] [--delays D,D,...] [--seeds 0-2]
                              [--iters N] [--workers W] [--out FOLDER] [--lrs LR,LR,...]
                              [--noise] [--no-plot]

echo    the delayed echo (lab/tasks.py's EchoData): white noise in, the input d steps
        back out. To answer, a state must hold the last d + 1 inputs, which are
        independent: no state of N numbers can (a linear network's error is at least
        1 - N / (d + 1), the bound tested in tests/test_memory_span.py), so every delay
        lies within the state of the smallest cell: d + 1 <= 32. A window of the last
        d + 1 inputs answers it exactly, by linear least squares.
latch   one fact, far back (LatchData): a value at the start, a gap of T steps of
        distractors (zeros, or with --noise small noise), the answer asked at the end
        only. Each cell at its default initialisation and at those the literature uses
        to let memory through: Whh = I for the plain RNN, with tanh and with ReLU units
        (lab/relu_rnn.py), a larger forget-gate bias for the LSTM (3, or the chrono
        initialisation for gaps up to 200, chosen on the validation sequences).
recall  keep the value of the last marker (RecallData): a stream of small noise in
        which, at random times, a marker out of the noise's range carries a value to
        keep; the target at every step is the value kept last. The gaps between
        markers run up to --delays (200 by default). Beside the cells, window models fed
        the same stream: linear and polynomial ones of 5 to 200 inputs fitted by least
        squares, and the window rule (the last marker's value among the last P inputs,
        written by hand, nothing fitted), exact when P reaches the longest gap. A
        recurrent network keeps the value in a state of fixed size whatever the gap.
        Scored by the steps since the value.

Each cell trains with rnn_cos.py's loop (through the lab's hook, lab/plumbing.py) (Adagrad, its learning rate annealed over the
last 10%), on windows from h = 0 (echo: d + 60 steps; latch: one sequence of T + 1) or,
on the recall's stream, on consecutive windows of 100 steps with the state carried
across (--hprev sequential). The latch and the recall ask answers at some steps only:
their loss counts only those (lab/tasks.py's AskedOnly, which keeps each cell's lossFun
as it is).

The score is the normalised error on a test series never trained on: the mean squared
error over the steps asked divided by the variance of the answers (1: the network
answers the mean and remembers nothing; 0: perfect). Every choice (a cell's learning
rate with --lrs, its initialisation, a window model's length and degree) is made on a
validation series neither trained on nor scored.

Every run is a run of this script (--run) in a process of its own, through the runner
lab.sweep and lab.compare_cells share: in parallel, resumable (runs.csv in --out; the
same command again redoes nothing, a row made by other code is made again). Writes
memory_span.json ({"task": ..., "cells": {label: {"lr", "hidden", "init", "delays",
"nmse": [[one value per seed] per delay]}}}; for the recall, the delays are the steps
since the value kept, in bins, and "dm" compares the best cell with the best window
model), memory_span.png (the error against the gap, every seed shown) and runs.csv.
"""
import json
import os
import sys
import time
from typing import NamedTuple

import numpy as np

import gru_cos
import lstm_cos
import rnn_cos
from lab import analysis, limits, linear, plumbing, poly, relu_rnn, runner, sweep
from lab.cells import batched_step
from lab.tasks import AskedOnly, EchoData, LatchData, RecallData, init

PROG = "python -m lab.memory_span"
MODELS = {m.NAME: m for m in (rnn_cos, lstm_cos, gru_cos, relu_rnn)}


class Config(NamedTuple):
    """A labelled cell of a task: its module's NAME (or "window"), the initialisations
    (or, for a window model, the windows "pPdD": P inputs, degree D) and the learning
    rates among which the validation series chooses, and its hidden size."""
    cell: str
    inits: tuple
    lrs: tuple
    hidden: int = 32


WINDOWS_LINEAR = ("p5d1", "p10d1", "p20d1", "p50d1", "p100d1", "p150d1", "p200d1")
WINDOWS_POLY = ("p5d2", "p10d2", "p20d2", "p50d2", "p5d3", "p10d3")
WINDOWS_RULE = ("p50r", "p100r", "p200r")     # by hand: the last marker in the window
LONGEST_WINDOW = max(int(w[1:].split("d")[0].rstrip("r"))
                     for w in WINDOWS_LINEAR + WINDOWS_POLY + WINDOWS_RULE)     # 200
# each cell's learning rate on these tasks: the lowest mean validation error of
# python -m lab.memory_span --lrs 0.003,0.01,0.03,0.1 on the echo (docs/cells.md)
LRS = {"RNN": 0.03, "LSTM": 0.1, "GRU": 0.03}
# the initialisations that let memory through, and the learning rates they train at
# (Whh = I needs smaller steps: Adagrad's first step moves every weight by the rate, and
# 32 units of Whh = I each moved by 0.03 make a spectral radius near 2)
IDENTITY = Config("rnn_cos", ("identity",), (0.003, 0.03))
RELU_IDENTITY = Config("relu_rnn", ("identity",), (0.0003, 0.003))
LSTM_MEMORY = Config("lstm_cos", ("bias3", "chrono200"), (LRS["LSTM"],))
NAN = (float("nan"),)       # a readout fitted by least squares: no learning rate
# the initialisations people use: min-char-rnn's (every weight N(0, 0.01^2), a spectral
# radius near 0.06), an orthogonal Whh (Keras's recurrent default), PyTorch's default
# (every weight uniform on +-1/sqrt(H)); the LSTM's forget bias at 1 (its default
# here), 3 and chrono, and the LSTM of 1997 without a forget gate; and a row that
# trains nothing: the recurrent weights as drawn, a readout fitted by least squares
CELLS = {"RNN, N(0, 0.01^2) (min-char-rnn)": Config("rnn_cos", ("default",), (LRS["RNN"],)),
         "RNN, orthogonal Whh": Config("rnn_cos", ("orthogonal",), (0.003, 0.03)),
         "RNN, PyTorch's default": Config("rnn_cos", ("pytorch",), (0.003, 0.03)),
         "LSTM, forget bias 1": Config("lstm_cos", ("default",), (LRS["LSTM"],)),
         "LSTM, forget bias 3": Config("lstm_cos", ("bias3",), (LRS["LSTM"],)),
         "LSTM, chrono": Config("lstm_cos", ("chrono200",), (LRS["LSTM"],)),
         "LSTM without a forget gate (1997)": Config("lstm_cos", ("noforget",), (LRS["LSTM"],)),
         "GRU": Config("gru_cos", ("default",), (LRS["GRU"],)),
         "RNN, orthogonal Whh, readout only": Config("rnn_cos", ("readout-orthogonal",), NAN)}
CONFIGS = {
    "echo": dict(CELLS),
    "latch": {**CELLS, "RNN, Whh = I": IDENTITY, "ReLU RNN, Whh = I": RELU_IDENTITY,
              "RNN, Whh = I, readout only": Config("rnn_cos", ("readout-identity",), NAN),
              "ReLU RNN, Whh = I, readout only": Config("relu_rnn", ("readout-identity",),
                                                        NAN)},
    "recall": {"RNN, Whh = I": IDENTITY,
               "LSTM, memory init": LSTM_MEMORY,
               "GRU": Config("gru_cos", ("default",), (LRS["GRU"],)),
               "linear window": Config("window", WINDOWS_LINEAR, NAN, 0),
               "polynomial window": Config("window", WINDOWS_POLY, NAN, 0),
               "window rule": Config("window", WINDOWS_RULE, NAN, 0)}}
DELAYS = {"echo": (1, 2, 5, 10, 20, 30), "latch": (10, 20, 50, 100, 200), "recall": (200,)}
ITERS = {"echo": 10_000, "latch": 3_000, "recall": 8_000}
SEEDS = {"echo": "0-1", "latch": "0-2", "recall": "0-4"}
COLORS = {"RNN, N(0, 0.01^2) (min-char-rnn)": "tab:blue", "RNN, orthogonal Whh": "navy",
          "RNN, PyTorch's default": "tab:olive", "LSTM, forget bias 1": "tab:green",
          "LSTM, forget bias 3": "limegreen", "LSTM, chrono": "darkgreen",
          "LSTM without a forget gate (1997)": "tab:brown", "GRU": "tab:purple",
          "RNN, orthogonal Whh, readout only": "0.5", "RNN, Whh = I": "tab:cyan",
          "ReLU RNN, Whh = I": "tab:orange", "RNN, Whh = I, readout only": "tab:pink",
          "ReLU RNN, Whh = I, readout only": "gold", "LSTM, memory init": "darkgreen",
          "linear window": "0.3", "polynomial window": "tab:red", "window rule": "black"}
REACH = (0, 1, 2, 5, 10, 20, 50, 100, 200)   # the state's reach is measured k steps back
REACH_SEQUENCES = 5  # ... over this many of the task's test sequences
SCORED = 60          # an echo window is delay + SCORED steps long
TRAIN_POINTS = 100_000
WINDOWS = 500        # echo: test (and validation) windows; latch: test sequences
VAL_SEQUENCES = 200  # latch: validation sequences
RECALL_WINDOW = 100  # recall: consecutive training windows, the state carried across
RECALL_POINTS = 20_000   # recall: the validation and test streams
FIT_ROWS = 20_000    # recall: the rows a window model is fitted on
BINS = (10, 25, 50, 100, 150, 200)   # recall: steps since the value, binned (upper edges)
FAR = 50             # recall: from this many steps since the value, no window of 50 holds the marker
COLUMNS = ["task", "cell", "label", "init", "lr", "delay", "seed", "iters", "noise", "window",
           *runner.FINGERPRINT, "status", "val_nmse", "test_nmse", "test_bins", "test_far",
           "init_gradient", "reach_init", "reach_trained", "train_loss", "seconds"]


# ---------------------------------------------------------------------------------------
# one run: train a cell on a task, score it
def normalised_error(model, params, data, delay, steps):
    """The echo's score: the mean squared error of the outputs over the steps t >= delay
    of consecutive windows of `steps` steps of data, each from the cell's zero state,
    divided by the variance of data's input. A float."""
    windows = data.num_points // steps
    batches = [data.batch_at(w * steps, steps) for w in range(windows)]
    inputs, targets = (np.array(b) for b in zip(*batches))
    out = (outputs(model, params, inputs) if hasattr(model, "init_state") else
           np.array([model.predict(params, x) for x in inputs]))  # a model built by hand
    errors = (out - targets)[:, delay:]
    return float(np.mean(errors ** 2) / np.var(data.y_data))


def outputs(model, params, inputs, last=False):
    """The outputs of every sequence of inputs (n, T), each from the zero state, all
    stepped together (lab/cells.py's batched steps): (n, T), or (n,) the last only."""
    hs = hidden_states(model, params, inputs, last)
    return hs @ params["Why"][0] + params["by"][0, 0]          # y_t = Why h_t + by


def hidden_states(model, params, inputs, last=False):
    """The hidden states h_t of every sequence of inputs (n, T), each from the zero
    state, stepped together: (n, T, H), or (n, H) the last only."""
    H = params["Why"].shape[1]
    state = model.init_state(H)
    state = (tuple(np.zeros((len(inputs), H)) for _ in state) if isinstance(state, tuple)
             else np.zeros((len(inputs), H)))
    step, out = batched_step(model), []
    for t in range(inputs.shape[1]):
        state = step(params, inputs[:, t], state)
        if not last or t == inputs.shape[1] - 1:
            out.append(state[0] if isinstance(state, tuple) else state)
    return np.stack(out, axis=1) if not last else out[0]


def fit_readout(params, states, targets):
    """params with Why and by fitted by least squares: states (m, H) to targets (m,)."""
    X = np.column_stack([np.ones(len(states)), states])
    coef = poly.least_squares(X, targets)
    return dict(params, by=coef[:1, None].copy(), Why=coef[None, 1:].copy())


def readout_only(task, model, params, delay, noise, train_seed):
    """The recurrent weights as initialised, the readout alone fitted by least squares
    on training data of the task: the latch's last states (2,000 sequences) to the
    values; the echo's states from step delay on (200 windows) to the inputs delay
    steps back."""
    if task == "latch":
        inputs, targets = LatchData(delay, noise, seed=train_seed).sequences(2000)
        return fit_readout(params, hidden_states(model, params, inputs, last=True),
                           targets[:, -1])
    steps, data = delay + SCORED, EchoData(200 * (delay + SCORED), delay, seed=train_seed)
    batches = [data.batch_at(w * steps, steps) for w in range(200)]
    inputs, targets = (np.array(b) for b in zip(*batches))
    hs = hidden_states(model, params, inputs)[:, delay:]
    return fit_readout(params, hs.reshape(-1, hs.shape[-1]), targets[:, delay:].ravel())


def reach(model, params, inputs):
    """The state's reach, analysis.state_reach at the k of REACH below T, the median
    over REACH_SEQUENCES sequences of inputs (n, T)."""
    ks = [k for k in REACH if k < inputs.shape[1]]
    return np.median([analysis.state_reach(model, params, x, ks)
                      for x in inputs[:REACH_SEQUENCES]], axis=0).tolist()


def last_outputs(model, params, inputs):
    """The output at the last step of each sequence, inputs (n, T)."""
    return outputs(model, params, inputs, last=True)


def latch_error(model, params, data, n):
    """The latch's score on n new sequences of data: the mean squared error of the
    answer at the last step over the variance of the values."""
    inputs, targets = data.sequences(n)
    v = targets[:, -1]
    return float(np.mean((last_outputs(model, params, inputs) - v) ** 2) / np.var(v))


def recall_scores(out, data):
    """The recall's scores of outputs `out` (one per step of data's stream): the
    normalised error over every step asked, by bins of the steps since the value
    (BINS), and per marker interval the mean squared error over its steps FAR or more
    since the value (for the Diebold-Mariano test across intervals). The first
    LONGEST_WINDOW steps of the stream, before the longest window is full, are not
    scored: every model is scored on the same steps."""
    asked = np.isfinite(data.targets) & (np.arange(data.num_points) >= LONGEST_WINDOW)
    err2 = (out - data.targets) ** 2
    var = float(np.var(data.targets[asked]))
    bins = []
    for lo, hi in zip((0,) + BINS[:-1], BINS):
        m = asked & (data.since >= lo) & (data.since < hi)
        bins.append(float(np.mean(err2[m]) / var) if m.any() else float("nan"))
    far = asked & (data.since >= FAR)
    per_interval = [float(np.mean(err2[far & (data.interval == k)]))
                    for k in np.unique(data.interval[far])]
    return float(np.mean(err2[asked]) / var), bins, per_interval


def window_features(x, p, degree):
    """The window model's design matrix: every monomial of degree <= `degree` in the
    last p inputs [x_t, x_{t-1}, ..., x_{t-p+1}], for the rows t = p - 1, ...; (rows,
    terms)."""
    lagged = np.column_stack([x[p - 1 - i:len(x) - i] for i in range(p)])
    return poly.design(lagged, degree)


def window_model(train, val, test, how):
    """A window model (how = "pPdD"): least squares of the target on the monomials of
    the last P inputs, on the first FIT_ROWS rows of the training stream; its outputs on
    the validation and the test streams (NaN for the first P - 1 steps). how = "pPr":
    the rule by hand, nothing fitted: the value of the last marker among the last P
    inputs (its input minus MARKER), or 0, the values' mean, when there is none."""
    if how.endswith("r"):
        return [window_rule(d, int(how[1:-1])) for d in (val, test)]
    p, degree = (int(w) for w in how[1:].split("d"))
    X = window_features(train.y_data[:FIT_ROWS + p - 1], p, degree)
    y = train.targets[p - 1:FIT_ROWS + p - 1]
    keep = np.isfinite(y)
    coef = poly.least_squares(X[keep], y[keep])
    outs = []
    for d in (val, test):
        out = np.full(d.num_points, np.nan)
        out[p - 1:] = window_features(d.y_data, p, degree) @ coef
        outs.append(out)
    return outs


def window_rule(d, p):
    """The last marker's value among the last p inputs of d's stream at each step, 0 if
    there is none; NaN for the first p - 1 steps."""
    x = d.y_data
    t = np.arange(len(x))
    last = np.maximum.accumulate(np.where(x > RecallData.MARKER - 0.5, t, -1))
    out = np.where((last >= 0) & (t - last < p), x[np.maximum(last, 0)] - RecallData.MARKER,
                   0.0)
    out[:p - 1] = np.nan
    return out


def init_gradient(model, params, data):
    """The vanishing-gradient measure at initialisation (lab/analysis.py's): on one
    sequence of the latch, ||dL/dh_1|| / ||dL/dh_T||, L the loss of the last step."""
    inputs, targets = data.sequences(1)
    g = np.linalg.norm(analysis.hidden_gradients(model, params, inputs[0], targets[0, -1]),
                       axis=1)
    return float(g[-1] / g[0]) if g[0] > 0 else float("nan")


def train_and_score(task, cell, how, lr, delay, seed, iters, noise=False,
                    window=RECALL_WINDOW):
    """Train `cell` (a module's NAME, or "window") on `task` and score it on the
    validation and test series: a dict of val_nmse, test_nmse and train_loss (the mean
    of the last 1,000 losses), and for the latch init_gradient, for the recall
    test_bins and test_far (recall_scores). Each series has its own stream of the seed,
    and so do the initial weights."""
    train_seed, val_seed, test_seed, init_seed = np.random.SeedSequence(seed).spawn(4)
    rng = np.random.default_rng(init_seed)
    if task == "recall" and cell == "window":
        sets = [RecallData(n, delay, s) for n, s in ((FIT_ROWS + 250, train_seed),
                                                    (RECALL_POINTS, val_seed),
                                                    (RECALL_POINTS, test_seed))]
        val_out, test_out = window_model(*sets, how)
        val = recall_scores(val_out, sets[1])[0]
        test, bins, far = recall_scores(test_out, sets[2])
        return dict(val_nmse=val, test_nmse=test, test_bins=bins, test_far=far,
                    train_loss=float("nan"))
    model = MODELS[cell]
    H = CONFIGS[task][next(iter(CONFIGS[task]))].hidden
    params = init(model, H, rng, how.removeprefix("readout-"))
    scores = {}
    if task == "echo":
        steps, data, mode = delay + SCORED, EchoData(TRAIN_POINTS, delay, seed=train_seed), "reset"
        probe = np.array(EchoData(REACH_SEQUENCES * steps, delay, seed=init_seed).y_data
                         ).reshape(REACH_SEQUENCES, steps)
    elif task == "latch":
        steps, data, mode = delay + 1, LatchData(delay, noise, seed=train_seed), "reset"
        scores["init_gradient"] = init_gradient(model, params,
                                                LatchData(delay, noise, seed=init_seed))
        probe = LatchData(delay, noise, seed=init_seed).sequences(REACH_SEQUENCES)[0]
    else:
        steps, data, mode = window, RecallData(TRAIN_POINTS, delay, train_seed), "sequential"
    if task != "recall":                         # the state's reach, before training
        scores["reach_init"] = reach(model, params, probe)
    if how.startswith("readout-"):               # nothing trained: the readout fitted
        params = readout_only(task, model, params, delay, noise, train_seed)
        scores["train_loss"] = float("nan")
    else:
        losses, _ = plumbing.train(AskedOnly(model), params, data, iters, steps, lr,
                                   hprev=mode, anneal=rnn_cos.DEFAULTS["anneal"])
        scores["train_loss"] = float(np.mean(losses[-1000:]))
    if task != "recall":
        scores["reach_trained"] = reach(model, params, probe)
    if task == "echo":
        for name, s in (("val_nmse", val_seed), ("test_nmse", test_seed)):
            scores[name] = normalised_error(model, params, EchoData(WINDOWS * steps, delay, s),
                                            delay, steps)
    elif task == "latch":
        scores.update(val_nmse=latch_error(model, params, LatchData(delay, noise, val_seed),
                                           VAL_SEQUENCES),
                      test_nmse=latch_error(model, params, LatchData(delay, noise, test_seed),
                                            WINDOWS))
    else:
        val, test = (RecallData(RECALL_POINTS, delay, s) for s in (val_seed, test_seed))
        scores["val_nmse"] = recall_scores(model.predict(params, val.y_data), val)[0]
        scores["test_nmse"], scores["test_bins"], scores["test_far"] = recall_scores(
            model.predict(params, test.y_data), test)
    return scores


def run_scores(argv):
    """The scores of the run that python -m lab.memory_span --run's words name."""
    task, cell, how, lr, delay, seed, iters, noise, window = argv
    return train_and_score(task, cell, how, float(lr), int(delay), int(seed), int(iters),
                           noise == "1", int(window) if window != "-" else RECALL_WINDOW)


def run_main(argv):
    """python -m lab.memory_span --run TASK CELL INIT LR DELAY SEED ITERS NOISE WINDOW: one
    run; prints its scores as one line of JSON. Exit status plumbing.EXIT_DIVERGED (3) if
    it diverged."""
    try:
        scores = run_scores(argv)
    except plumbing.Diverged as e:
        return plumbing.fail(PROG, f"the loss diverged: {e}", plumbing.EXIT_DIVERGED)
    print(json.dumps(scores))
    return 0


# ---------------------------------------------------------------------------------------
# the command line
def parse_list(text, kind, what):
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(not (v > 0 and np.isfinite(v)) for v in values):
        raise ValueError(f"argument --{what}: expected a comma-separated list of positive "
                         f"numbers, got {text!r}")
    return list(dict.fromkeys(values))


def parse_args(argv=None):
    p = plumbing.ArgumentParser(prog=PROG,
                                description=plumbing.first_paragraph(__doc__),
                                formatter_class=plumbing.HelpFormatter)
    p.add_argument("--task", choices=list(CONFIGS), default="echo",
                   help="the delayed echo, the latch, or the recall (default: echo)")
    p.add_argument("--delays", default=None, metavar="D,D,...",
                   help="the echo's delays (default " + ",".join(map(str, DELAYS["echo"]))
                        + "), the latch's gaps (" + ",".join(map(str, DELAYS["latch"]))
                        + ") or the recall's longest gap (200)")
    p.add_argument("--iters", type=plumbing.positive_int, default=None,
                   help="training iterations of each run (default: echo 30,000, latch 3,000, "
                        "recall 8,000)")
    p.add_argument("--lrs", default=None, metavar="LR,LR,...",
                   help="learning rates to try for every cell; the one with the lowest "
                        "validation error is reported (by default each cell's own: "
                        + ", ".join(f"{c} {lr:g}" for c, lr in LRS.items()) + ")")
    p.add_argument("--cells", nargs="+", default=None, metavar="LABEL",
                   help="the cells to train, by label (by default every one of the task's: "
                        + "; ".join(f"{t}: {', '.join(c)}" for t, c in CONFIGS.items()) + ")")
    p.add_argument("--window", type=plumbing.positive_int, default=None,
                   help=f"the recall's training windows: consecutive, the state carried "
                        f"across (default {RECALL_WINDOW} steps)")
    p.add_argument("--noise", action="store_true",
                   help="the latch's distractors are noise (normal, standard deviation "
                        f"{LatchData.NOISE:g}) instead of zeros")
    runner.add_grid_options(p, None, None, "folder for memory_span.json, memory_span.png, "
                            "reach.png "
                            "and runs.csv (default: results/memory_span, or "
                            "results/latch, results/latch_noise, results/recall)")
    p.add_argument("--no-plot", action="store_true",
                   help="draw no figure: memory_span.json and runs.csv only")
    p.set_defaults(seeds=None)
    for a in p._actions:
        if a.dest == "seeds":
            a.help = ("seeds: a range such as 0-4 and/or a list 0 3 7 (default: " +
                      ", ".join(f"{t} {s}" for t, s in SEEDS.items()) + ")")
        if a.dest == "out":
            a.required = False
    args = p.parse_args(argv)
    try:
        t = args.task
        args.delays = sorted(parse_list(args.delays, int, "delays")) if args.delays is not None \
            else list(DELAYS[t])
        args.seeds = sweep.parse_seeds(args.seeds or [SEEDS[t]])
        args.iters = args.iters or ITERS[t]
        args.lrs = parse_list(args.lrs, float, "lrs") if args.lrs else None
        args.out = args.out or os.path.join("results", {"echo": "memory_span", "recall": "recall"}.get(
            t, "latch_noise" if args.noise else "latch"))
        if args.noise and t != "latch":
            raise ValueError("argument --noise: only the latch has distractors")
        if args.window is not None and t != "recall":
            raise ValueError("argument --window: only the recall trains on consecutive "
                             "windows")
        if args.window is not None and args.window >= TRAIN_POINTS:
            raise ValueError(f"argument --window: at most {TRAIN_POINTS - 1} steps, got "
                             f"{args.window}")
        labels = {c.lower(): c for c in CONFIGS[t]}
        cells = args.cells or list(CONFIGS[t])
        unknown = [c for c in cells if c.lower() not in labels]
        if unknown:
            raise ValueError(f"argument --cells: no cell {unknown[0]!r} in the {t} task "
                             f"(its cells: {'; '.join(CONFIGS[t])})")
        args.cells = list(dict.fromkeys(labels[c.lower()] for c in cells))
        check_delays(t, args.delays)
    except ValueError as e:
        p.error(str(e))
    return args


def check_delays(task, delays):
    """ValueError for delays the task cannot take on this machine."""
    longest = max(delays)
    if task == "echo" and longest + SCORED >= TRAIN_POINTS:
        raise ValueError(f"argument --delays: at most {TRAIN_POINTS - SCORED - 1} (a window "
                         f"is the delay and {SCORED} steps, within the {TRAIN_POINTS:,} "
                         f"points of the training series); got {longest}")
    if task == "recall" and not 4 <= longest <= RECALL_POINTS // 20:
        raise ValueError(f"argument --delays: the recall's longest gap must be between 4 "
                         f"and {RECALL_POINTS // 20} (a test stream of {RECALL_POINTS:,} "
                         f"steps must hold a few dozen markers); got {longest}")
    if task == "recall" and len(delays) > 1:
        raise ValueError("argument --delays: the recall takes one longest gap, got "
                         + ",".join(map(str, delays)))
    steps = longest + (SCORED if task == "echo" else 1)
    if WINDOWS * steps * 8 * 40 > (limits.memory_available() or float("inf")):
        raise ValueError(f"argument --delays: a delay of {longest} needs more memory than "
                         f"this machine has available")


# ---------------------------------------------------------------------------------------
# the grid, the choices on the validation series, the results
def jobs_of(args):
    code = runner.code_fingerprint("lab.memory_span")
    jobs = []
    for label in args.cells:
        c = CONFIGS[args.task][label]
        lrs = c.lrs if c.cell == "window" else (args.lrs or c.lrs)
        for how in c.inits:
            for lr in lrs:
                for delay in args.delays:
                    for seed in args.seeds:
                        jobs.append(dict(row=dict(
                            task=args.task, cell=c.cell, label=label, init=how,
                            lr=repr(float(lr)), delay=str(delay), seed=str(seed),
                            iters=str(args.iters), noise=str(int(args.noise)),
                            window=str(args.window or RECALL_WINDOW) if args.task == "recall"
                            else "-", code=code, data="")))
    return jobs


def work(job):
    """One row of the grid: a network trained in a process of its own (python -m
    lab.memory_span --run ...); a window model, fitted by least squares with nothing to
    train, in this one (a process would cost more than the fit)."""
    r = job["row"]
    argv = [r["task"], r["cell"], r["init"], r["lr"], r["delay"], r["seed"], r["iters"],
            r["noise"], r["window"]]
    if r["cell"] == "window":                 # as its line of JSON would give it
        start = time.perf_counter()
        scores = json.loads(json.dumps(run_scores(argv)))
        return row(r, scores, time.perf_counter() - start)
    status, stdout, stderr, seconds = runner.run_script("lab.memory_span", ["--run", *argv])
    if status == plumbing.EXIT_DIVERGED:               # the run says its loss diverged
        return dict(r, status="diverged", seconds=f"{seconds:.2f}")
    if status != 0:
        lines = stderr.strip().splitlines()
        raise runner.Failed(f"{r['label']} ({r['init']}), delay {r['delay']}, seed "
                            f"{r['seed']}, lr {r['lr']}: "
                            f"{lines[-1] if lines else f'exit status {status}'}")
    return row(r, json.loads(stdout.strip().splitlines()[-1]), seconds)


def row(r, scores, seconds):
    """The grid's row of run r: its words, its scores, its time."""
    return dict(r, status="ok", seconds=f"{seconds:.2f}",
                **{k: json.dumps(v) if isinstance(v, list) else repr(float(v))
                   for k, v in scores.items()})


def value(row, key):
    return float(row[key]) if row["status"] == "ok" else float("nan")


def choose(rows, args):
    """Per label: the (initialisation, learning rate) with the lowest mean validation
    error over the delays and seeds (a diverged run counts as infinite), and the test
    errors of that choice as [[one per seed] per delay] (the recall: per bin of the
    steps since the value, at its one longest gap). Returns (the summary for
    memory_span.json, the validation table {label: {(init, lr): mean error}})."""
    cells, validation = {}, {}
    for label in args.cells:
        c = CONFIGS[args.task][label]
        mine = [r for r in rows if r["label"] == label]
        option = lambda r: (r["init"], r["lr"])          # noqa: E731 (lr as written: NaN too)
        options = sorted({option(r) for r in mine},
                         key=lambda o: (c.inits.index(o[0]), float(o[1])))
        mean_val = {}
        for o in options:
            v = [value(r, "val_nmse") for r in mine if option(r) == o]
            mean_val[o] = float(np.mean([x if np.isfinite(x) else np.inf for x in v]))
        best = min(options, key=lambda o: mean_val[o])
        at = {(int(r["delay"]), int(r["seed"])): r for r in mine if option(r) == best}
        entry = dict(lr=None if not np.isfinite(float(best[1])) else float(best[1]),
                     hidden=None if c.cell == "window" else c.hidden, init=best[0])
        if args.task == "recall":
            d = args.delays[0]
            bins = [json.loads(at[d, s]["test_bins"]) if at[d, s]["status"] == "ok"
                    else [float("nan")] * len(BINS) for s in args.seeds]
            entry.update(delays=list(BINS), nmse=[list(b) for b in zip(*bins)],
                         val_nmse=[value(at[d, s], "val_nmse") for s in args.seeds],
                         far=[json.loads(at[d, s]["test_far"]) if at[d, s]["status"] == "ok"
                              else [] for s in args.seeds])
        else:
            entry.update(delays=list(args.delays),
                         nmse=[[value(at[d, s], "test_nmse") for s in args.seeds]
                               for d in args.delays])
            if args.task == "latch":
                entry["init_gradient"] = [[value(at[d, s], "init_gradient")
                                           for s in args.seeds] for d in args.delays]
            for key in ("reach_init", "reach_trained"):     # [[k's values] per seed] per delay
                entry[key] = [[json.loads(at[d, s][key]) if at[d, s]["status"] == "ok" else
                               None for s in args.seeds] for d in args.delays]
        cells[label] = entry
        validation[label] = {(how, float(lr)): v for (how, lr), v in mean_val.items()}
    summary = dict(task=args.task, cells=cells, iters=args.iters)
    if args.task == "latch":
        summary["noise"] = bool(args.noise)
    if args.task != "recall":
        summary["reach_k"] = list(REACH)
    if args.task == "echo":
        summary["beyond_capacity"] = beyond_capacity(args.delays, CELLS["GRU"].hidden)
    if args.task == "recall":
        summary["dm"] = recall_test(cells, args)
        for e in cells.values():                     # the format: the scores alone
            del e["far"], e["val_nmse"]
    return summary, validation


def recall_test(cells, args):
    """The best recurrent cell against the best window model, each the one with the
    lowest mean validation error: per seed, a Diebold-Mariano test over the marker
    intervals of the test stream, d_k the difference of their mean squared errors
    over the steps FAR or more since the value (the intervals are nearly independent;
    the steps within one are not)."""
    def best(kind):
        pool = {k: v for k, v in cells.items()
                if (CONFIGS[args.task][k].cell == "window") == (kind == "window")}
        return min(pool, key=lambda k: np.mean(pool[k]["val_nmse"])) if pool else None
    net, win = best("cell"), best("window")
    if net is None or win is None:
        return None
    out = dict(cell=net, window=win, stat=[], p=[], intervals=[])
    for a, b in zip(cells[net]["far"], cells[win]["far"]):
        if len(a) != len(b) or not a:
            stat, p = float("nan"), float("nan")
        else:
            stat, p = linear.diebold_mariano(np.sqrt(a), np.sqrt(b))   # d_k = a_k - b_k
        out["stat"].append(stat)
        out["p"].append(p)
        out["intervals"].append(len(a))
    return out


def beyond_capacity(delays, H):
    """The echo's delays past what a state of H numbers can hold, {d: the bound}: to
    answer, a state must hold the last d + 1 inputs, which are independent; beyond
    d + 1 = H no linear network of H units does better than 1 - H / (d + 1) (tested in
    tests/test_memory_tasks.py), and the plain RNN's and the GRU's state is H numbers."""
    return {str(d): 1 - H / (d + 1) for d in delays if d + 1 > H}


def table(summary, seeds):
    what = {"echo": "delay", "latch": "gap", "recall": "since"}[summary["task"]]
    labels = list(summary["cells"])
    lines = [f"normalised test error (1 = remembers nothing, 0 = perfect), median [best, "
             f"worst] of seeds {', '.join(map(str, seeds))}:"]
    for label in labels:
        c = summary["cells"][label]
        lines.append(f"{label}: init {c['init']}" + (f", lr {c['lr']:g}" if c["lr"] else ""))
        for d, v in zip(c["delays"], c["nmse"]):
            v = np.array(v, dtype=float)
            v = v[np.isfinite(v)]
            lines.append(f"  {what} {d:>4}: " + (f"{np.median(v):.4f} [{v.min():.4f}, "
                                                  f"{v.max():.4f}]" if len(v) else "diverged"))
    dm = summary.get("dm")
    if dm:
        lines.append(f"{dm['cell']} against the {dm['window']}, {FAR} or more steps since the "
                     f"value, Diebold-Mariano over the marker intervals, by seed: "
                     + ", ".join(f"{linear.p_text(p)} ({'the window' if t > 0 else 'the cell'}"
                                 " better)" for p, t in zip(dm["p"], dm["stat"])))
    return "\n".join(lines)


def plot(summary, seeds, iters, path):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    task = summary["task"]
    fig = Figure(figsize=(8, 6), layout="constrained")
    ax = fig.subplots()
    floor = 1e-3 if task == "recall" else 1e-6      # the axis ends here (values below: on it)
    labels = list(summary["cells"])
    for j, label in enumerate(labels):
        c = summary["cells"][label]
        d = np.array(c["delays"], dtype=float)
        v = np.array(c["nmse"], dtype=float)         # (delays, seeds)
        shift = 1 + 0.03 * (j - (len(labels) - 1) / 2)   # the cells' dots side by side
        color = COLORS.get(label, "black")
        for k in range(v.shape[1]):
            ax.plot(d * shift, np.maximum(v[:, k], floor), "o", color=color, alpha=0.5, ms=4)
        chosen = [c["init"]] if len(CONFIGS[task][label].inits) > 1 else []
        chosen += ["no training"] if c["lr"] is None else [f"lr {c['lr']:g}"]
        ax.plot(d * shift, np.maximum(np.nanmedian(v, axis=1), floor), color=color, lw=2,
                ls="--" if c["lr"] is None else "-", label=f"{label} ({', '.join(chosen)})")
    ax.axhline(1, color="black", ls="--", lw=1, label="1: remembers nothing")
    ax.axhline(0.05, color="0.5", ls=":", lw=1, label="0.05")
    if task == "echo":
        H = CELLS["GRU"].hidden
        dd = np.arange(H, 2 * H + 1)
        ax.plot(dd, 1 - H / (dd + 1), color="black", lw=1,
                label=f"bound for a linear {H}-unit network: 1 - {H}/(d+1)")
        ax.axvspan(H, 2 * H + 1, color="0.92", zorder=0,
                   label=f"d + 1 > {H}: past the RNN's and GRU's state")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(floor / 2, 3)
    ticks = summary["cells"][labels[0]]["delays"]
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set_xticks([], minor=True)                 # the delays alone, no 3x10^1 between
    ax.set_xlabel({"echo": "delay d: the target is the input d steps back",
                   "latch": "gap T: steps between the fact and the question",
                   "recall": "steps since the value to keep (bins ending at)"}[task])
    ax.set_ylabel("test MSE / variance of the answers (log scale)")
    title = {"echo": "The delayed echo: how far back each cell remembers",
             "latch": "The latch: one value at the start, asked for after T steps of "
                      + ("noise" if summary.get("noise") else "zeros"),
             "recall": "The recall: the value of the last marker, in a stream of noise"}[task]
    ax.set_title(f"{title}\n({iters:,} iterations, {len(seeds)} seeds, a dot per seed; "
                 f"scored on a test series never trained on;\na value below {floor:g} is "
                 f"drawn on the axis)", fontsize="medium")
    fig.legend(loc="outside lower center", ncol=2 if len(labels) > 6 else 3,
               fontsize="x-small")                              # below: no data hidden
    ax.grid(True, which="major", alpha=0.3)
    plumbing.write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=100))


def plot_reach(summary, seeds, path):
    """reach.png: how far back each cell's state reaches, ||dh_T/dh_{T-k}||_F / sqrt(H),
    at initialisation (dashed) and trained (solid), on the task's sequences of its
    longest delay up to 100; the median over the seeds."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    first = next(iter(summary["cells"].values()))
    delays = first["delays"]
    i = max(j for j, d in enumerate(delays) if d <= 100) if min(delays) <= 100 else 0
    fig = Figure(figsize=(9, 6.5), layout="constrained")
    ax = fig.subplots()
    floor = 1e-30
    for label, c in summary["cells"].items():
        color = COLORS.get(label, "black")
        for key, ls in (("reach_init", "--"), ("reach_trained", "-")):
            runs = [v for v in c[key][i] if v is not None]
            if not runs or (key == "reach_trained" and label.endswith("readout only")):
                continue                                  # readout only: the same as drawn
            v = np.maximum(np.median(np.array(runs, dtype=float), axis=0), floor)
            k = np.array(summary["reach_k"][:len(v)]) + 1     # k + 1: k = 0 on a log axis
            ax.plot(k, v, ls, color=color, lw=2 if ls == "-" else 1,
                    label=f"{label}, trained" if ls == "-" else
                    (f"{label}, at initialisation" if label.endswith("only") else None))
    ax.plot([], [], "k--", lw=1, label="dashed: the same cell at initialisation")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(floor, 1e3)
    ks = summary["reach_k"][:len(v)]
    ax.set_xticks(np.array(ks) + 1, [str(k) for k in ks])
    ax.set_xlabel("k, steps back")
    ax.set_ylabel(r"$\Vert\partial h_T/\partial h_{T-k}\Vert_F \,/\, \sqrt{H}$ (log scale)")
    what = {"echo": f"the echo, delay {delays[i]}", "latch": f"the latch, gap {delays[i]}"
            + (" (noise)" if summary.get("noise") else "")}[summary["task"]]
    ax.set_title(f"How far back the state reaches: {what}, median of {len(seeds)} seeds;"
                 f"\ntrained {summary['iters']:,} iterations (solid) and at "
                 f"initialisation (dashed)", fontsize="medium")
    ax.grid(True, which="major", alpha=0.3)
    fig.legend(loc="outside lower center", ncol=2, fontsize="x-small")
    plumbing.write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=100))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--run"] and len(argv) == 10:
        return run_main(argv[1:])
    args = parse_args(argv)
    say = (lambda *a, **k: None) if args.quiet else print
    names = ("runs.csv", "memory_span.json", "memory_span.png", "reach.png")
    problem = (plumbing.check_out_folder if args.no_plot else plumbing.drawing_problem)(
        args.out, names)
    if problem:
        return plumbing.fail(PROG, problem, 2)
    with plumbing.claimed(args.out, PROG):       # one command per folder
        grid = runner.Grid(os.path.join(args.out, "runs.csv"), COLUMNS,
                           ["task", "label", "init", "lr", "delay", "seed", "iters", "noise",
                            "window"], numeric=["val_nmse", "test_nmse", "init_gradient",
                                                "train_loss", "seconds"])
        jobs = jobs_of(args)
        try:
            todo, have, stale = grid.plan(jobs)
        except ValueError as e:
            return plumbing.fail(PROG, str(e), 2)
        if grid.dropped_note():
            print(grid.dropped_note(), flush=True)
        say(f"memory_span --task {args.task}: {len(jobs)} runs ({len(args.cells)} cells, "
            f"{len(args.delays)} delays, {len(args.seeds)} seeds"
            + (f", {len(args.lrs)} learning rates" if args.lrs else "")
            + f"), {args.iters:,} iterations each; {len(have)} already in {grid.path}"
            f"{runner.stale_note(stale)}; {len(todo)} to run on "
            f"{min(args.workers, max(len(todo), 1))} workers", flush=True)
        H = CELLS["GRU"].hidden
        for d, bound in (beyond_capacity(args.delays, H) if args.task == "echo" else {}).items():
            print(f"delay {d}: beyond a state of {H} numbers (the plain RNN's and the GRU's; "
                  f"the LSTM's (h, C) holds {2 * H}): no linear network of {H} units does "
                  f"better than 1 - {H}/{int(d) + 1} = {bound:.3f}", flush=True)
        try:
            failed = grid.run(todo, work, args.workers, say)
        except KeyboardInterrupt:
            return plumbing.fail(PROG, f"interrupted; the finished runs are in {grid.path}",
                                 plumbing.stop_status())
        if failed:
            return plumbing.fail(PROG, f"{len(failed)} of {len(jobs)} runs failed (the first: "
                                       f"{failed[0][1]}); nothing was summarised", 1)
        summary, validation = choose(grid.finished(jobs), args)
        for label, by in validation.items():
            if len(by) > 1:
                say(f"{label}: mean validation error " + ", ".join(
                    f"{v:.4f} at {how}" + ("" if np.isnan(lr) else f", lr {lr:g}")
                    for (how, lr), v in by.items())
                    + f"; chosen {summary['cells'][label]['init']}"
                    + ("" if summary["cells"][label]["lr"] is None else
                       f", lr {summary['cells'][label]['lr']:g}"))
        plumbing.save_json(os.path.join(args.out, "memory_span.json"), summary)
        wrote = []
        if not args.no_plot:
            plot(summary, args.seeds, args.iters, os.path.join(args.out, "memory_span.png"))
            wrote.append("memory_span.png")
            if args.task != "recall":
                plot_reach(summary, args.seeds, os.path.join(args.out, "reach.png"))
                wrote.append("reach.png")
        for name in {"memory_span.png", "reach.png"} - set(wrote):   # not of this summary
            if os.path.isfile(os.path.join(args.out, name)):
                os.remove(os.path.join(args.out, name))
        print(table(summary, args.seeds))
        say(f"wrote {', '.join([os.path.join(args.out, 'memory_span.json'), *wrote])}, "
            f"runs.csv")
        return 0


if __name__ == "__main__":
    sys.exit(plumbing.command(main, PROG))
