"""Start-up: `autograd-lint --version` against `python -c "import click"`.

    python benchmarks/bench_startup.py [--runs N]

Each command runs N times, alternating; the medians of the wall times are compared. The
console script is used when it is installed beside this Python, else `python -m
autograd_lint`. Target: a ratio of at most 1.5 (libcst, the rules and the checker are not
imported for `--version`).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET = 1.5


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    script = Path(sys.executable).with_name("autograd-lint")
    ours = [str(script), "--version"] if script.is_file() else [sys.executable, "-m", "autograd_lint", "--version"]
    click = [sys.executable, "-c", "import click"]
    for command in (ours, click):  # warm the file system cache and the .pyc files
        timed(command)
    our_times, click_times = [], []
    for _ in range(args.runs):
        our_times.append(timed(ours))
        click_times.append(timed(click))
    ratio = statistics.median(our_times) / statistics.median(click_times)
    print(
        f"{' '.join(Path(ours[0]).name if i == 0 else a for i, a in enumerate(ours))}: "
        f"{statistics.median(our_times) * 1000:.1f} ms (median of {args.runs})"
    )
    print(f"python -c 'import click': {statistics.median(click_times) * 1000:.1f} ms")
    print(f"ratio: {ratio:.2f} (target <= {TARGET})")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
