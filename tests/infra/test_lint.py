"""cfn-lint (the real CLI) finds no errors or warnings in the templates users deploy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.infra.conftest import ROOT

CFN_LINT = Path(sys.executable).parent / "cfn-lint"


def lint(template: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CFN_LINT), "--format", "parseable", "--", str(template)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_table_stack_passes_cfn_lint():
    result = lint(ROOT / "infra" / "users-table.yaml")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_cfn_lint_would_catch_a_broken_template(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n"
        "    Properties: {BillingMode: FREE_OF_CHARGE}\n"
    )
    result = lint(broken)
    assert result.returncode != 0
    assert "E30" in result.stdout
