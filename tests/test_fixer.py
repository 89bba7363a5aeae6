"""`--fix`: rounds of non-overlapping fixes, byte-exact writes, and never unparsable code."""

from __future__ import annotations

import ast
import os
import stat
from pathlib import Path

import pytest
from conftest import cli
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from autograd_lint.config import Config
from autograd_lint.engine import check_source, parse
from autograd_lint.finding import Edit, Finding, Fix
from autograd_lint.fixer import apply_fixes, apply_round, choose_fixes, fix_source

BAD = "import torch\nfrom torch.autograd import Variable\n\nx = Variable(torch.rand(5), requires_grad=True)\n"
FIXED = "import torch\n\nx = torch.rand(5, requires_grad=True)\n"
LOOP = "import torch\nfor x, y in loader:\n    loss = crit(model(x), y)\n    loss.backward()\n    optimizer.step()\n"
LOOP_FIXED = (
    "import torch\nfor x, y in loader:\n    optimizer.zero_grad()\n    loss = crit(model(x), y)\n"
    "    loss.backward()\n    optimizer.step()\n"
)


def finding(*edits: tuple[int, int, str], line: int = 1, applicability: str = "safe") -> Finding:
    fix = Fix("test", applicability, tuple(Edit(*e) for e in edits))
    return Finding("AGL999", "test", "m", "t.py", line, 1, line, 2, fix)


# --- the pure fixer -----------------------------------------------------------------------------


def test_safe_fixes_repeat_until_the_file_settles():
    result = fix_source(BAD, "t.py", Config())
    assert result.source == FIXED
    assert [f.line for f in result.fixed] == [2, 4]
    assert result.remaining == []


def test_unsafe_fixes_need_the_flag():
    assert fix_source(LOOP, "t.py", Config()).source == LOOP
    result = fix_source(LOOP, "t.py", Config(), unsafe=True)
    assert result.source == LOOP_FIXED
    assert [f.code for f in result.fixed] == ["AGL002"]


def test_choose_fixes_skips_overlapping_and_touching_fixes_until_the_next_round():
    first = finding((0, 5, "a"))
    overlapping = finding((3, 8, "b"), line=2)
    touching = finding((5, 5, "c"), line=3)
    apart = finding((6, 7, "d"), (9, 9, "e"), line=4)
    unsafe = finding((20, 21, "f"), applicability="unsafe")
    assert choose_fixes([apart, touching, overlapping, first, unsafe], unsafe=False) == [first, apart]
    assert choose_fixes([unsafe], unsafe=True) == [unsafe]


def test_a_fix_whose_own_edits_overlap_is_never_applied():
    assert choose_fixes([finding((0, 4, "a"), (2, 6, "b"))], unsafe=True) == []


def test_apply_fixes_applies_every_edit_of_each_fix_against_the_original_offsets():
    source = "abcdefghij"
    fixes = [finding((0, 1, "AA"), (9, 10, "J")).fix, finding((4, 4, "++")).fix]
    assert apply_fixes(source, fixes) == "AAbcd++efghiJ"


def test_a_round_that_breaks_parsing_keeps_only_the_fixes_that_do_not():
    source = "x = 1\ny = 2\nz = 3\n"
    breaking = finding((4, 5, "(1"), line=1)
    good_late = finding((16, 17, "30"), line=3)
    good_early = finding((10, 11, "20"), line=2)
    kept, text = apply_round(source, [breaking, good_early, good_late])
    assert text == "x = 1\ny = 20\nz = 30\n"
    assert sorted(f.line for f in kept) == [2, 3]


def test_a_single_fix_that_breaks_parsing_leaves_the_text_alone():
    kept, text = apply_round("a = 1\n", [finding((0, 1, "lambda"))])
    assert (kept, text) == ([], "a = 1\n")


# --- the command line ----------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_fix_writes_the_file_and_reports_what_was_fixed(folder):
    (folder / "bad.py").write_text(BAD)
    result = cli("--fix", "bad.py")
    assert result.stdout == "Found 2 problems (2 fixed, 0 remaining).\n"
    assert result.exit_code == 0
    assert (folder / "bad.py").read_text() == FIXED


def test_fix_exits_1_when_problems_remain(folder):
    (folder / "loop.py").write_text(BAD + LOOP.replace("import torch\n", ""))
    result = cli("--fix", "-q", "loop.py")
    assert result.exit_code == 1
    assert [line.split(" ")[1] for line in result.stdout.splitlines() if line.startswith("loop.py")] == ["AGL002"]
    assert cli("--fix", "--unsafe-fixes", "loop.py").exit_code == 0


def test_show_fixes_lists_the_fixes_applied(folder):
    (folder / "bad.py").write_text(BAD)
    assert cli("--fix", "--show-fixes", "bad.py").stdout.splitlines() == [
        "Fixed 2 problems:",
        "- bad.py:",
        "    2 x AGL003 (deprecated-variable)",
        "Found 2 problems (2 fixed, 0 remaining).",
    ]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("\ufeff" + BAD, "\ufeff" + FIXED),
        (BAD.replace("\n", "\r\n"), FIXED.replace("\n", "\r\n")),
        (BAD.replace("\n", "\r\n").rstrip("\r\n"), FIXED.replace("\n", "\r\n").rstrip("\r\n")),
        ("# -*- coding: latin-1 -*-\n# café\n" + BAD, "# -*- coding: latin-1 -*-\n# café\n" + FIXED),
        (BAD.replace("x = ", "if True:\n\tx = "), FIXED.replace("x = ", "if True:\n\tx = ")),
    ],
    ids=["bom", "crlf", "crlf-no-final-newline", "latin-1", "tabs"],
)
def test_fix_keeps_encoding_bom_and_newlines_byte_for_byte(folder, before, after):
    encoding = "latin-1" if "coding: latin-1" in before else "utf-8"
    path = folder / "odd.py"
    path.write_bytes(before.encode(encoding))
    assert cli("--fix", "odd.py").exit_code == 0
    assert path.read_bytes() == after.encode(encoding)


def test_fix_keeps_the_permission_bits_and_touches_only_files_that_change(folder):
    bad, clean = folder / "bad.py", folder / "clean.py"
    bad.write_text(BAD)
    bad.chmod(0o750)
    clean.write_text(FIXED)
    os.utime(clean, (1_000_000, 1_000_000))
    before = clean.stat()
    cli("--fix", ".")
    assert stat.S_IMODE(bad.stat().st_mode) == 0o750
    after = clean.stat()
    assert (after.st_ino, after.st_mtime) == (before.st_ino, before.st_mtime)
    assert sorted(p.name for p in folder.iterdir()) == ["bad.py", "clean.py"]  # no temporary left


def test_fix_through_a_symlink_keeps_the_link(folder):
    (folder / "real.py").write_text(BAD)
    (folder / "link.py").symlink_to("real.py")
    cli("--fix", "link.py")
    assert (folder / "link.py").is_symlink()
    assert (folder / "real.py").read_text() == FIXED


def test_diff_prints_a_patch_and_writes_nothing(folder):
    (folder / "bad.py").write_text(BAD)
    result = cli("--diff", "bad.py")
    assert result.stdout.splitlines() == [
        "--- a/bad.py",
        "+++ b/bad.py",
        "@@ -1,4 +1,3 @@",
        " import torch",
        "-from torch.autograd import Variable",
        " ",
        "-x = Variable(torch.rand(5), requires_grad=True)",
        "+x = torch.rand(5, requires_grad=True)",
    ]
    assert result.stderr == "Would fix 2 problems.\n"
    assert result.exit_code == 1
    assert (folder / "bad.py").read_text() == BAD
    (folder / "bad.py").write_text(FIXED)
    nothing = cli("--diff", "bad.py")
    assert (nothing.stdout, nothing.exit_code) == ("", 0)


def test_fix_does_not_touch_a_file_with_a_syntax_error(folder):
    text = BAD + "x.cuda(async=True)\n"
    (folder / "old.py").write_text(text)
    result = cli("--fix", "old.py")
    assert result.exit_code == 2
    assert result.stderr == "old.py:5:8: error: syntax error: invalid syntax\n"
    assert (folder / "old.py").read_text() == text


# --- the property: generated training scripts --------------------------------------------------

IMPORTS = [
    "import torch",
    "from torch.autograd import Variable",
    "import torch.nn as nn",
    "from torch.autograd import Variable as V",
    "import torch.optim as optim",
]
STATEMENTS = [
    "x = Variable(torch.rand(5), requires_grad=True)",
    "target = Variable(torch.ones(5))",
    "w = torch.zeros(3, requires_grad=True)",
    "v = V(w)",
    "dtype = torch.FloatTensor",
    "y = torch.FloatTensor([1, 2]).type(dtype)",
    "distance = torch.mean((x - target) ** 2)",
    "opt = torch.optim.SGD([w], lr=0.1)",
    "h = Variable(x, volatile=True)",
    "z = torch.ones(2, require_grad=True)",
    "model = nn.Linear(5, 1)",
    "print(x)  # trailing comment",
]
LOOP_HEADERS = ["for i in range(10):", "while step < 10:", "for x, y in loader:", "for epoch in range(3):"]
LOOP_BODY = [
    "loss = crit(model(x), y)",
    "loss = (w * 2).sum()",
    "loss.backward()",
    "distance.backward(retain_graph=True)",
    "opt.step()",
    "optimizer.step()",
    "opt.zero_grad()",
    "x.data.sub_(0.01 * x.grad.data)",
    "w -= 0.1 * w.grad",
    "w = w - 0.1 * w.grad",
    "total += loss",
    "losses.append(loss)",
    "x.grad.zero_()",
    "step += 1",
    "pass",
    "# a comment line",
]


@st.composite
def training_scripts(draw) -> str:
    unit = draw(st.sampled_from(["    ", "  ", "\t"]))
    lines = draw(st.lists(st.sampled_from(IMPORTS), min_size=0, max_size=3))
    lines += draw(st.lists(st.sampled_from(STATEMENTS), max_size=4))

    def block(depth: int, budget: int) -> list[str]:
        out: list[str] = []
        for _ in range(draw(st.integers(1, budget))):
            kind = draw(st.sampled_from(["stmt", "stmt", "stmt", "with", "if"] if depth < 3 else ["stmt"]))
            if kind == "stmt":
                out.append(unit * depth + draw(st.sampled_from(LOOP_BODY + STATEMENTS)))
            else:
                out.append(unit * depth + ("with torch.no_grad():" if kind == "with" else "if i % 2 == 0:"))
                out.extend(block(depth + 1, 2))
        if all(line.lstrip().startswith("#") for line in out):
            out.append(unit * depth + "pass")  # a block of comments alone is no block
        return out

    in_function = draw(st.booleans())
    depth = 1 if in_function else 0
    if in_function:
        lines.append("def train(model, loader, opt):")
    for _ in range(draw(st.integers(0, 2))):
        lines.append(unit * depth + draw(st.sampled_from(LOOP_HEADERS)))
        lines.extend(block(depth + 1, 6))
    if in_function and not lines[-1].startswith(unit):
        lines.append(unit + "pass")
    blank_or_space = st.sampled_from(["", "", " ", "  # note"])
    lines = [line + draw(blank_or_space) if not line.rstrip().endswith(":") else line for line in lines]
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(lines)
    return text + draw(st.sampled_from([newline, ""]))


def _fix_through_cli(source: str, unsafe: bool) -> bytes:
    args = ["--fix", "-q", *(["--unsafe-fixes"] if unsafe else []), "-"]
    result = cli(*args, input=source.encode())
    assert result.exit_code in (0, 1), result.stderr
    return result.stdout_bytes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(training_scripts())
def test_fix_never_breaks_parsing_and_never_changes_a_clean_file(source):
    ast.parse(source)  # the generator writes valid Python
    findings = check_source(source, "gen.py", Config())
    for unsafe in (False, True):
        fixed = _fix_through_cli(source, unsafe).decode()
        parse(fixed)
        ast.parse(fixed)
        if not findings:
            assert fixed == source


def _safe_fix_changes(source: str) -> bool:
    return fix_source(source, "gen.py", Config()).source != source


def _unsafe_fix_adds_to_safe(source: str) -> bool:
    return fix_source(source, "gen.py", Config(), unsafe=True).source != fix_source(source, "gen.py", Config()).source


@pytest.mark.parametrize("changes", [_safe_fix_changes, _unsafe_fix_adds_to_safe])
def test_the_generator_reaches_scripts_that_each_kind_of_fix_changes(changes):
    # Without this the property above could pass on scripts no fix ever touches.
    find(training_scripts(), changes, settings=settings(max_examples=300, deadline=None, database=None))
