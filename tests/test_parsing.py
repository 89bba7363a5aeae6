"""What crashes or hangs libcst is one clear error for that file, and what it cannot parse says so."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import libcst as cst
import pytest

import autograd_lint
from autograd_lint.parsing import DEFAULT_MAX_FILE_SIZE, MAX_CHAIN, ParseError, parse_module, run_deep

# 1,500 nested brackets overflow libcst's native parser's stack: the process dies (exit 139).
DEEP = "x = " + "(" * 1500 + "1" + ")" * 1500 + "\n"
CHAIN = "x = a" + ".b()" * 1000 + "\n"
TORCH = "import torch\nw = torch.zeros(3, requires_grad=True)\nw.data = w * 2\n"


def parse_error(source: str, **options) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parse_module(source, **options)
    return caught.value


@pytest.mark.parametrize("bracket", ["()", "[]", "{}"])
def test_deep_brackets_are_pythons_error_not_a_crash(bracket):
    opening, closing = bracket
    error = parse_error("x = " + opening * 1500 + "1" + closing * 1500 + "\n")
    assert error.kind == "too-deep"
    assert error.message == "syntax error: too many nested parentheses"
    assert error.line == 1


def test_as_deep_as_python_allows_still_parses():
    source = "x = " + "(" * 200 + "1" + ")" * 200 + "\n"
    assert parse_module(source).code == source
    assert parse_error("x = " + "(" * 201 + "1" + ")" * 201 + "\n").kind == "too-deep"


def test_deep_brackets_after_what_python_gives_up_on_are_caught_too():
    # CPython's parser runs out of memory on the lambdas before its tokenizer sees the depth.
    error = parse_error("x = " + "lambda: " * 3000 + "a\ny = " + "[" * 1500 + "\n")
    assert error.kind == "too-deep"
    assert (error.line, error.column) == (2, 205)
    assert error.message == "brackets nested more than 200 deep (Python's own limit); not parsed"


def test_deep_brackets_inside_an_f_string_are_caught():
    error = parse_error("x = f'{" + "(" * 3000 + "a" + ")" * 3000 + "}'\n")
    assert error.kind == "too-deep"


def test_brackets_in_strings_and_comments_do_not_count():
    source = "x = '" + "(" * 1500 + "'  # " + "[" * 1500 + "\n"
    assert parse_module(source).code == source


def test_too_many_indentation_levels_is_pythons_error():
    source = "".join(" " * level + "if x:\n" for level in range(101)) + " " * 101 + "pass\n"
    error = parse_error(source)
    assert error.message == "syntax error: too many levels of indentation"
    assert error.kind == "too-deep"


def test_a_syntax_error_is_pythons_message_and_position():
    error = parse_error("import torch\nx = (1,\n")
    assert (error.message, error.line, error.column, error.kind) == (
        "syntax error: '(' was never closed",
        2,
        5,
        "syntax",
    )


def test_valid_python_libcst_rejects_is_not_called_a_syntax_error():
    error = parse_error("import torch\n(x): int = 5\n")
    assert error.kind == "unsupported"
    assert error.message.startswith("not supported by the parser (libcst): ")
    assert error.line == 2


@pytest.mark.parametrize(
    "source",
    ["if x:\n\f    pass\n", "x = 1\n\f\ny = 2\n", "x = 1  \f# c\n", "x = 1\n\f"],
    ids=["indent", "own-line", "before-comment", "end"],
)
def test_form_feeds_libcst_keeps_parse(source):
    assert parse_module(source).code == source


@pytest.mark.parametrize("source", ["\fx = 1\n", "x = 1\n\fy = 2\n"], ids=["first-line", "second-line"])
def test_a_form_feed_libcst_would_drop_is_unsupported(source):
    assert cst.parse_module(source).code != source  # libcst 1.9 loses it; offsets after it shift
    error = parse_error(source)
    assert error.kind == "unsupported"
    assert error.message == "not supported by the parser (libcst): a form feed that starts a line would be lost"
    assert error.line == source.count("\n", 0, source.index("\f")) + 1


def test_file_over_the_size_limit():
    source = "x = 1\n" * 200
    error = parse_error(source, max_size=1000)
    assert error.kind == "too-large"
    assert error.message == "file is 0.0 MB, over the max-file-size of 0.0 MB; not checked"
    assert parse_module(source, max_size=None).code == source
    assert DEFAULT_MAX_FILE_SIZE == 5 * 1024 * 1024


def test_size_limit_counts_encoded_bytes():
    assert parse_error("s = '" + "é" * 60 + "'\n", max_size=100).kind == "too-large"  # 129 bytes, 67 characters
    parse_module("s = '" + "é" * 40 + "'\n", max_size=100)


# --- deep recursion in libcst's code generation ------------------------------------------


@pytest.fixture(scope="module")
def chain() -> cst.Module:
    # libcst itself (parse_module refuses a chain this long): seconds, growing with the square of its length.
    return cst.parse_module(CHAIN)


def test_a_1000_step_chain_parses_but_its_code_generation_recurses_too_deep(chain):
    with pytest.raises(RecursionError):
        chain.code_for_node(chain.body[0])


def test_run_deep_generates_a_1000_step_chain(chain):
    assert run_deep(lambda: chain.code) == CHAIN
    unary = "x = " + "-" * 1000 + "a\n"
    assert run_deep(lambda: parse_module(unary).code) == unary


def test_run_deep_returns_raises_and_restores_the_limit():
    limit = sys.getrecursionlimit()
    assert run_deep(divmod, 7, 2) == (3, 1)
    with pytest.raises(ZeroDivisionError):
        run_deep(divmod, 1, 0)
    assert run_deep(run_deep, sys.getrecursionlimit) > limit  # nested: runs in the same deep thread
    assert sys.getrecursionlimit() == limit


def test_checker_handles_a_1000_step_chain():
    findings = autograd_lint.check_source(TORCH + "y = " + "-" * 1000 + "a\n", "chain.py")
    assert [(f.code, f.line) for f in findings] == [("AGL004", 3)]


def test_a_chain_too_long_for_libcst_is_refused_at_once_with_where_it_starts():
    source = TORCH + "y = x" + ".f()" * 2000 + "\n"
    started = time.process_time()
    error = parse_error(source)
    assert time.process_time() - started < 1  # libcst alone: about seven seconds
    assert error.kind == "unsupported" and (error.line, error.column) == (4, 6)
    assert str(error).startswith("not supported by the parser (libcst): a chain of more than 300 calls")
    parse_module("y = x" + ".f()" * MAX_CHAIN + "\n")  # the limit itself still parses
    with pytest.raises(ParseError):
        parse_module("y = x" + "[0]" * (MAX_CHAIN + 1) + "\n")


def test_checker_refuses_a_form_feed_libcst_would_drop():
    # Today the finding says line 2 column 40 for a statement at line 3 column 1, and the
    # fix's offsets are one character early.
    with pytest.raises(autograd_lint.SourceError, match="form feed"):
        autograd_lint.check_source(TORCH.replace("\nw =", "\n\fw ="), "feed.py")


@pytest.mark.slow
def test_checker_reports_deep_brackets_instead_of_dying():
    script = textwrap.dedent(
        f"""
        import autograd_lint
        try:
            autograd_lint.check_source({(TORCH + DEEP)!r}, "deep.py")
        except autograd_lint.SourceError as error:
            print(error.message)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout.strip()) == (0, "syntax error: too many nested parentheses")
