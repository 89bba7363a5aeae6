"""What the parse guard costs, and what a big file costs: the figures behind parsing.py's defaults.

    python benchmarks/parse_cost.py [FILE...] [--megabytes N]

For each file (default: the largest modules of the standard library) it prints the CPU
time of libcst's parse against the guard that runs first (``ast.parse``) and against the
token scan that runs when Python rejects a file. Then it glues standard-library modules
into one file of N MB (default 5) and measures, in a fresh process, the time and peak
memory of ``parse_module`` and of the whole check.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

import libcst

from autograd_lint.parsing import check_nesting, python_syntax_error

BIG_FILE = """
import json, resource, sys, time
from autograd_lint import check_source
from autograd_lint.parsing import parse_module, run_deep
source = open(sys.argv[1], encoding="utf-8").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.process_time()
module = run_deep(parse_module, source, None)
parsed = time.process_time() - start
after_parse = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
del module
start = time.process_time()
findings = run_deep(check_source, "import torch\\n" + source, "big.py")
checked = time.process_time() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"parse_s": parsed, "parse_rss_mb": (after_parse - before) / 1024,
                  "check_s": checked, "peak_rss_mb": peak / 1024, "findings": len(findings)}))
"""


def cpu(function: Callable[[str], object], source: str, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        function(source)
        best = min(best, time.process_time() - start)
    return best


def largest_stdlib_modules(count: int) -> list[Path]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    return sorted(stdlib.glob("*.py"), key=lambda p: -p.stat().st_size)[:count]


def guard_costs(files: list[Path]) -> None:
    print(f"{'file':28} {'kB':>6} {'libcst':>9} {'ast guard':>16} {'token scan':>16}")
    totals = [0.0, 0.0, 0.0]
    for path in files:
        source = path.read_text(encoding="utf-8")
        parse = cpu(libcst.parse_module, source, repeat=1)
        guard = cpu(python_syntax_error, source)
        scan = cpu(check_nesting, source)
        for index, value in enumerate((parse, guard, scan)):
            totals[index] += value
        print(
            f"{path.name:28} {len(source) / 1024:6.0f} {parse * 1e3:7.0f}ms "
            f"{guard * 1e3:7.0f}ms ({guard / parse:4.0%}) {scan * 1e3:7.0f}ms ({scan / parse:4.0%})"
        )
    parse, guard, scan = totals
    print(
        f"{'all':28} {'':6} {parse * 1e3:7.0f}ms {guard * 1e3:7.0f}ms ({guard / parse:4.0%}) "
        f"{scan * 1e3:7.0f}ms ({scan / parse:4.0%})"
    )


def big_file(megabytes: float, folder: Path) -> Path:
    text = io.StringIO()
    for path in largest_stdlib_modules(60):
        if text.tell() >= megabytes * 1024 * 1024:
            break
        source = path.read_text(encoding="utf-8")
        if python_syntax_error(source) is None and "__future__" not in source:
            text.write(source + "\n")
    while text.tell() < megabytes * 1024 * 1024:  # not enough big modules: repeat what we have
        text.write(text.getvalue())
    big = folder / "big.py"
    big.write_text(text.getvalue()[: int(megabytes * 1024 * 1024)].rsplit("\ndef ", 1)[0] + "\n", encoding="utf-8")
    return big


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--megabytes", type=float, default=5.0)
    parser.add_argument("--folder", type=Path, default=Path("/tmp"))
    options = parser.parse_args()
    guard_costs(options.files or largest_stdlib_modules(6))
    big = big_file(options.megabytes, options.folder)
    result = subprocess.run([sys.executable, "-c", BIG_FILE, str(big)], capture_output=True, text=True)
    if result.returncode != 0:
        print(f"{big}: the big file failed: {result.stderr.strip()[-500:]}")
        return
    figures = json.loads(result.stdout)
    print(
        f"{big} ({big.stat().st_size / 1024 / 1024:.1f} MB): parse_module {figures['parse_s']:.1f} s CPU, "
        f"+{figures['parse_rss_mb']:.0f} MB; check_source {figures['check_s']:.1f} s CPU; "
        f"peak RSS {figures['peak_rss_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
