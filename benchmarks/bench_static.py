"""How much the checker costs beyond parsing: `check_source` against bare `libcst.parse_module`.

    python benchmarks/bench_static.py [FOLDER...] [--repeat N] [--profile]

Both run over the same files in one process, serially: each file is parsed and checked
back to back, alternating which goes first, several times; the ratio of the totals (of
each file's fastest run, and the median total) is printed. The
default folders are PyTorch's own `torch/nn` and `torch/optim`, found without importing
torch. Target: a ratio of at most 1.5. `--profile` adds a cProfile of the checker.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib.util
import pstats
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import libcst

from autograd_lint.config import Config
from autograd_lint.engine import check_source, could_have_findings, enabled_rules
from autograd_lint.sources import SourceReadError, read_source

TARGET = 1.5


def default_folders() -> list[Path]:
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("torch is not installed; name the folders to measure")
    root = Path(next(iter(spec.submodule_search_locations)))
    return [root / "nn", root / "optim"]


def load(folders: Sequence[Path]) -> list[tuple[str, str]]:
    sources = []
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            try:
                sources.append((str(path), read_source(path).text))
            except SourceReadError:
                continue
    return sources


def parses(text: str) -> bool:
    try:
        libcst.parse_module(text)
    except Exception:
        return False
    return True


def measure(sources: list[tuple[str, str]], config: Config, repeat: int) -> tuple[list[list[float]], list[list[float]]]:
    """Per repetition, per file: the seconds of a bare parse and of a check.

    Each file is parsed and checked back to back, in alternating order, so load from
    other processes on the machine falls on both alike.
    """
    clock = time.perf_counter
    parse_times: list[list[float]] = []
    check_times: list[list[float]] = []
    for index in range(repeat):
        gc.collect()
        parse_round: list[float] = []
        check_round: list[float] = []
        for number, (path, text) in enumerate(sources):
            for which in (0, 1) if (index + number) % 2 else (1, 0):
                start = clock()
                if which:
                    libcst.parse_module(text)
                else:
                    check_source(text, path, config)
                (parse_round if which else check_round).append(clock() - start)
        parse_times.append(parse_round)
        check_times.append(check_round)
    return parse_times, check_times


def report(label: str, sources: list[tuple[str, str]], config: Config, repeat: int) -> float:
    parse_times, check_times = measure(sources, config, repeat)
    characters = sum(len(text) for _, text in sources)
    # The sum over files of each file's fastest run, and the median of the totals.
    parse_min = sum(min(runs) for runs in zip(*parse_times, strict=False))
    check_min = sum(min(runs) for runs in zip(*check_times, strict=False))
    parse_median = statistics.median(sum(r) for r in parse_times)
    check_median = statistics.median(sum(r) for r in check_times)
    print(f"{label}: {len(sources)} files, {characters:,} characters, {repeat} repetitions")
    print(f"  libcst.parse_module  min {parse_min:.3f} s  median {parse_median:.3f} s")
    print(f"  check_source         min {check_min:.3f} s  median {check_median:.3f} s")
    print(f"  ratio check/parse    {check_min / parse_min:.2f} (min)  {check_median / parse_median:.2f} (median)")
    return check_min / parse_min


def profile(sources: list[tuple[str, str]], config: Config) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for path, text in sources:
        check_source(text, path, config)
    profiler.disable()
    print("\ncProfile of check_source, top 25 by cumulative time:")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    folders = args.folders or default_folders()
    config = Config()
    every = [(path, text) for path, text in load(folders) if parses(text)]
    if not every:
        sys.exit("no parsable Python files found")
    print("folders: " + ", ".join(str(f) for f in folders))
    overall = report("all files", every, config, args.repeat)
    # Files the engine's text pre-check lets through: the cost of the analysis itself.
    analysed = [(p, t) for p, t in every if could_have_findings(t, enabled_rules(config, p))]
    if analysed and len(analysed) < len(every):
        report("files the engine parses (its text pre-check passes)", analysed, config, args.repeat)
    verdict = "within" if overall <= TARGET else "over"
    print(f"\nratio {overall:.2f} is {verdict} the target of {TARGET}")
    if args.profile:
        profile(analysed or every, config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
