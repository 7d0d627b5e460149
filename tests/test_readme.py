"""The README's two set-up commands are the ones CI runs."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Get started", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_readme_has_exactly_two_setup_commands():
    install, test = _readme_commands()
    # The main job needs no torch and no test tools: a light first install.
    assert install == "python -m pip install -e . && python -m sknoisy.demo"
    assert test.startswith('python -m pip install "torch==2.13.0" ')
    assert test.endswith(" && python -m pytest")


def test_ci_runs_the_readme_test_command_exactly():
    _, test = _readme_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    commands = [line for line in ci if line and not line.startswith("#")]
    assert [line for line in commands if "pip install" in line] == [
        f"{test} || status=$?"
    ]


def test_demo_runs_and_prints_a_table(capsys):
    from sknoisy import demo

    rows = demo.run(noise_rates=(0.3,), data_home="/nonexistent")
    out = capsys.readouterr().out
    assert "plain SoftmaxRegression" in out and "RDIARelabeler" in out
    assert {row["dataset"] for row in rows} == {"breast_cancer", "digits"}
    assert {row["method"] for row in rows} == set(demo.METHODS)
    for row in rows:
        assert abs(row["actual_noise"] - 0.3) < 0.01
        assert 0.5 < row["accuracy"] <= 1.0
        assert 0.0 < row["log_loss"] < 2.0

    # A legend under the table explains every column ...
    table, legend = out.split("\nColumns:\n")
    header = table.splitlines()[0]
    for column in ("dataset", "noise", "wrong", "method", "test acc", "log-loss"):
        assert column in header
        assert f"\n  {column} " in "\n" + legend
    assert "\n  seconds " in legend and "\n  (fell back) " in legend
    # ... and says which methods were told which rows are clean: exactly the
    # sknoisy estimators, never the plain baselines.
    flat = " ".join(legend.split())
    told = flat.split("Told which rows are clean")[1].split(". ")[0]
    for method, (_, extra) in demo.METHODS.items():
        assert (method in told) == ("trusted" in extra), method
    assert "RobustActiveLabelCorrector also asks a simulated annotator" in flat
    # Without the WRENCH files, a note says the set was skipped and how to
    # add it.
    assert "youtube (WRENCH) skipped: its files are not in /nonexistent." in flat
    assert "set SKNOISY_DATA (or pass --data-home)" in flat
    assert "load_wrench('youtube')" in flat


def test_readme_python_examples_run(capsys):
    text = (ROOT / "README.md").read_text()
    namespace = {}
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        exec(compile(block, "README.md", "exec"), namespace)
    printed = capsys.readouterr().out.split()
    assert float(printed[0]) == pytest.approx(0.4, abs=1e-3)
    # RDIA leaves fewer wrong labels than the 40 % it was given.
    assert float(printed[3]) < 0.4
