"""Run the checker over every .py file in some big trees: how fast, and does anything crash?

    python benchmarks/corpus_check.py PATH... [--fix] [--jobs N] [--timeout S]

For example CPython's standard library and torch's own sources:

    python benchmarks/corpus_check.py \\
        "$(python -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')" \\
        "$(python -c 'import torch, os; print(os.path.dirname(torch.__file__))')"

Prints files/s, the crashes (an exception other than SourceError, with the file), the
files that are not checked (syntax errors and others, by message), timeouts, and the ten
slowest files. ``--fix`` runs the fixer too (nothing is written) and checks that its
output parses. The checker skips a file that never mentions torch; ``--as-torch`` puts
``import torch`` in front of each, so that every file is parsed and walked. Every file is read with ``read_source``; nothing is ever written.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from autograd_lint import Config, SourceError, check_source
from autograd_lint.engine import could_have_findings, enabled_rules
from autograd_lint.fixer import fix_source
from autograd_lint.parsing import python_syntax_error
from autograd_lint.sources import SourceReadError, read_source

RULES = enabled_rules(Config(), None)


@dataclass
class Result:
    path: str
    status: str  # ok, not-checked, unreadable, crash, timeout, too-deep
    detail: str = ""
    seconds: float = 0.0
    findings: int = 0


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout


def check_file(path: str, fix: bool, timeout: int, as_torch: bool) -> Result:
    try:
        source = read_source(path)
    except SourceReadError as error:
        return Result(path, "unreadable", str(error))
    text = "import torch\n" + source.text if as_torch else source.text
    # What the engine does once parsing.parse_module is wired in: nesting that CPython rejects
    # as too deep would crash libcst's native parser and with it this whole run.
    verdict = python_syntax_error(text) if could_have_findings(text, RULES) else None
    if verdict is not None and verdict.kind == "too-deep":
        return Result(path, "too-deep", verdict.message)
    # CPU time, for the timeout and the figures: a loaded machine must not make a file "slow".
    signal.signal(signal.SIGPROF, _alarm)
    signal.setitimer(signal.ITIMER_PROF, timeout)
    start = time.process_time()
    try:
        findings = check_source(text, path)
        if fix:
            result = fix_source(text, path, unsafe=True)
            if python_syntax_error(result.source) is not None and verdict is None:
                return Result(path, "crash", "the fixed code no longer parses", time.process_time() - start)
    except SourceError as error:
        return Result(path, "not-checked", error.message, time.process_time() - start)
    except Timeout:
        return Result(path, "timeout", f"over {timeout} s of CPU", time.process_time() - start)
    except Exception as error:  # what this script is looking for
        return Result(path, "crash", f"{type(error).__name__}: {error}"[:200], time.process_time() - start)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
    return Result(path, "ok", seconds=time.process_time() - start, findings=len(findings))


def python_files(paths: list[str], skip: set[str]) -> list[str]:
    files: list[str] = []
    for path in paths:
        if os.path.isfile(path):
            files.append(path)
            continue
        for folder, subfolders, names in os.walk(path):
            subfolders[:] = sorted(name for name in subfolders if name not in skip)
            files.extend(os.path.join(folder, name) for name in sorted(names) if name.endswith(".py"))
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--fix", action="store_true", help="run the fixer too (writes nothing)")
    parser.add_argument("--as-torch", action="store_true", help="prepend `import torch` so every file is parsed")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--skip", action="append", default=["site-packages"], help="folder names not to enter (site-packages)"
    )
    parser.add_argument("--timeout", type=int, default=60, help="CPU seconds per file")
    options = parser.parse_args()
    files = python_files(options.paths, set(options.skip))
    start = time.perf_counter()
    with ProcessPoolExecutor(options.jobs) as pool:
        results = list(
            pool.map(
                check_file,
                files,
                [options.fix] * len(files),
                [options.timeout] * len(files),
                [options.as_torch] * len(files),
                chunksize=4,
            )
        )
    wall = time.process_time() - start
    report(results, wall, options.jobs)
    sys.exit(1 if any(r.status in ("crash", "timeout") for r in results) else 0)


def report(results: list[Result], wall: float, jobs: int) -> None:
    statuses = Counter(r.status for r in results)
    checked = sum(r.seconds for r in results)
    print(f"{len(results)} files in {wall:.1f} s with {jobs} workers: {len(results) / wall:.1f} files/s")
    print(f"  checker CPU time {checked:.1f} s in all, {len(results) / max(checked, 1e-9):.1f} files/s for one worker")
    print(f"  findings: {sum(r.findings for r in results)} in {sum(1 for r in results if r.findings)} files")
    for status in ("ok", "not-checked", "unreadable", "too-deep", "timeout", "crash"):
        print(f"  {status}: {statuses.get(status, 0)}")
    for status in ("crash", "timeout", "too-deep", "unreadable"):
        for r in results:
            if r.status == status:
                print(f"    {status}: {r.path}: {r.detail}")
    messages = Counter(r.detail[:70] for r in results if r.status == "not-checked")
    if messages:
        print("  not checked, by message:")
        for message, count in messages.most_common(10):
            print(f"    {count:5}  {message}")
    print("  slowest:")
    for r in sorted(results, key=lambda r: -r.seconds)[:10]:
        size = os.path.getsize(r.path) if os.path.exists(r.path) else 0
        print(f"    {r.seconds:7.2f} s  {size / 1024:7.0f} kB  {r.status:11}  {Path(r.path)}")


if __name__ == "__main__":
    main()
