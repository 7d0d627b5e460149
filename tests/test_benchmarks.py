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


def _deep_module():
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    import deep

    return deep


def _table_row(table, *prefix):
    """The cells of the first row of a markdown table starting with ``prefix``."""
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[: len(prefix)] == list(prefix):
            return cells
    raise AssertionError(f"no row {prefix} in\n{table}")


def test_deep_pairs_seeds_counts_ties_fallbacks_and_errors():
    deep = _deep_module()

    def record(kind, rate, seed, method, accuracy=None, **extra):
        out = {"model": "mlp", "kind": kind, "rate": rate, "seed": seed}
        out["method"] = method
        if accuracy is not None:
            out.update(accuracy=accuracy, time=2.0, fallback=None)
        return {**out, **extra}

    records = [
        record("uniform", 0.4, 0, "plain", 80.0, memorised=50.0),
        record("uniform", 0.4, 1, "plain", 82.0, memorised=70.0),
        record("uniform", 0.4, 0, "AGRA", 84.0, fallback=False),
        record("uniform", 0.4, 1, "AGRA", 81.0, fallback=True),
        record("uniform", 0.4, 0, "ALC", error="ValueError: a | b", trace="..."),
        record("uniform", 0.4, 1, "ALC", 85.0),
        record("pair", 0.2, 0, "plain", 90.0),
        record("pair", 0.2, 0, "AGRA", 90.0, fallback=False),
    ]
    methods = ["plain", "AGRA", "ALC"]
    summary = deep.summary_table(records, methods)
    # AGRA: 84 >= 80, 81 < 82, 90 >= 90 (a tie counts); gain at uniform 40 %
    # is the mean of +4 and -1; one of three fits fell back.
    assert _table_row(summary, "AGRA") == [
        "AGRA",
        "2/3 (67 %)",
        "+1.50",
        "no",
        "1/3",
        "0/3",
        "2.0",
    ]
    # ALC's failed seed is left out of the pairs, not counted as a loss.
    alc = _table_row(summary, "ALC")
    assert alc[1:4] == ["1/1 (100 %)", "+3.00", "yes"]
    assert alc[5] == "1/2"

    cells = deep.cell_table(records, methods)
    plain = _table_row(cells, "mlp", "uniform 40%", "plain")
    assert plain[3] == "81.00 ± 1.41"
    assert "memorised 60 %" in plain[9]
    assert _table_row(cells, "mlp", "uniform 40%", "AGRA")[4:7] == [
        "+1.50",
        "1/2",
        "1/2",
    ]
    alc_line = next(line for line in cells.splitlines() if "| ALC |" in line)
    # The pipe in the error message is escaped, so the row keeps its columns.
    assert "ERR in 1/2 seeds: ValueError: a \\| b" in alc_line
    assert alc_line.count(" | ") == len(plain) - 1
    assert _table_row(cells, "mlp", "uniform 40%", "ALC")[3] == "85.00 ± 0.00"


def test_deep_compares_prune4rel_with_its_baselines_on_common_seeds():
    deep = _deep_module()
    cell = {"model": "cnn", "kind": "pair", "rate": 0.4, "time": 1.0}
    records = [
        {**cell, "seed": seed, "method": method, "accuracy": accuracy}
        for method, accuracies in {
            "P4R selection": (80.0, 90.0),
            "P4R uniform": (70.0, 60.0),
            # Seed 1 failed: the comparison uses seed 0 only.
            "P4R SmallLoss": (75.0,),
        }.items()
        for seed, accuracy in enumerate(accuracies)
    ]
    table = deep.prune4rel_table(records)
    assert _table_row(table, "cnn", "pair 40%") == [
        "cnn",
        "pair 40%",
        "80.00",
        "70.00",
        "75.00",
        "+10.00",
        "+5.00",
    ]
    assert deep.prune4rel_table([r for r in records if r["method"] == "ALC"]) is None


def test_report_header_names_no_folder_of_the_machine(monkeypatch, tmp_path, capsys):
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    import _report

    data = tmp_path / "data"
    (data / "wrench").mkdir(parents=True)
    monkeypatch.setenv("SKNOISY_DATA", str(data))
    monkeypatch.setattr(sys, "executable", "/opt/venvs/bench/bin/python3.11")
    results = REPO_ROOT / "benchmarks" / "results" / "grid.md"
    argv = [str(REPO_ROOT / "benchmarks" / "grid.py"), "--jobs", "2"]
    argv += [f"--data-home={data / 'wrench'}", str(results), "/elsewhere/out.md"]
    monkeypatch.setattr(sys, "argv", argv)
    header = _report.Report.start("A benchmark", quick=False).parts[1]
    command = header.splitlines()[0]
    # Runnable from the repository root once <data> is replaced; paths
    # outside the repository and the data folder are kept as given.
    assert command == (
        "- Command: `SKNOISY_DATA=<data> python benchmarks/grid.py --jobs 2 "
        "--data-home=<data>/wrench benchmarks/results/grid.md /elsewhere/out.md`"
    )
    assert str(tmp_path) not in header
    assert "/opt/venvs" not in header
