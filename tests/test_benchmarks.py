"""The benchmark suite's runner: discovery, selection, failures, quick outputs."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks import __main__ as suite  # noqa: E402


def test_list_names_every_script_and_the_grid():
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "list"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    scripts = {
        p.stem
        for p in (REPO_ROOT / "benchmarks").glob("*.py")
        if not p.name.startswith("_")
    }
    assert set(names) == scripts
    assert "grid" in names
    assert names[-1] == "grid"


def test_unknown_name_is_refused():
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "run", "no_such_benchmark"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "no_such_benchmark" in result.stderr
    assert "grid" in result.stderr


def test_quick_runs_never_target_the_full_results_file():
    for name in suite.discover():
        command = suite.command_for(name, quick=True)
        assert "--quick" in command
        if name in suite.QUICK_OUTPUT:
            output = command[command.index("--output") + 1]
            assert output.endswith(f"{name}_quick.md")
    assert "--quick" not in suite.command_for("grid", quick=False)


@pytest.fixture
def fake_suite(tmp_path, monkeypatch):
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    (folder / "bad.py").write_text(
        '"""Fails."""\nimport sys\nprint("bad output")\nsys.exit(3)\n'
    )
    (folder / "good.py").write_text(
        '"""Succeeds."""\nimport sys\nprint("good output", sys.argv[1:])\n'
    )
    monkeypatch.setattr(suite, "BENCHMARK_DIR", folder)
    monkeypatch.setattr(suite, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(suite, "RESULTS_DIR", folder / "results")
    monkeypatch.setattr(suite, "QUICK_OUTPUT", ())
    return folder


def test_a_failure_is_reported_and_the_suite_goes_on(fake_suite, capsys):
    status = suite.main(["run", "--quick", "bad", "good"])
    out = capsys.readouterr().out
    assert status == 1
    assert "bad output" in out
    assert "good output ['--quick']" in out
    assert "bad: failed (exit 3)" in out
    assert "good: ok" in out
    assert "1 ok, 1 failed" in out


def test_all_passing_exits_zero(fake_suite, capsys):
    assert suite.main(["run", "good"]) == 0
    assert "good output []" in capsys.readouterr().out


def _grid_module():
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    import grid

    return grid


def test_grid_counts_cells_at_or_above_the_own_base_and_cleanlearning():
    grid = _grid_module()

    def runs(*accuracies, **extra):
        return [
            {"accuracy": a, "seed": seed, **extra} for seed, a in enumerate(accuracies)
        ]

    results = {
        ("a", "uniform", 0.2): {
            "RDIA": runs(90.0, 80.0, fallback=False),
            "RDIA base": runs(90.0, 85.0),
            "CleanLearning": runs(89.0, 79.0),
        },
        ("b", "pair", 0.4): {
            "RDIA": runs(70.0, 71.0, fallback=True),
            "RDIA base": runs(69.0, 71.0),
            "CleanLearning": runs(75.0, 75.0),
        },
    }
    table = grid.harm_table(results, ["a", "b"])
    row = next(line for line in table.splitlines() if line.startswith("| RDIA"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # At or above the base: 90=90 (tie counts), 80<85, 70>69, 71=71.
    assert cells[1] == "3/4 (75 %)"
    assert cells[2] == "2/4 (50 %)"
    assert cells[3] == "-2.5 (a)"  # mean of (0, -5) on data set a
    assert cells[4] == "2/4"
    summary = grid.summary_table(results, ["a", "b"], ("CleanLearning", "RDIA"))
    assert "| a | 1 | 84.0 | 85.0 | +1.0 |" in summary
