"""What a user sees from `autograd-lint`: the exact lines, streams and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import cli

from autograd_lint.cli import main

BAD = "import torch\nfrom torch.autograd import Variable\n\nx = Variable(torch.rand(5), requires_grad=True)\n"
CLEAN = "import torch\n\nx = torch.rand(5, requires_grad=True)\n"
MESSAGE = "`torch.autograd.Variable` is deprecated; use tensors directly"
BAD_REPORT = [
    f"bad.py:2:28: AGL003 [*] [deprecated-variable] {MESSAGE}",
    "from torch.autograd import Variable",
    "                           ^^^^^^^^",
    f"bad.py:4:5: AGL003 [*] [deprecated-variable] {MESSAGE}",
    "x = Variable(torch.rand(5), requires_grad=True)",
    "    " + "^" * 43,
    "Found 2 problems (2 fixable with --fix).",
]
# A loop that never clears its gradients: AGL002, whose fix is unsafe.
LOOP = "import torch\nfor x, y in loader:\n    loss = crit(model(x), y)\n    loss.backward()\n    optimizer.step()\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    (tmp_path / "bad.py").write_text(BAD)
    (tmp_path / "clean.py").write_text(CLEAN)
    return tmp_path


def lines(text: str) -> list[str]:
    return text.splitlines()


def test_findings_are_listed_with_source_and_carets_and_exit_1(project):
    result = cli("bad.py")
    assert lines(result.stdout) == BAD_REPORT
    assert result.stderr == ""
    assert result.exit_code == 1


def test_check_is_the_default_command(project):
    assert cli("check", "bad.py").stdout == cli("bad.py").stdout


def test_clean_file_passes_with_exit_0(project):
    result = cli("clean.py")
    assert result.stdout == "All checks passed!\n"
    assert result.exit_code == 0


def test_folder_is_walked_and_default_is_the_current_folder(project):
    (project / "pkg").mkdir()
    (project / "pkg" / "more.py").write_text(BAD)
    result = cli("--statistics")
    assert result.stdout == "4\tAGL003\t[*] deprecated-variable\n"
    listed = cli("-q", ".").stdout
    assert [line.split(":")[0] for line in lines(listed) if "AGL003" in line] == ["bad.py"] * 2 + ["pkg/more.py"] * 2


def test_syntax_error_is_one_line_exit_2_and_the_other_files_are_still_checked(project):
    (project / "old.py").write_text("import torch\nx = torch.ones(1)\nx.cuda(async=True)\n")
    result = cli("old.py", "bad.py")
    assert result.stderr == "old.py:3:8: error: syntax error: invalid syntax\n"
    assert lines(result.stdout) == BAD_REPORT + ["1 path could not be checked."]
    assert result.exit_code == 2


def test_syntax_error_is_reported_even_where_no_rule_could_fire(project):
    (project / "broken.py").write_text("def f(:\n    pass\n")
    result = cli("broken.py")
    assert result.stderr == "broken.py:1:7: error: syntax error: invalid syntax\n"
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("binary.py", b"import torch\x00\x01\x02", "binary file (contains NUL bytes)"),
        ("latin.py", b"x = '\xe9'\n", "cannot decode as utf-8: invalid byte b'\\xe9' at offset 5"),
        ("cookie.py", b"# -*- coding: klingon -*-\nx = 1\n", "cannot decode: unknown encoding: klingon"),
    ],
)
def test_unreadable_content_is_one_clear_line(project, name, content, message):
    (project / name).write_bytes(content)
    result = cli(name, "clean.py")
    assert result.stderr == f"{name}: error: {message}\n"
    assert result.stdout == "1 path could not be checked.\n"
    assert result.exit_code == 2


def test_missing_path_and_dangling_link_are_one_line_each(project):
    (project / "gone.py").symlink_to(project / "nowhere.py")
    result = cli("missing.py", "gone.py", "clean.py")
    assert lines(result.stderr) == [
        "missing.py: error: no such file or directory",
        "gone.py: error: no such file or directory",
    ]
    assert result.stdout == "2 paths could not be checked.\n"
    assert result.exit_code == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_file_without_read_permission(project):
    (project / "bad.py").chmod(0)
    result = cli("bad.py")
    assert result.stderr == "bad.py: error: permission denied\n"
    assert result.exit_code == 2


def test_folder_named_like_a_python_file_is_walked_not_read(project):
    (project / "odd.py").mkdir()
    (project / "odd.py" / "inner.py").write_text(BAD)
    result = cli("-q", "odd.py")
    assert result.stderr == ""
    assert lines(result.stdout)[0].startswith("odd.py/inner.py:2:28: AGL003")


@pytest.mark.parametrize(
    ("content", "position"),
    [
        (b"\xef\xbb\xbf" + BAD.encode(), "4:5"),  # a BOM: columns count from the first real character
        (BAD.replace("\n", "\r\n").encode(), "4:5"),
        (b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + BAD.encode(), "6:5"),
        (BAD.replace("x = ", "if True:\n\tx = ").encode(), "5:6"),
    ],
    ids=["bom", "crlf", "latin-1", "tabs"],
)
def test_encodings_and_newline_styles_are_checked_normally(project, content, position):
    (project / "odd.py").write_bytes(content)
    result = cli("-q", "odd.py")
    assert result.stderr == ""
    assert f"odd.py:{position}: AGL003 [*] [deprecated-variable] {MESSAGE}" in lines(result.stdout)
    assert result.exit_code == 1


def test_help_documents_the_exit_codes():
    for args in ([], ["check"]):
        text = " ".join(cli(*args, "--help").stdout.split())
        assert "0 no problems found" in text
        assert "1 problems found" in text
        assert "2 something could not be checked: a syntax error, an unreadable file" in text


def test_bad_option_is_exit_2(project):
    result = cli("--format", "xml", "bad.py")
    assert result.exit_code == 2
    assert "Invalid value for '--format'" in result.stderr


@pytest.mark.parametrize(
    ("args", "codes"),
    [
        (["--select", "AGL008"], ["AGL008"]),
        (["--select", "legacy-tensor-type"], ["AGL008"]),
        (["--select", "AGL00", "--ignore", "deprecated-variable"], ["AGL008"]),
        (["--ignore", "AGL003,AGL008"], []),
        (["--select", "AGL003", "--extend-select", "AGL008"], ["AGL003", "AGL003", "AGL008"]),
    ],
)
def test_rule_selection(project, args, codes):
    (project / "both.py").write_text(BAD + "y = torch.FloatTensor([1])\n")
    result = cli("-q", "--format", "json", *args, "both.py")
    assert [item["code"] for item in json.loads(result.stdout)] == codes
    assert result.exit_code == (1 if codes else 0)


def test_unknown_selector_is_exit_2_with_one_line(project):
    result = cli("--select", "AGL5", "bad.py")
    assert result.stderr == "error: --select: unknown rule selector 'AGL5' (see 'autograd-lint rules')\n"
    assert result.exit_code == 2


def test_json_output(project):
    result = cli("--format", "json", "bad.py")
    items = json.loads(result.stdout)
    assert items[1] == {
        "path": "bad.py",
        "cell": None,  # a notebook's findings name their cell
        "line": 4,
        "column": 5,
        "end_line": 4,
        "end_column": 48,
        "code": "AGL003",
        "name": "deprecated-variable",
        "message": MESSAGE,
        "url": "https://github.com/autograd-lint/autograd-lint/blob/main/docs/rules/AGL003.md",
        "fix": {
            "description": "Use the tensor itself",
            "applicability": "safe",
            "edits": [
                {
                    "start": 54,
                    "end": 97,
                    "content": "torch.rand(5, requires_grad=True)",
                    "location": {"line": 4, "column": 5},
                    "end_location": {"line": 4, "column": 48},
                }
            ],
        },
    }


def test_github_annotations(project):
    result = cli("--format", "github", "bad.py")
    assert lines(result.stdout)[1] == (
        f"::error file=bad.py,line=4,col=5,endLine=4,endColumn=48,title=AGL003 deprecated-variable::{MESSAGE}"
    )


def test_sarif_points_at_the_file_relative_to_the_source_root(project):
    log = json.loads(cli("--format", "sarif", "bad.py").stdout)
    result = log["runs"][0]["results"][1]
    assert result["ruleId"] == "AGL003"
    assert result["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "bad.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 4, "startColumn": 5, "endLine": 4, "endColumn": 48},
    }
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert rules[result["ruleIndex"]]["id"] == "AGL003"


def test_output_file_gets_the_report_and_stdout_stays_empty(project):
    result = cli("--output", "report.txt", "bad.py")
    assert result.stdout == ""
    assert lines((project / "report.txt").read_text()) == BAD_REPORT
    assert result.exit_code == 1


def test_quiet_prints_only_the_problems(project):
    assert cli("-q", "clean.py").stdout == ""
    assert lines(cli("-q", "bad.py").stdout) == BAD_REPORT[:-1]


def test_show_fixes_says_what_each_fix_does(project):
    (project / "loop.py").write_text(LOOP)
    out = lines(cli("--show-fixes", "loop.py").stdout)
    assert out[3].startswith("  help: ")
    assert out[3].endswith("(unsafe: needs --unsafe-fixes)")
    assert out[-1] == "Found 1 problem (1 fixable with --fix --unsafe-fixes)."


def test_stdin_is_checked_under_its_given_name(project):
    result = cli("-q", "--stdin-filename", "train.py", "-", input=BAD)
    assert lines(result.stdout)[0] == f"train.py:2:28: AGL003 [*] [deprecated-variable] {MESSAGE}"
    assert result.exit_code == 1


def test_stdin_with_fix_writes_the_fixed_source_to_stdout(project):
    result = cli("--fix", "-", input=BAD)
    assert result.stdout == "import torch\n\nx = torch.rand(5, requires_grad=True)\n"
    assert result.stderr == "Found 2 problems (2 fixed, 0 remaining).\n"
    assert result.exit_code == 0


def test_no_color_off_a_terminal_and_color_is_not_forced_into_files(project):
    assert "\x1b[" not in cli("bad.py").stdout
    cli("--output", "r.txt", "bad.py")
    assert "\x1b[" not in (project / "r.txt").read_text()


def test_parallel_jobs_give_the_same_report(project):
    for index in range(10):
        (project / f"copy{index}.py").write_text(BAD)
    serial = cli("-j", "1", ".")
    parallel = cli("-j", "2", ".")
    assert parallel.stdout == serial.stdout
    assert lines(serial.stdout)[-1] == "Found 22 problems (22 fixable with --fix)."


def test_rules_lists_the_catalog(project):
    out = lines(cli("rules").stdout)
    line = next(line for line in out if line.startswith("AGL003"))
    assert line.split()[:4] == ["AGL003", "deprecated-variable", "safe", "fix"]
    assert "Flags every use of `torch.autograd.Variable`" in line
    rows = json.loads(cli("rules", "--format", "json").stdout)
    assert {"code": "AGL003", "name": "deprecated-variable", "fix": "safe"}.items() <= rows[
        [r["code"] for r in rows].index("AGL003")
    ].items()


def test_explain_prints_the_fixed_sections_in_order():
    by_code = cli("explain", "AGL003")
    assert by_code.exit_code == 0
    assert by_code.stdout == cli("explain", "deprecated-variable").stdout
    out = lines(by_code.stdout)
    assert out[:3] == ["# AGL003 deprecated-variable", "", "Fix: safe (autograd-lint --fix)"]
    headings = [line for line in out if line.startswith("## ")]
    assert headings[:5] == [
        "## What it does",
        "## Why is this bad?",
        "## Example",
        "## Use instead",
        "## Known false positives",
    ]


def test_explain_unknown_rule_is_exit_2():
    result = cli("explain", "AGL999")
    assert result.stderr == "autograd-lint: error: unknown rule 'AGL999' (see 'autograd-lint rules')\n"
    assert result.exit_code == 2


@pytest.mark.slow
def test_console_script_and_module_run_the_same_command(project):
    script = Path(sys.executable).with_name("autograd-lint")
    for command in ([str(script)], [sys.executable, "-m", "autograd_lint"]):
        completed = subprocess.run([*command, "bad.py"], capture_output=True, text=True)
        assert completed.returncode == 1
        assert completed.stdout.splitlines() == BAD_REPORT


@pytest.mark.slow
def test_the_runtime_commands_are_registered_and_checking_never_imports_torch(project):
    assert {"check", "rules", "explain", "run", "demo"} <= set(main.commands)
    code = "import sys; from autograd_lint.cli import main; main(['-q', 'bad.py'])"
    probe = f"import atexit, sys; atexit.register(lambda: print('torch' in sys.modules, file=sys.stderr)); {code}"
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert completed.returncode == 1
    assert completed.stderr.strip() == "False"


def test_a_folder_without_python_files_warns_and_passes(project):
    (project / "empty").mkdir()
    result = cli("empty")
    # The warning is the last word: nothing was checked, so nothing "passed".
    assert (result.stderr, result.stdout, result.exit_code) == ("warning: no Python files found\n", "", 0)


def test_stdin_with_fix_passes_a_broken_source_through_unchanged(project):
    broken = b"import torch\nx.cuda(async=True)\n"
    result = CliRunner().invoke(main, ["--fix", "-"], input=broken)
    assert result.stdout_bytes == broken
    assert result.stderr == "<stdin>:2:8: error: syntax error: invalid syntax\n1 path could not be checked.\n"
    assert result.exit_code == 2


def test_an_explicit_ignored_file_is_checked_unless_force_exclude(project):
    (project / ".gitignore").write_text("bad.py\n")
    assert cli("-q", "bad.py").exit_code == 1
    skipped = cli("--force-exclude", "bad.py")
    assert (skipped.stdout, skipped.stderr, skipped.exit_code) == ("", "warning: no Python files found\n", 0)
    assert cli("-q", "--force-exclude", "--stdin-filename", "bad.py", "-", input=BAD).stdout == ""
    assert cli("--fix", "--force-exclude", "--stdin-filename", "bad.py", "-", input=BAD).stdout == BAD


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run the command with stdout on a pseudo-terminal; return what it printed there."""
    import pty

    leader, follower = pty.openpty()
    completed = subprocess.run(
        [sys.executable, "-m", "autograd_lint", *args], stdout=follower, stderr=subprocess.PIPE, env=env, timeout=60
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: all read
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert completed.returncode == 1, completed.stderr
    return b"".join(chunks).decode()


@pytest.mark.slow
def test_color_on_a_terminal_unless_no_color(project):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    assert "\x1b[31m\x1b[1mAGL003\x1b[0m" in _on_a_terminal(["bad.py"], env)
    assert "\x1b[" not in _on_a_terminal(["bad.py"], {**env, "NO_COLOR": "1"})
    assert "\x1b[" not in _on_a_terminal(["--no-color", "bad.py"], env)


def test_version():
    from autograd_lint import __version__

    assert cli("--version").stdout == f"autograd-lint, version {__version__}\n"
