"""SARIF and JSON for machines: each rule's page, and the files that could not be checked."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import REPO_ROOT, cli

from autograd_lint.urls import RULE_DOCS_URL, rule_url

BAD = "import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(1))\n"


def test_sarif_rules_point_at_their_pages_in_the_repository(in_tmp: Path):
    (in_tmp / "bad.py").write_text(BAD)
    driver = json.loads(cli("--format", "sarif", "bad.py").stdout)["runs"][0]["tool"]["driver"]
    for rule in driver["rules"]:
        assert rule["helpUri"] == RULE_DOCS_URL.format(code=rule["id"])
        page = rule["helpUri"].split("/blob/main/", 1)[1]
        assert (REPO_ROOT / page).is_file()


def test_sarif_lists_what_could_not_be_checked_as_notifications(in_tmp: Path):
    (in_tmp / "bad.py").write_text(BAD)
    (in_tmp / "broken.py").write_text("import torch\ndef f(:\n")
    result = cli("--format", "sarif", "bad.py", "broken.py", "missing.py")
    assert result.exit_code == 2
    [invocation] = json.loads(result.stdout)["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"] == [
        {
            "level": "error",
            "message": {"text": "no such file or directory"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "missing.py", "uriBaseId": "%SRCROOT%"}}}],
        },
        {
            "level": "error",
            "message": {"text": "syntax error: invalid syntax"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": "broken.py", "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": 2, "startColumn": 7},
                    }
                }
            ],
        },
    ]
    clean = json.loads(cli("--format", "sarif", "bad.py").stdout)["runs"][0]["invocations"]
    assert clean == [{"executionSuccessful": True, "toolExecutionNotifications": []}]


def test_json_findings_carry_their_rule_url(in_tmp: Path):
    (in_tmp / "bad.py").write_text(BAD)
    items = json.loads(cli("--format", "json", "bad.py").stdout)
    assert {item["url"] for item in items} == {rule_url("AGL003")}
