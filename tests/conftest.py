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
