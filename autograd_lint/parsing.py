"""Parsing that one bad file cannot turn into a crash of the whole run.

libcst's native parser has no depth guard: some 1,500 nested brackets overflow its stack
and kill the process (exit 139). CPython stops at 200 ("too many nested parentheses"), so
``ast.parse``, which is C, cannot crash on depth and costs a tenth of a libcst parse, goes
first: what it accepts is shallow enough for libcst. Only when it fails for another
reason (a real syntax error, or syntax newer than the running Python) does a tokenize
scan measure the depth itself.

When libcst fails, ``ast`` already told us whether Python accepts the file: if it does,
the file is fine and the parser is at fault ("unsupported"); if not, Python's own message
and position are what the user sees when running it.

libcst's code generation recurses once or twice per nesting level, so a 1,000-step call
chain (``a.b().c()...``) exceeds the default recursion limit of 1,000: ``run_deep`` runs a
function in a thread with a big stack and a higher limit.
"""

from __future__ import annotations

import ast
import io
import os
import re
import sys
import threading
import tokenize
import warnings
from collections.abc import Callable
from itertools import accumulate
from typing import Literal, TypeVar

import libcst as cst

from .config import DEFAULT_MAX_FILE_SIZE

# CPython's tokenizer limit (MAXLEVEL); libcst's native parser overflows at about 1,500.
MAX_NESTING = 200

Kind = Literal["syntax", "unsupported", "too-deep", "too-large"]
T = TypeVar("T")


class ParseError(Exception):
    """Why a file was not parsed: one line for the user, a 1-based position, and a kind.

    ``kind`` is "syntax" (Python rejects it too), "unsupported" (valid Python that libcst
    cannot parse), "too-deep" (nested beyond what the parser can take) or "too-large"
    (over the size limit).
    """

    def __init__(self, message: str, line: int = 1, column: int = 1, kind: Kind = "syntax") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.kind = kind


def parse_module(source: str, max_size: int | None = DEFAULT_MAX_FILE_SIZE) -> cst.Module:
    """Parse with libcst, or raise ``ParseError``; never crashes the process on depth."""
    check_size(source, max_size)
    verdict: tuple[bool, ParseError | None] | None = None
    if not looks_shallow(source):
        verdict = accepted, python_error = _python_verdict(source)
        if python_error is not None and python_error.kind == "too-deep":
            raise python_error
        if not accepted:
            # Python stopped at its first error (or gave up on a long chain): a deeper nest may follow.
            check_nesting(source)
    check_chains(source)
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        accepted, python_error = verdict or _python_verdict(source)
        if python_error is not None:
            raise python_error from None
        line, column, detail = _libcst_complaint(error)
        if accepted:
            raise ParseError(f"not supported by the parser (libcst): {detail}", line, column, "unsupported") from None
        raise ParseError(f"syntax error: {detail}", line, column) from None
    except RecursionError:
        raise ParseError("too deeply nested for the parser (libcst)", kind="too-deep") from None
    if "\f" in source:
        check_round_trip(module, source)
    return module


_NOT_BRACKETS = re.compile(r"[^()\[\]{}]+")
_STEP = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}
_INDENT = re.compile(r"^[ \t]{100,}", re.MULTILINE)
# Well under CPython's 200 and libcst's ~1,500: a file deeper than this gets the exact check.
_SHALLOW = 100


def looks_shallow(source: str) -> bool:
    """A fast estimate that ``source`` nests shallowly: its bracket characters, strings and comments
    included, never run deeper than ``_SHALLOW`` nor below zero, and no line starts with 100 or more
    spaces or tabs. ``False`` means "not sure" and the caller checks exactly (``ast.parse``, a tenth
    of a libcst parse; this costs about a hundredth). Brackets in strings are balanced in real code;
    where they are not, the depth goes below zero and the exact check runs."""
    if _INDENT.search(source):
        return False
    depths = list(accumulate(map(_STEP.__getitem__, _NOT_BRACKETS.sub("", source))))
    return not depths or (max(depths) <= _SHALLOW and min(depths) >= 0)


# libcst's parse time grows with the square of a chain's length (`x.f().g()...`): 800 calls
# take a second, 2,000 about seven (benchmarks/parse_cost.py). Real code stays far below this.
MAX_CHAIN = 300
# A run of trailers: `.name`, a call whose arguments nest at most once, a flat subscript.
_CHAIN = re.compile(
    r"(?:\.\s*[A-Za-z_]\w*\s*|\((?:[^()]|\([^()]*\))*\)\s*|\[[^\[\]]*\]\s*){" + str(MAX_CHAIN + 1) + ",}"
)
# Where a call or subscript is followed by another trailer: the costly links (a chain of bare
# attributes parses in linear time).
_LINKS = (").", ")(", ")[", "].", "](", "][")


def check_chains(source: str) -> None:
    """Refuse a chain of more than ``MAX_CHAIN`` calls, attributes and subscripts before libcst
    spends minutes on it. The scan runs only when the file chains often at all."""
    if sum(source.count(link) for link in _LINKS) < MAX_CHAIN:
        return
    found = _CHAIN.search(source)
    if found is not None:
        line = source.count("\n", 0, found.start()) + 1
        column = found.start() - (source.rfind("\n", 0, found.start()) + 1) + 1
        raise ParseError(
            f"not supported by the parser (libcst): a chain of more than {MAX_CHAIN} calls, attributes "
            "or subscripts; not parsed",
            line,
            column,
            "unsupported",
        )


def check_round_trip(module: cst.Module, source: str) -> None:
    """libcst drops a form feed that starts a statement's line; every offset after it would
    be off by one and a fix would land in the wrong place, so such a file is not parsed."""
    code = module.code
    if code == source:
        return
    offset = len(os.path.commonprefix([code, source]))
    line = source.count("\n", 0, offset) + 1
    detail = "a form feed that starts a line" if source[offset : offset + 1] == "\f" else "this text"
    raise ParseError(f"not supported by the parser (libcst): {detail} would be lost", line, 1, "unsupported")


def check_size(source: str, max_size: int | None = DEFAULT_MAX_FILE_SIZE) -> None:
    if max_size is None or len(source) * 4 <= max_size:  # UTF-8 takes at most 4 bytes a character
        return
    size = len(source) if len(source) > max_size else len(source.encode("utf-8", "surrogatepass"))
    if size > max_size:
        raise ParseError(
            f"file is {_megabytes(size)}, over the max-file-size of {_megabytes(max_size)}; not checked",
            kind="too-large",
        )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


_TOO_DEEP = ("too many nested parenthes", "too many levels of indentation", "too complex")


def python_syntax_error(source: str) -> ParseError | None:
    """Python's own complaint about ``source``, if any (CPython words them better than libcst)."""
    return _python_verdict(source)[1]


def _python_verdict(source: str) -> tuple[bool, ParseError | None]:
    """Whether CPython's parser accepts ``source``, and its complaint if it rejects it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like
            ast.parse(source)
    except SyntaxError as error:
        message = error.msg or "invalid syntax"
        kind: Kind = "too-deep" if any(text in message for text in _TOO_DEEP) else "syntax"
        return False, ParseError(f"syntax error: {message}", error.lineno or 1, error.offset or 1, kind)
    except (RecursionError, MemoryError):
        return False, None  # CPython gave up on a long chain that libcst may still take
    except ValueError as error:  # NUL bytes
        return False, ParseError(f"syntax error: {error}")
    return True, None


_OPEN = frozenset("([{")
_CLOSE = frozenset(")]}")


def check_nesting(source: str, limit: int = MAX_NESTING) -> None:
    """Raise a "too-deep" ``ParseError`` where brackets nest deeper than ``limit``.

    Counts bracket tokens, so brackets in strings and comments do not count; inside an
    f-string (one token before Python 3.12) every opening bracket counts, an upper bound.
    """
    depth = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.OP:
                if token.string in _OPEN:
                    depth += 1
                    if depth > limit:
                        _too_deep(token.start)
                elif token.string in _CLOSE:
                    depth = max(depth - 1, 0)
            elif token.type == tokenize.STRING and depth + token.string.count("{") > limit:
                if _fstring_openers(token.string) + depth > limit:
                    _too_deep(token.start)
    except (tokenize.TokenError, SyntaxError):
        return  # an unterminated string or bracket: the parsers say where


def _fstring_openers(string: str) -> int:
    prefix = re.match(r"[A-Za-z]*", string)
    if prefix is None or "f" not in prefix.group().lower():
        return 0
    return sum(string.count(bracket) for bracket in _OPEN)


def _too_deep(start: tuple[int, int]) -> None:
    line, column = start
    raise ParseError(
        f"brackets nested more than {MAX_NESTING} deep (Python's own limit); not parsed", line, column + 1, "too-deep"
    )


_LIBCST_POSITION = re.compile(r"^(?:parser|tokenizer) error: (?:error at (\d+):(\d+): )?")


def _libcst_complaint(error: cst.ParserSyntaxError) -> tuple[int, int, str]:
    """Line, column and text of libcst's message, whose own raw_line often says 1:1."""
    text = str(getattr(error, "message", error)).strip().splitlines()[0]
    line, column = error.raw_line, error.raw_column + 1
    match = _LIBCST_POSITION.match(text)
    if match:
        if match.group(1):
            line, column = int(match.group(1)), int(match.group(2)) + 1
        text = text[match.end() :]
    if text.startswith("expected one of ") and text.count(",") > 5:
        text = ", ".join(text.split(", ")[:6]) + ", ..."
    return line, column, text


# --- deep recursion ------------------------------------------------------------------------

# libcst's codegen takes about 2 Python frames per nesting level; CPython's own parser
# stops near 3,000 levels of a chain, so 50,000 frames is room for anything Python runs.
DEEP_RECURSION_LIMIT = 50_000
# A 2,500-level chain runs in 8 MB on 3.11 (Python calls no longer nest C frames); 3.10
# needs about 1 KB a frame. Virtual memory: only the pages touched are used.
DEEP_STACK_SIZE = 128 * 1024 * 1024

_deep = threading.local()
_deep_lock = threading.Lock()


def run_deep(function: Callable[..., T], *args: object, **kwargs: object) -> T:
    """``function(*args, **kwargs)`` in a thread with a big stack and a high recursion limit.

    Returns its result or raises its exception. Calls nest: inside ``run_deep`` it calls
    ``function`` directly. The recursion limit is process-wide, so it is raised only for
    the duration, under a lock, and other threads wait for the deep call to finish.
    """
    if getattr(_deep, "active", False):
        return function(*args, **kwargs)
    result: list[T] = []
    failure: list[BaseException] = []

    def body() -> None:
        _deep.active = True
        try:
            result.append(function(*args, **kwargs))
        except BaseException as error:  # handed back to the caller's thread
            failure.append(error)

    with _deep_lock:
        old_limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old_limit, DEEP_RECURSION_LIMIT))
        try:
            old_stack = threading.stack_size(DEEP_STACK_SIZE)
            try:
                worker = threading.Thread(target=body, name="autograd-lint-deep")
                worker.start()
            finally:
                threading.stack_size(old_stack)
            worker.join()
        finally:
            sys.setrecursionlimit(old_limit)
    if failure:
        raise failure[0]
    return result[0]
