"""The scripts' new-user paths: --hprev end to end, a machine without matplotlib, runs
too big for memory, --help, and the modules' import graph."""
import ast
import json
import re
import os
import runpy
import subprocess
import sys

import numpy as np
import pytest

import gru_cos
import lstm_cos
import rnn_cos
from conftest import ROOT, command
from data import CosineData
from test_training import literal_loop


def run(script, *args, env=None, cwd=None):
    return subprocess.run([*command(script), *args],
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
    # and plot_results, asked to draw them, says what is missing
    p = run("plot_results.py", "--results", str(out / "rnn_cos.npz"), env=no_matplotlib)
    assert p.returncode == 2
    line = one_line(p)
    assert "matplotlib" in line and "pip install" in line
    assert sorted(os.listdir(out)) == ["metrics.json", "rnn_cos.npz"]


def test_without_matplotlib_plot_results_says_so(tmp_path, no_matplotlib):
    p = run("plot_results.py", "--results", str(tmp_path / "x.npz"), env=no_matplotlib)
    assert p.returncode == 2 and "no such file" in one_line(p)  # the file is checked first


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
    from lab import limits, plumbing
    args = plumbing.parse_args(rnn_cos, ["--no-plot"])
    base = limits.memory_needed(rnn_cos, args)
    for option, value in (("hidden", 64), ("steps", 40), ("iters", 200_000),
                          ("points", 2000), ("resolution", 0.25)):
        bigger = limits.memory_needed(rnn_cos, plumbing.parse_args(
            rnn_cos, ["--no-plot", f"--{option}", str(value)]))
        assert bigger[f"--{option}"] > base[f"--{option}"], option
    # the default run fits in a few megabytes
    assert sum(base.values()) < 50e6


@pytest.mark.parametrize("model", [rnn_cos, lstm_cos, gru_cos])
@pytest.mark.parametrize("H", [1, 3, 10, 57])
def test_param_count_is_what_init_params_makes(model, H):
    from lab import limits
    params = model.init_params(H, np.random.default_rng(0))
    assert limits.param_count(model, H) == sum(v.size for v in params.values())
    # by hand, from the shapes in each cell's docstring
    by_hand = {"rnn_cos": H + H * H + H + H + 1, "lstm_cos": 4 * H * (H + 1) + 4 * H + H + 1,
               "gru_cos": 3 * H * (H + 1) + 3 * H + H + 1}
    assert limits.param_count(model, H) == by_hand[model.NAME]


@pytest.mark.parametrize("model", [rnn_cos, lstm_cos, gru_cos])
def test_help_shows_each_default_once(model):
    p = run(f"{model.NAME}.py", "--help")
    assert p.returncode == 0
    description = " ".join(p.stdout.split("\n\n")[1].split())     # a whole sentence
    assert description.endswith(".") and not description.endswith(":"), description
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


def project_modules():
    """{module name: its file}: the top level's modules ('rnn_cos') and the lab's
    ('lab.series', and 'lab' for its __init__.py)."""
    files = {f[:-3]: os.path.join(ROOT, f) for f in os.listdir(ROOT) if f.endswith(".py")}
    for f in os.listdir(os.path.join(ROOT, "lab")):
        if f.endswith(".py"):
            name = "lab" if f == "__init__.py" else f"lab.{f[:-3]}"
            files[name] = os.path.join(ROOT, "lab", f)
    return files


def project_imports():
    """{module: the project's modules it imports}, read from the source (nested imports
    included): `from lab import series` and `from lab.series import x` name lab.series."""
    files = project_modules()
    graph = {}
    for m, path in files.items():
        tree = ast.parse(open(path, encoding="utf-8").read())
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = {f"{node.module}.{a.name}" for a in node.names} & set(files)
                names |= subs or {node.module}
        graph[m] = (names & set(files)) - {m}
    return graph


def test_no_import_cycles():
    graph = project_imports()
    assert {"rnn_cos", "lab.plumbing", "lab.series", "lab.sweep", "data",
            "plot_results"} <= set(graph)
    assert "lab.plumbing" in graph["rnn_cos"] and "rnn_cos" in graph["lab.series"]
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
    assert "rnn_cos" not in graph["lab.plumbing"] and "plot_results" not in graph["lab.plumbing"]
    # the tutorial's files need nothing of the lab but its plumbing, window models and
    # analysis; the article's program in one file needs nothing of the project at all
    for m in ("rnn_cos", "lstm_cos", "gru_cos", "data", "plot_results"):
        assert {n for n in graph[m] if n.startswith("lab")} <= {
            "lab.plumbing", "lab.linear", "lab.analysis", "lab.poly"}, (m, graph[m])
    assert graph["rnn_cos_minimal"] == set()


def test_the_training_loop_lives_in_rnn_cos_only():
    # and in the article's program in one file, which has its own: a file that takes
    # windows, runs lossFun and makes Adagrad's update (data classes and a wrapper of
    # lossFun, lab/tasks.py, do the first two but train nothing)
    loops = []
    for m, path in project_modules().items():
        text = open(path, encoding="utf-8").read()
        if "lossFun(" in text and "next_batch(" in text and "np.sqrt(mem" in text:
            loops.append(m)
    assert sorted(loops) == ["rnn_cos", "rnn_cos_minimal"]


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


PLACEHOLDER = re.compile(r"\b[A-Z][A-Z0-9]*\b|\[|\.\.\.|\|")   # FILE, CELL, [--x], ..., a|b


def has_placeholder(text):
    return PLACEHOLDER.search(text) is not None


def page_commands():
    """Every `python ...` command of the README, lab/README.md, datasets/README.md and
    docs/: the lines of the code blocks (a `\\` continues a line, `&&` joins two, `#`
    starts a comment) and the inline code that starts with `python `."""
    pages = ["README.md", os.path.join("lab", "README.md"), os.path.join("datasets", "README.md")]
    pages += [os.path.join("docs", f) for f in sorted(os.listdir(os.path.join(ROOT, "docs")))
              if f.endswith(".md")]
    found = []
    for page in pages:
        text = open(os.path.join(ROOT, page), encoding="utf-8").read()
        blocks = re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
        for block in blocks:
            for line in block.replace("\\\n", " ").splitlines():
                for part in line.split("&&"):
                    part = part.split(" #")[0].strip()
                    if part.startswith("python ") and ": error:" not in part:  # not a message
                        found.append((page, part))
        inline = re.sub(r"```.*?```", "", text, flags=re.S)
        found += [(page, c) for c in re.findall(r"`(python [^`]+)`", inline)]
    return found


def run_with_help(words, capsys, monkeypatch):
    """Run `python WORDS --help` in this process, from the repository's root, as Python
    would run it: a module with -m (runpy.run_module), a file by its path. Returns its
    exit status and what it printed."""
    argv = [*words, "--help"]
    monkeypatch.chdir(ROOT)
    capsys.readouterr()
    try:
        if words[0] == "-m":
            monkeypatch.setattr(sys, "argv", [words[1], *argv[2:]])
            monkeypatch.delitem(sys.modules, words[1], raising=False)   # run afresh
            runpy.run_module(words[1], run_name="__main__", alter_sys=True)
        else:
            monkeypatch.setattr(sys, "argv", argv)
            runpy.run_path(os.path.join(ROOT, words[0]), run_name="__main__")
        status = 0
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    out = capsys.readouterr()
    return status, out.out + out.err


def test_every_command_of_the_pages_runs_with_help(capsys, monkeypatch):
    # each command as written, with --help added (argparse still checks the values
    # given before it); one that shows a placeholder (FILE, [--option], ...) is checked
    # for its script or module alone. In this process, to keep the suite short; the
    # lab's commands run as a process from the root in the test below.
    found = page_commands()
    readme = [c for page, c in found if page == "README.md"]
    assert "python rnn_cos_minimal.py" in readme and "python rnn_cos.py" in readme
    assert any(c.startswith("python -m lab.") for c in readme)
    commands = {}
    for page, c in found:
        words = c.split()[1:]
        if has_placeholder(c):
            words = words[:2] if words[0] == "-m" else words[:1]
        if not has_placeholder(" ".join(words)):                  # not `python -m lab.NAME`
            commands.setdefault(tuple(words), page)
    assert len(commands) > 25
    for words, page in commands.items():
        if words[:2] == ("-m", "pytest"):
            continue                                  # not the suite inside itself
        with monkeypatch.context() as m:
            status, printed = run_with_help(list(words), capsys, m)
        assert status == 0, (page, " ".join(words), printed)
        assert "usage" in printed.lower(), (page, " ".join(words), printed)


def test_the_lab_commands_run_from_the_root_as_processes():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for module in ("lab.series", "lab.sweep", "lab.compare_cells", "lab.memory_span"):
        p = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and p.stdout.startswith(f"usage: python -m {module}"), p.stderr


def test_the_article_program_runs_alone_and_draws_its_figure(tmp_path):
    # a copy of the file alone in an empty folder: it needs nothing of the project
    (tmp_path / "rnn_cos_minimal.py").write_bytes(
        open(os.path.join(ROOT, "rnn_cos_minimal.py"), "rb").read())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    p = subprocess.run([sys.executable, "rnn_cos_minimal.py", "200"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "iter 0, loss" in p.stdout and "one-step test MSE on the clean cosine" in p.stdout
    with open(tmp_path / "rnn_cos_minimal.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    bad = subprocess.run([sys.executable, "rnn_cos_minimal.py", "many"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "usage" in bad.stderr
