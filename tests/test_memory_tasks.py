"""The latch, the recall and the capacity bound (lab/tasks.py, lab/memory_span.py,
lab/relu_rnn.py): the data's alignment and masks by hand, the masked loss against a
literal one, the ReLU cell against finite differences, networks built by hand whose
answers are known, and the bound a state of N numbers puts on the echo."""
import numpy as np
import pytest

import gru_cos
import lstm_cos
import rnn_cos
from gradcheck import numerical_gradient
from lab import memory_span, relu_rnn
from lab.cells import batched_step
from lab.tasks import AskedOnly, LatchData, RecallData, init


# ---------------------------------------------------------------------------------------
# the data
def test_latch_sequences_by_hand():
    data = LatchData(4, seed=0)
    inputs, targets = data.next_batch(5)
    assert inputs.shape == targets.shape == (5,)
    assert -1 <= inputs[0] <= 1 and np.all(inputs[1:] == 0)        # the fact, then zeros
    assert np.all(np.isnan(targets[:-1])) and targets[-1] == inputs[0]   # asked at the end
    noisy = LatchData(300, noise=True, seed=1)
    inputs, targets = noisy.sequences(400)
    np.testing.assert_array_equal(targets[:, -1], inputs[:, 0])
    assert np.std(inputs[:, 1:]) == pytest.approx(LatchData.NOISE, rel=0.02)
    with pytest.raises(ValueError, match="gap \\+ 1 = 5"):
        data.next_batch(4)
    with pytest.raises(ValueError, match="gap"):
        LatchData(0)


def test_recall_stream_by_hand():
    d = RecallData(2000, 40, seed=3)
    x, target, since = d.y_data, d.targets, d.since
    markers = np.flatnonzero(x > 1)                                 # out of the noise's range
    gaps = np.diff(markers)
    assert len(markers) > 30 and gaps.min() >= 40 // 4 + 1 and gaps.max() <= 40
    assert np.all(np.isnan(target[:markers[0]]))                    # nothing asked before
    for k, m in enumerate(markers[:-1]):
        span = slice(m, markers[k + 1])                             # until the next marker
        np.testing.assert_allclose(target[span], x[m] - RecallData.MARKER, atol=1e-15)  # its value
        assert np.all(target[span] == target[m])
        np.testing.assert_array_equal(since[span], np.arange(gaps[k]))
        assert np.all(d.interval[span] == k)
    assert np.all(np.abs(x[markers] - RecallData.MARKER) <= 0.5)
    assert np.all(np.abs(np.delete(x, markers)) <= RecallData.NOISE)   # the rest is noise
    inputs, targets = d.batch_at(100, 7)
    np.testing.assert_array_equal(inputs, x[100:107])
    np.testing.assert_array_equal(targets, target[100:107])


# ---------------------------------------------------------------------------------------
# the masked loss and the ReLU cell
def literal_masked_loss(model, params, inputs, targets, state):
    """The mean of (y_t - target_t)^2 over the steps asked, from the forward pass."""
    ys = model.forward(params, inputs, state)[-1]
    asked = np.isfinite(targets)
    return float(np.mean((ys[asked] - targets[asked]) ** 2))


@pytest.mark.parametrize("model", [rnn_cos, lstm_cos, gru_cos, relu_rnn])
def test_asked_only_is_the_masked_loss_and_its_gradient(model):
    rng = np.random.default_rng(0)
    params = init(model, 5, rng, "identity" if model in (rnn_cos, relu_rnn) else "default")
    for p in params.values():
        p += rng.normal(scale=0.1, size=p.shape)
    inputs = rng.uniform(-1, 1, 9)
    targets = np.full(9, np.nan)
    targets[[3, 8]] = 0.4, -0.7
    state = model.init_state(5)
    masked = AskedOnly(model)
    loss, grads, _ = masked.lossFun(params, inputs, targets, state)
    assert loss == pytest.approx(literal_masked_loss(model, params, inputs, targets, state),
                                 rel=1e-12)
    # the gradients are those of the masked loss, up to its constant 2 / 9 for 1 / 2
    f = lambda: literal_masked_loss(model, params, inputs, targets, state) * 2 / 9  # noqa: E731
    for name, p in params.items():
        for index in list(np.ndindex(p.shape))[:12]:
            assert grads[name][index] == pytest.approx(numerical_gradient(f, p, index),
                                                       rel=1e-5, abs=1e-9), name


def test_relu_rnn_gradients_and_step_against_references():
    rng = np.random.default_rng(1)
    params = init(relu_rnn, 6, rng, "identity")
    params["Wxh"][:] = rng.normal(scale=0.3, size=(6, 1))
    params["Whh"] += rng.normal(scale=0.05, size=(6, 6))
    params["Why"][:] = rng.normal(size=(1, 6))
    params["bh"][:] = np.array([[0.6], [0.6], [0.6], [-2.0], [-2.0], [0.6]])  # 2 units off
    inputs, targets = rng.uniform(-1, 1, 8), rng.uniform(-1, 1, 8)
    # the finite differences step 2e-3 each side: no pre-activation may be near the kink
    hs, _ = relu_rnn.forward(params, inputs, relu_rnn.init_state(6))
    pre = inputs[:, None] * params["Wxh"][:, 0] + hs[:-1] @ params["Whh"].T + params["bh"][:, 0]
    assert np.min(np.abs(pre)) > 0.05 and np.any(pre < 0) and np.any(pre > 0)
    h0 = relu_rnn.init_state(6)
    _, grads, _ = relu_rnn.lossFun(params, inputs, targets, h0)
    f = lambda: relu_rnn.lossFun(params, inputs, targets, h0)[0]  # noqa: E731
    for name, p in params.items():               # the units that are off: exactly 0
        numeric = np.array([numerical_gradient(f, p, i) for i in np.ndindex(p.shape)])
        np.testing.assert_allclose(grads[name].ravel(), numeric, rtol=1e-6, atol=1e-11,
                                   err_msg=name)
    assert np.all(grads["Wxh"][3:5] == 0) and np.any(grads["Wxh"] != 0)
    # the forward pass against a literal loop, and the batched step against it
    h, ys = np.zeros(6), []
    for x in inputs:
        h = np.maximum(0, params["Wxh"][:, 0] * x + params["Whh"] @ h + params["bh"][:, 0])
        ys.append(params["Why"][0] @ h + params["by"][0, 0])
    np.testing.assert_allclose(relu_rnn.predict(params, inputs), ys, rtol=1e-12)
    out = memory_span.last_outputs(relu_rnn, params, inputs[None, :])
    assert out[0] == pytest.approx(ys[-1], rel=1e-12)
    assert batched_step(relu_rnn) is relu_rnn.step


def test_the_initialisations():
    rng = np.random.default_rng(0)
    assert np.array_equal(init(rnn_cos, 4, rng, "identity")["Whh"], np.eye(4))
    assert np.all(init(lstm_cos, 4, rng, "bias6")["bf"] == 6.0)
    assert np.all(init(lstm_cos, 4, rng)["bf"] == 1.0)            # the LSTM's own default
    with pytest.raises(ValueError, match="unknown"):
        init(rnn_cos, 4, rng, "xavier")


# ---------------------------------------------------------------------------------------
# scores against answers known by hand
class Constant:
    """A 'network' whose output is always c (for last_outputs: a one-unit linear cell)."""


def zero_net(model, H=3):
    params = model.init_params(H, np.random.default_rng(0))
    params["Why"][:] = 0.0
    params["by"][:] = 0.0
    return params


def test_a_network_that_answers_the_mean_scores_one_on_the_latch():
    data = LatchData(10, seed=0)
    score = memory_span.latch_error(rnn_cos, zero_net(rnn_cos), data, 4000)
    assert score == pytest.approx(1.0, abs=0.07)   # mean(v^2)/var(v), v uniform: 1 + mean^2/var


def test_a_latch_built_by_hand_solves_it():
    # two ReLU units hold v+ and v- unchanged (Whh = I); the output reads v+ - v-
    eps, T = 1e-3, 200
    params = dict(Wxh=np.array([[eps], [-eps]]), Whh=np.eye(2), Why=np.array([[1 / eps, -1 / eps]]),
                  bh=np.zeros((2, 1)), by=np.zeros((1, 1)))
    assert memory_span.latch_error(relu_rnn, params, LatchData(T, seed=0), 500) < 1e-20
    # a tanh unit with Whh = 1 forgets a little each step (tanh(a) < a): at a small
    # scale eps, tanh(a) = a - a^3/3, and after T steps the error is tiny but not zero
    params = dict(Wxh=np.array([[eps]]), Whh=np.eye(1), Why=np.array([[1 / eps]]),
                  bh=np.zeros((1, 1)), by=np.zeros((1, 1)))
    score = memory_span.latch_error(rnn_cos, params, LatchData(T, seed=0), 500)
    assert 0 < score < 1e-8
    # and a network that does not hold it (Whh = 0) remembers nothing
    params["Whh"][:] = 0
    assert memory_span.latch_error(rnn_cos, params, LatchData(T, seed=0), 500) > 0.9


def test_recall_scores_of_the_truth_and_of_the_mean():
    d = RecallData(20_000, 200, seed=0)
    total, bins, far = memory_span.recall_scores(np.nan_to_num(d.targets), d)
    assert total == 0 and bins == [0.0] * len(memory_span.BINS) and max(far) == 0
    total, bins, _ = memory_span.recall_scores(np.zeros(d.num_points), d)
    assert total == pytest.approx(1.0, abs=0.25)     # some 150 values: their own mean^2


def test_a_window_model_answers_what_lies_in_its_window():
    # a window of 3 inputs, degree 1, on a target that is a linear function of them
    x = np.arange(10.0)
    X = memory_span.window_features(x, 3, 1)
    np.testing.assert_array_equal(X[0], [1, 2, 1, 0])                # 1, x_t, x_t-1, x_t-2
    assert X.shape == (8, 4)
    X2 = memory_span.window_features(x, 2, 2)
    np.testing.assert_array_equal(X2[0], [1, 1, 0, 1, 0, 0])         # 1, a, b, a^2, ab, b^2


def test_the_recall_defeats_a_window_beyond_its_reach():
    # the best least-squares window of 5 inputs, degree 2, scores about 1 where the
    # marker is more than 5 steps back: nothing in its window tells the value
    train, val, test = (RecallData(n, 200, seed=s) for n, s in ((20_100, 0), (20_000, 1),
                                                                 (20_000, 2)))
    _, out = memory_span.window_model(train, val, test, "p5d2")
    _, bins, _ = memory_span.recall_scores(out, test)
    assert all(b > 0.85 for b in bins[1:])   # 10 steps and more since the value


# ---------------------------------------------------------------------------------------
# capacity: what a state of N numbers can hold
def best_linear_echo_error(W, w, d, K=600):
    """The smallest normalised error of echoing the input d steps back with a linear
    readout v of the linear network h_t = W h_{t-1} + w x_t, white-noise input: the
    output's weight on x_{t-k} is c_k = v W^k w, and the error is sum_k (c_k - [k = d])^2
    (over the input's variance); the least-squares v over k < K."""
    A = [w]
    for _ in range(K - 1):
        A.append(W @ A[-1])
    A = np.array(A)                                   # row k: W^k w
    target = np.zeros(K)
    target[d] = 1
    v, *_ = np.linalg.lstsq(A, target, rcond=None)
    return float(np.sum((A @ v - target) ** 2))


@pytest.mark.parametrize("N", [1, 4, 8])
def test_a_state_of_n_numbers_cannot_echo_further_than_n_minus_one(N):
    # the bound 1 - N / (d + 1): the state must hold the d + 1 inputs still to be
    # echoed, and a rank-N map of d + 1 independent values misses d + 1 - N of them
    rng = np.random.default_rng(N)
    shift = np.eye(N, k=-1)                           # a shift register: x_t .. x_t-N+1
    e0 = np.eye(N)[0]
    for d in range(N):                                # within the state: exact
        assert best_linear_echo_error(shift, e0, d) < 1e-20
    for d in range(N, 3 * N + 2):
        bound = 1 - N / (d + 1)
        assert best_linear_echo_error(shift, e0, d) >= bound - 1e-12
        for _ in range(5):                            # random stable networks too
            W = rng.normal(size=(N, N))
            W *= 0.95 / max(abs(np.linalg.eigvals(W)))
            assert best_linear_echo_error(W, rng.normal(size=N), d) >= bound - 1e-9
    # by hand, N = 1, d = 1: h_t = a h_{t-1} + x_t, y = v h, c_k = v a^k; the error
    # v^2 + (v a - 1)^2 + v^2 a^4 / (1 - a^2) is smallest at v = a (1 - a^2), where it
    # is 1 - a^2 (1 - a^2): at least 3/4 >= 1/2
    a = 0.6
    assert best_linear_echo_error(np.array([[a]]), np.array([1.0]), 1) == pytest.approx(
        1 - a * a * (1 - a * a), rel=1e-9)


# ---------------------------------------------------------------------------------------
# the state's reach, ||dh_T/dh_{T-k}||, against finite differences
@pytest.mark.parametrize("name", ["rnn_cos", "lstm_cos", "gru_cos", "relu_rnn"])
def test_the_state_reach_is_the_jacobian_by_finite_differences(name):
    from lab import analysis, relu_rnn
    import gru_cos
    import lstm_cos
    import rnn_cos
    model = {"rnn_cos": rnn_cos, "lstm_cos": lstm_cos, "gru_cos": gru_cos,
             "relu_rnn": relu_rnn}[name]
    rng = np.random.default_rng(3)
    H, T = 4, 9
    params = {k: rng.normal(0, 0.6, v.shape) for k, v in model.init_params(H, rng).items()}
    if name == "relu_rnn":
        params["bh"] = np.abs(params["bh"]) + 0.5          # units active: away from the kink
    x = rng.normal(0, 1, T)
    ks = [0, 1, 3, T - 1]
    got = analysis.state_reach(model, params, x, ks)
    zero = model.init_state(H)
    for k, g in zip(ks, got):
        # h_T as a function of h_{T-k} (and C_{T-k}, held): run the last k inputs again
        out = model.forward(params, x[:T - k], zero)
        h = out[0][-1][:, None].copy()
        c = out[1][-1][:, None].copy() if name == "lstm_cos" else None
        J = np.empty((H, H))
        for j in range(H):
            def h_T(i=None):
                state = (h, c) if c is not None else h
                return model.forward(params, x[T - k:], state)[0][-1] if k else h[:, 0].copy()
            for i in range(H):
                J[i, j] = numerical_gradient(lambda: h_T()[i], h, (j, 0))
        assert g == pytest.approx(np.linalg.norm(J) / np.sqrt(H), rel=1e-6), k


def test_the_state_reach_of_an_orthogonal_linear_step_is_one():
    # a plain RNN with a derivative of 1 everywhere (linear) and Whh orthogonal keeps
    # every direction's length: ||dh_T/dh_{T-k}||_F / sqrt(H) = 1 for every k
    from lab import analysis
    import rnn_cos
    from lab.tasks import init

    class Linear:
        forward, init_state = staticmethod(rnn_cos.forward), staticmethod(rnn_cos.init_state)

        @staticmethod
        def derivative(h):
            return np.ones_like(h)

    params = init(rnn_cos, 6, np.random.default_rng(0), "orthogonal")
    np.testing.assert_allclose(params["Whh"] @ params["Whh"].T, np.eye(6), atol=1e-12)
    reach = analysis.state_reach(Linear, params, np.zeros(30), [0, 1, 10, 29])
    np.testing.assert_allclose(reach, 1.0, rtol=1e-12)
