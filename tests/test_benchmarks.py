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
