"""The formatters are pure functions from findings to text; these pin the text."""

from __future__ import annotations

import json

import pytest

from autograd_lint.finding import Edit, Finding, Fix
from autograd_lint.formatters import render, render_error, render_statistics, summary_line


def finding(
    line=2,
    column=5,
    end_line=2,
    end_column=9,
    code="AGL001",
    name="stale-graph",
    message="m",
    path="t.py",
    applicability=None,
) -> Finding:
    fix = Fix("do it", applicability, (Edit(0, 1, "y"),)) if applicability else None
    return Finding(code, name, message, path, line, column, end_line, end_column, fix)


SOURCE = "import torch\nfor i in range(3):\n    loss.backward()\n"


def test_text_lists_location_code_name_and_message_with_a_summary():
    assert render([finding(line=3, column=5, end_column=20)], "text") == (
        "t.py:3:5: AGL001 [stale-graph] m\nFound 1 problem.\n"
    )


def test_text_shows_the_source_line_with_carets_under_the_range():
    text = render([finding(line=3, column=5, end_column=20)], "text", sources={"t.py": SOURCE}, summary=False)
    assert text.splitlines() == [
        "t.py:3:5: AGL001 [stale-graph] m",
        "    loss.backward()",
        "    ^^^^^^^^^^^^^^^",
    ]


def test_a_range_over_several_lines_is_underlined_to_the_end_of_its_first_line():
    text = render(
        [finding(line=2, column=1, end_line=3, end_column=20)], "text", sources={"t.py": SOURCE}, summary=False
    )
    assert text.splitlines()[1:] == ["for i in range(3):", "^" * 18]


def test_carets_keep_the_tabs_of_the_line_so_they_line_up():
    source = "if x:\n\ty = Variable(t)  # why\n"
    text = render([finding(line=2, column=6, end_column=17)], "text", sources={"t.py": source}, summary=False)
    assert text.splitlines()[1:] == ["\ty = Variable(t)  # why", "\t    ^^^^^^^^^^^"]


def test_crlf_source_lines_carry_no_carriage_return():
    text = render([finding(line=1, column=1, end_column=6)], "text", sources={"t.py": "x = 1\r\ny\r\n"}, summary=False)
    assert text.splitlines()[1:] == ["x = 1", "^^^^^"]


def test_safe_fixes_are_marked_and_unsafe_ones_only_when_enabled():
    safe, unsafe = finding(applicability="safe"), finding(applicability="unsafe", line=3)
    assert render([safe, unsafe], "text").splitlines() == [
        "t.py:2:5: AGL001 [*] [stale-graph] m",
        "t.py:3:5: AGL001 [stale-graph] m",
        "Found 2 problems (1 fixable with --fix, 1 more with --unsafe-fixes).",
    ]
    assert render([unsafe], "text", unsafe_fixes=True).splitlines() == [
        "t.py:3:5: AGL001 [*] [stale-graph] m",
        "Found 1 problem (1 fixable with --fix).",
    ]


@pytest.mark.parametrize(
    ("applicabilities", "kwargs", "line"),
    [
        ([], {}, "Found 0 problems."),
        ([None, None], {}, "Found 2 problems."),
        (["unsafe"], {}, "Found 1 problem (1 fixable with --fix --unsafe-fixes)."),
        (["safe", "safe", None], {}, "Found 3 problems (2 fixable with --fix)."),
        ([None], {"fixed": 4}, "Found 5 problems (4 fixed, 1 remaining)."),
    ],
)
def test_summary_line(applicabilities, kwargs, line):
    assert summary_line([finding(applicability=a) for a in applicabilities], **kwargs) == line


def test_color_is_only_added_when_asked():
    plain = render([finding()], "text")
    colored = render([finding()], "text", color=True)
    assert "\x1b[" not in plain
    assert "\x1b[" in colored
    assert colored.replace("\x1b[1m", "").replace("\x1b[31m", "").replace("\x1b[0m", "") == plain


def test_findings_are_sorted_by_path_then_position():
    items = [finding(path="b.py"), finding(path="a.py", line=9), finding(path="a.py", line=3)]
    assert [line.split(":", 2)[:2] for line in render(items, "text", summary=False).splitlines()] == [
        ["a.py", "3"],
        ["a.py", "9"],
        ["b.py", "2"],
    ]


def test_json_without_sources_gives_edit_offsets_only():
    [item] = json.loads(render([finding(applicability="safe")], "json"))
    assert item["fix"] == {
        "description": "do it",
        "applicability": "safe",
        "edits": [{"start": 0, "end": 1, "content": "y"}],
    }
    assert json.loads(render([finding()], "json"))[0]["fix"] is None
    assert render([], "json") == "[]\n"


def test_github_escapes_data_and_properties():
    item = finding(path="dir,x/a:b.py", message="100% wrong\nsee docs", name="stale-graph")
    assert render([item], "github") == (
        "::error file=dir%2Cx/a%3Ab.py,line=2,col=5,endLine=2,endColumn=9,"
        "title=AGL001 stale-graph::100%25 wrong%0Asee docs\n"
    )


def test_sarif_has_what_github_code_scanning_reads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    log = json.loads(render([finding(code="AGL003", name="deprecated-variable", path="src/a b.py")], "sarif"))
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "autograd-lint"
    assert driver["informationUri"].startswith("https://")
    assert driver["version"]
    rule = driver["rules"][run["results"][0]["ruleIndex"]]
    assert rule["id"] == "AGL003"
    assert rule["name"] == "deprecated-variable"
    assert rule["shortDescription"]["text"].startswith("Flags every use of `torch.autograd.Variable`")
    assert rule["fullDescription"]["text"]
    assert "## Why is this bad?" in rule["help"]["markdown"]
    [result] = run["results"]
    assert result["level"] == "error"
    assert result["message"] == {"text": "m"}
    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "src/a%20b.py",
        "uriBaseId": "%SRCROOT%",
    }


def test_sarif_outside_the_working_folder_uses_an_absolute_uri(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    log = json.loads(render([finding(path="/elsewhere/a.py")], "sarif"))
    assert log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "file:///elsewhere/a.py"
    }


def test_sarif_describes_codes_the_catalog_lacks():
    log = json.loads(render([finding(code="AGL101", name="runtime-stale-graph")], "sarif"))
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert rules[log["runs"][0]["results"][0]["ruleIndex"]]["id"] == "AGL101"


def test_statistics_count_per_code_most_frequent_first():
    items = [finding(code="AGL003", name="deprecated-variable", applicability="safe")] * 3 + [finding()]
    assert render_statistics(items, "text") == "3\tAGL003\t[*] deprecated-variable\n1\tAGL001\tstale-graph\n"
    assert json.loads(render_statistics(items, "json"))[1] == {
        "code": "AGL001",
        "name": "stale-graph",
        "count": 1,
        "fixable": False,
    }


def test_errors_are_one_line_with_or_without_a_position():
    assert render_error("a.py", "syntax error: invalid syntax", 3, 8) == "a.py:3:8: error: syntax error: invalid syntax"
    assert render_error("b.py", "binary file (contains NUL bytes)") == "b.py: error: binary file (contains NUL bytes)"


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        render([], "xml")
