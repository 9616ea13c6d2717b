"""Preflight: a bad setting stops a deployment with one line, before anything is created."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.addresses import is_plain_address
from devtools import cli
from infra.cfn import load_template
from infra.merge import OVERLAY
from infra.preflight import (
    PROG,
    PreflightError,
    check_bucket,
    check_identity,
    check_sender,
    check_stream_arn,
    main,
)
from tests.infra.conftest import ROOT

# AWS's own example stream ARN (DynamoDB Streams API Reference, DescribeStream).
STREAM = "arn:aws:dynamodb:us-west-2:111122223333:table/TestTable/stream/2015-05-11T21:21:33.291"


@pytest.mark.parametrize("sender", ["welcome@example.com", "no-reply@mail.example.co.uk"])
def test_a_plain_address_passes(sender):
    assert check_sender(sender) == sender


@pytest.mark.parametrize(
    ("sender", "names"),
    [
        ("", "empty"),
        ("example.com", "not one address"),  # issue 11: SES answers InvalidParameterValue
        ("welcome@localhost", "not one address"),
        ("a@b.com, c@d.com", "not one address"),
        ("Welcome <welcome@example.com>", "not one address"),
    ],
)
def test_a_bad_sender_is_named(sender, names):
    with pytest.raises(PreflightError, match=names):
        check_sender(sender)


def test_aws_example_stream_arn_passes_in_its_region():
    assert check_stream_arn(STREAM, "us-west-2").region == "us-west-2"


@pytest.mark.parametrize(
    ("arn", "names"),
    [
        (
            "arn:aws:dynamodb:us-east-1:000000000000:table/Users/stream/1970-01-01T00:00:00.000",
            "placeholder",
        ),
        ("arn:aws:dynamodb:us-east-1:123456789012:table/Users", "not a DynamoDB stream ARN"),
        ("arn:aws:sqs:us-east-1:123456789012:table/Users/stream/x", "not a DynamoDB stream ARN"),
        ("arn:aws:dynamodb:123456789012:table/Users/stream/x", "malformed"),
        ("table/Users/stream/x", "malformed"),
    ],
)
def test_a_bad_stream_arn_is_named(arn, names):
    with pytest.raises(PreflightError, match=names):
        check_stream_arn(arn)


def test_a_stream_of_another_region_is_refused():
    with pytest.raises(PreflightError, match="in us-west-2 but the deployment targets eu-west-1"):
        check_stream_arn(STREAM, "eu-west-1")


def test_bucket_checks_against_the_emulator(moto_endpoint):
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="preflight-east")
    s3.create_bucket(
        Bucket="preflight-west", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    check_bucket(s3, "preflight-east", "us-east-1")
    with pytest.raises(PreflightError, match="is in us-west-2 but the stack goes to us-east-1"):
        check_bucket(s3, "preflight-west", "us-east-1")
    with pytest.raises(PreflightError, match="NoSuchBucket"):
        check_bucket(s3, "preflight-missing", "us-east-1")


def test_the_command_prints_one_line_and_exits_1():
    err = io.StringIO()
    assert (
        cli.run(main, ["--sender", "example.com", "--region", "us-east-1"], prog=PROG, stderr=err)
        == 1
    )
    assert err.getvalue().count("\n") == 1
    assert err.getvalue().startswith(f"{PROG}: error: the sender 'example.com'")


def test_package_deploy_stops_before_building_on_a_bad_sender(moto_endpoint, tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "BIN": str(sys.executable.rsplit("/", 1)[0]),
        "S3_BUCKET": "preflight-east",
        "WELCOME_EMAIL_SENDER": "example.com",
    }
    result = subprocess.run(
        ["bash", "infra/package.sh", "deploy"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "python -m infra.preflight: error: the sender 'example.com' is not one address like "
        "welcome@example.com "
        "(SES answers InvalidParameterValue and no welcome email is ever sent) "
        "(--debug for the traceback)"
    ]
    assert "deployable template" not in result.stdout  # nothing was built or uploaded


def test_the_sender_must_be_a_verified_identity_or_name_its_verified_domain(moto_endpoint):
    ses = boto3.client("ses", endpoint_url=moto_endpoint, region_name="us-east-1")
    ses.verify_email_identity(EmailAddress="hello@verified.example.com")
    assert check_identity(ses, "hello@verified.example.com") == "hello@verified.example.com"
    ses.verify_domain_identity(Domain="domain.example.com")
    with pytest.raises(PreflightError, match=r"deploy with SesIdentity=domain\.example\.com"):
        check_identity(ses, "hi@domain.example.com")
    assert check_identity(ses, "hi@domain.example.com", "domain.example.com") == (
        "domain.example.com"
    )
    with pytest.raises(PreflightError, match=r"has not verified nobody@example\.org"):
        check_identity(ses, "nobody@example.org")


SENDER_PATTERN = load_template(OVERLAY)["Parameters"]["WelcomeEmailSender"]["AllowedPattern"]


@given(st.text(alphabet="aZ09.+-_'@é ()<>,:\"\\", max_size=40))
def test_the_templates_sender_pattern_is_the_apps_address_rule(text):
    # CloudFormation refuses the stack for any sender the function itself would refuse.
    accepted = re.fullmatch(SENDER_PATTERN, text) is not None
    assert accepted == is_plain_address(text)
