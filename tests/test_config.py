"""`[tool.autograd-lint]` as the command line reads it: found, applied, overridden, refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import cli

# AGL003 on lines 2 and 4, AGL008 on line 5.
BAD = (
    "import torch\nfrom torch.autograd import Variable\n\nx = Variable(torch.rand(5), requires_grad=True)\n"
    "y = torch.FloatTensor([1])\n"
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "src" / "legacy").mkdir(parents=True)
    (tmp_path / "src" / "train.py").write_text(BAD)
    (tmp_path / "src" / "legacy" / "old.py").write_text(BAD)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def configure(project: Path, table: str) -> None:
    (project / "pyproject.toml").write_text(f"[project]\nname = 'x'\n\n[tool.autograd-lint]\n{table}\n")


def codes(*args: str) -> list[tuple[str, str]]:
    result = cli("--format", "json", *args)
    assert result.exit_code in (0, 1), result.stderr
    return [(item["path"], item["code"]) for item in json.loads(result.stdout)]


def test_select_and_ignore_from_pyproject(project):
    configure(project, 'select = ["AGL00"]\nignore = ["deprecated-variable"]')
    assert codes("src") == [("src/legacy/old.py", "AGL008"), ("src/train.py", "AGL008")]


def test_per_file_ignores_match_paths_relative_to_the_pyproject(project):
    configure(project, '[tool.autograd-lint.per-file-ignores]\n"src/legacy/*" = ["AGL003", "AGL008"]')
    assert [c for p, c in codes("src") if p == "src/legacy/old.py"] == []
    assert [c for p, c in codes("src") if p == "src/train.py"] == ["AGL003", "AGL003", "AGL008"]


def test_exclude_and_extend_exclude_from_pyproject(project):
    configure(project, 'extend-exclude = ["legacy"]')
    assert {p for p, _ in codes(".")} == {"src/train.py"}


def test_config_is_found_from_the_common_parent_of_the_paths(project, tmp_path, monkeypatch):
    configure(project, 'ignore = ["AGL003"]')
    elsewhere = tmp_path.parent / f"{tmp_path.name}-cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert {c for _, c in codes(str(project / "src" / "train.py"), str(project / "src" / "legacy"))} == {"AGL008"}


def test_a_pyproject_without_our_table_is_passed_over_for_one_further_up(project):
    configure(project, 'ignore = ["AGL008"]')
    (project / "src" / "pyproject.toml").write_text("[project]\nname = 'inner'\n")
    assert {c for _, c in codes("src/train.py")} == {"AGL003"}


def test_the_command_line_wins(project):
    configure(project, 'select = ["AGL008"]\nignore = ["AGL003"]')
    assert {c for _, c in codes("--select", "AGL003", "src/train.py")} == {"AGL003"}
    assert {c for _, c in codes("--extend-select", "AGL003", "--ignore", "AGL008", "src/train.py")} == set()
    configure(project, 'exclude = ["legacy"]')
    assert {p for p, _ in codes("--exclude", "nothing", ".")} == {"src/train.py", "src/legacy/old.py"}
    configure(project, 'extend-exclude = ["legacy"]')
    assert {p for p, _ in codes("--extend-exclude", "train.py", ".")} == set()


def test_config_option_reads_a_file_of_its_own(project):
    (project / "lint.toml").write_text('select = ["AGL008"]\n')
    assert {c for _, c in codes("--config", "lint.toml", "src/train.py")} == {"AGL008"}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('selekt = ["AGL003"]', "unknown key [tool.autograd-lint] 'selekt'"),
        ("select = 3", "'select' must be a list of rule codes or names"),
        ('ignore = ["AGL5"]', "pyproject.toml: unknown rule selector 'AGL5' (see 'autograd-lint rules')"),
        ("select = [", "pyproject.toml: cannot read config: Invalid value"),
    ],
)
def test_bad_config_is_one_line_and_exit_2(project, table, message):
    configure(project, table)
    result = cli("src")
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ")
    assert message in line


def test_missing_config_file_is_exit_2(project):
    result = cli("--config", "nope.toml", "src")
    assert (result.exit_code, result.stderr) == (2, "error: nope.toml: no such config file\n")
