"""ruff's conventions, where a ruff user reaches for them first: --add-noqa, AGL900, exit-code
switches, option aliases, colour and a suggestion for a mistyped subcommand."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from conftest import cli

LOOP = textwrap.dedent(
    """\
    import torch
    from torch.autograd import Variable

    for x, y in loader:
        loss = crit(model(x), y)
        loss.backward()
        optimizer.step()
    w = Variable(torch.ones(1))  # keep this note
    v = Variable(torch.ones(1))  # noqa: AGL008
    """
)


def codes(result) -> list[tuple[int, str]]:
    return [(item["line"], item["code"]) for item in json.loads(result.stdout)]


# --- --add-noqa ------------------------------------------------------------------------------


def test_add_noqa_then_a_recheck_is_clean_with_only_noqa_comments_added(in_tmp: Path):
    (in_tmp / "train.py").write_text(LOOP)
    added = cli("--add-noqa", "train.py")
    assert (added.exit_code, added.stdout, added.stderr) == (0, "", "Added 4 noqa directives.\n")
    after = (in_tmp / "train.py").read_text()
    assert after == textwrap.dedent(
        """\
        import torch
        from torch.autograd import Variable  # noqa: AGL003

        for x, y in loader:
            loss = crit(model(x), y)
            loss.backward()  # noqa: AGL002
            optimizer.step()
        w = Variable(torch.ones(1))  # keep this note  # noqa: AGL003
        v = Variable(torch.ones(1))  # noqa: AGL008, AGL003
        """
    )
    recheck = cli("train.py")
    assert (recheck.exit_code, recheck.stdout) == (0, "All checks passed!\n")
    # Nothing left to add: the file stays as it is.
    assert cli("--add-noqa", "train.py").stderr == "Added 0 noqa directives.\n"
    assert (in_tmp / "train.py").read_text() == after


def test_add_noqa_on_a_line_that_ends_inside_a_string_goes_where_the_string_ends(in_tmp: Path):
    source = textwrap.dedent(
        '''\
        import torch
        from torch.autograd import Variable
        x = describe("""a note
        """, Variable(torch.ones(1)), """and
        another""")
        y = 1 + \\
            Variable(torch.ones(1))
        '''
    )
    (in_tmp / "s.py").write_text(source)
    assert [line for line, _ in codes(cli("--format", "json", "s.py"))] == [2, 4, 7]
    assert cli("--add-noqa", "s.py").exit_code == 0
    lines = (in_tmp / "s.py").read_text().splitlines()
    assert lines[4] == 'another""")  # noqa: AGL003'  # the string's last line: a real comment
    assert lines[3] == '""", Variable(torch.ones(1)), """and'  # untouched: inside a string
    assert lines[6] == "    Variable(torch.ones(1))  # noqa: AGL003"
    assert cli("s.py").stdout == "All checks passed!\n"
    import ast

    assert ast.literal_eval(ast.parse((in_tmp / "s.py").read_text()).body[2].value.args[2]) == "and\nanother"


def test_add_noqa_refuses_to_be_combined_with_fix(in_tmp: Path):
    (in_tmp / "train.py").write_text(LOOP)
    result = cli("--add-noqa", "--fix", "train.py")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --add-noqa edits files in place")
    assert (in_tmp / "train.py").read_text() == LOOP


# --- AGL900 unused-noqa ----------------------------------------------------------------------


UNUSED = textwrap.dedent(
    """\
    import torch
    from torch.autograd import Variable  # noqa: AGL003
    x = torch.ones(1)  # noqa: AGL003, E501
    y = torch.ones(1)  # noqa
    z = torch.ones(1)  # noqa: AGL077
    """
)


def test_unused_noqa_is_off_by_default_even_for_select_agl(in_tmp: Path):
    (in_tmp / "u.py").write_text(UNUSED)
    assert cli("u.py").stdout == "All checks passed!\n"
    assert cli("--select", "AGL", "u.py").exit_code == 0
    assert cli("--select", "ALL", "u.py").exit_code == 0


def test_unused_noqa_reports_codes_blankets_and_unknown_codes_and_fixes_them(in_tmp: Path):
    (in_tmp / "u.py").write_text(UNUSED)
    result = cli("--extend-select", "AGL900", "--format", "json", "u.py")
    assert [(i["line"], i["code"], i["message"]) for i in json.loads(result.stdout)] == [
        (3, "AGL900", "unused `noqa` directive (unused: `AGL003`)"),
        (4, "AGL900", "unused blanket `noqa` directive: it suppresses no finding"),
        (5, "AGL900", "unused `noqa` directive (no such rule: `AGL077`)"),
    ]
    fixed = cli("--extend-select", "AGL900", "--fix", "u.py")
    assert fixed.exit_code == 0, fixed.stdout
    assert (in_tmp / "u.py").read_text() == textwrap.dedent(
        """\
        import torch
        from torch.autograd import Variable  # noqa: AGL003
        x = torch.ones(1)  # noqa: E501
        y = torch.ones(1)
        z = torch.ones(1)
        """
    )


def test_a_noqa_for_a_rule_that_is_switched_off_is_not_judged(in_tmp: Path):
    (in_tmp / "u.py").write_text(UNUSED)
    result = cli("--extend-select", "AGL900", "--ignore", "AGL003", "--format", "json", "u.py")
    assert [i["line"] for i in json.loads(result.stdout)] == [4, 5]


# --- exit codes and aliases ----------------------------------------------------------------------


def test_exit_zero_reports_but_passes(in_tmp: Path):
    (in_tmp / "train.py").write_text(LOOP)
    result = cli("--exit-zero", "train.py")
    assert result.exit_code == 0
    assert "AGL002" in result.stdout
    (in_tmp / "broken.py").write_text("def f(:\n")
    assert cli("--exit-zero", "broken.py").exit_code == 2  # not checked is still not checked


def test_exit_non_zero_on_fix(in_tmp: Path):
    (in_tmp / "v.py").write_text("import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(1))\n")
    result = cli("--fix", "--exit-non-zero-on-fix", "v.py")
    assert result.stdout == "Found 2 problems (2 fixed, 0 remaining).\n"
    assert result.exit_code == 1
    assert cli("--fix", "--exit-non-zero-on-fix", "v.py").exit_code == 0  # nothing left to fix


def test_output_format_is_another_name_for_format_and_v_for_version(in_tmp: Path):
    (in_tmp / "train.py").write_text(LOOP)
    assert cli("--output-format", "json", "train.py").stdout == cli("--format", "json", "train.py").stdout
    assert cli("-V").stdout == cli("--version").stdout


@pytest.mark.parametrize(
    ("args", "env", "colored"),
    [
        (["--color", "always"], {}, True),
        (["--color", "never"], {"FORCE_COLOR": "1"}, False),
        (["--no-color"], {"FORCE_COLOR": "1"}, False),
        ([], {"FORCE_COLOR": "1"}, True),
        ([], {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
        (["--color", "always"], {"NO_COLOR": "1"}, True),
        ([], {}, False),  # not a terminal
    ],
)
def test_color_choices_and_environment(in_tmp: Path, monkeypatch, args, env, colored):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    (in_tmp / "train.py").write_text(LOOP)
    assert ("\x1b[" in cli(*args, "train.py").stdout) is colored


def test_a_mistyped_subcommand_gets_a_suggestion(in_tmp: Path):
    result = cli("explian", "AGL002")
    assert result.exit_code == 2
    assert result.stderr == (
        "autograd-lint: error: unknown command 'explian'; did you mean `explain`? (a path, if meant, does not exist)\n"
    )
    assert cli("rulse").stderr.startswith("autograd-lint: error: unknown command 'rulse'; did you mean `rules`?")


def test_a_path_that_looks_like_a_subcommand_is_still_a_path(in_tmp: Path):
    (in_tmp / "rulse").mkdir()
    (in_tmp / "rulse" / "train.py").write_text(LOOP)
    assert "rulse/train.py:6:5: AGL002" in cli("rulse").stdout
    missing = cli("nothing.py")
    assert missing.stderr == "nothing.py: error: no such file or directory\n"
