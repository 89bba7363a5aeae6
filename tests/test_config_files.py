"""The nearest config per file, as ruff finds it: whatever the command line names, a file gets
the settings of the config closest to it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from conftest import cli

# AGL003 on lines 2 and 3, AGL008 on line 4.
BAD = textwrap.dedent(
    """\
    import torch
    from torch.autograd import Variable
    x = Variable(torch.ones(1))
    y = torch.FloatTensor([1])
    """
)


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def found(*args: str) -> set[tuple[str, str]]:
    result = cli("--format", "json", *args)
    assert result.exit_code in (0, 1), result.stderr
    return {(item["path"], item["code"]) for item in json.loads(result.stdout)}


@pytest.fixture
def nested(in_tmp: Path) -> Path:
    write(
        in_tmp,
        {
            "pyproject.toml": '[tool.autograd-lint]\nignore = ["AGL008"]\n',
            "a.py": BAD,
            "sub/pyproject.toml": '[tool.autograd-lint]\nselect = ["AGL008"]\n',
            "sub/b.py": BAD,
            "sub/deeper/c.py": BAD,
        },
    )
    return in_tmp


def test_a_sub_folders_own_config_governs_its_files_whatever_the_command_line_names(nested: Path):
    everything = found(".")
    assert everything == {("a.py", "AGL003"), ("sub/b.py", "AGL008"), ("sub/deeper/c.py", "AGL008")}
    assert found("sub/b.py") == {("sub/b.py", "AGL008")}
    assert found("sub") == {("sub/b.py", "AGL008"), ("sub/deeper/c.py", "AGL008")}
    assert found("a.py", "sub/deeper/c.py") == {("a.py", "AGL003"), ("sub/deeper/c.py", "AGL008")}


def test_the_same_from_another_working_folder(nested: Path, monkeypatch):
    monkeypatch.chdir(nested / "sub" / "deeper")
    assert found("../../a.py", "c.py") == {("../../a.py", "AGL003"), ("c.py", "AGL008")}


def test_in_one_folder_the_dedicated_files_win_over_pyproject(nested: Path):
    write(nested, {"sub/autograd-lint.toml": 'select = ["AGL003"]\n'})
    assert found("sub/b.py") == {("sub/b.py", "AGL003")}
    write(nested, {"sub/.autograd-lint.toml": 'select = ["AGL008"]\nignore = []\n'})
    assert found("sub/b.py") == {("sub/b.py", "AGL008")}


def test_a_pyproject_without_our_table_is_no_config(nested: Path):
    write(nested, {"sub/deeper/pyproject.toml": "[project]\nname = 'deeper'\n"})
    assert found("sub/deeper/c.py") == {("sub/deeper/c.py", "AGL008")}


def test_extend_builds_on_the_named_file_relative_to_the_config(nested: Path):
    write(nested, {"sub/pyproject.toml": '[tool.autograd-lint]\nextend = "../pyproject.toml"\nignore = ["AGL003"]\n'})
    # The parent's ignore of AGL008 and this one's of AGL003 both hold.
    assert found("sub/b.py") == set()
    write(nested, {"sub/pyproject.toml": '[tool.autograd-lint]\nextend = "../pyproject.toml"\nselect = ["AGL008"]\n'})
    assert found("sub/b.py") == {("sub/b.py", "AGL008")}  # a select of its own starts afresh


def test_extend_chains_and_a_cycle_is_one_line_and_exit_2(nested: Path):
    write(
        nested,
        {
            "base.toml": 'ignore = ["AGL003"]\n',
            "middle.toml": 'extend = "base.toml"\nextend-select = []\n',
            "sub/pyproject.toml": '[tool.autograd-lint]\nextend = "../middle.toml"\n',
        },
    )
    assert found("sub/b.py") == {("sub/b.py", "AGL008")}
    write(nested, {"base.toml": 'extend = "sub/pyproject.toml"\n'})
    result = cli("sub/b.py")
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and "'extend' makes a cycle: " in line
    assert line.endswith("sub/pyproject.toml")


def test_config_key_value_goes_over_every_files_config(nested: Path):
    assert found("--config", 'ignore = ["AGL003"]', ".") == {("sub/b.py", "AGL008"), ("sub/deeper/c.py", "AGL008")}
    assert found("--config", 'select = ["AGL003"]', "--config", "ignore = []", "sub") == {
        ("sub/b.py", "AGL003"),
        ("sub/deeper/c.py", "AGL003"),
    }
    result = cli("--config", "select = [", "a.py")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --config 'select = [': not a config file, and not a KEY = VALUE setting")
    assert cli("--config", "colour = 1", "a.py").stderr == "error: --config: unknown key 'colour'\n"


def test_config_file_replaces_the_search_and_isolated_skips_it(nested: Path):
    write(nested, {"lint.toml": 'select = ["AGL003"]\n'})
    assert found("--config", "lint.toml", ".") == {
        ("a.py", "AGL003"),
        ("sub/b.py", "AGL003"),
        ("sub/deeper/c.py", "AGL003"),
    }
    assert found("--isolated", "sub/b.py") == {("sub/b.py", "AGL003"), ("sub/b.py", "AGL008")}


def test_excludes_and_per_file_ignores_are_relative_to_their_own_config(nested: Path):
    write(
        nested,
        {
            "sub/pyproject.toml": textwrap.dedent(
                """\
                [tool.autograd-lint]
                select = ["AGL008"]
                extend-exclude = ["deeper/c.py"]
                per-file-ignores = { "b.py" = ["AGL008"] }
                """
            ),
            "sub/deeper/d.py": BAD,
        },
    )
    assert found(".") == {("a.py", "AGL003"), ("sub/deeper/d.py", "AGL008")}
    assert found("sub") == {("sub/deeper/d.py", "AGL008")}


def test_a_named_folder_is_walked_even_when_gitignore_ignores_it(in_tmp: Path):
    (in_tmp / ".git").mkdir()
    write(in_tmp, {".gitignore": "vendored/\n*.gen.py\n", "vendored/lib.py": BAD, "vendored/x.gen.py": BAD})
    assert found(".") == set()
    # Named, it is checked; what the .gitignore says inside it still holds.
    assert found("vendored") == {("vendored/lib.py", "AGL003"), ("vendored/lib.py", "AGL008")}
    assert cli("--force-exclude", "vendored").stderr == "warning: no Python files found\n"
