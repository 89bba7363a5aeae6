"""What is wrong with a source that does not parse, in words, without libcst: Python's own
``ast`` decides, so a file the text pre-check skips can still be reported as broken cheaply."""

from __future__ import annotations

import ast
import warnings


class SourceError(Exception):
    """The source cannot be checked (a syntax error); line and column are 1-based."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def python_syntax_error(source: str) -> SourceError | None:
    """Python's own complaint about ``source`` (it words them better than libcst), if any."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like
            ast.parse(source)
    except SyntaxError as error:
        return SourceError(f"syntax error: {error.msg}", error.lineno or 1, error.offset or 1)
    except (ValueError, RecursionError, MemoryError) as error:
        return SourceError(f"cannot parse: {type(error).__name__}")
    return None
