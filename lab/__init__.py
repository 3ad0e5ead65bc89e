"""The laboratory: everything the tutorial on the top level does not need to be read.
Its commands run from the repository's root, as `python -m lab.NAME` (see lab/README.md).
"""
import os
import signal
import sys

# the lab draws to files only, never to a window: the backend matplotlib is told of
# (MPLBACKEND, which makes it fail to import when it names none) does not matter
os.environ.pop("MPLBACKEND", None)

# one BLAS thread (unless the environment says otherwise), set before NumPy loads: the
# lab's matrices are small, a second thread mostly waits, and the last bits of a result
# would depend on the number of threads; the runs a sweep starts have one too
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

if sys.argv[:1] == ["-m"]:
    # python -m lab.NAME, while its modules load (NumPy, matplotlib): a Ctrl-C or a
    # SIGTERM ends it in one line, not a traceback; its main then takes the signals over
    # (plumbing.command)
    def _starting(signum, frame):
        sys.stderr.write(f"python -m lab: stopped by {signal.Signals(signum).name} while "
                         f"starting; nothing was written\n")
        os._exit(128 + signum)

    for _signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(_signal, _starting)
