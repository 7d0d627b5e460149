"""Run sknoisy's benchmarks: ``python -m benchmarks run [--quick] [names...]``.

Each benchmark script runs in a subprocess of this interpreter, from the
repository root, so that it imports its folder's ``_report`` exactly as when
it runs alone. Its output is streamed as it comes; a line per started and
finished benchmark gives the elapsed wall and CPU time, and a heartbeat is
printed when a benchmark has been silent for a while. A failing benchmark is
reported and the suite goes on; the exit status is non-zero when any failed.
"""

import argparse
import ast
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

BENCHMARK_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCHMARK_DIR.parent
RESULTS_DIR = BENCHMARK_DIR / "results"

# Run order: cheap library-level benchmarks first, the common grid last.
ORDER = (
    "softmax_regression",
    "adapter_gradients",
    "cuda_check",
    "rdia",
    "rdia_ls",
    "agra",
    "agra_defaults",
    "prune4rel",
    "prune4rel_scale",
    "alc",
    "deep",
    "deep_holdout",
    "scale",
    "threads",
    "grid",
)
# Scripts whose --quick run would otherwise write over the full results file
# (or outside results/): their quick results go to <name>_quick.md, which git
# ignores.
QUICK_OUTPUT = ("softmax_regression", "adapter_gradients", "agra")
# Benchmarks left out of a --quick suite run, with the reason printed.
QUICK_SKIP = {}
HEARTBEAT_S = 60.0


def discover():
    """Benchmark names to their one-line descriptions, in run order."""
    found = {}
    for path in sorted(BENCHMARK_DIR.glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        except (OSError, SyntaxError, ValueError):
            doc = None
        found[path.stem] = (doc or "").strip().splitlines()[0] if doc else ""
    rank = {name: i for i, name in enumerate(ORDER)}
    return dict(
        sorted(found.items(), key=lambda kv: (rank.get(kv[0], len(ORDER)), kv[0]))
    )


def command_for(name, quick):
    command = [sys.executable, str(Path("benchmarks") / f"{name}.py")]
    if quick:
        command.append("--quick")
        if name in QUICK_OUTPUT:
            output = RESULTS_DIR / f"{name}_quick.md"
            command += ["--output", str(output.relative_to(REPO_ROOT))]
    return command


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _forward(stream, state):
    for line in iter(stream.readline, ""):
        sys.stdout.write(line)
        sys.stdout.flush()
        state["last"] = time.monotonic()
    stream.close()


def run_one(name, quick, timeout):
    """Run one benchmark, streaming its output; return (status, wall, cpu)."""
    command = command_for(name, quick)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    print(f"[suite] {name}: started: {' '.join(command)}", flush=True)
    start, cpu_start = time.monotonic(), _children_cpu()
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        start_new_session=True,
    )
    state = {"last": start}
    reader = threading.Thread(target=_forward, args=(process.stdout, state))
    reader.daemon = True
    reader.start()
    status = None
    try:
        while True:
            try:
                process.wait(timeout=5.0)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if timeout is not None and now - start > timeout:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10.0)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                status = f"timed out after {timeout:.0f} s"
                break
            if now - state["last"] > HEARTBEAT_S:
                print(
                    f"[suite] {name}: still running, {now - start:.0f} s elapsed",
                    flush=True,
                )
                state["last"] = now
    except KeyboardInterrupt:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait()
        raise
    reader.join(timeout=10.0)
    wall, cpu = time.monotonic() - start, _children_cpu() - cpu_start
    if status is None:
        status = (
            "ok" if process.returncode == 0 else f"failed (exit {process.returncode})"
        )
    print(f"[suite] {name}: {status} in {wall:.0f} s wall, {cpu:.0f} s CPU", flush=True)
    return status, wall, cpu


def run(args):
    available = discover()
    unknown = [name for name in args.names if name not in available]
    if unknown:
        sys.exit(
            f"Unknown benchmark(s): {', '.join(unknown)}. "
            f"Available: {', '.join(available)}."
        )
    names = args.names or list(available)
    if args.quick:
        for name in [n for n in names if n in QUICK_SKIP]:
            print(f"[suite] {name}: skipped in quick mode: {QUICK_SKIP[name]}")
        names = [n for n in names if n not in QUICK_SKIP]
    if "SKNOISY_DATA" not in os.environ:
        print(
            "[suite] note: SKNOISY_DATA is not set; benchmarks that need data "
            "files look in the default data home and skip what is missing.",
            flush=True,
        )
    started = time.monotonic()
    outcomes = []
    for i, name in enumerate(names, 1):
        print(f"[suite] ({i}/{len(names)})", end=" ", flush=True)
        outcomes.append((name, *run_one(name, args.quick, args.timeout)))
    total = time.monotonic() - started
    print("\n[suite] summary", flush=True)
    width = max(len(name) for name, *_ in outcomes) if outcomes else 0
    for name, status, wall, cpu in outcomes:
        print(
            f"[suite]   {name:<{width}}  {status:<24} "
            f"{wall:6.0f} s wall {cpu:6.0f} s CPU"
        )
    failed = [name for name, status, *_ in outcomes if status != "ok"]
    print(
        f"[suite] {len(outcomes) - len(failed)} ok, {len(failed)} failed, "
        f"{total:.0f} s in all; results in {RESULTS_DIR.relative_to(REPO_ROOT)}/",
        flush=True,
    )
    return 1 if failed else 0


def main(argv=None):
    available = discover()
    listing = "\n".join(f"  {name:<20} {doc}" for name, doc in available.items())
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run sknoisy's benchmarks.",
        epilog=f"benchmarks:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser(
        "run",
        help="run benchmarks (all by default)",
        description="Run the named benchmarks, or all of them, in order.",
        epilog=f"benchmarks:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run_parser.add_argument(
        "names", nargs="*", metavar="name", help="benchmarks to run (default: all)"
    )
    run_parser.add_argument(
        "--quick",
        action="store_true",
        help="pass --quick to every script (results in *_quick.md, git-ignored)",
    )
    run_parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="stop a benchmark after S seconds and count it as failed",
    )
    commands.add_parser("list", help="list the benchmarks")
    args = parser.parse_args(argv)
    if args.command == "list":
        print(listing)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
