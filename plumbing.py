"""The plumbing of the training scripts, kept out of the way of the method: checking the
command line before any work is done, the progress line, Ctrl-C, one-line errors and
saving results so that no file is ever half-written. Nothing in here is needed to
follow the algorithm; rnn_cos.py holds all of that.
"""
import argparse
import json
import math
import os
import signal
import sys
import tempfile
import time

import numpy as np

import analysis
import data

HPREV_MODES = ("reset", "carry", "sequential")
CSV_HIDDEN_SIZES = (16, 32)   # with --csv and no --hidden, both are tried (series.py)


# ---------------------------------------------------------------------------------------
# the command line
SEE_HELP = " (see --help)"


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad argument gets one line on stderr (and exit status 2)."""

    def error(self, message):
        message = message.removesuffix(SEE_HELP)
        self.exit(2, f"{self.prog}: error: {message}{SEE_HELP}\n")


class HelpFormatter(argparse.HelpFormatter):
    """Adds '(default: ...)' to an option's help, unless the help already names its
    default or there is none to show."""

    def _get_help_string(self, action):
        text = action.help or ""
        if ("default" in text or not action.option_strings or action.default is None
                or action.default is False or action.default == []
                or action.default == argparse.SUPPRESS):
            return text
        return text + " (default: %(default)s)"


def checked(kind, ok, expected):
    """An argparse type: text -> kind(text), refused with a message unless ok(value)."""
    def convert(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    return convert


positive_int = checked(int, lambda v: v >= 1, "a positive integer")
positive_float = checked(float, lambda v: math.isfinite(v) and v > 0, "a positive finite number")
nonnegative_float = checked(float, lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0")
seed_int = checked(int, lambda v: v >= 0, "an integer >= 0")
fraction = checked(float, lambda v: 0 <= v <= 1, "a fraction from 0 to 1")
finite_float = checked(float, math.isfinite, "a finite number")


class XValue(float):
    """A value of a series' x, given as a number or a date (YYYY-MM, YYYY-MM-DD: its
    decimal year, data.parse_date); .text is what was written."""

    def __new__(cls, text):
        value = data.parse_date(text)
        if value is None:
            value = float(text)                 # ValueError for anything else
        if not math.isfinite(value):
            raise ValueError(text)
        self = super().__new__(cls, value)
        self.text = text
        return self


x_value = checked(XValue, lambda v: True, "a finite number or a date such as 1990-06")


def first_paragraph(doc):
    """A module's docstring's first paragraph, on one line: a script's --help opening."""
    return " ".join((doc or "").strip().split("\n\n")[0].split())


def build_parser(model):
    d = model.DEFAULTS
    p = ArgumentParser(
        prog=f"{model.NAME}.py",
        description=first_paragraph(model.__doc__),
        epilog=getattr(model, "EPILOG", None), formatter_class=HelpFormatter)
    p.add_argument("--iters", type=positive_int, default=d["iters"],
                   help="training iterations, one window of --steps points each")
    p.add_argument("--steps", type=positive_int, default=d["steps"],
                   help="time steps per window: how far back BPTT goes")
    p.add_argument("--hidden", type=positive_int,
                   help=f"size H of the hidden state (default: {d['hidden']}); with --csv and no "
                        f"--hidden, {' and '.join(map(str, CSV_HIDDEN_SIZES))} are both tried "
                        f"and the better one on the validation rows is kept")
    p.add_argument("--lr", type=positive_float, default=d["lr"],
                   help="Adagrad learning rate")
    p.add_argument("--anneal", type=fraction, default=d["anneal"],
                   help="over this last fraction of the iterations the learning rate falls "
                        "linearly to 0 (0: constant, as in the article)")
    p.add_argument("--noise", type=nonnegative_float, default=d["noise"],
                   help="standard deviation of the normal noise added to cos(x)")
    p.add_argument("--resolution", type=positive_float, default=d["resolution"],
                   help="spacing of the x values of the cosine (its sampling step)")
    p.add_argument("--points", type=positive_int, default=d["points"],
                   help="number of points of the noisy training cosine")
    p.add_argument("--seed", type=seed_int, default=d["seed"],
                   help="random seed of the data, the windows and the initial weights")
    p.add_argument("--hprev", choices=HPREV_MODES, default=d["hprev"],
                   help="where each window's hidden state starts: 'reset', from zeros; "
                        "'carry', from where the previous random window ended (the "
                        "article); 'sequential', consecutive windows with the state "
                        "carried on (min-char-rnn)")
    p.add_argument("--csv", metavar="FILE",
                   help="train on a column of this CSV file instead of the cosine "
                        "(see docs/series.md)")
    p.add_argument("--column", metavar="NAME",
                   help="the CSV column (by default the only numeric one, or the last)")
    p.add_argument("--train-until", type=x_value, metavar="X",
                   help="with --csv: train on the rows whose x (the first column: a "
                        "number, or a date such as 1990-06) is at most X and hold out the "
                        "rest (by default the last 20%% of the rows are held out)")
    p.add_argument("--diff", action=argparse.BooleanOptionalAction,
                   help="with --csv: train on the changes from one row to the next "
                        "(--diff) or on the values (--no-diff); by default both are tried "
                        "and the better one on the validation rows is kept")
    p.add_argument("--ahead", type=positive_int, metavar="N",
                   help="with --csv: after the test, train the chosen network on all the "
                        "rows and forecast the N steps after the last one, with an 80%% "
                        "interval (forecast.csv, ahead.png)")
    p.add_argument("--out", default=d["out"], help="folder the results are written to")
    p.add_argument("--no-plot", action="store_true",
                   help="do not draw the figures (matplotlib is then not needed)")
    p.add_argument("--quiet", action="store_true", help="print only the final summary")
    return p


def parse_args(model, argv=None):
    """Parse and check every argument; a bad one exits with status 2 before any work:
    values out of range, a run too big for this machine's memory, or figures asked for
    without matplotlib."""
    parser = build_parser(model)
    args = parser.parse_args(argv)
    if args.hidden is None and args.csv is None:
        args.hidden = model.DEFAULTS["hidden"]
    if args.points < 2:
        parser.error(f"argument --points: need at least 2 points, got {args.points}")
    if args.csv is None and args.steps + 1 > args.points:
        parser.error(f"argument --steps: a window of {args.steps} steps needs "
                     f"{args.steps + 1} points, but the data has {args.points} (--points)")
    if args.csv is None and args.resolution > data.MAX_RESOLUTION:
        parser.error(f"argument --resolution: at most {data.MAX_RESOLUTION:.3g}, so that "
                     f"the clean test cosine has more than {data.WARMUP} steps after its "
                     f"warm-up; got {args.resolution:g}")
    for option in ("column", "train_until", "diff", "ahead"):
        if getattr(args, option) is not None and args.csv is None:
            parser.error(f"argument --{option.replace('_', '-')}: goes with --csv FILE")
    too_big = memory_problem(model, args)
    if too_big:
        parser.error(too_big)
    if not args.no_plot and not matplotlib_installed():
        sys.exit(fail(parser.prog, f"{NO_MATPLOTLIB}, or run with --no-plot", 2))
    return args


NO_MATPLOTLIB = ("the figures need matplotlib, which is not installed: install it with "
                 "'python -m pip install matplotlib' (or -r requirements.txt)")


def matplotlib_installed():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------------------------
# what a run holds in memory, estimated before anything is allocated
WEIGHT_COPIES = 40   # the weights, their gradients, Adagrad's memory, temporaries, snapshots
CSV_COPIES = 240     # with --csv, one run's weights checked about 115 times, and a few
                     # copies (the best, the last, the snapshots) of each of up to four runs
STEP_ARRAYS = 32     # arrays of one row per time step and H columns, in lossFun and after
BYTES_PER_ITER = 64  # the loss of every iteration, its copies and its moving average
BYTES_PER_POINT = 48 # x, cos(x), the noise, the data, and temporaries


def memory_needed(model, args):
    """A rough upper estimate of the bytes each option makes the run hold at its peak:
    {option: bytes}."""
    H = args.hidden or max(CSV_HIDDEN_SIZES)
    copies = WEIGHT_COPIES + (CSV_COPIES if args.csv else 0)
    need = {"--hidden": 8 * copies * model.param_count(H),
            "--steps": 8 * STEP_ARRAYS * (args.steps + 1) * H,
            "--iters": BYTES_PER_ITER * args.iters}
    if args.csv is None:
        need["--points"] = BYTES_PER_POINT * args.points
        steps = data.evaluation_steps(args.resolution) + sum(
            analysis.free_run_steps(args.resolution))
        need["--resolution"] = 8 * STEP_ARRAYS * H * steps
    return need


def memory_available():
    """Bytes of memory this machine has free for a new process (None if unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def memory_problem(model, args):
    """A message naming the option that makes the run too big to fit, or None."""
    need = memory_needed(model, args)
    total, available = sum(need.values()), memory_available()
    if available is None or total <= available:
        return None
    option = max(need, key=need.get)
    value = getattr(args, option[2:])
    return (f"argument {option}: a run with {option} {value} needs about "
            f"{size(total)} of memory, and this machine has {size(available)} available")


def size(n):
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000


# ---------------------------------------------------------------------------------------
# a run: the progress line, Ctrl-C, saving, and one-line errors with their exit status
class Diverged(ArithmeticError):
    """The training loss became NaN or infinite, or grew past `growth` times the loss of
    always predicting 0."""

    def __init__(self, loss, iteration, growth, zero_loss):
        if math.isfinite(loss):
            text = (f"the loss grew to {loss:.3g} at iteration {iteration:,}, more than "
                    f"{growth} times that of always predicting 0 ({zero_loss:.3g})")
        else:
            text = f"the loss became {loss} at iteration {iteration:,}"
        super().__init__(text)
        self.loss, self.iteration = loss, iteration


class NothingTrained(Exception):
    """Ctrl-C came before the first iteration."""


class Run:
    """One training run of a script, used as `with Run(model, args, about) as run:`.

    Creating it checks that the output folder can be written (exit 2 if not). Inside the
    block, run.progress and run.stop go to the training loop: the first Ctrl-C asks the
    loop to stop after the current iteration, a second one stops at once. run.save()
    writes the npz and metrics.json, run.wrote() notes more files, run.report() prints
    the summary. A divergence ends the block with exit status 1 and nothing written, an
    interruption with 130; run.status is the exit status.
    """

    def __init__(self, model, args, about):
        self.model, self.args, self.about = model, args, about
        self.prog = f"{model.NAME}.py"
        self.say = (lambda *a, **k: None) if args.quiet else print
        problem = check_out_folder(args.out)
        if problem:
            sys.exit(fail(self.prog, problem, 2))
        self.status, self.written, self.saving = 0, [], False

    def __enter__(self):
        self.t_start = time.perf_counter()
        self.stop = StopOnCtrlC().__enter__()
        a = self.args
        hidden = a.hidden or " or ".join(map(str, CSV_HIDDEN_SIZES))
        rate = (f"learning rate {a.lr:g} (annealed to 0 over the last {a.anneal:.0%})"
                if a.anneal else f"learning rate {a.lr:g} (constant)")
        self.say(f"{self.model.NAME}: {a.iters:,} iterations of {a.steps} steps, hidden "
                 f"size {hidden}, {rate}, hprev {a.hprev}, on {self.about}", flush=True)
        self.progress = Progress(a.iters, quiet=a.quiet)
        self.progresses = [self.progress]
        return self

    def next_progress(self, label):
        """A fresh progress line for another training run within this one."""
        if self.progress.started:
            self.progress.finish()
            self.progress = Progress(self.args.iters, quiet=self.args.quiet)
            self.progresses.append(self.progress)
        self.say(label, flush=True)

    def __exit__(self, kind, error, traceback):
        self.stop.__exit__()
        if kind is None:
            return False
        self.progress.finish()
        if issubclass(kind, Diverged):
            self.status = fail(self.prog, f"{error}; try a lower --lr (now {self.args.lr:g}). "
                                          f"Nothing was written to {self.args.out}", 1)
        elif issubclass(kind, NothingTrained):
            self.status = fail(self.prog, "stopped before the first iteration; "
                                          "nothing was written", 130)
        elif issubclass(kind, KeyboardInterrupt):
            self.status = fail(self.prog, "interrupted while saving; every file written is "
                                          "whole" if self.saving else
                                          "interrupted; nothing was written", 130)
        else:
            return False
        return True

    def save(self, params, losses, results, settings, snapshots, loss_note, iterations=None,
             more_metrics=None, stopped=False):
        """Write <NAME>.npz (the weights, the loss of every iteration, the results, the
        settings and the snapshots {iteration: weights}, as snap_iters (K,) and
        snap_<name> (K, *shape)) and metrics.json (the numbers); returns the npz's path.
        iterations: how many were trained in all (by default len(losses)), for the speed;
        more_metrics: more entries for metrics.json only; stopped: Ctrl-C came during
        another training of the run (another candidate's), even if these losses are whole."""
        a, done = self.args, len(losses)
        if done == 0:
            raise NothingTrained
        self.interrupted = stopped or done < a.iters
        if self.interrupted:
            where = (f"after {done:,} of {a.iters:,} iterations" if done < a.iters
                     else "before every network was trained")
            print(f"stopped by Ctrl-C {where}; saving what was trained so far")
            self.status = 130
        self.saving = True
        self.done, self.loss_note = iterations or done, loss_note
        self.progress.finish()
        self.t_train = sum(p.elapsed for p in self.progresses if p.elapsed)
        self.recent, self.recent_n = float(np.mean(losses[-1000:])), min(done, 1000)
        settings = {**dict(model=self.model.NAME, iters=a.iters, iters_done=done,
                           steps=a.steps, hidden=a.hidden, lr=a.lr, anneal=a.anneal,
                           seed=a.seed, hprev=a.hprev), **settings}
        npz = os.path.join(a.out, f"{self.model.NAME}.npz")
        iters = sorted(snapshots)
        snaps = {f"snap_{k}": np.array([snapshots[n][k] for n in iters]) for k in params}
        save_npz(npz, {**params, "loss": losses, **results, **settings,
                       "snap_iters": np.array(iters, dtype=np.int64), **snaps})
        metrics = dict(train_loss_last_1000=self.recent,
                       **{k: v for k, v in results.items() if np.ndim(v) == 0},
                       train_seconds=round(self.t_train, 3),
                       iters_per_second=round(self.done / self.t_train, 1),
                       interrupted=self.interrupted, settings=settings,
                       **(more_metrics or {}))
        path = os.path.join(a.out, "metrics.json")
        save_json(path, metrics)
        self.written += [npz, path]
        return npz

    def wrote(self, paths):
        self.written += list(paths)

    def report(self, summary):
        self.say(f"trained {self.done:,} iterations in {self.t_train:.1f} s "
                 f"({self.done / self.t_train:,.0f} it/s); mean loss of the last "
                 f"{self.recent_n:,}: "
                 f"{self.recent:.5f} ({self.loss_note})")
        print(summary)
        self.say(f"wrote {', '.join(self.written)} in "
                 f"{time.perf_counter() - self.t_start:.1f} s")


def fail(prog, message, status):
    """One line on stderr; returns status."""
    sys.stderr.write(f"{prog}: error: {message}\n")
    sys.stderr.flush()
    return status


class StopOnCtrlC:
    """While active, a first Ctrl-C only asks the loop to stop after the current
    iteration (`.requested` turns True); a second one interrupts at once."""

    def __enter__(self):
        self.requested = False
        self.old = signal.signal(signal.SIGINT, self.handler)
        return self

    def handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self.old)


class Progress:
    """Prints iteration, loss (raw, and the mean of the last 1,000 iterations, or of all
    of them before 1,000), iterations per second and time left: on a terminal one line
    refreshed in place about 5 times a second; otherwise (output piped to a file) a plain line about every
    5% of the run. Silent with quiet=True. `elapsed` is the training time once finished."""

    def __init__(self, iters, stream=sys.stdout, quiet=False):
        self.iters, self.stream, self.quiet = iters, stream, quiet
        self.tty = stream.isatty()
        self.every = max(1, iters // 20)        # piped: a line every 5%
        self.start = self.last = time.perf_counter()
        self.elapsed, self.started = None, False

    def update(self, n, losses):
        """After iteration n; losses[:n] are the losses so far."""
        self.started = True
        if self.quiet:
            return
        if self.tty:
            if n % 100 and n != self.iters:
                return                          # look at the clock every 100 iterations
            now = time.perf_counter()
            if now - self.last < 0.2 and n != self.iters:
                return
            self.last = now
            self.stream.write("\r" + self.line(n, losses, now) + " ")
        elif n % self.every == 0 or n == self.iters:
            self.stream.write(self.line(n, losses, time.perf_counter()) + "\n")
        self.stream.flush()

    def line(self, n, losses, now):
        rate = n / max(now - self.start, 1e-9)
        left = (self.iters - n) / rate
        width = len(f"{self.iters:,}")
        return (f"iter {n:>{width},}/{self.iters:,}  loss {losses[n - 1]:.5f}  "
                f"mean of last {min(n, 1000):,} {np.mean(losses[max(0, n - 1000):n]):.5f}  "
                f"{rate:,.0f} it/s  {left:4.0f} s left")

    def finish(self):
        """Training is over: note the time, end the refreshing line on a terminal."""
        if self.elapsed is not None:
            return
        self.elapsed = max(time.perf_counter() - self.start, 1e-9)
        if self.tty and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()


# ---------------------------------------------------------------------------------------
# saving: every file is written to a temporary file in the same folder, then renamed,
# so a crash never leaves half a file
UMASK = os.umask(0)
os.umask(UMASK)


def write_atomic(path, write):
    """Call write(f) on a temporary binary file next to path, then rename it to path."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~UMASK)       # mkstemp makes it private; use the usual mode
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def save_npz(path, arrays):
    """np.savez of plain arrays (numbers, or a str); refuses anything that would pickle."""
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    for k, v in arrays.items():
        if v.dtype.hasobject:
            raise TypeError(f"{k} would be pickled")
    write_atomic(path, lambda f: np.savez(f, **arrays))


def json_safe(obj):
    """obj with every NaN or infinite float replaced by None (JSON's null), so that the
    file is valid JSON for any reader."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def save_json(path, obj):
    text = json.dumps(json_safe(obj), indent=2, allow_nan=False) + "\n"
    write_atomic(path, lambda f: f.write(text.encode()))


def drawing_problem(out):
    """Why a script that must draw its figures into the folder out cannot run
    (matplotlib missing, or out not writable), in one line; None if it can."""
    return NO_MATPLOTLIB if not matplotlib_installed() else check_out_folder(out)


def check_out_folder(out):
    """Create the output folder and make sure a file can be written in it; return an
    error message, or None."""
    try:
        os.makedirs(out, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out, prefix=".write-test.")
        os.close(fd)
        os.remove(tmp)
    except OSError as e:
        return f"cannot write to the output folder {out!r}: {e.strerror or e}"
    return None
