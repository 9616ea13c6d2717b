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

import boto3
import pytest

from devtools.project_copy import project_copy
from devtools.rehearsal_ways import SENDER
from infra.arn import Arn
from infra.chalice_deploy import main as chalice_deploy
from infra.iam_check import audit

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


def existing_arns(endpoint: str, variables: dict[str, str]) -> list[str]:
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
    stream = Arn.parse(variables["USERS_TABLE_STREAM_ARN"])
    users = dynamodb.describe_table(TableName=stream.resource.split("/")[1])["Table"]
    ledger = dynamodb.describe_table(TableName=variables["LEDGER_TABLE"])["Table"]
    queues = boto3.client("sqs", endpoint_url=endpoint).list_queues()["QueueUrls"]
    groups = boto3.client("logs", endpoint_url=endpoint).describe_log_groups()["logGroups"]
    return [
        users["TableArn"],
        users["LatestStreamArn"],
        ledger["TableArn"],
        *[str(stream.sibling("sqs", url.rsplit("/", 1)[1])) for url in queues],
        *[group["arn"] for group in groups],
        str(stream.sibling("ses", f"identity/{SENDER}")),
    ]


def roles(template: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::IAM::Role"}


def test_a_one_stack_build_after_chalice_deploy_keeps_its_own_role(tmp_path, emulator_process):
    # An emulator of its own, in another process: `chalice deploy` creates names (the role, the
    # function users-stream-dev) that the deploy tests of other modules create too.
    moto_endpoint = emulator_process
    project = project_copy(tmp_path / "project")
    before = build(project)
    boto3.client("ses", endpoint_url=moto_endpoint).verify_email_identity(EmailAddress=SENDER)
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
    # The policy file it wrote passes parliament and the ARN checks, against what exists.
    written = json.loads((project / ".chalice" / "policy-dev.json").read_text())
    assert audit(written, existing_arns(moto_endpoint, stage["environment_variables"])) == []

    after = build(project)
    assert list(roles(after)) == ["DefaultRole"]
    function = after["Resources"]["HandleUserChanges"]["Properties"]
    assert function["Role"] == {"Fn::GetAtt": ["DefaultRole", "Arn"]}
    assert roles(after) == roles(before)
