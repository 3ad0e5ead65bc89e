"""Numerical gradients for the tests: central differences of fourth order,
    f'(x) ~ (-f(x+2e) + 8 f(x+e) - 8 f(x-e) + f(x-2e)) / (12 e),
whose error, of order e^4, lets e be large enough (1e-3) that rounding does not swamp
small gradient entries."""
import numpy as np


def numerical_gradient(f, array, index, eps=1e-3):
    """d f() / d array[index], array changed in place and restored."""
    old = array[index]
    values = []
    for step in (2, 1, -1, -2):
        array[index] = old + step * eps
        values.append(f())
    array[index] = old
    f2, f1, m1, m2 = values
    return (-f2 + 8 * f1 - 8 * m1 + m2) / (12 * eps)


def relative_error(a, b):
    return abs(a - b) / max(abs(a) + abs(b), 1e-300)


def check_gradients(lossFun, params, inputs, targets, state, max_entries=60, seed=0):
    """Largest relative error between lossFun's gradients and numerical ones, over every
    entry of every parameter (a random subset of max_entries for a big one)."""
    _, grads, _ = lossFun(params, inputs, targets, state)
    f = lambda: lossFun(params, inputs, targets, state)[0]   # noqa: E731
    rng = np.random.default_rng(seed)
    worst = (0.0, None)
    for name, p in params.items():
        assert grads[name].shape == p.shape, name
        indices = list(np.ndindex(p.shape))
        if len(indices) > max_entries:
            indices = [indices[i] for i in rng.choice(len(indices), max_entries, replace=False)]
        for index in indices:
            err = relative_error(grads[name][index], numerical_gradient(f, p, index))
            if err > worst[0]:
                worst = (err, f"{name}{index}")
    return worst
