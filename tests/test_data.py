import numpy as np
import pytest

from data import CosineData


def window(d, steps):
    """d.next_batch(steps), and the x of its steps + 1 points (found in the data)."""
    inputs, targets = d.next_batch(steps)
    starts = [s for s in range(d.num_points - steps)
              if np.array_equal(d.y_data[s:s + steps], inputs)]
    assert len(starts) == 1                      # noise: no window repeats another
    return inputs, targets, d.x_data[starts[0]:starts[0] + steps + 1]


def test_shapes_and_shift_by_one():
    d = CosineData(500, 0.0, 50.0, seed=1)
    for steps in (1, 5, 20, 499):
        inputs, targets, x = window(d, steps)
        assert inputs.shape == targets.shape == (steps,)
        assert x.shape == (steps + 1,)
        np.testing.assert_array_equal(targets[:-1], inputs[1:])
        # the window is steps + 1 consecutive points of the data set
        start = int(np.flatnonzero(d.x_data == x[0])[0])
        np.testing.assert_array_equal(inputs, d.y_data[start:start + steps])
        np.testing.assert_array_equal(targets, d.y_data[start + 1:start + steps + 1])


def test_spacing_is_resolution_and_x_in_range():
    d = CosineData(101, -2.0, 8.0, seed=0)
    assert d.resolution == pytest.approx(0.1)
    np.testing.assert_allclose(np.diff(d.x_data), d.resolution, rtol=1e-9)
    assert d.x_data[0] == -2.0 and d.x_data[-1] == pytest.approx(8.0)
    for _ in range(200):
        _, _, x = window(d, 7)
        assert -2.0 <= x.min() and x.max() <= 8.0
        np.testing.assert_allclose(np.diff(x), d.resolution, rtol=1e-9)


def test_every_start_is_reachable():
    d = CosineData(30, 0.0, 3.0, seed=0)
    starts = {np.flatnonzero(d.x_data == window(d, 4)[2][0])[0]
              for _ in range(2000)}
    assert starts == set(range(30 - 4))           # 0 .. num_points - steps - 1


def test_values_are_cosine_plus_noise_of_the_given_size():
    d = CosineData(200_000, 0.0, 1000.0, noise=0.05, seed=3)
    np.testing.assert_array_equal(d.y_true, np.cos(d.x_data))
    residual = d.y_data - d.y_true
    assert residual.std() == pytest.approx(0.05, rel=0.01)
    assert abs(residual.mean()) < 0.001
    clean = CosineData(50, 0.0, 5.0, noise=0.0, seed=3)
    np.testing.assert_array_equal(clean.y_data, clean.y_true)


def test_noise_is_fixed_once():
    d = CosineData(100, 0.0, 10.0, seed=5)
    y = d.y_data.copy()
    for _ in range(10):
        d.next_batch(10)
    np.testing.assert_array_equal(d.y_data, y)


def test_same_seed_same_data_and_windows_other_seed_differs():
    a, b, c = (CosineData(300, 0.0, 30.0, seed=s) for s in (4, 4, 5))
    np.testing.assert_array_equal(a.y_data, b.y_data)
    for _ in range(5):
        for u, v in zip(a.next_batch(12), b.next_batch(12)):
            np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a.y_data, c.y_data)


def test_global_random_state_untouched():
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    d = CosineData(100, 0.0, 10.0)
    d.next_batch(5)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize("args, words", [
    ((1, 0.0, 1.0), "num_points"),
    ((0, 0.0, 1.0), "num_points"),
    ((10.5, 0.0, 1.0), "num_points"),
    ((10, 1.0, 1.0), "xmax"),
    ((10, 2.0, 1.0), "xmax"),
    ((10, 0.0, np.inf), "xmax"),
])
def test_bad_construction(args, words):
    with pytest.raises(ValueError, match=words):
        CosineData(*args)


def test_negative_noise():
    with pytest.raises(ValueError, match="noise must be .*>= 0, got -0.1"):
        CosineData(10, 0.0, 1.0, noise=-0.1)


@pytest.mark.parametrize("steps", [0, -3, 10, 11, 2.0, True])
def test_bad_steps(steps):
    d = CosineData(10, 0.0, 1.0)
    with pytest.raises(ValueError, match=f"steps must be an integer between 1 and 9 .*got "
                                         f"{steps}"):
        d.next_batch(steps)


def test_largest_window_is_the_whole_data():
    d = CosineData(10, 0.0, 1.0, seed=0)
    inputs, targets = d.next_batch(9)
    np.testing.assert_array_equal(inputs, d.y_data[:-1])
    np.testing.assert_array_equal(targets, d.y_data[1:])


def test_dates_as_decimal_years_by_hand():
    from lab.csvfile import parse_date
    assert parse_date("1990-07") == 1990.5 and parse_date("2000-01") == 2000.0
    assert parse_date("2001-01-15") == pytest.approx(2001 + 14 / 365)
    assert parse_date("2000-03-01") == pytest.approx(2000 + 60 / 366)     # a leap year
    assert parse_date("2000/12") == pytest.approx(2000 + 11 / 12)
    for text in ("1990", "1990-13", "90-01", "2001-02-30", "x", "1990-06-01-01", ""):
        assert parse_date(text) is None, text
