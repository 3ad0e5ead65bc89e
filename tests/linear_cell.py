"""A recurrent cell built by hand for the tests of lab/series.py: linear, exact, and with
the interface lab/series.py uses (init_state, step, forward, predict, and weights Why, by)."""
import numpy as np


class LinearCell:
    """A cell built by hand, linear and exact, with the interface lab/series.py uses: its
    state is its last k inputs, h_t = (x_t, x_{t-1}, ..., x_{t-k+1}) (k the length of
    Why, zeros before the first), and its output y_t = Why h_t + by. Why = [1], by = 0
    repeats its input; Why = [0], by = c always says c."""

    @staticmethod
    def init_state(k):
        return np.zeros((k, 1))

    @staticmethod
    def step(params, x, h):                               # shift the new inputs in
        return np.column_stack([x, h[:, :-1]])

    @staticmethod
    def forward(params, z, state):                       # hs (T+1, k) from h_0, and ys (T,)
        hs = [state[:, 0]]
        for x in z:
            hs.append(LinearCell.step(params, np.array([x]), hs[-1][None, :])[0])
        hs = np.array(hs)
        return hs, hs[1:] @ params["Why"][0] + params["by"][0, 0]

    @staticmethod
    def predict(params, z):
        h, out = np.zeros((1, params["Why"].shape[1])), []
        for x in z:
            h = LinearCell.step(params, np.array([x]), h)
            out.append(h[0] @ params["Why"][0] + params["by"][0, 0])
        return np.array(out)


def linear_cell(*weights, bias=0.0):
    """The weights of a LinearCell: y_t = weights . (x_t, x_{t-1}, ...) + bias."""
    return dict(Why=np.array([weights], dtype=float), by=np.array([[bias]]))
