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
def test_hprev_option_trains_as_the_literal_loop_and_is_saved(tmp_path, capsys, mode):
    out = tmp_path / mode
    assert rnn_cos.main(["--iters", "120", "--hidden", "5", "--points", "100", "--steps",
                         "9", "--seed", "4", "--hprev", mode, "--no-plot", "--out",
                         str(out)]) == 0
    # what the script must have done, rebuilt from its seed with the literal loop
    data_seed, init_seed = np.random.SeedSequence(4).spawn(2)
    data = CosineData(100, 0.0, 0.5 * 99, noise=0.05, seed=data_seed)
    params = rnn_cos.init_params(5, np.random.default_rng(init_seed))
    losses, _ = literal_loop(params, data, 120, 9, 0.01, mode, anneal=0.1)   # the defaults
    with np.load(out / "rnn_cos.npz", allow_pickle=False) as f:
        assert str(f["hprev"]) == mode
        np.testing.assert_allclose(f["loss"], losses, rtol=1e-10)
        for k in params:
            np.testing.assert_allclose(f[k], params[k], rtol=1e-10, atol=1e-13)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["hprev"] == mode


@pytest.fixture
def no_matplotlib(tmp_path):
    """A Python with NumPy and no matplotlib: no site-packages (-S), NumPy alone put on
    its path. Returns the words that start it."""
    site = os.path.dirname(os.path.dirname(np.__file__))
    (tmp_path / "site").mkdir()
    for name in os.listdir(site):
        if name.split(".")[0] == "numpy" or name.startswith("numpy-"):
            (tmp_path / "site" / name).symlink_to(os.path.join(site, name))
    env = dict(os.environ, PYTHONPATH=f"{tmp_path / 'site'}{os.pathsep}{ROOT}")
    check = subprocess.run([sys.executable, "-S", "-c", "import numpy, matplotlib"], env=env,
                           capture_output=True, text=True)
    assert "No module named 'matplotlib'" in check.stderr, check.stderr
    return env


def test_without_matplotlib_a_run_with_figures_is_refused_before_training(tmp_path,
                                                                          no_matplotlib):
    # one process, with matplotlib hidden from it: the figures are asked for, so the run
    # is refused before any work; with --no-plot it runs, and plot_results says what is
    # missing
    out = tmp_path / "o"
    p = subprocess.run([sys.executable, "-S", os.path.join(ROOT, "rnn_cos.py"), "--iters",
                        "100000000", "--out", str(out)], env=no_matplotlib,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and p.stdout == "" and not out.exists()
    line = one_line(p)
    assert line.startswith("rnn_cos.py: error: ") and "pip install matplotlib" in line
    assert "--no-plot" in line


def test_the_matplotlib_check_is_the_import_machinery(monkeypatch, tmp_path):
    import importlib.util
    import plot_results
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else object())
    for script in (rnn_cos, lstm_cos, gru_cos):
        with pytest.raises(SystemExit, match="the figures need matplotlib"):
            script.main(["--iters", "100000000", "--out", str(tmp_path / "never")])
    assert not (tmp_path / "never").exists()
    with pytest.raises(SystemExit, match="the figures need matplotlib"):
        with plot_results.folder(str(tmp_path / "never"), "plot_results.py"):
            pass


def test_memory_estimate_grows_with_each_option():
    from lab import limits
    args = rnn_cos.parse_args(["--no-plot"])
    base = limits.memory_needed(rnn_cos, args)
    for option, value in (("hidden", 64), ("steps", 40), ("iters", 200_000),
                          ("points", 2000), ("resolution", 0.25)):
        bigger = limits.memory_needed(rnn_cos, rnn_cos.parse_args(
            ["--no-plot", f"--{option}", str(value)]))
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
    # the tutorial's own estimate counts at most 5 (H + 1)^2 weights, the LSTM's bound
    assert by_hand[model.NAME] <= 5 * (H + 1) ** 2


@pytest.mark.parametrize("model", [rnn_cos, lstm_cos, gru_cos])
def test_help_shows_each_default_once(model, capsys):
    with pytest.raises(SystemExit) as e:
        rnn_cos.parse_args(["--help"], model.DEFAULTS, f"{model.NAME}.py", model.__doc__)
    assert e.value.code == 0
    text = capsys.readouterr().out
    description = " ".join(text.split("\n\n")[1].split())            # a whole sentence
    assert description.endswith(".") and not description.endswith(":"), description
    blocks = re.split(r"\n  (?=-)", text.split("options:", 1)[1])
    helps = {b.split()[0].rstrip(","): " ".join(b.split()) for b in blocks if b.strip()}
    for option, default in model.DEFAULTS.items():
        assert helps["--" + option].count(f"(default: {default})") == 1, option
    for o, text in helps.items():
        assert text.count("default") <= 1, (o, text)
        assert "(default: None)" not in text, (o, text)


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


TUTORIAL = ("rnn_cos", "lstm_cos", "gru_cos", "data", "plot_results")


def test_no_import_cycles_and_the_tutorial_imports_nothing_of_the_lab():
    graph = project_imports()
    assert set(TUTORIAL) | {"lab.plumbing", "lab.series", "lab.sweep", "lab.inside"} <= set(graph)
    assert "rnn_cos" in graph["lab.series"] and "rnn_cos" in graph["lab.plumbing"]
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
    # the tutorial on top imports nothing below it; what python rnn_cos.py opens, by
    # the import graph, is rnn_cos.py, data.py and plot_results.py
    for m in TUTORIAL:
        assert not {n for n in graph[m] if n.startswith("lab")}, (m, graph[m])
    opened, todo = set(), ["rnn_cos"]
    while todo:
        m = todo.pop()
        if m not in opened:
            opened.add(m)
            todo += graph[m]
    assert opened == {"rnn_cos", "data", "plot_results"}
    # the cells train through rnn_cos's loop: they import it, and it imports none of them
    assert "rnn_cos" in graph["lstm_cos"] and "rnn_cos" in graph["gru_cos"]


def test_the_tutorial_files_keep_their_budgets():
    lines = {f: sum(1 for _ in open(os.path.join(ROOT, f + ".py"), encoding="utf-8"))
             for f in ("rnn_cos", "data", "plot_results")}
    assert lines["rnn_cos"] <= 320 and lines["data"] <= 90 and lines["plot_results"] <= 270
    assert sum(lines.values()) <= 680, lines


def test_the_training_loop_lives_in_rnn_cos_only():
    # a file that takes windows, runs lossFun and makes Adagrad's update (data classes
    # and a wrapper of lossFun, lab/tasks.py, do the first two but train nothing)
    loops = []
    for m, path in project_modules().items():
        text = open(path, encoding="utf-8").read()
        if "lossFun(" in text and "next_batch(" in text and "np.sqrt(mem" in text:
            loops.append(m)
    assert loops == ["rnn_cos"]


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
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    assert len(readme) <= 8_000
    for word in ("ARMA", "AIC", "NDEI", "ANFIS", "Diebold"):      # the learner's first screen
        assert word not in readme[:4000], word


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
    assert "python rnn_cos.py" in readme and "python plot_results.py" in readme
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
    # one process each: python -m lab.NAME from the root, as the pages give them
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    procs = {m: subprocess.Popen([sys.executable, "-m", m, "--help"], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for m in ("lab.series", "lab.sweep", "lab.compare_cells", "lab.memory_span",
                       "lab.article", "lab.inside", "lab.figures")}
    for module, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and out.startswith(f"usage: python -m {module}"), err
