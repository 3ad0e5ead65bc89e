"""What a trained network has learned, measured.

Fed its own output as its next input, the plain RNN becomes a recurrent network with no
input at all:
    h <- tanh(M h + b),   M = Whh + Wxh Why,   b = bh + Wxh by
(rnn_cos.forecast runs exactly this). That is a dynamical system, and the way to
explain it is the one of Sussillo and Barak (2013): find its fixed point h*, linearise
around it (the Jacobian J = diag(1 - h*^2) M), and read J's eigenvalues. A complex pair
of modulus above 1 is a spiral that grows away from h*; the tanh, which saturates,
stops the growth, and what is left is a closed loop: an oscillator. Its period, in
steps, is what the network has learned of the cosine's frequency.

Every function takes the model module (rnn_cos, lstm_cos, gru_cos) and its weights;
the fixed point and the eigenvalues are for the plain RNN.
"""
import numpy as np

from data import FORECAST_SEED, WARMUP, forecast_cosine, test_cosine

TRANSIENT = 2000     # free-running steps left to settle before measuring (at least) ...
MEASURED = 2000      # ... and steps measured after them (at least)
MIN_PERIODS = 20     # (each at least this many periods of the true cosine)
DRIVEN_PERIODS = 3   # memory.png: the hidden units over this many periods of a clean cosine


# ---------------------------------------------------------------------------------------
# the oscillation: period and amplitude
def free_run_steps(resolution):
    """How many steps learned_oscillation runs the network on its own: (transient,
    measured)."""
    periods = int(np.ceil(MIN_PERIODS * 2 * np.pi / resolution))
    return max(TRANSIENT, periods), max(MEASURED, periods)


def period(y):
    """The period, in steps, of a sampled oscillation y (T,): the mean time between its
    upward crossings of its own mean level, each crossing placed by linear interpolation
    between the two samples around it. NaN when y crosses fewer than twice or hardly
    moves (a fixed point, not an oscillation)."""
    y = np.asarray(y, dtype=float)
    if len(y) < 3 or not np.all(np.isfinite(y)):
        return float("nan")
    level = y.mean()
    if y.max() - y.min() <= 1e-9 * max(1.0, abs(level)):
        return float("nan")
    d = y - level
    up = np.flatnonzero((d[:-1] < 0) & (d[1:] >= 0))   # d crosses 0 between up and up + 1
    if len(up) < 2:
        return float("nan")
    crossings = up + d[up] / (d[up] - d[up + 1])        # where the line through them hits 0
    return float((crossings[-1] - crossings[0]) / (len(crossings) - 1))


def learned_oscillation(model, params, seed_values, resolution):
    """Let the network run on its own from seed_values for a long transient, then measure
    the period (in steps) and the amplitude (max - min) of its output. Returns
    (period, amplitude, y, states): the measured stretch of output and hidden states."""
    transient, measured = free_run_steps(resolution)
    y, states = model.forecast(params, seed_values, transient + measured, return_states=True)
    y, states = y[transient:], states[transient:]
    amplitude = float(y.max() - y.min()) if np.all(np.isfinite(y)) else float("nan")
    return period(y), amplitude, y, states


def drift_rmse(learned_period, resolution, n_steps):
    """The RMSE, over n_steps, between a unit cosine advancing `resolution` per step and
    one advancing 2 pi / learned_period: the forecast error that a period error alone
    causes, both starting in phase (averaged over the starting phase)."""
    if not np.isfinite(learned_period):
        return float("nan")
    t = np.arange(1, n_steps + 1)
    delta = t * (2 * np.pi / learned_period - resolution)    # phase error after t steps
    # mean over the phase a of (cos(a) - cos(a + delta))^2 is 1 - cos(delta)
    return float(np.sqrt(np.mean(1 - np.cos(delta))))


# ---------------------------------------------------------------------------------------
# the plain RNN as a dynamical system
def free_running_map(params):
    """M (H,H) and b (H,) of the network fed its own output: h <- tanh(M h + b)."""
    M = params["Whh"] + params["Wxh"] @ params["Why"]
    b = (params["bh"] + params["Wxh"] @ params["by"])[:, 0]
    return M, b


def fixed_point(M, b, h0=None, tol=1e-13, max_steps=100):
    """A solution h* of h = tanh(M h + b), by Newton's method from h0 (zeros): the root
    of F(h) = h - tanh(M h + b), whose Jacobian is I - diag(1 - tanh^2(M h + b)) M.
    Returns (h*, residual ||h* - tanh(M h* + b)||)."""
    h = np.zeros(len(b)) if h0 is None else np.array(h0, dtype=float)
    eye = np.eye(len(b))
    for _ in range(max_steps):
        t = np.tanh(M @ h + b)
        F = h - t
        if np.linalg.norm(F) < tol:
            break
        h = h - np.linalg.solve(eye - (1 - t ** 2)[:, None] * M, F)
    return h, float(np.linalg.norm(h - np.tanh(M @ h + b)))


def jacobian(M, b, h):
    """d tanh(M h + b) / dh = diag(1 - tanh^2(M h + b)) M, (H,H)."""
    return (1 - np.tanh(M @ h + b) ** 2)[:, None] * M


def leading_pair(eigenvalues):
    """The eigenvalue of largest modulus among those with a positive imaginary part (one
    of a complex pair: a rotation); the largest in modulus if none is complex."""
    ev = np.asarray(eigenvalues)
    complex_ = ev[ev.imag > 1e-12]
    pool = complex_ if len(complex_) else ev
    return pool[np.argmax(np.abs(pool))]


# ---------------------------------------------------------------------------------------
# everything memory.png and metrics.json show
def what_it_learned(model, params, resolution):
    """A dict of numbers (for metrics.json) and arrays (memory_*, for memory.png). For
    every cell: the hidden units over a clean cosine
    (units sorted by the phase at which they respond), the free-running loop projected
    on its first two principal components, its period and amplitude against the true
    ones. For the plain RNN also the fixed point and the Jacobian's eigenvalues."""
    _, seed, truth = forecast_cosine(resolution)
    per, amp, y, states = learned_oscillation(model, params, seed, resolution)
    true_period = 2 * np.pi / resolution
    numbers = dict(learned_period=per, true_period=true_period, learned_amplitude=amp,
                   true_amplitude=2.0, drift_rmse=drift_rmse(per, resolution, len(truth)))

    # the hidden units, driven by a clean cosine (teacher forcing, from h = 0)
    x, inputs, _ = test_cosine(resolution)
    n = min(len(inputs), WARMUP + int(round(DRIVEN_PERIODS * true_period)))
    hs = model.forward(params, inputs[:n], model.init_state(len(params["Why"][0])))[0][1:]
    phase_x = x[:n]
    centred = hs[WARMUP:] - hs[WARMUP:].mean(axis=0)
    c, s = np.cos(phase_x[WARMUP:]), np.sin(phase_x[WARMUP:])
    unit_phase = np.arctan2(-(centred.T @ s), centred.T @ c)     # h_j ~ cos(x + phase_j)
    order = np.argsort(unit_phase)

    # the loop: the free-running states on their first two principal components
    mean = states.mean(axis=0)
    _, sv, vt = np.linalg.svd(states - mean, full_matrices=False)
    pcs = np.r_[vt[:2], np.zeros((2 - len(vt[:2]), vt.shape[1]))]   # one unit: one axis
    loop = (states - mean) @ pcs.T
    explained = float(np.sum(sv[:2] ** 2) / max(np.sum(sv ** 2), 1e-300))
    numbers["loop_variance_explained"] = explained
    # the forecast from the seed over ten periods: its RMSE over the first t steps, for
    # every t (beside the error a period error alone would make: memory.png)
    far = int(round(10 * true_period))
    truth = np.cos((np.arange(FORECAST_SEED, FORECAST_SEED + far) + 0.5) * resolution)
    err2 = (model.forecast(params, seed, far) - truth) ** 2
    arrays = dict(memory_x=phase_x, memory_input=inputs[:n], memory_h=hs[:, order],
                  memory_units=order, memory_loop=loop[: int(np.ceil(3 * true_period)) + 1],
                  memory_free_y=y,
                  memory_drift_measured=np.sqrt(np.cumsum(err2) / np.arange(1, far + 1)))

    if "Whh" in params:                                  # the plain RNN: h <- tanh(M h + b)
        M, b = free_running_map(params)
        h_star, residual = fixed_point(M, b)
        ev = np.linalg.eigvals(jacobian(M, b, h_star))
        lead = leading_pair(ev)
        numbers.update(fixed_point_residual=residual,
                       spectral_radius=float(np.max(np.abs(ev))),   # above 1: unstable
                       leading_eigenvalue_modulus=float(abs(lead)),
                       leading_eigenvalue_angle=float(abs(np.angle(lead))),
                       linear_period=float(2 * np.pi / abs(np.angle(lead)))
                       if abs(np.angle(lead)) > 0 else float("nan"))
        arrays.update(memory_eigenvalues=ev, memory_fixed_point=(h_star - mean) @ pcs.T)
    return {**numbers, **arrays}


def learning(model, snapshots, losses, resolution):
    """The forecast of each snapshot {iteration: weights}, from the same clean seed as the
    final evaluation, its RMSE, and the training loss around its iteration (the mean of
    the 100 losses before it; the first loss for iteration 0). Arrays for the npz."""
    fx, seed, truth = forecast_cosine(resolution)
    iters = sorted(snapshots)
    forecasts = np.array([model.forecast(snapshots[n], seed, len(truth)) for n in iters])
    loss = np.array([losses[max(0, n - 100):n].mean() if n else losses[0] for n in iters])
    return dict(snap_forecast=forecasts,
                snap_forecast_rmse=np.sqrt(np.mean((forecasts - truth) ** 2, axis=1)),
                snap_loss=loss)


def loss_by_position(model, params, data, steps, windows=200):
    """The one-step MSE at each step of a training-sized window, from h = 0, over
    `windows` windows of the (noisy) training data at evenly spread places: (steps,).
    The first steps pay for starting from zeros; the later ones approach the noise."""
    starts = np.linspace(0, data.num_points - steps - 1, windows).astype(int)
    errors = np.empty((windows, steps))
    for i, s in enumerate(starts):
        inputs, targets = data.batch_at(s, steps)
        errors[i] = model.predict(params, inputs) - targets
    return np.mean(errors ** 2, axis=0)


def vanishing(model, params, resolution, back=100):
    """How fast the gradient fades going back in time: ||dL/dh_{T-k}|| / ||dL/dh_T|| for
    k = 0..back, L the loss of the last step of a clean cosine of back + 1 steps
    (hidden_gradients). Shape (back + 1,)."""
    y = np.cos(np.arange(back + 2) * resolution)
    norms = np.linalg.norm(hidden_gradients(model, params, y[:-1], y[-1]), axis=1)
    return norms / norms[0]


def state_reach(model, params, inputs, ks):
    """How far back the state reaches: ||dh_T/dh_{T-k}||_F / sqrt(H) for each k of ks
    (k < T), after running over inputs (T,) from the zero state: 1 for k = 0, and for an
    orthogonal linear step 1 at every k. The Jacobian's rows from the cell's own backward
    pass given e_i at h_T (the LSTM and the GRU, the path through C included), or, for a
    plain RNN, the product of the steps' Jacobians diag(f'(a_t)) Whh, f' the tanh's
    1 - h^2 (or the cell's derivative(h): the ReLU's). Shape (len(ks),)."""
    x, H = np.asarray(inputs, dtype=float), params["Why"].shape[1]
    hs, *cache, ys = model.forward(params, x, model.init_state(H))
    T = len(x)
    if hasattr(model, "backward"):                           # a gated cell
        J = np.empty((H, T, H))
        for i in range(H):
            dh_y = np.zeros((T, H))
            dh_y[-1, i] = 1.0                                # L = h_T[i]
            J[i] = model.backward(params, x, hs, *cache, dh_y)[1]   # row t-1: dh_T[i]/dh_t
        norms = np.sqrt(np.sum(J ** 2, axis=(0, 2)))[::-1]   # k = T - t
    else:                                                    # h_t = f(Wxh x_t + Whh h_{t-1} + bh)
        slope = getattr(model, "derivative", lambda h: 1.0 - h ** 2)
        norms, M = np.empty(T), np.eye(H)
        for k, t in enumerate(range(T, 0, -1)):
            norms[k] = np.linalg.norm(M)                     # ||dh_T/dh_t||_F
            M = (M * slope(hs[t])) @ params["Whh"]           # dh_T/dh_{t-1}
    return norms[np.asarray(ks)] / np.sqrt(H)


def hidden_gradients(model, params, inputs, target):
    """dL/dh_{T-k} for k = 0..T-1, as the rows of a (T, H) array, where L = (y_T -
    target)^2 is the loss of the last step alone, after running over inputs (T,) from
    the zero state.

    For the plain RNN each step back multiplies the gradient by Whh^T diag(1 - h_t^2):
    unless Whh is large enough to make up for the tanh's slope, which is at most 1, the
    product shrinks geometrically. That is the vanishing gradient. A gated cell's is
    its own backward pass (lstm_cos.backward, gru_cos.backward) given the last step's
    gradient alone; a cell with a hidden_gradients of its own (lab/relu_rnn.py) uses it."""
    if hasattr(model, "hidden_gradients"):
        return model.hidden_gradients(params, inputs, target)
    x, H = np.asarray(inputs, dtype=float), params["Why"].shape[1]
    hs, *cache, ys = model.forward(params, x, model.init_state(H))
    dh = 2.0 * (ys[-1] - target) * params["Why"][0]          # dL/dh_T
    if "Whh" in params:                                      # the plain RNN
        dhs = np.empty((len(x), H))
        for k, t in enumerate(range(len(x), 0, -1)):
            dhs[k] = dh                                      # dL/dh_t, t = T - k
            dh = params["Whh"].T.dot((1.0 - hs[t] ** 2) * dh)    # dL/dh_{t-1}
        return dhs
    dh_y = np.zeros((len(x), H))
    dh_y[-1] = dh                                            # only the last step's loss
    _, dhs = model.backward(params, x, hs, *cache, dh_y)     # row t-1: dL/dh_t
    return dhs[::-1].copy()
