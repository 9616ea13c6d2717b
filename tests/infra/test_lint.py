"""cfn-lint (the real CLI, one run for speed) finds nothing in the templates users deploy:
the table stack, the packaged one-stack template, and that template after the SAM transform."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.infra.conftest import BIN, TABLE_TEMPLATE, Packaged

BROKEN = (
    "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n"
    "    Properties: {BillingMode: FREE_OF_CHARGE}\n"
)


@pytest.fixture(scope="module")
def findings(packaged: Packaged, transformed: object, tmp_path_factory) -> dict[Path, list[str]]:
    """cfn-lint's findings per file; a deliberately broken template proves it reports."""
    broken = tmp_path_factory.mktemp("lint") / "broken.yaml"
    broken.write_text(BROKEN)
    files = [TABLE_TEMPLATE, packaged.template_path, packaged.transformed_path, broken]
    result = subprocess.run(
        [str(BIN / "cfn-lint"), "--format", "parseable", "--", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stderr == ""
    by_file: dict[Path, list[str]] = {f: [] for f in files}
    for line in result.stdout.splitlines():
        by_file[next(f for f in files if line.startswith(f"{f}:"))].append(line)
    return by_file


def test_cfn_lint_reports_a_broken_template(findings):
    (broken,) = [f for f in findings if f.name == "broken.yaml"]
    assert any(":E30" in line for line in findings[broken])


def test_table_stack_passes_cfn_lint(findings):
    assert findings[TABLE_TEMPLATE] == []


def test_packaged_template_passes_cfn_lint(findings, packaged):
    assert findings[packaged.template_path] == []


def test_transformed_template_passes_cfn_lint(findings, packaged):
    assert findings[packaged.transformed_path] == []
