"""The suite's own conventions, checked rather than hoped for: every test that starts a process
is marked ``slow`` (so ``-m "not slow"`` is the quick loop it promises to be)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# Calls that start a process, directly or through the shared helpers.
STARTS_A_PROCESS = {"run", "Popen", "check_output", "check_call", "autograd_lint_process", "runpytest_subprocess"}


def _marks(node: ast.AST) -> set[str]:
    marks = set()
    for decorator in getattr(node, "decorator_list", ()):
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute):
            marks.add(target.attr)
    return marks


def _module_marked_slow(tree: ast.Module) -> bool:
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in statement.targets):
            return "slow" in ast.unparse(statement.value)
    return False


def _starts_process(function: ast.AST, helpers: set[str]) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = func.value if isinstance(func, ast.Attribute) else None
            if name in ("run", "Popen", "check_output", "check_call") and getattr(owner, "id", "") != "subprocess":
                continue
            if name in STARTS_A_PROCESS or name in helpers:
                return True
    return False


def test_every_test_that_starts_a_process_is_marked_slow():
    unmarked = []
    for path in sorted(TESTS.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if _module_marked_slow(tree):
            continue
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        # Module helpers and fixtures that start a process make their callers slow too.
        helpers = {f.name for f in functions if not f.name.startswith("test_") and _starts_process(f, set())}
        for function in functions:
            if not function.name.startswith("test_"):
                continue
            uses = {a.arg for a in function.args.args}
            if (_starts_process(function, helpers) or uses & helpers) and "slow" not in _marks(function):
                unmarked.append(f"{path.name}::{function.name}")
    assert unmarked == []
