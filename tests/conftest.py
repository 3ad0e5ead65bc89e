import compileall
import os
import sys

# The tests run two at a time (pytest-xdist), many of them starting the scripts in
# processes of their own: one BLAS thread each keeps them from crowding the cores (the
# suite takes about a fifth less time). Set before NumPy is first imported; the
# processes the tests start inherit it.
for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(name, "1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# the project's modules compiled once, so that the hundreds of processes the tests start
# do not each compile them again (PYTHONDONTWRITEBYTECODE stops Python writing them)
for folder in (ROOT, os.path.join(ROOT, "lab")):
    compileall.compile_dir(folder, maxlevels=0, quiet=1)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# the commands of the laboratory run as `python -m lab.NAME` from the repository's root;
# the tests start them from other folders too, so the root is put on their path
os.environ["PYTHONPATH"] = os.pathsep.join(
    [ROOT] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))


def command(script):
    """The words that start one of the project's commands: a file of the top level
    ('rnn_cos.py') or a module of the laboratory ('lab.sweep')."""
    if script.endswith(".py"):
        return [sys.executable, os.path.join(ROOT, script)]
    return [sys.executable, "-m", script]


class Ran:
    """What a command gave, as subprocess.run's result does: returncode, stdout, stderr."""

    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def in_process(script, *args):
    """A command of the project ('rnn_cos.py', 'lab.series', ...) run through its
    main(argv) in this process, as its process would end: the exit status it returned or
    exited with (a message given to sys.exit printed, as Python prints it), and what it
    printed. Much cheaper than a process; the suite starts a process only where a
    process is what is tested (signals, a machine without matplotlib, the root)."""
    import importlib
    import io
    from contextlib import redirect_stderr, redirect_stdout
    module = importlib.import_module(script[:-3] if script.endswith(".py") else script)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = module.main([str(a) for a in args])
        except SystemExit as e:
            code = e.code
            if isinstance(code, str):
                print(code, file=sys.stderr)
                code = 1
            code = 0 if code is None else code
    return Ran(code, out.getvalue(), err.getvalue())
