"""Runs N generated training scripts before and after the fixes and counts what changed.

    python benchmarks/fix_safety.py [N] [SEED]

A safe fix must keep every script's output, final tensors and exceptions; an unsafe fix must
not make a script that ran raise. Prints the counts and the first offenders' diffs.
"""

from __future__ import annotations

import difflib
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from runnable_scripts import execute, generate  # noqa: E402

from autograd_lint.fixer import fix_source  # noqa: E402


def main(count: int, seed: int) -> int:
    rng = random.Random(seed)
    stats: Counter[str] = Counter()
    offenders: list[tuple[str, str, str]] = []
    for _ in range(count):
        source = generate(rng)
        before = execute(source)
        stats["ran before" if before.ran else "raised before"] += 1
        safe = fix_source(source, "generated.py").source
        if safe != source:
            stats["changed by safe fixes"] += 1
            after = execute(safe)
            if (after.output, after.ran) != (before.output, before.ran):
                stats["SAFE FIX CHANGED BEHAVIOUR"] += 1
                offenders.append(("safe", source, safe))
        if before.ran:
            unsafe = fix_source(source, "generated.py", unsafe=True).source
            if unsafe != source:
                stats["ran, changed by unsafe fixes"] += 1
                if not execute(unsafe).ran:
                    stats["UNSAFE FIX MADE IT RAISE"] += 1
                    offenders.append(("unsafe", source, unsafe))
    for key, value in sorted(stats.items()):
        print(f"{value:6d}  {key}")
    for kind, source, fixed in offenders[:3]:
        print(f"\n--- {kind} fix offender:")
        print("".join(difflib.unified_diff(source.splitlines(True), fixed.splitlines(True), n=1)))
    return 1 if offenders else 0


if __name__ == "__main__":
    arguments = sys.argv[1:]
    sys.exit(main(int(arguments[0]) if arguments else 300, int(arguments[1]) if len(arguments) > 1 else 0))
