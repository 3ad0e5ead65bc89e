"""The shipped Mackey-Glass series: the integration converges, and the file is what the
script makes."""
import os
import sys

import numpy as np
import pytest

from conftest import ROOT
from lab.csvfile import read_csv_column

sys.path.insert(0, os.path.join(ROOT, "datasets"))
import make_mackey_glass as mg  # noqa: E402


def test_the_integration_agrees_with_its_own_half_step():
    # over 600 time units (before the chaos has amplified the error much), the series at
    # step 0.1 and at 0.05 agree to 1e-7, and halving the step again shrinks the
    # difference about 16 times: a fourth-order method, the delay included
    coarse = np.array(mg.mackey_glass(600, 0.1))
    fine = np.array(mg.mackey_glass(600, 0.05))[::2]
    finer = np.array(mg.mackey_glass(600, 0.025))[::4]
    assert len(coarse) == len(fine) == 6001
    assert np.max(np.abs(coarse - finer)) < 1e-7
    ratio = np.max(np.abs(coarse - finer)) / np.max(np.abs(fine - finer))
    assert ratio > 8, ratio


def test_the_first_steps_by_hand():
    # while t <= tau the delayed value is the history 1.2, so the equation is the linear
    # dx/dt = c - 0.1 x with c = 0.2 * 1.2 / (1 + 1.2^10): x(t) = c/0.1 + (1.2 - c/0.1) e^(-0.1 t)
    x = np.array(mg.mackey_glass(17, 0.1))
    c = 0.2 * 1.2 / (1 + 1.2 ** 10)
    t = np.arange(len(x)) * 0.1
    np.testing.assert_allclose(x, c / 0.1 + (1.2 - c / 0.1) * np.exp(-0.1 * t), rtol=1e-9)


def test_a_delay_that_is_not_a_whole_number_of_steps_is_refused():
    with pytest.raises(ValueError, match="whole number of steps"):
        mg.mackey_glass(10, dt=0.3)


def test_the_shipped_file_is_what_the_script_makes(tmp_path):
    path = tmp_path / "mg.csv"
    mg.main(str(path))
    shipped = os.path.join(ROOT, "datasets", "mackey_glass.csv")
    assert path.read_bytes() == open(shipped, "rb").read()
    y, x, x_label, column = read_csv_column(shipped)
    assert (len(y), x_label, column) == (1000, "t", "x")
    np.testing.assert_allclose(np.diff(x), 6.0)
    assert x[0] == 1200
    # the chaotic attractor's range for these parameters
    assert 0.2 < y.min() < 0.6 and 1.2 < y.max() < 1.45
