"""The two deployment ways do not interfere: either one, in any order, leaves the other correct.

The `chalice deploy` way writes its role settings into .chalice/config.json (and the docs say
to keep them). A one-stack build made afterwards in the same project must still give the
function the stack's own least-privilege role, and nothing else.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from devtools.rehearse import SENDER, project_copy
from infra.chalice_deploy import main as chalice_deploy

pytestmark = pytest.mark.filterwarnings(r"ignore:Tried to parse AWS\S+:UserWarning")


def build(project: Path) -> dict[str, Any]:
    subprocess.run(
        ["bash", "infra/package.sh", "build"],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "BIN": str(Path(sys.executable).parent)},
        check=True,
        capture_output=True,
    )
    template: dict[str, Any] = json.loads((project / "build" / "sam.json").read_text())
    return template


def roles(template: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::IAM::Role"}


def test_a_one_stack_build_after_chalice_deploy_keeps_its_own_role(tmp_path, moto_endpoint):
    project = project_copy(tmp_path / "project")
    before = build(project)
    code = chalice_deploy(
        [
            "deploy",
            "--stage",
            "dev",
            "--sender",
            SENDER,
            "--project-dir",
            str(project),
            "--endpoint-url",
            moto_endpoint,
            "--table-parameter",
            f"UsersTableName=apart-{uuid.uuid4().hex[:8]}",
        ]
    )
    assert code == 0
    stage = json.loads((project / ".chalice" / "config.json").read_text())["stages"]["dev"]
    assert stage["iam_policy_file"] == "policy-dev.json"  # what the chalice deploy way wrote

    after = build(project)
    assert list(roles(after)) == ["DefaultRole"]
    function = after["Resources"]["HandleUserChanges"]["Properties"]
    assert function["Role"] == {"Fn::GetAtt": ["DefaultRole", "Arn"]}
    assert roles(after) == roles(before)
