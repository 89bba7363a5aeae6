"""What the result cache saves: two runs of `autograd-lint` over an unchanged tree.

    python benchmarks/bench_cache.py [--jobs N]

Copies PyTorch's own `torch/nn`, `torch/optim`, `torch/autograd` and `torch/distributed`
sources (found without importing torch) to a temporary folder, runs the command line there
twice with a fresh cache, and prints the second run's wall time as a fraction of the first.
Both reports (JSON) must be identical. Target: at most 0.10.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 0.10
FOLDERS = ("nn", "optim", "autograd", "distributed")


def torch_root() -> Path:
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("torch is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def timed_run(tree: Path, jobs: int) -> tuple[float, str]:
    command = [sys.executable, "-m", "autograd_lint", "--format", "json", "--jobs", str(jobs), "."]
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=tree, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if completed.returncode not in (0, 1, 2):
        sys.exit(f"autograd-lint failed ({completed.returncode}): {completed.stderr[-2000:]}")
    return elapsed, completed.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=0, help="-j for both runs (0: one per CPU)")
    args = parser.parse_args()
    root = torch_root()
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as scratch:
        tree = Path(scratch) / "torch"
        for name in FOLDERS:
            shutil.copytree(root / name, tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so"))
        files = sum(1 for _ in tree.rglob("*.py"))
        first, first_report = timed_run(tree, args.jobs)
        second, second_report = timed_run(tree, args.jobs)
    same = first_report == second_report
    fraction = second / first
    print(f"{files} files from torch/{{{','.join(FOLDERS)}}}, --jobs {args.jobs}")
    print(f"first run (empty cache): {first:.2f} s")
    print(f"second run (unchanged):  {second:.2f} s")
    print(f"fraction: {fraction:.3f} (target <= {TARGET}); reports identical: {same}")
    return 0 if same and fraction <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
