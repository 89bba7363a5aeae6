"""Fixes proved by running code: generated training scripts run before and after each kind of
fix. A safe fix keeps what the script prints (its final tensors included) and whether it raises;
an unsafe fix may change the numbers, but a script that ran never raises after it.

The type of an exception may differ after a safe fix in one case only, on a line that already
fails: ``x.grad.data`` on a ``None`` gradient raises AttributeError, ``x.grad`` then TypeError."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from runnable_scripts import execute, generate

from autograd_lint.fixer import fix_source

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(SEEDS)
def test_a_safe_fix_keeps_output_tensors_and_exceptions(seed):
    source = generate(random.Random(seed))
    fixed = fix_source(source, "generated.py").source
    assume(fixed != source)
    before, after = execute(source), execute(fixed)
    assert (after.output, after.ran) == (before.output, before.ran)


@SETTINGS
@given(SEEDS)
def test_an_unsafe_fix_never_makes_a_script_that_ran_raise(seed):
    source = generate(random.Random(seed))
    before = execute(source)
    assume(before.ran)
    fixed = fix_source(source, "generated.py", unsafe=True).source
    after = execute(fixed)
    assert after.ran, f"{after.error} after the unsafe fixes:\n{fixed}"


def test_the_generator_reaches_scripts_that_run_and_that_the_fixes_change():
    rng = random.Random(0)
    scripts = [generate(rng) for _ in range(40)]
    running = [s for s in scripts if execute(s).ran]
    assert len(running) >= 10
    assert sum(fix_source(s, "g.py", unsafe=True).source != s for s in running) >= 10
