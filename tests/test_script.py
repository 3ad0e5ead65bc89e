"""The scripts' new-user paths: --hprev end to end, a machine without matplotlib, runs
too big for memory, --help, and the modules' import graph."""
import ast
import json
import re
import os
import subprocess
import sys

import numpy as np
import pytest

import gru_cos
import lstm_cos
import rnn_cos
from conftest import ROOT
from data import CosineData
from test_training import literal_loop


def run(script, *args, env=None, cwd=None):
    return subprocess.run([sys.executable, os.path.join(ROOT, script), *args],
                          capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


def one_line(p):
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "Traceback" not in p.stderr
    return lines[0]


@pytest.mark.parametrize("mode", ["reset", "carry", "sequential"])
def test_hprev_option_trains_as_the_literal_loop_and_is_saved(tmp_path, mode):
    out = tmp_path / mode
    p = run("rnn_cos.py", "--iters", "120", "--hidden", "5", "--points", "100",
            "--steps", "9", "--seed", "4", "--hprev", mode, "--no-plot", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert f"hprev {mode}" in p.stdout.splitlines()[0]
    # what the script must have done, rebuilt from its seed with the literal loop
    data_seed, init_seed = np.random.SeedSequence(4).spawn(2)
    data = CosineData(100, 0.0, 0.5 * 99, noise=0.05, seed=data_seed)
    params = rnn_cos.init_params(5, np.random.default_rng(init_seed))
    losses, _ = literal_loop(params, data, 120, 9, 0.01, mode, anneal=0.1)   # the defaults
    with np.load(out / "rnn_cos.npz", allow_pickle=False) as f:
        assert str(f["hprev"]) == mode
        np.testing.assert_allclose(f["loss"], losses, rtol=1e-10)
        for k in rnn_cos.PARAM_NAMES:
            np.testing.assert_allclose(f[k], params[k], rtol=1e-10, atol=1e-13)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["hprev"] == mode


@pytest.mark.parametrize("args", [["--hprev", "keep"], ["--carry-hprev"]])
def test_bad_hprev(tmp_path, args):
    p = run("rnn_cos.py", *args, "--out", str(tmp_path / "never"))
    assert p.returncode == 2 and ("--hprev" in one_line(p) or "unrecognized" in one_line(p))
    assert not (tmp_path / "never").exists()


@pytest.fixture
def no_matplotlib(tmp_path):
    """An environment in which `import matplotlib` fails as on a machine without it."""
    stub = tmp_path / "stub" / "matplotlib"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'matplotlib'\", name='matplotlib')\n")
    env = dict(os.environ, PYTHONPATH=str(stub.parent))
    check = subprocess.run([sys.executable, "-c", "import matplotlib"], env=env,
                           capture_output=True, text=True)
    assert check.returncode == 1 and "No module named 'matplotlib'" in check.stderr
    return env


@pytest.mark.parametrize("script", ["rnn_cos.py", "lstm_cos.py", "gru_cos.py"])
def test_without_matplotlib_the_run_is_refused_before_training(tmp_path, no_matplotlib,
                                                               script):
    out = tmp_path / "never"
    p = run(script, "--iters", "100000000", "--out", str(out), env=no_matplotlib)
    assert p.returncode == 2
    line = one_line(p)
    assert line.startswith(f"{script}: error: ")
    assert "matplotlib" in line and "pip install" in line and "--no-plot" in line
    assert p.stdout == "" and not out.exists()


def test_without_matplotlib_no_plot_still_works(tmp_path, no_matplotlib):
    out = tmp_path / "o"
    p = run("rnn_cos.py", "--iters", "50", "--hidden", "4", "--no-plot", "--out", str(out),
            env=no_matplotlib)
    assert p.returncode == 0, p.stderr
    assert sorted(os.listdir(out)) == ["metrics.json", "rnn_cos.npz"]


def test_without_matplotlib_plot_results_says_so(tmp_path, no_matplotlib):
    p = run("plot_results.py", "--results", str(tmp_path / "x.npz"), env=no_matplotlib)
    assert p.returncode == 2
    line = one_line(p)
    assert "matplotlib" in line and "pip install" in line


@pytest.mark.parametrize("args, option", [
    (["--hidden", "100000"], "--hidden"),
    (["--iters", "100000000000"], "--iters"),
    (["--points", "2000000000"], "--points"),
    (["--points", "300000000", "--steps", "299999999"], "--steps"),
    (["--resolution", "0.0000001"], "--resolution"),
])
@pytest.mark.parametrize("script", ["rnn_cos.py", "lstm_cos.py"])
def test_runs_too_big_for_memory_are_refused_up_front(tmp_path, args, option, script):
    out = tmp_path / "never"
    p = run(script, *args, "--no-plot", "--out", str(out))
    assert p.returncode == 2
    line = one_line(p)
    assert f"argument {option}:" in line and "memory" in line, line
    assert "available" in line
    assert p.stdout == "" and not out.exists()


def test_memory_estimate_grows_with_each_option():
    import plumbing
    args = plumbing.parse_args(rnn_cos, ["--no-plot"])
    base = plumbing.memory_needed(rnn_cos, args)
    for option, value in (("hidden", 64), ("steps", 40), ("iters", 200_000),
                          ("points", 2000), ("resolution", 0.25)):
        bigger = plumbing.memory_needed(rnn_cos, plumbing.parse_args(
            rnn_cos, ["--no-plot", f"--{option}", str(value)]))
        assert bigger[f"--{option}"] > base[f"--{option}"], option
    # the default run fits in a few megabytes
    assert sum(base.values()) < 50e6


@pytest.mark.parametrize("model", [rnn_cos, lstm_cos, gru_cos])
@pytest.mark.parametrize("H", [1, 3, 10])
def test_param_count_is_what_init_params_makes(model, H):
    params = model.init_params(H, np.random.default_rng(0))
    assert model.param_count(H) == sum(v.size for v in params.values())


@pytest.mark.parametrize("model", [rnn_cos, lstm_cos, gru_cos])
def test_help_shows_each_default_once(model):
    p = run(f"{model.NAME}.py", "--help")
    assert p.returncode == 0
    # the help of each option, from its name to the next option
    blocks = re.split(r"\n  (?=-)", p.stdout.split("options:", 1)[1])
    helps = {b.split()[0].rstrip(","): " ".join(b.split()) for b in blocks if b.strip()}
    for option, default in model.DEFAULTS.items():
        text = helps["--" + option]
        assert text.count(f"(default: {default})") == 1, (option, text)
    shown = [o for o, text in helps.items() if "(default:" in text]
    assert sorted(shown) == sorted("--" + o for o in model.DEFAULTS)
    for o, text in helps.items():
        assert text.count("default") <= 1, (o, text)
        assert "(default: None)" not in text and "(default: False)" not in text


def project_imports():
    """{module: the project's modules it imports}, read from the source (nested imports
    included)."""
    modules = {f[:-3] for f in os.listdir(ROOT) if f.endswith(".py")}
    graph = {}
    for m in modules:
        tree = ast.parse(open(os.path.join(ROOT, m + ".py"), encoding="utf-8").read())
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        graph[m] = (names & modules) - {m}
    return graph


def test_no_import_cycles():
    graph = project_imports()
    assert {"rnn_cos", "plumbing", "data", "plot_results"} <= set(graph)
    state = {}

    def visit(m, path):
        if state.get(m) == "done":
            return
        assert state.get(m) != "open", " -> ".join(path + [m])
        state[m] = "open"
        for n in sorted(graph[m]):
            visit(n, path + [m])
        state[m] = "done"

    for m in sorted(graph):
        visit(m, [])
    # the plumbing serves the method and never the other way round
    assert "rnn_cos" not in graph["plumbing"] and "plot_results" not in graph["plumbing"]


def test_the_training_loop_lives_in_rnn_cos_only():
    loops = []
    for f in os.listdir(ROOT):
        if f.endswith(".py"):
            text = open(os.path.join(ROOT, f), encoding="utf-8").read()
            if "lossFun(" in text and "next_batch(" in text:
                loops.append(f)
    assert loops == ["rnn_cos.py"]


def test_every_link_and_image_of_the_pages_resolves():
    pages = [os.path.join(ROOT, "README.md")] + [
        os.path.join(ROOT, "docs", f) for f in os.listdir(os.path.join(ROOT, "docs"))
        if f.endswith(".md")]
    checked = 0
    for page in pages:
        text = open(page, encoding="utf-8").read()
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://", "#")):
                continue
            path = os.path.normpath(os.path.join(os.path.dirname(page), target.split("#")[0]))
            assert os.path.exists(path), f"{os.path.relpath(page, ROOT)} links to {target}"
            checked += 1
    assert checked > 20
    assert len(open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()) <= 12_000
