"""The robustness properties of tests/test_robustness.py, for longer, counting instead of failing.

    python benchmarks/fuzz.py [N] [--seed S] [--save FOLDER]

Generates N programs with hypothesmith (default 500), each with ``import torch`` in front
and, for a third of them each, a training loop with fixable mistakes before or after,
then checks and fixes them. Prints how many were checked, had findings, were fixed, were
refused (SourceError, by kind of message), and every crash: an exception other than
SourceError, a fix whose output no longer parses, or a second fix that still changes the
code. ``--save`` writes each crashing program to a file there.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import hypothesmith
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from autograd_lint import SourceError, check_source
from autograd_lint.fixer import fix_source
from autograd_lint.parsing import python_syntax_error

TRAINING = """\
w = torch.zeros(3, requires_grad=True)
opt = torch.optim.SGD([w], lr=0.1)
for x in range(3):
    loss = (w * x).sum()
    loss.backward()
    w.data -= 0.1 * w.grad
"""

SOURCES = st.one_of(
    hypothesmith.from_grammar().map(lambda code: "import torch\n" + code),
    hypothesmith.from_grammar().map(lambda code: "import torch\n" + TRAINING + code),
    hypothesmith.from_grammar().map(lambda code: "import torch\n" + code + "\n" + TRAINING),
)


def examine(source: str) -> tuple[str, str]:
    """(outcome, detail): outcome is checked, findings, fixed, refused or crash."""
    try:
        findings = check_source(source, "fuzz.py")
        result = fix_source(source, "fuzz.py", unsafe=True)
    except SourceError as error:
        return "refused", error.message.split(":")[0]
    except Exception as error:
        return "crash", f"{type(error).__name__}: {error}"[:200]
    if python_syntax_error(source) is None and python_syntax_error(result.source) is not None:
        return "crash", "the fixed code does not parse"
    try:
        again = fix_source(result.source, "fuzz.py", unsafe=True)
    except Exception as error:
        return "crash", f"second fix: {type(error).__name__}: {error}"[:200]
    if again.source != result.source:
        return "crash", "a second fix still changes the code"
    if result.fixed:
        return "fixed", ""
    return ("findings" if findings else "checked"), ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("examples", nargs="?", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", type=Path)
    options = parser.parse_args()
    outcomes: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    crashes: list[tuple[str, str]] = []

    @seed(options.seed)
    @settings(
        max_examples=options.examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # count every example; no shrinking
        suppress_health_check=list(HealthCheck),
    )
    @given(SOURCES)
    def run(source: str) -> None:
        outcome, detail = examine(source)
        outcomes[outcome] += 1
        if outcome == "refused":
            refusals[detail] += 1
        elif outcome == "crash":
            crashes.append((detail, source))

    start = time.perf_counter()
    run()
    wall = time.perf_counter() - start
    total = sum(outcomes.values())
    print(f"{total} programs in {wall:.0f} s ({total / wall:.1f}/s), seed {options.seed}")
    for outcome in ("checked", "findings", "fixed", "refused", "crash"):
        print(f"  {outcome}: {outcomes.get(outcome, 0)}")
    for message, count in refusals.most_common():
        print(f"    refused: {count:4}  {message}")
    for number, (detail, source) in enumerate(crashes):
        print(f"    crash {number}: {detail}")
        if options.save:
            options.save.mkdir(parents=True, exist_ok=True)
            (options.save / f"crash_{number}.py").write_text(source)
    sys.exit(1 if crashes else 0)


if __name__ == "__main__":
    main()
