"""Fixtures for the infrastructure tests: a moto server on loopback, reached over real HTTP, and
the deployable template built once by the real ``infra/package.sh build`` (real Chalice CLI)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from devtools.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
TABLE_TEMPLATE = ROOT / "infra" / "users-table.yaml"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """The URL of a fresh moto server (the local pipeline's emulator) on 127.0.0.1, port 0."""
    with Emulator() as emulator:
        yield emulator.endpoint_url


def create_table_stack(endpoint: str, **parameters: str) -> dict[str, str]:
    """Create infra/users-table.yaml as a new stack; return its outputs once complete.

    moto keeps one state per process, shared by every server in it (other test modules' too),
    so each stack and its Users table get a unique name unless one is passed.
    """
    suffix = uuid.uuid4().hex[:8]
    name = f"users-stream-{suffix}"
    parameters = {"UsersTableName": f"Users-{suffix}", **parameters}
    cloudformation = boto3.client("cloudformation", endpoint_url=endpoint)
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=TABLE_TEMPLATE.read_text(encoding="utf-8"),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    waiter = cloudformation.get_waiter("stack_create_complete")
    waiter.wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    described = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    return {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}


@dataclass(frozen=True)
class Packaged:
    """What ``infra/package.sh build`` left in its output directory."""

    directory: Path

    @property
    def template_path(self) -> Path:
        return self.directory / "sam.json"

    @property
    def zip_path(self) -> Path:
        return self.directory / "deployment.zip"

    @property
    def transformed_path(self) -> Path:
        """Where the ``transformed`` fixture writes the template after the SAM transform."""
        return self.directory / "transformed.json"

    def template(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.template_path.read_text(encoding="utf-8"))
        return loaded


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    directory = tmp_path_factory.mktemp("package")
    subprocess.run(
        # A relative output path, as `make package` passes (build): the script must cope.
        ["bash", "infra/package.sh", "build", os.path.relpath(directory, ROOT)],
        cwd=ROOT,
        env={**os.environ, "BIN": str(BIN)},
        check=True,
        capture_output=True,
        text=True,
    )
    return Packaged(directory)


# Offline stand-in for the IAM lookup the transform makes when a function names managed
# policies (this stack names none: its role is written out in infra/consumer.yaml).
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": (
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    ),
}


@pytest.fixture(scope="session")
def transformed(packaged: Packaged) -> dict[str, Any]:
    """The template after the SAM transform, as CloudFormation would expand it."""
    uploaded = packaged.template()
    # `aws cloudformation package` replaces the local CodeUri with the uploaded S3 object.
    uploaded["Resources"]["HandleUserChanges"]["Properties"]["CodeUri"] = "s3://bucket/code.zip"
    expanded = sam_transform(uploaded)
    packaged.transformed_path.write_text(json.dumps(expanded, indent=1))
    return expanded


CDK_PYTHON = ROOT / ".venv-cdk" / "bin" / "python"
CDK_APP = Path("infra") / "cdk" / "app.py"


def cdk_setup() -> None:
    """`make cdk-setup`: the CDK environment and CLI; a missing Node.js fails, in one line."""
    if shutil.which("node") is None:
        pytest.fail("Node.js is missing: the CDK way needs it (node 20+ on PATH)", pytrace=False)
    subprocess.run(["make", "-s", "cdk-setup"], cwd=ROOT, check=True, capture_output=True)


def cdk_synth(project: Path, outdir: Path, **context: str) -> subprocess.CompletedProcess[str]:
    """``python infra/cdk/app.py`` of ``project`` into ``outdir``, with ``context``."""
    cdk_setup()
    return subprocess.run(
        [str(CDK_PYTHON), str(project / CDK_APP)],
        cwd=project,
        env={**os.environ, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps(context)},
        capture_output=True,
        text=True,
        check=False,
    )


@dataclass(frozen=True)
class Synthesized:
    """What the CDK app left in its cloud assembly directory."""

    directory: Path
    stage: str = "dev"

    @property
    def template_path(self) -> Path:
        return self.directory / f"{self.stage}.template.json"

    @property
    def transformed_path(self) -> Path:
        """Where the ``expanded`` fixture writes the template after the SAM transform."""
        return self.directory / "transformed.json"

    def template(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.template_path.read_text(encoding="utf-8"))
        return loaded

    def assets(self) -> dict[str, Any]:
        manifest = self.directory / f"{self.stage}.assets.json"
        loaded: dict[str, Any] = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        return loaded


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The CDK way, synthesized once by its own environment (`make cdk-setup`)."""
    directory = tmp_path_factory.mktemp("cdk") / "cdk.out"
    result = cdk_synth(ROOT, directory)
    assert result.returncode == 0, result.stderr[-3000:]
    return Synthesized(directory)


def sam_transform(template: dict[str, Any]) -> dict[str, Any]:
    """``template`` after the SAM transform, as CloudFormation would expand it (offline)."""
    translator = Translator(
        managed_policy_map=MANAGED_POLICIES,
        sam_parser=Parser(),
        boto_session=boto3.Session(region_name="us-east-1"),
    )
    expanded: dict[str, Any] = translator.translate(template, parameter_values={})
    return expanded


@pytest.fixture(scope="session")
def checkov() -> Path:
    """checkov from its own virtual environment, built once by `make checkov-setup`."""
    subprocess.run(["make", "-s", "checkov-setup"], cwd=ROOT, check=True, capture_output=True)
    return ROOT / ".venv-checkov" / "bin" / "checkov"


def checkov_report(checkov: Path, *files: Path) -> tuple[int, dict[str, Any]]:
    """checkov's exit code and JSON report on CloudFormation ``files``, offline."""
    command = [str(checkov), "--framework", "cloudformation", "--skip-download", "-o", "json"]
    for path in files:
        command += ["-f", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    report: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, report


def assert_checkov_clean(checkov: Path, *files: Path) -> None:
    """checkov fails nothing in ``files``, parses them all, and every skip says why."""
    code, report = checkov_report(checkov, *files)
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0
    unjustified = [
        (c["check_id"], c["resource"])
        for c in report["results"]["skipped_checks"]
        if len(c["check_result"].get("suppress_comment", "").split()) < 8
    ]
    assert unjustified == []
    assert code == 0
