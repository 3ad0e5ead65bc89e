"""The laboratory's plumbing, kept out of the way of the method: the tutorial's training
loop with the lab's hook (snapshots, the progress line, a divergence check, Ctrl-C),
checking a command line before any work is done, one-line errors, and saving results so
that no file is ever half-written. Nothing in here is needed to follow the algorithm;
rnn_cos.py holds all of that.
"""
import argparse
import contextlib
import errno
import fcntl
import json
import math
import os
import signal
import stat
import sys
import tempfile
import time

import numpy as np

import rnn_cos
from lab import limits

HPREV_MODES = ("reset", "carry", "sequential")


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
seed_int = checked(int, lambda v: 0 <= v < 2 ** 64, "an integer from 0 to 2**64 - 1")
fraction = checked(float, lambda v: 0 <= v <= 1, "a fraction from 0 to 1")


def first_paragraph(doc):
    """A module's docstring's first paragraph, on one line: a script's --help opening."""
    return " ".join((doc or "").strip().split("\n\n")[0].split())


def add_training_options(p, d, lr_help="Adagrad learning rate", hidden_help=None):
    """The options of the training loop, which the cosine scripts and the CSV mode share;
    d holds their defaults."""
    p.add_argument("--iters", type=positive_int, default=d["iters"],
                   help="training iterations, one window of --steps points each")
    p.add_argument("--steps", type=positive_int, default=d["steps"],
                   help="time steps per window: how far back BPTT goes")
    p.add_argument("--hidden", type=positive_int, default=d["hidden"],
                   help=hidden_help or "size H of the hidden state")
    p.add_argument("--lr", type=positive_float, default=d["lr"], help=lr_help)
    p.add_argument("--anneal", type=fraction, default=d["anneal"],
                   help="over this last fraction of the iterations the learning rate falls "
                        "linearly to 0 (0: constant, as in the article)")
    p.add_argument("--seed", type=seed_int, default=d["seed"],
                   help="random seed of the data, the windows and the initial weights")
    p.add_argument("--hprev", choices=HPREV_MODES, default=d["hprev"],
                   help="where each window's hidden state starts: 'reset', from zeros; "
                        "'carry', from where the previous random window ended (the "
                        "article); 'sequential', consecutive windows with the state "
                        "carried on (min-char-rnn)")


def add_output_options(p, d):
    p.add_argument("--out", default=d["out"], help="folder the results are written to")
    p.add_argument("--no-plot", action="store_true",
                   help="do not draw the figures (matplotlib is then not needed)")
    p.add_argument("--quiet", action="store_true", help="print only the final summary")


def check_costs(parser, model, args, csv=False, hidden=None):
    """Exit with status 2 when the run would not fit in this machine's memory, or when
    it would draw figures without matplotlib (csv, hidden: see limits.memory_needed)."""
    too_big = limits.memory_problem(model, args, csv, hidden)
    if too_big:
        parser.error(too_big)
    if not args.no_plot and not matplotlib_installed():
        sys.exit(fail(parser.prog, f"{NO_MATPLOTLIB}, or run with --no-plot", 2))


NO_MATPLOTLIB = ("the figures need matplotlib, which is not installed: install it with "
                 "'python -m pip install matplotlib' (or -r requirements.txt)")


def matplotlib_installed():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


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


GROWTH = 100     # a loss this many times that of always predicting 0 means divergence
EXIT_DIVERGED = 3   # the exit status of a run whose loss diverged: a result, not a crash


def check_loss(loss, iteration, zero_loss):
    """Raise Diverged when the loss of an iteration is NaN, infinite, or GROWTH times
    zero_loss, the loss of always predicting 0."""
    if not loss < GROWTH * zero_loss:
        raise Diverged(loss, iteration, GROWTH, zero_loss)


def train(model, params, data, iters, steps, learning_rate, hprev="reset", anneal=0.0,
          clip=5.0, keep=(), progress=None, stop=None):
    """rnn_cos.train (the tutorial's loop: windows, model.lossFun, clip, Adagrad) from the
    cell's zero state, watched through its hook: the weights kept after each iteration
    in `keep` (0: before the first), progress.update(n, losses) after every one, the loss
    checked (Diverged, check_loss), and the loop stopped when stop.requested turns true
    (Ctrl-C). Returns (the loss of every iteration done, {iteration: weights})."""
    progress, stop = progress or SILENT, stop or SILENT
    zero_loss = float(np.mean(data.y_data ** 2))   # the loss of always predicting 0
    keep, losses = set(keep), []
    kept = {0: copy(params)} if 0 in keep else {}

    def on_step(n, loss, params):
        check_loss(loss, n + 1, zero_loss)           # raises Diverged if it blew up
        losses.append(loss)
        if n + 1 in keep:
            kept[n + 1] = copy(params)
        progress.update(n + 1, losses)
        return not stop.requested

    if not stop.requested:
        rnn_cos.train(model.lossFun, params, data, model.init_state(params["Why"].shape[1]),
                      iters, steps, learning_rate, hprev, anneal, clip, on_step)
    progress.finish()
    return np.array(losses, dtype=float), kept


def copy(params):
    return {k: v.copy() for k, v in params.items()}


def snapshot_iterations(iters):
    """About a dozen iterations, spaced about evenly on a log scale, at which to keep the
    weights to watch a network learn: 0, 50, 100, 200, 500, 1,000, ... and iters."""
    marks = [0] + [m * 10 ** e for e in range(1, 12) for m in (5, 10, 20)]
    return sorted({m for m in marks if m < iters} | {iters})


class Silent:
    """What the training loop is given when nobody watches it: no progress line, and no
    Ctrl-C to stop for."""
    requested, started, elapsed = False, False, None

    def update(self, n, losses):
        pass

    def finish(self):
        pass


SILENT = Silent()


class NothingTrained(Exception):
    """Ctrl-C came before the first iteration."""


class Run:
    """One training run of a script, used as `with Run(model, args, about) as run:`.

    Creating it checks that the output folder can be written (exit 2 if not). Inside the
    block, run.progress and run.stop go to the training loop: the first Ctrl-C asks the
    loop to stop after the current iteration, a second one stops at once. run.save()
    writes the npz and metrics.json, run.wrote() notes more files, run.report() prints
    the summary. A divergence ends the block with exit status EXIT_DIVERGED (3) and
    nothing written, an interruption with 130; run.status is the exit status.
    """

    def __init__(self, model, args, about, prog=None, hidden=None):
        self.model, self.args, self.about = model, args, about
        self.prog, self.hidden = prog or f"{model.NAME}.py", hidden or args.hidden
        self.say = (lambda *a, **k: None) if args.quiet else print
        problem = check_out_folder(args.out)
        if problem:
            sys.exit(fail(self.prog, problem, 2))
        self.status, self.written, self.saving, self.pending = 0, [], False, None

    def __enter__(self):
        self.t_start = time.perf_counter()
        self.claim = claimed(self.args.out, self.prog)       # one run per folder
        self.claim.__enter__()
        self.stop = StopOnCtrlC().__enter__()
        a = self.args
        rate = (f"learning rate {a.lr:g} (annealed to 0 over the last {a.anneal:.0%})"
                if a.anneal else f"learning rate {a.lr:g} (constant)")
        self.say(f"{self.model.NAME}: {a.iters:,} iterations of {a.steps} steps, hidden "
                 f"size {self.hidden}, {rate}, hprev {a.hprev}, on {self.about}", flush=True)
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
        self.claim.__exit__(None, None, None)
        if kind is None:
            return False
        self.progress.finish()
        if issubclass(kind, Diverged):
            self.status = fail(self.prog, f"{error}; try a lower --lr (now {self.args.lr:g}). "
                                          f"Nothing was written to {self.args.out}",
                               EXIT_DIVERGED)
        elif issubclass(kind, NothingTrained):
            self.status = fail(self.prog, "stopped before the first iteration; "
                                          "nothing was written", self.signal_status())
        elif issubclass(kind, KeyboardInterrupt):
            self.status = fail(self.prog, "interrupted; every file it wrote is whole and "
                                          "of this run" if self.saving else
                                          "interrupted; nothing was written",
                               self.signal_status())
        elif issubclass(kind, OSError) and self.saving:
            self.status = fail(self.prog, self.lost(error), 1)
        else:
            return False
        return True

    def signal_status(self):
        """130 after a Ctrl-C, 143 after a SIGTERM."""
        return 128 + (getattr(self.stop, "last", None) or signal.SIGINT)

    def lost(self, error):
        """What a failed write (a full disk, a folder removed or replaced by a file)
        cost, in words: the trained weights are saved elsewhere when they still can be."""
        why = f"cannot write to {self.args.out}: {error.strerror or error}"
        if self.written:
            return f"{why}; written before it failed: {', '.join(self.written)}"
        if self.pending is not None:
            fd, spare = tempfile.mkstemp(prefix=f"{self.model.NAME}-", suffix=".npz")
            os.close(fd)
            try:
                save_npz(spare, self.pending)
                return f"{why}; the trained weights and results are saved in {spare} instead"
            except OSError:
                os.remove(spare)
        return f"{why}; the trained weights are lost"

    def save(self, params, losses, results, settings, snapshots, loss_note, iterations=None,
             more_metrics=None):
        """Write <NAME>.npz (the weights, the loss of every iteration, the results, the
        settings and the snapshots {iteration: weights}, as snap_iters (K,) and
        snap_<name> (K, *shape)) and metrics.json (the numbers); returns the npz's path.
        iterations: how many were trained in all (by default len(losses)), for the speed;
        more_metrics: more entries for metrics.json only."""
        a, done = self.args, len(losses)
        if done == 0:
            raise NothingTrained
        self.interrupted = done < a.iters
        if self.interrupted:
            print(f"stopped by {self.stop.by or 'Ctrl-C'} after {done:,} of {a.iters:,} "
                  f"iterations; saving what was trained so far")
            self.status = 143 if self.stop.by == "SIGTERM" else 130
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
        self.pending = {**params, "loss": losses, **results, **settings,
                        "snap_iters": np.array(iters, dtype=np.int64), **snaps}
        os.makedirs(a.out, exist_ok=True)   # again: it may have gone during the training
        clear_outputs(a.out)                # no file of an earlier run stays beside these
        save_npz(npz, self.pending)
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
    """While active, a first Ctrl-C (or SIGTERM) only asks the loop to stop after the
    current iteration (`.requested` turns True); a second one interrupts at once, and so
    does the first once `.hard` is set (when no loop is left to stop)."""

    def __enter__(self):
        self.requested, self.by, self.hard, self.last = False, None, False, None
        self.old = {s: signal.signal(s, self.handler) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def handler(self, signum, frame):
        self.last = signum                         # the exit status says which: 128 + it
        if self.requested or self.hard:
            raise KeyboardInterrupt
        self.requested, self.by = True, "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
        sys.stdout.write(("\n" if sys.stdout.isatty() else "") + f"{self.by}: stopping after "
                         f"this iteration and saving what was trained "
                         f"({self.by} again stops at once, saving nothing)\n")
        sys.stdout.flush()

    def __exit__(self, *exc):
        for s, old in self.old.items():
            signal.signal(s, old)


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
    """Call write(f) on a temporary binary file next to path, then rename it to path
    (OSError, before anything is written, when path is there and not a regular file:
    a folder, a FIFO, a device or a link is never replaced)."""
    if not regular_or_absent(path):
        raise OSError(errno.EEXIST, "not a regular file, and left as it is", path)
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


# the files a run writes into its folder, whatever the script: a run removes those of
# an earlier run before it writes its own, and never touches any other file
OUTPUTS = ("rnn_cos.npz", "lstm_cos.npz", "gru_cos.npz", "metrics.json", "forecast.csv",
           "loss.png", "predictions.png", "forecast.png", "horizon.png", "ahead.png",
           "learning.png", "learning.gif", "memory.png", "loss_by_step.png",
           "vanishing_rnn.png", "vanishing_lstm.png", "vanishing_gru.png")


def clear_outputs(out):
    """Remove the files of OUTPUTS from the folder out."""
    for name in OUTPUTS:
        path = os.path.join(out, name)
        if os.path.isfile(path) or os.path.islink(path):
            os.remove(path)


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


def drawing_problem(out, names):
    """Why a script that must draw its figures into the folder out cannot run
    (matplotlib missing, or out not writable: check_out_folder), in one line; None if
    it can."""
    return NO_MATPLOTLIB if not matplotlib_installed() else check_out_folder(out, names)


def check_out_folder(out, names=OUTPUTS):
    """Create the output folder and make sure a file can be written in it, and that
    none of the names a command writes there is anything but a regular file (a folder,
    a FIFO, a device or a link is never replaced); return an error message, or None."""
    if os.path.lexists(out) and not os.path.isdir(out):
        return (f"{out!r} is not a folder (" + ("a link to nothing" if os.path.islink(out)
                                                 and not os.path.exists(out) else "a file")
                + "): give another --out")
    odd = [n for n in names if not regular_or_absent(os.path.join(out, n))]
    if odd:
        return (f"{os.path.join(out, odd[0])} is not a regular file (a folder, a link, a "
                f"FIFO?): it is left as it is; move it, or give another --out")
    try:
        os.makedirs(out, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out, prefix=".write-test.")
        os.close(fd)
        os.remove(tmp)
    except OSError as e:
        return f"cannot write to the output folder {out!r}: {e.strerror or e}"
    return None


def regular_or_absent(path):
    """True when path names nothing, or a regular file (not a link to one)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):       # (its folder is not one)
        return True


@contextlib.contextmanager
def claimed(out, prog):
    """The folder out as this command's alone while the block runs: locked (fcntl, on
    the folder itself), so that a second command writing into it is refused in one
    line; the lock ends with the block, or with the process however it ends."""
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        sys.exit(fail(prog, f"another command is writing to {out}: wait for it to end, or "
                            f"give another --out", 2))
    try:
        yield
    finally:
        os.close(fd)


STOPPED = {}      # the signal that stopped a command: {"by": "SIGTERM", "status": 143}


def stop_status():
    """The exit status of a command that a signal stopped: 143 after a SIGTERM, 130
    after a Ctrl-C."""
    return STOPPED.get("status", 130)


def command(main, prog):
    """A command's main run as a process, its exit status returned: a Ctrl-C or SIGTERM
    that its main does not meet itself ends it in one line (status 130 or 143); stdout
    closed or on a full device, one line (status 1), not a traceback."""
    def on_signal(signum, frame):
        STOPPED.update(by=signal.Signals(signum).name, status=128 + signum)
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        return main()
    except KeyboardInterrupt:
        return fail(prog, f"stopped by {STOPPED.get('by', 'SIGINT')}; every file written is "
                          f"whole", STOPPED.get("status", 130))
    except OSError as e:
        if e.errno not in (errno.EPIPE, errno.ENOSPC, errno.EIO, errno.EBADF):
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)      # nothing more to stdout
        return fail(prog, f"cannot write what it prints: {e.strerror or e}", 1)
