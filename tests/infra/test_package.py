"""The one-stack deployment as `make package` builds it, checked offline with the real tools.

The real `chalice package --merge-template` runs (through infra/package.sh); its template must
expand through the SAM transform (aws-sam-translator, offline) into an event source mapping
carrying every reliability setting, create in CloudFormation (moto), and pass checkov with each
skip justified. cfn-lint runs in test_lint.py.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.infra.conftest import ROOT, Packaged, assert_checkov_clean

STREAM_RETENTION_SECONDS = 24 * 3600


@pytest.fixture(scope="module")
def template(packaged: Packaged) -> dict[str, Any]:
    return packaged.template()


def resources_of(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_zip_holds_only_the_app_chalicelib_and_chalice_runtime(packaged):
    with zipfile.ZipFile(packaged.zip_path) as archive:
        names = set(archive.namelist())
    chalicelib = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "chalicelib").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    bytecode = {  # compiled from the staged library, as infra/staging.py says
        Path(importlib.util.cache_from_source(name)).as_posix()
        for name in chalicelib
        if name.endswith(".py")
    }
    runtime = {n for n in names if n.startswith("chalice/")}
    assert names == {"app.py"} | chalicelib | bytecode | runtime
    assert {"chalice/__init__.py", "chalice/app.py"} <= runtime
    for tool_dir in ("devtools/", "tests/", "benchmarks/", "infra/"):
        assert not any(n.startswith(tool_dir) for n in names)
    print(f"deployment.zip: {packaged.zip_path.stat().st_size} bytes, {len(names)} files")


IMPORT_WITH_SOURCE_BROKEN = """
import sys
sys.path.insert(0, ".")
for source in __import__("pathlib").Path("chalicelib").rglob("*.py"):
    source.write_text("raise RuntimeError('compiled at import')\\n")
import app
print(sorted(name for name in sys.modules if name.startswith("chalicelib")))
"""


def test_the_zip_s_bytecode_is_what_python_runs_without_compiling(packaged, tmp_path):
    # Every source of the library is broken after unpacking: the import succeeds only when
    # CPython takes each module from the shipped bytecode and never compiles its source, as it
    # must on Lambda's read-only /var/task. -S: no site-packages; -B: write no bytecode.
    with zipfile.ZipFile(packaged.zip_path) as archive:
        archive.extractall(tmp_path)

    ran = subprocess.run(
        [sys.executable, "-S", "-B", "-c", IMPORT_WITH_SOURCE_BROKEN],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert ran.returncode == 0, ran.stderr
    assert "'chalicelib.service'" in ran.stdout


def test_one_stack_holds_the_table_resources_and_the_function(template):
    kinds = {k: v["Type"] for k, v in template["Resources"].items()}
    assert kinds == {
        "UsersTable": "AWS::DynamoDB::Table",
        "LedgerTable": "AWS::DynamoDB::Table",
        "OnFailureQueue": "AWS::SQS::Queue",
        "IteratorAgeAlarm": "AWS::CloudWatch::Alarm",
        "ErrorsAlarm": "AWS::CloudWatch::Alarm",
        "OnFailureQueueAlarm": "AWS::CloudWatch::Alarm",
        "WelcomeEmailsRejectedAlarm": "AWS::CloudWatch::Alarm",
        "RecordsFailedAlarm": "AWS::CloudWatch::Alarm",
        "StreamLagAlarm": "AWS::CloudWatch::Alarm",
        "LedgerClaimsLostAlarm": "AWS::CloudWatch::Alarm",
        "Dashboard": "AWS::CloudWatch::Dashboard",
        "AlarmTopic": "AWS::SNS::Topic",  # only with AlarmEmail
        "AlarmEmailSubscription": "AWS::SNS::Subscription",  # only with AlarmEmail
        "FunctionLogGroup": "AWS::Logs::LogGroup",
        "DefaultRole": "AWS::IAM::Role",
        "HandleUserChanges": "AWS::Serverless::Function",
    }


def test_transform_yields_one_mapping_with_every_reliability_setting(template, transformed):
    mappings = resources_of(transformed, "AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 1
    mapping = next(iter(mappings.values()))["Properties"]
    parameters = template["Parameters"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["UsersTable", "StreamArn"]}
    assert mapping["FunctionName"] == {"Ref": "HandleUserChanges"}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": ["OnFailureQueue", "Arn"]}}
    }
    assert mapping["MaximumRetryAttempts"] == {"Ref": "MaximumRetryAttempts"}
    assert 0 <= int(parameters["MaximumRetryAttempts"]["MaxValue"]) <= 10_000  # never -1
    assert mapping["MaximumRecordAgeInSeconds"] == {"Ref": "MaximumRecordAgeInSeconds"}
    age = parameters["MaximumRecordAgeInSeconds"]
    assert 60 <= int(age["MinValue"]) <= int(age["Default"]) <= int(age["MaxValue"])
    assert int(age["MaxValue"]) < STREAM_RETENTION_SECONDS
    assert mapping["ParallelizationFactor"] == {"Ref": "ParallelizationFactor"}
    assert parameters["ParallelizationFactor"]["MaxValue"] == 10
    # What Chalice derived from the decorator stays (app.py defaults, overridable by env).
    # The table is created in the same stack: TRIM_HORIZON loses nothing written before the
    # mapping is active. The batch size is Chalice's, from app.py.
    assert (mapping["BatchSize"], mapping["StartingPosition"]) == (100, "TRIM_HORIZON")


def test_function_reports_partial_failures_exactly_when_the_mapping_reads_them(transformed):
    function = resources_of(transformed, "AWS::Lambda::Function")["HandleUserChanges"]
    variables = function["Properties"]["Environment"]["Variables"]
    (mapping,) = resources_of(transformed, "AWS::Lambda::EventSourceMapping").values()
    reads = "ReportBatchItemFailures" in mapping["Properties"]["FunctionResponseTypes"]
    assert variables["REPORT_BATCH_ITEM_FAILURES"] == ("true" if reads else "false")
    assert variables["LEDGER_TABLE"] == {"Ref": "LedgerTable"}
    assert variables["WELCOME_EMAIL_SENDER"] == {"Ref": "WelcomeEmailSender"}
    assert variables["USERS_TABLE_STREAM_ARN"] == {"Fn::GetAtt": ["UsersTable", "StreamArn"]}
    assert function["Properties"]["Role"] == {"Fn::GetAtt": ["DefaultRole", "Arn"]}
    assert function["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": "FunctionLogGroup"}


@pytest.mark.filterwarnings(r"ignore:Tried to parse AWS\S+Alarm:UserWarning")
def test_transformed_stack_creates_in_cloudformation_with_everything_wired(
    packaged, transformed, moto_endpoint
):
    # What `aws cloudformation deploy` does after the transform, in moto's CloudFormation.
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket="artifacts")
    s3.upload_file(str(packaged.zip_path), "artifacts", "code.zip")
    uploaded = json.loads(json.dumps(transformed))
    function = uploaded["Resources"]["HandleUserChanges"]["Properties"]
    function["Code"] = {"S3Bucket": "artifacts", "S3Key": "code.zip"}
    cloudformation = boto3.client("cloudformation", endpoint_url=moto_endpoint)
    name = f"one-stack-{uuid.uuid4().hex[:8]}"
    parameters = {"WelcomeEmailSender": "welcome@example.com", "UsersTableName": name}
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=json.dumps(uploaded),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}

    lam = boto3.client("lambda", endpoint_url=moto_endpoint)
    config = lam.get_function_configuration(FunctionName=outputs["FunctionName"])
    assert (
        config["Environment"]["Variables"]
        | {
            "REPORT_BATCH_ITEM_FAILURES": "true",
            "LEDGER_TABLE": outputs["LedgerTableName"],
            "USERS_TABLE_STREAM_ARN": outputs["StreamArn"],
            "WELCOME_EMAIL_SENDER": "welcome@example.com",
        }
        == config["Environment"]["Variables"]
    )
    (mapping,) = [
        m
        for m in lam.list_event_source_mappings()["EventSourceMappings"]
        if m["FunctionArn"] == config["FunctionArn"]
    ]
    assert mapping["EventSourceArn"] == outputs["StreamArn"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == outputs["OnFailureQueueArn"]
    assert (mapping["BisectBatchOnFunctionError"], mapping["MaximumRetryAttempts"]) == (True, 5)

    iam = boto3.client("iam", endpoint_url=moto_endpoint)
    role = config["Role"].rsplit("/", 1)[1]
    (policy,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
    if isinstance(document, str):  # moto stores a CloudFormation-made policy as a Python repr
        document = ast.literal_eval(document)
    resources = {s["Sid"]: s["Resource"] for s in document["Statement"]}
    assert resources["ReadUsersStream"] == outputs["StreamArn"]
    assert resources["UseIdempotencyLedger"] == outputs["LedgerTableArn"]
    assert resources["SendFailedRangesToQueue"] == outputs["OnFailureQueueArn"]
    assert resources["SendWelcomeEmail"].endswith(":identity/welcome@example.com")
    assert [sid for sid, resource in resources.items() if resource == "*"] == ["ListStreams"]


def test_checkov_fails_nothing_and_every_skip_is_justified(checkov, packaged, transformed):
    assert_checkov_clean(checkov, packaged.template_path, packaged.transformed_path)
