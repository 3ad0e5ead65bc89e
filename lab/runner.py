"""Many training runs at once: the one runner behind lab.sweep, lab.compare_cells and
lab.memory_span.

Each run is a command of this project (a script of the top level, such as rnn_cos, or a
module of the laboratory, such as lab.series) in a process of its own, with BLAS kept to one
thread (so that a run's numbers do not depend on how many run beside it). When a run
ends, its row is appended to a CSV file at once, so an interrupted grid keeps every
finished run. A row holds its run's key: what was asked (the options) and what it was
made from, a fingerprint of the data it read and of the code that ran (the sources of
the script and of every module of this project it imports). Run again, the grid redoes
only the runs whose key has no row: a row made by other code or from other data is
never reused, and never summarised with the others.
"""
import ast
import csv
import ctypes
import hashlib
import io
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

from lab import plumbing

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # the repository
ONE_THREAD = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                                "NUMEXPR_NUM_THREADS")}
FINGERPRINT = ("code", "data")   # the columns that say what a row was made from


# ---------------------------------------------------------------------------------------
# the options every grid script takes
def add_grid_options(p, seeds, out, out_help, quiet_help="print only the table"):
    """--seeds (a range and/or a list, by default `seeds`), --workers, --out (required
    when out is None), --quiet."""
    p.add_argument("--seeds", nargs="+", default=[seeds], metavar="SEEDS",
                   help=f"seeds: a range such as 0-4 and/or a list 0 3 7 (by default {seeds})")
    p.add_argument("--workers", type=plumbing.positive_int, default=os.cpu_count() or 1,
                   help="runs at once, each in its own process (by default every core)")
    p.add_argument("--out", required=out is None, default=out, help=out_help)
    p.add_argument("--quiet", action="store_true", help=quiet_help)


# ---------------------------------------------------------------------------------------
# fingerprints
def sha(data):
    return hashlib.sha256(data).hexdigest()[:16]


def module_path(name):
    """The file of this project's module `name` ('rnn_cos', 'lab.series', 'lab'), or
    None for a module from elsewhere (numpy)."""
    base = os.path.join(ROOT, *name.split("."))
    for path in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(path):
            return path
    return None


IMPORTS = {}   # (path, the source's digest): its project imports, parsed once a process


def project_imports(path):
    """The files of this project's modules that the source at path imports, anywhere in
    it (inside functions too): `import rnn_cos`, `from lab import series` and
    `from lab.series import x` each name their module's file."""
    with open(path, "rb") as f:
        source = f.read()
    key = (path, hashlib.sha256(source).digest())
    if key not in IMPORTS:
        IMPORTS[key] = parse_imports(source, path)
    return IMPORTS[key]


def parse_imports(source, path):
    tree = ast.parse(source, path)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return frozenset(p for p in map(module_path, names) if p)


def code_fingerprint(module):
    """A fingerprint of the sources of `module` (a name such as 'rnn_cos' or
    'lab.series') and of every module of this project it imports, directly or not."""
    todo, seen = [module_path(module)], set()
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += project_imports(path) - seen
    h = hashlib.sha256()
    for path in sorted(seen):
        with open(path, "rb") as f:
            h.update(os.path.relpath(path, ROOT).encode() + b"\0" + f.read() + b"\0")
    return h.hexdigest()[:16]


def file_fingerprint(path):
    """A fingerprint of a file's content; ValueError, in one line, if it can't be read."""
    try:
        with open(path, "rb") as f:
            return sha(f.read())
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror or e}")


# ---------------------------------------------------------------------------------------
# one run
RUNNING, RUNNING_LOCK = set(), threading.Lock()   # the scripts running now
try:
    LIBC = ctypes.CDLL(None)                      # loaded here: the child may not load it
except OSError:
    LIBC = None


def die_with_parent(parent=os.getpid()):
    """Run in each child before its script: Linux's prctl(PR_SET_PDEATHSIG, SIGTERM), so
    that when the grid's process dies, however it dies (a SIGKILL too), its runs get a
    SIGTERM and end, rather than run on alone. Elsewhere, nothing."""
    if LIBC is not None and hasattr(LIBC, "prctl"):
        LIBC.prctl(1, signal.SIGTERM)             # 1: PR_SET_PDEATHSIG
        if os.getppid() != parent:                # the parent died before the line above
            os._exit(143)
STOPPING = threading.Event()                      # set by Ctrl-C: start nothing more


def run_script(module, argv):
    """Run `python -m module argv` (module: 'rnn_cos', 'lab.series', ...) in a process
    of its own, with this project first on its path and BLAS kept to one thread.
    Returns (exit status, stdout, stderr, wall seconds)."""
    cmd = [sys.executable, "-m", module, *argv]
    path = os.pathsep.join([ROOT] + ([os.environ["PYTHONPATH"]]
                                     if os.environ.get("PYTHONPATH") else []))
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **ONE_THREAD, "PYTHONPATH": path},
                            start_new_session=True, preexec_fn=die_with_parent)
    with RUNNING_LOCK:
        RUNNING.add(proc)
        if STOPPING.is_set():
            proc.send_signal(signal.SIGTERM)
    try:
        stdout, stderr = proc.communicate()
    finally:
        with RUNNING_LOCK:
            RUNNING.discard(proc)
    return proc.returncode, stdout, stderr, time.perf_counter() - t


def stop_running():
    """Ends every script still running (after Ctrl-C): nothing of theirs is kept."""
    STOPPING.set()
    with RUNNING_LOCK:
        for proc in RUNNING:
            proc.send_signal(signal.SIGTERM)


class Failed(Exception):
    """A run that did not finish: its message is kept, and the grid goes on."""


# ---------------------------------------------------------------------------------------
# the grid
class Grid:
    """The runs of a grid and their rows in `path` (a CSV file with `columns`, of which
    `key_columns`, with FINGERPRINT, make a run's key).

    jobs: dicts, each with a 'row' holding at least the key columns. work(job) does the
    run and returns its row (the job's row, completed), or raises Failed(message)."""

    def __init__(self, path, columns, key_columns, numeric=()):
        self.path, self.columns = path, list(columns)
        self.key_columns = list(key_columns) + list(FINGERPRINT)
        self.numeric = list(numeric)     # cells that hold a number (or nothing) in a row
        self.lock = threading.Lock()
        self.dropped = None      # a last line cut short, dropped from the file by rows()

    def key(self, row):
        return tuple(row[c] for c in self.key_columns)

    def rows(self):
        """The rows of the file, or [] if there is none. A last line cut short (a grid
        stopped while a row was written) is dropped from the file, and self.dropped
        holds it, so that its run is made again and no later row is appended to it.
        A last line whole but for its line break (as an editor saves a file) is kept.
        ValueError, in one line naming the file (and the line), for a file that cannot be
        read (or is not a regular file: a FIFO is never opened), is not text, has other
        columns, or holds a row this project does not write (a status other than ok or
        diverged, text where a number belongs: a file edited by hand)."""
        if not plumbing.regular_or_absent(self.path):
            raise ValueError(f"{self.path} is not a regular file (a FIFO, a folder?); "
                             f"choose another --out")
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        except OSError as e:
            raise ValueError(f"cannot read {self.path}: {e.strerror or e}; choose another --out")
        if data.startswith(b"\xef\xbb\xbf"):                 # a byte-order mark: an editor's
            data = data[3:]
        if data and not data.endswith(b"\n"):
            keep = data[:data.rfind(b"\n") + 1]
            if self.whole(keep, data[len(keep):]):
                keep = data + b"\n"                           # only its line break is missing
            else:
                self.dropped = data[len(keep):].decode("utf-8", "replace")
            plumbing.write_atomic(self.path, lambda f: f.write(keep))
            data = keep
        try:
            reader = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
            rows = list(reader)
        except (UnicodeDecodeError, csv.Error):
            raise ValueError(f"{self.path} is not a runs.csv this project wrote (it cannot "
                             f"be read as CSV text); choose another --out")
        if data and reader.fieldnames != self.columns:
            raise ValueError(f"{self.path} has other columns than this script writes; "
                             f"choose another --out")
        if any(None in r or None in r.values() for r in rows):
            raise ValueError(f"{self.path} has a row with more or fewer cells than its "
                             f"header; choose another --out")
        for line, r in enumerate(rows, 2):
            problem = self.odd(r)
            if problem:
                raise ValueError(f"{self.path}, line {line}: {problem}, which this project "
                                 f"never writes (edited by hand?); correct it, or choose "
                                 f"another --out")
        return rows

    def odd(self, row):
        """What is wrong with a row, in words, or ''."""
        if row.get("status") not in ("ok", "diverged"):
            return f"the status {row.get('status')!r} is neither ok nor diverged"
        for c in self.numeric:
            cell = row.get(c, "")
            if row["status"] == "ok" and cell != "":
                try:
                    float(cell)
                except ValueError:
                    return f"{cell!r} in the column {c!r} is not a number"
        return ""

    def whole(self, head, last):
        """True when last (the file's last line, without its line break) is a whole row
        of this file: as many cells as the header, and nothing odd in them."""
        try:
            header = next(csv.reader(io.StringIO(head.decode("utf-8"), newline="")))
            (cells,) = list(csv.reader(io.StringIO(last.decode("utf-8"), newline="")))
        except (UnicodeDecodeError, csv.Error, StopIteration, ValueError):
            return False
        return len(cells) == len(header) and not self.odd(dict(zip(header, cells)))

    def dropped_note(self):
        """One line on a last line that rows() dropped, or ''."""
        if self.dropped is None:
            return ""
        return (f"{self.path}: its last line was cut short (a run stopped while its row was "
                f"written: {self.dropped[:40]!r}); it is dropped, and that run is made again")

    def plan(self, jobs):
        """(todo, have, stale): the jobs to run; the rows of the others, in the jobs'
        order; and how many rows of the file were asked again but made by other code or
        from other data ({'code': n, 'data': n}), which are run again."""
        rows = self.rows()
        by_key = {self.key(r): r for r in rows}
        asked = {self.key({**r, **dict.fromkeys(FINGERPRINT, "")}): r for r in rows}
        todo, have, stale = [], [], {"code": 0, "data": 0}
        for job in jobs:
            row = by_key.get(self.key(job["row"]))
            if row is not None:
                have.append(row)
                continue
            todo.append(job)
            old = asked.get(self.key({**job["row"], **dict.fromkeys(FINGERPRINT, "")}))
            if old is not None:
                stale["data" if old["data"] != job["row"]["data"] else "code"] += 1
        return todo, have, stale

    def finished(self, jobs):
        """The rows of these jobs, in their order (those that have one)."""
        by_key = {self.key(r): r for r in self.rows()}
        return [by_key[self.key(j["row"])] for j in jobs if self.key(j["row"]) in by_key]

    def append(self, row):
        with self.lock:
            new = not os.path.exists(self.path) or os.path.getsize(self.path) == 0
            with open(self.path, "a", newline="") as f:
                w = csv.DictWriter(f, fieldnames=self.columns, restval="")
                if new:
                    w.writeheader()
                w.writerow(row)
                f.flush()
                os.fsync(f.fileno())

    def run(self, todo, work, workers, say):
        """Run the jobs, workers at a time, appending each finished row, and printing a
        line as each ends. Returns the messages of the runs that failed, as
        [(job, message)]. Ctrl-C (KeyboardInterrupt) stops them all; every finished row
        stays in the file."""
        total, start, done, failed = len(todo), time.perf_counter(), 0, []
        tty = sys.stdout.isatty()
        pool = ThreadPoolExecutor(max_workers=max(1, workers))
        # a SIGTERM stops the grid as Ctrl-C does: its runs are ended and waited for
        plumbing.STOPPED.clear()
        old_term = signal.signal(signal.SIGTERM, interrupt)

        def one(job):
            if STOPPING.is_set():
                return job, None
            try:
                return job, work(job)
            except Failed as e:
                return job, e

        try:
            for future in as_completed([pool.submit(one, job) for job in todo]):
                job, row = future.result()
                if STOPPING.is_set():
                    continue
                if isinstance(row, Failed):
                    failed.append((job, str(row)))
                else:
                    self.append(row)
                done += 1
                elapsed = time.perf_counter() - start
                line = (f"{done} of {total} runs done"
                        + (f" ({len(failed)} failed)" if failed else "")
                        + f", {elapsed:.0f} s so far"
                        + (f", about {elapsed / done * (total - done):.0f} s left"
                           if done < total else ""))
                say("\r" + line + " " if tty else line, end="" if tty else "\n", flush=True)
            if tty and total:
                say()
        except KeyboardInterrupt:
            stop_running()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            signal.signal(signal.SIGTERM, old_term)
        pool.shutdown()
        return failed


def interrupt(signum, frame):
    """A signal handler: stop as Ctrl-C does (plumbing.stop_status() says which)."""
    plumbing.STOPPED.update(by=signal.Signals(signum).name, status=128 + signum)
    raise KeyboardInterrupt


def stale_note(stale):
    """'; 2 rows made by other code are run again' or ''."""
    parts = [f"{n} made {'by other code' if why == 'code' else 'from other data'}"
             for why, n in stale.items() if n]
    if not parts:
        return ""
    n = sum(stale.values())
    return f"; {' and '.join(parts)} {'is' if n == 1 else 'are'} run again"
